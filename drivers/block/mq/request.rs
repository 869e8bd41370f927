// SPDX-License-Identifier: GPL-2.0

//! Requests: a shared view ([`Request`]) and the owner's handle ([`Owned`]).

use super::bindings as mb;
use super::{Operations, Status};
use crate::lib::foreign::Foreign;
use crate::lib::sg::{SgTable, INLINE_ENTRIES};
use core::ffi::c_void;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::bindings;
use kernel::prelude::*;
use kernel::types::Opaque;

/// The request PDU: what blk-mq allocates behind each `struct request`.
#[repr(C)]
pub(super) struct Pdu<T: Operations> {
    /// The request's data pages, mapped by [`Owned::map_data`].
    pub(super) sg: SgTable,
    /// Set when the device returned the request but blk-mq's fault injection
    /// (`fail_io_timeout`) asked to fake a timeout: the timeout handler then
    /// completes it.
    pub(super) parked: AtomicBool,
    /// Consecutive timer expiries since the request was last dispatched.
    pub(super) expiries: AtomicU32,
    /// Times the request was requeued (see [`Owned::requeue`]) since it was
    /// submitted.
    pub(super) requeues: AtomicU32,
    /// The driver's data.
    pub(super) data: T::RequestData,
}

impl<T: Operations> Default for Pdu<T> {
    fn default() -> Self {
        Self {
            sg: SgTable::default(),
            parked: AtomicBool::new(false),
            expiries: AtomicU32::new(0),
            requeues: AtomicU32::new(0),
            data: T::RequestData::default(),
        }
    }
}

impl<T: Operations> Pdu<T> {
    /// Where the PDU of `rq` is: right behind the request, as
    /// `blk_mq_rq_to_pdu` computes it. Computed here rather than by calling
    /// the kernel's helper, because every access to a request's data on the
    /// I/O path goes through it.
    ///
    /// The pointer is only valid to use for a request of a tag set created
    /// for `T` (whose `cmd_size` is `size_of::<Pdu<T>>()`).
    #[inline]
    pub(super) fn ptr(rq: *mut bindings::request) -> *mut Pdu<T> {
        rq.cast::<u8>()
            .wrapping_add(core::mem::size_of::<bindings::request>())
            .cast()
    }

    /// # Safety
    ///
    /// `rq` must be a request of a tag set created for `T`, whose PDU was
    /// initialised by `init_request`.
    pub(super) unsafe fn of<'a>(rq: *mut bindings::request) -> &'a Pdu<T> {
        // SAFETY: The PDU follows the request and is a `Pdu<T>` per the
        // safety requirements.
        unsafe { &*Self::ptr(rq) }
    }
}

/// The block operation a request performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// Read sectors.
    Read,
    /// Write sectors.
    Write,
    /// Flush the volatile write cache.
    Flush,
    /// Discard sectors.
    Discard,
    /// Write zeroes; `unmap` allows deallocating them.
    WriteZeroes {
        /// Whether the device may deallocate the zeroed range.
        unmap: bool,
    },
    /// Securely erase sectors.
    SecureErase,
    /// A driver-private command (`REQ_OP_DRV_IN`).
    DriverIn,
    /// Anything else (zoned operations, `REQ_OP_DRV_OUT`).
    Other(u32),
}

/// A request as anyone may look at it: the owner, or a timeout handler.
///
/// # Invariants
///
/// The request belongs to a tag set created for `T`, with an initialised
/// PDU, and it is in flight (started, not yet ended) for as long as the
/// reference lives.
#[repr(transparent)]
pub(crate) struct Request<T: Operations>(Opaque<bindings::request>, PhantomData<T>);

impl<T: Operations> Request<T> {
    /// # Safety
    ///
    /// `rq` must satisfy the type invariant for `'a`.
    pub(super) unsafe fn from_raw<'a>(rq: *mut bindings::request) -> &'a Self {
        // SAFETY: `Request<T>` is a transparent wrapper of `struct request`.
        // INVARIANT: The caller guarantees it for `'a`.
        unsafe { &*rq.cast() }
    }

    pub(super) fn raw(&self) -> *mut bindings::request {
        self.0.get()
    }

    fn pdu(&self) -> &Pdu<T> {
        // SAFETY: Per the type invariant.
        unsafe { Pdu::of(self.raw()) }
    }

    /// The driver's data of this request.
    #[inline]
    pub(crate) fn data(&self) -> &T::RequestData {
        &self.pdu().data
    }

    /// The request's data pages, once [`Owned::map_data`] mapped them.
    pub(crate) fn mapped(&self) -> &SgTable {
        &self.pdu().sg
    }

    // The accessors below read `struct request` directly, as the kernel's
    // inline helpers (`blk_rq_pos()` and so on) do: they run for every
    // request, and a call into a C shim for each costs more than the read.

    /// First sector (in 512-byte units): `blk_rq_pos()`.
    #[inline]
    pub(crate) fn sector(&self) -> u64 {
        // SAFETY: The request is in flight per the type invariant, so nothing
        // changes these fields while we read them.
        unsafe { (*self.raw()).__sector }
    }

    /// Size in bytes: `blk_rq_bytes()`.
    #[inline]
    pub(crate) fn bytes(&self) -> u32 {
        // SAFETY: As above.
        unsafe { (*self.raw()).__data_len }
    }

    /// The I/O priority: `req_get_ioprio()`.
    #[inline]
    pub(crate) fn ioprio(&self) -> u16 {
        // SAFETY: As above; the request's bios live while it is in flight.
        unsafe {
            let bio = (*self.raw()).bio;
            if bio.is_null() {
                0
            } else {
                (*bio).bi_ioprio
            }
        }
    }

    /// The hardware queue the request was dispatched on.
    #[inline]
    pub(crate) fn hw_queue(&self) -> u32 {
        // SAFETY: As above; a started request has a live hardware context.
        unsafe { (*(*self.raw()).mq_hctx).queue_num }
    }

    /// Whether the request has ended since its timeout handler was called:
    /// completed by an interrupt or a poll between the timer's expiry and
    /// the handler's harvest (`blk_mq_rq_state() != MQ_RQ_IN_FLIGHT`, as
    /// nvme checks after polling). Only meaningful in the timeout handler,
    /// whose reference keeps the request alive.
    pub(crate) fn has_ended(&self) -> bool {
        // SAFETY: The request is alive (the timeout path holds a reference
        // to it); `state` is written with WRITE_ONCE by its completion, and
        // read like `blk_mq_rq_state()` reads it.
        let state = unsafe { core::ptr::addr_of!((*self.raw()).state).read_volatile() };
        state != bindings::mq_rq_state_MQ_RQ_IN_FLIGHT
    }

    /// How many times the request was requeued since it was submitted.
    pub(crate) fn requeues(&self) -> u32 {
        self.pdu().requeues.load(Ordering::Relaxed)
    }

    /// Calls `f(first sector, sectors)` for each bio of the request, in
    /// order. A discard request merged from several discards (when the queue
    /// allows more than one discard segment) is not contiguous: each bio is
    /// one range.
    pub(crate) fn for_each_bio(&self, mut f: impl FnMut(u64, u32)) {
        // SAFETY: The request is in flight (type invariant), so its bio list
        // is stable and each bio alive.
        unsafe {
            let mut bio = (*self.raw()).bio;
            while !bio.is_null() {
                f((*bio).bi_iter.bi_sector, (*bio).bi_iter.bi_size >> 9);
                bio = (*bio).bi_next;
            }
        }
    }

    /// The operation.
    #[inline]
    pub(crate) fn op(&self) -> Op {
        // SAFETY: As above.
        let flags = unsafe { (*self.raw()).cmd_flags };
        // `req_op()`.
        match flags & mb::RVIRTIO_REQ_OP_MASK {
            bindings::req_op_REQ_OP_READ => Op::Read,
            bindings::req_op_REQ_OP_WRITE => Op::Write,
            bindings::req_op_REQ_OP_FLUSH => Op::Flush,
            bindings::req_op_REQ_OP_DISCARD => Op::Discard,
            bindings::req_op_REQ_OP_WRITE_ZEROES => Op::WriteZeroes {
                unmap: flags & mb::RVIRTIO_REQ_NOUNMAP == 0,
            },
            bindings::req_op_REQ_OP_SECURE_ERASE => Op::SecureErase,
            bindings::req_op_REQ_OP_DRV_IN => Op::DriverIn,
            other => Op::Other(other),
        }
    }
}

/// The right to end one started request.
///
/// # Invariants
///
/// `rq` satisfies the invariant of [`Request<T>`], and there is exactly one
/// `Owned` for it: whoever holds this may map, change and end it.
pub(crate) struct Owned<T: Operations> {
    rq: NonNull<bindings::request>,
    _p: PhantomData<T>,
}

// SAFETY: A request may be ended from any context and CPU.
unsafe impl<T: Operations> Send for Owned<T> {}

impl<T: Operations> core::ops::Deref for Owned<T> {
    type Target = Request<T>;

    fn deref(&self) -> &Request<T> {
        // SAFETY: Per the type invariant.
        unsafe { Request::from_raw(self.rq.as_ptr()) }
    }
}

impl<T: Operations> Owned<T> {
    /// # Safety
    ///
    /// `rq` must satisfy the type invariant, including uniqueness.
    pub(super) unsafe fn from_raw(rq: *mut bindings::request) -> Self {
        // INVARIANT: The caller passes a started request of ours and its
        // only handle.
        Self {
            // SAFETY: The caller passes a valid request.
            rq: unsafe { NonNull::new_unchecked(rq) },
            _p: PhantomData,
        }
    }

    /// Starts `rq` (`blk_mq_start_request`) and gives the driver its handle.
    ///
    /// # Safety
    ///
    /// `rq` must be a request of a tag set created for `T`, with an
    /// initialised PDU, that blk-mq has handed to the driver and that is not
    /// started yet.
    pub(super) unsafe fn start(rq: *mut bindings::request) -> Self {
        // SAFETY: Per the safety requirements; once started, the request
        // satisfies the type invariant, and this is its only handle.
        unsafe {
            #[cfg(not(rvirtio_no_timeout))]
            Pdu::<T>::of(rq).expiries.store(0, Ordering::Relaxed);
            bindings::blk_mq_start_request(rq);
            Self::from_raw(rq)
        }
    }

    pub(super) fn into_raw(self) -> *mut bindings::request {
        let rq = self.rq.as_ptr();
        core::mem::forget(self);
        rq
    }

    /// The request's data mapping, for changing. Borrowed alone, not with
    /// the rest of the PDU: a timeout handler may be looking at the driver's
    /// data meanwhile (one that began before the request was completed).
    #[inline]
    fn sg_mut(&mut self) -> &mut SgTable {
        // SAFETY: Per the type invariant this is the only handle that may
        // change the PDU, and we hold it mutably; a timeout handler's
        // `&Request` never reads the mapping (only the driver's data and
        // the atomics).
        unsafe { &mut *core::ptr::addr_of_mut!((*Pdu::<T>::ptr(self.rq.as_ptr())).sg) }
    }

    /// The driver's data of this request, for changing.
    #[inline]
    pub(crate) fn data_mut(&mut self) -> &mut T::RequestData {
        // SAFETY: Per the type invariant this is the only handle that may
        // change the PDU, and we hold it mutably.
        unsafe { &mut *core::ptr::addr_of_mut!((*Pdu::<T>::ptr(self.rq.as_ptr())).data) }
    }

    /// Maps the request's data pages into [`Request::mapped`]; returns the
    /// number of entries (zero for a request without data). What the C
    /// drivers do inline (`blk_rq_nr_phys_segments`, `sg_alloc_table_chained`,
    /// `blk_rq_map_sg`), done here rather than in the shim: it runs for
    /// every request.
    pub(crate) fn map_data(&mut self) -> Result<u32> {
        let rq = self.rq.as_ptr();
        // SAFETY: We own the started request, so its fields are stable.
        let nsegs = unsafe {
            if (*rq).rq_flags & mb::RVIRTIO_RQF_SPECIAL_PAYLOAD != 0 {
                1
            } else {
                (*rq).nr_phys_segments
            }
        };
        let sg = self.sg_mut();
        // SAFETY: We own the request, so nothing else uses its table, and no
        // device holds a chain built from it. The table is left mapped to
        // the request's pages, which stay valid until the request is ended,
        // or empty: the invariant of `SgTable` holds either way.
        unsafe {
            let (table, chunk) = sg.raw_table();
            (*table).nents = 0;
            if nsegs == 0 {
                return Ok(0);
            }
            (*table).sgl = chunk;
            if bindings::sg_alloc_table_chained(
                table,
                i32::from(nsegs),
                chunk,
                INLINE_ENTRIES as u32,
            ) != 0
            {
                return Err(ENOMEM);
            }
            let mut last = core::ptr::null_mut();
            // 7.3 dropped the queue argument.
            #[cfg(rvirtio_7_3)]
            let n = bindings::__blk_rq_map_sg(rq, (*table).sgl, &mut last);
            #[cfg(not(rvirtio_7_3))]
            let n = bindings::__blk_rq_map_sg((*rq).q, rq, (*table).sgl, &mut last);
            (*table).nents = n as u32;
            Ok(n as u32)
        }
    }

    /// Undoes [`Self::map_data`].
    pub(super) fn unmap_data(&mut self) {
        let sg = self.sg_mut();
        if sg.forget_if_inline() {
            return;
        }
        // SAFETY: We own the request; no device holds the mapping any more
        // (it would hold this handle).
        unsafe {
            let (table, _) = sg.raw_table();
            mb::rvirtio_rq_unmap_sg(table, INLINE_ENTRIES as u32);
        }
    }

    /// What ending the request undoes in the glue, however it is ended:
    /// the data mapping, and the requeue count.
    fn release(&mut self) {
        self.unmap_data();
        self.pdu().requeues.store(0, Ordering::Relaxed);
    }

    /// Ends the request with `status`.
    pub(crate) fn end(mut self, status: Status) {
        self.release();
        let rq = self.into_raw();
        // SAFETY: We owned the started request, and give up the handle.
        unsafe { bindings::blk_mq_end_request(rq, status.0) };
    }

    /// Gives the request back to blk-mq, which dispatches it again (after
    /// [`super::QueueCtl::kick_requeue_list`]).
    pub(crate) fn requeue(mut self) {
        self.unmap_data();
        self.pdu().requeues.fetch_add(1, Ordering::Relaxed);
        let rq = self.into_raw();
        // SAFETY: We owned the started request and give up the handle;
        // blk-mq owns it until it dispatches it again.
        unsafe { bindings::blk_mq_requeue_request(rq, false) };
    }

    /// Gives a request the driver cannot take now back to blk-mq, which
    /// dispatches it again soon (`blk_mq_requeue_request` with a kick). For
    /// requests from a [`Batch`], which cannot be answered with [`Busy`].
    ///
    /// [`Busy`]: super::Busy
    pub(crate) fn retry(mut self) {
        self.unmap_data();
        let rq = self.into_raw();
        // SAFETY: We owned the started request and give up the handle;
        // blk-mq owns it until it dispatches it again.
        unsafe { bindings::blk_mq_requeue_request(rq, true) };
    }

    /// Hands a request the hardware has finished to blk-mq from a poll, as
    /// `virtblk_poll` does: it is marked complete, and then, unless blk-mq
    /// completes it on another CPU, it joins the poll's `done` batch when it
    /// succeeded (`ok`: only those are offered, since the batch ends every
    /// request as a success, and takes a failed passthrough request) and
    /// the batch takes it, or is ended here through
    /// [`Operations::complete`]. What the driver keeps per request must
    /// need no cleanup then but what the glue does (the data mapping). A
    /// batch is ended by blk-mq's caller right after the poll, with one
    /// `blk_mq_end_request_batch` for all of it (`complete_batch`): per
    /// request, that costs about a third of ending it alone.
    ///
    /// Parked for a fake timeout, as [`Self::complete`] is.
    pub(crate) fn complete_polled(self, done: &mut Completions<T>, ok: bool) {
        let rq = self.into_raw();
        // SAFETY: We owned the request and give up the handle. From here it
        // ends one way: parked (the timeout handler completes it), completed
        // by blk-mq elsewhere (`complete` recreates the handle), in the batch
        // (`complete_batch` recreates it, once), or right here.
        unsafe {
            if should_fake_timeout(rq) {
                Pdu::<T>::of(rq).parked.store(true, Ordering::Release);
            } else if bindings::blk_mq_complete_request_remote(rq) {
                // blk-mq completes it on another CPU.
            } else if !(ok && mb::rvirtio_rq_add_to_batch(rq, done.iob, Some(complete_batch::<T>)))
            {
                super::ops::complete::<T>(rq);
            }
        }
    }

    /// Like [`Self::complete`], but never parked for a fake timeout: for the
    /// request a timeout handler is handling, which must end now.
    pub(crate) fn complete_now(self) {
        let rq = self.into_raw();
        // SAFETY: We owned the request and give up the handle; blk-mq passes
        // it to `complete` once.
        unsafe { bindings::blk_mq_complete_request(rq) };
    }

    /// Hands a request the hardware has finished to blk-mq, which ends it
    /// through [`Operations::complete`], possibly on another CPU.
    ///
    /// If blk-mq's fault injection wants a fake timeout, the request is
    /// parked instead, and the timeout handler completes it.
    pub(crate) fn complete(self) {
        let rq = self.into_raw();
        // SAFETY: We owned the request and give up the handle: blk-mq passes
        // it to `complete` or the timeout handler, which recreate it once.
        unsafe {
            if should_fake_timeout(rq) {
                Pdu::<T>::of(rq).parked.store(true, Ordering::Release);
            } else {
                bindings::blk_mq_complete_request(rq);
            }
        }
    }
}

/// The requests a poll finished, to be ended together after it (`struct
/// io_comp_batch`, from blk-mq's caller: io_uring). May be none at all (a
/// poll without a batch), and then nothing joins it.
///
/// # Invariants
///
/// `iob` is null or a batch that outlives the poll this was made for.
pub(crate) struct Completions<T: Operations> {
    iob: *mut bindings::io_comp_batch,
    _p: PhantomData<T>,
}

impl<T: Operations> Completions<T> {
    /// # Safety
    ///
    /// `iob` must be what blk-mq passed to the poll callback that makes
    /// this (null, or a batch that outlives the call).
    pub(super) unsafe fn from_raw(iob: *mut bindings::io_comp_batch) -> Self {
        // INVARIANT: Per the safety requirements.
        Self {
            iob,
            _p: PhantomData,
        }
    }
}

/// Ends a poll's batch: the requests `Owned::complete_polled` added, which
/// all succeeded. What `Owned::end` does for one request is done for each,
/// then blk-mq ends them all at once.
///
/// # Safety
///
/// Called by blk-mq's caller once per batch, with the batch the requests
/// were added to; it holds only requests of queues built for `T` (the
/// batch takes requests with one `complete` function, and this one exists
/// once per `T`).
unsafe extern "C" fn complete_batch<T: Operations>(iob: *mut bindings::io_comp_batch) {
    // SAFETY: Per the safety requirements the batch's requests are ours,
    // each given up by `complete_polled`, so each handle is recreated once;
    // `rq_next` links them, and is read before the handle is given up again.
    unsafe {
        let mut rq = mb::rvirtio_batch_first(iob);
        while !rq.is_null() {
            let next = mb::rvirtio_batch_next(rq);
            let mut owned = Owned::<T>::from_raw(rq);
            owned.release();
            owned.into_raw();
            rq = next;
        }
        bindings::blk_mq_end_request_batch(iob);
    }
}

/// `blk_should_fake_timeout()`: whether blk-mq's fault injection
/// (`fail_io_timeout`) wants `rq`'s completion dropped. Without
/// `CONFIG_FAIL_IO_TIMEOUT` it never does, and the check compiles away.
///
/// # Safety
///
/// `rq` must be a live request.
#[cfg(CONFIG_FAIL_IO_TIMEOUT)]
unsafe fn should_fake_timeout(rq: *mut bindings::request) -> bool {
    // SAFETY: Per the safety requirements.
    unsafe { mb::rvirtio_rq_should_fake_timeout(rq) }
}

/// See above.
///
/// # Safety
///
/// None needed; `unsafe` only to match the version above.
#[cfg(not(CONFIG_FAIL_IO_TIMEOUT))]
unsafe fn should_fake_timeout(_rq: *mut bindings::request) -> bool {
    false
}

impl<T: Operations> Drop for Owned<T> {
    /// A request nobody ends would hang its submitter: fail it instead.
    fn drop(&mut self) {
        self.release();
        // SAFETY: We own the started request, and it is being dropped.
        unsafe { bindings::blk_mq_end_request(self.rq.as_ptr(), Status::IO_ERROR.0) };
    }
}

impl<T: Operations> Foreign for Owned<T> {
    type Borrowed<'a> = &'a Request<T>;

    fn into_foreign(self) -> *const c_void {
        self.into_raw().cast_const().cast()
    }

    /// # Safety
    ///
    /// As for [`Foreign::borrow`].
    unsafe fn borrow<'a>(ptr: *const c_void) -> &'a Request<T> {
        // SAFETY: `ptr` came from `into_foreign`, so it is a request we own;
        // it stays in flight until `from_foreign`.
        unsafe { Request::from_raw(ptr.cast_mut().cast()) }
    }

    /// # Safety
    ///
    /// As for [`Foreign::from_foreign`].
    unsafe fn from_foreign(ptr: *const c_void) -> Self {
        // SAFETY: `ptr` came from `into_foreign` and is converted back once.
        unsafe { Self::from_raw(ptr.cast_mut().cast()) }
    }
}

// `rq_next` (in a union with `queuelist`) links requests in plug lists and
// in the lists of the driver that owns them.

/// Requests that blk-mq hands over at once (`queue_rqs`): the run of a plug
/// list that is bound for one hardware queue. Iterating starts each request
/// and yields it as [`Owned`].
///
/// # Invariants
///
/// `list` is the plug list blk-mq passed to `queue_rqs`, of requests of a
/// tag set created for `T`, not yet started; `hctx` is the hardware context
/// of this batch.
pub(crate) struct Batch<'a, T: Operations> {
    list: *mut bindings::rq_list,
    hctx: *mut bindings::blk_mq_hw_ctx,
    _p: PhantomData<(&'a mut bindings::rq_list, T)>,
}

impl<'a, T: Operations> Batch<'a, T> {
    /// The batch at the head of `list`, and its hardware context; `None` if
    /// the list is empty.
    ///
    /// # Safety
    ///
    /// `list` must be a plug list that blk-mq passed to `queue_rqs` for a
    /// queue of a tag set created for `T`, valid for `'a`.
    pub(super) unsafe fn head(list: *mut bindings::rq_list) -> Option<Self> {
        // SAFETY: Per the safety requirements the list is valid; its requests
        // are allocated and have a hardware context.
        let hctx = unsafe {
            let head = (*list).head;
            if head.is_null() {
                return None;
            }
            (*head).mq_hctx
        };
        // INVARIANT: Per the safety requirements; `hctx` is the head's.
        Some(Self {
            list,
            hctx,
            _p: PhantomData,
        })
    }

    /// The hardware context of this batch.
    pub(super) fn hctx(&self) -> *mut bindings::blk_mq_hw_ctx {
        self.hctx
    }

    /// Whether the list still holds a request of this batch.
    #[inline]
    pub(super) fn has_more(&self) -> bool {
        // SAFETY: The list is valid per the type invariant.
        unsafe {
            let head = (*self.list).head;
            !head.is_null() && (*head).mq_hctx == self.hctx
        }
    }
}

impl<T: Operations> Iterator for Batch<'_, T> {
    type Item = Owned<T>;

    fn next(&mut self) -> Option<Owned<T>> {
        if !self.has_more() {
            return None;
        }
        // SAFETY: The list is valid and its head belongs to this batch
        // (checked above); popping it (`rq_list_pop`) makes it ours, and
        // starting it makes it satisfy `Owned`'s invariant.
        unsafe {
            let rq = (*self.list).head;
            (*self.list).head = (*rq).__bindgen_anon_1.rq_next;
            if (*self.list).head.is_null() {
                (*self.list).tail = core::ptr::null_mut();
            }
            (*rq).__bindgen_anon_1.rq_next = core::ptr::null_mut();
            Some(Owned::start(rq))
        }
    }
}

/// A driver's own list of requests it owns, linked through the requests
/// themselves (`rq_next`), as C drivers use a `struct rq_list`. Dropping the
/// list drops (fails) what is left in it.
///
/// # Invariants
///
/// `head` and `tail` form a `rq_next`-linked list of requests for each of
/// which the list holds the unique [`Owned`] handle.
pub(crate) struct RqList<T: Operations> {
    head: *mut bindings::request,
    tail: *mut bindings::request,
    _p: PhantomData<Owned<T>>,
}

// SAFETY: The list holds `Owned<T>` handles, which may be sent anywhere.
unsafe impl<T: Operations> Send for RqList<T> {}

impl<T: Operations> RqList<T> {
    /// An empty list.
    pub(crate) fn new() -> Self {
        // INVARIANT: An empty list.
        Self {
            head: core::ptr::null_mut(),
            tail: core::ptr::null_mut(),
            _p: PhantomData,
        }
    }

    /// Appends `rq`.
    #[inline]
    pub(crate) fn push(&mut self, rq: Owned<T>) {
        let rq = rq.into_raw();
        // SAFETY: We own `rq` (its handle is now the list's) and the requests
        // of the list; the driver that owns a request may use `rq_next`.
        unsafe {
            (*rq).__bindgen_anon_1.rq_next = core::ptr::null_mut();
            if self.tail.is_null() {
                self.head = rq;
            } else {
                (*self.tail).__bindgen_anon_1.rq_next = rq;
            }
        }
        self.tail = rq;
    }

    /// Takes the first request off the list.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Owned<T>> {
        let rq = self.head;
        if rq.is_null() {
            return None;
        }
        // SAFETY: `rq` is on the list, which holds its unique handle; we
        // unlink it and hand that handle out.
        unsafe {
            self.head = (*rq).__bindgen_anon_1.rq_next;
            if self.head.is_null() {
                self.tail = core::ptr::null_mut();
            }
            (*rq).__bindgen_anon_1.rq_next = core::ptr::null_mut();
            Some(Owned::from_raw(rq))
        }
    }
}

impl<T: Operations> Default for RqList<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Operations> Drop for RqList<T> {
    fn drop(&mut self) {
        while self.pop().is_some() {}
    }
}
