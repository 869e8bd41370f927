// SPDX-License-Identifier: GPL-2.0

//! A virtio device, as seen by the driver bound to it.

use super::bindings as vb;
use super::driver::{Driver, Slot};
use super::virtqueue::{Token, Virtqueue, Vq};
use super::Level;
use crate::lib::cpumask::CpuMask;
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
pub(crate) struct Device<T: Driver>(Opaque<vb::virtio_device>, PhantomData<T>);

/// How to create one virtqueue.
pub(crate) struct VqSpec {
    /// The queue's name, as `/proc/interrupts` shows it.
    pub(crate) name: CString,
    /// Whether the device interrupts the driver when it uses buffers; a
    /// polled queue has no callback.
    pub(crate) callback: bool,
}

/// A handle on a bound device for code that runs outside the driver's
/// callbacks (work items, timeout handlers). The layer revokes it when
/// `remove` returns; [`DeviceRef::with`] then does nothing.
pub(crate) struct DeviceRef<T: Driver> {
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
    pub(crate) fn with<R>(&self, f: impl FnOnce(&Device<T>) -> R) -> Option<R> {
        self.inner.with(|raw| {
            // SAFETY: Not yet revoked, so the device is bound to `T` with
            // our slot in `priv` (revocation happens before the slot goes).
            f(unsafe { Device::from_raw(raw.0) })
        })
    }
}

/// The status byte of a device that does not answer: a read that no device
/// completes returns all ones on PCI. No working device reports it (it
/// would be FAILED and DRIVER_OK at once).
const GONE_STATUS: u8 = 0xff;

/// How many times, [`GONE_READ_GAP_MS`] apart, a status that reads all ones
/// is read again before the device is taken for gone: a device that
/// answers again within a second (a transient error, a BAR being moved) is
/// reset as usual.
const GONE_READS: u32 = 10;
/// See [`GONE_READS`].
const GONE_READ_GAP_MS: u32 = 100;

/// How many times [`Device::read_config`] reads a field whose config
/// generation changes meanwhile before it takes the last read.
const CONFIG_READ_TRIES: u32 = 64;

/// Proof that the device has been reset since its current virtqueues were
/// created, or found gone ([`Self::gone`]): the device owns none of their
/// buffers any more, so [`super::Virtqueue::detach_unused`] may take them
/// back. The queues are then retired into it ([`Self::retire`]) and deleted
/// ([`Self::delete_vqs`]), which consumes the proof: it cannot outlive the
/// queues it is about.
///
/// # Invariants
///
/// After the virtqueues of `generation` were created, `dev` was reset, or
/// (`gone`) its PCI function was found off its bus or not answering, its
/// bus mastering was turned off and its queue callbacks were synchronised,
/// so that it can neither touch memory nor call back again; none of a later
/// generation exist. `retired` of them were given back.
pub(crate) struct DeviceReset<'a, T: Driver> {
    dev: &'a Device<T>,
    generation: u64,
    retired: usize,
    gone: bool,
}

impl<'a, T: Driver> DeviceReset<'a, T> {
    /// Whether the device was found gone rather than reset: it is no longer
    /// on its bus (a surprise removal) or does not answer (its status reads
    /// all ones). It will never serve a request again, and must not be
    /// restarted.
    pub(crate) fn gone(&self) -> bool {
        self.gone
    }

    /// Whether the queue `vq` (of `generation`) is one this proof is about.
    pub(super) fn covers(&self, vq: *mut vb::virtio_device, generation: u64) -> bool {
        vq == self.dev.raw() && generation == self.generation
    }

    /// Gives back a queue of the reset device, to be deleted by
    /// [`Self::delete_vqs`]. The caller has taken back what it held
    /// ([`super::Virtqueue::detach_unused`]); a buffer still left in it is
    /// taken back and dropped here. False (and the queue is kept alive,
    /// never deleted) for a queue this proof is not about.
    pub(crate) fn retire<K: Token>(&mut self, mut vq: Virtqueue<K>) -> bool {
        if !self.covers(vq.device(), vq.generation()) {
            return false;
        }
        while let Some(token) = vq.detach_unused(self) {
            drop(token);
        }
        self.retired += 1;
        true
    }

    /// Deletes the device's virtqueues; every one must have been retired,
    /// so that no handle outlives its queue. Otherwise nothing is deleted
    /// (`EINVAL`). The device is then reset with no queues, and can be
    /// brought back with [`NoQueues::restart`] (unless it is gone: that
    /// then fails).
    pub(crate) fn delete_vqs(self) -> Result<NoQueues<'a, T>> {
        let dev = self.dev;
        let slot = dev.slot();
        let _queues = slot.claim_queues().ok_or(EBUSY)?;
        let live = slot.live_vqs();
        if self.retired != live || self.generation != slot.generation() {
            return Err(EINVAL);
        }
        if live != 0 {
            // A notify may still be running on another CPU, after dropping
            // the queue's lock (`Virtqueue::kick_unlocked`), with interrupts
            // off: wait for it before freeing the queues.
            // SAFETY: Always safe to call from process context, which
            // a reset, a suspend and remove run in.
            unsafe { bindings::synchronize_rcu() };
            // SAFETY: The device is live and reset, and every handle to its
            // queues was retired into this proof and is gone.
            unsafe { vb::rvirtio_del_vqs(dev.raw()) };
        }
        slot.set_live_vqs(0);
        slot.set_shared(None, None);
        Ok(NoQueues { dev })
    }
}

/// A reset device whose virtqueues are deleted.
pub(crate) struct NoQueues<'a, T: Driver> {
    dev: &'a Device<T>,
}

impl<T: Driver> NoQueues<'_, T> {
    /// Brings the device back to FEATURES_OK with the features it had, so
    /// that its virtqueues can be created again ([`Device::find_vqs`]). On
    /// failure the device is marked FAILED.
    pub(crate) fn restart(self) -> Result {
        // SAFETY: The device is live, reset and without queues.
        kernel::error::to_result(unsafe { vb::rvirtio_restart(self.dev.raw()) })
    }
}

impl<T: Driver> Device<T> {
    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must satisfy the type invariant for the returned lifetime.
    pub(super) unsafe fn from_raw<'a>(ptr: *mut vb::virtio_device) -> &'a Self {
        // SAFETY: `Device<T>` is a transparent wrapper of `virtio_device`.
        // INVARIANT: The caller guarantees it for `'a`.
        unsafe { &*ptr.cast() }
    }

    fn raw(&self) -> *mut vb::virtio_device {
        self.0.get()
    }

    pub(super) fn slot(&self) -> &Slot<T> {
        // SAFETY: Per the type invariant, `priv` points to a live `Slot<T>`.
        unsafe { &*vb::rvirtio_get_priv(self.raw()).cast::<Slot<T>>() }
    }

    /// The generic `struct device` of this virtio device.
    pub(crate) fn as_dev(&self) -> &kernel::device::Device {
        // SAFETY: The device is live per the type invariant, and bound, so
        // its embedded `struct device` is referenced for as long as `self`.
        unsafe {
            #[cfg(not(rvirtio_7_3))]
            return kernel::device::Device::as_ref(vb::rvirtio_device_dev(self.raw()));
            #[cfg(rvirtio_7_3)]
            return kernel::device::Device::from_raw(vb::rvirtio_device_dev(self.raw()));
        }
    }

    /// Whether feature `bit` was negotiated.
    pub(crate) fn has_feature(&self, bit: u32) -> bool {
        // SAFETY: The device is live per the type invariant.
        unsafe { vb::rvirtio_has_feature(self.raw(), bit) }
    }

    #[cfg_attr(rvirtio_scsi, expect(dead_code, reason = "only rvirtio_blk uses it"))]
    /// The largest DMA segment the transport can map.
    pub(crate) fn max_dma_size(&self) -> u64 {
        // SAFETY: The device is live per the type invariant.
        unsafe { vb::virtio_max_dma_size(self.raw()) as u64 }
    }

    /// Calls `place(i, cpu)` for every CPU that the interrupt of virtqueue
    /// `first + i` is affine to, for `i` below `n`, as
    /// `blk_mq_virtio_map_queues` reads them; false if a queue has no
    /// affinity (the transport does not spread them: no MSI-X with
    /// per-queue vectors) or the queues are being created or deleted, and
    /// the caller should spread them itself.
    pub(crate) fn vq_affinities(
        &self,
        first: u32,
        n: u32,
        mut place: impl FnMut(u32, u32),
    ) -> bool {
        // The masks belong to the queues' vectors: no queue is deleted
        // while we hold the claim.
        let Some(_queues) = self.slot().claim_queues() else {
            return false;
        };
        let live = self.slot().live_vqs();
        for i in 0..n {
            let Some(index) = first
                .checked_add(i)
                .filter(|&x| usize::try_from(x).is_ok_and(|x| x < live))
                .and_then(|x| i32::try_from(x).ok())
            else {
                return false;
            };
            // SAFETY: The device is live; queue `index` exists (below
            // `live`) and is not deleted while the claim is held, so the
            // mask of its vector, if any, stays valid meanwhile.
            let mask = unsafe { vb::rvirtio_vq_affinity(self.raw(), index) };
            if mask.is_null() {
                return false;
            }
            // SAFETY: As above, for the rest of this iteration.
            let mask = unsafe { CpuMask::from_raw(mask) };
            for cpu in mask.iter() {
                place(i, cpu);
            }
        }
        true
    }

    /// Whether the transport gives access to config space at all.
    pub(crate) fn has_config_access(&self) -> bool {
        // SAFETY: The device is live per the type invariant.
        unsafe { vb::rvirtio_can_get_config(self.raw()) }
    }

    /// Reads `buf.len()` bytes of config space at `offset`, retrying until
    /// the device's config generation is the same before and after, so that
    /// a multi-byte field is never torn by a concurrent config change. A
    /// device whose generation never settles cannot wedge the driver: after
    /// [`CONFIG_READ_TRIES`] reads the last one is taken (and logged), and
    /// goes through the same validation as any value the device gives.
    pub(crate) fn read_config(&self, offset: u32, buf: &mut [u8]) {
        let len = u32::try_from(buf.len()).unwrap_or(0);
        for _ in 0..CONFIG_READ_TRIES {
            // SAFETY: The device is live per the type invariant, and `buf` is
            // valid for `len` bytes of writes.
            let settled = unsafe {
                let before = vb::rvirtio_config_generation(self.raw());
                vb::rvirtio_config_get(self.raw(), offset, buf.as_mut_ptr().cast(), len);
                before == vb::rvirtio_config_generation(self.raw())
            };
            if settled {
                return;
            }
        }
        crate::vdev_warn!(
            self,
            "config generation did not settle in {} reads of offset {}: using the last",
            CONFIG_READ_TRIES,
            offset
        );
    }

    fn little_endian(&self) -> bool {
        // SAFETY: The device is live per the type invariant.
        unsafe { vb::rvirtio_is_little_endian(self.raw()) }
    }

    #[cfg_attr(rvirtio_scsi, expect(dead_code, reason = "only rvirtio_blk uses it"))]
    /// Reads an 8-bit config field.
    pub(crate) fn read_u8(&self, offset: u32) -> u8 {
        let mut b = [0u8; 1];
        self.read_config(offset, &mut b);
        b[0]
    }

    /// Reads a 16-bit config field in the device's byte order.
    pub(crate) fn read_u16(&self, offset: u32) -> u16 {
        let mut b = [0u8; 2];
        self.read_config(offset, &mut b);
        if self.little_endian() {
            u16::from_le_bytes(b)
        } else {
            u16::from_ne_bytes(b)
        }
    }

    /// Reads a 32-bit config field in the device's byte order.
    pub(crate) fn read_u32(&self, offset: u32) -> u32 {
        let mut b = [0u8; 4];
        self.read_config(offset, &mut b);
        if self.little_endian() {
            u32::from_le_bytes(b)
        } else {
            u32::from_ne_bytes(b)
        }
    }

    #[cfg_attr(rvirtio_scsi, expect(dead_code, reason = "only rvirtio_blk uses it"))]
    /// Reads a 64-bit config field in the device's byte order.
    pub(crate) fn read_u64(&self, offset: u32) -> u64 {
        let mut b = [0u8; 8];
        self.read_config(offset, &mut b);
        if self.little_endian() {
            u64::from_le_bytes(b)
        } else {
            u64::from_ne_bytes(b)
        }
    }

    #[cfg_attr(rvirtio_scsi, expect(dead_code, reason = "only rvirtio_blk uses it"))]
    /// Writes an 8-bit config field.
    pub(crate) fn write_u8(&self, offset: u32, value: u8) {
        // SAFETY: The device is live per the type invariant; `value` is valid
        // for one byte of reads.
        unsafe {
            vb::rvirtio_config_set(self.raw(), offset, core::ptr::from_ref(&value).cast(), 1)
        };
    }

    #[cfg_attr(rvirtio_blk, expect(dead_code, reason = "only rvirtio_scsi uses it"))]
    /// Writes a 32-bit config field, in the device's byte order.
    pub(crate) fn write_u32(&self, offset: u32, value: u32) {
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
    pub(crate) fn status(&self) -> u8 {
        // SAFETY: The device is live per the type invariant.
        unsafe { vb::rvirtio_get_status(self.raw()) }
    }

    /// A handle for work items and timeout handlers.
    pub(crate) fn to_ref(&self) -> DeviceRef<T> {
        DeviceRef {
            inner: self.slot().binding().clone(),
            _p: PhantomData,
        }
    }

    /// Sets DRIVER_OK: from here on the device may use the virtqueues.
    pub(crate) fn ready(&self) {
        // SAFETY: The device is live per the type invariant.
        unsafe { vb::rvirtio_device_ready(self.raw()) }
    }

    /// Resets the device. On return it owns no buffer of any virtqueue, and
    /// the returned proof lets [`super::Virtqueue::detach_unused`] take them back.
    /// Process context: it may sleep.
    ///
    /// A device that is gone is not reset: the transport's reset waits for
    /// the status to read 0, and a PCI function that is off its bus, or does
    /// not answer, reads all ones for ever. A device is gone when its PCI
    /// function is no longer present (`pci_device_is_present`: config space
    /// reads all ones, or the PCI core knows it disconnected), or when its
    /// status still reads all ones after a second. Its bus mastering is
    /// turned off instead, which stops a PCI function from touching memory
    /// or sending an MSI (the PCI specification; QEMU also stops the
    /// device, vhost backends included), and its callbacks are
    /// synchronised; [`DeviceReset::gone`] says so. After a real reset bus
    /// mastering is turned on again, in case an earlier one found the
    /// device gone and it answers again.
    pub(crate) fn reset(&self) -> DeviceReset<'_, T> {
        // Taken before the reset: queues created meanwhile (a later
        // generation) are not covered.
        let generation = self.slot().generation();
        // SAFETY: The device is live per the type invariant.
        let pci = unsafe { vb::rvirtio_pci_dev(self.raw()) };
        let present = || {
            // SAFETY: `pci` is not null here: the PCI function the device
            // sits on, which outlives it.
            unsafe { vb::pci_device_is_present(pci) }
        };
        let gone = !pci.is_null() && (!present() || self.stays_all_ones());
        if gone {
            // SAFETY: As above; the device is live.
            unsafe {
                vb::pci_clear_master(pci);
                vb::rvirtio_synchronize_cbs(self.raw());
            }
        } else {
            // SAFETY: The device is live per the type invariant.
            unsafe { vb::virtio_reset_device(self.raw()) };
            // SAFETY: As above; a function the PCI core disabled (a failed
            // resume) is left alone.
            if !pci.is_null() && unsafe { vb::rvirtio_pci_is_enabled(pci) } {
                // SAFETY: As above.
                unsafe { vb::pci_set_master(pci) };
            }
        }
        // INVARIANT: The queues of `generation` existed before the reset, or
        // before the device was found gone and stopped.
        DeviceReset {
            dev: self,
            generation,
            retired: 0,
            gone,
        }
    }

    /// Whether the device does not answer now, by one look (no waiting, no
    /// reset): its PCI function is not present, or its status reads all
    /// ones. For a device that is not being reset (a dead one at sleep).
    pub(crate) fn looks_gone(&self) -> bool {
        // SAFETY: The device is live per the type invariant.
        let pci = unsafe { vb::rvirtio_pci_dev(self.raw()) };
        let present = || {
            // SAFETY: `pci` is not null here: the PCI function the device
            // sits on, which outlives it.
            unsafe { vb::pci_device_is_present(pci) }
        };
        !pci.is_null() && (!present() || self.status() == GONE_STATUS)
    }

    /// Whether the status reads all ones, and still does after
    /// [`GONE_READS`] reads a tenth of a second apart.
    fn stays_all_ones(&self) -> bool {
        (0..GONE_READS).all(|i| {
            if i != 0 {
                crate::lib::time::sleep_ms(GONE_READ_GAP_MS);
            }
            self.status() == GONE_STATUS
        })
    }

    /// Creates the device's virtqueues, one per spec, as untyped handles
    /// the driver types with [`Vq::into_typed`]. From now on their callbacks
    /// run [`Driver::vq_done`] with `shared`. The first `pre_vectors` queues
    /// get interrupts without CPU affinity (virtio-scsi's control and event
    /// queues); the others' are spread over the CPUs.
    pub(crate) fn find_vqs(
        &self,
        shared: &Arc<T::Shared>,
        specs: KVec<VqSpec>,
        pre_vectors: u32,
    ) -> Result<KVec<Vq>> {
        let slot = self.slot();
        // Creating and deleting queues exclude each other.
        let _queues = slot.claim_queues().ok_or(EBUSY)?;
        if slot.live_vqs() != 0 {
            return Err(EBUSY);
        }
        let n = specs.len();
        let mut infos = KVec::with_capacity(n, GFP_KERNEL)?;
        let mut raw: KVec<*mut vb::virtqueue> = KVec::with_capacity(n, GFP_KERNEL)?;
        // Allocated before the queues exist: nothing may fail once they do.
        let mut vqs = KVec::with_capacity(n, GFP_KERNEL)?;
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
                u32::try_from(n).map_err(|_| EINVAL)?,
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
        let generation = slot.next_generation();
        for ptr in raw.iter() {
            // SAFETY: `find_vqs` succeeded, so each pointer is a virtqueue of
            // this device, alive until `delete_vqs`; each is wrapped once.
            let vq = unsafe { Vq::from_raw(*ptr, generation) };
            // Within the capacity reserved above, so it allocates nothing
            // and cannot fail.
            vqs.push(vq, GFP_NOWAIT)?;
        }
        Ok(vqs)
    }

    /// Prints `args` prefixed with the device's name.
    pub(crate) fn log(&self, level: Level, args: core::fmt::Arguments<'_>) {
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
                vb::rvirtio_device_dev(self.raw()),
                c_str!("%pA\n").as_char_ptr(),
                core::ptr::from_ref(&args).cast::<c_void>(),
            )
        };
    }
}
