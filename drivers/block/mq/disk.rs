// SPDX-License-Identifier: GPL-2.0

//! Tag sets and gendisks: [`Disk`], from allocation to `del_gendisk`.

use super::bindings as mb;
use super::ops::OpsTable;
use super::request::Pdu;
use super::Operations;
use crate::lib::revocable::Revocable;
use core::cell::UnsafeCell;
use core::marker::PhantomData;
use kernel::bindings;
use kernel::error::to_result;
use kernel::ffi::{c_char, c_int};
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::types::Opaque;

/// A dynamically allocated block major, released on drop.
pub(crate) struct Major {
    major: u32,
    name: &'static CStr,
}

impl Major {
    /// Registers a block major called `name` (as `/proc/devices` shows it).
    pub(crate) fn register(name: &'static CStr) -> Result<Self> {
        // SAFETY: `name` is a static string.
        let major = unsafe { mb::rvirtio_register_blkdev(name.as_char_ptr()) };
        let Ok(major) = u32::try_from(major) else {
            return Err(Error::from_errno(major));
        };
        Ok(Self { major, name })
    }

    /// The major number.
    pub(crate) fn number(&self) -> u32 {
        self.major
    }
}

impl Drop for Major {
    fn drop(&mut self) {
        // SAFETY: We registered this major with this name.
        unsafe { bindings::unregister_blkdev(self.major, self.name.as_char_ptr()) };
    }
}

/// The `block_device_operations` of a driver's disks. Declare one per driver
/// with [`crate::declare_disk_ops`], which makes it a static of the module
/// (its `owner` pins the module while a disk is open).
pub(crate) struct DiskOps<T: Operations> {
    fops: UnsafeCell<bindings::block_device_operations>,
    _p: PhantomData<T>,
}

// SAFETY: The table is never changed after its constant initialisation.
unsafe impl<T: Operations> Sync for DiskOps<T> {}

impl<T: Operations> DiskOps<T> {
    /// A table owned by `module`.
    pub(crate) const fn new(module: *mut bindings::module) -> Self {
        // SAFETY: An all-zero table has no operations.
        let mut fops: bindings::block_device_operations = unsafe { core::mem::zeroed() };
        fops.owner = module;
        fops.free_disk = Some(free_disk::<T>);
        if T::HAS_GEOMETRY {
            fops.getgeo = Some(getgeo::<T>);
        }
        Self {
            fops: UnsafeCell::new(fops),
            _p: PhantomData,
        }
    }

    fn raw(&'static self) -> *const bindings::block_device_operations {
        self.fops.get()
    }
}

/// Declares the static [`DiskOps`] of a driver.
#[macro_export]
macro_rules! declare_disk_ops {
    ($name:ident, $ops:ty) => {
        static $name: $crate::mq::DiskOps<$ops> = $crate::mq::DiskOps::new(
            // Only the address of this module's `struct module` is taken.
            ::core::ptr::addr_of!(::kernel::bindings::__this_module).cast_mut(),
        );
    };
}

/// The last reference to an added disk went away (an open descriptor keeps
/// it past [`Disk`]'s drop): release its index and the driver's reference
/// to its queue data, which every `block_device_operations` call may use
/// until now. C callback.
///
/// # Safety
///
/// Called by the block layer once, when the last reference to a disk built by
/// [`Disk`] for `T` and added goes away.
unsafe extern "C" fn free_disk<T: Operations>(disk: *mut bindings::gendisk) {
    // SAFETY: The disk is being released; its minors came from its index.
    // Its `private_data` is the reference to the queue data that `Disk::new`
    // made with `Arc::into_raw` and that `Disk`'s drop left to us, as the
    // disk was added.
    unsafe {
        let index = (*disk).first_minor / (*disk).minors;
        mb::rvirtio_disk_index_free(index);
        drop(Arc::from_raw(
            (*disk).private_data.cast_const().cast::<T::QueueData>(),
        ));
    }
}

/// What `getgeo` is called with: the disk on 7.3, an open block device of
/// it on 6.12.
#[cfg(rvirtio_7_3)]
type GeoTarget = bindings::gendisk;
/// What `getgeo` is called with: the disk on 7.3, an open block device of
/// it on 6.12.
#[cfg(not(rvirtio_7_3))]
type GeoTarget = bindings::block_device;

/// The disk `getgeo` was called for.
///
/// # Safety
///
/// `target` is what the block layer passed to `getgeo`.
unsafe fn geo_disk(target: *mut GeoTarget) -> *mut bindings::gendisk {
    #[cfg(rvirtio_7_3)]
    return target;
    #[cfg(not(rvirtio_7_3))]
    // SAFETY: The block device is open, so valid.
    return unsafe { (*target).bd_disk };
}

/// `HDIO_GETGEO`: asks the driver for its geometry.
/// C callback.
///
/// # Safety
///
/// Called by the block layer for a disk built by [`Disk`] for `T`, open
/// (6.12: through `target`, an open block device of it), and a geometry
/// to fill.
unsafe extern "C" fn getgeo<T: Operations>(
    target: *mut GeoTarget,
    geo: *mut bindings::hd_geometry,
) -> c_int {
    // SAFETY: The disk is open, so alive, with our queue data as
    // `private_data`.
    let (queue, capacity) = unsafe {
        let disk = geo_disk(target);
        (
            &*(*disk).private_data.cast::<T::QueueData>(),
            mb::rvirtio_disk_capacity(disk),
        )
    };
    match T::geometry(queue, capacity) {
        Ok(g) => {
            // SAFETY: `geo` is valid for writes; the block layer fills in
            // `start` itself.
            unsafe { mb::rvirtio_set_geometry(geo, g.cylinders, g.heads, g.sectors) };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// Queue limits, as `struct queue_limits` takes them. Zero means "the block
/// layer's default" for every field but the block sizes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Limits {
    /// Logical block size in bytes.
    pub(crate) logical_block_size: u32,
    /// Physical block size in bytes (0: the logical size).
    pub(crate) physical_block_size: u32,
    /// Alignment offset of the first logical block, in bytes.
    pub(crate) alignment_offset: u32,
    /// Minimum I/O size, in bytes.
    pub(crate) io_min: u32,
    /// Optimal I/O size, in bytes.
    pub(crate) io_opt: u32,
    /// Largest request, in 512-byte sectors.
    pub(crate) max_hw_sectors: u32,
    /// Most data segments in one request.
    pub(crate) max_segments: u16,
    /// Largest data segment, in bytes.
    pub(crate) max_segment_size: u32,
    /// Largest discard, in sectors.
    pub(crate) max_hw_discard_sectors: u32,
    /// Most ranges in one discard.
    pub(crate) max_discard_segments: u16,
    /// Discard granularity, in bytes.
    pub(crate) discard_granularity: u32,
    /// Largest write-zeroes, in sectors.
    pub(crate) max_write_zeroes_sectors: u32,
    /// Largest secure erase, in sectors.
    pub(crate) max_secure_erase_sectors: u32,
    /// The device has a volatile write cache (it needs flushes).
    pub(crate) write_cache: bool,
    /// The device is rotational.
    pub(crate) rotational: bool,
}

impl Limits {
    fn to_raw(&self) -> bindings::queue_limits {
        // SAFETY: An all-zero `queue_limits` asks for every default.
        let mut lim: bindings::queue_limits = unsafe { core::mem::zeroed() };
        lim.logical_block_size = self.logical_block_size;
        lim.physical_block_size = self.physical_block_size;
        lim.alignment_offset = self.alignment_offset;
        lim.io_min = self.io_min;
        lim.io_opt = self.io_opt;
        lim.max_hw_sectors = self.max_hw_sectors;
        lim.max_segments = self.max_segments;
        lim.max_segment_size = self.max_segment_size;
        lim.max_hw_discard_sectors = self.max_hw_discard_sectors;
        lim.max_discard_segments = self.max_discard_segments;
        lim.discard_granularity = self.discard_granularity;
        lim.max_write_zeroes_sectors = self.max_write_zeroes_sectors;
        lim.max_secure_erase_sectors = self.max_secure_erase_sectors;
        if self.write_cache {
            lim.features |= mb::RVIRTIO_BLK_FEAT_WRITE_CACHE;
        }
        if self.rotational {
            lim.features |= mb::RVIRTIO_BLK_FEAT_ROTATIONAL;
        }
        lim
    }
}

/// A tag set and what the glue's callbacks need to know about it.
#[repr(C)]
pub(super) struct TagSet {
    /// First, so that a `blk_mq_tag_set` pointer is a `TagSet` pointer.
    pub(super) set: UnsafeCell<bindings::blk_mq_tag_set>,
    /// The last `poll_queues` hardware queues are poll queues.
    pub(super) poll_queues: u32,
}

/// How to build the tag set.
pub(crate) struct TagSetConfig {
    /// Hardware queues, poll queues included.
    pub(crate) nr_hw_queues: u32,
    /// How many of them (the last ones) are poll queues: queues without
    /// interrupts, that serve polled I/O (`io_uring` with `IORING_SETUP_IOPOLL`)
    /// through [`Operations::poll`].
    pub(crate) poll_queues: u32,
    /// Tags per hardware queue.
    pub(crate) queue_depth: u32,
    /// Request timeout in jiffies (0: the block layer's 30 s).
    pub(crate) timeout: u32,
}

/// A sysfs attribute of the disk device: read-only, or read-write when it
/// has a `store`.
pub(crate) struct DiskAttr<T: Operations> {
    /// The file name.
    pub(crate) name: &'static CStr,
    /// Fills the page with the value; returns the length written.
    pub(crate) show: ShowFn<T>,
    /// Takes a value written to the file (the whole write).
    pub(crate) store: Option<StoreFn<T>>,
}

/// A live gendisk of driver `T`, as sysfs attributes see it.
///
/// # Invariants
///
/// The gendisk was built by [`Disk`] for `T` and has not been deleted: its
/// queue, tag set and queue data are alive.
#[repr(transparent)]
pub(crate) struct DiskRef<T: Operations>(Opaque<bindings::gendisk>, PhantomData<T>);

impl<T: Operations> DiskRef<T> {
    fn raw(&self) -> *mut bindings::gendisk {
        self.0.get()
    }

    /// The driver's per-device data.
    pub(crate) fn queue_data(&self) -> &T::QueueData {
        // SAFETY: `Disk` sets `private_data` to its queue data, alive while
        // the disk is (type invariant).
        unsafe { &*(*self.raw()).private_data.cast::<T::QueueData>() }
    }

    /// Turns the queue's volatile write cache flag on or off (what sysfs
    /// `queue/write_cache` shows, and whether flushes are sent). Freezes the
    /// queue while doing so, so it waits for requests in flight.
    pub(crate) fn set_write_cache(&self, on: bool) -> Result {
        // SAFETY: The disk is alive (type invariant); may sleep.
        to_result(unsafe { mb::rvirtio_disk_set_write_cache(self.raw(), on) })
    }

    /// Runs a driver-private command (`REQ_OP_DRV_IN`) that reads into `buf`,
    /// and waits for it. `setup` prepares the request's driver data, which
    /// [`Operations::queue_rq`] then finds as it left it.
    pub(crate) fn execute_driver_in(
        &self,
        buf: &mut [u8],
        setup: impl FnOnce(&mut T::RequestData),
    ) -> Result<super::Status> {
        // SAFETY: The disk's queue is alive (type invariant).
        let q = unsafe { (*self.raw()).queue };
        // SAFETY: Allocating a request on a live queue; may sleep.
        let rq = kernel::error::from_err_ptr(unsafe {
            bindings::blk_mq_alloc_request(q, bindings::req_op_REQ_OP_DRV_IN, 0)
        })?;
        // SAFETY: The request is freshly allocated and not yet started: its
        // PDU, initialised by `init_request`, is ours alone.
        setup(unsafe { &mut (*Pdu::<T>::ptr(rq)).data });
        // SAFETY: `buf` stays borrowed until the request is freed below; the
        // block layer bounces it if it cannot map it directly.
        let ret = unsafe {
            mb::rvirtio_rq_map_kern(
                rq,
                buf.as_mut_ptr().cast(),
                buf.len() as u32,
                bindings::GFP_KERNEL,
            )
        };
        let result = if ret != 0 {
            Err(Error::from_errno(ret))
        } else {
            // SAFETY: The request is set up; this waits for it to end.
            Ok(super::Status(unsafe {
                bindings::blk_execute_rq(rq, false)
            }))
        };
        // SAFETY: The request is ours and has ended (or never started).
        unsafe { bindings::blk_mq_free_request(rq) };
        result
    }
}

/// Most sysfs attributes a disk can have.
const MAX_ATTRS: usize = 4;

/// How a [`DiskAttr`] fills its page.
pub(crate) type ShowFn<T> = fn(&DiskRef<T>, &mut [u8]) -> Result<usize>;

/// How a [`DiskAttr`] takes a written value.
pub(crate) type StoreFn<T> = fn(&DiskRef<T>, &[u8]) -> Result;

#[repr(C)]
struct RawAttr<T: Operations> {
    dev_attr: bindings::device_attribute,
    show: Option<ShowFn<T>>,
    store: Option<StoreFn<T>>,
}

/// The C attribute group of a disk; lives until `del_gendisk` removed it.
struct AttrStorage<T: Operations> {
    attrs: [RawAttr<T>; MAX_ATTRS],
    ptrs: [*mut bindings::attribute; MAX_ATTRS + 1],
    group: bindings::attribute_group,
    groups: [*const bindings::attribute_group; 2],
}

/// C callback.
///
/// # Safety
///
/// Called by sysfs with a device attribute registered by [`Disk::add`], on
/// the device of a live disk, and a page-sized buffer.
unsafe extern "C" fn attr_show<T: Operations>(
    dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: sysfs calls this for one of our `RawAttr`s (whose first field
    // is the `device_attribute`) on the device of a disk built by `Disk`,
    // which stays alive until `del_gendisk` removed the file; `buf` is a page.
    let (show, disk, page) = unsafe {
        let raw = &*attr.cast::<RawAttr<T>>();
        let disk = &*mb::rvirtio_dev_to_disk(dev).cast::<DiskRef<T>>();
        let page = core::slice::from_raw_parts_mut(buf.cast::<u8>(), bindings::PAGE_SIZE);
        (raw.show, disk, page)
    };
    match show {
        Some(show) => match show(disk, page) {
            Ok(len) => len.min(bindings::PAGE_SIZE) as isize,
            Err(e) => e.to_errno() as isize,
        },
        None => EIO.to_errno() as isize,
    }
}

/// The C type of a `device_attribute`'s `store`.
///
/// # Safety
///
/// Called by sysfs only, as the attribute's `store`.
type StoreCallback = unsafe extern "C" fn(
    *mut bindings::device,
    *mut bindings::device_attribute,
    *const c_char,
    usize,
) -> isize;

/// C callback.
///
/// # Safety
///
/// Called by sysfs with a writable device attribute registered by
/// [`Disk::add`], on the device of a live disk, and `count` bytes at `buf`.
unsafe extern "C" fn attr_store<T: Operations>(
    dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    // SAFETY: As in `attr_show`; `buf` holds `count` bytes.
    let (store, disk, input) = unsafe {
        let raw = &*attr.cast::<RawAttr<T>>();
        let disk = &*mb::rvirtio_dev_to_disk(dev).cast::<DiskRef<T>>();
        let input = core::slice::from_raw_parts(buf.cast::<u8>(), count);
        (raw.store, disk, input)
    };
    match store {
        Some(store) => match store(disk, input) {
            Ok(()) => count as isize,
            Err(e) => e.to_errno() as isize,
        },
        None => EIO.to_errno() as isize,
    }
}

/// How to build the gendisk.
pub(crate) struct DiskConfig {
    /// The block major number.
    pub(crate) major: u32,
    /// Minors per disk (a power of two: the disk and its partitions).
    pub(crate) minors: u32,
    /// The disk name for a disk index (`vda` for 0).
    pub(crate) name: fn(u32, &mut [u8]) -> Result<usize>,
    /// Queue limits.
    pub(crate) limits: Limits,
    /// Capacity in 512-byte sectors.
    pub(crate) capacity: u64,
    /// Read-only disk.
    pub(crate) read_only: bool,
}

/// The queue pointer a [`QueueRef`] shares.
struct RawQueue(*mut bindings::gendisk);

// SAFETY: A gendisk may be used from any thread.
unsafe impl Send for RawQueue {}

/// A handle on a disk's request queue for work items (recovery), revoked
/// when the [`Disk`] is dropped.
#[derive(Clone)]
pub(crate) struct QueueRef(Arc<Revocable<RawQueue>>);

impl QueueRef {
    /// Runs `f` with the queue unless the disk is gone; dropping the disk
    /// waits for `f`. `f` must not call `with` again.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&QueueCtl<'_>) -> R) -> Option<R> {
        self.0.with(|raw| f(&QueueCtl(raw.0, PhantomData)))
    }
}

/// What recovery may do to a live disk's queue.
pub(crate) struct QueueCtl<'a>(*mut bindings::gendisk, PhantomData<&'a RawQueue>);

impl QueueCtl<'_> {
    fn q(&self) -> *mut bindings::request_queue {
        // SAFETY: The disk is alive while the `QueueRef` is not revoked.
        unsafe { (*self.0).queue }
    }

    /// Stops dispatching (no new `queue_rq`) and waits for running ones.
    pub(crate) fn quiesce(&self) {
        // SAFETY: The queue is alive.
        unsafe { bindings::blk_mq_quiesce_queue(self.q()) };
    }

    /// Dispatches again.
    pub(crate) fn unquiesce(&self) {
        // SAFETY: The queue is alive and was quiesced by us.
        unsafe { bindings::blk_mq_unquiesce_queue(self.q()) };
    }

    /// Dispatches requests given back with [`super::Owned::requeue`].
    pub(crate) fn kick_requeue_list(&self) {
        // SAFETY: The queue is alive.
        unsafe { bindings::blk_mq_kick_requeue_list(self.q()) };
    }

    /// Marks the disk dead: new I/O fails at once with `-EIO`.
    pub(crate) fn mark_dead(&self) {
        // SAFETY: The disk is alive.
        unsafe { bindings::blk_mark_disk_dead(self.0) };
    }

    /// Stops new requests from entering, waits up to `timeout` jiffies for
    /// those in flight to end, quiesces the queue ([`Self::quiesce`]) and
    /// lets requests enter again (to wait at the quiesced queue); true if
    /// every request in flight ended.
    ///
    /// The freeze begins and ends inside this call, as in the C drivers'
    /// freeze: the caller holds no lock that a frozen queue's I/O could
    /// need, the freeze is not held across anything else (on 7.3 lockdep
    /// counts a freeze as a lock that memory reclaim waits for), and the
    /// task allocates without I/O meanwhile (`memalloc_noio_save`).
    pub(crate) fn drain_and_quiesce(&self, timeout: u64) -> bool {
        // SAFETY: The queue is alive.
        let memflags = unsafe { mb::rvirtio_queue_freeze_start(self.q()) };
        let timeout = kernel::ffi::c_ulong::try_from(timeout).unwrap_or(kernel::ffi::c_ulong::MAX);
        // SAFETY: The queue is alive, and its freeze started.
        let drained = unsafe { bindings::blk_mq_freeze_queue_wait_timeout(self.q(), timeout) > 0 };
        self.quiesce();
        // SAFETY: The queue is alive and frozen by this task just above; the
        // flags are the ones that freeze saved.
        unsafe { mb::rvirtio_queue_unfreeze(self.q(), memflags) };
        drained
    }

    /// Updates the capacity (in 512-byte sectors); tells user space if it
    /// changed, and returns whether it did.
    pub(crate) fn set_capacity(&self, sectors: u64) -> bool {
        // SAFETY: The disk is alive.
        unsafe { bindings::set_capacity_and_notify(self.0, sectors) }
    }

    /// The disk's name (`vda`).
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: The disk is alive and its name NUL-terminated.
        unsafe { CStr::from_char_ptr((*self.0).disk_name.as_ptr()) }
    }

    /// The queue's logical block size.
    pub(crate) fn logical_block_size(&self) -> u32 {
        // SAFETY: The disk is alive.
        unsafe { mb::rvirtio_disk_logical_block_size(self.0) }
    }
}

/// A tag set and its gendisk.
///
/// # Invariants
///
/// `tag_set` is an allocated tag set for `T` whose `driver_data` is `queue`;
/// `disk` is a gendisk on it, with `queue` as `queuedata` and
/// `private_data`; `added` says whether `device_add_disk` succeeded.
pub(crate) struct Disk<T: Operations> {
    tag_set: Pin<KBox<TagSet>>,
    disk: *mut bindings::gendisk,
    queue: *const T::QueueData,
    attrs: Option<KBox<AttrStorage<T>>>,
    queue_ref: Option<QueueRef>,
    added: bool,
    /// [`Self::delete`] ran.
    deleted: bool,
    index: u32,
}

// SAFETY: The gendisk and tag set may be used and freed from any thread.
unsafe impl<T: Operations> Send for Disk<T> {}
// SAFETY: Shared access only reads them or calls thread-safe C functions.
unsafe impl<T: Operations> Sync for Disk<T> {}

impl<T: Operations> Disk<T> {
    /// Allocates the tag set and the gendisk (not yet visible: see [`Self::add`]).
    pub(crate) fn new(
        queue: Arc<T::QueueData>,
        tags: &TagSetConfig,
        cfg: &DiskConfig,
        ops: &'static DiskOps<T>,
    ) -> Result<Self> {
        build_assert!(
            core::mem::align_of::<Pdu<T>>() <= core::mem::align_of::<bindings::request>()
        );
        let max_index = (1u32 << mb::RVIRTIO_MINORBITS) / cfg.minors - 1;
        // SAFETY: Plain allocation from the shim's IDA.
        let index = unsafe { mb::rvirtio_disk_index_alloc(max_index) };
        let Ok(index) = u32::try_from(index) else {
            return Err(Error::from_errno(index));
        };
        if tags.poll_queues >= tags.nr_hw_queues || (tags.poll_queues != 0 && !T::HAS_POLL) {
            // SAFETY: Undo the allocation above.
            unsafe { mb::rvirtio_disk_index_free(index as c_int) };
            return Err(EINVAL);
        }
        let queue = Arc::into_raw(queue);
        let zero = TagSet {
            // SAFETY: An all-zero tag set is an empty one.
            set: UnsafeCell::new(unsafe { core::mem::zeroed() }),
            poll_queues: tags.poll_queues,
        };
        let tag_set = match KBox::pin(zero, GFP_KERNEL) {
            Ok(t) => t,
            Err(e) => {
                // SAFETY: Undo the two steps above.
                unsafe {
                    mb::rvirtio_disk_index_free(index as c_int);
                    drop(Arc::from_raw(queue));
                }
                return Err(e.into());
            }
        };
        let mut this = Self {
            tag_set,
            disk: core::ptr::null_mut(),
            queue,
            attrs: None,
            queue_ref: None,
            added: false,
            deleted: false,
            index,
        };
        // SAFETY: The tag set is pinned in its box and zeroed; the vtable and
        // `queue` outlive it (see `Drop`).
        unsafe {
            let set = this.tag_set.set.get();
            (*set).ops = OpsTable::<T>::get();
            (*set).nr_hw_queues = tags.nr_hw_queues;
            (*set).queue_depth = tags.queue_depth;
            (*set).numa_node = mb::RVIRTIO_NUMA_NO_NODE;
            (*set).cmd_size = core::mem::size_of::<Pdu<T>>() as u32;
            (*set).flags = mb::RVIRTIO_BLK_MQ_F_SHOULD_MERGE;
            (*set).driver_data = queue.cast_mut().cast();
            (*set).nr_maps = if tags.poll_queues != 0 {
                bindings::hctx_type_HCTX_MAX_TYPES
            } else {
                1
            };
            (*set).timeout = tags.timeout;
            to_result(bindings::blk_mq_alloc_tag_set(set))?;
        }
        let mut lim = cfg.limits.to_raw();
        // SAFETY: The tag set is allocated; `lim` is valid for the call.
        let disk = kernel::error::from_err_ptr(unsafe {
            mb::rvirtio_alloc_disk(this.tag_set.set.get(), &mut lim, queue.cast_mut().cast())
        })?;
        this.disk = disk;
        this.queue_ref = Some(QueueRef(Revocable::new(
            RawQueue(disk),
            kernel::c_str!("rvirtio::QueueRef"),
            kernel::static_lock_class!(),
        )?));
        let mut name = [0u8; 32];
        let len = (cfg.name)(index, &mut name[..31])?;
        // SAFETY: The disk is allocated and not yet added; `disk_name` is a
        // `DISK_NAME_LEN` array and `len < 32 <= DISK_NAME_LEN`.
        unsafe {
            let d = &mut *disk;
            for (dst, src) in d.disk_name.iter_mut().zip(name[..len].iter()) {
                *dst = *src as c_char;
            }
            d.disk_name[len] = 0;
            d.major = cfg.major as c_int;
            d.first_minor = (index * cfg.minors) as c_int;
            d.minors = cfg.minors as c_int;
            d.fops = ops.raw();
            d.private_data = queue.cast_mut().cast();
            bindings::set_capacity_and_notify(disk, cfg.capacity);
            bindings::set_disk_ro(disk, cfg.read_only);
        }
        // INVARIANT: The tag set is allocated for `T` with `queue` as its
        // data, and the gendisk on it with `queue` as its data; not added.
        Ok(this)
    }

    /// The disk's name (`vda`).
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: The disk is allocated and its name NUL-terminated.
        unsafe { CStr::from_char_ptr((*self.disk).disk_name.as_ptr()) }
    }

    /// The logical block size the queue ended up with.
    pub(crate) fn logical_block_size(&self) -> u32 {
        // SAFETY: The disk is allocated.
        unsafe { mb::rvirtio_disk_logical_block_size(self.disk) }
    }

    /// Makes the disk visible under `parent`, with sysfs attributes `attrs`.
    pub(crate) fn add(&mut self, parent: &kernel::device::Device, attrs: &[DiskAttr<T>]) -> Result {
        if self.added || attrs.len() > MAX_ATTRS {
            return Err(EINVAL);
        }
        let mut storage = KBox::new(
            AttrStorage::<T> {
                // SAFETY: All-zero attributes are unused entries.
                attrs: unsafe { core::mem::zeroed() },
                ptrs: [core::ptr::null_mut(); MAX_ATTRS + 1],
                // SAFETY: An all-zero group is an empty one.
                group: unsafe { core::mem::zeroed() },
                groups: [core::ptr::null(); 2],
            },
            GFP_KERNEL,
        )?;
        for (i, a) in attrs.iter().enumerate() {
            let raw = &mut storage.attrs[i];
            raw.dev_attr.attr.name = a.name.as_char_ptr();
            raw.dev_attr.attr.mode = if a.store.is_some() { 0o644 } else { 0o444 };
            raw.show = Some(a.show);
            raw.store = a.store;
            let store = if a.store.is_some() {
                Some(attr_store::<T> as StoreCallback)
            } else {
                None
            };
            // SAFETY: The attribute is valid and not yet registered; the
            // callbacks are ours, for this type.
            unsafe { mb::rvirtio_dev_attr_set_ops(&mut raw.dev_attr, Some(attr_show::<T>), store) };
            // SAFETY: The attribute is valid and not yet registered.
            unsafe { mb::rvirtio_sysfs_attr_init(&mut raw.dev_attr.attr) };
            storage.ptrs[i] = core::ptr::addr_of_mut!(storage.attrs[i].dev_attr.attr);
        }
        // SAFETY: The group is valid and not yet registered, and `ptrs` lives
        // as long as it (in the same box).
        unsafe { mb::rvirtio_attr_group_set_attrs(&mut storage.group, storage.ptrs.as_mut_ptr()) };
        storage.groups[0] = core::ptr::addr_of!(storage.group);
        // `Device` is a transparent wrapper of `struct device`.
        let parent = core::ptr::from_ref(parent)
            .cast_mut()
            .cast::<bindings::device>();
        // SAFETY: The disk is allocated and not added; `parent` is a live
        // device (the borrow), which the driver core keeps referenced while
        // the disk is its child; the attribute storage lives in its box
        // until after `del_gendisk`.
        let ret = unsafe {
            bindings::device_add_disk(parent, self.disk, storage.groups.as_ptr().cast_mut())
        };
        self.attrs = Some(storage);
        to_result(ret)?;
        self.added = true;
        Ok(())
    }

    /// A handle on the queue for recovery work.
    pub(crate) fn queue_ref(&self) -> Option<QueueRef> {
        self.queue_ref.clone()
    }

    /// Deletes the disk (`del_gendisk`) while its queues still work: what
    /// the block device's page cache holds is written back first and the
    /// device's volatile cache flushed (a queue without one completes the
    /// flush at once); then `del_gendisk` has the filesystem write back and
    /// shut down, and waits for every request. Afterwards recovery work
    /// loses the queue (waiting if it is using it), since `del_gendisk`
    /// took it down. Dropping the disk then only releases it.
    pub(crate) fn delete(&mut self) {
        if self.added && !self.deleted {
            // SAFETY: The disk is added and not deleted; `part0` is its
            // whole-disk block device, alive with it.
            unsafe {
                let part0 = (*self.disk).part0;
                bindings::sync_blockdev(part0);
                bindings::blkdev_issue_flush(part0);
                bindings::del_gendisk(self.disk);
            }
            self.deleted = true;
        }
        if let Some(q) = self.queue_ref.take() {
            q.0.revoke();
        }
    }
}

impl<T: Operations> Drop for Disk<T> {
    fn drop(&mut self) {
        // Recovery work loses the queue first, waiting if it is using it.
        if let Some(q) = self.queue_ref.take() {
            q.0.revoke();
        }
        // SAFETY: Tear down in the reverse order of construction: the disk
        // (which waits for in-flight I/O), then the tag set (the block layer
        // no longer needs it once the disk is deleted, even if an open
        // descriptor keeps the disk). Until the disk is added, its index and
        // the queue data's reference are ours to free; afterwards
        // `free_disk` frees them, when the disk's last reference goes, so
        // that `getgeo` on a descriptor still open finds the queue data.
        unsafe {
            if !self.disk.is_null() {
                if self.added && !self.deleted {
                    bindings::del_gendisk(self.disk);
                }
                bindings::put_disk(self.disk);
            }
            if !self.added {
                mb::rvirtio_disk_index_free(self.index as c_int);
            }
            if !(*self.tag_set.set.get()).tags.is_null() {
                bindings::blk_mq_free_tag_set(self.tag_set.set.get());
            }
            if !self.added {
                drop(Arc::from_raw(self.queue));
            }
        }
        self.attrs = None;
    }
}
