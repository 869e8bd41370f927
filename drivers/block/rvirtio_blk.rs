// SPDX-License-Identifier: GPL-2.0

//! rvirtio_blk: a virtio-blk driver that recovers requests the device never
//! returns.
//!
//! It binds to virtio block devices and serves them as `vda`, `vdb`, ...,
//! like the C `virtio_blk`:
//!
//! - READ, WRITE, FLUSH (when the device offers `VIRTIO_BLK_F_FLUSH`, the
//!   disk has a volatile write cache) and GET_ID (sysfs `serial`);
//! - multi-segment requests within the device's `seg_max`, `size_max` and
//!   `blk_size`, and its topology; read-only devices.
//!
//! Unlike the C driver it has a timeout handler, and recovers by reset:
//!
//! 1. *Harvest first*: a timeout first takes what the device finished off the
//!    used ring (a lost interrupt), and completes the request if it is there.
//! 2. *NEEDS_RESET before DRIVER_OK*: then it reads the device status; a
//!    broken device, or one that lost DRIVER_OK, is reset. A healthy one gets
//!    more time, up to `timeouts_before_reset` expiries in a row.
//! 3. *Never abandon a request the device owns*: the driver cannot complete
//!    a request while the device holds it (the virtqueue holds its only
//!    handle); the reset takes it back, then requeues or fails it.
//! 4. *Recover by reset*: one work item per device, guarded by the
//!    [`Recovery`] state machine against `remove`; past `reset_budget` resets
//!    in `reset_window`, or if the device does not come back, the disk is
//!    marked dead and all I/O fails.
//! 5. *Ordering*: only a request the device returned completes successfully.
//!
//! A config change that is not NEEDS_RESET re-reads the capacity: a device
//! resized by the host resizes the disk.
//!
//! With `VIRTIO_BLK_F_MQ` it uses one virtqueue per hardware queue, up to
//! the CPUs and `num_request_queues`, mapped to CPUs by interrupt affinity;
//! the last `poll_queues` of them have no interrupt and serve polled I/O.
//!
//! Like the C driver it also serves DISCARD, WRITE_ZEROES (with and without
//! unmap) and SECURE_ERASE, a writable `cache_type` (CONFIG_WCE),
//! `HDIO_GETGEO`, and system sleep (freeze and restore, built on the same
//! take-back path as a reset). ZONED is not offered.
//!
//! The reading order follows the life of a device: per-device and
//! per-request data, the request path, timeouts and the reset work, then
//! probe and remove. This file holds no `unsafe`.

use crate::lib::cpumask::nr_cpu_ids;
use crate::lib::debugfs::{take_shot, Counters, GlobalDir};
use crate::lib::irqlock::IrqSpinLock;
use crate::lib::recovery::{self, Finish, Reason, Recovery, Start, State, TimeoutVerdict};
use crate::lib::work::{self, GlobalQueue};
use crate::lib::{time, work::WQ_MEM_RECLAIM, work::WQ_UNBOUND};
use crate::mq::{self, Busy, Disk, DiskAttr, DiskConfig, DiskRef, Limits, Op, Owned, QueueRef};
use crate::mq::{Batch, QueueCtl, QueueMap, Request, RqList, Status, TagSetConfig, TimeoutAction};
use crate::params;
use crate::virtio::Virtqueue;
use crate::virtio::{self, status, Chain, Device, DeviceRef, DeviceWritable, IdTable, VqSpec};
use crate::virtio_blk_proto::{self as proto, feature, BlockOp, OutHdr, Outcome};
use crate::{vdev_err, vdev_info, vdev_notice, vdev_warn};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::{new_mutex, Arc, ArcBorrow, Mutex};
use kernel::workqueue::{Work, WorkItem};
use kernel::{c_str, fmt};

// ---------------------------------------------------------------------------
// Module-wide state.

/// The block major, registered at module load.
static MAJOR: AtomicU32 = AtomicU32::new(0);
/// The workqueue reset work runs on.
static RESET_WQ: GlobalQueue = GlobalQueue::new();
/// `/sys/kernel/debug/rvirtio_blk/`.
static DEBUGFS: GlobalDir = GlobalDir::new();

crate::declare_disk_ops!(DISK_OPS, RvirtioBlk);

/// Sets up what every device shares; undone by [`module_exit`].
pub(crate) fn module_init(major: u32) -> Result {
    MAJOR.store(major, Ordering::Relaxed);
    RESET_WQ.alloc(c_str!("rvirtio_blk_reset"), WQ_UNBOUND | WQ_MEM_RECLAIM)?;
    DEBUGFS.create(c_str!("rvirtio_blk"));
    Ok(())
}

/// Undoes [`module_init`], once every device is gone.
pub(crate) fn module_exit() {
    RESET_WQ.destroy();
    DEBUGFS.remove();
}

// ---------------------------------------------------------------------------
// Per-device and per-request data.

/// The driver.
pub(crate) struct RvirtioBlk;

/// Per-request data: the header the device reads and the status byte it
/// writes. The data itself is the request's mapped pages, or for discard,
/// write-zeroes and secure erase, the ranges.
#[derive(Default)]
pub(crate) struct BlkRequest {
    hdr: OutHdr,
    status: DeviceWritable<u8>,
    ranges: KVec<proto::Range>,
    /// Fault injection: send this request without its status byte and data,
    /// which the device must treat as malformed.
    malformed: bool,
}

/// A request virtqueue: `None` while the device has no queues (during a
/// reset, after giving up, during remove); requests then fail.
type ReqQueue = IrqSpinLock<Option<Virtqueue<Owned<RvirtioBlk>>>>;

/// Counters and fault-injection knobs, shown in debugfs.
#[derive(Default)]
pub(crate) struct Stats {
    timeouts: AtomicU64,
    lost_interrupts: AtomicU64,
    resets: AtomicU64,
    requeued: AtomicU64,
    failed: AtomicU64,
    give_ups: AtomicU64,
    /// Requests completed by polling.
    polled: AtomicU64,
    /// System sleeps the device was frozen for.
    suspends: AtomicU64,
    /// 0 live, 1 resetting, 2 dead, 3 deleting, 4 suspended.
    state: AtomicU32,
    /// Drop the next N virtqueue notifications.
    drop_irqs: AtomicU32,
    /// Send the next request malformed.
    inject_malformed: AtomicU32,
    /// Reset the device at the next request.
    inject_reset: AtomicU32,
    /// Hold every reset this long (ms), quiesced, before it touches the
    /// device: lets tests remove the device while a reset is running.
    reset_delay_ms: AtomicU32,
}

/// What the request path, virtqueue callbacks, timeouts and the reset work
/// share.
#[pin_data]
pub(crate) struct Shared {
    vqs: KVec<Pin<KBox<ReqQueue>>>,
    #[pin]
    recovery: IrqSpinLock<Recovery>,
    #[pin]
    reset_work: Work<Shared, RESET_WORK>,
    #[pin]
    config_work: Work<Shared, CONFIG_WORK>,
    dev: DeviceRef<RvirtioBlk>,
    /// Set once the disk exists.
    #[pin]
    queue: Mutex<Option<QueueRef>>,
    stats: Arc<Stats>,
    faults: bool,
    /// The last `poll_queues` of `vqs` have no interrupt.
    poll_queues: usize,
    /// A discard may carry one range per bio.
    multi_range_discard: bool,
    /// The cache mode written through `cache_type` (0 or 1), or
    /// [`WCE_UNSET`]: written again after a reset or resume, which make the
    /// device forget it.
    wce: AtomicU32,
}

/// [`Shared::wce`] when the user never wrote `cache_type`.
const WCE_UNSET: u32 = u32::MAX;

/// The work item ids of [`Shared`]'s two work items.
const RESET_WORK: u64 = 0;
const CONFIG_WORK: u64 = 1;

kernel::impl_has_work! {
    impl HasWork<Self, RESET_WORK> for Shared { self.reset_work }
    impl HasWork<Self, CONFIG_WORK> for Shared { self.config_work }
}

impl WorkItem<RESET_WORK> for Shared {
    type Pointer = Arc<Shared>;

    fn run(this: Arc<Shared>) {
        // Nothing it allocates may wait for writeback to this device.
        work::no_io(|| reset_device(&this));
    }
}

impl WorkItem<CONFIG_WORK> for Shared {
    type Pointer = Arc<Shared>;

    fn run(this: Arc<Shared>) {
        update_capacity(&this);
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
/// dead or going away. Safe in any context.
fn schedule_reset(shared: &Arc<Shared>, why: Reason) {
    let queue = {
        let mut r = shared.recovery.lock();
        let queue = r.request_reset(why);
        shared.publish_state(r.state());
        queue
    };
    if queue {
        // The state machine queues the work only once; the workqueue exists
        // for as long as any device does.
        let _ = RESET_WQ.enqueue::<_, RESET_WORK>(shared.clone());
    }
}

/// What probe builds and remove tears down.
pub(crate) struct BlkDevice {
    shared: Arc<Shared>,
    disk: Disk<RvirtioBlk>,
    _debugfs: Counters<Stats>,
}

// ---------------------------------------------------------------------------
// The request path.

impl virtio::Token for Owned<RvirtioBlk> {
    /// Header, then the data (read or written by the device), then status.
    /// Inlined into `Virtqueue::add`, which runs it under the queue's lock.
    #[inline(always)]
    fn describe<'a>(rq: &'a Request<RvirtioBlk>, chain: &mut Chain<'a>) {
        let d = rq.data();
        chain.read(&d.hdr);
        if d.malformed {
            return;
        }
        if d.ranges.is_empty() {
            chain.sg(rq.mapped(), proto::device_writes_data(d.hdr.type_()));
        } else {
            chain.read_slice(&d.ranges);
        }
        chain.write(&d.status);
    }
}

fn block_op(op: Op) -> BlockOp {
    match op {
        Op::Read => BlockOp::Read,
        Op::Write => BlockOp::Write,
        Op::Flush => BlockOp::Flush,
        Op::DriverIn => BlockOp::GetId,
        Op::Discard => BlockOp::Discard,
        Op::WriteZeroes { .. } => BlockOp::WriteZeroes,
        Op::SecureErase => BlockOp::SecureErase,
        Op::Other(_) => BlockOp::Unsupported,
    }
}

/// The ranges of a discard, write-zeroes or secure-erase request, or `None`
/// for another operation.
#[inline(always)]
fn ranges_of(
    shared: &Shared,
    rq: &Request<RvirtioBlk>,
    op: Op,
) -> Option<Result<KVec<proto::Range>>> {
    let unmap = match op {
        Op::Discard | Op::SecureErase => false,
        Op::WriteZeroes { unmap } => unmap,
        _ => return None,
    };
    Some(build_ranges(shared, rq, op, unmap))
}

/// The ranges of a discard-like request. A discard merged from several (when
/// the device takes several ranges) has one range per bio; anything else is
/// one contiguous range.
fn build_ranges(
    shared: &Shared,
    rq: &Request<RvirtioBlk>,
    op: Op,
    unmap: bool,
) -> Result<KVec<proto::Range>> {
    if op == Op::Discard && shared.multi_range_discard {
        let mut n = 0;
        rq.for_each_bio(|_, _| n += 1);
        let mut v = KVec::with_capacity(n, GFP_ATOMIC)?;
        let mut res = Ok(());
        rq.for_each_bio(|sector, sectors| {
            if res.is_ok() {
                res = v.push(proto::Range::new(sector, sectors, false), GFP_ATOMIC);
            }
        });
        res?;
        Ok(v)
    } else {
        let mut v = KVec::with_capacity(1, GFP_ATOMIC)?;
        v.push(
            proto::Range::new(rq.sector(), rq.bytes() >> 9, unmap),
            GFP_ATOMIC,
        )?;
        Ok(v)
    }
}

fn status_of(outcome: Outcome) -> Status {
    match outcome {
        Outcome::Ok => Status::OK,
        Outcome::Unsupported => Status::NOT_SUPPORTED,
        Outcome::IoError => Status::IO_ERROR,
    }
}

/// What [`prep`] made of a request.
enum Prep {
    /// Ready for its virtqueue.
    Ready(Owned<RvirtioBlk>),
    /// Not now.
    Busy(Busy<RvirtioBlk>),
    /// Ended already (an operation the device does not support).
    Ended,
}

/// Gets a started request ready for its virtqueue: the header, then the
/// ranges of a discard-like request or the mapped data, then the status.
#[inline(always)]
fn prep(shared: ArcBorrow<'_, Shared>, mut rq: Owned<RvirtioBlk>) -> Prep {
    let op = rq.op();
    // A driver-private request (GET_ID) arrives with its header set.
    if op != Op::DriverIn {
        match proto::header_for(block_op(op), rq.sector(), rq.ioprio()) {
            Some(hdr) => rq.data_mut().hdr = hdr,
            None => {
                rq.end(Status::NOT_SUPPORTED);
                return Prep::Ended;
            }
        }
    }
    match ranges_of(&shared, &rq, op) {
        Some(Ok(ranges)) => rq.data_mut().ranges = ranges,
        Some(Err(_)) => return Prep::Busy(Busy::Resource(rq)),
        None => {
            if !rq.data().ranges.is_empty() {
                rq.data_mut().ranges = KVec::new();
            }
            if rq.map_data().is_err() {
                return Prep::Busy(Busy::Resource(rq));
            }
        }
    }
    let d = rq.data_mut();
    d.status.set(proto::STATUS_UNSET);
    d.malformed = take_shot(shared.faults, &shared.stats.inject_malformed);
    if take_shot(shared.faults, &shared.stats.inject_reset) {
        schedule_reset(&shared.into(), Reason::Injected);
    }
    Prep::Ready(rq)
}

impl mq::Operations for RvirtioBlk {
    type QueueData = Shared;
    type RequestData = BlkRequest;

    fn queue_rq(
        shared: ArcBorrow<'_, Shared>,
        rq: Owned<Self>,
        last: bool,
    ) -> Result<(), Busy<Self>> {
        let rq = match prep(shared, rq) {
            Prep::Ready(rq) => rq,
            Prep::Busy(busy) => return Err(busy),
            Prep::Ended => return Ok(()),
        };
        let Some(slot) = shared.vqs.get(rq.hw_queue() as usize) else {
            rq.end(Status::IO_ERROR);
            return Ok(());
        };
        let mut guard = slot.lock();
        let Some(vq) = guard.as_mut() else {
            // No queues: the device is dead or going away.
            drop(guard);
            rq.end(Status::IO_ERROR);
            return Ok(());
        };
        if let Err((rq, err)) = vq.add(rq) {
            // Let the device work through what it has before we retry.
            vq.kick();
            return if err == ENOSPC {
                Err(Busy::Device(rq))
            } else if err == ENOMEM {
                Err(Busy::Resource(rq))
            } else {
                drop(guard);
                rq.end(Status::IO_ERROR);
                Ok(())
            };
        }
        if last {
            Virtqueue::kick_unlocked(guard);
        }
        Ok(())
    }

    const HAS_QUEUE_RQS: bool = true;

    /// A plug list's requests for one queue, as `virtio_queue_rqs` takes
    /// them: each prepared, then all added under one lock, with one kick.
    fn queue_rqs(shared: ArcBorrow<'_, Shared>, hw_queue: u32, batch: &mut Batch<'_, Self>) {
        let mut ready = RqList::new();
        for rq in batch {
            match prep(shared, rq) {
                Prep::Ready(rq) => ready.push(rq),
                Prep::Busy(Busy::Device(rq) | Busy::Resource(rq)) => rq.retry(),
                Prep::Ended => {}
            }
        }
        let Some(slot) = shared.vqs.get(hw_queue as usize) else {
            // Dropping `ready` fails what it holds.
            return;
        };
        let mut guard = slot.lock();
        let Some(vq) = guard.as_mut() else {
            // No queues: the device is dead or going away. The guard goes
            // first (it was declared last); then dropping `ready` fails what
            // it holds.
            return;
        };
        while let Some(rq) = ready.pop() {
            if let Err((rq, err)) = vq.add(rq) {
                if err == ENOSPC || err == ENOMEM {
                    rq.retry();
                } else {
                    rq.end(Status::IO_ERROR);
                }
            }
        }
        Virtqueue::kick_unlocked(guard);
    }

    fn commit_rqs(shared: ArcBorrow<'_, Shared>, hw_queue: u32) {
        if let Some(slot) = shared.vqs.get(hw_queue as usize) {
            if let Some(vq) = slot.lock().as_mut() {
                vq.kick();
            }
        }
    }

    /// Hardware queue `i` serves the CPUs that virtqueue `i`'s interrupt is
    /// affine to, as `blk_mq_virtio_map_queues` does for the C driver; without
    /// per-queue affinity, blk-mq's default spread.
    fn map_queues(shared: ArcBorrow<'_, Shared>, map: &mut QueueMap) {
        let mapped = shared.dev.with(|dev| dev.map_queues_by_affinity(map, 0));
        if mapped != Some(true) {
            map.map_default();
        }
    }

    fn complete(_shared: ArcBorrow<'_, Shared>, mut rq: Owned<Self>) {
        let status = status_of(proto::outcome(rq.data().status.get()));
        if !rq.data().ranges.is_empty() {
            rq.data_mut().ranges = KVec::new();
        }
        rq.end(status);
    }

    /// A poll queue: take what the device finished, as an interrupt would.
    fn poll(shared: ArcBorrow<'_, Shared>, hw_queue: u32) -> u32 {
        let (_, found) = harvest(&shared, hw_queue, None);
        if found != 0 {
            shared
                .stats
                .polled
                .fetch_add(u64::from(found), Ordering::Relaxed);
        }
        found
    }

    /// `HDIO_GETGEO`: the device's geometry, or the C driver's made-up one.
    fn geometry(shared: &Shared, capacity: u64) -> Result<mq::Geometry> {
        use proto::config as off;
        let (cylinders, heads, sectors) = shared
            .dev
            .with(|dev| {
                let chs = dev.has_feature(feature::GEOMETRY).then(|| {
                    (
                        dev.read_u16(off::GEOMETRY_CYLINDERS),
                        dev.read_u8(off::GEOMETRY_HEADS),
                        dev.read_u8(off::GEOMETRY_SECTORS),
                    )
                });
                proto::geometry(chs, capacity)
            })
            .ok_or(ENXIO)?;
        Ok(mq::Geometry {
            cylinders,
            heads,
            sectors,
        })
    }

    /// A request's timer expired: harvest, then look at the device's health,
    /// then wait or reset. The request itself is never ended here unless the
    /// device already returned it.
    fn timeout(shared: ArcBorrow<'_, Shared>, rq: &Request<Self>, expiries: u32) -> TimeoutAction {
        Shared::count(&shared.stats.timeouts);
        if harvest(&shared, rq.hw_queue(), Some(rq)).0 {
            Shared::count(&shared.stats.lost_interrupts);
            return TimeoutAction::Done;
        }
        if !shared.recovery.lock().is_live() {
            // A reset is pending or running (it will take the request back),
            // or the device is dead or going away (remove takes it back).
            return TimeoutAction::ResetTimer;
        }
        let Some(st) = shared.dev.with(|dev| dev.status()) else {
            return TimeoutAction::ResetTimer;
        };
        let verdict = recovery::timeout_verdict(
            status::health(st),
            expiries,
            params::timeouts_before_reset(),
        );
        if let TimeoutVerdict::Reset(why) = verdict {
            schedule_reset(&shared.into(), why);
        }
        TimeoutAction::ResetTimer
    }
}

/// Takes every request the device returned on queue `index` off the used
/// ring and completes it. Returns whether `target` was among them (it is
/// completed at once, bypassing fake-timeout injection, since its timeout
/// handler is the caller), and how many there were.
fn harvest(shared: &Shared, index: u32, target: Option<&Request<RvirtioBlk>>) -> (bool, u32) {
    let Some(slot) = shared.vqs.get(index as usize) else {
        return (false, 0);
    };
    let mut found = false;
    let mut count = 0;
    let mut guard = slot.lock();
    if let Some(vq) = guard.as_mut() {
        while let Some((rq, _len)) = vq.get_buf() {
            count += 1;
            if target.is_some_and(|t| core::ptr::eq::<Request<RvirtioBlk>>(&*rq, t)) {
                found = true;
                rq.complete_now();
            } else {
                rq.complete();
            }
        }
    }
    (found, count)
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
    let queue = shared.queue.lock().clone();
    let Some(queue) = queue else {
        return;
    };
    // Both handles are revoked only after remove has waited for this work.
    shared.dev.with(|dev| {
        queue.with(|q| {
            Shared::count(&shared.stats.resets);
            if give_up {
                vdev_err!(
                    dev,
                    "reset {} ({}): over the budget of {} resets in {} s, giving up",
                    shared.stats.resets.load(Ordering::Relaxed),
                    why.as_str(),
                    params::reset_budget(),
                    params::reset_window()
                );
            } else {
                vdev_warn!(
                    dev,
                    "reset {}: {}",
                    shared.stats.resets.load(Ordering::Relaxed),
                    why.as_str()
                );
            }
            q.quiesce();
            if shared.faults {
                let ms = shared.stats.reset_delay_ms.load(Ordering::Relaxed);
                if ms != 0 {
                    time::sleep_ms(ms);
                }
            }
            let reset = take_back_requests(dev, shared, give_up);
            let finish = if give_up {
                Finish::GaveUp
            } else {
                let ok = bring_back(dev, shared, reset);
                let mut r = shared.recovery.lock();
                let finish = r.reset_finished(ok);
                shared.publish_state(r.state());
                finish
            };
            // Dispatch again before telling anyone the disk is dead: marking
            // it dead reaches the filesystem, which may wait for I/O (under
            // s_umount) that only an unquiesced queue can fail.
            q.unquiesce();
            q.kick_requeue_list();
            if finish == Finish::GaveUp {
                give_up_device(dev, shared, q);
            }
        })
    });
}

/// Completes what the device finished, resets it, and takes back what it
/// still held: requeued, or failed if `fail_all` or out of retries. The
/// queues are deleted; the returned proof lets them be created again.
fn take_back_requests<'a>(
    dev: &'a Device<RvirtioBlk>,
    shared: &Shared,
    fail_all: bool,
) -> virtio::DeviceReset<'a> {
    for slot in shared.vqs.iter() {
        if let Some(vq) = slot.lock().as_mut() {
            vq.disable_cb();
            while let Some((rq, _len)) = vq.get_buf() {
                rq.complete();
            }
        }
    }
    let reset = dev.reset();
    // From here the device owns nothing.
    let mut vqs = KVec::new();
    for slot in shared.vqs.iter() {
        let taken = slot.lock().take();
        let Some(mut vq) = taken else {
            continue;
        };
        while let Some(rq) = vq.detach_unused(&reset) {
            let verdict = recovery::reclaim(rq.requeues(), params::request_retries());
            if !fail_all && verdict == recovery::Reclaim::Requeue {
                Shared::count(&shared.stats.requeued);
                rq.requeue();
            } else {
                Shared::count(&shared.stats.failed);
                rq.end(Status::IO_ERROR);
            }
        }
        if vqs.push(vq.into_untyped(), GFP_KERNEL).is_err() {
            vdev_err!(dev, "out of memory deleting virtqueues");
            return reset;
        }
    }
    if dev.del_vqs(vqs).is_err() {
        vdev_err!(dev, "virtqueues could not be deleted");
    }
    reset
}

/// Renegotiates the features, creates the queues again, sets DRIVER_OK.
fn bring_back(
    dev: &Device<RvirtioBlk>,
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

/// Creates the queues of a reset device, writes the cache mode again and
/// sets DRIVER_OK (after a reset, and at resume).
fn bring_up(dev: &Device<RvirtioBlk>, shared: &Arc<Shared>) -> Result {
    create_vqs(dev, shared)?;
    restore_cache_mode(dev, shared);
    dev.ready();
    Ok(())
}

/// Writes the cache mode the user chose through `cache_type` again: a reset
/// device starts from its default.
fn restore_cache_mode(dev: &Device<RvirtioBlk>, shared: &Shared) {
    let wce = shared.wce.load(Ordering::Relaxed);
    if wce != WCE_UNSET && dev.has_feature(feature::CONFIG_WCE) {
        dev.write_u8(proto::config::WRITEBACK, wce as u8);
    }
}

/// Marks the disk dead. The queues are gone, so every request, requeued or
/// new, already ends with an I/O error; now new I/O fails before it is even
/// queued. Called with the queue running.
fn give_up_device(dev: &Device<RvirtioBlk>, shared: &Shared, q: &QueueCtl) {
    Shared::count(&shared.stats.give_ups);
    vdev_err!(
        dev,
        "giving up on the device: the disk is dead, all I/O fails"
    );
    q.mark_dead();
}

// ---------------------------------------------------------------------------
// The device.

impl virtio::Driver for RvirtioBlk {
    type Shared = Shared;
    type Data = BlkDevice;

    const NAME: &'static CStr = c_str!("rvirtio_blk");
    const ID_TABLE: &'static IdTable = &IdTable::new(&[(
        virtio::bindings::VIRTIO_ID_BLOCK,
        virtio::bindings::VIRTIO_DEV_ANY_ID,
    )]);
    /// The C driver's features, but ZONED.
    const FEATURES: &'static [u32] = &[
        feature::SEG_MAX,
        feature::SIZE_MAX,
        feature::GEOMETRY,
        feature::RO,
        feature::BLK_SIZE,
        feature::FLUSH,
        feature::TOPOLOGY,
        feature::CONFIG_WCE,
        feature::MQ,
        feature::DISCARD,
        feature::WRITE_ZEROES,
        feature::SECURE_ERASE,
    ];

    /// The device returned requests: hand each back to blk-mq.
    fn vq_done(shared: ArcBorrow<'_, Shared>, index: u32) {
        if take_shot(shared.faults, &shared.stats.drop_irqs) {
            // Fault injection: a lost interrupt. The responses stay on the
            // used ring until a timeout harvests them.
            return;
        }
        let Some(slot) = shared.vqs.get(index as usize) else {
            return;
        };
        let mut guard = slot.lock();
        let Some(vq) = guard.as_mut() else {
            return;
        };
        loop {
            vq.disable_cb();
            while let Some((rq, _len)) = vq.get_buf() {
                rq.complete();
            }
            if vq.enable_cb() {
                break;
            }
        }
    }

    /// A config change that finds NEEDS_RESET resets at once; any other
    /// config change may be a new capacity.
    fn config_changed(dev: &Device<Self>, data: &BlkDevice) {
        if status::health(dev.status()) == status::Health::NeedsReset {
            schedule_reset(&data.shared, Reason::NeedsReset);
        } else {
            // Already queued: that run will read the new capacity too.
            let _ = RESET_WQ.enqueue::<_, CONFIG_WORK>(data.shared.clone());
        }
    }

    fn probe(dev: &Device<Self>) -> Result<BlkDevice> {
        if !dev.has_config_access() {
            vdev_err!(dev, "probe failure: config access disabled");
            return Err(EINVAL);
        }
        let shape = proto::disk_shape(&read_config(dev)).map_err(|e| {
            vdev_err!(dev, "refusing the device: {}", e);
            EINVAL
        })?;

        let num_queues = dev
            .has_feature(feature::MQ)
            .then(|| dev.read_u16(proto::config::NUM_QUEUES));
        let nvqs = proto::request_queues(num_queues, params::num_request_queues(), nr_cpu_ids())
            .map_err(|e| {
                vdev_err!(dev, "refusing the device: {}", e);
                EINVAL
            })? as usize;
        let npoll = proto::poll_queues(params::poll_queues(), nvqs as u32) as usize;
        vdev_info!(dev, "{}/0/{} default/read/poll queues", nvqs - npoll, npoll);
        let mut slots = KVec::with_capacity(nvqs, GFP_KERNEL)?;
        for _ in 0..nvqs {
            slots.push(
                KBox::pin_init(
                    IrqSpinLock::new(None, c_str!("rvirtio_blk_vq"), kernel::static_lock_class!()),
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
                recovery <- IrqSpinLock::new(
                    recovery,
                    c_str!("rvirtio_blk_recovery"),
                    kernel::static_lock_class!()
                ),
                reset_work <- kernel::new_work!("rvirtio_blk::reset_work"),
                config_work <- kernel::new_work!("rvirtio_blk::config_work"),
                dev: dev.to_ref(),
                queue <- new_mutex!(None, "rvirtio_blk::queue"),
                stats: Arc::new(Stats::default(), GFP_KERNEL)?,
                faults: params::fault_inject(),
                poll_queues: npoll,
                multi_range_discard: shape.max_discard_segments > 1,
                wce: AtomicU32::new(WCE_UNSET),
            }? Error),
            GFP_KERNEL,
        )?;
        create_vqs(dev, &shared)?;
        let ring_free = shared.vqs[0].lock().as_ref().map_or(1, |vq| vq.num_free());

        let depth = proto::queue_depth(
            params::queue_depth(),
            ring_free,
            dev.has_feature(feature::RING_INDIRECT_DESC),
        );
        let limits = Limits {
            logical_block_size: shape.logical_block_size,
            physical_block_size: shape.physical_block_size,
            alignment_offset: shape.alignment_offset,
            io_min: shape.io_min,
            io_opt: shape.io_opt,
            max_hw_sectors: u32::MAX,
            max_segments: shape.max_segments,
            max_segment_size: shape.max_segment_size,
            max_hw_discard_sectors: shape.max_discard_sectors,
            max_discard_segments: shape.max_discard_segments,
            discard_granularity: shape.discard_granularity,
            max_write_zeroes_sectors: shape.max_write_zeroes_sectors,
            max_secure_erase_sectors: shape.max_secure_erase_sectors,
            write_cache: shape.write_cache,
            rotational: true,
        };
        let cfg = DiskConfig {
            major: MAJOR.load(Ordering::Relaxed),
            minors: proto::MINORS,
            name: disk_name,
            limits,
            capacity: shape.capacity,
            read_only: shape.read_only,
        };
        let tags = TagSetConfig {
            nr_hw_queues: nvqs as u32,
            poll_queues: npoll as u32,
            queue_depth: depth,
            timeout: time::secs_to_jiffies(params::io_timeout()) as u32,
        };
        let mut disk = match Disk::new(shared.clone(), &tags, &cfg, &DISK_OPS) {
            Ok(disk) => disk,
            Err(e) => {
                vdev_err!(
                    dev,
                    "refusing the device: the block layer did not accept its disk ({:?})",
                    e
                );
                take_back_requests(dev, &shared, true);
                return Err(e);
            }
        };
        *shared.queue.lock() = disk.queue_ref();
        let debugfs = DEBUGFS.with(|root| {
            Counters::new(disk.name(), Some(root), shared.stats.clone(), |f, s| {
                f.u64(c_str!("timeouts"), &s.timeouts);
                f.u64(c_str!("lost_interrupts"), &s.lost_interrupts);
                f.u64(c_str!("resets"), &s.resets);
                f.u64(c_str!("requeued"), &s.requeued);
                f.u64(c_str!("failed"), &s.failed);
                f.u64(c_str!("give_ups"), &s.give_ups);
                f.u64(c_str!("polled"), &s.polled);
                f.u64(c_str!("suspends"), &s.suspends);
                f.u32(c_str!("state"), &s.state, false);
                if params::fault_inject() {
                    f.u32(c_str!("drop_irqs"), &s.drop_irqs, true);
                    f.u32(c_str!("inject_malformed"), &s.inject_malformed, true);
                    f.u32(c_str!("inject_reset"), &s.inject_reset, true);
                    f.u32(c_str!("reset_delay_ms"), &s.reset_delay_ms, true);
                }
            })
        });
        log_capacity(
            dev,
            disk.name(),
            disk.logical_block_size(),
            shape.capacity,
            false,
        );

        dev.ready();
        let cache_type = if dev.has_feature(feature::CONFIG_WCE) {
            CACHE_TYPE_RW
        } else {
            CACHE_TYPE_RO
        };
        if let Err(e) = disk.add(dev.as_dev(), &[SERIAL_ATTR, cache_type]) {
            drop(disk);
            take_back_requests(dev, &shared, true);
            return Err(e);
        }
        Ok(BlkDevice {
            shared,
            disk,
            _debugfs: debugfs,
        })
    }

    /// Claims the device from recovery, lets in-flight requests finish for a
    /// bounded time, takes back (and fails) what the device still holds, and
    /// only then deletes the disk, so that removal never waits on a device
    /// that does not answer.
    fn remove(dev: &Device<Self>, data: BlkDevice) {
        let BlkDevice {
            shared,
            disk,
            _debugfs,
        } = data;
        {
            let mut r = shared.recovery.lock();
            r.remove();
            shared.publish_state(r.state());
        }
        // A queued reset runs and sees Deleting; a running one finishes. The
        // virtio core no longer delivers config changes, so the config work
        // is not queued again once flushed.
        work::flush(&shared.reset_work);
        work::flush(&shared.config_work);
        if let Some(queue) = disk.queue_ref() {
            // Not marked dead here: del_gendisk does that, once nothing can
            // wait on this device any more.
            queue.with(|q| {
                let drain = time::secs_to_jiffies(params::io_timeout().min(DRAIN_SECS));
                if !q.freeze_wait(drain) {
                    vdev_warn!(dev, "requests still in flight at removal: failing them");
                }
                q.quiesce();
                take_back_requests(dev, &shared, true);
                q.unquiesce();
                q.unfreeze();
            });
        }
        drop(_debugfs);
        drop(disk);
    }
    /// System sleep: a reset that stops half-way. Requests in flight get a
    /// bounded time to finish; the reset then takes back what the device
    /// still holds, and requeues it for after the resume. Unlike the C
    /// driver, a device that does not answer cannot block suspend.
    fn freeze(dev: &Device<Self>, data: &BlkDevice) -> Result {
        let shared = &data.shared;
        let freeze = {
            let mut r = shared.recovery.lock();
            let freeze = r.suspend();
            shared.publish_state(r.state());
            freeze
        };
        if !freeze {
            // Dead: no queues, nothing to stop.
            return Ok(());
        }
        // A queued reset now aborts; a running one finishes first.
        work::flush(&shared.reset_work);
        work::flush(&shared.config_work);
        if shared.recovery.lock().state() != State::Suspended {
            // The running reset gave up: the disk is dead.
            return Ok(());
        }
        Shared::count(&shared.stats.suspends);
        if let Some(queue) = data.disk.queue_ref() {
            queue.with(|q| {
                let drain = time::secs_to_jiffies(params::io_timeout().min(DRAIN_SECS));
                if !q.freeze_wait(drain) {
                    vdev_warn!(
                        dev,
                        "requests still in flight at suspend: requeued for resume"
                    );
                }
                q.quiesce();
                take_back_requests(dev, shared, false);
                q.unfreeze();
            });
        }
        Ok(())
    }

    /// Wake-up: the virtio core has reset the device and negotiated its
    /// features; create the queues, restore the cache mode, and dispatch
    /// what the freeze requeued. A device that does not come back is dead.
    fn restore(dev: &Device<Self>, data: &BlkDevice) -> Result {
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
        if let Some(queue) = data.disk.queue_ref() {
            queue.with(|q| {
                q.unquiesce();
                q.kick_requeue_list();
                if let Err(e) = result {
                    vdev_err!(dev, "resume: could not create the virtqueues ({:?})", e);
                    give_up_device(dev, shared, q);
                }
            });
        }
        result
    }
}

/// The longest remove waits for in-flight requests, in seconds.
const DRAIN_SECS: u32 = 10;

/// The device's config changed: read the capacity again, and resize the
/// disk if it changed (`set_capacity_and_notify` tells user space).
fn update_capacity(shared: &Shared) {
    let queue = shared.queue.lock().clone();
    let Some(queue) = queue else {
        return;
    };
    shared.dev.with(|dev| {
        let sectors = dev.read_u64(proto::config::CAPACITY);
        queue.with(|q| {
            if q.set_capacity(sectors) {
                log_capacity(dev, q.name(), q.logical_block_size(), sectors, true);
            }
        })
    });
}

/// Creates the request virtqueues and puts them in their slots.
fn create_vqs(dev: &Device<RvirtioBlk>, shared: &Arc<Shared>) -> Result {
    let n = shared.vqs.len();
    let mut specs = KVec::with_capacity(n, GFP_KERNEL)?;
    for i in 0..n {
        // Poll queues, the last ones, have no interrupt.
        let polled = i >= n - shared.poll_queues;
        let name = if polled {
            CString::try_from_fmt(fmt!("req_poll.{}", i))?
        } else {
            CString::try_from_fmt(fmt!("req.{}", i))?
        };
        specs.push(
            VqSpec {
                name,
                callback: !polled,
            },
            GFP_KERNEL,
        )?;
    }
    let vqs = dev.find_vqs(shared, specs, 0)?;
    for (slot, vq) in shared.vqs.iter().zip(vqs) {
        *slot.lock() = Some(vq.into_typed());
    }
    Ok(())
}

/// Reads the config fields for the negotiated features.
fn read_config(dev: &Device<RvirtioBlk>) -> proto::RawConfig {
    use proto::config as off;
    let has = |bit| dev.has_feature(bit);
    proto::RawConfig {
        capacity: dev.read_u64(off::CAPACITY),
        size_max: has(feature::SIZE_MAX).then(|| dev.read_u32(off::SIZE_MAX)),
        seg_max: has(feature::SEG_MAX).then(|| dev.read_u32(off::SEG_MAX)),
        blk_size: has(feature::BLK_SIZE).then(|| dev.read_u32(off::BLK_SIZE)),
        topology: has(feature::TOPOLOGY).then(|| {
            (
                dev.read_u8(off::PHYSICAL_BLOCK_EXP),
                dev.read_u8(off::ALIGNMENT_OFFSET),
                dev.read_u16(off::MIN_IO_SIZE),
                dev.read_u32(off::OPT_IO_SIZE),
            )
        }),
        read_only: has(feature::RO),
        flush: has(feature::FLUSH),
        wce: has(feature::CONFIG_WCE).then(|| dev.read_u8(off::WRITEBACK)),
        discard: has(feature::DISCARD).then(|| {
            (
                dev.read_u32(off::MAX_DISCARD_SECTORS),
                dev.read_u32(off::MAX_DISCARD_SEG),
                dev.read_u32(off::DISCARD_SECTOR_ALIGNMENT),
            )
        }),
        write_zeroes: has(feature::WRITE_ZEROES)
            .then(|| dev.read_u32(off::MAX_WRITE_ZEROES_SECTORS)),
        secure_erase: has(feature::SECURE_ERASE).then(|| {
            (
                dev.read_u32(off::MAX_SECURE_ERASE_SECTORS),
                dev.read_u32(off::MAX_SECURE_ERASE_SEG),
                dev.read_u32(off::SECURE_ERASE_SECTOR_ALIGNMENT),
            )
        }),
        max_dma_size: dev.max_dma_size(),
        page_size: kernel::page::PAGE_SIZE as u32,
    }
}

fn disk_name(index: u32, buf: &mut [u8]) -> Result<usize> {
    proto::disk_name(index, buf).ok_or(EINVAL)
}

fn log_capacity(dev: &Device<RvirtioBlk>, name: &CStr, lbs: u32, sectors: u64, resize: bool) {
    let blocks = sectors.div_ceil(u64::from(lbs / 512));
    let bytes = blocks * u64::from(lbs);
    vdev_notice!(
        dev,
        "[{}] {}{} {}-byte logical blocks ({} MB/{} MiB)",
        name,
        if resize { "new size: " } else { "" },
        blocks,
        lbs,
        bytes / 1_000_000,
        bytes >> 20
    );
}

/// sysfs `serial`: the device id string, read with GET_ID.
const SERIAL_ATTR: DiskAttr<RvirtioBlk> = DiskAttr {
    name: c_str!("serial"),
    show: serial_show,
    store: None,
};

/// sysfs `cache_type`, writable when the device offers CONFIG_WCE.
const CACHE_TYPE_RW: DiskAttr<RvirtioBlk> = DiskAttr {
    name: c_str!("cache_type"),
    show: cache_type_show,
    store: Some(cache_type_store),
};

/// sysfs `cache_type`, read-only without CONFIG_WCE.
const CACHE_TYPE_RO: DiskAttr<RvirtioBlk> = DiskAttr {
    name: c_str!("cache_type"),
    show: cache_type_show,
    store: None,
};

/// The device's cache mode, read from config space as the C driver does.
fn cache_mode(dev: &Device<RvirtioBlk>) -> bool {
    let wce = dev
        .has_feature(feature::CONFIG_WCE)
        .then(|| dev.read_u8(proto::config::WRITEBACK));
    proto::write_back(wce, dev.has_feature(feature::FLUSH))
}

fn cache_type_show(disk: &DiskRef<RvirtioBlk>, page: &mut [u8]) -> Result<usize> {
    let back = disk.queue_data().dev.with(cache_mode).ok_or(ENXIO)?;
    let text = proto::CACHE_TYPES[usize::from(back)].as_bytes();
    let len = (text.len() + 1).min(page.len());
    page[..len - 1].copy_from_slice(&text[..len - 1]);
    page[len - 1] = b'\n';
    Ok(len)
}

/// Writes the cache mode to the device, then sets the queue's write-cache
/// flag from what the device reports back.
fn cache_type_store(disk: &DiskRef<RvirtioBlk>, input: &[u8]) -> Result {
    let back = proto::parse_cache_type(input).ok_or(EINVAL)?;
    let shared = disk.queue_data();
    // The device handle is released before the queue is frozen: a reset
    // needs it to finish the requests the freeze waits for.
    let now = shared
        .dev
        .with(|dev| {
            dev.write_u8(proto::config::WRITEBACK, u8::from(back));
            shared.wce.store(u32::from(back), Ordering::Relaxed);
            cache_mode(dev)
        })
        .ok_or(ENXIO)?;
    disk.set_write_cache(now)
}

fn serial_show(disk: &DiskRef<RvirtioBlk>, page: &mut [u8]) -> Result<usize> {
    let mut id = [0u8; proto::ID_BYTES];
    let status = disk.execute_driver_in(&mut id, |d| {
        d.hdr = OutHdr::new(proto::req_type::GET_ID, 0, 0);
    })?;
    if status == Status::IO_ERROR {
        // As in the C driver: a device that cannot answer has an empty serial.
        return Ok(0);
    }
    if status != Status::OK {
        return Err(Error::from_errno(status.to_errno()));
    }
    let id = proto::id_string(&id);
    let len = id.len().min(page.len());
    page[..len].copy_from_slice(&id[..len]);
    Ok(len)
}
