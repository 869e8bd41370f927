// SPDX-License-Identifier: GPL-2.0

//! rvirtio_blk's request path: what a request looks like on the ring, how
//! it reaches its virtqueue (one by one, or a plug list at once), how it
//! comes back (interrupt, poll, or a timeout's harvest), and what a timeout
//! does.

use crate::device::{RvirtioBlk, Shared};
use crate::lib::time;
use crate::mq::{
    self, Batch, Busy, Completions, Op, Owned, QueueMap, Request, RqList, Status, TimeoutAction,
};
use crate::params;
use crate::proto::{self, BlockOp, OutHdr, Outcome};
use crate::recovery::policy::Overdue;
use crate::recovery::protocol::Harvest;
use crate::recovery::{Expiry, Reason, Recovery, Refused};
use crate::virtio::{self, Chain, DeviceWritable, Mapped};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::prelude::*;
use kernel::sync::ArcBorrow;

/// Per-request data: the header the device reads and the status byte it
/// writes, each with its scatterlist (the request's private data does not
/// move). The data itself is the request's mapped pages, or for discard,
/// write-zeroes and secure erase, the ranges.
#[derive(Default)]
pub(crate) struct BlkRequest {
    pub(crate) hdr: Mapped<OutHdr>,
    status: Mapped<DeviceWritable<u8>>,
    ranges: KVec<proto::Range>,
    /// Fault injection: send this request without its status byte and data,
    /// which the device must treat as malformed.
    malformed: bool,
    /// The stall clock, kept by the timeouts of this request (which never
    /// run at once): its queue's completions at its previous expiry, and
    /// when (jiffies) the queue was last seen making progress.
    seen: AtomicU64,
    since: AtomicU64,
}

impl virtio::Token for Owned<RvirtioBlk> {
    /// Header, then the data (read or written by the device), then status.
    /// Inlined into `Virtqueue::add`, which runs it under the queue's lock.
    #[inline(always)]
    fn describe<'a>(rq: &'a Request<RvirtioBlk>, chain: &mut Chain<'a>) {
        let d = rq.data();
        chain.read_mapped(&d.hdr);
        if d.malformed {
            return;
        }
        if d.ranges.is_empty() {
            chain.sg(rq.mapped(), proto::device_writes_data(d.hdr.type_()));
        } else {
            chain.read_slice(&d.ranges);
        }
        chain.write_mapped(&d.status);
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
            Some(hdr) => *rq.data_mut().hdr = hdr,
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
    let r = &shared.recovery;
    let knobs = &r.stats().knobs;
    let d = rq.data_mut();
    d.hdr.prepare();
    d.status.set(proto::STATUS_UNSET);
    d.status.prepare();
    d.malformed = r.shot(&knobs.inject_malformed);
    if r.shot(&knobs.inject_reset) {
        Recovery::schedule(shared, Reason::Injected);
    }
    Prep::Ready(rq)
}

#[vtable]
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
        match shared.vqs.submit(rq.hw_queue(), rq, last) {
            Ok(()) => Ok(()),
            Err(Refused::Full(rq)) => Err(Busy::Device(rq)),
            Err(Refused::NoMemory(rq)) => Err(Busy::Resource(rq)),
            // A broken queue is mended by a reset, which reruns the queue.
            Err(Refused::Broken(rq)) => {
                Recovery::schedule(shared, Reason::BrokenQueue);
                Err(Busy::Device(rq))
            }
            // No queues: the device is being reset, dead or going away.
            Err(Refused::NoQueue(rq) | Refused::Invalid(rq)) => {
                rq.end(Status::IO_ERROR);
                Ok(())
            }
        }
    }

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
        let mut broken = false;
        shared.vqs.submit_batch(
            hw_queue,
            || ready.pop(),
            |refused| match refused {
                Refused::Full(rq) | Refused::NoMemory(rq) => rq.retry(),
                Refused::Broken(rq) => {
                    broken = true;
                    rq.retry();
                }
                Refused::NoQueue(rq) | Refused::Invalid(rq) => rq.end(Status::IO_ERROR),
            },
        );
        if broken {
            Recovery::schedule(shared, Reason::BrokenQueue);
        }
    }

    fn commit_rqs(shared: ArcBorrow<'_, Shared>, hw_queue: u32) {
        shared.vqs.commit(hw_queue);
    }

    /// Hardware queue `i` serves the CPUs that virtqueue `i`'s interrupt is
    /// affine to, as `blk_mq_virtio_map_queues` does for the C driver.
    fn map_queues(shared: ArcBorrow<'_, Shared>, map: &mut QueueMap) {
        shared.vqs.map_queues(shared.recovery.dev(), map);
    }

    fn complete(_shared: ArcBorrow<'_, Shared>, mut rq: Owned<Self>) {
        let status = finished(&mut rq);
        rq.end(status);
    }

    /// A poll queue: take what the device finished. What succeeded joins
    /// the poll's batch, as virtio_blk's does.
    fn poll(shared: ArcBorrow<'_, Shared>, hw_queue: u32, done: &mut Completions<Self>) -> u32 {
        // A batch ends a request without `complete`: `finished` does here
        // what it would.
        let found = shared.vqs.drain(hw_queue, |mut rq| {
            let ok = finished(&mut rq) == Status::OK;
            rq.complete_polled(done, ok)
        });
        shared.recovery.polled(found);
        found
    }

    fn geometry(shared: &Shared, capacity: u64) -> Result<mq::Geometry> {
        crate::sysfs::geometry(shared, capacity)
    }

    /// A request's timer expired: harvest, then the engine looks at the
    /// device's health and at the request's queue, and notifies the queue
    /// again, waits or resets. The request itself is never ended here
    /// unless the device already returned it.
    fn timeout(shared: ArcBorrow<'_, Shared>, rq: &Request<Self>, expiries: u32) -> TimeoutAction {
        let index = rq.hw_queue();
        let r = &shared.recovery;
        if r.shot(&r.stats().knobs.irq_race) {
            // Fault injection: the interrupt comes just before the harvest.
            shared.vqs.interrupt(index, Owned::complete);
        }
        let harvest = || {
            if returned(&shared, rq) {
                Harvest::Returned
            } else if rq.has_ended() {
                Harvest::Ended
            } else {
                Harvest::Held
            }
        };
        let overdue = || Some(overdue(&shared, rq, expiries == 1));
        let renotify = || shared.vqs.renotify(index);
        match Recovery::timed_out(shared, harvest, overdue, renotify) {
            Expiry::Returned | Expiry::Ended => TimeoutAction::Done,
            Expiry::Pending | Expiry::Resetting | Expiry::Healthy { .. } => {
                TimeoutAction::ResetTimer
            }
        }
    }
}

/// What a timeout of `rq` finds out about it and its queue, after the
/// harvest: whether the queue is broken, and how long the queue has made no
/// progress since the request's first expiry (the clock starts again when
/// it completed something between two expiries).
fn overdue(shared: &Shared, rq: &Request<RvirtioBlk>, first: bool) -> Overdue {
    let index = rq.hw_queue();
    let d = rq.data();
    let done = shared.vqs.completed(index);
    let now = time::jiffies();
    let stalled = if first || d.seen.swap(done, Ordering::Relaxed) != done {
        d.seen.store(done, Ordering::Relaxed);
        d.since.store(now, Ordering::Relaxed);
        0
    } else {
        now.wrapping_sub(d.since.load(Ordering::Relaxed))
    };
    let limit = params::stall_reset_secs();
    Overdue {
        queue_broken: shared.vqs.is_broken(index),
        first,
        stalled,
        stall_limit: (limit != 0).then(|| time::secs_to_jiffies(limit)),
    }
}

/// What the device answered for a request it returned, once the driver is
/// done with it: its discard ranges (if any) are dropped.
fn finished(rq: &mut Owned<RvirtioBlk>) -> Status {
    if !rq.data().ranges.is_empty() {
        rq.data_mut().ranges = KVec::new();
    }
    status_of(proto::outcome(rq.data().status.get()))
}

/// Completes every request the device returned on `target`'s queue;
/// whether `target` was among them. It is completed at once, bypassing
/// fake-timeout injection, since its timeout handler is the caller.
fn returned(shared: &Shared, target: &Request<RvirtioBlk>) -> bool {
    let mut found = false;
    shared.vqs.drain(target.hw_queue(), |rq| {
        if core::ptr::eq::<Request<RvirtioBlk>>(&*rq, target) {
            found = true;
            rq.complete_now();
        } else {
            rq.complete();
        }
    });
    found
}

/// The device returned requests on queue `index`: hand each back to blk-mq.
pub(crate) fn vq_done(shared: ArcBorrow<'_, Shared>, index: u32) {
    let r = &shared.recovery;
    if r.shot(&r.stats().knobs.drop_irqs) {
        // Fault injection: a lost interrupt. The responses stay on the used
        // ring until a timeout harvests them.
        return;
    }
    if shared.vqs.interrupt(index, Owned::complete) {
        Recovery::schedule(shared, Reason::BrokenQueue);
    }
}
