// SPDX-License-Identifier: GPL-2.0

//! What recovery decides about one request: the timeout verdict and what
//! becomes of a request a reset took back. Pure logic, host-tested.

// pub for the host test crate, which builds this file too.
#![cfg_attr(any(rvirtio_blk, rvirtio_scsi), expect(unreachable_pub))]

use super::machine::Reason;
use crate::virtio::status::Health;

/// What a timeout handler does about a request the device still owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutVerdict {
    /// The device is healthy and the request is not yet overdue: wait more.
    Wait,
    /// Reset the device for this reason (the request stays untouched until
    /// the reset takes it back).
    Reset(Reason),
}

/// Decides a timeout of a request the harvest did not find completed,
/// given the device's status health and, for a driver that escalates a
/// stall to a reset, how many consecutive times this request expired and
/// after how many it resets (`stall`). NEEDS_RESET is checked before
/// DRIVER_OK.
pub fn timeout_verdict(health: Health, stall: Option<(u32, u32)>) -> TimeoutVerdict {
    match health {
        Health::NeedsReset => TimeoutVerdict::Reset(Reason::NeedsReset),
        Health::NotReady => TimeoutVerdict::Reset(Reason::NotReady),
        Health::Live => match stall {
            Some((expiries, max)) if expiries >= max => TimeoutVerdict::Reset(Reason::Stalled),
            _ => TimeoutVerdict::Wait,
        },
    }
}

/// What the reset does with a request it took back from the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reclaim {
    /// Send it again once the device is back.
    Requeue,
    /// It has been through too many resets, or the device is given up:
    /// fail it.
    Fail,
}

#[cfg_attr(rvirtio_scsi, expect(dead_code, reason = "only rvirtio_blk uses it"))]
/// Requeue a reclaimed request unless the device is given up or the
/// request was already requeued `budget` times.
pub fn reclaim(give_up: bool, requeues: u32, budget: u32) -> Reclaim {
    if !give_up && requeues < budget {
        Reclaim::Requeue
    } else {
        Reclaim::Fail
    }
}
