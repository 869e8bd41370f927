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
//!   `blk_size`, and its topology; read-only devices;
//! - DISCARD, WRITE_ZEROES (with and without unmap) and SECURE_ERASE, a
//!   writable `cache_type` (CONFIG_WCE), `HDIO_GETGEO`, and system sleep.
//!   ZONED is not offered.
//!
//! With `VIRTIO_BLK_F_MQ` it uses one virtqueue per hardware queue, up to
//! the CPUs and `num_request_queues`, mapped to CPUs by interrupt affinity;
//! the last `poll_queues` of them have no interrupt and serve polled I/O.
//! A config change that is not NEEDS_RESET re-reads the capacity.
//!
//! Unlike the C driver it has a timeout handler, and recovers by reset, on
//! the recovery engine both rvirtio drivers share (`drivers/recovery`): a
//! timeout first harvests the used ring, then looks at the device's health
//! (NEEDS_RESET before DRIVER_OK), and a broken device, or a request that
//! expired `timeouts_before_reset` times in a row, leads to a reset that
//! requeues what the device held. Past `reset_budget` resets in
//! `reset_window`, or if the device does not come back, the disk is marked
//! dead and all I/O fails.
//!
//! This file: the driver, its shared state and the life of a device (probe,
//! config changes, remove, sleep). Requests are in `io.rs`, what the engine
//! asks of the driver in `hooks.rs`, the disk's attributes in `sysfs.rs`.
//! Driver logic holds no `unsafe`.

use crate::lib::cpumask::nr_cpu_ids;
use crate::lib::debugfs::Counters;
use crate::lib::time;
use crate::mq::{Disk, DiskConfig, Limits, Major, Owned, QueueRef, TagSetConfig};
use crate::params;
use crate::proto::{self, feature};
use crate::recovery::{ModuleContext, Recovery, Slots, State, Stats};
use crate::sysfs::{CACHE_TYPE_RO, CACHE_TYPE_RW, SERIAL_ATTR};
use crate::virtio::{self, Device, IdTable};
use crate::{vdev_err, vdev_info, vdev_notice, vdev_warn};
use core::sync::atomic::{AtomicBool, AtomicU32};
use kernel::c_str;
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::{new_mutex, Arc, ArcBorrow, Mutex};
use kernel::workqueue::{Work, WorkItem};
// `fmt!` is in 7.3's prelude.
#[cfg(not(rvirtio_7_3))]
use kernel::fmt;

/// The driver.
pub(crate) struct RvirtioBlk;

crate::declare_disk_ops!(DISK_OPS, RvirtioBlk);

/// What every device of the driver shares: the engine's workqueue and
/// debugfs directory, and the block major.
pub(crate) struct Context {
    engine: ModuleContext,
    major: Major,
}

/// What the request path, the virtqueue callbacks, timeouts and the reset
/// work share.
#[pin_data]
pub(crate) struct Shared {
    #[pin]
    pub(crate) recovery: Recovery<Shared>,
    /// The request virtqueues, in hardware-queue order.
    pub(crate) vqs: Slots<Owned<RvirtioBlk>>,
    #[pin]
    config_work: Work<Shared, CONFIG_WORK>,
    /// The disk's queue, once the disk exists.
    #[pin]
    pub(crate) queue: Mutex<Option<QueueRef>>,
    /// A discard may carry one range per bio.
    pub(crate) multi_range_discard: bool,
    /// The cache mode written through `cache_type` (0 or 1), or
    /// [`WCE_UNSET`]: written again after a reset or resume, which make the
    /// device forget it.
    pub(crate) wce: AtomicU32,
    /// A reset requeued requests: the unquiesce after it kicks the requeue
    /// list. Only then: a reset that failed everything (giving up, or
    /// disabling the device while remove deletes the disk) must not queue
    /// the requeue work, which `del_gendisk` may have cancelled already.
    pub(crate) requeued: AtomicBool,
}

/// [`Shared::wce`] when the user never wrote `cache_type`.
pub(crate) const WCE_UNSET: u32 = u32::MAX;

/// The id of [`Shared`]'s config-change work item.
const CONFIG_WORK: u64 = 0;

crate::impl_recovery_work!(Shared, recovery);

kernel::impl_has_work! {
    impl HasWork<Self, CONFIG_WORK> for Shared { self.config_work }
}

impl WorkItem<CONFIG_WORK> for Shared {
    type Pointer = Arc<Shared>;

    fn run(this: Arc<Shared>) {
        update_capacity(&this);
    }
}

impl Shared {
    /// Waits for the config-change work.
    pub(crate) fn flush_config_work(&self) {
        crate::lib::work::flush(&self.config_work);
    }
}

/// What probe builds and remove tears down.
pub(crate) struct BlkDevice {
    shared: Arc<Shared>,
    disk: Disk<RvirtioBlk>,
    _debugfs: Counters<Stats>,
}

impl virtio::Driver for RvirtioBlk {
    type Shared = Shared;
    type Data = BlkDevice;
    type Context = Context;

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

    fn context() -> Result<Context> {
        Ok(Context {
            engine: ModuleContext::new(c_str!("rvirtio_blk_reset"), c_str!("rvirtio_blk"))?,
            major: Major::register(c_str!("rvirtblk"))?,
        })
    }

    fn vq_done(shared: ArcBorrow<'_, Shared>, index: u32) {
        crate::io::vq_done(shared, index);
    }

    /// A config change that finds NEEDS_RESET resets at once; any other
    /// config change may be a new capacity.
    fn config_changed(dev: &Device<Self>, data: &BlkDevice) {
        let shared = &data.shared;
        if !Recovery::config_changed(shared.as_arc_borrow(), dev) {
            // Already queued: that run will read the new capacity too.
            let _ = shared
                .recovery
                .wq()
                .enqueue::<_, CONFIG_WORK>(shared.clone());
        }
    }

    fn probe(dev: &Device<Self>, ctx: &Context) -> Result<BlkDevice> {
        if !dev.has_config_access() {
            vdev_err!(dev, "probe failure: config access disabled");
            return Err(EINVAL);
        }
        let refuse = |e: proto::ConfigError| {
            vdev_err!(dev, "refusing the device: {}", e);
            EINVAL
        };
        let shape = proto::disk_shape(&read_config(dev)).map_err(refuse)?;
        let num_queues = dev
            .has_feature(feature::MQ)
            .then(|| dev.read_u16(proto::config::NUM_QUEUES));
        let nvqs = proto::request_queues(num_queues, params::num_request_queues(), nr_cpu_ids())
            .map_err(refuse)?;
        let npoll = proto::poll_queues(params::poll_queues(), nvqs);
        vdev_info!(dev, "{}/0/{} default/read/poll queues", nvqs - npoll, npoll);

        let shared = Arc::pin_init(
            try_pin_init!(Shared {
                recovery <- Recovery::new(dev, &ctx.engine, ()),
                vqs: Slots::new(nvqs, npoll, 0)?,
                config_work <- kernel::new_work!("rvirtio_blk::config_work"),
                queue <- new_mutex!(None, "rvirtio_blk::queue"),
                multi_range_discard: shape.max_discard_segments > 1,
                wce: AtomicU32::new(WCE_UNSET),
                requeued: AtomicBool::new(false),
            }? Error),
            GFP_KERNEL,
        )?;
        create_vqs(dev, &shared)?;
        // From here, a failed step resets the device and deletes the queues.
        let queues = Recovery::queues_up(&shared, dev);
        let indirect = dev.has_feature(feature::RING_INDIRECT_DESC);
        let mut shape = shape;
        shape.max_segments =
            proto::segments_for_ring(shape.max_segments, shared.vqs.ring_size(), indirect)
                .map_err(refuse)?;

        let tags = TagSetConfig {
            nr_hw_queues: nvqs,
            poll_queues: npoll,
            queue_depth: proto::queue_depth(
                params::queue_depth(),
                shared.vqs.ring_size(),
                indirect,
            ),
            timeout: u32::try_from(time::secs_to_jiffies(params::io_timeout())).unwrap_or(u32::MAX),
        };
        let mut disk = Disk::new(shared.clone(), &tags, &disk_config(ctx, &shape), &DISK_OPS)
            .inspect_err(|e| {
                vdev_err!(
                    dev,
                    "refusing the device: the block layer did not accept its disk ({:?})",
                    e
                )
            })?;
        *shared.queue.lock() = disk.queue_ref();
        let debugfs = shared.recovery.debugfs(disk.name());
        log_capacity(
            dev,
            disk.name(),
            disk.logical_block_size(),
            shape.capacity,
            false,
        );

        dev.ready();
        shared.vqs.publish();
        let cache_type = if dev.has_feature(feature::CONFIG_WCE) {
            CACHE_TYPE_RW
        } else {
            CACHE_TYPE_RO
        };
        disk.add(dev.as_dev(), &[SERIAL_ATTR, cache_type])?;
        queues.keep();
        Ok(BlkDevice {
            shared,
            disk,
            _debugfs: debugfs,
        })
    }

    /// The engine stops recovery; the disk is deleted with the queues live,
    /// so that written data reaches the device (the page cache written back,
    /// the cache flushed, the filesystem shut down), as the C driver does;
    /// a request that times out meanwhile disables the device (reset, and
    /// what it held fails) rather than being waited for. Then the engine
    /// resets the device and deletes the queues.
    fn remove(dev: &Device<Self>, data: BlkDevice) {
        let BlkDevice {
            shared,
            mut disk,
            _debugfs,
        } = data;
        Recovery::remove(&shared, dev, || disk.delete());
        drop(_debugfs);
        drop(disk);
    }

    // Unlike the C driver's, a device that does not answer cannot block
    // suspend.
    crate::recovery_sleep!(BlkDevice, shared);
}

/// The gendisk's configuration, from the device's validated config.
fn disk_config(ctx: &Context, shape: &proto::DiskShape) -> DiskConfig {
    DiskConfig {
        major: ctx.major.number(),
        minors: proto::MINORS,
        name: disk_name,
        limits: Limits {
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
        },
        capacity: shape.capacity,
        read_only: shape.read_only,
    }
}

/// Creates the request virtqueues and puts them in their slots (at probe,
/// and when a reset or resume brings the device up), parked until
/// [`Slots::publish`] after DRIVER_OK.
pub(crate) fn create_vqs(dev: &Device<RvirtioBlk>, shared: &Arc<Shared>) -> Result {
    let mut specs = KVec::with_capacity(shared.vqs.len(), GFP_KERNEL)?;
    shared.vqs.specs(&mut specs, |i, polled| {
        if polled {
            CString::try_from_fmt(fmt!("req_poll.{}", i))
        } else {
            CString::try_from_fmt(fmt!("req.{}", i))
        }
    })?;
    let vqs = dev.find_vqs(shared, specs, 0)?;
    shared.vqs.install(dev, vqs.into_iter())
}

/// The device's config changed: read the capacity again, and resize the
/// disk if it changed (`set_capacity_and_notify` tells user space). Not for
/// a dead disk (its size stays 0), whose device may read all ones.
fn update_capacity(shared: &Shared) {
    if shared.recovery.state() == State::Dead {
        return;
    }
    let queue = shared.queue.lock().clone();
    let Some(queue) = queue else {
        return;
    };
    shared.recovery.dev().with(|dev| {
        let sectors = capacity(dev);
        queue.with(|q| {
            if q.set_capacity(sectors) {
                log_capacity(dev, q.name(), q.logical_block_size(), sectors, true);
            }
        })
    });
}

/// The device's capacity, clamped to what the block layer can hold (logged).
fn capacity(dev: &Device<RvirtioBlk>) -> u64 {
    let raw = dev.read_u64(proto::config::CAPACITY);
    let sectors = proto::clamp_capacity(raw);
    if sectors != raw {
        vdev_warn!(
            dev,
            "capacity {} sectors is more than the block layer can hold: using {}",
            raw,
            sectors
        );
    }
    sectors
}

/// Reads the config fields for the negotiated features.
fn read_config(dev: &Device<RvirtioBlk>) -> proto::RawConfig {
    use proto::config as off;
    let has = |bit| dev.has_feature(bit);
    proto::RawConfig {
        capacity: capacity(dev),
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
        page_size: u32::try_from(kernel::page::PAGE_SIZE).unwrap_or(u32::MAX),
    }
}

fn disk_name(index: u32, buf: &mut [u8]) -> Result<usize> {
    proto::disk_name(index, buf).ok_or(EINVAL)
}

fn log_capacity(dev: &Device<RvirtioBlk>, name: &CStr, lbs: u32, sectors: u64, resize: bool) {
    let (blocks, bytes) = proto::capacity_in_blocks(sectors, lbs);
    vdev_notice!(
        dev,
        "[{}] {}{} {}-byte logical blocks ({} MB/{} MiB)",
        name.to_str().unwrap_or("?"),
        if resize { "new size: " } else { "" },
        blocks,
        lbs,
        bytes / 1_000_000,
        bytes >> 20
    );
}
