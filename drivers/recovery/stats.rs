// SPDX-License-Identifier: GPL-2.0

//! The counters every recovering device keeps, and the fault-injection
//! knobs tests turn, as debugfs shows them. Pure: atomics only.

// pub for the host test crate, which builds this file too.
#![cfg_attr(any(rvirtio_blk, rvirtio_scsi), expect(unreachable_pub))]

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// A device's recovery counters and fault-injection knobs, with the
/// driver's own counters in `extra`.
#[derive(Default)]
pub struct Stats<X = ()> {
    /// Request timeouts seen.
    pub timeouts: AtomicU64,
    /// Timeouts whose request the device had returned without an interrupt.
    pub lost_interrupts: AtomicU64,
    /// First expiries of a request on a healthy device, at which its queue
    /// was notified again (a lost notification from the driver).
    pub renotified: AtomicU64,
    /// Resets started (including the one that gave up).
    pub resets: AtomicU64,
    /// Requests the device returned while it was being reset: completed
    /// with its answer, as an interrupt would have.
    pub reset_harvested: AtomicU64,
    /// Requests a reset took back and sent again.
    pub requeued: AtomicU64,
    /// Requests a reset took back and failed.
    pub failed: AtomicU64,
    /// Times the device was given up.
    pub give_ups: AtomicU64,
    /// Requests completed by polling.
    pub polled: AtomicU64,
    /// System sleeps the device was frozen for.
    pub suspends: AtomicU64,
    /// Bring-ups (after a reset or a sleep) at which a queue already held
    /// a buffer before DRIVER_OK: must stay 0.
    pub early_buffers: AtomicU64,
    /// The recovery state: 0 live, 1 resetting, 2 dead, 3 deleting,
    /// 4 suspended ([`super::machine::State::code`]).
    pub state: AtomicU32,
    /// Fault injection.
    pub knobs: Knobs,
    /// The driver's own counters.
    pub extra: X,
}

/// Fault-injection knobs: each a count of shots, written through debugfs
/// and used up as they fire; inert unless the module was loaded with
/// `fault_inject=1`.
#[derive(Default)]
pub struct Knobs {
    /// Drop the next N request-queue interrupts (a lost interrupt).
    pub drop_irqs: AtomicU32,
    /// Send the next N requests malformed.
    pub inject_malformed: AtomicU32,
    /// Reset the device at the next N requests.
    pub inject_reset: AtomicU32,
    /// Hold every reset this long (ms) before it touches the device.
    pub reset_delay_ms: AtomicU32,
    /// At the next N timeouts, run the queue's interrupt handler just
    /// before the timeout's harvest: the race in which an interrupt
    /// completes the expired request between blk-mq's expiry check and the
    /// harvest.
    pub irq_race: AtomicU32,
    /// Fail the next N restores after a system sleep before they do
    /// anything: what the driver sees when the virtio core cannot bring
    /// the device back (it refuses its features again) and never calls
    /// `restore`.
    pub lose_restore: AtomicU32,
    /// Not a count: rvirtio_scsi busy-waits this long (ms) between finding
    /// a command's queue gone and reading the recovery state, so that a
    /// reset can finish in between.
    pub noqueue_delay_ms: AtomicU32,
    /// The next N resets ask for another reset as they end, before whoever
    /// waited for them looks at the state (NEEDS_RESET set again at once).
    pub reset_again: AtomicU32,
    /// rvirtio_scsi: take the answers to the next N commands as claiming
    /// 1000 sense bytes (more than the response holds).
    pub inject_sense_len: AtomicU32,
    /// Not a count: hold every bring-up this long (ms, at most 1000)
    /// between creating the queues and DRIVER_OK, while submissions, error
    /// handling and events go on.
    pub ready_delay_ms: AtomicU32,
    /// rvirtio_scsi: take the next N task management answers as rejected
    /// (the handler fails, and the midlayer's error handler escalates).
    pub reject_tmf: AtomicU32,
}

/// Adds one to `counter`.
pub fn bump(counter: &AtomicU64) -> u64 {
    counter.fetch_add(1, Ordering::Relaxed) + 1
}

/// Adds `n` to `counter`.
pub fn add(counter: &AtomicU64, n: u32) {
    if n != 0 {
        counter.fetch_add(u64::from(n), Ordering::Relaxed);
    }
}

/// Takes a knob's next shot, if fault injection is `enabled`: true if one
/// was left.
pub fn take_shot(enabled: bool, knob: &AtomicU32) -> bool {
    enabled
        && knob
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
}
