// SPDX-License-Identifier: GPL-2.0

//! The recovery engine both rvirtio drivers share. It sits between the
//! virtio layer and the drivers, and keeps rvirtio's rules for a device
//! that stops answering, once for both:
//!
//! 1. *Harvest first*: a timeout first takes what the device returned.
//! 2. *NEEDS_RESET before DRIVER_OK*: the device's health decides.
//! 3. *Never abandon a request the device owns*: only the used ring or a
//!    reset gives it back (the virtio layer's types keep this).
//! 4. *Recover by reset*: one work item per device, guarded by the state
//!    machine against sleep and remove, within a budget.
//! 5. *Ordering*: what a reset took back is sent again in full, or fails.
//!
//! - [`machine`]: the state machine (pure).
//! - [`policy`]: the timeout verdict, and what becomes of a request a reset
//!   took back (pure).
//! - [`protocol`]: which step runs when, in which state: the timeout, the
//!   reset work, sleep, remove (pure, over traits the engine implements).
//! - [`stats`]: the counters and fault-injection knobs (pure).
//! - [`Recovery`] and [`Hooks`]: the engine in the kernel, and what a driver
//!   plugs into it: quiesce, harvest, take back, bring up, give up.
//! - [`Slots`]: a device's request virtqueues.
//! - `params.c`: the parameters every module has (`reset_budget`,
//!   `reset_window`, `fault_inject`).

mod engine;
pub(crate) mod machine;
mod params;
pub(crate) mod policy;
pub(crate) mod protocol;
mod slots;
pub(crate) mod stats;

pub(crate) use engine::{HasRecovery, Hooks, ModuleContext, Recovery, RESET_WORK};
pub(crate) use machine::Reason;
pub(crate) use machine::State;
#[cfg_attr(
    rvirtio_scsi,
    expect(unused_imports, reason = "only rvirtio_blk uses it")
)]
pub(crate) use protocol::Drain;
pub(crate) use protocol::Expiry;
#[cfg_attr(
    rvirtio_blk,
    expect(unused_imports, reason = "only rvirtio_scsi uses it")
)]
pub(crate) use slots::drain;
#[cfg_attr(
    rvirtio_blk,
    expect(unused_imports, reason = "only rvirtio_scsi uses it")
)]
pub(crate) use slots::Staged;
pub(crate) use slots::{Refused, Slots};
pub(crate) use stats::Stats;
