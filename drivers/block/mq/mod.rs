// SPDX-License-Identifier: GPL-2.0

//! blk-mq glue: a safe Rust layer over the C multi-queue block layer.
//!
//! The 6.12 `kernel::block::mq` has no timeout, `init_request`, `map_queues`,
//! poll or `getgeo` hooks; this glue is rvirtio's own, shaped after it. It knows
//! nothing about virtio.
//!
//! - [`Operations`]: what a driver implements: `queue_rq`, `commit_rqs`,
//!   `complete` and `timeout`, with a per-device [`Operations::QueueData`]
//!   and per-request [`Operations::RequestData`].
//! - [`Owned`]: the driver's right to end one started request. It is unique;
//!   it implements [`crate::lib::foreign::Foreign`], so a transport can hold
//!   it while the hardware owns the request; dropping it fails the request,
//!   so a request can never be forgotten.
//! - [`Request`]: a shared view of a request (position, size, operation,
//!   the driver's data), for code that does not own it.
//! - [`Batch`] and [`RqList`]: a plug list that blk-mq hands over at once
//!   (`queue_rqs`), and a driver's own list of owned requests.
//! - [`Disk`]: a tag set and its gendisk, with sysfs attributes, from
//!   allocation to `del_gendisk`.

pub(crate) mod bindings;
mod disk;
mod ops;
mod request;

pub(crate) use crate::lib::queuemap::QueueMap;
pub(crate) use disk::TagSetConfig;
pub(crate) use disk::{
    Disk, DiskAttr, DiskConfig, DiskOps, DiskRef, Limits, Major, QueueCtl, QueueRef,
};
pub(crate) use request::{Batch, Completions, Op, Owned, Request, RqList};

use kernel::error::VTABLE_DEFAULT_ERROR;
use kernel::prelude::*;
use kernel::sync::ArcBorrow;

/// A block-layer status (`blk_status_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Status(pub(crate) u8);

impl Status {
    /// Success.
    pub(crate) const OK: Status = Status(bindings::RVIRTIO_BLK_STS_OK);
    /// The operation is not supported (`EOPNOTSUPP`).
    pub(crate) const NOT_SUPPORTED: Status = Status(bindings::RVIRTIO_BLK_STS_NOTSUPP);
    /// An I/O error (`EIO`).
    pub(crate) const IO_ERROR: Status = Status(bindings::RVIRTIO_BLK_STS_IOERR);

    /// The negative errno the block layer reports for this status.
    pub(crate) fn to_errno(self) -> i32 {
        // SAFETY: Pure function of its argument.
        unsafe { kernel::bindings::blk_status_to_errno(self.0) }
    }
}

/// Why `queue_rq` could not take a request now. The request goes back to
/// blk-mq, which dispatches it again later.
pub(crate) enum Busy<T: Operations> {
    /// The device is full; blk-mq retries when one of this queue's requests
    /// completes.
    Device(Owned<T>),
    /// A transient shortage (memory); blk-mq retries after a short delay.
    Resource(Owned<T>),
}

/// A disk's legacy CHS geometry (`struct hd_geometry`), for old
/// partitioning tools.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Geometry {
    /// Cylinders.
    pub(crate) cylinders: u16,
    /// Heads.
    pub(crate) heads: u8,
    /// Sectors per track.
    pub(crate) sectors: u8,
}

/// What the timeout handler decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimeoutAction {
    /// The request is still owned by the hardware: restart its timer.
    ResetTimer,
    /// The handler completed the request (it had already come back).
    Done,
}

/// A blk-mq driver. Implement it with `#[vtable]`: the optional callbacks
/// (`queue_rqs`, `map_queues`, `poll`, `geometry`, `timeout`) are installed
/// only when the driver provides them, as the `kernel` crate's own
/// `#[vtable]` traits do.
#[vtable]
pub(crate) trait Operations: Sized + Send + Sync + 'static {
    /// Per-device data the callbacks see (the queue's `queuedata`).
    type QueueData: Send + Sync + 'static;
    /// Per-request driver data, kept in the request's PDU.
    type RequestData: Default + Send + Sync + 'static;

    /// Takes a started request. The driver either keeps `rq` (handing it to
    /// hardware), ends it, or gives it back as [`Busy`].
    fn queue_rq(
        queue: ArcBorrow<'_, Self::QueueData>,
        rq: Owned<Self>,
        last: bool,
    ) -> Result<(), Busy<Self>>;

    /// Takes a batch of requests for hardware queue `hw_queue`, the head of a
    /// plug list, so that the driver can hand them to the hardware with one
    /// lock and one notification (`queue_rqs`; optional). Each request the
    /// driver takes from `batch` is started; it keeps, ends or retries
    /// ([`Owned::retry`]) each. Those it leaves in `batch` go through
    /// [`Self::queue_rq`] one by one.
    fn queue_rqs(
        _queue: ArcBorrow<'_, Self::QueueData>,
        _hw_queue: u32,
        _batch: &mut Batch<'_, Self>,
    ) {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Flushes requests queued without `last` on hardware queue `hw_queue`.
    fn commit_rqs(queue: ArcBorrow<'_, Self::QueueData>, hw_queue: u32);

    /// Ends a request that `Owned::complete` handed to blk-mq.
    fn complete(queue: ArcBorrow<'_, Self::QueueData>, rq: Owned<Self>);

    /// Maps CPUs to the interrupt-driven hardware queues (optional; blk-mq
    /// spreads them evenly without it).
    fn map_queues(_queue: ArcBorrow<'_, Self::QueueData>, _map: &mut QueueMap) {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Polls hardware queue `hw_queue`, one of the poll queues (see
    /// [`TagSetConfig::poll_queues`]), for finished requests, and completes
    /// them ([`Owned::complete_polled`] into `done`); returns how many it
    /// found (optional; a driver without it has no poll queues).
    fn poll(
        _queue: ArcBorrow<'_, Self::QueueData>,
        _hw_queue: u32,
        _done: &mut Completions<Self>,
    ) -> u32 {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The geometry `HDIO_GETGEO` reports for a disk of `capacity` sectors
    /// (optional; without it the ioctl fails with `ENOTTY`).
    fn geometry(_queue: &Self::QueueData, _capacity: u64) -> Result<Geometry> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The request's timer expired, for the `expiries`-th time in a row since
    /// it was dispatched. The hardware may still own it: the handler cannot
    /// end it, only look at it (and harvest the hardware's completions).
    /// Optional: without it blk-mq restarts the timer.
    fn timeout(
        _queue: ArcBorrow<'_, Self::QueueData>,
        _rq: &Request<Self>,
        _expiries: u32,
    ) -> TimeoutAction {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }
}
