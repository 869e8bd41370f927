// SPDX-License-Identifier: GPL-2.0

//! rvirtio_scsi's error handling.
//!
//! The midlayer reuses or retries a command as soon as a handler says
//! `SUCCESS`, so every handler here says so only once the device has given
//! the commands concerned back: after a task management answer, or after a
//! reset (rule 3).
//!
//! - `eh_timed_out`: harvest; a command the device returned is finished; a
//!   broken device is reset (the command comes back with `DID_RESET`); on a
//!   healthy one the midlayer's error handling runs.
//! - ABORT_TASK and LOGICAL_UNIT_RESET go on the control queue; the wait
//!   for the answer is bounded by `tmf_timeout`, then the device is reset.
//! - The host reset resets the device and waits for the reset work.

use crate::device::{RvirtioScsi, ScsiStats, Shared};
use crate::lib::completion::Completion;
use crate::lib::reserve::Reserve;
use crate::lib::time;
use crate::lib::work::no_io;
use crate::params;
use crate::proto::{self, Tmf, TmfReq, TmfResp};
use crate::recovery::policy::Overdue;
use crate::recovery::protocol::Harvest;
use crate::recovery::stats::bump;
use crate::recovery::{drain, Expiry, Reason, Recovery, State};
use crate::scsi::{Cmd, EhResult, ResetCmd, TimedOut};
use crate::vdev_warn;
use crate::virtio::{self, ArcToken, Chain, DeviceWritable};
use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};

/// The reason of a reset after a task management request got no answer.
const TMF_TIMEOUT: Reason = Reason::Driver("task management timed out");
/// The reason of a reset the midlayer's error handler asked for.
const HOST_RESET: Reason = Reason::Driver("host reset by the SCSI error handler");

/// A task management request and its answer, shared by the control queue
/// and the error handler that waits for it.
#[pin_data]
pub(crate) struct TmfCmd {
    req: TmfReq,
    resp: DeviceWritable<TmfResp>,
    /// [`PENDING`], [`ANSWERED`] or [`RESET`].
    outcome: AtomicU8,
    #[pin]
    done: Completion,
}

/// What the control queue carries: the queue holds one reference, the
/// waiting handler another.
pub(crate) type TmfToken = ArcToken<TmfCmd>;

/// How many task management requests each host keeps in reserve. The
/// midlayer sends them one at a time per host (its abort work is ordered,
/// and its error handler waits for it), but an ioctl's LUN reset
/// (`SG_SCSI_RESET`) may come at the same time.
pub(crate) const TMF_RESERVE: usize = 2;

/// The task management requests a host keeps in reserve.
pub(crate) type TmfReserve = Reserve<TmfCmd, TMF_RESERVE>;

/// [`TmfCmd::outcome`]: the device has not answered yet.
const PENDING: u8 = 0;
/// [`TmfCmd::outcome`]: the device answered; the response is valid.
const ANSWERED: u8 = 1;
/// [`TmfCmd::outcome`]: a reset took the request back unanswered.
const RESET: u8 = 2;

impl virtio::Token for TmfToken {
    fn describe<'a>(tmf: &'a TmfCmd, chain: &mut Chain<'a>) {
        chain.read(&tmf.req);
        chain.write(&tmf.resp);
    }
}

impl TmfCmd {
    /// A request for `req`, not sent yet.
    pub(crate) fn new(req: TmfReq) -> impl PinInit<Self> {
        pin_init!(TmfCmd {
            req,
            resp: DeviceWritable::default(),
            outcome: AtomicU8::new(PENDING),
            done <- Completion::new(),
        })
    }

    /// The control queue gave the request back: answered, or reset.
    fn finish(&self, outcome: u8) {
        self.outcome.store(outcome, Ordering::Release);
        self.done.complete();
    }
}

/// Wakes the handlers waiting for the answers the device returned.
pub(crate) fn answer_all(vq: &mut crate::device::CtrlVq) {
    drain(vq, |tmf| tmf.0.finish(ANSWERED));
}

/// After a reset: wakes the handlers whose requests the device never
/// answered.
pub(crate) fn reset_all<D: virtio::Driver>(
    vq: &mut crate::device::CtrlVq,
    reset: &virtio::DeviceReset<'_, D>,
) {
    while let Some(tmf) = vq.detach_unused(reset) {
        tmf.0.finish(RESET);
    }
}

/// The control queue's callback.
pub(crate) fn answered(shared: &Shared) {
    if let Some(vq) = shared.ctrl.lock().live() {
        answer_all(vq);
    }
}

/// Finishes what the device returned on `cmd`'s queue, and says whether
/// the device has given `cmd` back. Commands are finished under their
/// queue's lock, and this decides under it, so once it says so, `cmd` is
/// finished.
fn given_back(shared: &Shared, cmd: &Cmd<RvirtioScsi>) -> bool {
    shared
        .vqs
        .with(cmd.data().queue(), |vq| {
            if let Some(vq) = vq {
                drain(vq, crate::io::complete);
            }
            !cmd.is_held()
        })
        .unwrap_or_else(|| !cmd.is_held())
}

fn success_if(ok: bool) -> EhResult {
    if ok {
        EhResult::Success
    } else {
        EhResult::Failed
    }
}

/// `eh_timed_out`: harvest first; then a broken device, or a broken
/// queue, is reset (the command comes back with `DID_RESET`), and on a
/// healthy one the midlayer aborts.
pub(crate) fn timed_out(shared: ArcBorrow<'_, Shared>, cmd: &Cmd<RvirtioScsi>) -> TimedOut {
    let harvest = || {
        if given_back(&shared, cmd) {
            Harvest::Returned
        } else {
            Harvest::Held
        }
    };
    // The midlayer's abort, not a renotify or a stall policy, follows a
    // timeout on a healthy device.
    let overdue = || {
        Some(Overdue {
            queue_broken: shared.vqs.is_broken(cmd.data().queue()),
            first: false,
            stalled: 0,
            stall_limit: None,
        })
    };
    match Recovery::timed_out(shared, harvest, overdue, || {}) {
        Expiry::Returned | Expiry::Ended => TimedOut::Done,
        // The pending reset takes the command back (or remove does).
        Expiry::Pending | Expiry::Resetting => TimedOut::ResetTimer,
        Expiry::Healthy { .. } => TimedOut::NotHandled,
    }
}

/// ABORT_TASK. Success only once the device has given the command back:
/// after the answer, or after the reset that a missing answer (or a broken
/// device) brings.
pub(crate) fn abort(shared: ArcBorrow<'_, Shared>, cmd: &Cmd<RvirtioScsi>) -> EhResult {
    if given_back(&shared, cmd) {
        return EhResult::Success;
    }
    let check = |s: &Shared| success_if(given_back(s, cmd));
    if let Some(why) = Recovery::broken(shared) {
        return reset_then(shared, why, check);
    }
    let Some((target, lun)) = proto::address(cmd.target(), cmd.lun()) else {
        return EhResult::Failed;
    };
    tmf_then(
        shared,
        TmfReq::new(Tmf::AbortTask, target, lun, cmd.id()),
        |s| &s.aborts,
        check,
    )
}

/// LOGICAL_UNIT_RESET. Success only once the device holds no command of
/// the LUN any more.
pub(crate) fn device_reset(shared: ArcBorrow<'_, Shared>, cmd: &ResetCmd<RvirtioScsi>) -> EhResult {
    let check = |s: &Shared| {
        s.vqs.drain_all(crate::io::complete);
        let held = cmd.lun_held();
        if !held {
            // A command seen given back may still be finishing under its
            // queue's lock: wait for it.
            s.vqs.drain_all(crate::io::complete);
        }
        success_if(!held)
    };
    if let Some(why) = Recovery::broken(shared) {
        return reset_then(shared, why, check);
    }
    let Some((target, lun)) = proto::address(cmd.target(), cmd.lun()) else {
        return EhResult::Failed;
    };
    tmf_then(
        shared,
        TmfReq::new(Tmf::LogicalUnitReset, target, lun, 0),
        |s| &s.lun_resets,
        check,
    )
}

/// Resets the device (in the reset work, which this waits for). Every
/// command comes back, even when the device is given up. It fails only for
/// a device given up or taken down: a reset asked for again right after
/// (NEEDS_RESET once more) is waited for too, rather than taking every LUN
/// offline for good.
pub(crate) fn host_reset(shared: ArcBorrow<'_, Shared>) -> EhResult {
    bump(&shared.recovery.stats().extra.host_resets);
    Recovery::reset_and_wait(shared, HOST_RESET);
    success_if(!matches!(
        Recovery::settle(shared),
        State::Dead | State::Deleting | State::Resetting(_) | State::Disabling(_)
    ))
}

/// Resets the device for `why` (unless a reset is already pending, or the
/// device is dead or going away), waits for the reset work, then decides
/// with `check`.
fn reset_then(
    shared: ArcBorrow<'_, Shared>,
    why: Reason,
    check: impl Fn(&Shared) -> EhResult,
) -> EhResult {
    Recovery::reset_and_wait(shared, why);
    check(&shared)
}

/// What became of a task management request.
enum TmfOutcome {
    /// The device answered.
    Answered(TmfResp),
    /// A reset took it back unanswered.
    Reset,
    /// No answer within `tmf_timeout`.
    TimedOut,
    /// It could not be sent: the control queue is full.
    NotSent,
    /// There is no control queue: a reset is recreating it (or the device
    /// is given up).
    NoQueue,
}

/// A task management request for `req`, as the C driver's
/// `mempool_alloc(GFP_NOIO)` gets one: allocated without waiting for
/// reclaim; or else taken from the host's reserve; or else allocated with
/// reclaim that starts no I/O (the error handler may be what I/O waits on).
/// `None` only if all three fail.
fn new_tmf(shared: &Shared, req: TmfReq) -> Option<Arc<TmfCmd>> {
    if let Ok(tmf) = Arc::pin_init(TmfCmd::new(req), GFP_NOWAIT) {
        return Some(tmf);
    }
    if let Some(tmf) = shared.tmf_reserve.take(TmfCmd::new(req)) {
        bump(&shared.recovery.stats().extra.tmf_from_reserve);
        return Some(tmf);
    }
    no_io(|| Arc::pin_init(TmfCmd::new(req), GFP_KERNEL)).ok()
}

/// Sends `tmf` on the control queue and waits for the outcome.
fn send_tmf(shared: &Shared, tmf: &Arc<TmfCmd>) -> TmfOutcome {
    {
        let mut ctrl = shared.ctrl.lock();
        let Some(vq) = ctrl.live() else {
            return TmfOutcome::NoQueue;
        };
        if vq.add(ArcToken(tmf.clone())).is_err() {
            return TmfOutcome::NotSent;
        }
        vq.kick();
    }
    if !tmf
        .done
        .wait_timeout(time::secs_to_jiffies(params::tmf_timeout()))
    {
        return TmfOutcome::TimedOut;
    }
    match tmf.outcome.load(Ordering::Acquire) {
        ANSWERED => TmfOutcome::Answered(tmf.resp.get()),
        _ => TmfOutcome::Reset,
    }
}

/// Sends a task management request; if the device carried it out, or a
/// reset (after no answer in time) took everything back, decides with
/// `check`, which looks at whether the device still holds the commands
/// concerned. A request that finds the control queue gone waits for the
/// reset that is recreating it: that reset may have taken the commands
/// back; if not, the request is sent again, once. `sent` names the
/// counter of requests sent. The request goes back to the reserve
/// afterwards.
fn tmf_then(
    shared: ArcBorrow<'_, Shared>,
    req: TmfReq,
    sent: impl Fn(&ScsiStats) -> &AtomicU64,
    check: impl Fn(&Shared) -> EhResult,
) -> EhResult {
    let Some(tmf) = new_tmf(&shared, req) else {
        shared.recovery.dev().with(|dev| {
            vdev_warn!(dev, "task management failed: out of memory");
        });
        return EhResult::Failed;
    };
    bump(sent(&shared.recovery.stats().extra));
    let result = sent_then(shared, &tmf, check);
    shared.tmf_reserve.put(tmf);
    result
}

/// [`tmf_then`] once `tmf` is allocated. The control queue may still hold
/// it afterwards (when a reset that would take it back was refused because
/// remove began); the reserve reuses it only once the queue dropped it.
fn sent_then(
    shared: ArcBorrow<'_, Shared>,
    tmf: &Arc<TmfCmd>,
    check: impl Fn(&Shared) -> EhResult,
) -> EhResult {
    let mut outcome = send_tmf(&shared, tmf);
    if let TmfOutcome::NoQueue = outcome {
        Recovery::settle(shared);
        if let EhResult::Success = check(&shared) {
            return EhResult::Success;
        }
        outcome = send_tmf(&shared, tmf);
    }
    let r = &shared.recovery;
    match outcome {
        // The device returns the commands concerned before it answers.
        TmfOutcome::Answered(resp) if resp.succeeded() && !r.shot(&r.stats().knobs.reject_tmf) => {
            check(&shared)
        }
        TmfOutcome::Answered(_) | TmfOutcome::NotSent | TmfOutcome::NoQueue => EhResult::Failed,
        TmfOutcome::Reset => check(&shared),
        TmfOutcome::TimedOut => {
            bump(&shared.recovery.stats().extra.tmf_timeouts);
            shared.recovery.dev().with(|dev| {
                vdev_warn!(
                    dev,
                    "no answer to task management in {} s",
                    params::tmf_timeout()
                )
            });
            reset_then(shared, TMF_TIMEOUT, check)
        }
    }
}
