// SPDX-License-Identifier: GPL-2.0

//! A virtio device, as seen by the driver bound to it.

use super::bindings as vb;
use super::driver::{Driver, Slot};
use super::virtqueue::Vq;
use super::Level;
use crate::lib::cpumask::CpuMask;
use crate::lib::queuemap::QueueMap;
use crate::lib::revocable::Revocable;
use core::ffi::c_void;
use core::marker::PhantomData;
use kernel::bindings;
use kernel::c_str;
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::Arc;
use kernel::types::Opaque;

/// A virtio device bound to driver `T`.
///
/// # Invariants
///
/// A `&Device<T>` is only handed out (by the driver callbacks of
/// [`super::Registration`]) for a `struct virtio_device` that is bound to
/// `T`'s driver, whose `priv` points to a live [`Slot<T>`], for the duration
/// of the callback.
#[repr(transparent)]
pub struct Device<T: Driver>(Opaque<vb::virtio_device>, PhantomData<T>);

/// How to create one virtqueue.
pub struct VqSpec {
    /// The queue's name, as `/proc/interrupts` shows it.
    pub name: CString,
    /// Whether the device interrupts the driver when it uses buffers; a
    /// polled queue has no callback.
    pub callback: bool,
}

/// A handle on a bound device for code that runs outside the driver's
/// callbacks (work items, timeout handlers). The layer revokes it when
/// `remove` returns; [`DeviceRef::with`] then does nothing.
pub struct DeviceRef<T: Driver> {
    inner: Arc<Revocable<RawDevice>>,
    _p: PhantomData<T>,
}

/// The device pointer a [`DeviceRef`] shares.
pub(super) struct RawDevice(pub(super) *mut vb::virtio_device);

// SAFETY: A virtio device may be used from any thread.
unsafe impl Send for RawDevice {}

impl<T: Driver> Clone for DeviceRef<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            _p: PhantomData,
        }
    }
}

impl<T: Driver> DeviceRef<T> {
    /// Runs `f` with the device if it is still bound; `remove` waits for
    /// `f` to return. `f` may sleep; it must not call `with` again.
    pub fn with<R>(&self, f: impl FnOnce(&Device<T>) -> R) -> Option<R> {
        self.inner.with(|raw| {
            // SAFETY: Not yet revoked, so the device is bound to `T` with
            // our slot in `priv` (revocation happens before the slot goes).
            f(unsafe { Device::from_raw(raw.0) })
        })
    }
}

/// Proof that the device has been reset since its virtqueues were created:
/// the device owns none of their buffers any more.
pub struct DeviceReset<'a> {
    pub(super) dev: *mut vb::virtio_device,
    _p: PhantomData<&'a ()>,
}

impl<T: Driver> Device<T> {
    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must satisfy the type invariant for the returned lifetime.
    pub(super) unsafe fn from_raw<'a>(ptr: *mut vb::virtio_device) -> &'a Self {
        // SAFETY: `Device<T>` is a transparent wrapper of `virtio_device`.
        unsafe { &*ptr.cast() }
    }

    fn raw(&self) -> *mut vb::virtio_device {
        self.0.get()
    }

    pub(super) fn slot(&self) -> &Slot<T> {
        // SAFETY: Per the type invariant, `priv` points to a live `Slot<T>`.
        unsafe { &*vb::rvirtio_get_priv(self.raw()).cast::<Slot<T>>() }
    }

    /// The device's index on the virtio bus (the N of `virtioN`).
    pub fn index(&self) -> i32 {
        // SAFETY: The device is live per the type invariant.
        unsafe { (*self.raw()).index }
    }

    /// The generic `struct device` of this virtio device.
    pub fn as_dev(&self) -> *mut bindings::device {
        // SAFETY: The device is live per the type invariant.
        unsafe { vb::rvirtio_device_dev(self.raw()) }
    }

    /// Whether feature `bit` was negotiated.
    pub fn has_feature(&self, bit: u32) -> bool {
        // SAFETY: The device is live per the type invariant.
        unsafe { vb::rvirtio_has_feature(self.raw(), bit) }
    }

    /// The largest DMA segment the transport can map.
    pub fn max_dma_size(&self) -> u64 {
        // SAFETY: The device is live per the type invariant.
        unsafe { vb::virtio_max_dma_size(self.raw()) as u64 }
    }

    /// The CPUs the interrupt of virtqueue `index` is affine to, if the
    /// transport spreads them (MSI-X with per-queue vectors).
    pub fn vq_affinity(&self, index: u32) -> Option<CpuMask<'_>> {
        // SAFETY: The device is live; the mask, if any, lives as long as its
        // queues, which outlive this borrow of the device.
        let mask = unsafe { vb::rvirtio_vq_affinity(self.raw(), index as i32) };
        if mask.is_null() {
            None
        } else {
            // SAFETY: As above.
            Some(unsafe { CpuMask::from_raw(mask) })
        }
    }

    /// Makes hardware queue `q` of `map` serve the CPUs that virtqueue
    /// `first_vq + map.queue_offset() + q`'s interrupt is affine to, as
    /// `blk_mq_virtio_map_queues` does; false (the map is then partly set)
    /// if a queue has no affinity, and the caller should spread the map.
    pub fn map_queues_by_affinity(&self, map: &mut QueueMap, first_vq: u32) -> bool {
        for q in 0..map.nr_queues() {
            let Some(mask) = self.vq_affinity(first_vq + map.queue_offset() + q) else {
                return false;
            };
            for cpu in mask.iter() {
                map.set(cpu, q);
            }
        }
        true
    }

    /// Whether the transport gives access to config space at all.
    pub fn has_config_access(&self) -> bool {
        // SAFETY: The device is live per the type invariant.
        unsafe { vb::rvirtio_can_get_config(self.raw()) }
    }

    /// Reads `buf.len()` bytes of config space at `offset`, retrying until
    /// the device's config generation is the same before and after, so that
    /// a multi-byte field is never torn by a concurrent config change.
    pub fn read_config(&self, offset: u32, buf: &mut [u8]) {
        let len = buf.len() as u32;
        loop {
            // SAFETY: The device is live per the type invariant, and `buf` is
            // valid for `len` bytes of writes.
            let done = unsafe {
                let before = vb::rvirtio_config_generation(self.raw());
                vb::rvirtio_config_get(self.raw(), offset, buf.as_mut_ptr().cast(), len);
                before == vb::rvirtio_config_generation(self.raw())
            };
            if done {
                break;
            }
        }
    }

    fn little_endian(&self) -> bool {
        // SAFETY: The device is live per the type invariant.
        unsafe { vb::rvirtio_is_little_endian(self.raw()) }
    }

    /// Reads an 8-bit config field.
    pub fn read_u8(&self, offset: u32) -> u8 {
        let mut b = [0u8; 1];
        self.read_config(offset, &mut b);
        b[0]
    }

    /// Reads a 16-bit config field in the device's byte order.
    pub fn read_u16(&self, offset: u32) -> u16 {
        let mut b = [0u8; 2];
        self.read_config(offset, &mut b);
        if self.little_endian() {
            u16::from_le_bytes(b)
        } else {
            u16::from_ne_bytes(b)
        }
    }

    /// Reads a 32-bit config field in the device's byte order.
    pub fn read_u32(&self, offset: u32) -> u32 {
        let mut b = [0u8; 4];
        self.read_config(offset, &mut b);
        if self.little_endian() {
            u32::from_le_bytes(b)
        } else {
            u32::from_ne_bytes(b)
        }
    }

    /// Reads a 64-bit config field in the device's byte order.
    pub fn read_u64(&self, offset: u32) -> u64 {
        let mut b = [0u8; 8];
        self.read_config(offset, &mut b);
        if self.little_endian() {
            u64::from_le_bytes(b)
        } else {
            u64::from_ne_bytes(b)
        }
    }

    /// Writes an 8-bit config field.
    pub fn write_u8(&self, offset: u32, value: u8) {
        // SAFETY: The device is live per the type invariant; `value` is valid
        // for one byte of reads.
        unsafe { vb::rvirtio_config_set(self.raw(), offset, (&value as *const u8).cast(), 1) };
    }

    /// Writes a 32-bit config field, in the device's byte order.
    pub fn write_u32(&self, offset: u32, value: u32) {
        let b = if self.little_endian() {
            value.to_le_bytes()
        } else {
            value.to_ne_bytes()
        };
        // SAFETY: The device is live per the type invariant; `b` is valid
        // for four bytes of reads.
        unsafe { vb::rvirtio_config_set(self.raw(), offset, b.as_ptr().cast(), 4) };
    }

    /// The device status byte; decode it with [`super::status::health`].
    pub fn status(&self) -> u8 {
        // SAFETY: The device is live per the type invariant.
        unsafe { vb::rvirtio_get_status(self.raw()) }
    }

    /// A handle for work items and timeout handlers.
    pub fn to_ref(&self) -> DeviceRef<T> {
        DeviceRef {
            inner: self.slot().binding().clone(),
            _p: PhantomData,
        }
    }

    /// Brings a reset device back to FEATURES_OK with the features it had,
    /// so that its virtqueues can be created again. On failure the device
    /// is marked FAILED.
    pub fn restart(&self, _reset: DeviceReset<'_>) -> Result {
        if self.slot().live_vqs() != 0 {
            return Err(EBUSY);
        }
        // SAFETY: The device is live and was reset.
        kernel::error::to_result(unsafe { vb::rvirtio_restart(self.raw()) })
    }

    /// Sets DRIVER_OK: from here on the device may use the virtqueues.
    pub fn ready(&self) {
        // SAFETY: The device is live per the type invariant.
        unsafe { vb::rvirtio_device_ready(self.raw()) }
    }

    /// Resets the device. On return it owns no buffer of any virtqueue, and
    /// the returned proof lets [`super::Virtqueue::detach_unused`] take them back.
    pub fn reset(&self) -> DeviceReset<'_> {
        // SAFETY: The device is live per the type invariant.
        unsafe { vb::virtio_reset_device(self.raw()) };
        DeviceReset {
            dev: self.raw(),
            _p: PhantomData,
        }
    }

    /// Creates the device's virtqueues, one per spec, as untyped handles
    /// the driver types with [`Vq::into_typed`]. From now on their callbacks
    /// run [`Driver::vq_done`] with `shared`. The first `pre_vectors` queues
    /// get interrupts without CPU affinity (virtio-scsi's control and event
    /// queues); the others' are spread over the CPUs.
    pub fn find_vqs(
        &self,
        shared: &Arc<T::Shared>,
        specs: KVec<VqSpec>,
        pre_vectors: u32,
    ) -> Result<KVec<Vq>> {
        let slot = self.slot();
        if slot.live_vqs() != 0 {
            return Err(EBUSY);
        }
        let n = specs.len();
        let mut infos = KVec::with_capacity(n, GFP_KERNEL)?;
        let mut raw: KVec<*mut vb::virtqueue> = KVec::with_capacity(n, GFP_KERNEL)?;
        for spec in specs.iter() {
            let callback: vb::vq_callback_t = if spec.callback {
                Some(super::driver::vq_callback::<T>)
            } else {
                None
            };
            infos.push(
                vb::virtqueue_info {
                    name: spec.name.as_char_ptr(),
                    callback,
                    ctx: false,
                },
                GFP_KERNEL,
            )?;
            raw.push(core::ptr::null_mut(), GFP_KERNEL)?;
        }
        slot.set_shared(Some(shared.clone()), Some(specs));
        // SAFETY: The device is live; `raw` and `infos` have `n` entries; the
        // names stay alive in the slot until `del_vqs`.
        let ret = unsafe {
            vb::rvirtio_find_vqs(
                self.raw(),
                n as u32,
                raw.as_mut_ptr(),
                infos.as_mut_ptr(),
                pre_vectors,
            )
        };
        if ret != 0 {
            slot.set_shared(None, None);
            return Err(Error::from_errno(ret));
        }
        slot.set_live_vqs(n);
        let mut vqs = KVec::with_capacity(n, GFP_KERNEL)?;
        for ptr in raw.iter() {
            // SAFETY: `find_vqs` succeeded, so each pointer is a virtqueue of
            // this device, alive until `del_vqs`; each is wrapped once.
            vqs.push(unsafe { Vq::from_raw(*ptr) }, GFP_KERNEL)?;
        }
        Ok(vqs)
    }

    /// Deletes the device's virtqueues. All of them must be given back, so
    /// that no handle outlives its queue; otherwise nothing is deleted and
    /// `EINVAL` is returned. The device must have been reset first.
    pub fn del_vqs(&self, vqs: KVec<Vq>) -> Result {
        let slot = self.slot();
        if vqs.len() != slot.live_vqs() || vqs.iter().any(|vq| vq.device() != self.raw()) {
            return Err(EINVAL);
        }
        let any = !vqs.is_empty();
        drop(vqs);
        if any {
            // A notify may still be running on another CPU, after dropping
            // the queue's lock (`Virtqueue::kick_unlocked`), with interrupts
            // off: wait for it before freeing the queues.
            // SAFETY: Always safe to call from process context, which
            // `del_vqs` (a reset, a suspend or remove) runs in.
            unsafe { bindings::synchronize_rcu() };
            // SAFETY: The device is live and every handle to its queues was
            // just dropped.
            unsafe { vb::rvirtio_del_vqs(self.raw()) };
        }
        slot.set_live_vqs(0);
        slot.set_shared(None, None);
        Ok(())
    }

    /// Prints `args` prefixed with the device's name.
    pub fn log(&self, level: Level, args: core::fmt::Arguments<'_>) {
        let f = match level {
            Level::Err => bindings::_dev_err,
            Level::Warn => bindings::_dev_warn,
            Level::Notice => bindings::_dev_notice,
            Level::Info => bindings::_dev_info,
        };
        // SAFETY: The device is live; `%pA` prints the `fmt::Arguments` passed
        // by pointer, which lives until the call returns.
        unsafe {
            f(
                self.as_dev(),
                c_str!("%pA\n").as_char_ptr(),
                (&args as *const core::fmt::Arguments<'_>).cast::<c_void>(),
            )
        };
    }
}
