// SPDX-License-Identifier: GPL-2.0

//! Commands: a shared view ([`Cmd`]) and the owner's handle ([`OwnedCmd`]).

use super::bindings as sb;
use super::HostOps;
use crate::lib::foreign::Foreign;
use crate::lib::sg::SgList;
use core::ffi::c_void;
use core::marker::PhantomData;
use core::ptr::{addr_of, addr_of_mut, NonNull};
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::types::Opaque;

/// Which way a command's data goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// No data.
    None,
    /// The device reads the buffer (a write).
    ToDevice,
    /// The device writes the buffer (a read).
    FromDevice,
    /// Both ways, which virtio-scsi does not carry.
    Bidirectional,
}

/// The size of a command's CDB buffer (`scsi_cmnd::cmnd`).
pub(crate) const CDB_BUF: usize = 32;
const _: () = assert!(sb::RVIRTIO_SCSI_CDB_BUF == CDB_BUF);

/// `DID_ERROR`: the host byte of a command that failed in the driver.
pub(crate) const DID_ERROR: u8 = 0x07;

/// What a command's private area holds: the glue's flag, then the driver's
/// data. `init_cmd_priv` writes it once, when the midlayer allocates the
/// request; every command that uses the request then finds it as the last
/// one left it (the midlayer does not clear it: see `shim.c`).
#[repr(C)]
pub(super) struct CmdPriv<D> {
    /// Set while a transport (a virtqueue) holds the command, from
    /// `into_foreign` to `from_foreign`. `shim.c` reads it as the area's
    /// first byte. Clear at `init_cmd_priv`, and cleared by `from_foreign`:
    /// every way a command comes back from a transport. So it is clear at
    /// every `queuecommand`, also of an error handler's command, which
    /// reuses a command the error handler got back (its abort succeeded
    /// once the device gave it back; after a host reset the device holds
    /// nothing).
    pub(super) held: AtomicBool,
    /// The driver's data.
    pub(super) data: D,
}

// The size bindgen gives the (opaque) command is the C one: the private
// area follows it.
const _: () = assert!(core::mem::size_of::<sb::scsi_cmnd>() == sb::RVIRTIO_SCSI_CMND_SIZE);

/// Whether a C field of `size` bytes at byte `offset` (`helper.h`) may be
/// read and written as an `F`: same size, and aligned for it within a
/// struct at least as aligned as `F`.
const fn fits<F>(offset: usize, size: usize) -> bool {
    size == core::mem::size_of::<F>() && offset % core::mem::align_of::<F>() == 0
}

// The fields the command path reads and writes in place, as the types they
// are read as. `scsi_cmnd` and `scsi_device` are aligned to 8 (bindgen's
// opaque blobs carry the C alignment), and `request` too.
const _: () = {
    use core::ffi::c_int;
    assert!(fits::<*mut sb::scsi_device>(
        sb::RVIRTIO_SCSI_OFF_DEVICE,
        sb::RVIRTIO_SCSI_SZ_DEVICE
    ));
    assert!(fits::<u8>(
        sb::RVIRTIO_SCSI_OFF_SUBMITTER,
        sb::RVIRTIO_SCSI_SZ_SUBMITTER
    ));
    assert!(fits::<u16>(
        sb::RVIRTIO_SCSI_OFF_CMD_LEN,
        sb::RVIRTIO_SCSI_SZ_CMD_LEN
    ));
    assert!(fits::<c_int>(
        sb::RVIRTIO_SCSI_OFF_DIRECTION,
        sb::RVIRTIO_SCSI_SZ_DIRECTION
    ));
    assert!(fits::<[u8; CDB_BUF]>(
        sb::RVIRTIO_SCSI_OFF_CMND,
        sb::RVIRTIO_SCSI_SZ_CMND
    ));
    assert!(fits::<*mut c_void>(
        sb::RVIRTIO_SCSI_OFF_SGL,
        sb::RVIRTIO_SCSI_SZ_SGL
    ));
    assert!(fits::<u32>(
        sb::RVIRTIO_SCSI_OFF_NENTS,
        sb::RVIRTIO_SCSI_SZ_NENTS
    ));
    assert!(fits::<u32>(
        sb::RVIRTIO_SCSI_OFF_BUFFLEN,
        sb::RVIRTIO_SCSI_SZ_BUFFLEN
    ));
    assert!(fits::<u32>(
        sb::RVIRTIO_SCSI_OFF_RESID,
        sb::RVIRTIO_SCSI_SZ_RESID
    ));
    assert!(fits::<c_int>(
        sb::RVIRTIO_SCSI_OFF_FLAGS,
        sb::RVIRTIO_SCSI_SZ_FLAGS
    ));
    assert!(fits::<c_int>(
        sb::RVIRTIO_SCSI_OFF_RESULT,
        sb::RVIRTIO_SCSI_SZ_RESULT
    ));
    assert!(fits::<*mut u8>(
        sb::RVIRTIO_SCSI_OFF_SENSE_BUFFER,
        sb::RVIRTIO_SCSI_SZ_SENSE_BUFFER
    ));
    assert!(fits::<u32>(
        sb::RVIRTIO_SCSI_OFF_SDEV_ID,
        sb::RVIRTIO_SCSI_SZ_SDEV_ID
    ));
    assert!(fits::<u64>(
        sb::RVIRTIO_SCSI_OFF_SDEV_LUN,
        sb::RVIRTIO_SCSI_SZ_SDEV_LUN
    ));
    assert!(fits::<*mut c_void>(
        sb::RVIRTIO_SCSI_OFF_RQ_HCTX,
        sb::RVIRTIO_SCSI_SZ_RQ_HCTX
    ));
    assert!(fits::<u32>(
        sb::RVIRTIO_SCSI_OFF_HCTX_QUEUE_NUM,
        sb::RVIRTIO_SCSI_SZ_HCTX_QUEUE_NUM
    ));
    assert!(core::mem::align_of::<sb::scsi_cmnd>() >= 8);
    assert!(core::mem::align_of::<sb::scsi_device>() >= 8);
    // Fields inside the structs they are read from.
    assert!(sb::RVIRTIO_SCSI_OFF_RESULT + sb::RVIRTIO_SCSI_SZ_RESULT <= sb::RVIRTIO_SCSI_CMND_SIZE);
    assert!(sb::RVIRTIO_SCSI_OFF_CMND + CDB_BUF <= sb::RVIRTIO_SCSI_CMND_SIZE);
    assert!(sb::RVIRTIO_SCSI_REQUEST_SIZE % 8 == 0);
};

/// A pointer to the field of type `F` at byte `offset` of `base`; using it
/// is up to the caller, who passes one of the offsets checked above with
/// the type it was checked with.
fn field<F>(base: *const c_void, offset: usize) -> *mut F {
    base.cast::<u8>().wrapping_add(offset).cast_mut().cast()
}

/// The target id and LUN of the device of command `sc`.
///
/// # Safety
///
/// `sc` must point to a valid command whose device is alive.
unsafe fn address(sc: *mut sb::scsi_cmnd) -> (u32, u64) {
    // SAFETY: The command is valid, and its `device` field a
    // `struct scsi_device *` (checked above); the caller guarantees the
    // device is alive, and its `id` and `lun` are a `u32` and a `u64`.
    unsafe {
        let sdev = field::<*mut sb::scsi_device>(sc.cast(), sb::RVIRTIO_SCSI_OFF_DEVICE).read();
        (
            field::<u32>(sdev.cast(), sb::RVIRTIO_SCSI_OFF_SDEV_ID).read(),
            field::<u64>(sdev.cast(), sb::RVIRTIO_SCSI_OFF_SDEV_LUN).read(),
        )
    }
}

/// The private area of command `sc` of a host of `T` (`scsi_cmd_priv`:
/// right after the command). Dereferencing it is up to the caller.
pub(super) fn cmd_priv<T: HostOps>(sc: *mut sb::scsi_cmnd) -> *mut CmdPriv<T::CmdData> {
    sc.wrapping_add(1).cast()
}

/// A command as anyone may look at it: its owner, or a timeout handler.
///
/// # Invariants
///
/// The command belongs to a host created by [`super::Host`] for `T`, its
/// private area holds a `T::CmdData`, and it is in flight (queued, not yet
/// finished) for as long as the reference lives.
#[repr(transparent)]
pub(crate) struct Cmd<T: HostOps>(Opaque<sb::scsi_cmnd>, PhantomData<T>);

impl<T: HostOps> Cmd<T> {
    /// # Safety
    ///
    /// `sc` must satisfy the type invariant for `'a`.
    pub(super) unsafe fn from_raw<'a>(sc: *mut sb::scsi_cmnd) -> &'a Self {
        // SAFETY: `Cmd<T>` is a transparent wrapper of `struct scsi_cmnd`.
        // INVARIANT: The caller guarantees it for `'a`.
        unsafe { &*sc.cast() }
    }

    fn raw(&self) -> *mut sb::scsi_cmnd {
        self.0.get()
    }

    /// The command's private area, a `CmdPriv` (`Host::new` sized it so,
    /// `init_cmd_priv` wrote it).
    fn priv_area(&self) -> *mut CmdPriv<T::CmdData> {
        cmd_priv::<T>(self.raw())
    }

    /// The driver's data of this command.
    pub(crate) fn data(&self) -> &T::CmdData {
        // SAFETY: Per the type invariant the private area holds a
        // `T::CmdData`; shared access only reads it.
        unsafe { &*addr_of!((*self.priv_area()).data) }
    }

    /// Whether a transport (the device) holds the command now. Meaningful
    /// under the lock the transport's completions run under: the flag is
    /// cleared when the transport gives the command back, and the command is
    /// finished right after, under the same lock.
    pub(crate) fn is_held(&self) -> bool {
        // SAFETY: The flag is an atomic, valid for as long as the command.
        unsafe { (*addr_of!((*self.priv_area()).held)).load(Ordering::Acquire) }
    }

    fn set_held(&self, held: bool) {
        // SAFETY: As above.
        unsafe { (*addr_of!((*self.priv_area()).held)).store(held, Ordering::Release) }
    }

    /// The target id of the command's device.
    pub(crate) fn target(&self) -> u32 {
        // SAFETY: The command is in flight, so its device is alive.
        unsafe { address(self.raw()).0 }
    }

    /// The LUN of the command's device.
    pub(crate) fn lun(&self) -> u64 {
        // SAFETY: As above.
        unsafe { address(self.raw()).1 }
    }

    /// An identifier unique among the commands in flight: the command's
    /// address, as the C driver tags commands.
    pub(crate) fn id(&self) -> u64 {
        self.raw() as usize as u64
    }

    /// The data buffer, mapped by the midlayer; `None` without data.
    #[inline]
    pub(crate) fn data_buffer(&self) -> Option<SgList<'_>> {
        let sc = self.raw().cast_const().cast();
        // SAFETY: The fields are the data buffer's scatterlist
        // (`scsi_sglist`) and its mapped entries (`scsi_sg_count`), of the
        // types checked above. The midlayer mapped the scatterlist before
        // queueing the command, and keeps it until the command is finished,
        // which outlives this borrow.
        unsafe {
            let first = field::<*mut kernel::bindings::scatterlist>(sc, sb::RVIRTIO_SCSI_OFF_SGL);
            let nents = field::<u32>(sc, sb::RVIRTIO_SCSI_OFF_NENTS);
            SgList::from_raw(first.read(), nents.read())
        }
    }
}

/// What `queuecommand` reads of a command, in place.
///
/// # Invariants
///
/// `sc` is a command that stays in flight for `'a`, owned by the holder of
/// the `OwnedCmd` this was made from: the fields read here do not change
/// meanwhile.
pub(crate) struct CmdInfo<'a> {
    sc: *const c_void,
    _cmd: PhantomData<&'a ()>,
}

impl CmdInfo<'_> {
    /// The field of type `F` at `offset`.
    ///
    /// # Safety
    ///
    /// `offset` must be one of the command's offsets checked above, with
    /// the type it was checked with.
    #[inline(always)]
    unsafe fn read<F: Copy>(&self, offset: usize) -> F {
        // SAFETY: Per the type invariant the command is valid and its field
        // does not change; the caller guarantees its type.
        unsafe { field::<F>(self.sc, offset).read() }
    }

    /// The command's CDB buffer (`scsi_cmnd::cmnd`): the CDB is its first
    /// [`CmdInfo::cdb_len`] bytes.
    pub(crate) fn cdb(&self) -> &[u8; CDB_BUF] {
        // SAFETY: Per the type invariant the command, and so its `cmnd`
        // array, of `CDB_BUF` bytes (checked above, against `helper.h`),
        // whose alignment is 1, lives and is not changed for the borrow.
        unsafe { &*field::<[u8; CDB_BUF]>(self.sc, sb::RVIRTIO_SCSI_OFF_CMND) }
    }

    /// The CDB's length.
    pub(crate) fn cdb_len(&self) -> usize {
        // SAFETY: `cmd_len` is an `unsigned short`.
        usize::from(unsafe { self.read::<u16>(sb::RVIRTIO_SCSI_OFF_CMD_LEN) })
    }

    /// The target id and LUN of the command's device.
    pub(crate) fn address(&self) -> (u32, u64) {
        // SAFETY: The command is in flight, so its device is alive.
        unsafe { address(self.sc.cast_mut().cast()) }
    }

    /// Which way the data goes.
    pub(crate) fn direction(&self) -> Direction {
        // SAFETY: `sc_data_direction` is an enum, an `int`.
        direction(unsafe { self.read::<core::ffi::c_int>(sb::RVIRTIO_SCSI_OFF_DIRECTION) })
    }

    /// The data buffer's length in bytes.
    pub(crate) fn bufflen(&self) -> u32 {
        // SAFETY: `sdb.length` is an `unsigned int`.
        unsafe { self.read::<u32>(sb::RVIRTIO_SCSI_OFF_BUFFLEN) }
    }

    /// The hardware queue the command was dispatched on (its request's
    /// `mq_hctx->queue_num`, as `blk_mq_unique_tag` reads it).
    pub(crate) fn hw_queue(&self) -> u32 {
        // The request lies right before the command (`scsi_cmd_to_rq`).
        let rq = self
            .sc
            .cast::<u8>()
            .wrapping_sub(sb::RVIRTIO_SCSI_REQUEST_SIZE)
            .cast::<c_void>();
        // SAFETY: A queued command's request is valid and dispatched, so
        // its `mq_hctx` is set and lives while the request is in flight;
        // the fields are of the types checked above.
        unsafe {
            let hctx = field::<*const c_void>(rq, sb::RVIRTIO_SCSI_OFF_RQ_HCTX).read();
            field::<u32>(hctx, sb::RVIRTIO_SCSI_OFF_HCTX_QUEUE_NUM).read()
        }
    }

    /// Whether the error handler sent this command (TEST UNIT READY after a
    /// LUN reset, REQUEST SENSE), on the hardware queue of the command it
    /// handles.
    pub(crate) fn sent_by_error_handler(&self) -> bool {
        // SAFETY: `submitter` is a one-byte (packed) enum.
        let submitter = unsafe { self.read::<u8>(sb::RVIRTIO_SCSI_OFF_SUBMITTER) };
        u32::from(submitter) == sb::RVIRTIO_SCSI_SUBMITTED_BY_EH
    }

    /// Whether this is the last command of a batch (kick the device now).
    pub(crate) fn is_last(&self) -> bool {
        // SAFETY: `flags` is an `int`.
        let flags = unsafe { self.read::<core::ffi::c_int>(sb::RVIRTIO_SCSI_OFF_FLAGS) };
        flags & sb::RVIRTIO_SCSI_SCMD_LAST != 0
    }
}

/// A command's `sc_data_direction`.
fn direction(raw: core::ffi::c_int) -> Direction {
    match raw {
        sb::RVIRTIO_DMA_TO_DEVICE => Direction::ToDevice,
        sb::RVIRTIO_DMA_FROM_DEVICE => Direction::FromDevice,
        sb::RVIRTIO_DMA_NONE => Direction::None,
        _ => Direction::Bidirectional,
    }
}

/// What the error handler's LUN reset is about: the LUN of a command that
/// may be a dummy, never queued (an `SG_SCSI_RESET` ioctl), so only its
/// device is looked at.
///
/// # Invariants
///
/// The command's device belongs to a host created by [`super::Host`] for
/// `T`, and is alive while the reference lives.
#[repr(transparent)]
pub(crate) struct ResetCmd<T: HostOps>(Opaque<sb::scsi_cmnd>, PhantomData<T>);

impl<T: HostOps> ResetCmd<T> {
    /// # Safety
    ///
    /// `sc` must satisfy the type invariant for `'a`.
    pub(super) unsafe fn from_raw<'a>(sc: *mut sb::scsi_cmnd) -> &'a Self {
        // SAFETY: `ResetCmd<T>` is a transparent wrapper of `struct scsi_cmnd`.
        // INVARIANT: The caller guarantees it for `'a`.
        unsafe { &*sc.cast() }
    }

    /// The target id.
    pub(crate) fn target(&self) -> u32 {
        // SAFETY: The device is alive per the type invariant.
        unsafe { address(self.0.get()).0 }
    }

    /// The LUN.
    pub(crate) fn lun(&self) -> u64 {
        // SAFETY: As above.
        unsafe { address(self.0.get()).1 }
    }

    /// Whether a transport holds any command of this LUN. As with
    /// [`Cmd::is_held`], a command found not held may still be finishing
    /// under its transport's lock: take that lock once before relying on it.
    pub(crate) fn lun_held(&self) -> bool {
        // SAFETY: As above; the shim walks the host's started commands,
        // whose private areas start with the `CmdPriv` flag.
        unsafe { sb::rvirtio_scsi_lun_held(self.0.get()) }
    }
}

/// The right to finish one queued command.
///
/// # Invariants
///
/// `sc` satisfies the invariant of [`Cmd<T>`], and there is exactly one
/// `OwnedCmd` for it: whoever holds this may change and finish it.
pub(crate) struct OwnedCmd<T: HostOps> {
    sc: NonNull<sb::scsi_cmnd>,
    _p: PhantomData<T>,
}

// SAFETY: A command may be finished from any context and CPU.
unsafe impl<T: HostOps> Send for OwnedCmd<T> {}

impl<T: HostOps> core::ops::Deref for OwnedCmd<T> {
    type Target = Cmd<T>;

    fn deref(&self) -> &Cmd<T> {
        // SAFETY: Per the type invariant.
        unsafe { Cmd::from_raw(self.sc.as_ptr()) }
    }
}

impl<T: HostOps> OwnedCmd<T> {
    /// # Safety
    ///
    /// `sc` must satisfy the type invariant, including uniqueness.
    pub(super) unsafe fn from_raw(sc: *mut sb::scsi_cmnd) -> Self {
        // INVARIANT: The caller passes a queued command of ours and its only
        // handle.
        Self {
            // SAFETY: The caller passes a valid command.
            sc: unsafe { NonNull::new_unchecked(sc) },
            _p: PhantomData,
        }
    }

    pub(super) fn into_raw(self) -> *mut sb::scsi_cmnd {
        let sc = self.sc.as_ptr();
        core::mem::forget(self);
        sc
    }

    /// The driver's data of this command, for changing.
    pub(crate) fn data_mut(&mut self) -> &mut T::CmdData {
        // SAFETY: Per the type invariant this is the only handle that may
        // change the driver's data, and we hold it mutably; the flag beside
        // it is not part of the borrow.
        unsafe { &mut *addr_of_mut!((*self.priv_area()).data) }
    }

    /// What `queuecommand` needs to know of the command, read in place, and
    /// the driver's data for changing: the CDB lies in the command itself,
    /// apart from the private area.
    pub(crate) fn info_and_data_mut(&mut self) -> (CmdInfo<'_>, &mut T::CmdData) {
        // SAFETY: As in `data_mut`. What `CmdInfo` reads lies in the
        // command itself, apart from the private area.
        let data = unsafe { &mut *addr_of_mut!((*self.priv_area()).data) };
        // INVARIANT: We own the command, which the borrow of `self` keeps
        // in flight.
        let info = CmdInfo {
            sc: self.raw().cast_const().cast(),
            _cmd: PhantomData,
        };
        (info, data)
    }

    /// Finishes the command (`scsi_done`) with host byte `host`, SCSI status
    /// `status`, a residual (0 leaves the midlayer's) and sense data (at
    /// most the midlayer's 96 bytes are copied).
    #[inline]
    pub(crate) fn finish(self, host: u8, status: u8, resid: u32, sense: &[u8]) {
        // SAFETY: We owned the queued command and give up the handle.
        // `sense` is the driver's, not the command's: no safe API gives a
        // slice of a command's buffers.
        unsafe { finish(self.into_raw(), host, status, resid, sense) };
    }

    /// Finishes the command as failed in the driver (`DID_ERROR`).
    pub(crate) fn fail(self) {
        self.finish(DID_ERROR, 0, 0, &[]);
    }
}

/// Finishes command `sc`: the result is
/// `host << 16 | status` (`set_host_byte`), a non-zero residual is set (at
/// most the buffer's length), and the sense copied (at most the midlayer's
/// `SCSI_SENSE_BUFFERSIZE` bytes); then `scsi_done`.
///
/// # Safety
///
/// `sc` must be a queued command the caller owns and gives up, and `sense`
/// must not lie in the command's buffers (the sense buffer is the data
/// buffer of the error handler's REQUEST SENSE): the driver never gets a
/// slice of them, only a scatterlist.
#[inline(always)]
unsafe fn finish(sc: *mut sb::scsi_cmnd, host: u8, status: u8, resid: u32, sense: &[u8]) {
    let base = sc.cast_const().cast();
    // SAFETY: The caller owns the queued command until `scsi_done`, so it
    // may write its fields, of the types checked above. `sense_buffer` is
    // the midlayer's buffer of `SCSI_SENSE_BUFFERSIZE` bytes, set for every
    // command it queues, and no more than that is copied; the caller
    // guarantees `sense` does not overlap it.
    unsafe {
        field::<core::ffi::c_int>(base, sb::RVIRTIO_SCSI_OFF_RESULT)
            .write(core::ffi::c_int::from(host) << 16 | core::ffi::c_int::from(status));
        if resid != 0 {
            let bufflen = field::<u32>(base, sb::RVIRTIO_SCSI_OFF_BUFFLEN).read();
            field::<u32>(base, sb::RVIRTIO_SCSI_OFF_RESID).write(resid.min(bufflen));
        }
        if !sense.is_empty() {
            let to = field::<*mut u8>(base, sb::RVIRTIO_SCSI_OFF_SENSE_BUFFER).read();
            let n = sense.len().min(sb::RVIRTIO_SCSI_SENSE_BUFFERSIZE);
            core::ptr::copy_nonoverlapping(sense.as_ptr(), to, n);
        }
        sb::scsi_done(sc);
    }
}

impl<T: HostOps> Drop for OwnedCmd<T> {
    /// A command nobody finishes would hang its submitter: fail it instead.
    fn drop(&mut self) {
        // SAFETY: We own the queued command, and it is being dropped.
        unsafe { finish(self.sc.as_ptr(), DID_ERROR, 0, 0, &[]) };
    }
}

impl<T: HostOps> Foreign for OwnedCmd<T> {
    type Borrowed<'a> = &'a Cmd<T>;

    /// The transport takes the command: it is held until `from_foreign`.
    fn into_foreign(self) -> *const c_void {
        self.set_held(true);
        self.into_raw().cast_const().cast()
    }

    /// # Safety
    ///
    /// As for [`Foreign::borrow`].
    unsafe fn borrow<'a>(ptr: *const c_void) -> &'a Cmd<T> {
        // SAFETY: `ptr` came from `into_foreign`, so it is a command we own;
        // it stays in flight until `from_foreign`.
        unsafe { Cmd::from_raw(ptr.cast_mut().cast()) }
    }

    /// # Safety
    ///
    /// As for [`Foreign::from_foreign`].
    unsafe fn from_foreign(ptr: *const c_void) -> Self {
        // SAFETY: `ptr` came from `into_foreign` and is converted back once.
        let cmd = unsafe { Self::from_raw(ptr.cast_mut().cast()) };
        cmd.set_held(false);
        cmd
    }
}
