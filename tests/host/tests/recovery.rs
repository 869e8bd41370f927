// SPDX-License-Identifier: GPL-2.0

//! Tests of drivers/recovery/machine.rs and policy.rs: the reset state
//! machine on its own, and the timeout and reclaim decisions. How the
//! engine drives the machine, with the kernel's concurrency, is
//! tests/engine.rs.

use rvirtio_host_tests::recovery::machine::*;
use rvirtio_host_tests::recovery::policy::*;
use rvirtio_host_tests::virtio::status::Health;

#[test]
fn a_reset_round_trip() {
    let mut r = Machine::new(3, 100);
    assert!(r.request_reset(Reason::NeedsReset));
    assert!(!r.request_reset(Reason::Stalled), "never queued twice");
    assert_eq!(r.reset_started(10), Start::Proceed(Reason::NeedsReset));
    assert_eq!(r.reset_finished(true), Finish::Live);
    assert!(r.is_live());
}

#[test]
fn a_reset_pending_at_remove_still_runs() {
    let mut r = Machine::new(3, 100);
    assert!(r.request_reset(Reason::Stalled));
    assert_eq!(r.remove(), State::Resetting(Reason::Stalled));
    assert_eq!(r.reset_started(1), Start::Proceed(Reason::Stalled));
    assert_eq!(r.reset_finished(true), Finish::Live);
    // Back, but removing: no reset starts, a timeout disables.
    assert_eq!(r.state(), State::Removing);
    assert!(!r.is_live());
}

#[test]
fn remove_while_the_work_runs_leaves_removing() {
    let mut r = Machine::new(3, 100);
    r.request_reset(Reason::Stalled);
    assert_eq!(r.reset_started(1), Start::Proceed(Reason::Stalled));
    r.remove();
    assert_eq!(r.reset_finished(true), Finish::Live);
    assert_eq!(r.state(), State::Removing);
    assert_eq!(r.deleting(), State::Removing);
    assert_eq!(r.state(), State::Deleting);
    assert!(!r.request_reset(Reason::NeedsReset), "Deleting is final");
}

#[test]
fn a_reset_while_the_disk_is_deleted_disables_the_device() {
    let mut r = Machine::new(3, 100);
    assert_eq!(r.remove(), State::Live);
    assert_eq!(r.state(), State::Removing);
    assert!(r.request_reset(Reason::Removing));
    assert!(!r.request_reset(Reason::NeedsReset), "never queued twice");
    assert_eq!(r.state(), State::Disabling(Reason::Removing));
    // Not counted against the budget, and final: the device is dead.
    assert_eq!(r.reset_started(1), Start::Disable(Reason::Removing));
    assert_eq!(r.state(), State::Dead);
    assert_eq!(r.recent_resets(), 0);
    assert!(!r.request_reset(Reason::NeedsReset));
    assert_eq!(r.deleting(), State::Dead);
}

#[test]
fn a_device_still_asleep_at_remove_is_given_up() {
    // The virtio core failed before calling restore: remove finds the
    // machine Suspended.
    let mut r = Machine::new(3, 100);
    assert!(r.suspend());
    assert_eq!(r.remove(), State::Suspended);
    assert_eq!(r.state(), State::Dead);
    assert!(!r.request_reset(Reason::NeedsReset));
}

#[test]
fn a_failed_reset_pending_at_remove_leaves_the_device_dead() {
    let mut r = Machine::new(3, 100);
    r.request_reset(Reason::NeedsReset);
    r.remove();
    r.reset_started(1);
    assert_eq!(r.reset_finished(false), Finish::GaveUp);
    assert_eq!(r.state(), State::Dead);
}

#[test]
fn failed_reinit_gives_up() {
    let mut r = Machine::new(3, 100);
    r.request_reset(Reason::NotReady);
    r.reset_started(0);
    assert_eq!(r.reset_finished(false), Finish::GaveUp);
    assert_eq!(r.state(), State::Dead);
    assert!(!r.request_reset(Reason::NeedsReset), "Dead is final");
    assert_eq!(r.remove(), State::Dead);
}

#[test]
fn budget_within_window() {
    let mut r = Machine::new(2, 100);
    for t in [0, 10] {
        assert!(r.request_reset(Reason::Stalled));
        assert_eq!(r.reset_started(t), Start::Proceed(Reason::Stalled));
        assert_eq!(r.reset_finished(true), Finish::Live);
    }
    assert!(r.request_reset(Reason::Stalled));
    assert_eq!(r.reset_started(50), Start::GiveUp(Reason::Stalled));
    assert_eq!(r.state(), State::Dead);
}

#[test]
fn budget_window_slides() {
    let mut r = Machine::new(2, 100);
    for t in [0, 60, 120, 180, 240] {
        assert!(r.request_reset(Reason::Stalled));
        assert_eq!(
            r.reset_started(t),
            Start::Proceed(Reason::Stalled),
            "at {t}"
        );
        assert_eq!(r.reset_finished(true), Finish::Live);
    }
}

#[test]
fn zero_budget_gives_up_at_once() {
    let mut r = Machine::new(0, 100);
    r.request_reset(Reason::NeedsReset);
    assert_eq!(r.reset_started(0), Start::GiveUp(Reason::NeedsReset));
}

fn overdue(first: bool, stalled: u64, limit: Option<u64>) -> Overdue {
    Overdue {
        queue_broken: false,
        first,
        stalled,
        stall_limit: limit,
    }
}

#[test]
fn timeout_verdicts() {
    let stalled = overdue(false, 50, Some(10));
    // NEEDS_RESET is decided before DRIVER_OK, and both before the queue.
    assert_eq!(
        timeout_verdict(Health::NeedsReset, Some(&overdue(true, 0, None))),
        TimeoutVerdict::Reset(Reason::NeedsReset)
    );
    assert_eq!(
        timeout_verdict(Health::NotReady, Some(&overdue(true, 0, None))),
        TimeoutVerdict::Reset(Reason::NotReady)
    );
    // A broken queue is reset at once, at a first expiry too.
    let broken = Overdue {
        queue_broken: true,
        ..overdue(true, 0, None)
    };
    assert_eq!(
        timeout_verdict(Health::Live, Some(&broken)),
        TimeoutVerdict::Reset(Reason::BrokenQueue)
    );
    // A first expiry on a healthy device notifies the queue again, also
    // under the stall policy.
    assert_eq!(
        timeout_verdict(Health::Live, Some(&overdue(true, 0, Some(0)))),
        TimeoutVerdict::Renotify
    );
    // The default policy never resets a healthy device for a stall.
    assert_eq!(
        timeout_verdict(Health::Live, Some(&overdue(false, u64::MAX, None))),
        TimeoutVerdict::Wait
    );
    // Under the policy, only a stall as long as the limit resets.
    assert_eq!(
        timeout_verdict(Health::Live, Some(&overdue(false, 9, Some(10)))),
        TimeoutVerdict::Wait
    );
    assert_eq!(
        timeout_verdict(Health::Live, Some(&stalled)),
        TimeoutVerdict::Reset(Reason::Stalled)
    );
    // Progress between two expiries (stalled 0) is never a stall.
    assert_eq!(
        timeout_verdict(Health::Live, Some(&overdue(false, 0, Some(1)))),
        TimeoutVerdict::Wait
    );
    // Without what a timeout found out (rvirtio_scsi's config changes),
    // only a broken device is reset.
    assert_eq!(timeout_verdict(Health::Live, None), TimeoutVerdict::Wait);
    assert_eq!(
        timeout_verdict(Health::NeedsReset, None),
        TimeoutVerdict::Reset(Reason::NeedsReset)
    );
}

#[test]
fn reclaim_budget() {
    assert_eq!(reclaim(false, 0, 3), Reclaim::Requeue);
    assert_eq!(reclaim(false, 2, 3), Reclaim::Requeue);
    assert_eq!(reclaim(false, 3, 3), Reclaim::Fail);
    assert_eq!(reclaim(false, 0, 0), Reclaim::Fail);
    assert_eq!(reclaim(true, 0, 3), Reclaim::Fail, "giving up fails all");
}

#[test]
fn driver_reasons_are_named() {
    assert_eq!(Reason::Driver("host reset").as_str(), "host reset");
    assert_eq!(
        State::Resetting(Reason::Driver("x")).code(),
        State::Resetting(Reason::Stalled).code()
    );
}

#[test]
fn a_reset_that_fails_after_suspend_began_gives_up() {
    let mut r = Machine::new(3, 100);
    r.request_reset(Reason::Stalled);
    assert_eq!(r.reset_started(0), Start::Proceed(Reason::Stalled));
    assert!(r.suspend(), "the running reset's device is frozen next");
    assert_eq!(r.reset_finished(false), Finish::GaveUp);
    assert_eq!(r.state(), State::Dead);
    assert!(!r.resume(true), "a dead device stays dead across sleep");
    assert_eq!(r.state(), State::Dead);
}

#[test]
fn state_codes_are_the_documented_ones() {
    assert_eq!(State::Live.code(), 0);
    assert_eq!(State::Resetting(Reason::Injected).code(), 1);
    assert_eq!(State::Dead.code(), 2);
    assert_eq!(State::Deleting.code(), 3);
    assert_eq!(State::Suspended.code(), 4);
    assert_eq!(State::Removing.code(), 5);
    assert_eq!(State::Disabling(Reason::Removing).code(), 6);
}
