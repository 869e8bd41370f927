// SPDX-License-Identifier: GPL-2.0

//! rvirtio_scsi: a virtio-scsi driver in Rust.
//!
//! It binds to virtio SCSI devices and serves their LUNs through a SCSI
//! host, like the C `virtio_scsi`: one virtqueue per hardware queue after
//! the control and event queues, mapped to CPUs by interrupt affinity; the
//! CDB in the request header; status, sense and residual copied back; the
//! response mapped to a host byte as the C driver maps it. With
//! `virtscsi_poll_queues=N` the last N request queues (at most all but one)
//! have no interrupt and serve polled I/O. Events (`VIRTIO_SCSI_F_HOTPLUG`,
//! `VIRTIO_SCSI_F_CHANGE`) add, remove and re-read LUNs (`events.rs`).
//!
//! Unlike the C driver, whose timeout handler only restarts the timer, it
//! recovers on the recovery engine rvirtio_blk shares (`drivers/recovery`):
//! a timed-out command the device already returned is finished at once; a
//! broken device is reset; on a healthy one the midlayer's error handling
//! runs ABORT_TASK, then LOGICAL_UNIT_RESET, then a host reset (`eh.rs`),
//! and a handler succeeds only once the device has given the commands back.
//! Commands a reset took back come back with `DID_RESET` for the midlayer
//! to retry. Past `reset_budget` resets in `reset_window` the device is
//! given up: its LUNs go offline and every command fails.
//!
//! This file: the driver, its shared state and the life of a device (probe,
//! remove, sleep). Driver logic holds no `unsafe`.

use crate::eh::{TmfCmd, TmfReserve};
use crate::events::{self, Events};
use crate::lib::cpumask::nr_cpu_ids;
use crate::lib::debugfs::Counters;
use crate::lib::irqlock::IrqSpinLock;
use crate::params;
use crate::proto;
use crate::recovery::{ModuleContext, Recovery, Slots, Staged, Stats};
use crate::scsi::{Host, HostConfig, HostRef, OwnedCmd};
use crate::virtio::{self, Device, IdTable, Vq, VqSpec};
use crate::{vdev_err, vdev_warn};
use core::sync::atomic::AtomicU64;
use kernel::c_str;
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::{new_mutex, Arc, ArcBorrow, Mutex};
use kernel::workqueue::{self, Work, WorkItem};
// `fmt!` is in 7.3's prelude.
#[cfg(not(rvirtio_7_3))]
use kernel::fmt;

/// The driver.
pub(crate) struct RvirtioScsi;

/// The control queue, which carries task management requests.
pub(crate) type CtrlVq = virtio::Virtqueue<crate::eh::TmfToken>;

/// rvirtio_scsi's counters, beside the engine's.
#[derive(Default)]
pub(crate) struct ScsiStats {
    /// ABORT_TASK requests sent.
    pub(crate) aborts: AtomicU64,
    /// LOGICAL_UNIT_RESET requests sent.
    pub(crate) lun_resets: AtomicU64,
    /// Task management requests that got no answer in `tmf_timeout`.
    pub(crate) tmf_timeouts: AtomicU64,
    /// Task management requests taken from the reserve, for want of memory.
    pub(crate) tmf_from_reserve: AtomicU64,
    /// Host resets the error handler asked for.
    pub(crate) host_resets: AtomicU64,
    /// Commands that found their queue gone (a reset or a sleep going on,
    /// or the device given up).
    pub(crate) no_queue: AtomicU64,
    /// Error-handler commands sent on an interrupt-driven queue instead of
    /// their poll queue.
    pub(crate) eh_rerouted: AtomicU64,
    /// Rescans done to the last target (after a reset, a resume or a
    /// missed event).
    pub(crate) rescans: AtomicU64,
}

/// What the command path, the virtqueue callbacks, the error handlers and
/// the work items share.
#[pin_data]
pub(crate) struct Shared {
    #[pin]
    pub(crate) recovery: Recovery<Shared>,
    /// The request queues, in hardware-queue order.
    pub(crate) vqs: Slots<OwnedCmd<RvirtioScsi>>,
    /// The control queue (task management), opened after DRIVER_OK.
    #[pin]
    pub(crate) ctrl: IrqSpinLock<Staged<CtrlVq>>,
    #[pin]
    pub(crate) events: IrqSpinLock<Events>,
    /// Task management requests for when memory is short.
    #[pin]
    pub(crate) tmf_reserve: TmfReserve,
    #[pin]
    event_work: Work<Shared, EVENT_WORK>,
    #[pin]
    offline_work: Work<Shared, OFFLINE_WORK>,
    /// Set once the host is added.
    #[pin]
    pub(crate) host: Mutex<Option<HostRef>>,
}

/// The ids of [`Shared`]'s own work items.
const EVENT_WORK: u64 = 0;
const OFFLINE_WORK: u64 = 1;

crate::impl_recovery_work!(Shared, recovery);

kernel::impl_has_work! {
    impl HasWork<Self, EVENT_WORK> for Shared { self.event_work }
    impl HasWork<Self, OFFLINE_WORK> for Shared { self.offline_work }
}

impl WorkItem<EVENT_WORK> for Shared {
    type Pointer = Arc<Shared>;

    fn run(this: Arc<Shared>) {
        events::handle(this.as_arc_borrow());
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
    /// After DRIVER_OK: the queues the bring-up created may be used.
    pub(crate) fn open_queues(&self) {
        self.vqs.publish();
        self.ctrl.lock().open();
        self.events.lock().vq.open();
    }

    /// Queues the event work (a no-op if it is queued already).
    pub(crate) fn queue_event_work(this: ArcBorrow<'_, Shared>) {
        let _ = workqueue::system_freezable().enqueue::<_, EVENT_WORK>(Arc::from(this));
    }

    /// Queues the work that takes every LUN offline.
    pub(crate) fn queue_offline_work(this: ArcBorrow<'_, Shared>) {
        let _ = this
            .recovery
            .wq()
            .enqueue::<_, OFFLINE_WORK>(Arc::from(this));
    }

    /// Once remove stopped the events ([`events::stop`]): cancels a pending
    /// event work item, or waits for a running one, and waits for the
    /// offline work. Not a flush of the event work: it runs on a freezable
    /// workqueue, which a removal during a resume (after `restore`, which
    /// queues it, and before the thaw) would wait for while holding the
    /// device lock, which the resume's `complete` needs before the thaw.
    fn end_works(this: ArcBorrow<'_, Self>) {
        crate::lib::work::cancel::<_, EVENT_WORK>(this);
        this.flush_offline_work();
    }

    /// Waits for the offline work.
    pub(crate) fn flush_offline_work(&self) {
        crate::lib::work::flush(&self.offline_work);
    }
}

/// What probe builds and remove tears down.
pub(crate) struct ScsiDevice {
    host: Host<RvirtioScsi>,
    shared: Arc<Shared>,
    debugfs: Counters<Stats<ScsiStats>>,
}

impl virtio::Driver for RvirtioScsi {
    type Shared = Shared;
    type Data = ScsiDevice;
    type Context = ModuleContext;

    const NAME: &'static CStr = c_str!("rvirtio_scsi");
    const ID_TABLE: &'static IdTable = &IdTable::new(&[(
        virtio::bindings::VIRTIO_ID_SCSI,
        virtio::bindings::VIRTIO_DEV_ANY_ID,
    )]);
    /// As the C driver's, but T10_PI (QEMU 7.2 cannot emulate it).
    const FEATURES: &'static [u32] = &[proto::feature::HOTPLUG, proto::feature::CHANGE];

    fn context() -> Result<ModuleContext> {
        ModuleContext::new(c_str!("rvirtio_scsi_reset"), c_str!("rvirtio_scsi"))
    }

    fn vq_done(shared: ArcBorrow<'_, Shared>, index: u32) {
        crate::io::vq_done(shared, index);
    }

    /// A device that sets NEEDS_RESET says so with a config change.
    fn config_changed(dev: &Device<Self>, data: &ScsiDevice) {
        Recovery::config_changed(data.shared.as_arc_borrow(), dev);
    }

    fn probe(dev: &Device<Self>, ctx: &ModuleContext) -> Result<ScsiDevice> {
        if !dev.has_config_access() {
            vdev_err!(dev, "probe failure: config access disabled");
            return Err(EINVAL);
        }
        let cfg = read_config(dev);
        let nreq = proto::host_shape(&cfg, nr_cpu_ids(), 1).request_queues;
        let npoll = params::poll_queues().min(nreq.saturating_sub(1));
        let shared = Arc::pin_init(
            try_pin_init!(Shared {
                recovery <- Recovery::new(dev, ctx, ScsiStats::default()),
                vqs: Slots::new(nreq, npoll, proto::vq::FIRST_REQUEST)?,
                ctrl <- IrqSpinLock::new(
                    Staged::empty(),
                    c_str!("rvirtio_scsi_ctrl"),
                    kernel::static_lock_class!()
                ),
                events <- IrqSpinLock::new(
                    Events::new(),
                    c_str!("rvirtio_scsi_events"),
                    kernel::static_lock_class!()
                ),
                tmf_reserve <- TmfReserve::new(|| TmfCmd::new(proto::TmfReq::default()))?,
                event_work <- kernel::new_work!("rvirtio_scsi::event_work"),
                offline_work <- kernel::new_work!("rvirtio_scsi::offline_work"),
                host <- new_mutex!(None, "rvirtio_scsi::host"),
            }? Error),
            GFP_KERNEL,
        )?;
        create_vqs(dev, &shared)?;
        // From here, a failed step resets the device and deletes the queues.
        let queues = Recovery::queues_up(&shared, dev);
        check_ctrl_ring(dev, &shared)?;
        write_sizes(dev);

        let ring = shared.vqs.ring_size();
        if ring < proto::MIN_RING {
            vdev_err!(
                dev,
                "refusing the device: its request rings hold {} descriptors, fewer than a command needs ({})",
                ring,
                proto::MIN_RING
            );
            return Err(EINVAL);
        }
        let shape = proto::host_shape(&cfg, nr_cpu_ids(), ring);
        for (name, said, used) in proto::clamped(&cfg, &shape).into_iter().flatten() {
            vdev_warn!(
                dev,
                "config {} {} is more than works with this device: using {}",
                name,
                said,
                used
            );
        }
        let hcfg = HostConfig {
            can_queue: shape.can_queue,
            cmd_per_lun: shape.cmd_per_lun,
            sg_tablesize: shape.sg_tablesize,
            max_sectors: shape.max_sectors,
            max_id: shape.max_id,
            max_lun: shape.max_lun,
            max_cmd_len: proto::CDB_SIZE as u32,
            nr_hw_queues: nreq,
            poll_queues: npoll,
        };
        let mut host = Host::new(shared.clone(), &hcfg)?;
        let name = CString::try_from_fmt(fmt!("host{}", host.number()))?;
        host.add(dev.as_dev())?;
        *shared.host.lock() = host.host_ref();
        let debugfs = shared.recovery.debugfs(&name);
        dev.ready();
        shared.open_queues();
        if dev.has_feature(proto::feature::HOTPLUG) {
            events::post_buffers(&shared);
        }
        host.scan();
        queues.keep();
        Ok(ScsiDevice {
            host,
            shared,
            debugfs,
        })
    }

    /// The engine stops recovery, then the host is removed while the queues
    /// still work (the midlayer flushes caches and waits for commands; a
    /// command that times out meanwhile, or a reset its error handling
    /// asks for, disables the device instead), then the engine resets the
    /// device and deletes the queues.
    fn remove(dev: &Device<Self>, data: ScsiDevice) {
        let ScsiDevice {
            host,
            shared,
            debugfs,
        } = data;
        // No event work is queued from now on; cancel a pending one, wait
        // for a running one.
        events::stop(&shared);
        Shared::end_works(shared.as_arc_borrow());
        Recovery::remove(&shared, dev, || drop(host));
        drop(debugfs);
        // Queued meanwhile (a giving-up reset's offline work): it finds the
        // host gone and does nothing, but must not outlive the module.
        Shared::end_works(shared.as_arc_borrow());
    }

    // The LUNs are suspended first (the midlayer quiesces them), so the
    // device should hold nothing; what it still holds comes back with
    // `DID_RESET` and is retried after the resume.
    crate::recovery_sleep!(ScsiDevice, shared);
}

/// Reads the device's configuration.
fn read_config(dev: &Device<RvirtioScsi>) -> proto::RawConfig {
    use proto::config as off;
    proto::RawConfig {
        num_queues: dev.read_u32(off::NUM_QUEUES),
        seg_max: dev.read_u32(off::SEG_MAX),
        max_sectors: dev.read_u32(off::MAX_SECTORS),
        cmd_per_lun: dev.read_u32(off::CMD_PER_LUN),
        max_target: dev.read_u16(off::MAX_TARGET),
        max_lun: dev.read_u32(off::MAX_LUN),
    }
}

/// Tells the device the sense and CDB sizes the driver uses.
pub(crate) fn write_sizes(dev: &Device<RvirtioScsi>) {
    dev.write_u32(proto::config::SENSE_SIZE, proto::SENSE_SIZE as u32);
    dev.write_u32(proto::config::CDB_SIZE, proto::CDB_SIZE as u32);
}

/// Creates the control, event and request queues (at probe, and when a
/// reset or resume brings the device up), closed until
/// [`Hooks::publish`](crate::recovery::Hooks::publish) after DRIVER_OK.
pub(crate) fn create_vqs(dev: &Device<RvirtioScsi>, shared: &Arc<Shared>) -> Result {
    let mut specs = KVec::with_capacity(shared.vqs.len() + 2, GFP_KERNEL)?;
    for name in [c_str!("control"), c_str!("event")] {
        specs.push(
            VqSpec {
                name: CString::try_from_fmt(fmt!("{}", name))?,
                callback: true,
            },
            GFP_KERNEL,
        )?;
    }
    shared.vqs.specs(&mut specs, |_, polled| {
        CString::try_from_fmt(fmt!("{}", if polled { "request_poll" } else { "request" }))
    })?;
    let mut vqs = dev
        .find_vqs(shared, specs, proto::vq::FIRST_REQUEST)?
        .into_iter();
    shared.ctrl.lock().install(vqs.next().map(Vq::into_typed));
    shared
        .events
        .lock()
        .vq
        .install(vqs.next().map(Vq::into_typed));
    shared.vqs.install(dev, vqs)
}

/// Refuses a control ring too small for a task management request, which
/// takes two descriptors (no indirect ones are needed then): virtio_ring
/// would WARN at the first. After [`create_vqs`], once a failure resets
/// the device and deletes the queues.
pub(crate) fn check_ctrl_ring(dev: &Device<RvirtioScsi>, shared: &Shared) -> Result {
    let ctrl_ring = shared.ctrl.lock().ring_size();
    if ctrl_ring < 2 {
        vdev_err!(
            dev,
            "refusing the device: its control ring holds {} descriptors, fewer than task management needs (2)",
            ctrl_ring
        );
        return Err(EINVAL);
    }
    Ok(())
}
