// SPDX-License-Identifier: GPL-2.0

//! Commands: a shared view ([`Cmd`]) and the owner's handle ([`OwnedCmd`]).

use super::bindings as sb;
use super::HostOps;
use crate::lib::sg::SgList;
use core::ffi::c_void;
use core::marker::PhantomData;
use core::ptr::{addr_of, addr_of_mut, NonNull};
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::types::{ForeignOwnable, Opaque};

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
        unsafe { sb::rvirtio_scsi_cmd_target(self.raw()) }
    }

    /// The LUN of the command's device.
    pub(crate) fn lun(&self) -> u64 {
        // SAFETY: As above.
        unsafe { sb::rvirtio_scsi_cmd_lun(self.raw()) }
    }

    /// An identifier unique among the commands in flight: the command's
    /// address, as the C driver tags commands.
    pub(crate) fn id(&self) -> u64 {
        self.raw() as usize as u64
    }

    /// The data buffer, mapped by the midlayer; `None` without data.
    pub(crate) fn data_buffer(&self) -> Option<SgList<'_>> {
        let mut nents = 0;
        // SAFETY: The midlayer mapped the command's scatterlist before
        // queueing it, and keeps it until the command is finished, which
        // outlives this borrow.
        unsafe {
            let first = sb::rvirtio_scsi_cmd_sglist(self.raw(), &mut nents);
            SgList::from_raw(first, nents)
        }
    }
}

/// What [`OwnedCmd::info_and_data_mut`] read of a command.
///
/// # Invariants
///
/// `raw` was read from a command that stays in flight for `'a`: its CDB
/// pointer is to the command's CDB buffer, which does not change meanwhile.
pub(crate) struct CmdInfo<'a> {
    raw: sb::rvirtio_scsi_cmd_info,
    _cmd: PhantomData<&'a ()>,
}

impl CmdInfo<'_> {
    /// The command's CDB buffer (`scsi_cmnd::cmnd`): the CDB is its first
    /// [`CmdInfo::cdb_len`] bytes.
    pub(crate) fn cdb(&self) -> &[u8; CDB_BUF] {
        // SAFETY: Per the type invariant; the pointer is to the command's
        // `cmnd` array (`shim.c`), of `CDB_BUF` bytes (checked at build
        // time above, against `helper.h`), whose alignment is 1.
        unsafe { &*self.raw.cdb.cast::<[u8; CDB_BUF]>() }
    }

    /// The CDB's length.
    pub(crate) fn cdb_len(&self) -> usize {
        self.raw.cdb_len as usize
    }

    /// The target id of the command's device.
    pub(crate) fn target(&self) -> u32 {
        self.raw.target
    }

    /// The LUN of the command's device.
    pub(crate) fn lun(&self) -> u64 {
        self.raw.lun
    }

    /// Which way the data goes.
    pub(crate) fn direction(&self) -> Direction {
        direction(self.raw.direction)
    }

    /// The data buffer's length in bytes.
    pub(crate) fn bufflen(&self) -> u32 {
        self.raw.bufflen
    }

    /// The hardware queue the command was dispatched on.
    pub(crate) fn hw_queue(&self) -> u32 {
        u32::from(self.raw.hwq)
    }

    /// Whether the error handler sent this command (TEST UNIT READY after a
    /// LUN reset, REQUEST SENSE), on the hardware queue of the command it
    /// handles.
    pub(crate) fn sent_by_error_handler(&self) -> bool {
        self.raw.from_eh
    }

    /// Whether this is the last command of a batch (kick the device now).
    pub(crate) fn is_last(&self) -> bool {
        self.raw.last
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
        unsafe { sb::rvirtio_scsi_cmd_target(self.0.get()) }
    }

    /// The LUN.
    pub(crate) fn lun(&self) -> u64 {
        // SAFETY: As above.
        unsafe { sb::rvirtio_scsi_cmd_lun(self.0.get()) }
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

    /// What `queuecommand` needs to know of the command, read at once, and
    /// the driver's data for changing: the CDB lies in the command itself,
    /// apart from the private area.
    pub(crate) fn info_and_data_mut(&mut self) -> (CmdInfo<'_>, &mut T::CmdData) {
        let mut raw = core::mem::MaybeUninit::<sb::rvirtio_scsi_cmd_info>::uninit();
        // SAFETY: The command is in flight; the shim only reads it, and
        // writes every field of `raw` (`shim.c`), so `raw` is initialised:
        // its padding may stay uninitialised, as padding may.
        let raw = unsafe {
            sb::rvirtio_scsi_cmd_info(self.raw(), raw.as_mut_ptr());
            raw.assume_init()
        };
        // SAFETY: As in `data_mut`. The CDB `raw` points to is the
        // command's own (`scsi_cmnd::cmnd`), not in the private area.
        let data = unsafe { &mut *addr_of_mut!((*self.priv_area()).data) };
        // INVARIANT: Read from the command, which `'_` keeps in flight.
        let info = CmdInfo {
            raw,
            _cmd: PhantomData,
        };
        (info, data)
    }

    /// Finishes the command (`scsi_done`) with host byte `host`, SCSI status
    /// `status`, a residual (0 leaves the midlayer's) and sense data (at
    /// most the midlayer's 96 bytes are copied).
    pub(crate) fn finish(self, host: u8, status: u8, resid: u32, sense: &[u8]) {
        let sc = self.into_raw();
        // SAFETY: We owned the queued command and give up the handle;
        // `sense` is valid for its length.
        unsafe {
            sb::rvirtio_scsi_cmd_finish(sc, host, status, resid, sense.as_ptr(), sense.len() as u32)
        };
    }

    /// Finishes the command as failed in the driver (`DID_ERROR`).
    pub(crate) fn fail(self) {
        self.finish(DID_ERROR, 0, 0, &[]);
    }
}

impl<T: HostOps> Drop for OwnedCmd<T> {
    /// A command nobody finishes would hang its submitter: fail it instead.
    fn drop(&mut self) {
        // SAFETY: We own the queued command, and it is being dropped.
        unsafe {
            sb::rvirtio_scsi_cmd_finish(self.sc.as_ptr(), DID_ERROR, 0, 0, core::ptr::null(), 0)
        };
    }
}

impl<T: HostOps> ForeignOwnable for OwnedCmd<T> {
    type Borrowed<'a> = &'a Cmd<T>;

    /// The transport takes the command: it is held until `from_foreign`.
    fn into_foreign(self) -> *const c_void {
        self.set_held(true);
        self.into_raw().cast_const().cast()
    }

    /// # Safety
    ///
    /// As for [`ForeignOwnable::borrow`].
    unsafe fn borrow<'a>(ptr: *const c_void) -> &'a Cmd<T> {
        // SAFETY: `ptr` came from `into_foreign`, so it is a command we own;
        // it stays in flight until `from_foreign`.
        unsafe { Cmd::from_raw(ptr.cast_mut().cast()) }
    }

    /// # Safety
    ///
    /// As for [`ForeignOwnable::from_foreign`].
    unsafe fn from_foreign(ptr: *const c_void) -> Self {
        // SAFETY: `ptr` came from `into_foreign` and is converted back once.
        let cmd = unsafe { Self::from_raw(ptr.cast_mut().cast()) };
        cmd.set_held(false);
        cmd
    }
}
