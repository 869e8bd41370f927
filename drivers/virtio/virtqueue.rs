// SPDX-License-Identifier: GPL-2.0

//! Virtqueues that carry typed tokens.
//!
//! A token is the driver's handle on one request. [`Virtqueue::add`] moves it
//! into the device; from then on the driver has nothing to complete the
//! request with. It gets the token back in exactly two ways:
//!
//! - [`Virtqueue::get_buf`]: the device returned it on the used ring;
//! - [`Virtqueue::detach_unused`]: the device has been reset (or found gone
//!   and stopped), which the caller proves with a [`DeviceReset`].
//!
//! This is rule 3 of rvirtio ("never abandon a request the device owns")
//! written into the types.

use super::bindings as vb;
use super::device::DeviceReset;
use super::driver::Driver;
use crate::lib::foreign::Foreign;
use crate::lib::irqlock::IrqGuard;
use crate::lib::sg::{SgList, SgTable};
use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::Arc;

/// A driver's handle on one request, which a virtqueue can carry.
///
/// The buffers a token gives the device are described by [`Token::describe`]
/// from a borrow of the token itself, so they live as long as the token does.
pub(crate) trait Token: Foreign + Send {
    /// Adds the buffers of the request `token` to `chain`: first those the
    /// device reads, then those it writes.
    fn describe<'a>(token: Self::Borrowed<'a>, chain: &mut Chain<'a>);
}

/// A value the device writes (a status byte, a response header).
///
/// The CPU reads it only after the device has returned the request, and
/// writes it only while it holds the request exclusively.
#[repr(transparent)]
pub(crate) struct DeviceWritable<T: Copy>(UnsafeCell<T>);

// SAFETY: CPU writes need `&mut self`; shared CPU access only reads, with a
// volatile read because the device may have written the memory.
unsafe impl<T: Copy + Send> Sync for DeviceWritable<T> {}

impl<T: Copy> DeviceWritable<T> {
    /// Creates a cell holding `value`.
    pub(crate) const fn new(value: T) -> Self {
        Self(UnsafeCell::new(value))
    }

    /// Reads the value the device (or the CPU) last wrote.
    pub(crate) fn get(&self) -> T {
        // SAFETY: The cell is valid for reads; the device writes it only
        // while it owns the request, which the caller has got back.
        unsafe { self.0.get().read_volatile() }
    }

    /// Sets the value, before the request is given to the device.
    pub(crate) fn set(&mut self, value: T) {
        *self.0.get_mut() = value;
    }
}

/// Bytes aligned to 4, so that a part of them starting at a multiple of 4
/// can be read a 32-bit word at a time. `M` must be a multiple of 4 (a
/// build error otherwise): the size is the length the device is told.
#[repr(C, align(4))]
#[derive(Clone, Copy)]
pub(crate) struct Words<const M: usize>([u8; M]);

/// A byte layout the device writes, read a part at a time: a response
/// whose header decides whether the rest is needed at all. (Each read is
/// volatile, so a whole large value costs a load per word.)
#[cfg_attr(
    rvirtio_blk,
    expect(dead_code, reason = "only rvirtio_scsi reads a response in parts")
)]
impl<const M: usize> DeviceWritable<Words<M>> {
    /// A cell holding `bytes`.
    pub(crate) const fn words(bytes: [u8; M]) -> Self {
        const { assert!(core::mem::size_of::<Words<M>>() == M) };
        Self::new(Words(bytes))
    }

    /// Reads the `N` bytes at `OFF`, a word at a time; a build error if
    /// they do not all lie within the value, or are not whole words.
    #[inline(always)]
    pub(crate) fn bytes<const OFF: usize, const N: usize>(&self) -> [u8; N] {
        const { assert!(OFF + N <= M && OFF % 4 == 0 && N % 4 == 0) };
        let base = self.0.get().cast::<u8>();
        let mut out = [0u8; N];
        for (i, o) in out.chunks_exact_mut(4).enumerate() {
            // SAFETY: `OFF + 4 * i + 4 <= OFF + N <= M`, so the word lies
            // within the cell, which is valid for reads, and it is aligned:
            // the cell is (`Words` is aligned to 4) and `OFF` is a multiple
            // of 4. As in `get`, the device writes the memory only while it
            // owns the request, which the caller has got back.
            let w = unsafe { base.add(OFF + 4 * i).cast::<u32>().read_volatile() };
            o.copy_from_slice(&w.to_ne_bytes());
        }
        out
    }

    /// Sets the `N` bytes at `OFF`, before the request is given to the
    /// device (or after it gave it back); a build error if they do not all
    /// lie within the value.
    #[inline(always)]
    pub(crate) fn set_bytes<const OFF: usize, const N: usize>(&mut self, bytes: [u8; N]) {
        const { assert!(OFF + N <= M) };
        if let Some(part) = self.0.get_mut().0.get_mut(OFF..OFF + N) {
            part.copy_from_slice(&bytes);
        }
    }

    /// Copies the bytes from `off` on into `out`, as many as the value
    /// has and `out` takes; returns how many.
    pub(crate) fn copy_bytes(&self, off: usize, out: &mut [u8]) -> usize {
        let n = M.saturating_sub(off).min(out.len());
        let base = self.0.get().cast::<u8>();
        for (i, o) in out.iter_mut().take(n).enumerate() {
            // SAFETY: `off + i < M`, so the byte lies within the cell,
            // which is valid for reads; as in `get`, the device does not
            // own the request any more.
            *o = unsafe { base.add(off + i).read_volatile() };
        }
        n
    }
}

impl<T: Copy + Default> Default for DeviceWritable<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

/// A token the driver keeps a second reference to, such as a control
/// request whose submitter waits for the answer: the queue holds one
/// reference of the `Arc`, the submitter another.
#[cfg_attr(rvirtio_blk, expect(dead_code, reason = "only rvirtio_scsi uses it"))]
pub(crate) struct ArcToken<T: Send + Sync + 'static>(pub(crate) Arc<T>);

impl<T: Send + Sync + 'static> Foreign for ArcToken<T> {
    type Borrowed<'a> = &'a T;

    fn into_foreign(self) -> *const core::ffi::c_void {
        Arc::into_raw(self.0).cast()
    }

    /// # Safety
    ///
    /// As for [`Foreign::borrow`].
    unsafe fn borrow<'a>(ptr: *const core::ffi::c_void) -> &'a T {
        // SAFETY: `ptr` came from `into_foreign`, so the reference it holds
        // keeps the value alive until `from_foreign`, which outlives `'a`.
        unsafe { &*ptr.cast::<T>() }
    }

    /// # Safety
    ///
    /// As for [`Foreign::from_foreign`].
    unsafe fn from_foreign(ptr: *const core::ffi::c_void) -> Self {
        // SAFETY: `ptr` came from `Arc::into_raw` in `into_foreign` and is
        // converted back once.
        Self(unsafe { Arc::from_raw(ptr.cast::<T>()) })
    }
}

/// A buffer that keeps its one-entry scatterlist: made where the buffer
/// lives, and reused while it stays there. A request header or response in
/// a request's private area, which the block layer allocates once and never
/// moves, is so described without a `sg_init_one` per request (two of them
/// cost about 50 instructions per I/O, and more with the calls).
///
/// The scatterlist is made by [`Mapped::prepare`] and used by
/// [`Chain::read_mapped`] and [`Chain::write_mapped`] only while `value` is
/// still where it was made for; a moved buffer is described as a plain one.
///
/// # Invariants
///
/// If `at` is the address of `value`, `value` lies in the kernel's linear
/// map and `sg` is an end-marked one-entry scatterlist of exactly its bytes.
/// The CPU only reads `sg` after that (`virtqueue_add_sgs` too: it maps the
/// entry, and does not keep it).
pub(crate) struct Mapped<T> {
    sg: MaybeUninit<bindings::scatterlist>,
    at: usize,
    value: T,
}

impl<T> Mapped<T> {
    /// `value`, with no scatterlist yet.
    pub(crate) const fn new(value: T) -> Self {
        // INVARIANT: No value lives at address 0.
        Self {
            sg: MaybeUninit::uninit(),
            at: 0,
            value,
        }
    }

    /// The address of `value`.
    #[inline(always)]
    fn addr(&self) -> usize {
        core::ptr::addr_of!(self.value) as usize
    }

    /// The scatterlist, if it was made where `value` is now.
    #[inline(always)]
    fn sg(&self) -> Option<*mut bindings::scatterlist> {
        (self.at == self.addr()).then(|| self.sg.as_ptr().cast_mut())
    }

    /// Makes the scatterlist for where `value` is now, unless it was made
    /// there already (a compare, for a buffer that does not move). Memory
    /// outside the linear map gets none: the chain then refuses it.
    #[inline(always)]
    pub(crate) fn prepare(&mut self) {
        let at = self.addr();
        if self.at != at && linear_map(core::ptr::addr_of!(self.value).cast()) {
            // SAFETY: `sg` is ours to write (`&mut self`); `sg_init_one`
            // initialises all of it, to the bytes of `value`, which it only
            // records: by their page, which is right for linear-map memory.
            unsafe {
                bindings::sg_init_one(
                    self.sg.as_mut_ptr(),
                    core::ptr::addr_of!(self.value).cast(),
                    buf_len::<T>(),
                )
            };
            // INVARIANT: The scatterlist is of `value`'s bytes where it is,
            // in the linear map.
            self.at = at;
        }
    }
}

impl<T> core::ops::Deref for Mapped<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> core::ops::DerefMut for Mapped<T> {
    /// Changing the value leaves it where it is: the scatterlist stays.
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: Default> Default for Mapped<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

/// The length of a `T` as one buffer: not zero, and within `u32` (a build
/// error otherwise).
const fn buf_len<T>() -> u32 {
    const { assert!(0 < core::mem::size_of::<T>() && core::mem::size_of::<T>() <= u32::MAX as usize) };
    core::mem::size_of::<T>() as u32
}

/// Whether `p` is in the kernel's linear map, so that a scatterlist may name
/// it by its page (`virt_addr_valid`).
fn linear_map(p: *const u8) -> bool {
    // SAFETY: Only the address is looked at.
    unsafe { vb::rvirtio_linear_map(p.cast()) }
}

/// The most buffers one descriptor chain may have.
const MAX_PARTS: usize = 4;

/// Where a [`Chain`] puts what `virtqueue_add_sgs` takes: the array of
/// lists, and one-entry scatterlists for plain buffers.
struct Parts {
    sgs: [MaybeUninit<*mut bindings::scatterlist>; MAX_PARTS],
    singles: [MaybeUninit<bindings::scatterlist>; MAX_PARTS],
}

impl Parts {
    #[inline(always)]
    const fn new() -> Self {
        Self {
            sgs: [const { MaybeUninit::uninit() }; MAX_PARTS],
            singles: [const { MaybeUninit::uninit() }; MAX_PARTS],
        }
    }
}

/// The buffers of one request, in the order the device sees them.
///
/// Built for every request by [`Virtqueue::add`], under the queue's lock,
/// so it is kept lean. The parts go straight into the array that
/// `virtqueue_add_sgs` takes; a plain buffer becomes a one-entry scatterlist
/// right away. The storage is apart from the counts, so that the compiler
/// can keep the counts in registers while the scatterlists are written.
///
/// # Invariants
///
/// `parts` points to storage that outlives the chain and that nothing else
/// uses meanwhile. `sgs[..len]` of it are initialised, each the first entry
/// of an end-marked scatterlist valid for `'a`: a mapped table's, a
/// [`Mapped`] buffer's own, or `singles[i]`, which is then initialised.
/// `out <= len <= MAX_PARTS`.
pub(crate) struct Chain<'a> {
    parts: *mut Parts,
    /// The number of parts.
    len: usize,
    /// The number of parts the device reads; they come first.
    out: usize,
    /// A part did not fit, or came in the wrong order.
    bad: bool,
    _p: PhantomData<&'a ()>,
}

impl<'a> Chain<'a> {
    /// # Safety
    ///
    /// `parts` must be valid, and used by nothing else, for as long as the
    /// chain lives.
    #[inline(always)]
    unsafe fn new(parts: *mut Parts) -> Self {
        // INVARIANT: No part yet; `parts` is the caller's, for as long as
        // the chain lives.
        Self {
            parts,
            len: 0,
            out: 0,
            bad: false,
            _p: PhantomData,
        }
    }

    /// The index of one more part; `None` (and the chain bad) if there is
    /// no room, or if a part the device reads follows one it writes.
    ///
    /// Written so that the compiler can see that nothing here overflows and
    /// every index is in bounds: this runs for each buffer of every request.
    #[inline(always)]
    fn next(&mut self, device_writes: bool) -> Option<usize> {
        let i = self.len;
        // Parts the device reads come first: `out == len` until one it writes.
        if i >= MAX_PARTS || (!device_writes && self.out != i) {
            self.bad = true;
            return None;
        }
        self.len = i + 1;
        if !device_writes {
            self.out = i + 1;
        }
        Some(i)
    }

    /// A plain buffer, as a one-entry scatterlist. Only memory in the
    /// kernel's linear map can be described by its page: other memory (a
    /// module's static, a vmapped stack) makes the chain bad, not a
    /// descriptor of the wrong page.
    #[inline(always)]
    fn push_buf(&mut self, buf: *const u8, len: u32, device_writes: bool) {
        if !linear_map(buf) {
            self.bad = true;
            return;
        }
        if let Some(i) = self.next(device_writes) {
            // SAFETY: Per the type invariant `parts` is ours; `i` is in
            // bounds. `sg_init_one` initialises all of `singles[i]`; `buf` is
            // valid for `len` bytes for `'a` (callers borrow it for that
            // long), and in the linear map.
            unsafe {
                let single = (*self.parts).singles[i].as_mut_ptr();
                bindings::sg_init_one(single, buf.cast(), len);
                (*self.parts).sgs[i] = MaybeUninit::new(single);
            }
        }
    }

    #[inline(always)]
    fn push_list(&mut self, first: *mut bindings::scatterlist, device_writes: bool) {
        if first.is_null() {
            self.bad = true;
        } else if let Some(i) = self.next(device_writes) {
            // SAFETY: Per the type invariant `parts` is ours; `i` is in bounds.
            unsafe { (*self.parts).sgs[i] = MaybeUninit::new(first) };
        }
    }

    #[inline(always)]
    fn push_mapped<T>(&mut self, m: &'a Mapped<T>, device_writes: bool) {
        match m.sg() {
            Some(sg) => {
                if let Some(i) = self.next(device_writes) {
                    // SAFETY: Per the type invariant `parts` is ours; `i` is
                    // in bounds. Per `Mapped`'s invariant `sg` is an
                    // end-marked scatterlist of `m`'s value, borrowed for
                    // `'a`, which `virtqueue_add_sgs` only reads.
                    unsafe { (*self.parts).sgs[i] = MaybeUninit::new(sg) };
                }
            }
            None => self.push_buf(
                core::ptr::addr_of!(m.value).cast(),
                buf_len::<T>(),
                device_writes,
            ),
        }
    }

    /// The device reads the bytes of `m`'s value, through its scatterlist if
    /// [`Mapped::prepare`] made it where the value is.
    #[inline(always)]
    pub(crate) fn read_mapped<T>(&mut self, m: &'a Mapped<T>) {
        self.push_mapped(m, false);
    }

    /// The device writes `m`'s cell, as [`Chain::read_mapped`].
    #[inline(always)]
    pub(crate) fn write_mapped<T: Copy>(&mut self, m: &'a Mapped<DeviceWritable<T>>) {
        self.push_mapped(m, true);
    }

    /// The device reads `value`'s bytes.
    #[cfg_attr(
        rvirtio_blk,
        expect(dead_code, reason = "rvirtio_blk's buffers are all `Mapped`")
    )]
    #[inline(always)]
    pub(crate) fn read<T>(&mut self, value: &'a T) {
        let len = buf_len::<T>();
        self.push_buf(core::ptr::from_ref(value).cast(), len, false);
    }

    #[cfg_attr(rvirtio_scsi, expect(dead_code, reason = "only rvirtio_blk uses it"))]
    /// The device reads the elements of `values`; an empty slice adds
    /// nothing.
    #[inline(always)]
    pub(crate) fn read_slice<T>(&mut self, values: &'a [T]) {
        let len = core::mem::size_of_val(values);
        if len != 0 {
            // A slice longer than `u32::MAX` bytes cannot be described.
            let Ok(len) = u32::try_from(len) else {
                self.bad = true;
                return;
            };
            self.push_buf(values.as_ptr().cast(), len, false);
        }
    }

    /// The device writes `cell`.
    #[cfg_attr(
        rvirtio_blk,
        expect(dead_code, reason = "rvirtio_blk's buffers are all `Mapped`")
    )]
    #[inline(always)]
    pub(crate) fn write<T: Copy>(&mut self, cell: &'a DeviceWritable<T>) {
        let len = buf_len::<T>();
        self.push_buf(cell.0.get().cast_const().cast(), len, true);
    }

    #[cfg_attr(rvirtio_scsi, expect(dead_code, reason = "only rvirtio_blk uses it"))]
    /// The device reads (`device_writes == false`) or writes the memory that
    /// `table` maps. An empty table adds nothing.
    #[inline(always)]
    pub(crate) fn sg(&mut self, table: &'a SgTable, device_writes: bool) {
        if let Some(first) = table.first() {
            self.push_list(first, device_writes);
        }
    }

    #[cfg_attr(rvirtio_blk, expect(dead_code, reason = "only rvirtio_scsi uses it"))]
    /// The device reads or writes the memory that `list` maps.
    #[inline(always)]
    pub(crate) fn sg_list(&mut self, list: SgList<'a>, device_writes: bool) {
        self.push_list(list.first(), device_writes);
    }
}

/// A virtqueue as [`super::Device::find_vqs`] creates it: no buffers yet,
/// and no token type. The driver gives each queue the type of what it will
/// carry with [`Vq::into_typed`]; after a reset, [`DeviceReset::retire`]
/// takes them back for deletion.
///
/// # Invariants
///
/// `vq` is a live virtqueue of the set `generation` of its device, with no
/// buffers the device may hold; it stays alive until the set is deleted,
/// which needs every handle retired. There is one handle per queue, typed or
/// not.
pub(crate) struct Vq {
    vq: *mut vb::virtqueue,
    generation: u64,
}

// SAFETY: The handle may be moved to any thread; it does nothing by itself.
unsafe impl Send for Vq {}

impl Vq {
    /// # Safety
    ///
    /// `vq` must be a live virtqueue of the set `generation` of a device,
    /// with no buffers and no other handle.
    pub(super) unsafe fn from_raw(vq: *mut vb::virtqueue, generation: u64) -> Self {
        // INVARIANT: Per the safety requirements.
        Self { vq, generation }
    }

    /// Makes this the queue of tokens of type `T`.
    pub(crate) fn into_typed<T: Token>(self) -> Virtqueue<T> {
        // INVARIANT: Per `Vq`'s invariant the queue is live, has no buffers
        // (so none that another type produced) and this is its only handle,
        // which we consume.
        Virtqueue {
            vq: self.vq,
            generation: self.generation,
            _p: PhantomData,
        }
    }
}

/// A virtqueue whose buffers carry tokens of type `T`.
///
/// # Invariants
///
/// `vq` is a live virtqueue of the set `generation` of its device, until
/// this handle is retired ([`DeviceReset::retire`]); there is one handle per
/// queue. Every non-null pointer the queue returns as a buffer was produced
/// by `T::into_foreign` in [`Self::add`] and not yet converted back.
pub(crate) struct Virtqueue<T: Token> {
    vq: *mut vb::virtqueue,
    generation: u64,
    _p: PhantomData<T>,
}

// SAFETY: The handle may be used from any thread; all use needs `&mut self`
// or reads immutable fields, so callers serialise it (with a lock).
unsafe impl<T: Token> Send for Virtqueue<T> {}

impl<T: Token> Virtqueue<T> {
    pub(super) fn generation(&self) -> u64 {
        self.generation
    }

    pub(super) fn device(&self) -> *mut vb::virtio_device {
        // SAFETY: The queue is live per the type invariant.
        unsafe { vb::rvirtio_vq_device(self.vq) }
    }

    /// Free descriptors.
    pub(crate) fn num_free(&self) -> u32 {
        // SAFETY: The queue is live per the type invariant.
        unsafe { vb::rvirtio_vq_num_free(self.vq) }
    }

    /// Gives the request `token` to the device. On failure (`ENOSPC` when the
    /// ring is full, `ENOMEM`, or `EINVAL` for a malformed chain) the token
    /// comes back with the error.
    pub(crate) fn add(&mut self, token: T) -> Result<(), (T, Error)> {
        let ptr = token.into_foreign();
        // SAFETY: `ptr` came from `into_foreign` just now.
        let borrowed = unsafe { T::borrow(ptr) };
        let mut parts = Parts::new();
        // SAFETY: `parts` outlives the chain, and only the chain uses it.
        let mut chain = unsafe { Chain::new(&mut parts) };
        T::describe(borrowed, &mut chain);

        let ret = if chain.bad || chain.len == 0 || ptr.is_null() {
            EINVAL.to_errno()
        } else {
            // SAFETY: The queue is live; per `Chain`'s invariant `parts.sgs`
            // holds `len` valid, end-marked lists, `out` of them first, whose
            // memory lives as long as the token, which the queue now holds
            // as `ptr`.
            unsafe {
                vb::virtqueue_add_sgs(
                    self.vq,
                    parts.sgs.as_mut_ptr().cast(),
                    chain.out as u32,
                    (chain.len - chain.out) as u32,
                    ptr.cast_mut(),
                    bindings::GFP_ATOMIC,
                )
            }
        };
        if ret != 0 {
            // SAFETY: The queue did not take `ptr`; the borrow is over.
            return Err((unsafe { T::from_foreign(ptr) }, Error::from_errno(ret)));
        }
        Ok(())
    }

    /// Whether the device must be notified of new buffers.
    pub(crate) fn kick_prepare(&mut self) -> bool {
        // SAFETY: The queue is live per the type invariant.
        unsafe { vb::virtqueue_kick_prepare(self.vq) }
    }

    /// Notifies the device; false if the queue is broken.
    pub(crate) fn notify(&mut self) -> bool {
        // SAFETY: The queue is live per the type invariant.
        unsafe { vb::virtqueue_notify(self.vq) }
    }

    /// Notifies the device of new buffers if it asked to be
    /// (`virtqueue_kick`, with the lock the caller holds).
    pub(crate) fn kick(&mut self) {
        if self.kick_prepare() {
            self.notify();
        }
    }

    /// Notifies the device of new buffers if it asked to be, the way the C
    /// drivers do: decide under the queue's lock, then notify after dropping
    /// it (with interrupts still off), so the lock is not held across the
    /// notification, which is a VM exit on a real hypervisor.
    pub(crate) fn kick_unlocked(guard: IrqGuard<'_, Option<Self>>) {
        let Some(vq) = guard.as_ref().map(|vq| vq.vq) else {
            return;
        };
        // SAFETY: The queue was in the slot while we held its lock, so it
        // is live. The shim releases the lock and restores the flags, once
        // each, on this CPU (the guard is not `Send`), notifying in between
        // with interrupts still off: taking the queue out of the slot needs
        // the lock, and freeing it needs `DeviceReset::delete_vqs`, which
        // waits for an RCU grace period first, which interrupts off on this
        // CPU hold back. So the queue is live while it is notified.
        unsafe {
            let (lock, flags) = guard.into_raw();
            vb::rvirtio_vq_kick_unlock(vq, lock, flags);
        }
    }

    /// Takes the next request the device has returned, with the number of
    /// bytes it wrote.
    pub(crate) fn get_buf(&mut self) -> Option<(T, u32)> {
        let mut len = 0u32;
        // SAFETY: The queue is live per the type invariant.
        let ptr = unsafe { vb::virtqueue_get_buf(self.vq, &mut len) };
        if ptr.is_null() {
            return None;
        }
        // SAFETY: Per the type invariant, `ptr` came from `into_foreign` in
        // `add`, and the device has now returned it, once.
        Some((unsafe { T::from_foreign(ptr.cast_const()) }, len))
    }

    /// Takes back a request the device never returned. Only possible after
    /// a reset of this queue's device since the queue was created (or after
    /// it was found gone and stopped), which `reset` proves.
    pub(crate) fn detach_unused<D: Driver>(&mut self, reset: &DeviceReset<'_, D>) -> Option<T> {
        if !reset.covers(self.device(), self.generation) {
            return None;
        }
        // SAFETY: The queue is live, and its device was reset (or is gone and
        // stopped), so the device no longer owns any buffer.
        let ptr = unsafe { vb::virtqueue_detach_unused_buf(self.vq) };
        if ptr.is_null() {
            return None;
        }
        // SAFETY: As in `get_buf`.
        Some(unsafe { T::from_foreign(ptr.cast_const()) })
    }

    /// Whether the queue is broken: the device put a used entry on it that
    /// the core refused (or the device is being removed). A broken queue
    /// takes no buffers and returns none until the device is reset.
    pub(crate) fn is_broken(&self) -> bool {
        // SAFETY: The queue is live per the type invariant.
        unsafe { vb::virtqueue_is_broken(self.vq) }
    }

    /// Stops callbacks for this queue (a hint to the device).
    pub(crate) fn disable_cb(&mut self) {
        // SAFETY: The queue is live per the type invariant.
        unsafe { vb::virtqueue_disable_cb(self.vq) }
    }

    /// Restarts callbacks; false if buffers arrived meanwhile, so the caller
    /// must poll again.
    pub(crate) fn enable_cb(&mut self) -> bool {
        // SAFETY: The queue is live per the type invariant.
        unsafe { vb::virtqueue_enable_cb(self.vq) }
    }
}
