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
    /// The device is healthy: wait more.
    Wait,
    /// The device is healthy and this is the request's first expiry: notify
    /// its queue again (a lost notification from the driver costs one
    /// timeout, not a reset; the spec allows spurious notifications), and
    /// wait.
    Renotify,
    /// Reset the device for this reason (the request stays untouched until
    /// the reset takes it back).
    Reset(Reason),
}

/// What a timeout found out, after the harvest, about a request the device
/// still holds and about its queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overdue {
    /// The request's queue is broken (the virtio core saw a used entry it
    /// could not accept): only a reset mends it.
    pub queue_broken: bool,
    /// This is the request's first expiry since it was sent.
    pub first: bool,
    /// How long (jiffies) the request's queue has completed nothing while
    /// the request was overdue: counted from its first expiry, and from 0
    /// again whenever the queue completed something between two expiries.
    pub stalled: u64,
    /// The stall policy: reset a healthy device once a request has been
    /// stalled this long (jiffies); `None`: never.
    pub stall_limit: Option<u64>,
}

/// Decides a timeout of a request the harvest did not find completed,
/// given the device's status health and, for a driver that looks at its
/// queues, what the timeout found out about the request (`overdue`).
/// NEEDS_RESET is checked before DRIVER_OK, and both before the queue. A
/// healthy device is reset for a stall only under the stall policy, and
/// only once the request's queue made no progress for that long: a slow
/// device that makes progress is never reset.
pub fn timeout_verdict(health: Health, overdue: Option<&Overdue>) -> TimeoutVerdict {
    match health {
        Health::NeedsReset => TimeoutVerdict::Reset(Reason::NeedsReset),
        Health::NotReady => TimeoutVerdict::Reset(Reason::NotReady),
        Health::Live => match overdue {
            None => TimeoutVerdict::Wait,
            Some(o) if o.queue_broken => TimeoutVerdict::Reset(Reason::BrokenQueue),
            Some(o) if o.first => TimeoutVerdict::Renotify,
            Some(o) => match o.stall_limit {
                Some(limit) if o.stalled >= limit => TimeoutVerdict::Reset(Reason::Stalled),
                _ => TimeoutVerdict::Wait,
            },
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
