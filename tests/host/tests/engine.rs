// SPDX-License-Identifier: GPL-2.0

//! The recovery engine's protocol (drivers/recovery/protocol.rs), driven by
//! a mock driver, with the kernel's concurrency modelled as the drivers
//! really have it.
//!
//! Every protocol entry point runs on a thread of its own, as in the
//! kernel: the reset work item (on its workqueue), interrupt-context
//! requesters, a timeout handler, system sleep (freeze, then restore) and
//! remove. A deterministic scheduler lets exactly one of them run at a time
//! and switches between them at every step the protocol takes (every
//! `Steps` and `DeviceSteps` call), in an order a property test chooses.
//! The model keeps what the kernel does:
//!
//! - the work is queued only from within the recovery lock, never while it
//!   is queued, and runs later on its own thread;
//! - `flush_work` blocks until the work is neither queued nor running: a
//!   queued work item still runs (remove and sleep flush, they never
//!   cancel);
//! - a reset may fail at any step, also after suspend began;
//! - the mock device checks the order of what is done to it (reset before
//!   take-back, queues deleted before the features are renegotiated, queues
//!   up before DRIVER_OK, nothing after remove finished).

use proptest::prelude::*;
use rvirtio_host_tests::recovery::machine::{Machine, Reason, State};
use rvirtio_host_tests::recovery::policy::Overdue;
use rvirtio_host_tests::recovery::protocol::{
    self, DeviceSteps, Drain, Expiry, Harvest, Msg, Steps,
};
use rvirtio_host_tests::recovery::stats::Stats;
use rvirtio_host_tests::virtio::status;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

// ---------------------------------------------------------------------------
// The deterministic scheduler.

/// What a thread waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    /// It may run.
    None,
    /// `flush_work`: the work's instance number N (counted by queueings)
    /// has finished, as the kernel's `flush_work` waits for the last
    /// queueing before it was called (a queueing after that may still be
    /// pending when it returns).
    Flushed(u64),
    /// The work thread: the work is queued (or everyone else finished).
    WorkQueued,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Run {
    Ready(Wait),
    Done,
}

/// Which thread runs, chosen at every step from a list of choices.
struct Sched {
    m: Mutex<SchedState>,
    cv: Condvar,
}

struct SchedState {
    current: usize,
    threads: Vec<Run>,
    choices: Vec<u8>,
    pos: usize,
    /// No thread could run: the model deadlocked.
    stuck: bool,
}

/// The mock driver and device: what the protocol's steps change.
struct World {
    sched: Sched,
    machine: Mutex<Machine>,
    in_lock: AtomicBool,
    queued: AtomicBool,
    running: AtomicBool,
    /// Queueings of the work so far; the number of the instance running;
    /// the number of the last one that finished.
    queued_seq: AtomicU64,
    running_seq: AtomicU64,
    finished_seq: AtomicU64,
    remove_done: AtomicBool,
    /// remove has begun (a timeout then disables the device).
    remove_started: AtomicBool,
    /// Between freeze and restore: the PM core owns the device.
    asleep: AtomicBool,
    /// The last step under the device lock was an FLR whose `reset_done`
    /// never came.
    flr_stuck: AtomicBool,
    stats: Stats<()>,
    time: AtomicU64,
    /// What the device answers: status byte, and whether restart,
    /// bring-up and drain succeed.
    status: AtomicU8,
    restart_ok: AtomicBool,
    /// The device is gone (off its bus): its status reads all ones, a
    /// reset finds it gone and does not reset it, and the virtio core
    /// cannot restore it after a sleep.
    gone: AtomicBool,
    bring_up_ok: AtomicBool,
    /// The device: whether it has queues, is at FEATURES_OK and DRIVER_OK.
    dev: Mutex<Dev>,
    /// Every step, with the thread that took it and the state then.
    log: Mutex<Vec<(usize, &'static str, State)>>,
    /// Violations found.
    errors: Mutex<Vec<String>>,
    budget: usize,
    window: u64,
    starts: Mutex<Vec<u64>>,
    /// Each host reset's state right after its reset, and once settled.
    host_resets: Mutex<Vec<(State, State)>>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Dev {
    queues: bool,
    features_ok: bool,
    driver_ok: bool,
    /// The queues are reachable (submissions, events, task management).
    published: bool,
    /// Reset since the queues were created (take-back allowed).
    reset: bool,
    quiesced: u32,
    give_ups: u32,
    /// A reset found it gone.
    found_gone: bool,
}

impl World {
    fn new(budget: usize, window: u64, choices: Vec<u8>, threads: usize) -> Self {
        Self {
            sched: Sched {
                m: Mutex::new(SchedState {
                    current: usize::MAX,
                    threads: vec![Run::Ready(Wait::None); threads],
                    choices,
                    pos: 0,
                    stuck: false,
                }),
                cv: Condvar::new(),
            },
            machine: Mutex::new(Machine::new(budget, window)),
            in_lock: AtomicBool::new(false),
            queued: AtomicBool::new(false),
            running: AtomicBool::new(false),
            queued_seq: AtomicU64::new(0),
            running_seq: AtomicU64::new(0),
            finished_seq: AtomicU64::new(0),
            remove_done: AtomicBool::new(false),
            remove_started: AtomicBool::new(false),
            asleep: AtomicBool::new(false),
            flr_stuck: AtomicBool::new(false),
            stats: Stats::default(),
            time: AtomicU64::new(0),
            status: AtomicU8::new(status::ACKNOWLEDGE | status::DRIVER | status::DRIVER_OK),
            restart_ok: AtomicBool::new(true),
            bring_up_ok: AtomicBool::new(true),
            gone: AtomicBool::new(false),
            dev: Mutex::new(Dev {
                queues: true,
                features_ok: true,
                driver_ok: true,
                published: true,
                ..Dev::default()
            }),
            log: Mutex::new(Vec::new()),
            errors: Mutex::new(Vec::new()),
            budget,
            window,
            starts: Mutex::new(Vec::new()),
            host_resets: Mutex::new(Vec::new()),
        }
    }

    fn error(&self, e: String) {
        self.errors.lock().unwrap().push(e);
    }

    fn state(&self) -> State {
        self.machine.lock().unwrap().state()
    }

    /// Whether a thread waiting for `w` may run now.
    fn satisfied(&self, st: &SchedState, w: Wait) -> bool {
        match w {
            Wait::None => true,
            Wait::Flushed(n) => self.finished_seq.load(Ordering::SeqCst) >= n,
            // The work thread also runs (to exit) once everyone else is done.
            Wait::WorkQueued => {
                self.queued.load(Ordering::SeqCst)
                    || st.threads.iter().skip(1).all(|t| *t == Run::Done)
            }
        }
    }

    /// Chooses the next thread to run; `None` if none can.
    fn choose(&self, st: &mut SchedState) -> Option<usize> {
        let runnable: Vec<usize> = (0..st.threads.len())
            .filter(|&t| matches!(st.threads[t], Run::Ready(w) if self.satisfied(st, w)))
            .collect();
        if runnable.is_empty() {
            return None;
        }
        let c = st.choices.get(st.pos).copied().unwrap_or(0);
        st.pos += 1;
        Some(runnable[usize::from(c) % runnable.len()])
    }

    /// Hands the CPU to the next thread and waits until `me` is chosen
    /// again (with `wait` satisfied).
    fn switch(&self, mut st: MutexGuard<'_, SchedState>, me: usize, wait: Wait) {
        st.threads[me] = Run::Ready(wait);
        match self.choose(&mut st) {
            Some(next) => st.current = next,
            None => {
                st.stuck = true;
                st.current = usize::MAX;
            }
        }
        self.sched.cv.notify_all();
        while st.current != me {
            if st.stuck {
                drop(st);
                panic!("the model deadlocked");
            }
            st = self.sched.cv.wait(st).unwrap();
        }
        st.threads[me] = Run::Ready(Wait::None);
    }

    /// A step of thread `me`: another thread may run first.
    fn step(&self, me: usize, what: &'static str) {
        self.check_invariants();
        let st = self.sched.m.lock().unwrap();
        self.switch(st, me, Wait::None);
        let state = self.state();
        self.log.lock().unwrap().push((me, what, state));
    }

    fn wait_for(&self, me: usize, wait: Wait) {
        let st = self.sched.m.lock().unwrap();
        self.switch(st, me, wait);
    }

    fn finish(&self, me: usize) {
        let mut st = self.sched.m.lock().unwrap();
        st.threads[me] = Run::Done;
        match self.choose(&mut st) {
            Some(next) => st.current = next,
            None => {
                if st.threads.iter().any(|t| *t != Run::Done) {
                    st.stuck = true;
                }
                st.current = usize::MAX;
            }
        }
        self.sched.cv.notify_all();
    }

    /// What must hold between any two steps.
    fn check_invariants(&self) {
        let state = self.state();
        let queued = self.queued.load(Ordering::SeqCst);
        let running = self.running.load(Ordering::SeqCst);
        if matches!(state, State::Resetting(_)) && !queued && !running {
            self.error(format!("{state:?} without the work queued or running"));
        }
        if self.remove_done.load(Ordering::SeqCst) {
            if state != State::Deleting {
                self.error(format!("{state:?} after remove"));
            }
            if queued || running {
                self.error("the work is queued or running after remove returned".into());
            }
        }
        if u64::from(self.stats.state.load(Ordering::SeqCst)) != u64::from(state.code())
            && !self.in_lock.load(Ordering::SeqCst)
        {
            self.error("the published state is stale".into());
        }
    }
}

/// The protocol's steps on one thread of the model.
struct Model<'w> {
    w: &'w World,
    me: usize,
}

impl Steps for Model<'_> {
    type Extra = ();
    type Error = &'static str;
    type Device<'d> = MockDev<'d>;

    fn locked<R>(&self, f: impl FnOnce(&mut Machine) -> R) -> R {
        self.w.step(self.me, "lock");
        let mut m = self.w.machine.lock().unwrap();
        self.w.in_lock.store(true, Ordering::SeqCst);
        let r = f(&mut m);
        self.w.in_lock.store(false, Ordering::SeqCst);
        self.w.stats.state.store(m.state().code(), Ordering::SeqCst);
        self.w
            .log
            .lock()
            .unwrap()
            .push((self.me, "state", m.state()));
        r
    }

    fn queue_work(&self) {
        if !self.w.in_lock.load(Ordering::SeqCst) {
            self.w
                .error("the work was queued outside the recovery lock".into());
        }
        if self.w.queued.swap(true, Ordering::SeqCst) {
            self.w.error("the work was queued twice".into());
        }
        self.w.queued_seq.fetch_add(1, Ordering::SeqCst);
        if self.w.remove_done.load(Ordering::SeqCst) {
            self.w.error("the work was queued after remove".into());
        }
    }

    fn flush_work(&self) {
        self.w.step(self.me, "flush");
        let w = self.w;
        let target = if w.queued.load(Ordering::SeqCst) {
            w.queued_seq.load(Ordering::SeqCst)
        } else if w.running.load(Ordering::SeqCst) {
            w.running_seq.load(Ordering::SeqCst)
        } else {
            return;
        };
        w.wait_for(self.me, Wait::Flushed(target));
    }

    fn flush_driver_work(&self) {
        self.w.step(self.me, "flush driver work");
    }

    fn now(&self) -> u64 {
        self.w.time.load(Ordering::SeqCst)
    }

    fn stats(&self) -> &Stats<()> {
        &self.w.stats
    }

    fn with_device<R>(&self, f: impl FnOnce(&MockDev<'_>) -> R) -> Option<R> {
        Some(f(&MockDev {
            w: self.w,
            me: self.me,
        }))
    }
}

/// The mock device and driver hooks.
struct MockDev<'w> {
    w: &'w World,
    me: usize,
}

impl MockDev<'_> {
    fn touch(&self, what: &'static str) -> std::sync::MutexGuard<'_, Dev> {
        self.w.step(self.me, what);
        if self.w.remove_done.load(Ordering::SeqCst) {
            self.w.error(format!("{what} after remove returned"));
        }
        if self.w.asleep.load(Ordering::SeqCst) && self.me == 0 {
            self.w
                .error(format!("the reset work did {what} while the system slept"));
        }
        self.w.dev.lock().unwrap()
    }
}

impl DeviceSteps for MockDev<'_> {
    /// Whether the reset found the device gone.
    type Reset = bool;
    type NoQueues = ();
    type Error = &'static str;

    fn status(&self) -> u8 {
        self.w.step(self.me, "status");
        self.w.status.load(Ordering::SeqCst)
    }

    fn log(&self, _msg: Msg<'_, &'static str>) {}

    fn quiesce(&self) {
        self.touch("quiesce").quiesced += 1;
    }

    fn unquiesce(&self) {
        let mut d = self.touch("unquiesce");
        match d.quiesced.checked_sub(1) {
            Some(n) => d.quiesced = n,
            None => {
                drop(d);
                self.w.error("unquiesce without quiesce".into());
            }
        }
    }

    /// The freeze begins and ends inside the call (the driver's
    /// `QueueCtl::drain_and_quiesce`), so no reset can run inside one: only
    /// the quiesce outlives it.
    fn drain_and_quiesce(&self, _why: Drain) -> bool {
        self.touch("drain_and_quiesce").quiesced += 1;
        true
    }

    fn pause(&self) {
        drop(self.touch("pause"));
    }

    fn harvest(&self) {
        // The queues are parked: nothing but the reset reaches them.
        self.touch("harvest").published = false;
    }

    fn reset(&self) -> bool {
        let mut d = self.touch("reset");
        // Reset, or gone and stopped: either way it holds nothing now.
        d.reset = true;
        let gone = self.w.gone.load(Ordering::SeqCst);
        if gone {
            d.found_gone = true;
        } else {
            d.features_ok = false;
            d.driver_ok = false;
        }
        drop(d);
        gone
    }

    fn gone(&self, reset: &bool) -> bool {
        *reset
    }

    fn looks_gone(&self) -> bool {
        self.w.step(self.me, "look");
        self.w.gone.load(Ordering::SeqCst)
    }

    fn take_back(&self, reset: &mut bool, give_up: bool) {
        if *reset && !give_up {
            self.w
                .error("what a gone device held was requeued, not failed".into());
        }
        let d = self.touch("take back");
        if !d.reset {
            self.w.error("take back before a reset".into());
        }
        if d.quiesced == 0 {
            self.w.error("take back with submissions running".into());
        }
        drop(d);
        let c = if give_up {
            &self.w.stats.failed
        } else {
            &self.w.stats.requeued
        };
        c.fetch_add(1, Ordering::SeqCst);
    }

    fn delete_queues(&self, _reset: bool) -> Option<()> {
        let mut d = self.touch("delete queues");
        if !d.reset {
            self.w.error("queues deleted before a reset".into());
        }
        d.queues = false;
        Some(())
    }

    fn restart(&self, _device: ()) -> Result<(), &'static str> {
        let mut d = self.touch("restart");
        if d.queues {
            self.w.error("restart with queues".into());
        }
        if d.found_gone {
            self.w.error("a device found gone was restarted".into());
        }
        // One that went away since its reset does not answer.
        d.features_ok =
            self.w.restart_ok.load(Ordering::SeqCst) && !self.w.gone.load(Ordering::SeqCst);
        if d.features_ok {
            Ok(())
        } else {
            Err("features")
        }
    }

    fn bring_up(&self) -> Result<(), &'static str> {
        let mut d = self.touch("bring up");
        if !d.features_ok || d.queues {
            self.w
                .error("bring up without FEATURES_OK, or with queues".into());
        }
        if self.w.bring_up_ok.load(Ordering::SeqCst) && !self.w.gone.load(Ordering::SeqCst) {
            d.queues = true;
            d.published = false;
            d.reset = false;
            Ok(())
        } else {
            Err("queues")
        }
    }

    fn ready(&self) {
        let mut d = self.touch("ready");
        if !d.queues {
            self.w.error("DRIVER_OK without queues".into());
        }
        if d.published {
            self.w.error("queues reachable before DRIVER_OK".into());
        }
        d.driver_ok = true;
    }

    fn publish(&self) {
        let mut d = self.touch("publish");
        if !d.driver_ok {
            self.w.error("queues published before DRIVER_OK".into());
        }
        d.published = true;
    }

    fn give_up(&self) {
        let mut d = self.touch("give up");
        d.give_ups += 1;
    }
}

// ---------------------------------------------------------------------------
// The threads of the model.

/// What one of the model's threads does.
#[derive(Clone, Copy, Debug)]
enum Actor {
    /// Asks for a reset (a timeout, a config change), `n` times.
    Request(u8),
    /// A timeout handler whose request the device has (or has not)
    /// returned; for one it still holds, `kind` picks what the timeout finds
    /// out ([`overdue_of`]).
    Timeout(bool, u8),
    /// Time passes.
    Tick(u8),
    /// What runs under the device lock, so one at a time, as the driver
    /// core and the PM core serialise them: `sleeps` system sleeps (freeze,
    /// then restore, then the end of the transition), then remove if
    /// `remove`. Sleep `i` loses its restore (the virtio core fails before
    /// calling it) if bit `i` of `lost` is set. Sleep `i` is a PCI
    /// function-level reset instead (7.3's `reset_prepare`, the reset,
    /// `reset_done`) if bit `i` of `flr` is set, one whose `reset_prepare`
    /// the driver never saw if bit `i + 4` of `lost` is set too.
    DeviceLock {
        sleeps: u8,
        remove: bool,
        lost: u8,
        flr: u8,
    },
    /// The device breaks: it sets NEEDS_RESET, its resets fail from now, or
    /// it is gone.
    Break(u8),
    /// rvirtio_scsi's host reset: asks for a reset, waits for it, then
    /// waits for the state to settle (no reset pending or running).
    HostReset,
}

/// What a timeout of a request the device holds finds out, by `kind`: a
/// first expiry; a stall past the policy's limit; a broken queue; a stall
/// without the policy.
fn overdue_of(kind: u8) -> Overdue {
    let stalled = Overdue {
        queue_broken: false,
        first: false,
        stalled: 5,
        stall_limit: Some(2),
    };
    match kind % 4 {
        0 => Overdue {
            first: true,
            stalled: 0,
            ..stalled
        },
        1 => stalled,
        2 => Overdue {
            queue_broken: true,
            ..stalled
        },
        _ => Overdue {
            stall_limit: None,
            ..stalled
        },
    }
}

fn reason(n: u8) -> Reason {
    match n % 4 {
        0 => Reason::NeedsReset,
        1 => Reason::NotReady,
        2 => Reason::Stalled,
        _ => Reason::Driver("test"),
    }
}

/// Runs the model: the work thread (thread 0) and `actors`, scheduled by
/// `choices`. Returns the world for checks.
fn run(budget: usize, window: u64, actors: &[Actor], choices: Vec<u8>) -> Arc<World> {
    run_in(
        World::new(budget, window, choices, actors.len() + 1),
        actors,
    )
}

/// Like [`run`] (budget 3), with `setup` applied to the world before any
/// thread runs.
fn run_with(setup: impl FnOnce(&World), actors: &[Actor], choices: Vec<u8>) -> Arc<World> {
    let w = World::new(3, 1000, choices, actors.len() + 1);
    setup(&w);
    run_in(w, actors)
}

fn run_in(w: World, actors: &[Actor]) -> Arc<World> {
    let w = Arc::new(w);
    let mut handles = Vec::new();
    {
        let w = w.clone();
        handles.push(std::thread::spawn(move || work_thread(&w)));
    }
    for (i, &a) in actors.iter().enumerate() {
        let w = w.clone();
        handles.push(std::thread::spawn(move || actor_thread(&w, i + 1, a)));
    }
    {
        let mut st = w.sched.m.lock().unwrap();
        st.current = w.choose(&mut st).unwrap_or(usize::MAX);
        w.sched.cv.notify_all();
    }
    let mut panicked = None;
    for h in handles {
        if let Err(e) = h.join() {
            panicked = Some(e);
        }
    }
    if let Some(e) = panicked {
        std::panic::resume_unwind(e);
    }
    w
}

fn wait_turn(w: &World, me: usize) {
    let mut st = w.sched.m.lock().unwrap();
    while st.current != me {
        if st.stuck {
            drop(st);
            panic!("the model deadlocked");
        }
        st = w
            .sched
            .cv
            .wait_timeout(st, Duration::from_secs(5))
            .unwrap()
            .0;
    }
}

/// The workqueue: runs the reset work each time it is queued.
fn work_thread(w: &World) {
    wait_turn(w, 0);
    loop {
        w.wait_for(0, Wait::WorkQueued);
        if !w.queued.load(Ordering::SeqCst) {
            break;
        }
        w.queued.store(false, Ordering::SeqCst);
        w.running_seq
            .store(w.queued_seq.load(Ordering::SeqCst), Ordering::SeqCst);
        w.running.store(true, Ordering::SeqCst);
        if w.remove_done.load(Ordering::SeqCst) {
            w.error("the work ran after remove returned".into());
        }
        let before = w.stats.resets.load(Ordering::SeqCst);
        protocol::reset_work(&Model { w, me: 0 });
        if w.stats.resets.load(Ordering::SeqCst) != before {
            w.starts.lock().unwrap().push(w.time.load(Ordering::SeqCst));
        }
        w.running.store(false, Ordering::SeqCst);
        w.finished_seq
            .store(w.running_seq.load(Ordering::SeqCst), Ordering::SeqCst);
    }
    w.finish(0);
}

fn actor_thread(w: &World, me: usize, a: Actor) {
    wait_turn(w, me);
    let m = Model { w, me };
    match a {
        Actor::Request(n) => {
            for i in 0..(n % 3 + 1) {
                protocol::schedule(&m, reason(n.wrapping_add(i)));
            }
        }
        Actor::Timeout(returned, kind) => {
            let harvest = || {
                if returned {
                    Harvest::Returned
                } else {
                    Harvest::Held
                }
            };
            let notified = AtomicBool::new(false);
            let e = protocol::timed_out(
                &m,
                harvest,
                || Some(overdue_of(kind)),
                || notified.store(true, Ordering::SeqCst),
            );
            let notified = notified.load(Ordering::SeqCst);
            if returned && e != Expiry::Returned {
                w.error(format!("a returned request gave {e:?}"));
            }
            // Only a first expiry on a live, healthy device notifies again,
            // and then it waits.
            if notified && (kind % 4 != 0 || e != (Expiry::Healthy { stalled: 0 })) {
                w.error(format!("renotified at kind {kind}, giving {e:?}"));
            }
            // The default policy never asks for a reset of a healthy device.
            if e == Expiry::Resetting
                && kind % 4 == 3
                && !w.remove_started.load(Ordering::SeqCst)
                && w.status.load(Ordering::SeqCst) & status::NEEDS_RESET == 0
                && w.status.load(Ordering::SeqCst) & status::DRIVER_OK != 0
            {
                w.error("a stall reset a healthy device without the policy".into());
            }
        }
        Actor::HostReset => {
            protocol::reset_and_wait(&m, Reason::Injected);
            let right_after = w.state();
            let settled = protocol::settle(&m);
            if matches!(settled, State::Resetting(_) | State::Disabling(_)) {
                w.error(format!("settle returned {settled:?}"));
            }
            w.host_resets.lock().unwrap().push((right_after, settled));
        }
        Actor::Tick(d) => {
            w.step(me, "tick");
            w.time.fetch_add(u64::from(d), Ordering::SeqCst);
        }
        Actor::DeviceLock {
            sleeps,
            remove,
            lost,
            flr,
        } => {
            for i in 0..sleeps {
                if flr & (1 << i) != 0 && lost & (1 << (i + 4)) != 0 {
                    unprepared_flr(w, &m);
                } else if flr & (1 << i) != 0 {
                    flr_cycle(w, &m, lost & (1 << i) != 0);
                } else {
                    sleep_cycle(w, &m, lost & (1 << i) != 0);
                }
            }
            if remove {
                w.flr_stuck.store(false, Ordering::SeqCst);
                w.remove_started.store(true, Ordering::SeqCst);
                protocol::remove(&m, || {
                    // The disk is deleted with live queues: recovery has
                    // stopped, but a timeout may disable the device now.
                    w.step(me, "delete_disk");
                    let st = w.state();
                    if !matches!(st, State::Removing | State::Disabling(_) | State::Dead) {
                        w.error(format!("the disk was deleted in {st:?}"));
                    }
                    w.step(me, "delete_disk done");
                });
                w.remove_done.store(true, Ordering::SeqCst);
                if w.state() != State::Deleting {
                    w.error("remove did not leave Deleting".into());
                }
            }
        }
        Actor::Break(n) => {
            w.step(me, "break");
            match n % 4 {
                0 => w.status.fetch_or(status::NEEDS_RESET, Ordering::SeqCst),
                1 => {
                    w.bring_up_ok.store(false, Ordering::SeqCst);
                    0
                }
                2 => {
                    w.restart_ok.store(false, Ordering::SeqCst);
                    0
                }
                _ => {
                    w.gone.store(true, Ordering::SeqCst);
                    w.status.swap(0xff, Ordering::SeqCst)
                }
            };
        }
    }
    w.finish(me);
}

/// One system sleep: freeze, the PM core's reset, restore (unless `lost`,
/// or the device is gone), the end of the transition. A freeze that refuses
/// (a gone device) aborts the sleep: the PM core neither resets nor
/// restores the device, and ends the transition.
fn sleep_cycle(w: &World, m: &Model<'_>, lost: bool) {
    w.flr_stuck.store(false, Ordering::SeqCst);
    let dead = w.state() == State::Dead;
    let accepted = protocol::freeze(m);
    if dead && w.state() != State::Dead {
        w.error("a dead device came back at sleep".into());
    }
    let found_gone = w.machine.lock().unwrap().is_gone();
    if accepted == found_gone {
        w.error(format!(
            "freeze {} a device {}found gone",
            if accepted { "accepted" } else { "refused" },
            if found_gone { "" } else { "not " }
        ));
    }
    if !accepted {
        protocol::sleep_done(m);
        if w.state() == State::Suspended {
            w.error("still asleep after a refused sleep".into());
        }
        return;
    }
    // Between the two, the PM core resets the device and negotiates its
    // features again (virtio_device_restore); when that fails (`lost`, or
    // a gone device) it does not call the driver's restore at all.
    // Meanwhile nothing else may touch the device.
    w.asleep.store(true, Ordering::SeqCst);
    w.step(m.me, "pm core");
    if w.queued.load(Ordering::SeqCst) || w.running.load(Ordering::SeqCst) {
        w.error("the reset work is queued or running while the system sleeps".into());
    }
    w.asleep.store(false, Ordering::SeqCst);
    let restored = !lost && !w.gone.load(Ordering::SeqCst);
    {
        let mut d = w.dev.lock().unwrap();
        d.reset = true;
        d.driver_ok = false;
        d.features_ok = restored;
    }
    if restored {
        let _ = protocol::restore(m);
    }
    protocol::sleep_done(m);
    if dead && w.state() != State::Dead {
        w.error("a dead device came back after sleep".into());
    }
    if w.state() == State::Suspended {
        w.error("still asleep after the sleep transition ended".into());
    }
}

/// One PCI function-level reset (7.3): `reset_prepare` (a gone device is
/// given up at once, and the prepare refused: virtio-pci then leaves the
/// function enabled and never calls `reset_done`), the PCI core's reset of
/// the function, then the virtio core's reset and feature negotiation, and
/// `reset_done` unless that failed (`lost`; a device gone after the
/// prepare is the same: the core's reset then waits for ever, out of the
/// driver's hands). When it fails, the device stays stopped until something
/// else resumes it (a later sleep or FLR) or removes it (a known gap, as in
/// the C drivers: nothing calls the driver).
fn flr_cycle(w: &World, m: &Model<'_>, lost: bool) {
    let dead = w.state() == State::Dead;
    let prepared = protocol::reset_prepare(m);
    let found_gone = w.machine.lock().unwrap().is_gone();
    if prepared == found_gone {
        w.error(format!(
            "reset_prepare {} a device {}found gone",
            if prepared { "prepared" } else { "gave up" },
            if found_gone { "" } else { "not " }
        ));
    }
    if !prepared && w.state() == State::Suspended {
        w.error("stopped after reset_prepare gave the device up".into());
    }
    w.asleep.store(true, Ordering::SeqCst);
    w.step(m.me, "flr");
    if w.queued.load(Ordering::SeqCst) || w.running.load(Ordering::SeqCst) {
        w.error("the reset work is queued or running during an FLR".into());
    }
    w.asleep.store(false, Ordering::SeqCst);
    let restored = prepared && !lost && !w.gone.load(Ordering::SeqCst);
    {
        let mut d = w.dev.lock().unwrap();
        d.reset = true;
        d.driver_ok = false;
        d.features_ok = restored;
    }
    if restored {
        let _ = protocol::reset_done(m);
        if w.state() == State::Suspended {
            w.error("still stopped after reset_done".into());
        }
    }
    if dead && w.state() != State::Dead {
        w.error("a dead device came back after an FLR".into());
    }
    w.flr_stuck
        .store(w.state() == State::Suspended, Ordering::SeqCst);
}

/// A function-level reset whose `reset_prepare` this binding never saw
/// (it was probed between the two hooks): the virtio core resets the device
/// under its live queues and negotiates the features, then calls
/// `reset_done`, which must bring the device back up (a reset) before the
/// core would set DRIVER_OK on it without queues.
fn unprepared_flr(w: &World, m: &Model<'_>) {
    w.flr_stuck.store(false, Ordering::SeqCst);
    let dead = w.state() == State::Dead;
    w.step(m.me, "unprepared flr");
    if w.gone.load(Ordering::SeqCst) {
        // The core's reset of a gone device polls its status for ever: it
        // never calls the driver (outside the driver's hands).
        return;
    }
    {
        // The core's reset can land in the middle of a reset the driver
        // runs (between its DRIVER_OK and its publish, say): the model
        // keeps the driver's view of DRIVER_OK, and marks the queues as
        // wiped, which only a later bring-up clears.
        let mut d = w.dev.lock().unwrap();
        d.reset = true;
        d.features_ok = true;
    }
    let _ = protocol::reset_done(m);
    let st = w.state();
    if dead && st != State::Dead {
        w.error("a dead device came back after an FLR".into());
    }
    let d = *w.dev.lock().unwrap();
    if st == State::Live && !(d.driver_ok && d.queues) {
        w.error(format!(
            "live after an unprepared FLR without queues: {d:?}"
        ));
    }
    if st == State::Live && d.reset {
        w.error("live after an unprepared FLR on queues the core reset".into());
    }
}

/// The checks every run must pass, at its end.
fn check(w: &World) -> Result<(), TestCaseError> {
    w.check_invariants();
    let errors = w.errors.lock().unwrap();
    prop_assert!(
        errors.is_empty(),
        "{errors:?}\nlog: {:?}",
        w.log.lock().unwrap()
    );
    prop_assert!(!w.queued.load(Ordering::SeqCst) || w.state() == State::Deleting);
    let d = *w.dev.lock().unwrap();
    prop_assert!(d.give_ups <= 1, "given up {} times", d.give_ups);
    prop_assert_eq!(
        u64::from(d.give_ups),
        w.stats.give_ups.load(Ordering::SeqCst)
    );
    // The one way to end stopped: an FLR whose second half the virtio core
    // never called (see `flr_cycle`), with nothing after it.
    let stuck = w.flr_stuck.load(Ordering::SeqCst);
    prop_assert_eq!(
        w.state() == State::Suspended,
        stuck,
        "stopped at the end, not by an unfinished FLR, or the other way round"
    );
    prop_assert_eq!(d.quiesced, u32::from(stuck), "left quiesced");
    if w.state() == State::Dead {
        prop_assert_eq!(d.give_ups, 1, "dead without giving up");
    }
    if w.state() == State::Live {
        prop_assert!(d.driver_ok && d.queues, "live without queues");
        prop_assert!(!d.reset, "live on queues a reset wiped");
    }
    // No window holds more resets than the budget (the one that gives up
    // counts, but does not start a reset of its own).
    let starts = w.starts.lock().unwrap();
    let proceeded: Vec<u64> = starts.clone();
    for (i, &t) in proceeded.iter().enumerate() {
        let n = proceeded[i..].iter().filter(|&&u| u - t < w.window).count();
        prop_assert!(
            n <= w.budget + 1,
            "{n} resets in a window of budget {}",
            w.budget
        );
    }
    Ok(())
}

fn actor() -> impl Strategy<Value = Actor> {
    prop_oneof![
        4 => any::<u8>().prop_map(Actor::Request),
        2 => (any::<bool>(), any::<u8>()).prop_map(|(r, k)| Actor::Timeout(r, k)),
        2 => any::<u8>().prop_map(Actor::Tick),
        1 => any::<u8>().prop_map(Actor::Break),
        1 => Just(Actor::HostReset),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// Any mix of requesters, timeouts, sleep, remove and a device that
    /// breaks, in any interleaving of their steps.
    #[test]
    fn every_interleaving_keeps_the_rules(
        budget in 0usize..4,
        window in 1u64..300,
        mut actors in proptest::collection::vec(actor(), 0..5),
        sleeps in 0u8..3,
        lost in any::<u8>(),
        flr in any::<u8>(),
        remove in any::<bool>(),
        choices in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        actors.push(Actor::DeviceLock { sleeps, remove, lost, flr });
        let w = run(budget, window, &actors, choices);
        check(&w)?;
    }
}

// ---------------------------------------------------------------------------
// Scenarios: the interleavings the issue names, each checked over many
// schedules, and seen to happen.

/// A schedule from a seed.
fn choices(seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..300)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x & 0xff) as u8
        })
        .collect()
}

/// Thread `me`'s steps, with the state each lock left.
fn steps_of(w: &World, me: usize) -> Vec<&'static str> {
    w.log
        .lock()
        .unwrap()
        .iter()
        .filter(|(t, s, _)| *t == me && *s != "lock" && *s != "state")
        .map(|(_, s, _)| *s)
        .collect()
}

/// The index in the log of thread `me`'s `n`th lock, and the state it left.
fn nth_state(w: &World, me: usize, n: usize) -> Option<(usize, State)> {
    w.log
        .lock()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, (t, s, _))| *t == me && *s == "state")
        .nth(n)
        .map(|(i, (_, _, st))| (i, *st))
}

const RESET_STEPS: [&str; 11] = [
    "quiesce",
    "pause",
    "harvest",
    "reset",
    "take back",
    "delete queues",
    "restart",
    "bring up",
    "ready",
    "publish",
    "unquiesce",
];

/// A reset that gives up: everything is taken back, nothing brought up.
const GIVE_UP_STEPS: [&str; 8] = [
    "quiesce",
    "pause",
    "harvest",
    "reset",
    "take back",
    "delete queues",
    "unquiesce",
    "give up",
];

#[test]
fn a_reset_runs_its_steps_in_order() {
    let w = run(3, 1000, &[Actor::Request(0)], vec![0; 300]);
    check(&w).unwrap();
    assert_eq!(w.state(), State::Live);
    assert_eq!(steps_of(&w, 0), RESET_STEPS);
    assert_eq!(w.stats.requeued.load(Ordering::SeqCst), 1);
}

#[test]
fn over_budget_gives_up_after_taking_everything_back() {
    let w = run(0, 1000, &[Actor::Request(0)], vec![0; 300]);
    check(&w).unwrap();
    assert_eq!(w.state(), State::Dead);
    assert_eq!(steps_of(&w, 0), GIVE_UP_STEPS);
    assert_eq!(w.stats.failed.load(Ordering::SeqCst), 1);
}

/// remove flushes the reset work, it does not cancel it: a reset queued
/// before the claim still runs and brings the device back; one running at
/// the claim finishes before remove takes everything back; one asked for
/// after the claim, while the disk is deleted, disables the device, and
/// remove's own take-back waits for it.
#[test]
fn remove_flushes_the_reset_work() {
    let (mut finished_first, mut disabled, mut ran_after) = (0, 0, 0);
    for seed in 0..400 {
        let w = run(
            3,
            1000,
            &[
                Actor::Request(0),
                Actor::DeviceLock {
                    sleeps: 0,
                    remove: true,
                    lost: 0,
                    flr: 0,
                },
            ],
            choices(seed),
        );
        check(&w).unwrap();
        let Some((claim, _)) = nth_state(&w, 2, 0) else {
            panic!("remove never claimed the device");
        };
        let work_steps = w.log.lock().unwrap().clone();
        let work_after_claim: Vec<_> = work_steps[claim..]
            .iter()
            .filter(|(t, s, _)| *t == 0 && *s != "lock" && *s != "state")
            .collect();
        let first_lock_of_work = nth_state(&w, 0, 0).map(|(i, _)| i);
        match first_lock_of_work {
            // The work ran after the claim: a reset pending at the claim
            // still runs, and brings the device back (it is Removing then);
            // one asked for while the disk is deleted disables the device
            // (it gives up: Dead). Either ends before remove's take-back.
            Some(i) if i > claim => {
                // With nothing after the claim, the reset was asked for
                // after remove had finished, and found nothing to do.
                if !work_after_claim.is_empty() {
                    let remove_take_back = work_steps
                        .iter()
                        .position(|(t, s, _)| *t == 2 && *s == "take back")
                        .unwrap();
                    let work_last = work_steps.iter().rposition(|(t, _, _)| *t == 0).unwrap();
                    assert!(remove_take_back > work_last, "{work_steps:?}");
                    if work_after_claim.iter().any(|(_, s, _)| *s == "give up") {
                        disabled += 1;
                    } else {
                        assert!(
                            work_after_claim.iter().any(|(_, s, _)| *s == "ready"),
                            "{work_after_claim:?}"
                        );
                        ran_after += 1;
                    }
                }
            }
            // It started before: remove's own take-back comes after its end.
            Some(_) => {
                let remove_take_back = work_steps
                    .iter()
                    .position(|(t, s, _)| *t == 2 && *s == "take back")
                    .unwrap();
                let work_last = work_steps.iter().rposition(|(t, _, _)| *t == 0).unwrap();
                assert!(remove_take_back > work_last || steps_of(&w, 0).is_empty());
                finished_first += 1;
            }
            None => {}
        }
        assert!(steps_of(&w, 2).contains(&"take back"));
    }
    assert!(
        ran_after > 0,
        "no schedule had the queued work run after the claim"
    );
    assert!(
        finished_first > 0,
        "no schedule had the work run before remove"
    );
    assert!(
        disabled > 0,
        "no schedule had a reset asked for while the disk was deleted"
    );
}

/// A reset whose bring-up fails after suspend began: the device is dead,
/// given up once, and the freeze and the restore leave it alone.
#[test]
fn a_reset_that_fails_after_suspend_began() {
    let mut seen = 0;
    for seed in 0..600 {
        let w = run_with(
            |w| w.bring_up_ok.store(false, Ordering::SeqCst),
            &[
                Actor::Request(2),
                Actor::DeviceLock {
                    sleeps: 1,
                    remove: false,
                    lost: 0,
                    flr: 0,
                },
            ],
            choices(seed),
        );
        check(&w).unwrap();
        let started = nth_state(&w, 0, 0);
        let finished = nth_state(&w, 0, 1);
        let suspended = nth_state(&w, 2, 0);
        if let (Some((s, State::Resetting(_))), Some((f, _)), Some((z, State::Suspended))) =
            (started, finished, suspended)
        {
            if s < z && z < f {
                seen += 1;
                assert_eq!(w.state(), State::Dead);
                assert_eq!(w.stats.give_ups.load(Ordering::SeqCst), 1);
                assert_eq!(w.stats.suspends.load(Ordering::SeqCst), 0);
                assert!(
                    !steps_of(&w, 2).contains(&"take back"),
                    "freeze touched a dead device"
                );
            }
        }
        match w.state() {
            State::Dead => assert_eq!(w.stats.give_ups.load(Ordering::SeqCst), 1),
            State::Live => assert_eq!(w.stats.give_ups.load(Ordering::SeqCst), 0),
            s => panic!("ended {s:?}"),
        }
    }
    assert!(seen > 0, "no schedule suspended during the reset");
}

/// The work is queued under the recovery lock by every path that asks for
/// a reset (requests, timeouts, a broken device), never twice.
#[test]
fn the_work_is_queued_under_the_lock_once() {
    for seed in 0..300 {
        let w = run(
            5,
            1000,
            &[
                Actor::Request(1),
                Actor::Request(2),
                Actor::Timeout(false, 1),
                Actor::Break(0),
                Actor::Timeout(false, 2),
            ],
            choices(seed),
        );
        // `queue_work` records a violation if it runs outside the lock or
        // while queued.
        check(&w).unwrap();
    }
}

/// A device that is gone (off its bus, its status all ones) is not reset
/// (that would wait for ever for the status to read 0): what it held is
/// taken back and failed, never requeued, it is never restarted, and it is
/// given up at the first reset, whatever the budget.
#[test]
fn a_gone_device_is_given_up_without_a_reset() {
    let w = run(3, 1000, &[Actor::Break(3), Actor::Request(0)], vec![0; 300]);
    check(&w).unwrap();
    assert_eq!(w.state(), State::Dead);
    assert_eq!(steps_of(&w, 0), GIVE_UP_STEPS);
    assert!(w.dev.lock().unwrap().found_gone);
    assert_eq!(w.stats.failed.load(Ordering::SeqCst), 1);
    assert_eq!(w.stats.requeued.load(Ordering::SeqCst), 0);
    // And in any interleaving with timeouts, sleep and remove.
    for seed in 0..300 {
        let w = run(
            3,
            1000,
            &[
                Actor::Break(3),
                Actor::Timeout(false, 0),
                Actor::Request(1),
                Actor::DeviceLock {
                    sleeps: 1,
                    remove: true,
                    lost: 0,
                    flr: 0,
                },
            ],
            choices(seed),
        );
        check(&w).unwrap();
        assert_eq!(w.state(), State::Deleting);
    }
}

/// A sleep whose restore never runs (the virtio core failed to bring the
/// device back first) gives the device up when the transition ends: it is
/// not left asleep, with its submissions stopped, until remove.
#[test]
fn a_lost_restore_gives_up_when_the_sleep_ends() {
    let sleeps = |sleeps, lost| {
        let w = run(
            3,
            1000,
            &[Actor::DeviceLock {
                sleeps,
                remove: false,
                lost,
                flr: 0,
            }],
            vec![0; 300],
        );
        check(&w).unwrap();
        w
    };
    let w = sleeps(1, 1);
    assert_eq!(w.state(), State::Dead);
    assert_eq!(w.stats.give_ups.load(Ordering::SeqCst), 1);
    let steps = steps_of(&w, 1);
    assert_eq!(&steps[steps.len() - 2..], ["unquiesce", "give up"]);
    // A restore that runs leaves the device live, and the end of the
    // transition then does nothing.
    let w = sleeps(2, 0);
    assert_eq!(w.state(), State::Live);
    assert!(!steps_of(&w, 1).contains(&"give up"));
}

/// Runs a device that goes away (the reset work may find it gone first)
/// against one sleep, or one FLR if `flr`, with 300 schedules; checks that
/// a gone device ends given up, and returns how often the reset work found
/// it gone first, and how often the sleep's or FLR's own reset did.
fn gone_at_a_sleep(flr: u8) -> (u32, u32) {
    let (mut by_work, mut by_sleep) = (0, 0);
    for seed in 0..300 {
        let actors = [
            Actor::Break(3),
            Actor::Request(0),
            Actor::DeviceLock {
                sleeps: 1,
                remove: false,
                lost: 0,
                flr,
            },
        ];
        let w = run(3, 1000, &actors, choices(seed));
        check(&w).unwrap();
        if !w.machine.lock().unwrap().is_gone() {
            // The sleep came before the device went away.
            continue;
        }
        assert_eq!(w.state(), State::Dead);
        assert_eq!(w.stats.give_ups.load(Ordering::SeqCst), 1);
        if steps_of(&w, 3).contains(&"reset") {
            by_sleep += 1;
        } else {
            by_work += 1;
        }
    }
    (by_work, by_sleep)
}

/// A gone device refuses to sleep (the virtio core's reset at resume would
/// wait for it for ever): whether the reset work found it gone before the
/// freeze, or the freeze's own reset does; in the second case the end of
/// the aborted transition gives it up.
#[test]
fn a_gone_device_refuses_to_sleep() {
    let (by_work, by_freeze) = gone_at_a_sleep(0);
    assert!(by_work > 0 && by_freeze > 0, "{by_work} {by_freeze}");
}

/// rvirtio_scsi's host reset: a reset asked for again right after the one
/// it waited for (NEEDS_RESET once more) is waited for too. The old check
/// (the state right after the wait) found such a device resetting, and the
/// error handler then took every LUN offline.
#[test]
fn a_host_reset_waits_for_the_state_to_settle() {
    let mut raced = 0;
    for seed in 0..400 {
        let w = run(
            8,
            1000,
            &[Actor::HostReset, Actor::Request(2), Actor::Request(1)],
            choices(seed),
        );
        check(&w).unwrap();
        for (right_after, settled) in w.host_resets.lock().unwrap().iter() {
            assert_eq!(*settled, State::Live, "seed {seed}");
            if *right_after != State::Live {
                raced += 1;
            }
        }
    }
    assert!(
        raced > 0,
        "no schedule asked for a reset right after the host reset's"
    );
}

/// A device given up for another reason that goes away later still refuses
/// to sleep: the freeze looks at a dead device once (the virtio core's reset
/// at resume would wait for it for ever).
#[test]
fn a_dead_device_that_went_away_refuses_to_sleep() {
    let mut seen = 0;
    for seed in 0..300 {
        let w = run(
            0,
            1000,
            &[
                Actor::Request(0),
                Actor::Break(3),
                Actor::DeviceLock {
                    sleeps: 1,
                    remove: false,
                    lost: 0,
                    flr: 0,
                },
            ],
            choices(seed),
        );
        check(&w).unwrap();
        let looked = steps_of(&w, 3).contains(&"look");
        if looked && w.gone.load(Ordering::SeqCst) {
            seen += 1;
            assert!(w.machine.lock().unwrap().is_gone());
        }
    }
    assert!(
        seen > 0,
        "no schedule froze a dead device that had gone away"
    );
}

/// A device found gone at a PCI function-level reset's `reset_prepare`
/// (7.3), by the reset work before it or by its own reset, is given up
/// there and then (and the prepare refused), not left stopped.
#[test]
fn a_gone_device_is_given_up_at_an_flr() {
    let (by_work, by_prepare) = gone_at_a_sleep(1);
    assert!(by_work > 0 && by_prepare > 0, "{by_work} {by_prepare}");
}

/// An FLR brings the device back live. One whose `reset_done` never comes
/// (the virtio core failed to negotiate the features again) leaves it
/// stopped, with what it held kept for requeueing: the next sleep or FLR
/// brings it back, or remove gives it up.
#[test]
fn an_flr_without_reset_done_waits_for_the_next() {
    let one = |sleeps, lost, flr, remove| {
        let w = run(
            3,
            1000,
            &[Actor::DeviceLock {
                sleeps,
                remove,
                lost,
                flr,
            }],
            vec![0; 300],
        );
        check(&w).unwrap();
        w
    };
    assert_eq!(one(1, 0, 1, false).state(), State::Live);
    assert_eq!(one(1, 1, 1, false).state(), State::Suspended);
    assert_eq!(one(2, 1, 3, false).state(), State::Live);
    assert_eq!(one(2, 1, 1, false).state(), State::Live);
    let w = one(1, 1, 1, true);
    assert_eq!(w.state(), State::Deleting);
    assert_eq!(w.stats.give_ups.load(Ordering::SeqCst), 1);
}

/// A `reset_done` whose `reset_prepare` the driver never saw (it was bound
/// between the two hooks) finds a live device that the virtio core has
/// reset under its queues: it resets the device (the work item, waited
/// for), so the device is live with queues and DRIVER_OK when it returns.
#[test]
fn an_unprepared_reset_done_resets_the_device() {
    for seed in 0..100 {
        let w = run(
            3,
            1000,
            &[Actor::DeviceLock {
                sleeps: 1,
                remove: false,
                lost: 0x10,
                flr: 1,
            }],
            choices(seed),
        );
        check(&w).unwrap();
        assert_eq!(w.state(), State::Live);
        let log = w.log.lock().unwrap().clone();
        let flr = log
            .iter()
            .position(|(_, s, _)| *s == "unprepared flr")
            .unwrap();
        assert!(log[flr..].iter().any(|(_, s, _)| *s == "reset"), "{log:?}");
        let d = *w.dev.lock().unwrap();
        assert!(d.driver_ok && d.queues);
    }
}

/// An unprepared `reset_done` that finds a reset already running (asked
/// for by a timeout of the new binding) waits for it before asking for its
/// own: that reset may have brought the queues up before the virtio core's
/// reset wiped them, and the device must not end live on wiped queues.
#[test]
fn an_unprepared_reset_done_outlasts_a_running_reset() {
    for seed in 0..5000 {
        let w = run(
            8,
            1000,
            &[
                Actor::Request(1),
                Actor::DeviceLock {
                    sleeps: 1,
                    remove: false,
                    lost: 0x10,
                    flr: 1,
                },
            ],
            choices(seed),
        );
        check(&w).unwrap();
    }
}
