// SPDX-License-Identifier: GPL-2.0

//! SCSI glue: a small safe layer over the SCSI midlayer, which has no Rust
//! abstraction in 6.12. It knows nothing about virtio.
//!
//! - [`HostOps`]: what a low-level driver implements: `queuecommand`,
//!   `commit_rqs`, `poll`, `map_queues` and `timed_out`, with per-host
//!   [`HostOps::HostData`] and per-command [`HostOps::CmdData`].
//! - [`OwnedCmd`]: the driver's right to finish one command (`scsi_done`).
//!   It is unique, it implements [`crate::lib::foreign::Foreign`] so that a
//!   transport can hold it while the device owns the command, and dropping
//!   it fails the command rather than forgetting it.
//! - [`Cmd`]: a shared view of a command (CDB, address, data buffer).
//! - [`Host`]: a `Scsi_Host` from allocation to `scsi_remove_host`.
//! - Error handling: [`HostOps::timed_out`], then the abort, LUN reset and
//!   host reset handlers. The midlayer reuses (or retries) a command as soon
//!   as a handler says [`EhResult::Success`], so a driver says so only once
//!   its device has given the command back ([`Cmd::is_held`]).
//!
//! The host template is C (`shim.c`); [`Host::new`] fills in its callbacks
//! from the driver's [`HostOps`] type, the optional ones only when the
//! driver provides them (`#[vtable]`). The midlayer's structs stay opaque to
//! Rust (bindgen gives their size only): field accesses are shim calls, but
//! for the few fields the command path reads and writes per command, which
//! `cmd.rs` reaches at the offsets `helper.h` gives, each checked at build
//! time against the type it is read as.

pub(crate) mod bindings;
mod cmd;
mod host;

pub(crate) use cmd::{Cmd, CmdInfo, Direction, OwnedCmd, ResetCmd};
pub(crate) use host::{Host, HostConfig, HostCtl, HostRef};

use crate::lib::queuemap::QueueMap;
use kernel::error::VTABLE_DEFAULT_ERROR;
use kernel::prelude::*;
use kernel::sync::ArcBorrow;

/// What the timeout handler decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimedOut {
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
pub(crate) enum EhResult {
    /// Done, and the device holds none of the commands concerned: the
    /// midlayer may retry or finish them.
    Success,
    /// Not done: the midlayer escalates (and, past the host reset, takes the
    /// LUNs offline).
    Failed,
}

/// A SCSI low-level driver. Implement it with `#[vtable]`: the optional
/// callbacks are installed in the host template only when the driver
/// provides them.
#[vtable]
pub(crate) trait HostOps: Sized + Send + Sync + 'static {
    /// Per-host data the callbacks see.
    type HostData: Send + Sync + 'static;
    /// Per-command data, in the command's private area. It is the default
    /// once, when the midlayer allocates the request; each command that
    /// uses the request then finds it as the previous one left it, so
    /// `queuecommand` sets what it relies on. The midlayer reuses the area
    /// without dropping it, so the type must not need dropping, and the area
    /// is only 8-byte aligned (both checked at build time).
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

    /// Polls poll queue `hwq`; returns how many commands it finished
    /// (optional; a driver without it has no poll queues).
    fn poll(_host: ArcBorrow<'_, Self::HostData>, _hwq: u32) -> u32 {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Maps CPUs to the interrupt-driven hardware queues (optional; they are
    /// spread evenly without it, as poll queues always are).
    fn map_queues(_host: ArcBorrow<'_, Self::HostData>, _map: &mut QueueMap) {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// A command's timer expired. The device may still own it: the handler
    /// can only look at it (optional: the midlayer's error handling starts
    /// at once without it).
    fn timed_out(_host: ArcBorrow<'_, Self::HostData>, _cmd: &Cmd<Self>) -> TimedOut {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `eh_abort_handler`: abort a command that timed out. May sleep
    /// (optional).
    fn abort(_host: ArcBorrow<'_, Self::HostData>, _cmd: &Cmd<Self>) -> EhResult {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `eh_device_reset_handler`: reset the LUN of `cmd`. May sleep
    /// (optional).
    fn device_reset(_host: ArcBorrow<'_, Self::HostData>, _cmd: &ResetCmd<Self>) -> EhResult {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `eh_host_reset_handler`: reset the whole host. May sleep. After a
    /// failure the midlayer takes the LUNs offline and finishes their
    /// commands, so the device must hold none of them even then (optional).
    fn host_reset(_host: ArcBorrow<'_, Self::HostData>) -> EhResult {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }
}
