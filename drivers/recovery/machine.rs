// SPDX-License-Identifier: GPL-2.0

//! The device recovery state machine, as pure logic.
//!
//! No kernel dependencies: built into the modules (the engine keeps it
//! behind a spinlock) and into the host test crate, where every
//! interleaving of timeouts, resets, sleep and remove is checked.
//!
//! ```text
//!                  request_reset                 reset_started
//!        +------+ -------------> +-----------+ ----------------> (work runs)
//!        | Live |                | Resetting |
//!        +------+ <------------- +-----------+
//!           ^      reset_finished(ok, within budget)   |
//!           |                                          | reset_finished(failed
//!           |                                          |   or over budget)
//!           |                                          v
//!           |                                     +------+
//!           +---- (never: Dead is final) -------- | Dead |
//!                                                 +------+
//!      remove: any state ----------------------> Deleting (final)
//!
//!      suspend: Live, Resetting -> Suspended;  resume(ok) -> Live (or Dead)
//! ```
//!
//! - At most one reset is pending or running: `request_reset` asks the
//!   caller to queue the work only on the Live → Resetting edge.
//! - The work asks `reset_started` before it touches the device, and stops
//!   if remove came first.
//! - After `remove`, nothing leaves Deleting, so no reset starts: remove
//!   cancels or waits for the one work item and then owns the device.
//! - More than `budget` resets within `window` gives up: Dead. So does a
//!   failed re-initialisation.
//! - System sleep moves a Live or Resetting device to Suspended: no reset
//!   starts or is queued until `resume`. A reset already running finishes;
//!   a queued one aborts (the suspend resets the device anyway). A dead
//!   device stays dead across sleep.

// pub for the host test crate, which builds this file too.
#![cfg_attr(any(rvirtio_blk, rvirtio_scsi), expect(unreachable_pub))]

/// Why a reset was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The device set NEEDS_RESET (seen by a timeout or a config change).
    NeedsReset,
    /// DRIVER_OK was cleared under us: the device was reset by the host.
    NotReady,
    /// A request's queue made no progress for longer than the stall policy
    /// allows, on a healthy device.
    Stalled,
    /// A request queue is broken: the device put a used entry on it that
    /// the virtio core refused.
    BrokenQueue,
    /// A test asked for it.
    Injected,
    /// A request timed out, or the device broke, while `remove` was
    /// deleting the disk: the device is disabled (reset, and what it held
    /// fails), so that removal never waits for it.
    Removing,
    #[cfg_attr(rvirtio_blk, expect(dead_code, reason = "only rvirtio_scsi uses it"))]
    /// A reason of the driver's own (its error handling escalated), named
    /// for the log.
    Driver(&'static str),
}

impl Reason {
    /// A short name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NeedsReset => "device needs reset",
            Reason::NotReady => "device lost DRIVER_OK",
            Reason::Stalled => "request stalled",
            Reason::BrokenQueue => "virtqueue broken by the device",
            Reason::Injected => "injected",
            Reason::Removing => "request timed out during removal",
            Reason::Driver(why) => why,
        }
    }
}

/// The states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Serving I/O.
    Live,
    /// A reset is queued or running.
    Resetting(Reason),
    /// Gave up: all I/O fails.
    Dead,
    /// `remove` is deleting the disk, with the queues live so that written
    /// data reaches the device; no reset starts, but a timeout or a broken
    /// device disables the device ([`State::Disabling`]).
    Removing,
    /// While `remove` deletes the disk: the work that disables the device
    /// is queued or running.
    Disabling(Reason),
    /// `remove` has deleted the disk and takes the device down; final.
    Deleting,
    /// The system is asleep: the device is reset and has no queues.
    Suspended,
}

impl State {
    /// The number debugfs `state` files show: 0 live, 1 resetting, 2 dead,
    /// 3 deleting, 4 suspended, 5 removing, 6 disabling.
    pub fn code(self) -> u32 {
        match self {
            State::Live => 0,
            State::Resetting(_) => 1,
            State::Dead => 2,
            State::Deleting => 3,
            State::Suspended => 4,
            State::Removing => 5,
            State::Disabling(_) => 6,
        }
    }
}

/// What `reset_started` tells the work item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Reset the device and bring it back.
    Proceed(Reason),
    /// Over budget: reset the device to take every request back, fail them,
    /// and leave the device dead. The state is already Dead.
    GiveUp(Reason),
    /// `remove` is deleting the disk and the device failed to answer: as
    /// [`Start::GiveUp`], without counting against the budget. The state is
    /// already Dead.
    Disable(Reason),
    /// Do nothing: remove came first, or the machine already gave up.
    Abort,
}

/// How a finished reset left the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finish {
    /// Back to Live.
    Live,
    /// The device could not be re-initialised: the state is Dead; the caller
    /// fails all I/O.
    GaveUp,
    /// `remove` came meanwhile; it owns the device now.
    Deleting,
}

/// Most resets a budget can count.
pub const MAX_BUDGET: usize = 64;

/// The recovery state of one device.
#[derive(Clone, Debug)]
pub struct Machine {
    state: State,
    /// At most `budget` resets start within any `window` (in the caller's
    /// time unit, jiffies in the kernel).
    budget: usize,
    window: u64,
    /// Start times of the resets within the window, oldest first.
    recent: [u64; MAX_BUDGET],
    nrecent: usize,
    /// `remove` has begun: a reset that was pending then still runs, and
    /// leaves the device Removing rather than Live.
    removing: bool,
    /// A reset found the device gone (off its bus, not answering): it may
    /// not go to sleep, as the virtio core's reset at resume would wait for
    /// it for ever.
    gone: bool,
}

impl Machine {
    /// A live device allowed `budget` resets (capped at [`MAX_BUDGET`]) in any
    /// `window`. A budget of zero gives up at the first reset.
    pub fn new(budget: usize, window: u64) -> Self {
        Self {
            state: State::Live,
            budget: budget.min(MAX_BUDGET),
            window,
            recent: [0; MAX_BUDGET],
            nrecent: 0,
            removing: false,
            gone: false,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    #[cfg_attr(
        any(rvirtio_blk, rvirtio_scsi),
        expect(dead_code, reason = "the host tests use it")
    )]
    /// Whether I/O may go to the device now.
    pub fn is_live(&self) -> bool {
        self.state == State::Live
    }

    /// Asks for a reset. True when the caller must queue the reset work:
    /// only on the Live → Resetting edge, or, while `remove` deletes the
    /// disk, on the Removing → Disabling edge, so the work is never queued
    /// twice.
    pub fn request_reset(&mut self, why: Reason) -> bool {
        match self.state {
            State::Live => {
                self.state = State::Resetting(why);
                true
            }
            State::Removing => {
                self.state = State::Disabling(why);
                true
            }
            _ => false,
        }
    }

    /// The reset work begins at time `now`; it may touch the device only on
    /// `Proceed` or `GiveUp`.
    pub fn reset_started(&mut self, now: u64) -> Start {
        let why = match self.state {
            State::Resetting(why) => why,
            State::Disabling(why) => {
                self.state = State::Dead;
                return Start::Disable(why);
            }
            _ => return Start::Abort,
        };
        // Forget resets that left the window.
        let window = self.window;
        let keep_from = self.recent[..self.nrecent]
            .iter()
            .position(|&t| now.wrapping_sub(t) < window)
            .unwrap_or(self.nrecent);
        self.recent.copy_within(keep_from..self.nrecent, 0);
        self.nrecent -= keep_from;
        if self.nrecent >= self.budget {
            self.state = State::Dead;
            return Start::GiveUp(why);
        }
        self.recent[self.nrecent] = now;
        self.nrecent += 1;
        Start::Proceed(why)
    }

    /// A reset that began with `Proceed` finished; `reinit_ok` says whether
    /// the device came back.
    pub fn reset_finished(&mut self, reinit_ok: bool) -> Finish {
        match self.state {
            State::Resetting(_) if reinit_ok => {
                self.state = if self.removing {
                    State::Removing
                } else {
                    State::Live
                };
                Finish::Live
            }
            State::Resetting(_) => {
                self.state = State::Dead;
                Finish::GaveUp
            }
            // Suspend came while the reset ran: it freezes the device next.
            State::Suspended if reinit_ok => Finish::Live,
            State::Suspended => {
                self.state = State::Dead;
                Finish::GaveUp
            }
            // Only remove moves a Resetting machine elsewhere.
            State::Live | State::Dead | State::Removing | State::Disabling(_) | State::Deleting => {
                Finish::Deleting
            }
        }
    }

    /// How many resets started within the window, as of the last start.
    #[cfg_attr(
        any(rvirtio_blk, rvirtio_scsi),
        expect(dead_code, reason = "the host tests use it")
    )]
    pub fn recent_resets(&self) -> usize {
        self.nrecent
    }

    /// The system is going to sleep. True if the device is to be frozen
    /// (it was Live, or a reset was pending); a dead device needs nothing.
    /// The caller then waits for the reset work, and checks the state again:
    /// a reset that was running may have given up meanwhile.
    pub fn suspend(&mut self) -> bool {
        match self.state {
            State::Live | State::Resetting(_) => {
                self.state = State::Suspended;
                true
            }
            State::Suspended
            | State::Dead
            | State::Removing
            | State::Disabling(_)
            | State::Deleting => false,
        }
    }

    /// The system woke up; `ok` says whether the device came back. True if
    /// the device was suspended (and so was thawed now).
    pub fn resume(&mut self, ok: bool) -> bool {
        if self.state != State::Suspended {
            return false;
        }
        self.state = if ok { State::Live } else { State::Dead };
        true
    }

    /// `remove` begins: it deletes the disk next, with the queues live
    /// (Removing), unless the device is dead, or still asleep (its restore
    /// never ran: it is given up, Dead). A reset that is pending still runs
    /// (the caller waits for it), and leaves the device Removing. Returns
    /// the previous state.
    pub fn remove(&mut self) -> State {
        self.removing = true;
        let next = match self.state {
            State::Dead => State::Dead,
            State::Resetting(why) => State::Resetting(why),
            State::Disabling(why) => State::Disabling(why),
            State::Deleting => State::Deleting,
            // A device still asleep at remove did not come back: its
            // restore never ran. It is given up.
            State::Suspended => State::Dead,
            State::Live | State::Removing => State::Removing,
        };
        core::mem::replace(&mut self.state, next)
    }

    /// `remove` has deleted the disk: nothing starts from now on; the
    /// caller waits for a disabling that may be running, then takes the
    /// device down.
    pub fn deleting(&mut self) -> State {
        core::mem::replace(&mut self.state, State::Deleting)
    }

    /// A reset found the device gone. Whatever the state, it is final for
    /// the device: it is given up, and refuses to sleep.
    pub fn set_gone(&mut self) {
        self.gone = true;
    }

    /// Whether a reset found the device gone.
    pub fn is_gone(&self) -> bool {
        self.gone
    }
}
