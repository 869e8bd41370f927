// SPDX-License-Identifier: GPL-2.0

//! rvirtio_scsi: a virtio-scsi driver in Rust.
//!
//! It binds to virtio SCSI devices and serves their LUNs through a SCSI
//! host, like the C `virtio_scsi`: one virtqueue per hardware queue after
//! the control and event queues, mapped to CPUs by interrupt affinity; the
//! CDB in the request header; status, sense and residual copied back; the
//! response mapped to a host byte as the C driver maps it.
//!
//! Events (`VIRTIO_SCSI_F_HOTPLUG`, `VIRTIO_SCSI_F_CHANGE`): eight event
//! buffers stay posted; a work item adds or scans the LUN a rescan event
//! names, removes the one a removal names, re-reads a LUN whose parameters
//! changed, and rescans the host when the device missed events.
//!
//! With `virtscsi_poll_queues=N` the last N request queues (at most all but
//! one) have no interrupt and serve polled I/O.
//!
//! Unlike the C driver, whose timeout handler only restarts the timer, it
//! recovers with the same guarantees as rvirtio_blk:
//!
//! 1. *Harvest first*: a timed-out command that the device already returned
//!    (a lost interrupt) is finished at once.
//! 2. *NEEDS_RESET before DRIVER_OK*: a broken device is reset; on a healthy
//!    one the midlayer's error handling runs: ABORT_TASK, then
//!    LOGICAL_UNIT_RESET on the control queue, then a host reset.
//! 3. *Never abandon a command the device owns*: a handler succeeds only
//!    once the device has given the command back (`Cmd::is_held`), after
//!    the task management answer or after a reset.
//! 4. *Recover by reset*: a task management function that gets no answer in
//!    `tmf_timeout` seconds, a broken device and the host reset all reset the
//!    device in one work item, guarded by the [`Recovery`] state machine
//!    against remove. Commands the device held come back with `DID_RESET`
//!    (the midlayer retries them). Past `reset_budget` resets in
//!    `reset_window`, the device is given up: its LUNs go offline and every
//!    command fails with `DID_NO_CONNECT`.
//! 5. *Ordering*: a command succeeds only if the device returned it so.
//!
//! System sleep resets the device and brings it back, like the C driver's
//! freeze and restore, on the same take-back path as a reset. The reading
//! order:
//! per-device and per-command data, the command path, error handling and
//! the reset work, probe and remove, events. This file holds no `unsafe`.

use crate::lib::completion::Completion;
use crate::lib::cpumask::nr_cpu_ids;
use crate::lib::debugfs::{take_shot, Counters, GlobalDir};
use crate::lib::irqlock::IrqSpinLock;
use crate::lib::queuemap::QueueMap;
use crate::lib::recovery::{self, Finish, Reason, Recovery, Start, State, TimeoutVerdict};
use crate::lib::time;
use crate::lib::work::{self, GlobalQueue, WQ_MEM_RECLAIM, WQ_UNBOUND};
use crate::params;
use crate::scsi::{self, Cmd, Direction, EhResult, Host, HostConfig, HostOps, HostRef};
use crate::scsi::{OwnedCmd, ResetCmd, TimedOut};
use crate::virtio::{
    self, status, ArcToken, Chain, Device, DeviceRef, DeviceWritable, IdTable, Virtqueue, Vq,
    VqSpec,
};
use crate::virtio_scsi_proto::{self as proto, CmdReq, CmdResp, Tmf, TmfReq, TmfResp};
use crate::{vdev_err, vdev_warn};
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::{new_mutex, Arc, ArcBorrow, Mutex};
use kernel::workqueue::{self, Work, WorkItem};
use kernel::{c_str, fmt};

crate::declare_scsi_host!(RvirtioScsi);

// ---------------------------------------------------------------------------
// Module-wide state.

/// The workqueue reset work runs on.
static RESET_WQ: GlobalQueue = GlobalQueue::new();
/// `/sys/kernel/debug/rvirtio_scsi/`.
static DEBUGFS: GlobalDir = GlobalDir::new();

/// Sets up what every device shares; undone by [`module_exit`].
pub(crate) fn module_init() -> Result {
    RESET_WQ.alloc(c_str!("rvirtio_scsi_reset"), WQ_UNBOUND | WQ_MEM_RECLAIM)?;
    DEBUGFS.create(c_str!("rvirtio_scsi"));
    Ok(())
}

/// Undoes [`module_init`], once every device is gone.
pub(crate) fn module_exit() {
    RESET_WQ.destroy();
    DEBUGFS.remove();
}

// ---------------------------------------------------------------------------
// Per-device and per-command data.

/// The driver.
pub(crate) struct RvirtioScsi;

/// Per-command data: the request header the device reads and the response
/// it writes. Plain bytes (alignment 1), as the private area requires.
#[derive(Default)]
pub(crate) struct ScsiCmd {
    req: CmdReq,
    resp: DeviceWritable<CmdResp>,
    /// Fault injection: send the command without its response buffer and
    /// data, which the device must treat as malformed.
    malformed: bool,
}

/// A task management request and its answer, shared by the control queue
/// and the error handler that waits for it.
#[pin_data]
pub(crate) struct TmfCmd {
    req: TmfReq,
    resp: DeviceWritable<TmfResp>,
    /// [`TMF_PENDING`], [`TMF_ANSWERED`] or [`TMF_RESET`].
    outcome: AtomicU8,
    #[pin]
    done: Completion,
}

/// [`TmfCmd::outcome`]: the device has not answered yet.
const TMF_PENDING: u8 = 0;
/// [`TmfCmd::outcome`]: the device answered; the response is valid.
const TMF_ANSWERED: u8 = 1;
/// [`TmfCmd::outcome`]: a reset took the request back unanswered.
const TMF_RESET: u8 = 2;

impl virtio::Token for ArcToken<TmfCmd> {
    fn describe<'a>(tmf: &'a TmfCmd, chain: &mut Chain<'a>) {
        chain.read(&tmf.req);
        chain.write(&tmf.resp);
    }
}

impl TmfCmd {
    /// The control queue gave the request back: answered, or reset.
    fn finish(&self, outcome: u8) {
        self.outcome.store(outcome, Ordering::Release);
        self.done.complete();
    }
}

/// The control queue.
type CtrlVq = Virtqueue<ArcToken<TmfCmd>>;

/// Wakes the handlers waiting for the answers the device returned.
fn answer_tmfs(vq: &mut CtrlVq) {
    while let Some((tmf, _len)) = vq.get_buf() {
        tmf.0.finish(TMF_ANSWERED);
    }
}

/// Counters and fault-injection knobs, shown in debugfs (the names and
/// meanings of rvirtio_blk's, plus the task management counters).
#[derive(Default)]
pub(crate) struct Stats {
    timeouts: AtomicU64,
    lost_interrupts: AtomicU64,
    resets: AtomicU64,
    /// Commands the device held at a reset, given back with `DID_RESET`
    /// for the midlayer to retry.
    requeued: AtomicU64,
    /// Commands failed because the device was given up.
    failed: AtomicU64,
    give_ups: AtomicU64,
    /// Commands completed by polling.
    polled: AtomicU64,
    /// ABORT_TASK and LOGICAL_UNIT_RESET requests sent.
    aborts: AtomicU64,
    lun_resets: AtomicU64,
    /// Task management requests that got no answer in `tmf_timeout`.
    tmf_timeouts: AtomicU64,
    /// Host resets the error handler asked for.
    host_resets: AtomicU64,
    /// System sleeps the device was frozen for.
    suspends: AtomicU64,
    /// 0 live, 1 resetting, 2 dead, 3 deleting, 4 suspended.
    state: AtomicU32,
    /// Drop the next N request-queue notifications.
    drop_irqs: AtomicU32,
    /// Send the next command malformed.
    inject_malformed: AtomicU32,
    /// Reset the device at the next command.
    inject_reset: AtomicU32,
    /// Hold every reset this long (ms) before it touches the device.
    reset_delay_ms: AtomicU32,
}

/// A request virtqueue: `None` while the device has no queues (during
/// remove); commands then fail.
type ReqQueue = IrqSpinLock<Option<ReqVq>>;

/// A request virtqueue, which carries commands.
type ReqVq = Virtqueue<OwnedCmd<RvirtioScsi>>;

/// An event buffer the device fills.
#[derive(Default)]
pub(crate) struct EventBuf {
    ev: DeviceWritable<proto::Event>,
}

impl virtio::Token for KBox<EventBuf> {
    fn describe<'a>(buf: &'a EventBuf, chain: &mut Chain<'a>) {
        chain.write(&buf.ev);
    }
}

/// The event queue and the buffers the device filled, which the event work
/// handles and posts again.
struct Events {
    vq: Option<Virtqueue<KBox<EventBuf>>>,
    /// Filled buffers waiting for the work (there are only so many).
    done: [Option<KBox<EventBuf>>; proto::EVENT_BUFFERS],
    /// Buffers kept while a reset has no event queue, posted again after.
    idle: [Option<KBox<EventBuf>>; proto::EVENT_BUFFERS],
    /// Set by remove: the work is no longer queued, buffers not reposted.
    stopped: bool,
}

/// What the command path, the virtqueue callbacks and the event work share.
#[pin_data]
pub(crate) struct Shared {
    /// The request queues, in hardware-queue order.
    vqs: KVec<Pin<KBox<ReqQueue>>>,
    /// The last `poll_queues` of `vqs` have no interrupt.
    poll_queues: usize,
    /// The control queue (task management).
    #[pin]
    ctrl: IrqSpinLock<Option<CtrlVq>>,
    #[pin]
    events: IrqSpinLock<Events>,
    #[pin]
    event_work: Work<Shared, EVENT_WORK>,
    #[pin]
    recovery: IrqSpinLock<Recovery>,
    #[pin]
    reset_work: Work<Shared, RESET_WORK>,
    #[pin]
    offline_work: Work<Shared, OFFLINE_WORK>,
    /// Set once the host is added.
    #[pin]
    host: Mutex<Option<HostRef>>,
    dev: DeviceRef<RvirtioScsi>,
    stats: Arc<Stats>,
    faults: bool,
}

/// The work item ids of [`Shared`]'s work items.
const EVENT_WORK: u64 = 0;
const RESET_WORK: u64 = 1;
const OFFLINE_WORK: u64 = 2;

kernel::impl_has_work! {
    impl HasWork<Self, EVENT_WORK> for Shared { self.event_work }
    impl HasWork<Self, RESET_WORK> for Shared { self.reset_work }
    impl HasWork<Self, OFFLINE_WORK> for Shared { self.offline_work }
}

impl WorkItem<EVENT_WORK> for Shared {
    type Pointer = Arc<Shared>;

    fn run(this: Arc<Shared>) {
        handle_events(&this);
    }
}

impl WorkItem<RESET_WORK> for Shared {
    type Pointer = Arc<Shared>;

    fn run(this: Arc<Shared>) {
        // Nothing it allocates may wait for writeback to this device.
        work::no_io(|| reset_device(&this));
    }
}

impl WorkItem<OFFLINE_WORK> for Shared {
    type Pointer = Arc<Shared>;

    /// Takes the LUNs of a dead device offline. Its own work item: it needs
    /// the host, which the event work may hold while it waits for the error
    /// handler, which may be waiting for the reset work.
    fn run(this: Arc<Shared>) {
        let host = this.host.lock().clone();
        if let Some(host) = host {
            host.with(|h| h.offline_all());
        }
    }
}

impl Shared {
    fn publish_state(&self, state: State) {
        self.stats.state.store(state.code(), Ordering::Relaxed);
    }

    fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Asks for a reset; queues the work unless one is pending or the device is
/// dead or going away. Any context. The work is queued under the recovery
/// lock, so that "resetting" always means "the work is queued or running":
/// a handler that finds a reset pending and flushes the work waits for it.
fn schedule_reset(shared: &Arc<Shared>, why: Reason) {
    let mut r = shared.recovery.lock();
    if r.request_reset(why) {
        // The state machine queues the work only once; the workqueue exists
        // for as long as any device does.
        let _ = RESET_WQ.enqueue::<_, RESET_WORK>(shared.clone());
    }
    shared.publish_state(r.state());
}

/// What probe builds and remove tears down.
pub(crate) struct ScsiDevice {
    host: Host<RvirtioScsi>,
    shared: Arc<Shared>,
    debugfs: Counters<Stats>,
}

// ---------------------------------------------------------------------------
// The command path.

impl virtio::Token for OwnedCmd<RvirtioScsi> {
    /// Header, data out; response, data in.
    fn describe<'a>(cmd: &'a scsi::Cmd<RvirtioScsi>, chain: &mut Chain<'a>) {
        let d = cmd.data();
        chain.read(&d.req);
        if d.malformed {
            return;
        }
        let data = cmd.data_buffer();
        if let (Direction::ToDevice, Some(list)) = (cmd.direction(), data) {
            chain.sg_list(list, false);
        }
        chain.write(&d.resp);
        if let (Direction::FromDevice, Some(list)) = (cmd.direction(), data) {
            chain.sg_list(list, true);
        }
    }
}

/// Finishes a command the device returned, as `virtscsi_complete_cmd` does.
fn complete(cmd: OwnedCmd<RvirtioScsi>) {
    let resp = cmd.data().resp.get();
    let c = proto::complete(&resp, cmd.bufflen());
    if c.unknown_response {
        pr_warn!("rvirtio_scsi: unknown response {}\n", resp.response);
    }
    if c.sense_overflow {
        pr_warn!(
            "rvirtio_scsi: device claims {} sense bytes, more than {}\n",
            u32::from_le_bytes(resp.sense_len),
            proto::SENSE_SIZE
        );
    }
    cmd.finish(c.host, c.status, c.resid, &resp.sense[..c.sense_len]);
}

/// Finishes every command the device has returned on `vq`; returns how
/// many.
fn drain(vq: &mut ReqVq) -> u32 {
    let mut n = 0;
    while let Some((cmd, _len)) = vq.get_buf() {
        complete(cmd);
        n += 1;
    }
    n
}

/// Finishes what the device returned on request queue `hwq`, with its
/// callback disabled meanwhile (an interrupt).
fn harvest(shared: &Shared, hwq: u32) {
    let Some(slot) = shared.vqs.get(hwq as usize) else {
        return;
    };
    if let Some(vq) = slot.lock().as_mut() {
        loop {
            vq.disable_cb();
            drain(vq);
            if vq.enable_cb() {
                break;
            }
        }
    }
}

/// Finishes what the device returned on `cmd`'s queue, and says whether
/// the device has given `cmd` back. Commands are finished under their
/// queue's lock, so once this says so, `cmd` is finished.
fn given_back(shared: &Shared, cmd: &Cmd<RvirtioScsi>) -> bool {
    let Some(slot) = shared.vqs.get(cmd.hw_queue() as usize) else {
        return !cmd.is_held();
    };
    let mut guard = slot.lock();
    if let Some(vq) = guard.as_mut() {
        drain(vq);
    }
    !cmd.is_held()
}

/// Finishes what the device returned on every request queue. Afterwards a
/// command found not held has been finished.
fn harvest_all(shared: &Shared) {
    for slot in shared.vqs.iter() {
        if let Some(vq) = slot.lock().as_mut() {
            drain(vq);
        }
    }
}

impl HostOps for RvirtioScsi {
    type HostData = Shared;
    type CmdData = ScsiCmd;

    fn queuecommand(
        shared: ArcBorrow<'_, Shared>,
        mut cmd: OwnedCmd<Self>,
    ) -> Result<(), OwnedCmd<Self>> {
        if cmd.direction() == Direction::Bidirectional {
            // virtio-scsi without VIRTIO_SCSI_F_INOUT carries one direction.
            cmd.fail();
            return Ok(());
        }
        // Targets and LUNs beyond the encoding are refused by the host's
        // max_id and max_lun; the casts keep what the C driver keeps.
        let Some(req) = CmdReq::new(cmd.target() as u8, cmd.lun() as u16, cmd.id(), cmd.cdb())
        else {
            cmd.fail();
            return Ok(());
        };
        let d = cmd.data_mut();
        d.req = req;
        d.malformed = take_shot(shared.faults, &shared.stats.inject_malformed);
        if take_shot(shared.faults, &shared.stats.inject_reset) {
            schedule_reset(&shared.into(), Reason::Injected);
        }
        let Some(slot) = shared.vqs.get(cmd.hw_queue() as usize) else {
            cmd.fail();
            return Ok(());
        };
        let last = cmd.is_last();
        let mut guard = slot.lock();
        let Some(vq) = guard.as_mut() else {
            drop(guard);
            return no_queues(&shared, cmd);
        };
        match vq.add(cmd) {
            Ok(()) => {
                if last {
                    // Notified after the unlock, as virtio_scsi does.
                    Virtqueue::kick_unlocked(guard);
                }
                Ok(())
            }
            Err((cmd, err)) => {
                vq.kick();
                if err == ENOSPC || err == ENOMEM {
                    Err(cmd)
                } else {
                    drop(guard);
                    // As the C driver does for a broken queue.
                    cmd.finish(proto::did::BAD_TARGET, 0, 0, &[]);
                    Ok(())
                }
            }
        }
    }

    fn commit_rqs(shared: ArcBorrow<'_, Shared>, hwq: u32) {
        if let Some(slot) = shared.vqs.get(hwq as usize) {
            if let Some(vq) = slot.lock().as_mut() {
                vq.kick();
            }
        }
    }

    /// A poll queue: take what the device finished.
    fn poll(shared: ArcBorrow<'_, Shared>, hwq: u32) -> u32 {
        let Some(slot) = shared.vqs.get(hwq as usize) else {
            return 0;
        };
        let n = slot.lock().as_mut().map_or(0, drain);
        if n != 0 {
            shared
                .stats
                .polled
                .fetch_add(u64::from(n), Ordering::Relaxed);
        }
        n
    }

    /// Hardware queue `q` is request virtqueue `2 + q`: it serves the CPUs
    /// its interrupt is affine to, as `blk_mq_virtio_map_queues(map, vdev, 2)`
    /// does for the C driver.
    fn map_queues(shared: ArcBorrow<'_, Shared>, map: &mut QueueMap) {
        let mapped = shared
            .dev
            .with(|dev| dev.map_queues_by_affinity(map, proto::vq::FIRST_REQUEST));
        if mapped != Some(true) {
            map.map_default();
        }
    }

    /// Harvest first; then a broken device is reset (the command comes back
    /// with `DID_RESET`), and on a healthy one the midlayer aborts.
    fn timed_out(shared: ArcBorrow<'_, Shared>, cmd: &Cmd<Self>) -> TimedOut {
        Shared::count(&shared.stats.timeouts);
        if given_back(&shared, cmd) {
            Shared::count(&shared.stats.lost_interrupts);
            return TimedOut::Done;
        }
        if !shared.recovery.lock().is_live() {
            // A reset is pending or running (it takes the command back), or
            // the device is dead or going away (remove takes it back).
            return TimedOut::ResetTimer;
        }
        match broken(&shared) {
            Some(why) => {
                schedule_reset(&shared.into(), why);
                TimedOut::ResetTimer
            }
            None => TimedOut::NotHandled,
        }
    }

    /// ABORT_TASK. Success only once the device has given the command back:
    /// after the answer, or after the reset that a missing answer (or a
    /// broken device) brings.
    fn abort(shared: ArcBorrow<'_, Shared>, cmd: &Cmd<Self>) -> EhResult {
        if given_back(&shared, cmd) {
            return EhResult::Success;
        }
        let shared: Arc<Shared> = shared.into();
        let check = |s: &Shared| success_if(given_back(s, cmd));
        if let Some(why) = broken(&shared) {
            return reset_then(&shared, why, check);
        }
        Shared::count(&shared.stats.aborts);
        let req = TmfReq::new(
            Tmf::AbortTask,
            cmd.target() as u8,
            cmd.lun() as u16,
            cmd.id(),
        );
        tmf_then(&shared, req, check)
    }

    /// LOGICAL_UNIT_RESET. Success only once the device holds no command of
    /// the LUN any more.
    fn device_reset(shared: ArcBorrow<'_, Shared>, cmd: &ResetCmd<Self>) -> EhResult {
        let shared: Arc<Shared> = shared.into();
        let check = |s: &Shared| {
            harvest_all(s);
            let held = cmd.lun_held();
            if !held {
                // A command seen given back may still be finishing under its
                // queue's lock: wait for it.
                harvest_all(s);
            }
            success_if(!held)
        };
        if let Some(why) = broken(&shared) {
            return reset_then(&shared, why, check);
        }
        Shared::count(&shared.stats.lun_resets);
        let req = TmfReq::new(
            Tmf::LogicalUnitReset,
            cmd.target() as u8,
            cmd.lun() as u16,
            0,
        );
        tmf_then(&shared, req, check)
    }

    /// Resets the device (in the reset work, which this waits for). Every
    /// command comes back, even when the device is given up.
    fn host_reset(shared: ArcBorrow<'_, Shared>) -> EhResult {
        let shared: Arc<Shared> = shared.into();
        Shared::count(&shared.stats.host_resets);
        reset_then(&shared, Reason::HostReset, |s| {
            success_if(s.recovery.lock().is_live())
        })
    }
}

/// A command arrived while the device has no queues: during a reset or a
/// sleep the midlayer retries it later; a dead device fails it.
fn no_queues(shared: &Shared, cmd: OwnedCmd<RvirtioScsi>) -> Result<(), OwnedCmd<RvirtioScsi>> {
    let state = shared.recovery.lock().state();
    if matches!(state, State::Resetting(_) | State::Suspended) {
        Err(cmd)
    } else {
        cmd.finish(proto::did::NO_CONNECT, 0, 0, &[]);
        Ok(())
    }
}

fn success_if(ok: bool) -> EhResult {
    if ok {
        EhResult::Success
    } else {
        EhResult::Failed
    }
}

/// Why the device needs a reset now, if it does: NEEDS_RESET first, then a
/// lost DRIVER_OK.
fn broken(shared: &Shared) -> Option<Reason> {
    let st = shared.dev.with(|dev| dev.status())?;
    match recovery::timeout_verdict(status::health(st), 0, u32::MAX) {
        TimeoutVerdict::Reset(why) => Some(why),
        TimeoutVerdict::Wait => None,
    }
}

/// Resets the device for `why` (unless a reset is already pending, or the
/// device is dead or going away), waits for the reset work, then decides
/// with `check`.
fn reset_then(shared: &Arc<Shared>, why: Reason, check: impl Fn(&Shared) -> EhResult) -> EhResult {
    schedule_reset(shared, why);
    work::flush(&shared.reset_work);
    check(shared)
}

/// What became of a task management request.
enum TmfOutcome {
    /// The device answered.
    Answered(TmfResp),
    /// A reset took it back unanswered.
    Reset,
    /// No answer within `tmf_timeout`.
    TimedOut,
    /// It could not be sent (no memory, no queue, the queue is full).
    NotSent,
}

/// Sends `req` on the control queue and waits for the outcome.
fn send_tmf(shared: &Shared, req: TmfReq) -> TmfOutcome {
    // The error handler may be what frees memory: do not wait for reclaim.
    let Ok(tmf) = Arc::pin_init(
        pin_init!(TmfCmd {
            req,
            resp: DeviceWritable::default(),
            outcome: AtomicU8::new(TMF_PENDING),
            done <- Completion::new(),
        }),
        GFP_NOWAIT,
    ) else {
        return TmfOutcome::NotSent;
    };
    {
        let mut ctrl = shared.ctrl.lock();
        let Some(vq) = ctrl.as_mut() else {
            return TmfOutcome::NotSent;
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
        TMF_ANSWERED => TmfOutcome::Answered(tmf.resp.get()),
        _ => TmfOutcome::Reset,
    }
}

/// Sends a task management request; if the device carried it out, or a
/// reset (after no answer in time) took everything back, decides with
/// `check`, which looks at whether the device still holds the commands
/// concerned.
fn tmf_then(shared: &Arc<Shared>, req: TmfReq, check: impl Fn(&Shared) -> EhResult) -> EhResult {
    match send_tmf(shared, req) {
        // The device returns the commands concerned before it answers.
        TmfOutcome::Answered(resp) if resp.succeeded() => check(shared),
        TmfOutcome::Answered(_) | TmfOutcome::NotSent => EhResult::Failed,
        TmfOutcome::Reset => check(shared),
        TmfOutcome::TimedOut => {
            Shared::count(&shared.stats.tmf_timeouts);
            shared.dev.with(|dev| {
                vdev_warn!(
                    dev,
                    "no answer to task management in {} s",
                    params::tmf_timeout()
                )
            });
            reset_then(shared, Reason::TmfTimeout, check)
        }
    }
}

// ---------------------------------------------------------------------------
// The reset work.

/// Resets the device and brings it back, or gives up. Runs on
/// [`RESET_WQ`]; the state machine makes sure it is queued once and never
/// touches a device that `remove` has claimed.
fn reset_device(shared: &Arc<Shared>) {
    let start = {
        let mut r = shared.recovery.lock();
        let start = r.reset_started(time::jiffies());
        shared.publish_state(r.state());
        start
    };
    let (why, give_up) = match start {
        Start::Proceed(why) => (why, false),
        Start::GiveUp(why) => (why, true),
        Start::Abort => return,
    };
    // Revoked only after remove has waited for this work.
    shared.dev.with(|dev| {
        Shared::count(&shared.stats.resets);
        let n = shared.stats.resets.load(Ordering::Relaxed);
        if give_up {
            vdev_err!(
                dev,
                "reset {} ({}): over the budget of {} resets in {} s, giving up",
                n,
                why.as_str(),
                params::reset_budget(),
                params::reset_window()
            );
        } else {
            vdev_warn!(dev, "reset {}: {}", n, why.as_str());
        }
        if shared.faults {
            let ms = shared.stats.reset_delay_ms.load(Ordering::Relaxed);
            if ms != 0 {
                time::sleep_ms(ms);
            }
        }
        let reset = take_back(dev, shared, give_up);
        let finish = if give_up {
            Finish::GaveUp
        } else {
            let ok = bring_back(dev, shared, reset);
            let mut r = shared.recovery.lock();
            let finish = r.reset_finished(ok);
            shared.publish_state(r.state());
            finish
        };
        if finish == Finish::GaveUp {
            give_up_device(dev, shared);
        }
    });
}

/// Finishes what the device returned, resets it, and takes back what it
/// still held: commands come back with `DID_RESET` for the midlayer to
/// retry, or, if `give_up`, fail with `DID_NO_CONNECT`; task management
/// requests come back unanswered; event buffers are kept for later. The
/// queues are deleted; the returned proof lets them be created again.
fn take_back<'a>(
    dev: &'a Device<RvirtioScsi>,
    shared: &Arc<Shared>,
    give_up: bool,
) -> virtio::DeviceReset<'a> {
    for slot in shared.vqs.iter() {
        if let Some(vq) = slot.lock().as_mut() {
            vq.disable_cb();
            drain(vq);
        }
    }
    let mut vqs = KVec::with_capacity(shared.vqs.len() + 2, GFP_KERNEL).unwrap_or_default();
    let reset = dev.reset();
    // From here the device owns nothing.
    let mut keep = |vq: Vq| {
        if vqs.push(vq, GFP_KERNEL).is_err() {
            vdev_err!(dev, "out of memory deleting virtqueues");
        }
    };
    for slot in shared.vqs.iter() {
        // Finished under the queue's lock, like every completion.
        let taken = slot.lock().take().map(|mut vq| {
            drain(&mut vq);
            while let Some(cmd) = vq.detach_unused(&reset) {
                if give_up {
                    Shared::count(&shared.stats.failed);
                    cmd.finish(proto::did::NO_CONNECT, 0, 0, &[]);
                } else {
                    Shared::count(&shared.stats.requeued);
                    cmd.finish(proto::did::RESET, 0, 0, &[]);
                }
            }
            vq
        });
        if let Some(vq) = taken {
            keep(vq.into_untyped());
        }
    }
    let ctrl = shared.ctrl.lock().take();
    if let Some(mut vq) = ctrl {
        answer_tmfs(&mut vq);
        while let Some(tmf) = vq.detach_unused(&reset) {
            tmf.0.finish(TMF_RESET);
        }
        keep(vq.into_untyped());
    }
    let (events, filled) = {
        let mut events = shared.events.lock();
        let Events { vq, done, idle, .. } = &mut *events;
        let vq = vq.take().map(|mut vq| {
            // Events the device posted but nobody collected yet still count.
            while let Some((buf, _len)) = vq.get_buf() {
                stash(done, buf);
            }
            while let Some(buf) = vq.detach_unused(&reset) {
                stash(idle, buf);
            }
            vq
        });
        (
            vq,
            !events.stopped && events.done.iter().any(Option::is_some),
        )
    };
    if let Some(vq) = events {
        keep(vq.into_untyped());
    }
    if filled {
        queue_event_work(shared);
    }
    if dev.del_vqs(vqs).is_err() {
        vdev_err!(dev, "virtqueues could not be deleted");
    }
    reset
}

/// Renegotiates the features, creates the queues again, sets DRIVER_OK and
/// posts the event buffers again.
fn bring_back(
    dev: &Device<RvirtioScsi>,
    shared: &Arc<Shared>,
    reset: virtio::DeviceReset<'_>,
) -> bool {
    if let Err(e) = dev.restart(reset) {
        vdev_err!(
            dev,
            "reset: the device did not accept its features again ({:?})",
            e
        );
        return false;
    }
    if let Err(e) = bring_up(dev, shared) {
        vdev_err!(
            dev,
            "reset: could not create the virtqueues again ({:?})",
            e
        );
        return false;
    }
    true
}

/// Creates the queues of a reset device, sets DRIVER_OK and posts the event
/// buffers kept meanwhile (after a reset, and at resume).
fn bring_up(dev: &Device<RvirtioScsi>, shared: &Arc<Shared>) -> Result {
    create_vqs(dev, shared)?;
    write_sizes(dev);
    dev.ready();
    repost_idle(shared);
    Ok(())
}

/// Posts the event buffers a reset or a sleep kept.
fn repost_idle(shared: &Shared) {
    loop {
        let buf = shared.events.lock().idle.iter_mut().find_map(Option::take);
        let Some(buf) = buf else {
            break;
        };
        repost(shared, buf);
    }
}

/// The device is dead: its queues are gone, so every command fails; now its
/// LUNs go offline (in [`OFFLINE_WORK`]), so that I/O fails before it
/// reaches the driver.
fn give_up_device(dev: &Device<RvirtioScsi>, shared: &Arc<Shared>) {
    Shared::count(&shared.stats.give_ups);
    vdev_err!(
        dev,
        "giving up on the device: its LUNs go offline, all I/O fails"
    );
    let _ = RESET_WQ.enqueue::<_, OFFLINE_WORK>(shared.clone());
}

/// Tells the device the sense and CDB sizes the driver uses.
fn write_sizes(dev: &Device<RvirtioScsi>) {
    dev.write_u32(proto::config::SENSE_SIZE, proto::SENSE_SIZE as u32);
    dev.write_u32(proto::config::CDB_SIZE, proto::CDB_SIZE as u32);
}

// ---------------------------------------------------------------------------
// The device.

impl virtio::Driver for RvirtioScsi {
    type Shared = Shared;
    type Data = ScsiDevice;

    const NAME: &'static CStr = c_str!("rvirtio_scsi");
    const ID_TABLE: &'static IdTable = &IdTable::new(&[(
        virtio::bindings::VIRTIO_ID_SCSI,
        virtio::bindings::VIRTIO_DEV_ANY_ID,
    )]);
    /// As the C driver's, but T10_PI (QEMU 7.2 cannot emulate it).
    const FEATURES: &'static [u32] = &[proto::feature::HOTPLUG, proto::feature::CHANGE];

    fn vq_done(shared: ArcBorrow<'_, Shared>, index: u32) {
        if index >= proto::vq::FIRST_REQUEST {
            if take_shot(shared.faults, &shared.stats.drop_irqs) {
                // Fault injection: a lost interrupt. The responses stay on
                // the used ring until a timeout harvests them.
                return;
            }
            harvest(&shared, index - proto::vq::FIRST_REQUEST);
        } else if index == proto::vq::EVENT {
            events_done(shared);
        } else if let Some(vq) = shared.ctrl.lock().as_mut() {
            answer_tmfs(vq);
        }
    }

    /// A device that sets NEEDS_RESET says so with a config change.
    fn config_changed(dev: &Device<Self>, data: &ScsiDevice) {
        if status::health(dev.status()) == status::Health::NeedsReset {
            schedule_reset(&data.shared, Reason::NeedsReset);
        }
    }

    fn probe(dev: &Device<Self>) -> Result<ScsiDevice> {
        if !dev.has_config_access() {
            vdev_err!(dev, "probe failure: config access disabled");
            return Err(EINVAL);
        }
        use proto::config as off;
        let cfg = proto::RawConfig {
            num_queues: dev.read_u32(off::NUM_QUEUES),
            seg_max: dev.read_u32(off::SEG_MAX),
            max_sectors: dev.read_u32(off::MAX_SECTORS),
            cmd_per_lun: dev.read_u32(off::CMD_PER_LUN),
            max_target: dev.read_u16(off::MAX_TARGET),
            max_lun: dev.read_u32(off::MAX_LUN),
        };
        let nreq = proto::host_shape(&cfg, nr_cpu_ids(), 1).request_queues as usize;
        let npoll = params::poll_queues().min(nreq.saturating_sub(1) as u32) as usize;
        let mut slots = KVec::with_capacity(nreq, GFP_KERNEL)?;
        for _ in 0..nreq {
            slots.push(
                KBox::pin_init(
                    IrqSpinLock::new(
                        None,
                        c_str!("rvirtio_scsi_vq"),
                        kernel::static_lock_class!(),
                    ),
                    GFP_KERNEL,
                )?,
                GFP_KERNEL,
            )?;
        }
        let recovery = Recovery::new(
            params::reset_budget() as usize,
            time::secs_to_jiffies(params::reset_window()),
        );
        let shared = Arc::pin_init(
            try_pin_init!(Shared {
                vqs: slots,
                poll_queues: npoll,
                ctrl <- IrqSpinLock::new(
                    None,
                    c_str!("rvirtio_scsi_ctrl"),
                    kernel::static_lock_class!()
                ),
                events <- IrqSpinLock::new(
                    Events {
                        vq: None,
                        done: Default::default(),
                        idle: Default::default(),
                        stopped: false,
                    },
                    c_str!("rvirtio_scsi_events"),
                    kernel::static_lock_class!()
                ),
                event_work <- kernel::new_work!("rvirtio_scsi::event_work"),
                recovery <- IrqSpinLock::new(
                    recovery,
                    c_str!("rvirtio_scsi_recovery"),
                    kernel::static_lock_class!()
                ),
                reset_work <- kernel::new_work!("rvirtio_scsi::reset_work"),
                offline_work <- kernel::new_work!("rvirtio_scsi::offline_work"),
                host <- new_mutex!(None, "rvirtio_scsi::host"),
                dev: dev.to_ref(),
                stats: Arc::new(Stats::default(), GFP_KERNEL)?,
                faults: params::fault_inject(),
            }? Error),
            GFP_KERNEL,
        )?;
        create_vqs(dev, &shared)?;
        write_sizes(dev);

        let ring = shared.vqs[0].lock().as_ref().map_or(1, |vq| vq.num_free());
        let shape = proto::host_shape(&cfg, nr_cpu_ids(), ring);
        let hcfg = HostConfig {
            can_queue: shape.can_queue,
            cmd_per_lun: shape.cmd_per_lun,
            sg_tablesize: shape.sg_tablesize,
            max_sectors: shape.max_sectors,
            max_id: shape.max_id,
            max_lun: shape.max_lun,
            max_cmd_len: proto::CDB_SIZE as u32,
            nr_hw_queues: nreq as u32,
            poll_queues: npoll as u32,
        };
        let mut host = match Host::new(shared.clone(), &hcfg) {
            Ok(host) => host,
            Err(e) => {
                delete_vqs(dev, &shared);
                return Err(e);
            }
        };
        let name = match CString::try_from_fmt(fmt!("host{}", host.number())) {
            Ok(name) => name,
            Err(e) => {
                drop(host);
                delete_vqs(dev, &shared);
                return Err(e);
            }
        };
        if let Err(e) = host.add(dev.as_dev()) {
            drop(host);
            delete_vqs(dev, &shared);
            return Err(e);
        }
        *shared.host.lock() = host.host_ref();
        let debugfs = {
            DEBUGFS.with(|root| {
                Counters::new(&name, Some(root), shared.stats.clone(), |f, s| {
                    f.u64(c_str!("timeouts"), &s.timeouts);
                    f.u64(c_str!("lost_interrupts"), &s.lost_interrupts);
                    f.u64(c_str!("resets"), &s.resets);
                    f.u64(c_str!("requeued"), &s.requeued);
                    f.u64(c_str!("failed"), &s.failed);
                    f.u64(c_str!("give_ups"), &s.give_ups);
                    f.u64(c_str!("polled"), &s.polled);
                    f.u64(c_str!("aborts"), &s.aborts);
                    f.u64(c_str!("lun_resets"), &s.lun_resets);
                    f.u64(c_str!("tmf_timeouts"), &s.tmf_timeouts);
                    f.u64(c_str!("host_resets"), &s.host_resets);
                    f.u64(c_str!("suspends"), &s.suspends);
                    f.u32(c_str!("state"), &s.state, false);
                    if params::fault_inject() {
                        f.u32(c_str!("drop_irqs"), &s.drop_irqs, true);
                        f.u32(c_str!("inject_malformed"), &s.inject_malformed, true);
                        f.u32(c_str!("inject_reset"), &s.inject_reset, true);
                        f.u32(c_str!("reset_delay_ms"), &s.reset_delay_ms, true);
                    }
                })
            })
        };
        dev.ready();
        if dev.has_feature(proto::feature::HOTPLUG) {
            post_event_buffers(&shared);
        }
        host.scan();
        Ok(ScsiDevice {
            host,
            shared,
            debugfs,
        })
    }

    /// Removes the host while the queues still work (the midlayer flushes
    /// caches and waits for commands; its error handling may still reset
    /// the device), then claims the device from recovery, resets it and
    /// deletes the queues.
    fn remove(dev: &Device<Self>, data: ScsiDevice) {
        let ScsiDevice {
            host,
            shared,
            debugfs,
        } = data;
        // No event work is queued from now on; wait for a running one.
        shared.events.lock().stopped = true;
        work::flush(&shared.event_work);
        work::flush(&shared.offline_work);
        drop(host);
        {
            let mut r = shared.recovery.lock();
            r.remove();
            shared.publish_state(r.state());
        }
        // A queued reset runs and sees Deleting; a running one finishes.
        work::flush(&shared.reset_work);
        drop(debugfs);
        delete_vqs(dev, &shared);
        // Queued meanwhile (an event interrupt, a giving-up reset): they find
        // the host gone and do nothing, but must not outlive the module.
        work::flush(&shared.event_work);
        work::flush(&shared.offline_work);
    }

    /// System sleep. The LUNs are suspended first (the midlayer quiesces
    /// them), so the device should hold nothing; what it still holds comes
    /// back with `DID_RESET` and is retried after the resume. A dead device
    /// needs nothing.
    fn freeze(dev: &Device<Self>, data: &ScsiDevice) -> Result {
        let shared = &data.shared;
        let freeze = {
            let mut r = shared.recovery.lock();
            let freeze = r.suspend();
            shared.publish_state(r.state());
            freeze
        };
        if !freeze {
            return Ok(());
        }
        // A queued reset now aborts; a running one finishes first.
        work::flush(&shared.reset_work);
        if shared.recovery.lock().state() != State::Suspended {
            // The running reset gave up: the device is dead.
            return Ok(());
        }
        Shared::count(&shared.stats.suspends);
        take_back(dev, shared, false);
        Ok(())
    }

    /// Wake-up: the virtio core has reset the device and negotiated its
    /// features; create the queues and post the event buffers again. A
    /// device that does not come back is given up.
    fn restore(dev: &Device<Self>, data: &ScsiDevice) -> Result {
        let shared = &data.shared;
        if shared.recovery.lock().state() != State::Suspended {
            return Ok(());
        }
        let result = bring_up(dev, shared);
        {
            let mut r = shared.recovery.lock();
            r.resume(result.is_ok());
            shared.publish_state(r.state());
        }
        if let Err(e) = result {
            vdev_err!(dev, "resume: could not create the virtqueues ({:?})", e);
            give_up_device(dev, shared);
        }
        result
    }
}

// ---------------------------------------------------------------------------
// Events.

/// Posts the event buffers (at probe). A buffer that cannot be allocated or
/// posted is left out: the device then reports EVENTS_MISSED.
fn post_event_buffers(shared: &Shared) {
    for _ in 0..proto::EVENT_BUFFERS {
        let Ok(buf) = KBox::new(EventBuf::default(), GFP_KERNEL) else {
            return;
        };
        repost(shared, buf);
    }
}

/// Keeps `buf` in a free entry of `slots`: there is one for every buffer
/// there is.
fn stash(slots: &mut [Option<KBox<EventBuf>>; proto::EVENT_BUFFERS], buf: KBox<EventBuf>) {
    if let Some(free) = slots.iter_mut().find(|b| b.is_none()) {
        *free = Some(buf);
    }
}

/// Gives `buf` back to the device, unless the driver is stopping.
fn repost(shared: &Shared, mut buf: KBox<EventBuf>) {
    buf.ev.set(proto::Event::default());
    let mut events = shared.events.lock();
    if events.stopped {
        return;
    }
    match events.vq.as_mut() {
        Some(vq) => {
            if vq.add(buf).is_ok() {
                vq.kick();
            }
        }
        None => {
            // A reset is running: it posts the buffer once the queue is back.
            stash(&mut events.idle, buf);
        }
    }
}

/// The device filled event buffers: keep them for the work item.
fn events_done(shared: ArcBorrow<'_, Shared>) {
    let queue = {
        let mut events = shared.events.lock();
        let Events {
            vq, done, stopped, ..
        } = &mut *events;
        if let Some(vq) = vq.as_mut() {
            while let Some((buf, _len)) = vq.get_buf() {
                // There is a free entry for every buffer there is.
                stash(done, buf);
            }
        }
        !*stopped && done.iter().any(Option::is_some)
    };
    if queue {
        queue_event_work(&shared.into());
    }
}

/// Queues the event work (a no-op if it is queued already).
fn queue_event_work(shared: &Arc<Shared>) {
    let _ = workqueue::system_freezable().enqueue::<_, EVENT_WORK>(shared.clone());
}

/// Handles the filled event buffers, then posts them again, as
/// `virtscsi_handle_event` does.
fn handle_events(shared: &Shared) {
    let host = shared.host.lock().clone();
    loop {
        let buf = shared.events.lock().done.iter_mut().find_map(Option::take);
        let Some(buf) = buf else {
            return;
        };
        let (missed, action) = proto::decode_event(&buf.ev.get());
        if let Some(host) = host.as_ref() {
            host.with(|h| {
                if missed {
                    h.scan_host();
                }
                act(h, action);
            });
        }
        repost(shared, buf);
    }
}

/// Carries out one event's action on the host.
fn act(h: &scsi::HostCtl, action: proto::EventAction) {
    use proto::EventAction as A;
    match action {
        A::None => {}
        A::ScanTarget { target } => h.scan_target(target),
        A::AddLun { target, lun } => {
            if let Err(e) = h.add_lun(target, u64::from(lun)) {
                pr_warn!(
                    "rvirtio_scsi: scsi {}:0:{}:{} could not be added ({:?})\n",
                    h.number(),
                    target,
                    lun,
                    e
                );
            }
        }
        A::RemoveLun { target, lun } => {
            if !h.remove_lun(target, u64::from(lun)) {
                pr_err!(
                    "rvirtio_scsi: SCSI device {} 0 {} {} not found\n",
                    h.number(),
                    target,
                    lun
                );
            }
        }
        A::RescanLun { target, lun } => {
            if !h.rescan_lun(target, u64::from(lun)) {
                pr_err!(
                    "rvirtio_scsi: SCSI device {} 0 {} {} not found\n",
                    h.number(),
                    target,
                    lun
                );
            }
        }
        A::Unsupported { event, reason } => {
            pr_info!(
                "rvirtio_scsi: unsupported event {:#x} (reason {:#x})\n",
                event,
                reason
            );
        }
    }
}

/// Creates the control, event and request queues.
fn create_vqs(dev: &Device<RvirtioScsi>, shared: &Arc<Shared>) -> Result {
    let n = shared.vqs.len();
    let mut specs = KVec::with_capacity(n + 2, GFP_KERNEL)?;
    for name in [c_str!("control"), c_str!("event")] {
        specs.push(
            VqSpec {
                name: CString::try_from_fmt(fmt!("{}", name))?,
                callback: true,
            },
            GFP_KERNEL,
        )?;
    }
    for i in 0..n {
        // Poll queues, the last ones, have no interrupt.
        let polled = i >= n - shared.poll_queues;
        specs.push(
            VqSpec {
                name: CString::try_from_fmt(fmt!(
                    "{}",
                    if polled { "request_poll" } else { "request" }
                ))?,
                callback: !polled,
            },
            GFP_KERNEL,
        )?;
    }
    let mut vqs = dev
        .find_vqs(shared, specs, proto::vq::FIRST_REQUEST)?
        .into_iter();
    *shared.ctrl.lock() = vqs.next().map(Vq::into_typed);
    shared.events.lock().vq = vqs.next().map(Vq::into_typed);
    for (slot, vq) in shared.vqs.iter().zip(vqs) {
        *slot.lock() = Some(vq.into_typed());
    }
    Ok(())
}

/// Resets the device, fails what it still held, deletes the queues (probe
/// failure, remove).
fn delete_vqs(dev: &Device<RvirtioScsi>, shared: &Arc<Shared>) {
    take_back(dev, shared, true);
}
