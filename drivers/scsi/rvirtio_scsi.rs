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
//! Not yet: task management (abort, LUN reset), recovery by reset, debugfs,
//! suspend. Until then, like the C driver's, its timeout handler
//! only restarts the timer. The reading order: per-command data, the
//! command path, probe and remove. This file holds no `unsafe`.

use crate::lib::cpumask::nr_cpu_ids;
use crate::lib::irqlock::IrqSpinLock;
use crate::lib::queuemap::QueueMap;
use crate::lib::work;
use crate::params;
use crate::scsi::{self, Direction, Host, HostConfig, HostOps, HostRef, OwnedCmd};
use crate::virtio::{
    self, Chain, Device, DeviceRef, DeviceWritable, IdTable, Virtqueue, Vq, VqSpec,
};
use crate::virtio_scsi_proto::{self as proto, CmdReq, CmdResp};
use crate::{vdev_err, vdev_warn};
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::{new_mutex, Arc, ArcBorrow, Mutex};
use kernel::workqueue::{self, Work, WorkItem};
use kernel::{c_str, fmt};

crate::declare_scsi_host!(RvirtioScsi);

/// The driver.
pub(crate) struct RvirtioScsi;

/// Per-command data: the request header the device reads and the response
/// it writes. Plain bytes (alignment 1), as the private area requires.
#[derive(Default)]
pub(crate) struct ScsiCmd {
    req: CmdReq,
    resp: DeviceWritable<CmdResp>,
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
    /// The control queue: created, not yet used.
    #[pin]
    other: Mutex<KVec<Vq>>,
    #[pin]
    events: IrqSpinLock<Events>,
    #[pin]
    event_work: Work<Shared, EVENT_WORK>,
    /// Set once the host is added.
    #[pin]
    host: Mutex<Option<HostRef>>,
    dev: DeviceRef<RvirtioScsi>,
}

/// The work item id of [`Shared::event_work`].
const EVENT_WORK: u64 = 0;

kernel::impl_has_work! {
    impl HasWork<Self, EVENT_WORK> for Shared { self.event_work }
}

impl WorkItem<EVENT_WORK> for Shared {
    type Pointer = Arc<Shared>;

    fn run(this: Arc<Shared>) {
        handle_events(&this);
    }
}

/// What probe builds and remove tears down.
pub(crate) struct ScsiDevice {
    host: Host<RvirtioScsi>,
    shared: Arc<Shared>,
}

// ---------------------------------------------------------------------------
// The command path.

impl virtio::Token for OwnedCmd<RvirtioScsi> {
    /// Header, data out; response, data in.
    fn describe<'a>(cmd: &'a scsi::Cmd<RvirtioScsi>, chain: &mut Chain<'a>) {
        let d = cmd.data();
        chain.read(&d.req);
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
        cmd.data_mut().req = req;
        let Some(slot) = shared.vqs.get(cmd.hw_queue() as usize) else {
            cmd.fail();
            return Ok(());
        };
        let last = cmd.is_last();
        let mut guard = slot.lock();
        let Some(vq) = guard.as_mut() else {
            drop(guard);
            cmd.fail();
            return Ok(());
        };
        match vq.add(cmd) {
            Ok(()) => {
                if last {
                    vq.kick();
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
        slot.lock().as_mut().map_or(0, drain)
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
            harvest(&shared, index - proto::vq::FIRST_REQUEST);
        } else if index == proto::vq::EVENT {
            events_done(shared);
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
        let shared = Arc::pin_init(
            try_pin_init!(Shared {
                vqs: slots,
                poll_queues: npoll,
                other <- new_mutex!(KVec::new(), "rvirtio_scsi::other"),
                events <- IrqSpinLock::new(
                    Events {
                        vq: None,
                        done: Default::default(),
                        stopped: false,
                    },
                    c_str!("rvirtio_scsi_events"),
                    kernel::static_lock_class!()
                ),
                event_work <- kernel::new_work!("rvirtio_scsi::event_work"),
                host <- new_mutex!(None, "rvirtio_scsi::host"),
                dev: dev.to_ref(),
            }? Error),
            GFP_KERNEL,
        )?;
        create_vqs(dev, &shared)?;
        dev.write_u32(off::SENSE_SIZE, proto::SENSE_SIZE as u32);
        dev.write_u32(off::CDB_SIZE, proto::CDB_SIZE as u32);

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
        if let Err(e) = host.add(dev.as_dev()) {
            drop(host);
            delete_vqs(dev, &shared);
            return Err(e);
        }
        *shared.host.lock() = host.host_ref();
        dev.ready();
        if dev.has_feature(proto::feature::HOTPLUG) {
            post_event_buffers(&shared);
        }
        host.scan();
        Ok(ScsiDevice { host, shared })
    }

    /// Removes the host while the queues still work (the midlayer flushes
    /// caches and waits for commands), then resets the device and deletes
    /// the queues.
    fn remove(dev: &Device<Self>, data: ScsiDevice) {
        let ScsiDevice { host, shared } = data;
        // No event work is queued from now on; wait for a running one.
        shared.events.lock().stopped = true;
        work::flush(&shared.event_work);
        drop(host);
        delete_vqs(dev, &shared);
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

/// Gives `buf` back to the device, unless the driver is stopping.
fn repost(shared: &Shared, mut buf: KBox<EventBuf>) {
    buf.ev.set(proto::Event::default());
    let mut events = shared.events.lock();
    if events.stopped {
        return;
    }
    if let Some(vq) = events.vq.as_mut() {
        if vq.add(buf).is_ok() {
            vq.kick();
        }
    }
}

/// The device filled event buffers: keep them for the work item.
fn events_done(shared: ArcBorrow<'_, Shared>) {
    let queue = {
        let mut events = shared.events.lock();
        let Events { vq, done, stopped } = &mut *events;
        if let Some(vq) = vq.as_mut() {
            while let Some((buf, _len)) = vq.get_buf() {
                // There is a free entry for every buffer there is.
                if let Some(free) = done.iter_mut().find(|b| b.is_none()) {
                    *free = Some(buf);
                }
            }
        }
        !*stopped && done.iter().any(Option::is_some)
    };
    if queue {
        let shared: Arc<Shared> = shared.into();
        let _ = workqueue::system_freezable().enqueue::<_, EVENT_WORK>(shared);
    }
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
    if let Some(vq) = vqs.next() {
        shared.other.lock().push(vq, GFP_KERNEL)?;
    }
    shared.events.lock().vq = vqs.next().map(Vq::into_typed);
    for (slot, vq) in shared.vqs.iter().zip(vqs) {
        *slot.lock() = Some(vq.into_typed());
    }
    Ok(())
}

/// Resets the device, fails what it still held, deletes the queues.
fn delete_vqs(dev: &Device<RvirtioScsi>, shared: &Shared) {
    for slot in shared.vqs.iter() {
        if let Some(vq) = slot.lock().as_mut() {
            vq.disable_cb();
        }
    }
    let reset = dev.reset();
    let mut vqs = KVec::new();
    for slot in shared.vqs.iter() {
        let taken = slot.lock().take();
        if let Some(mut vq) = taken {
            drain(&mut vq);
            while let Some(cmd) = vq.detach_unused(&reset) {
                cmd.finish(proto::did::RESET, 0, 0, &[]);
            }
            if vqs.push(vq.into_untyped(), GFP_KERNEL).is_err() {
                vdev_err!(dev, "out of memory deleting virtqueues");
                return;
            }
        }
    }
    let events = shared.events.lock().vq.take();
    if let Some(mut vq) = events {
        // The buffers are plain memory: dropping them is all they need.
        while vq.detach_unused(&reset).is_some() {}
        if vqs.push(vq.into_untyped(), GFP_KERNEL).is_err() {
            vdev_err!(dev, "out of memory deleting virtqueues");
            return;
        }
    }
    let other = core::mem::replace(&mut *shared.other.lock(), KVec::new());
    for vq in other {
        if vqs.push(vq, GFP_KERNEL).is_err() {
            vdev_err!(dev, "out of memory deleting virtqueues");
            return;
        }
    }
    if dev.del_vqs(vqs).is_err() {
        vdev_warn!(dev, "virtqueues could not be deleted");
    }
}
