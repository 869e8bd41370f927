// SPDX-License-Identifier: GPL-2.0

//! LUN events (`VIRTIO_SCSI_F_HOTPLUG`, `VIRTIO_SCSI_F_CHANGE`).
//!
//! Eight event buffers stay posted on the event queue. The queue's callback
//! keeps the buffers the device filled, in order; a work item handles them
//! first in, first out, as `virtscsi_handle_event` does (adds or scans the
//! LUN a rescan event names, removes the one a removal names, re-reads a
//! LUN whose parameters changed, and when the device missed events checks
//! that every LUN is still there and rescans the host), and posts them
//! again. A reset keeps the buffers and posts them again once the queue is
//! back.
//!
//! A reset (and a resume) loses events without a trace: QEMU drops the
//! events of a device without DRIVER_OK, and its reset forgets that it
//! dropped any. So after each one the work does what a missed event
//! demands, in its place among the events ([`proto::EventFifo`]): after
//! those the device returned before, before those it returns after.

use crate::device::Shared;
use crate::lib::ratelimit::{Held, RateLimit};
use crate::proto;
use crate::recovery::stats::bump;
use crate::recovery::{drain, Staged};
use crate::scsi;
use crate::virtio::{self, Chain, DeviceReset, DeviceWritable, Virtqueue};
use kernel::prelude::*;
use kernel::sync::ArcBorrow;

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

/// Room for every event buffer there is.
type BufSlots = [Option<KBox<EventBuf>>; proto::EVENT_BUFFERS];

/// The event queue and the buffers the device filled, which the event work
/// handles and posts again.
pub(crate) struct Events {
    /// The event queue, opened after DRIVER_OK.
    pub(crate) vq: Staged<Virtqueue<KBox<EventBuf>>>,
    /// Filled buffers waiting for the work, oldest first (there are only so
    /// many), and the rescan a reset asked for, in its place among them.
    done: proto::EventFifo<KBox<EventBuf>, { proto::EVENT_BUFFERS }>,
    /// Buffers kept while a reset has no event queue, posted again after.
    idle: BufSlots,
    /// Set by remove: the work is no longer queued, buffers not reposted.
    stopped: bool,
}

impl Events {
    /// No queue and no buffers yet.
    pub(crate) fn new() -> Self {
        Self {
            vq: Staged::empty(),
            done: Default::default(),
            idle: Default::default(),
            stopped: false,
        }
    }

    /// Whether the event work has something to do.
    fn pending(&self) -> bool {
        !self.stopped && self.done.is_pending()
    }
}

/// Keeps `buf` for the work, after those the device filled before.
fn keep(
    done: &mut proto::EventFifo<KBox<EventBuf>, { proto::EVENT_BUFFERS }>,
    buf: KBox<EventBuf>,
) {
    // There is room for every buffer there is.
    let _ = done.push(buf);
}

/// Keeps `buf` in a free entry of `slots`: there is one for every buffer
/// there is.
fn stash(slots: &mut BufSlots, buf: KBox<EventBuf>) {
    if let Some(free) = slots.iter_mut().find(|b| b.is_none()) {
        *free = Some(buf);
    }
}

/// Posts the event buffers (at probe). A buffer that cannot be allocated or
/// posted is left out: the device then reports EVENTS_MISSED.
pub(crate) fn post_buffers(shared: &Shared) {
    for _ in 0..proto::EVENT_BUFFERS {
        let Ok(buf) = KBox::new(EventBuf::default(), GFP_KERNEL) else {
            return;
        };
        repost(shared, buf);
    }
}

/// Gives `buf` back to the device, unless the driver is stopping.
fn repost(shared: &Shared, mut buf: KBox<EventBuf>) {
    buf.ev.set(proto::Event::default());
    let mut events = shared.events.lock();
    if events.stopped {
        return;
    }
    match events.vq.live() {
        Some(vq) => {
            if vq.add(buf).is_ok() {
                vq.kick();
            }
        }
        None => {
            // A reset is running (or the queue is not open yet): the buffer
            // is posted once the queue is open.
            stash(&mut events.idle, buf);
        }
    }
}

/// Posts the event buffers a reset or a sleep kept.
pub(crate) fn repost_idle(shared: &Shared) {
    loop {
        let buf = shared.events.lock().idle.iter_mut().find_map(Option::take);
        let Some(buf) = buf else {
            break;
        };
        repost(shared, buf);
    }
}

/// After a reset: keeps what the device filled for the event work and the
/// rest for [`repost_idle`], and retires the queue.
pub(crate) fn take_back<D: virtio::Driver>(
    shared: ArcBorrow<'_, Shared>,
    reset: &mut DeviceReset<'_, D>,
) {
    let (vq, pending) = {
        let mut events = shared.events.lock();
        let Events { vq, done, idle, .. } = &mut *events;
        let vq = vq.take().map(|mut vq| {
            // Events the device posted but nobody collected yet still count.
            drain(&mut vq, |buf| keep(done, buf));
            while let Some(buf) = vq.detach_unused(reset) {
                stash(idle, buf);
            }
            vq
        });
        (vq, events.pending())
    };
    if let Some(vq) = vq {
        reset.retire(vq);
    }
    if pending {
        Shared::queue_event_work(shared);
    }
}

/// The device filled event buffers: keep them for the work item.
pub(crate) fn done(shared: ArcBorrow<'_, Shared>) {
    let pending = {
        let mut events = shared.events.lock();
        let Events { vq, done, .. } = &mut *events;
        if let Some(vq) = vq.live() {
            drain(vq, |buf| keep(done, buf));
        }
        events.pending()
    };
    if pending {
        Shared::queue_event_work(shared);
    }
}

/// Remove begins: the event work is no longer queued, and buffers are not
/// posted again.
pub(crate) fn stop(shared: &Shared) {
    shared.events.lock().stopped = true;
}

/// The event work: handles the filled event buffers, then posts them
/// again. A rescan takes [`proto::SCAN_CHUNK`] targets per run: the work
/// then queues itself again, so that a system going to sleep, which waits
/// for a run under way, waits for one chunk only; the rest of the rescan
/// comes after the thaw.
pub(crate) fn handle(shared: ArcBorrow<'_, Shared>) {
    let host = shared.host.lock().clone();
    let with_host = |f: &dyn Fn(&scsi::HostCtl)| {
        if let Some(host) = host.as_ref() {
            host.with(f);
        }
    };
    let max_id = host
        .as_ref()
        .and_then(|h| h.with(|h| h.max_id()))
        .unwrap_or(0);
    // A device may return every buffer as fast as it is posted again: after
    // this many, the work queues itself again rather than hold the CPU.
    for _ in 0..2 * proto::EVENT_BUFFERS {
        let next = {
            let mut events = shared.events.lock();
            // Remove has begun: nothing more is handled.
            if events.stopped {
                return;
            }
            events.done.next(max_id)
        };
        match next {
            proto::NextEvent::Idle => return,
            proto::NextEvent::Rescan { targets, ends } => {
                let done = host
                    .as_ref()
                    .and_then(|host| host.with(|h| rescan(&shared, h, targets.clone())));
                if ends && done == Some(true) {
                    bump(&shared.recovery.stats().extra.rescans);
                }
                break;
            }
            proto::NextEvent::Event(mut buf) => {
                let ev = buf.ev.get();
                let (missed, action) = proto::decode_event(&ev);
                if missed {
                    // The device dropped events before this one: a rescan
                    // comes first, then this event, without the flag.
                    buf.ev.set(proto::event_without_missed(&ev));
                    let back = shared.events.lock().done.rescan_before(buf);
                    // There is room: the buffer in hand is not in the FIFO,
                    // which has a place for every buffer there is.
                    match back {
                        Ok(()) => continue,
                        Err(b) => {
                            buf = b;
                            shared.events.lock().done.rescan();
                        }
                    }
                }
                with_host(&|h| act(h, action));
                repost(&shared, buf);
            }
        }
    }
    if shared.events.lock().pending() {
        Shared::queue_event_work(shared);
    }
}

/// One chunk of a rescan, as the C driver's `virtscsi_rescan_hotunplug`
/// and `scsi_scan_host` do for the whole host: every LUN of these targets
/// that the device says is gone is removed, then the targets are scanned
/// for new ones. Remove may begin meanwhile: the scan then stops, and
/// this returns false.
fn rescan(shared: &Shared, h: &scsi::HostCtl, targets: core::ops::Range<u32>) -> bool {
    h.remove_gone_luns(targets.clone());
    for target in targets {
        if shared.events.lock().stopped {
            return false;
        }
        h.scan_target(target);
    }
    true
}

/// After a reset or a resume: the device may have dropped events meanwhile
/// without saying so. The work does what a missed event demands (checks
/// every LUN, then scans the host, as the C driver's
/// `virtscsi_rescan_hotunplug` and `scsi_scan_host`), after the events the
/// device returned before.
pub(crate) fn lost_events(shared: ArcBorrow<'_, Shared>) {
    let pending = {
        let mut events = shared.events.lock();
        if events.stopped {
            return;
        }
        events.done.rescan();
        events.pending()
    };
    if pending {
        Shared::queue_event_work(shared);
    }
}

/// The events that are logged (at most once per few seconds each: the
/// device can send as many as it likes).
static NOT_FOUND: RateLimit = RateLimit::new();
static NOT_ADDED: RateLimit = RateLimit::new();
static UNSUPPORTED: RateLimit = RateLimit::new();

/// Carries out one event's action on the host.
fn act(h: &scsi::HostCtl, action: proto::EventAction) {
    use proto::EventAction as A;
    let not_found = |target, lun| {
        if let Some(held) = NOT_FOUND.check() {
            pr_err!(
                "SCSI device {} 0 {} {} not found{}\n",
                h.number(),
                target,
                lun,
                Held(held)
            );
        }
    };
    match action {
        A::None => {}
        A::ScanTarget { target } => h.scan_target(target),
        A::AddLun { target, lun } => {
            if let Err(e) = h.add_lun(target, u64::from(lun)) {
                if let Some(held) = NOT_ADDED.check() {
                    pr_warn!(
                        "scsi {}:0:{}:{} could not be added ({:?}){}\n",
                        h.number(),
                        target,
                        lun,
                        e,
                        Held(held)
                    );
                }
            }
        }
        A::RemoveLun { target, lun } => {
            if !h.remove_lun(target, u64::from(lun)) {
                not_found(target, lun);
            }
        }
        A::RescanLun { target, lun } => {
            if !h.rescan_lun(target, u64::from(lun)) {
                not_found(target, lun);
            }
        }
        A::Unsupported { event, reason } => {
            if let Some(held) = UNSUPPORTED.check() {
                pr_info!(
                    "unsupported event {:#x} (reason {:#x}){}\n",
                    event,
                    reason,
                    Held(held)
                );
            }
        }
    }
}
