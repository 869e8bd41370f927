// SPDX-License-Identifier: GPL-2.0

//! rvirtio_blk: a virtio-blk driver.
//!
//! It binds to virtio block devices and serves them as `vda`, `vdb`, ...,
//! like the C `virtio_blk`:
//!
//! - READ, WRITE, FLUSH (when the device offers `VIRTIO_BLK_F_FLUSH`, the
//!   disk has a volatile write cache) and GET_ID (sysfs `serial`);
//! - multi-segment requests within the device's `seg_max`, `size_max` and
//!   `blk_size`, and its topology;
//! - read-only devices (`VIRTIO_BLK_F_RO`).
//!
//! Not yet: several queues, discard and write-zeroes, the write-cache
//! toggle, geometry, and recovery from requests the device never returns.
//!
//! The reading order follows the life of a device: per-request data, the
//! request path (`queue_rq`, the virtqueue callback, `complete`), then probe
//! and remove. The virtio layer, the blk-mq glue and the pure protocol logic
//! live in neighbouring modules; this file holds no `unsafe`.

use crate::lib::irqlock::IrqSpinLock;
use crate::mq::{self, Busy, Disk, DiskAttr, DiskConfig, DiskRef, Limits, Op, Owned, Request};
use crate::mq::{Status, TagSetConfig};
use crate::virtio::{self, Chain, Device, DeviceWritable, IdTable, Virtqueue, VqSpec};
use crate::virtio_blk_proto::{self as proto, feature, BlockOp, OutHdr, Outcome};
use crate::{vdev_err, vdev_notice};
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::Arc;
use kernel::{c_str, fmt};

/// The block major, registered at module load (see [`set_major`]).
static MAJOR: AtomicU32 = AtomicU32::new(0);

/// Records the block major the module registered.
pub(crate) fn set_major(major: u32) {
    MAJOR.store(major, Ordering::Relaxed);
}

crate::declare_disk_ops!(DISK_OPS, RvirtioBlk);

/// The driver.
pub(crate) struct RvirtioBlk;

/// Per-request data: the header the device reads and the status byte it
/// writes. The data itself is the request's mapped pages.
#[derive(Default)]
pub(crate) struct BlkRequest {
    hdr: OutHdr,
    status: DeviceWritable<u8>,
}

/// A request virtqueue: `None` while the device has no queues.
type ReqQueue = IrqSpinLock<Option<Virtqueue<Owned<RvirtioBlk>>>>;

/// What the request path and the virtqueue callbacks share.
pub(crate) struct Shared {
    vqs: KVec<Pin<KBox<ReqQueue>>>,
}

/// What probe builds and remove tears down.
pub(crate) struct BlkDevice {
    shared: Arc<Shared>,
    disk: Disk<RvirtioBlk>,
}

// ---------------------------------------------------------------------------
// The request path.

impl virtio::Token for Owned<RvirtioBlk> {
    /// Header, then the data (read or written by the device), then status.
    fn describe<'a>(rq: &'a Request<RvirtioBlk>, chain: &mut Chain<'a>) {
        let d = rq.data();
        chain.read(&d.hdr);
        chain.sg(rq.mapped(), proto::device_writes_data(d.hdr.type_()));
        chain.write(&d.status);
    }
}

fn block_op(op: Op) -> BlockOp {
    match op {
        Op::Read => BlockOp::Read,
        Op::Write => BlockOp::Write,
        Op::Flush => BlockOp::Flush,
        Op::DriverIn => BlockOp::GetId,
        _ => BlockOp::Unsupported,
    }
}

fn status_of(outcome: Outcome) -> Status {
    match outcome {
        Outcome::Ok => Status::OK,
        Outcome::Unsupported => Status::NOT_SUPPORTED,
        Outcome::IoError => Status::IO_ERROR,
    }
}

impl mq::Operations for RvirtioBlk {
    type QueueData = Shared;
    type RequestData = BlkRequest;

    fn queue_rq(shared: &Shared, mut rq: Owned<Self>, last: bool) -> Result<(), Busy<Self>> {
        // A driver-private request (GET_ID) arrives with its header set.
        if rq.op() != Op::DriverIn {
            match proto::header_for(block_op(rq.op()), rq.sector(), rq.ioprio()) {
                Some(hdr) => rq.data_mut().hdr = hdr,
                None => {
                    rq.end(Status::NOT_SUPPORTED);
                    return Ok(());
                }
            }
        }
        rq.data_mut().status.set(proto::STATUS_UNSET);
        if rq.map_data().is_err() {
            return Err(Busy::Resource(rq));
        }

        let Some(slot) = shared.vqs.get(rq.hw_queue() as usize) else {
            rq.end(Status::IO_ERROR);
            return Ok(());
        };
        let mut guard = slot.lock();
        let Some(vq) = guard.as_mut() else {
            drop(guard);
            rq.end(Status::IO_ERROR);
            return Ok(());
        };
        if let Err((rq, err)) = vq.add(rq) {
            // Let the device work through what it has before we retry.
            if vq.kick_prepare() {
                vq.notify();
            }
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
        if last && vq.kick_prepare() {
            vq.notify();
        }
        Ok(())
    }

    fn commit_rqs(shared: &Shared, hw_queue: u32) {
        if let Some(slot) = shared.vqs.get(hw_queue as usize) {
            if let Some(vq) = slot.lock().as_mut() {
                if vq.kick_prepare() {
                    vq.notify();
                }
            }
        }
    }

    fn complete(_shared: &Shared, rq: Owned<Self>) {
        let status = status_of(proto::outcome(rq.data().status.get()));
        rq.end(status);
    }
}

// ---------------------------------------------------------------------------
// The device.

impl virtio::Driver for RvirtioBlk {
    type Shared = Shared;
    type Token = Owned<RvirtioBlk>;
    type Data = BlkDevice;

    const NAME: &'static CStr = c_str!("rvirtio_blk");
    const ID_TABLE: &'static IdTable = &IdTable::new(&[(
        virtio::bindings::VIRTIO_ID_BLOCK,
        virtio::bindings::VIRTIO_DEV_ANY_ID,
    )]);
    const FEATURES: &'static [u32] = &[
        feature::SEG_MAX,
        feature::SIZE_MAX,
        feature::RO,
        feature::BLK_SIZE,
        feature::FLUSH,
        feature::TOPOLOGY,
    ];

    /// The device returned requests: hand each back to blk-mq.
    fn vq_done(shared: &Shared, index: u32) {
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

    fn probe(dev: &Device<Self>) -> Result<BlkDevice> {
        if !dev.has_config_access() {
            vdev_err!(dev, "probe failure: config access disabled");
            return Err(EINVAL);
        }
        let shape = proto::disk_shape(&read_config(dev)).map_err(|e| {
            vdev_err!(dev, "refusing device: {:?}", e);
            EINVAL
        })?;

        let nvqs = 1;
        let mut slots = KVec::with_capacity(nvqs, GFP_KERNEL)?;
        let mut specs = KVec::with_capacity(nvqs, GFP_KERNEL)?;
        for i in 0..nvqs {
            slots.push(
                KBox::pin_init(
                    IrqSpinLock::new(None, c_str!("rvirtio_blk_vq"), kernel::static_lock_class!()),
                    GFP_KERNEL,
                )?,
                GFP_KERNEL,
            )?;
            specs.push(
                VqSpec {
                    name: CString::try_from_fmt(fmt!("req.{}", i))?,
                    callback: true,
                },
                GFP_KERNEL,
            )?;
        }
        let shared = Arc::new(Shared { vqs: slots }, GFP_KERNEL)?;
        let vqs = dev.find_vqs(&shared, specs)?;
        let ring_free = vqs.first().map_or(1, |vq| vq.num_free());
        for (slot, vq) in shared.vqs.iter().zip(vqs) {
            *slot.lock() = Some(vq);
        }

        let depth = proto::queue_depth(0, ring_free, dev.has_feature(feature::RING_INDIRECT_DESC));
        let limits = Limits {
            logical_block_size: shape.logical_block_size,
            physical_block_size: shape.physical_block_size,
            alignment_offset: shape.alignment_offset,
            io_min: shape.io_min,
            io_opt: shape.io_opt,
            max_hw_sectors: u32::MAX,
            max_segments: shape.max_segments,
            max_segment_size: shape.max_segment_size,
            write_cache: shape.write_cache,
            rotational: true,
            ..Limits::default()
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
            queue_depth: depth,
            timeout: 0,
        };
        let mut disk = match Disk::new(shared.clone(), &tags, &cfg, &DISK_OPS) {
            Ok(disk) => disk,
            Err(e) => {
                teardown_vqs(dev, &shared);
                return Err(e);
            }
        };
        log_capacity(dev, &disk, shape.capacity, false);

        dev.ready();
        if let Err(e) = disk.add(dev.as_dev(), &[SERIAL_ATTR]) {
            drop(disk);
            teardown_vqs(dev, &shared);
            return Err(e);
        }
        Ok(BlkDevice { shared, disk })
    }

    fn remove(dev: &Device<Self>, data: BlkDevice) {
        let BlkDevice { shared, disk } = data;
        // Deleting the disk waits for every request in flight to end.
        drop(disk);
        teardown_vqs(dev, &shared);
    }
}

/// Resets the device and deletes its queues. Requests it still held (there
/// should be none once the disk is gone) fail with an I/O error.
fn teardown_vqs(dev: &Device<RvirtioBlk>, shared: &Shared) {
    let reset = dev.reset();
    let mut vqs = KVec::new();
    for slot in shared.vqs.iter() {
        let taken = slot.lock().take();
        if let Some(mut vq) = taken {
            while let Some(rq) = vq.detach_unused(&reset) {
                rq.end(Status::IO_ERROR);
            }
            if vqs.push(vq, GFP_KERNEL).is_err() {
                vdev_err!(dev, "out of memory deleting virtqueues");
                return;
            }
        }
    }
    if dev.del_vqs(vqs).is_err() {
        vdev_err!(dev, "virtqueues could not be deleted");
    }
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
        max_dma_size: dev.max_dma_size(),
        page_size: kernel::page::PAGE_SIZE as u32,
    }
}

fn disk_name(index: u32, buf: &mut [u8]) -> Result<usize> {
    proto::disk_name(index, buf).ok_or(EINVAL)
}

fn log_capacity(dev: &Device<RvirtioBlk>, disk: &Disk<RvirtioBlk>, sectors: u64, resize: bool) {
    let lbs = disk.logical_block_size();
    let blocks = sectors.div_ceil(u64::from(lbs / 512));
    let bytes = blocks * u64::from(lbs);
    vdev_notice!(
        dev,
        "[{}] {}{} {}-byte logical blocks ({} MB/{} MiB)",
        disk.name(),
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
};

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
