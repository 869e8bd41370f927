// SPDX-License-Identifier: GPL-2.0

//! Tests of drivers/lib/recovery.rs: the reset state machine, against every
//! interleaving of timeouts, config changes, reset work and remove that a
//! model of the kernel's execution can produce.

use proptest::prelude::*;
use rvirtio_host_tests::recovery::*;
use rvirtio_host_tests::status::Health;

#[test]
fn a_reset_round_trip() {
    let mut r = Recovery::new(3, 100);
    assert!(r.request_reset(Reason::NeedsReset));
    assert!(!r.request_reset(Reason::Stalled), "never queued twice");
    assert_eq!(r.reset_started(10), Start::Proceed(Reason::NeedsReset));
    assert_eq!(r.reset_finished(true), Finish::Live);
    assert!(r.is_live());
}

#[test]
fn remove_before_the_work_runs_aborts_it() {
    let mut r = Recovery::new(3, 100);
    assert!(r.request_reset(Reason::Stalled));
    assert_eq!(r.remove(), State::Resetting(Reason::Stalled));
    assert_eq!(r.reset_started(1), Start::Abort);
    assert_eq!(r.state(), State::Deleting);
}

#[test]
fn remove_while_the_work_runs_keeps_deleting() {
    let mut r = Recovery::new(3, 100);
    r.request_reset(Reason::Stalled);
    assert_eq!(r.reset_started(1), Start::Proceed(Reason::Stalled));
    r.remove();
    assert_eq!(r.reset_finished(true), Finish::Deleting);
    assert_eq!(r.state(), State::Deleting);
    assert!(!r.request_reset(Reason::NeedsReset));
}

#[test]
fn failed_reinit_gives_up() {
    let mut r = Recovery::new(3, 100);
    r.request_reset(Reason::NotReady);
    r.reset_started(0);
    assert_eq!(r.reset_finished(false), Finish::GaveUp);
    assert_eq!(r.state(), State::Dead);
    assert!(!r.request_reset(Reason::NeedsReset), "Dead is final");
    assert_eq!(r.remove(), State::Dead);
}

#[test]
fn budget_within_window() {
    let mut r = Recovery::new(2, 100);
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
    let mut r = Recovery::new(2, 100);
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
    let mut r = Recovery::new(0, 100);
    r.request_reset(Reason::NeedsReset);
    assert_eq!(r.reset_started(0), Start::GiveUp(Reason::NeedsReset));
}

#[test]
fn timeout_verdicts() {
    // NEEDS_RESET is decided before DRIVER_OK or the expiry count.
    assert_eq!(
        timeout_verdict(Health::NeedsReset, 0, 5),
        TimeoutVerdict::Reset(Reason::NeedsReset)
    );
    assert_eq!(
        timeout_verdict(Health::NotReady, 0, 5),
        TimeoutVerdict::Reset(Reason::NotReady)
    );
    assert_eq!(timeout_verdict(Health::Live, 4, 5), TimeoutVerdict::Wait);
    assert_eq!(
        timeout_verdict(Health::Live, 5, 5),
        TimeoutVerdict::Reset(Reason::Stalled)
    );
}

#[test]
fn reclaim_budget() {
    assert_eq!(reclaim(0, 3), Reclaim::Requeue);
    assert_eq!(reclaim(2, 3), Reclaim::Requeue);
    assert_eq!(reclaim(3, 3), Reclaim::Fail);
    assert_eq!(reclaim(0, 0), Reclaim::Fail);
}

/// What the kernel can do next, in any order.
#[derive(Clone, Copy, Debug)]
enum Ev {
    /// A timeout or config change asks for a reset.
    Request(u8),
    /// The queued work item starts running.
    WorkStarts,
    /// The running work item finishes, the device came back or not.
    WorkEnds(bool),
    /// remove() begins: it moves the state, then cancels the queued work or
    /// waits for the running one.
    Remove,
    /// Time passes.
    Tick(u8),
    /// System sleep: suspend, then wait for the work item.
    Suspend,
    /// Wake-up, the device came back or not.
    Resume(bool),
}

fn ev() -> impl Strategy<Value = Ev> {
    prop_oneof![
        4 => any::<u8>().prop_map(Ev::Request),
        3 => Just(Ev::WorkStarts),
        3 => any::<bool>().prop_map(Ev::WorkEnds),
        1 => Just(Ev::Remove),
        2 => any::<u8>().prop_map(Ev::Tick),
        1 => Just(Ev::Suspend),
        1 => any::<bool>().prop_map(Ev::Resume),
    ]
}

fn reason(n: u8) -> Reason {
    match n % 4 {
        0 => Reason::NeedsReset,
        1 => Reason::NotReady,
        2 => Reason::Stalled,
        _ => Reason::Injected,
    }
}

/// The work item as the workqueue runs it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Work {
    Idle,
    Queued,
    /// Running and allowed to touch the device.
    Running {
        give_up: bool,
    },
    /// Started but aborted at once: touches nothing.
    Done,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn every_interleaving_is_safe(
        budget in 0usize..6,
        window in 1u64..500,
        events in proptest::collection::vec(ev(), 0..60),
    ) {
        let mut r = Recovery::new(budget, window);
        let mut work = Work::Idle;
        let mut removed = false;
        let mut now = 0u64;
        let mut starts: Vec<u64> = Vec::new();

        for e in events {
            match e {
                Ev::Request(n) => {
                    let queue = r.request_reset(reason(n));
                    if queue {
                        // Never queued twice: the previous one is over.
                        prop_assert!(matches!(work, Work::Idle | Work::Done));
                        prop_assert!(!removed, "no reset is queued after remove");
                        work = Work::Queued;
                    }
                }
                Ev::WorkStarts => {
                    if work == Work::Queued {
                        match r.reset_started(now) {
                            Start::Proceed(_) => {
                                prop_assert!(!removed, "the work never touches a removed device");
                                starts.push(now);
                                work = Work::Running { give_up: false };
                            }
                            Start::GiveUp(_) => {
                                prop_assert!(!removed);
                                prop_assert_eq!(r.state(), State::Dead);
                                work = Work::Running { give_up: true };
                            }
                            Start::Abort => work = Work::Done,
                        }
                    }
                }
                Ev::WorkEnds(ok) => {
                    if let Work::Running { give_up } = work {
                        if !give_up {
                            let f = r.reset_finished(ok);
                            if removed {
                                prop_assert_eq!(f, Finish::Deleting);
                            } else if ok {
                                prop_assert_eq!(f, Finish::Live);
                            } else {
                                prop_assert_eq!(f, Finish::GaveUp);
                            }
                        }
                        work = Work::Done;
                    }
                }
                Ev::Remove => {
                    if !removed {
                        let before = r.remove();
                        removed = true;
                        // remove cancels a queued work item (which then never
                        // runs) or waits for a running one.
                        match work {
                            Work::Queued => {
                                prop_assert!(matches!(before, State::Resetting(_)));
                                work = Work::Done;
                            }
                            Work::Running { give_up } => {
                                if !give_up {
                                    prop_assert_eq!(r.reset_finished(true), Finish::Deleting);
                                }
                                work = Work::Done;
                            }
                            Work::Idle | Work::Done => {}
                        }
                        // After remove returns, nothing runs or is queued.
                        prop_assert!(matches!(work, Work::Idle | Work::Done));
                    }
                }
                Ev::Tick(d) => now += u64::from(d),
                Ev::Suspend => {
                    let was_dead = r.state() == State::Dead;
                    let freeze = r.suspend();
                    if removed || was_dead {
                        prop_assert!(!freeze);
                    }
                    if freeze {
                        // The freeze flushes the work: a queued item aborts,
                        // a running one finishes (here: successfully).
                        match work {
                            Work::Queued => {
                                prop_assert_eq!(r.reset_started(now), Start::Abort);
                                work = Work::Done;
                            }
                            Work::Running { give_up } => {
                                if !give_up {
                                    prop_assert_eq!(r.reset_finished(true), Finish::Live);
                                }
                                work = Work::Done;
                            }
                            Work::Idle | Work::Done => {}
                        }
                        prop_assert_eq!(r.state(), State::Suspended);
                        // Asleep, nothing asks for a reset successfully.
                        prop_assert!(!r.request_reset(Reason::Stalled));
                    }
                }
                Ev::Resume(ok) => {
                    let was = r.state();
                    let thawed = r.resume(ok);
                    prop_assert_eq!(thawed, was == State::Suspended);
                    if thawed {
                        prop_assert_eq!(r.state(), if ok { State::Live } else { State::Dead });
                    } else {
                        prop_assert_eq!(r.state(), was);
                    }
                }
            }

            // Invariants after every step.
            if removed {
                prop_assert_eq!(r.state(), State::Deleting);
            }
            let pending = matches!(work, Work::Queued | Work::Running { give_up: false });
            let busy = matches!(work, Work::Queued | Work::Running { .. });
            if matches!(r.state(), State::Resetting(_)) {
                prop_assert!(pending, "Resetting means the work is queued or running");
            }
            if r.state() == State::Live {
                prop_assert!(!busy, "Live means no work is pending");
            }
            // The budget: no window ever holds more than `budget` resets.
            for (i, &t) in starts.iter().enumerate() {
                let in_window = starts[i..].iter().filter(|&&u| u - t < window).count();
                prop_assert!(in_window <= budget.max(0));
            }
        }
    }
}

#[test]
fn state_codes_are_the_documented_ones() {
    assert_eq!(State::Live.code(), 0);
    assert_eq!(State::Resetting(Reason::Injected).code(), 1);
    assert_eq!(State::Dead.code(), 2);
    assert_eq!(State::Deleting.code(), 3);
    assert_eq!(State::Suspended.code(), 4);
}
