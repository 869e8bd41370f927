// SPDX-License-Identifier: GPL-2.0

//! The recovery engine's protocol: what runs when, and in which state, on a
//! timeout, in the reset work, at system sleep and at remove.
//!
//! Pure logic over two traits: [`Steps`] (the recovery lock, the reset work
//! item, the counters) and [`DeviceSteps`] (the device and the driver's
//! hooks). The kernel engine (`engine.rs`) implements them with the virtio
//! device and the driver; the host tests implement them with a mock driver
//! that records every step and checks the state it ran in.
//!
//! The rules it keeps:
//!
//! - The reset work is queued only under the recovery lock, on the
//!   Live → Resetting edge ([`schedule`]): "Resetting" always means "the
//!   work is queued or running", and it is never queued twice.
//! - The work touches the device only after the state machine said so
//!   ([`Machine::reset_started`]), and remove and sleep *flush* the work (a
//!   queued one runs and finds it has nothing to do; a running one
//!   finishes): neither cancels it.
//! - A reset: stop submissions, harvest what the device returned, reset it,
//!   take back everything it held (requeued, or failed when giving up),
//!   delete the queues, then renegotiate the features, bring the queues up
//!   again and set DRIVER_OK; submissions start again; a device that did
//!   not come back is given up only after that, so that the failed
//!   requests can drain.

// pub for the host test crate, which builds this file too.
#![cfg_attr(any(rvirtio_blk, rvirtio_scsi), expect(unreachable_pub))]

use super::machine::{Finish, Machine, Reason, Start, State};
use super::policy::{timeout_verdict, Overdue, TimeoutVerdict};
use super::stats::{bump, Stats};
use crate::virtio::status::health;

/// What the protocol runs on, outside the device: the recovery lock and
/// the reset work item.
pub trait Steps {
    /// The driver's own counters.
    type Extra;
    /// What a failed step reports.
    type Error;
    /// The device, while the engine may use it.
    type Device<'d>: DeviceSteps<Error = Self::Error>;

    /// Runs `f` with the state machine, under the recovery lock, then
    /// publishes the state.
    fn locked<R>(&self, f: impl FnOnce(&mut Machine) -> R) -> R;
    /// Queues the reset work. Only ever called under the recovery lock,
    /// from within [`Self::locked`].
    fn queue_work(&self);
    /// Waits until the reset work queued or running at the call has
    /// finished (`flush_work`): one queued after the call may still be
    /// pending when it returns (see [`settle`]).
    fn flush_work(&self);
    /// Waits for the driver's other work items that recovery or a config
    /// change may have queued (at sleep and at remove).
    fn flush_driver_work(&self);
    /// The time, in the unit of the machine's window (jiffies).
    fn now(&self) -> u64;
    /// The counters.
    fn stats(&self) -> &Stats<Self::Extra>;
    /// Runs `f` with the device, unless it is gone (after remove).
    fn with_device<R>(&self, f: impl FnOnce(&Self::Device<'_>) -> R) -> Option<R>;
}

/// Why [`DeviceSteps::drain`] waits for the requests in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drain {
    /// The system goes to sleep: what is left is requeued for the resume.
    Sleep,
    /// The device is removed: what is left fails.
    Remove,
}

/// What the engine logs.
#[derive(Debug)]
pub enum Msg<'a, E> {
    /// A reset starts, the `n`th of the device.
    Reset(u64, Reason),
    /// A reset starts over the budget: the device is given up.
    OverBudget(u64, Reason),
    /// A reset starts that disables the device while `remove` deletes the
    /// disk: what it holds fails.
    Disable(u64, Reason),
    /// The device is given up.
    GaveUp,
    /// The reset device did not accept its features again.
    RestartFailed(&'a E),
    /// The reset device's queues could not be brought up again.
    BringUpFailed(&'a E),
    /// The queues could not be brought up at resume.
    ResumeFailed(&'a E),
    /// Requests were still in flight after the bounded wait.
    StillInFlight(Drain),
    /// The device is gone (off its bus, or not answering): it was not
    /// reset, and what it held fails.
    Gone,
    /// The system woke up without the device's `restore` (the virtio core
    /// failed to bring it back first).
    NotRestored,
}

/// The device and the driver's hooks, as the protocol uses them.
pub trait DeviceSteps {
    /// Proof of a reset, which the queues are retired into.
    type Reset;
    /// A reset device without queues.
    type NoQueues;
    /// What a failed step reports.
    type Error;

    /// The device status byte.
    fn status(&self) -> u8;
    /// Logs `msg` against the device.
    fn log(&self, msg: Msg<'_, Self::Error>);
    /// Hook: no request reaches the device's queues any more, and no
    /// submission is in progress.
    fn quiesce(&self);
    /// Hook: submissions start again; requests given back for requeueing
    /// are dispatched.
    fn unquiesce(&self);
    /// Hook: stops new requests, waits for a bounded time for those in
    /// flight to end, and quiesces as [`Self::quiesce`] does; false if some
    /// did not end. Nothing of the wait outlives the call: no queue stays
    /// frozen (the reset must not run inside a freeze).
    fn drain_and_quiesce(&self, why: Drain) -> bool;
    /// Fault injection: holds the reset, quiesced, before it touches the
    /// device.
    fn pause(&self);
    /// Hook: completes what the device has returned, with its callbacks
    /// off.
    fn harvest(&self);
    /// Resets the device, or finds it gone and stops it instead.
    fn reset(&self) -> Self::Reset;
    /// Whether the device does not answer now (one look, no reset).
    fn looks_gone(&self) -> bool;
    /// Whether [`Self::reset`] found the device gone: it will never serve
    /// a request again, and is not reset (resetting it would wait for
    /// ever).
    fn gone(&self, reset: &Self::Reset) -> bool;
    /// Hook: takes back every buffer the reset device held (requests are
    /// requeued, or failed if `give_up`) and retires every queue.
    fn take_back(&self, reset: &mut Self::Reset, give_up: bool);
    /// Deletes the retired queues; `None` (logged) if that failed.
    fn delete_queues(&self, reset: Self::Reset) -> Option<Self::NoQueues>;
    /// Renegotiates the features the device had.
    fn restart(&self, device: Self::NoQueues) -> Result<(), Self::Error>;
    /// Hook: creates the queues again and restores the configuration the
    /// user chose, before DRIVER_OK.
    fn bring_up(&self) -> Result<(), Self::Error>;
    /// Sets DRIVER_OK.
    fn ready(&self);
    /// Hook: after DRIVER_OK, makes the queues reachable (nothing reached
    /// them before it), and posts again the buffers the device fills on its
    /// own, such as event buffers.
    fn publish(&self);
    /// Hook: gives the device up (the disk is dead, the LUNs go offline).
    fn give_up(&self);
}

/// Asks for a reset for `why`: queues the reset work, under the lock,
/// unless a reset is pending already or the device is dead, asleep or
/// going away. Any context.
pub fn schedule<S: Steps>(s: &S, why: Reason) {
    s.locked(|m| {
        if m.request_reset(why) {
            s.queue_work();
        }
    });
}

/// What the harvest at a timeout found out about the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Harvest {
    /// The device had returned it without an interrupt (a lost
    /// interrupt): it was completed now.
    Returned,
    #[cfg_attr(rvirtio_scsi, expect(dead_code, reason = "only rvirtio_blk uses it"))]
    /// It had ended already: an interrupt or a poll completed it between
    /// the timer's expiry and the harvest.
    Ended,
    /// The device still holds it.
    Held,
}

/// What became of a request whose timer expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// The device had returned it (a lost interrupt): it was completed.
    Returned,
    /// It had ended already, before its timeout handler looked.
    Ended,
    /// A reset is pending or running, or the device is dead, asleep or
    /// going away: whatever comes next takes the request back.
    Pending,
    /// The device is broken, or the request stalled longer than the stall
    /// policy allows: a reset was asked for.
    Resetting,
    /// The device is healthy and the request may still come back: wait.
    /// `stalled` is how long (jiffies) its queue has made no progress (0 at
    /// a first expiry, when the queue was notified again).
    Healthy {
        /// See [`Overdue::stalled`].
        stalled: u64,
    },
}

/// A request's timer expired. `harvest` completes what its queue returned
/// and says what became of the request. For a request the device still
/// holds, the device's health decides, NEEDS_RESET before DRIVER_OK, then
/// what `overdue` finds out about the request and its queue (called after
/// the harvest, whose completions are progress): a broken queue is reset, a
/// first expiry notifies the queue again (`renotify`, counted), and a stall
/// is reset only under the stall policy.
pub fn timed_out<S: Steps>(
    s: &S,
    harvest: impl FnOnce() -> Harvest,
    overdue: impl FnOnce() -> Option<Overdue>,
    renotify: impl FnOnce(),
) -> Expiry {
    bump(&s.stats().timeouts);
    match harvest() {
        Harvest::Returned => {
            bump(&s.stats().lost_interrupts);
            return Expiry::Returned;
        }
        Harvest::Ended => return Expiry::Ended,
        Harvest::Held => {}
    }
    // While `remove` deletes the disk it waits for this request: the
    // device is renotified at a first expiry as always, but after that it
    // is disabled (reset, what it holds fails) as soon as the request's
    // queue made no progress between two expiries, rather than waited for.
    let removing = match s.locked(|m| m.state()) {
        State::Live => false,
        State::Removing => true,
        _ => return Expiry::Pending,
    };
    let Some(status) = s.with_device(|d| d.status()) else {
        return Expiry::Pending;
    };
    let overdue = overdue().map(|o| {
        if removing {
            Overdue {
                stall_limit: Some(1),
                ..o
            }
        } else {
            o
        }
    });
    match timeout_verdict(health(status), overdue.as_ref()) {
        TimeoutVerdict::Reset(why) => {
            schedule(
                s,
                if removing && why == Reason::Stalled {
                    Reason::Removing
                } else {
                    why
                },
            );
            Expiry::Resetting
        }
        TimeoutVerdict::Renotify => {
            renotify();
            bump(&s.stats().renotified);
            Expiry::Healthy { stalled: 0 }
        }
        TimeoutVerdict::Wait => Expiry::Healthy {
            stalled: overdue.map_or(0, |o| o.stalled),
        },
    }
}

/// Why the device needs a reset now, if it does: NEEDS_RESET, then a lost
/// DRIVER_OK.
pub fn broken<S: Steps>(s: &S) -> Option<Reason> {
    let status = s.with_device(|d| d.status())?;
    match timeout_verdict(health(status), None) {
        TimeoutVerdict::Reset(why) => Some(why),
        TimeoutVerdict::Wait | TimeoutVerdict::Renotify => None,
    }
}

/// Asks for a reset for `why` and waits for it to finish (the one asked
/// for, or the one that was already pending); another may have been asked
/// for meanwhile ([`settle`] waits for those too).
pub fn reset_and_wait<S: Steps>(s: &S, why: Reason) {
    schedule(s, why);
    s.flush_work();
}

/// Waits until no reset is pending or running, and no new one was asked for
/// meanwhile; returns the state then: not Resetting or Disabling, unless
/// resets kept being asked for through [`SETTLE_ROUNDS`] waits (the budget
/// normally gives such a device up well before).
pub fn settle<S: Steps>(s: &S) -> State {
    let mut state = State::Live;
    for _ in 0..SETTLE_ROUNDS {
        s.flush_work();
        state = s.locked(|m| m.state());
        if !matches!(state, State::Resetting(_) | State::Disabling(_)) {
            break;
        }
    }
    state
}

/// How many resets [`settle`] waits for at most, one after the other.
pub const SETTLE_ROUNDS: usize = super::machine::MAX_BUDGET + 2;

/// The reset work: resets the device and brings it back, or gives it up.
pub fn reset_work<S: Steps>(s: &S) {
    let start = s.locked(|m| m.reset_started(s.now()));
    let (why, give_up) = match start {
        Start::Proceed(why) => (why, false),
        Start::GiveUp(why) | Start::Disable(why) => (why, true),
        Start::Abort => return,
    };
    let ran = s.with_device(|d| {
        let n = bump(&s.stats().resets);
        d.log(match start {
            Start::GiveUp(_) => Msg::OverBudget(n, why),
            Start::Disable(_) => Msg::Disable(n, why),
            _ => Msg::Reset(n, why),
        });
        d.quiesce();
        d.pause();
        let device = take_back(d, give_up);
        let finish = match device {
            TakenBack::Gone => s.locked(|m| {
                m.set_gone();
                if give_up {
                    Finish::GaveUp
                } else {
                    m.reset_finished(false)
                }
            }),
            _ if give_up => Finish::GaveUp,
            TakenBack::Reset(device) => {
                let ok = bring_back(d, device);
                s.locked(|m| m.reset_finished(ok))
            }
            TakenBack::Failed => s.locked(|m| m.reset_finished(false)),
        };
        // Submissions start again before anyone hears that the device is
        // given up: a dead disk reaches the filesystem, which may wait for
        // I/O that only running queues can fail.
        d.unquiesce();
        if finish == Finish::GaveUp {
            give_up_device(s, d);
        }
    });
    if ran.is_none() {
        // The device is gone: remove owns it.
        s.locked(|m| m.reset_finished(false));
    }
}

/// What [`take_back`] left.
pub enum TakenBack<Q> {
    /// The device is reset, without queues.
    Reset(Q),
    /// The device is gone (logged): it was not reset, and what it held
    /// failed, as no device will serve it.
    Gone,
    /// Deleting the queues failed (logged).
    Failed,
}

/// Harvests, resets the device (or finds it gone), takes back what it held
/// and deletes the queues.
pub fn take_back<D: DeviceSteps>(d: &D, give_up: bool) -> TakenBack<D::NoQueues> {
    d.harvest();
    let mut reset = d.reset();
    let gone = d.gone(&reset);
    if gone {
        d.log(Msg::Gone);
    }
    d.take_back(&mut reset, give_up || gone);
    match d.delete_queues(reset) {
        _ if gone => TakenBack::Gone,
        Some(device) => TakenBack::Reset(device),
        None => TakenBack::Failed,
    }
}

/// Brings a reset device without queues back: features, queues, DRIVER_OK.
fn bring_back<D: DeviceSteps>(d: &D, device: D::NoQueues) -> bool {
    if let Err(e) = d.restart(device) {
        d.log(Msg::RestartFailed(&e));
        return false;
    }
    match bring_up(d) {
        Ok(()) => true,
        Err(e) => {
            d.log(Msg::BringUpFailed(&e));
            false
        }
    }
}

/// Creates the queues of a device at FEATURES_OK, then DRIVER_OK.
fn bring_up<D: DeviceSteps>(d: &D) -> Result<(), D::Error> {
    d.bring_up()?;
    d.ready();
    d.publish();
    Ok(())
}

fn give_up_device<S: Steps, D: DeviceSteps>(s: &S, d: &D) {
    bump(&s.stats().give_ups);
    d.log(Msg::GaveUp);
    d.give_up();
}

/// The system goes to sleep: the first half of a reset. The requests in
/// flight get a bounded time to end; the device is then reset, what it
/// still holds is requeued for after the resume, and its queues are
/// deleted. A dead device needs nothing. False if the device is gone: the
/// sleep must be refused, as the virtio core's reset at resume would wait
/// for it for ever (the system then wakes at once, and [`sleep_done`]
/// gives the device up if this freeze found it gone).
pub fn freeze<S: Steps>(s: &S) -> bool {
    let freeze = s.locked(|m| m.suspend());
    // A queued reset now does nothing; a running one finishes first, also
    // one that is giving the device up (Dead already): nothing may touch
    // the device once the PM core takes over.
    s.flush_work();
    s.flush_driver_work();
    if s.locked(|m| m.is_gone()) {
        return false;
    }
    if !freeze || s.locked(|m| m.state()) != State::Suspended {
        // The device is dead (maybe given up by the reset that ran just
        // now, which has finished): it needs nothing more, unless it went
        // away since it was given up.
        let gone = s.with_device(|d| d.looks_gone()).unwrap_or(false);
        if gone {
            s.locked(Machine::set_gone);
        }
        return !gone;
    }
    bump(&s.stats().suspends);
    s.with_device(|d| {
        // Submissions stay stopped until the restore, or until the end of
        // the sleep transition if there is none.
        let taken = stop_and_take_back(d, Drain::Sleep);
        if matches!(taken, TakenBack::Gone) {
            s.locked(Machine::set_gone);
            return false;
        }
        true
    })
    .unwrap_or(true)
}

/// A PCI function-level reset of the device is about to happen: the first
/// half of a reset, as [`freeze`]. A device found gone is given up now, as
/// [`sleep_done`] would, and false returned: the caller refuses the
/// prepare, so that virtio-pci leaves the function enabled and never calls
/// [`reset_done`], whose reset of the device would wait for ever for a
/// status that reads all ones (the PCI core resets the function anyway).
pub fn reset_prepare<S: Steps>(s: &S) -> bool {
    if freeze(s) {
        return true;
    }
    give_up_stopped(s, false);
    false
}

/// The function-level reset is over, and the virtio core has reset the
/// device and negotiated its features again: the second half, as
/// [`restore`] then [`sleep_done`].
///
/// A device that [`reset_prepare`] did not stop (the driver was bound to it
/// between the two hooks, which the PCI core calls under the function's
/// lock, not the device's) was reset under live queues: a reset (the work
/// item, waited for here) takes back what it held and brings it up again,
/// DRIVER_OK included, before the virtio core would set DRIVER_OK on it
/// without queues. A reset that was already running may have begun before
/// the core's reset of the device, so it is waited for first ([`settle`]),
/// and the new one starts after the core's. (It counts against the reset
/// budget, as any reset the device did not ask for.)
pub fn reset_done<S: Steps>(s: &S) -> Result<(), S::Error> {
    if s.locked(|m| m.state()) == State::Suspended {
        let result = restore(s);
        sleep_done(s);
        return result;
    }
    settle(s);
    reset_and_wait(s, Reason::NotReady);
    Ok(())
}

/// Lets the requests in flight end for a bounded time, stops submissions,
/// resets the device and takes back what it still holds: requeued for
/// after a sleep, failed at removal.
///
/// The drain ends before the reset, as in the C drivers' freeze: the queue
/// stays quiesced, so nothing new reaches the device, and the reset does
/// not run inside a queue freeze. (On 7.3 lockdep counts a freeze as a
/// lock that memory reclaim may wait for, and a PCI device's reset takes
/// the MSI domain's mutex, under which memory is allocated.)
fn stop_and_take_back<D: DeviceSteps>(d: &D, why: Drain) -> TakenBack<D::NoQueues> {
    if !d.drain_and_quiesce(why) {
        d.log(Msg::StillInFlight(why));
    }
    take_back(d, why == Drain::Remove)
}

/// The system woke up, and the virtio core has reset the device and
/// negotiated its features: the second half of a reset. A device that does
/// not come back is given up.
pub fn restore<S: Steps>(s: &S) -> Result<(), S::Error> {
    if s.locked(|m| m.state()) != State::Suspended {
        return Ok(());
    }
    s.with_device(|d| {
        let result = bring_up(d);
        s.locked(|m| m.resume(result.is_ok()));
        d.unquiesce();
        if let Err(e) = &result {
            d.log(Msg::ResumeFailed(e));
            give_up_device(s, d);
        }
        result
    })
    .unwrap_or(Ok(()))
}

/// A system sleep transition is over: every device has resumed. A device
/// still asleep was never restored (the virtio core failed to bring it back
/// before calling `restore`: it did not accept its features again, or it is
/// gone): its submissions are still stopped and it has no queues. It is
/// given up now, so that what waits for it fails instead of waiting for
/// ever.
pub fn sleep_done<S: Steps>(s: &S) {
    give_up_stopped(s, true);
}

/// Gives up a device still stopped (Suspended) by a sleep or an FLR's
/// prepare: it is unquiesced, so that what waits for it fails, and Dead.
/// `not_restored` logs that its restore never ran.
fn give_up_stopped<S: Steps>(s: &S, not_restored: bool) {
    if !s.locked(|m| m.resume(false)) {
        return;
    }
    s.with_device(|d| {
        if not_restored {
            d.log(Msg::NotRestored);
        }
        d.unquiesce();
        give_up_device(s, d);
    });
}

/// The device is being removed. Recovery stops (no reset starts; one that
/// is pending still runs, and is waited for), then `delete_disk` deletes
/// the disk with the queues live, so that what the page cache and the
/// filesystem still have to write reaches the device. Meanwhile a request
/// that times out, or a device that breaks, disables the device (reset,
/// and what it held fails) instead of being waited for, so removal never
/// waits unboundedly. Then the device is reset and anything it still held
/// fails.
pub fn remove<S: Steps>(s: &S, delete_disk: impl FnOnce()) {
    if s.locked(|m| m.remove()) == State::Suspended {
        // The device's `restore` never ran, and neither did `sleep_done`
        // (the system is still waking up): submissions are still stopped,
        // and the device has no queues. Give it up, so that deleting the
        // disk fails what it writes instead of waiting for ever.
        s.with_device(|d| {
            d.unquiesce();
            give_up_device(s, d);
        });
    }
    // A pending reset runs and brings the device back (Removing), or gives
    // it up (Dead).
    s.flush_work();
    s.flush_driver_work();
    delete_disk();
    s.locked(|m| m.deleting());
    // A disabling that was queued or running finishes.
    s.flush_work();
    s.flush_driver_work();
    s.with_device(|d| {
        stop_and_take_back(d, Drain::Remove);
        // What is left, or new, fails now: the device has no queues.
        d.unquiesce();
    });
}
