// SPDX-License-Identifier: GPL-2.0

//! SCSI glue: a small safe layer over the SCSI midlayer, which has no Rust
//! abstraction in 6.12. It knows nothing about virtio.
//!
//! - [`HostOps`]: what a low-level driver implements: `queuecommand`,
//!   `commit_rqs`, `poll`, `map_queues` and `timed_out`, with per-host
//!   [`HostOps::HostData`] and per-command [`HostOps::CmdData`].
//! - [`OwnedCmd`]: the driver's right to finish one command (`scsi_done`).
//!   It is unique, it implements [`kernel::types::ForeignOwnable`] so that a
//!   transport can hold it while the device owns the command, and dropping
//!   it fails the command rather than forgetting it.
//! - [`Cmd`]: a shared view of a command (CDB, address, data buffer).
//! - [`Host`]: a `Scsi_Host` from allocation to `scsi_remove_host`.
//! - Error handling: [`HostOps::timed_out`], then the abort, LUN reset and
//!   host reset handlers. The midlayer reuses (or retries) a command as soon
//!   as a handler says [`EhResult::Success`], so a driver says so only once
//!   its device has given the command back ([`Cmd::is_held`]).
//!
//! The host template is C (`scsi_shim.c`); its callbacks are the functions
//! [`crate::declare_scsi_host`] exports for the driver's [`HostOps`] type.
//! The midlayer's structs stay opaque to Rust: every field access is a shim
//! call.

pub mod bindings;
mod cmd;
mod host;

pub use cmd::{Cmd, Direction, OwnedCmd, ResetCmd};
pub use host::{Host, HostConfig, HostCtl, HostRef};

#[doc(hidden)]
pub use host::callbacks;

use crate::lib::queuemap::QueueMap;
use kernel::sync::ArcBorrow;

/// What the timeout handler decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimedOut {
    /// The device still owns the command: restart its timer.
    ResetTimer,
    /// The command was finished (it had already come back).
    Done,
    /// Let the midlayer's error handling run: abort, then resets. The
    /// command stays with the device until a handler gets it back.
    NotHandled,
}

/// What an error handler achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EhResult {
    /// Done, and the device holds none of the commands concerned: the
    /// midlayer may retry or finish them.
    Success,
    /// Not done: the midlayer escalates (and, past the host reset, takes the
    /// LUNs offline).
    Failed,
}

/// A SCSI low-level driver.
pub trait HostOps: Sized + Send + Sync + 'static {
    /// Per-host data the callbacks see.
    type HostData: Send + Sync + 'static;
    /// Per-command data, in the command's private area. The midlayer reuses
    /// the area without dropping it, so the type must not need dropping, and
    /// the area is only 8-byte aligned (both checked at build time).
    type CmdData: Default + Send + Sync + 'static;

    /// Takes a command. The driver keeps it (hands it to the device), or
    /// finishes it, or gives it back, in which case the midlayer retries
    /// later (`SCSI_MLQUEUE_HOST_BUSY`).
    fn queuecommand(
        host: ArcBorrow<'_, Self::HostData>,
        cmd: OwnedCmd<Self>,
    ) -> Result<(), OwnedCmd<Self>>;

    /// Flushes commands queued without the "last" flag on hardware queue
    /// `hwq`.
    fn commit_rqs(host: ArcBorrow<'_, Self::HostData>, hwq: u32);

    /// Polls poll queue `hwq`; returns how many commands it finished.
    fn poll(_host: ArcBorrow<'_, Self::HostData>, _hwq: u32) -> u32 {
        0
    }

    /// Maps CPUs to the interrupt-driven hardware queues. The default
    /// spreads them evenly. (Poll queues are always spread evenly.)
    fn map_queues(_host: ArcBorrow<'_, Self::HostData>, map: &mut QueueMap) {
        map.map_default();
    }

    /// A command's timer expired. The device may still own it: the handler
    /// can only look at it.
    fn timed_out(_host: ArcBorrow<'_, Self::HostData>, _cmd: &Cmd<Self>) -> TimedOut {
        TimedOut::ResetTimer
    }

    /// `eh_abort_handler`: abort a command that timed out. May sleep.
    fn abort(_host: ArcBorrow<'_, Self::HostData>, _cmd: &Cmd<Self>) -> EhResult {
        EhResult::Failed
    }

    /// `eh_device_reset_handler`: reset the LUN of `cmd`. May sleep.
    fn device_reset(_host: ArcBorrow<'_, Self::HostData>, _cmd: &ResetCmd<Self>) -> EhResult {
        EhResult::Failed
    }

    /// `eh_host_reset_handler`: reset the whole host. May sleep. After a
    /// failure the midlayer takes the LUNs offline and finishes their
    /// commands, so the device must hold none of them even then.
    fn host_reset(_host: ArcBorrow<'_, Self::HostData>) -> EhResult {
        EhResult::Failed
    }
}

/// Exports the host template's callbacks for the driver's [`HostOps`] type.
/// Invoke it once per module.
#[macro_export]
macro_rules! declare_scsi_host {
    ($t:ty) => {
        #[no_mangle]
        extern "C" fn rvirtio_scsi_rs_queuecommand(
            shost: *mut $crate::scsi::bindings::Scsi_Host,
            sc: *mut $crate::scsi::bindings::scsi_cmnd,
        ) -> ::core::ffi::c_int {
            // SAFETY: The template in scsi_shim.c calls this, as
            // `queuecommand`, for a host `Host<$t>` created.
            unsafe { $crate::scsi::callbacks::queuecommand::<$t>(shost, sc) }
        }

        #[no_mangle]
        extern "C" fn rvirtio_scsi_rs_commit_rqs(
            shost: *mut $crate::scsi::bindings::Scsi_Host,
            hwq: u16,
        ) {
            // SAFETY: As above, as `commit_rqs`.
            unsafe { $crate::scsi::callbacks::commit_rqs::<$t>(shost, hwq) }
        }

        #[no_mangle]
        extern "C" fn rvirtio_scsi_rs_mq_poll(
            shost: *mut $crate::scsi::bindings::Scsi_Host,
            hwq: ::core::ffi::c_uint,
        ) -> ::core::ffi::c_int {
            // SAFETY: As above, as `mq_poll`.
            unsafe { $crate::scsi::callbacks::mq_poll::<$t>(shost, hwq) }
        }

        #[no_mangle]
        extern "C" fn rvirtio_scsi_rs_map_queues(shost: *mut $crate::scsi::bindings::Scsi_Host) {
            // SAFETY: As above, as `map_queues`.
            unsafe { $crate::scsi::callbacks::map_queues::<$t>(shost) }
        }

        #[no_mangle]
        extern "C" fn rvirtio_scsi_rs_eh_abort(
            sc: *mut $crate::scsi::bindings::scsi_cmnd,
        ) -> ::core::ffi::c_int {
            // SAFETY: As above, as `eh_abort_handler`.
            unsafe { $crate::scsi::callbacks::abort::<$t>(sc) }
        }

        #[no_mangle]
        extern "C" fn rvirtio_scsi_rs_eh_device_reset(
            sc: *mut $crate::scsi::bindings::scsi_cmnd,
        ) -> ::core::ffi::c_int {
            // SAFETY: As above, as `eh_device_reset_handler`.
            unsafe { $crate::scsi::callbacks::device_reset::<$t>(sc) }
        }

        #[no_mangle]
        extern "C" fn rvirtio_scsi_rs_eh_host_reset(
            sc: *mut $crate::scsi::bindings::scsi_cmnd,
        ) -> ::core::ffi::c_int {
            // SAFETY: As above, as `eh_host_reset_handler`.
            unsafe { $crate::scsi::callbacks::host_reset::<$t>(sc) }
        }

        #[no_mangle]
        extern "C" fn rvirtio_scsi_rs_eh_timed_out(
            sc: *mut $crate::scsi::bindings::scsi_cmnd,
        ) -> ::core::ffi::c_int {
            // SAFETY: As above, as `eh_timed_out`.
            unsafe { $crate::scsi::callbacks::timed_out::<$t>(sc) }
        }
    };
}
