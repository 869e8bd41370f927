// SPDX-License-Identifier: GPL-2.0

//! Virtio driver registration and the C callbacks that reach [`Driver`].

use super::bindings as vb;
use super::device::{Device, RawDevice, VqSpec};
use crate::lib::revocable::Revocable;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};
use kernel::types::Opaque;

/// A virtio device driver.
pub(crate) trait Driver: Sized + Send + Sync + 'static {
    /// State the virtqueue callbacks see; set by [`Device::find_vqs`].
    type Shared: Send + Sync + 'static;
    /// What `probe` returns and `remove` consumes.
    type Data: Send + Sync + 'static;
    /// What all devices of the driver share (a workqueue, a debugfs
    /// directory, a block major): made once, by [`Self::context`], before the
    /// driver is registered, and dropped after it is unregistered, so after
    /// the last `remove`.
    type Context: Send + Sync + 'static;

    /// The driver's name (`/sys/bus/virtio/drivers/NAME`).
    const NAME: &'static CStr;
    /// The devices this driver binds to.
    const ID_TABLE: &'static IdTable;
    /// The feature bits the driver understands.
    const FEATURES: &'static [u32];

    /// Makes the driver's [`Self::Context`] (at module load).
    fn context() -> Result<Self::Context>;
    /// Sets up a newly found device.
    fn probe(dev: &Device<Self>, ctx: &Self::Context) -> Result<Self::Data>;
    /// Tears a device down; it must delete the virtqueues it created.
    fn remove(dev: &Device<Self>, data: Self::Data);
    /// The device used buffers of virtqueue `index`; may run in hard-IRQ context.
    fn vq_done(shared: ArcBorrow<'_, Self::Shared>, index: u32);
    /// The device's configuration changed; may run in hard-IRQ context.
    fn config_changed(_dev: &Device<Self>, _data: &Self::Data) {}
    /// The system is going to sleep (or hibernate): stop I/O, reset the
    /// device and delete the virtqueues, keeping every request. Config-change
    /// callbacks are already disabled. The default refuses to sleep, since a
    /// driver that did nothing would find its queues gone on resume.
    fn freeze(_dev: &Device<Self>, _data: &Self::Data) -> Result {
        Err(Error::from_errno(-(kernel::bindings::EOPNOTSUPP as i32)))
    }
    /// The system woke up: the virtio core has reset the device and
    /// negotiated the same features again. Create the virtqueues and set
    /// DRIVER_OK (the core sets it if the driver did not).
    fn restore(_dev: &Device<Self>, _data: &Self::Data) -> Result {
        Err(Error::from_errno(-(kernel::bindings::EOPNOTSUPP as i32)))
    }
    /// A system sleep transition is over (the PM core's `complete`): every
    /// device has resumed, whether or not [`Self::restore`] ran. It does
    /// not when the virtio core fails to bring the device back before
    /// calling it (the device does not accept its features again), so a
    /// device that [`Self::freeze`] stopped may still be stopped here.
    fn sleep_done(_dev: &Device<Self>, _data: &Self::Data) {}
    /// A PCI function-level reset of the device is about to happen (7.3's
    /// `reset_prepare`): stop I/O and delete the virtqueues, keeping every
    /// request, as [`Self::freeze`] does. The PCI core resets the function
    /// whatever this returns; an error only keeps the virtio core from
    /// calling [`Self::reset_done`] afterwards. The default refuses.
    #[cfg_attr(not(rvirtio_7_3), expect(dead_code, reason = "only 7.3 has FLR hooks"))]
    fn reset_prepare(_dev: &Device<Self>, _data: &Self::Data) -> Result {
        Err(Error::from_errno(-(kernel::bindings::EOPNOTSUPP as i32)))
    }
    /// The function-level reset is over (7.3's `reset_done`): the virtio
    /// core has reset the device and negotiated the same features again, as
    /// before [`Self::restore`]. It is not called if the core failed to, or
    /// after an error from [`Self::reset_prepare`]; it may be called for a
    /// device probed after `reset_prepare` (which the driver did not see).
    #[cfg_attr(not(rvirtio_7_3), expect(dead_code, reason = "only 7.3 has FLR hooks"))]
    fn reset_done(_dev: &Device<Self>, _data: &Self::Data) -> Result {
        Err(Error::from_errno(-(kernel::bindings::EOPNOTSUPP as i32)))
    }
}

/// A zero-terminated table of the device ids a driver binds to.
#[repr(C)]
pub(crate) struct IdTable {
    ids: [vb::virtio_device_id; IdTable::CAPACITY + 1],
}

impl IdTable {
    /// How many ids a table holds.
    pub(crate) const CAPACITY: usize = 4;

    /// Builds a table from `(device, vendor)` pairs; `vendor` may be
    /// `VIRTIO_DEV_ANY_ID`. Ids past [`Self::CAPACITY`] fail to compile.
    pub(crate) const fn new(ids: &[(u32, u32)]) -> Self {
        const END: vb::virtio_device_id = vb::virtio_device_id {
            device: 0,
            vendor: 0,
        };
        let mut table = [END; Self::CAPACITY + 1];
        let mut i = 0;
        while i < ids.len() {
            table[i] = vb::virtio_device_id {
                device: ids[i].0,
                vendor: ids[i].1,
            };
            i += 1;
        }
        Self { ids: table }
    }
}

/// What the layer keeps in `virtio_device::priv` for driver `T`.
///
/// # Invariants
///
/// `shared` and `names` change only in `find_vqs` and `del_vqs`, while no
/// virtqueue callback can run (before the queues exist, after they are
/// deleted). `data` changes only in probe and remove, while config-change
/// callbacks are disabled by the virtio core. `generation` counts the sets
/// of virtqueues `find_vqs` created.
pub(super) struct Slot<T: Driver> {
    binding: Arc<Revocable<RawDevice>>,
    shared: UnsafeCell<Option<Arc<T::Shared>>>,
    names: UnsafeCell<Option<KVec<VqSpec>>>,
    data: UnsafeCell<Option<T::Data>>,
    live_vqs: AtomicUsize,
    generation: AtomicU64,
    /// Set while queues are being created or deleted.
    queues_busy: AtomicBool,
}

/// The right to create or delete a device's queues; see
/// [`Slot::claim_queues`].
pub(super) struct QueuesClaim<'a>(&'a AtomicBool);

impl Drop for QueuesClaim<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl<T: Driver> Slot<T> {
    fn new(vdev: *mut vb::virtio_device) -> Result<Self> {
        // INVARIANT: No queues, no data yet: nothing reads the cells.
        Ok(Self {
            binding: Revocable::new(
                RawDevice(vdev),
                kernel::c_str!("rvirtio::DeviceRef"),
                kernel::static_lock_class!(),
            )?,
            shared: UnsafeCell::new(None),
            names: UnsafeCell::new(None),
            data: UnsafeCell::new(None),
            live_vqs: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
            queues_busy: AtomicBool::new(false),
        })
    }

    /// Claims the right to create or delete the queues; `None` while
    /// someone else has it, so that checking how many queues live and
    /// changing it are one step.
    pub(super) fn claim_queues(&self) -> Option<QueuesClaim<'_>> {
        self.queues_busy
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| QueuesClaim(&self.queues_busy))
    }

    /// The generation of the current (or last) set of virtqueues.
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Starts a new generation of virtqueues; returns it.
    pub(super) fn next_generation(&self) -> u64 {
        self.generation.fetch_add(1, Ordering::AcqRel) + 1
    }

    pub(super) fn binding(&self) -> &Arc<Revocable<RawDevice>> {
        &self.binding
    }

    pub(super) fn live_vqs(&self) -> usize {
        self.live_vqs.load(Ordering::Acquire)
    }

    pub(super) fn set_live_vqs(&self, n: usize) {
        self.live_vqs.store(n, Ordering::Release);
    }

    pub(super) fn set_shared(&self, shared: Option<Arc<T::Shared>>, names: Option<KVec<VqSpec>>) {
        // SAFETY: Per the type invariant, no callback reads these now.
        unsafe {
            *self.shared.get() = shared;
            *self.names.get() = names;
        }
    }
}

/// Registers driver `T` with the virtio bus for as long as it lives, with
/// its context, which every probe sees.
///
/// # Invariants
///
/// `drv` is the first field (`repr(C)`), so a pointer to the registered
/// `virtio_driver` is a pointer to the registration; `ctx` is initialised
/// before the driver is registered and dropped after it is unregistered.
#[repr(C)]
#[pin_data(PinnedDrop)]
pub(crate) struct Registration<T: Driver> {
    #[pin]
    drv: Opaque<vb::virtio_driver>,
    /// The driver's PM callbacks (`driver.pm`): only `complete`.
    #[pin]
    pm: Opaque<kernel::bindings::dev_pm_ops>,
    ctx: T::Context,
}

// SAFETY: The C driver struct is only touched at creation and drop; the
// context is `Send`.
unsafe impl<T: Driver> Send for Registration<T> {}
// SAFETY: The C driver struct is only touched at creation and drop; the
// context is `Sync`.
unsafe impl<T: Driver> Sync for Registration<T> {}

impl<T: Driver> Registration<T> {
    /// Returns an initialiser that makes the driver's context
    /// ([`Driver::context`]) and registers the driver.
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        let init = |this: *mut Self| {
            let ctx = T::context()?;
            // SAFETY: `this` is valid for writes and pinned. The context is
            // written before the driver is registered, as probe reads it. An
            // all-zero driver has no callbacks, and everything set below
            // outlives the registration (statics, functions, and the PM ops
            // in this pinned registration). If the registration fails, the
            // context is dropped again.
            unsafe {
                core::ptr::addr_of_mut!((*this).ctx).write(ctx);
                let drv: *mut vb::virtio_driver = core::ptr::addr_of_mut!((*this).drv).cast();
                drv.write(core::mem::zeroed());
                (*drv).driver.name = T::NAME.as_char_ptr();
                (*drv).id_table = T::ID_TABLE.ids.as_ptr();
                (*drv).feature_table = T::FEATURES.as_ptr();
                (*drv).feature_table_size = T::FEATURES.len() as u32;
                (*drv).feature_table_legacy = T::FEATURES.as_ptr();
                (*drv).feature_table_size_legacy = T::FEATURES.len() as u32;
                (*drv).probe = Some(probe_callback::<T>);
                (*drv).remove = Some(remove_callback::<T>);
                (*drv).config_changed = Some(config_changed_callback::<T>);
                #[cfg(CONFIG_PM_SLEEP)]
                {
                    (*drv).freeze = Some(freeze_callback::<T>);
                    (*drv).restore = Some(restore_callback::<T>);
                    // The virtio bus has no PM callbacks of its own, so the
                    // PM core calls the driver's.
                    let pm: *mut kernel::bindings::dev_pm_ops =
                        core::ptr::addr_of_mut!((*this).pm).cast();
                    pm.write(core::mem::zeroed());
                    (*pm).complete = Some(complete_callback::<T>);
                    (*drv).driver.pm = pm;
                }
                // 7.3: a PCI function-level reset of the device.
                #[cfg(rvirtio_7_3)]
                {
                    (*drv).reset_prepare = Some(reset_prepare_callback::<T>);
                    (*drv).reset_done = Some(reset_done_callback::<T>);
                }
                let ret = to_result(vb::rvirtio_register_driver(drv));
                if ret.is_err() {
                    core::ptr::drop_in_place(core::ptr::addr_of_mut!((*this).ctx));
                }
                ret
            }
        };
        // INVARIANT: `drv` is the first field (`repr(C)`); the context is
        // written before the driver is registered, and dropped after
        // `PinnedDrop` unregistered it.
        // SAFETY: On success the closure initialised every field; on failure
        // it dropped what it had initialised.
        unsafe { crate::lib::pin_init_from_closure(init) }
    }

    /// The registration of the driver `vdev` is bound to.
    ///
    /// # Safety
    ///
    /// `vdev` must be bound to (or being probed by) `T`'s driver, which
    /// stays registered for `'a`.
    unsafe fn of<'a>(vdev: *mut vb::virtio_device) -> &'a Self {
        // SAFETY: The device's driver is our `virtio_driver`, the first field
        // of a live, pinned `Registration<T>` (type invariant).
        unsafe { &*vb::rvirtio_driver_of(vdev).cast::<Self>() }
    }
}

#[pinned_drop]
impl<T: Driver> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The driver was registered in `new`.
        unsafe { vb::unregister_virtio_driver(self.drv.get()) };
        // 7.3: a function-level reset that read the driver of a device before
        // the unregistration may still call its hooks, and is waited for,
        // before the module (the hooks' code, this registration) can go.
        #[cfg(rvirtio_7_3)]
        // SAFETY: Takes and drops PCI functions' locks; no lock is held here.
        unsafe {
            vb::rvirtio_flr_barrier()
        };
    }
}

/// `virtio_driver::probe`: the virtio core calls it with the device being
/// probed.
extern "C" fn probe_callback<T: Driver>(vdev: *mut vb::virtio_device) -> core::ffi::c_int {
    let slot = match Slot::<T>::new(vdev).and_then(|s| Ok(KBox::new(s, GFP_KERNEL)?)) {
        Ok(slot) => KBox::into_raw(slot),
        Err(e) => return e.to_errno(),
    };
    // SAFETY: `vdev` is the device being probed; its `priv` is ours.
    unsafe { vb::rvirtio_set_priv(vdev, slot.cast()) };
    // SAFETY: `vdev` is bound to `T` for the duration of probe and `priv`
    // points to a live slot.
    let dev = unsafe { Device::<T>::from_raw(vdev) };
    // SAFETY: The device is being probed by `T`'s driver, registered until
    // after the device is removed.
    let reg = unsafe { Registration::<T>::of(vdev) };
    match T::probe(dev, &reg.ctx) {
        Ok(data) => {
            // SAFETY: Config-change callbacks are enabled only after probe
            // returns, so nobody reads `data` yet.
            unsafe { *(*slot).data.get() = Some(data) };
            0
        }
        Err(e) => {
            // SAFETY: As above; `slot` came from `KBox::into_raw`.
            let slot = unsafe { KBox::from_raw(slot) };
            slot.binding.revoke();
            if slot.live_vqs() != 0 {
                // A driver that fails probe must delete its queues. If it did
                // not, keep the slot (the callbacks may still use it) rather
                // than free memory that C still points to.
                pr_err!("{}: probe failed with virtqueues left alive\n", T::NAME);
                KBox::leak(slot);
            } else {
                // SAFETY: `vdev` is live; clear the pointer we set.
                unsafe { vb::rvirtio_set_priv(vdev, core::ptr::null_mut()) };
            }
            e.to_errno()
        }
    }
}

/// `virtio_driver::remove`: the virtio core calls it with a device this
/// driver probed.
extern "C" fn remove_callback<T: Driver>(vdev: *mut vb::virtio_device) {
    // SAFETY: `vdev` is bound to `T` until remove returns, with our slot in
    // `priv`.
    let dev = unsafe { Device::<T>::from_raw(vdev) };
    // SAFETY: The virtio core disabled config-change callbacks before remove.
    let data = unsafe { (*dev.slot().data.get()).take() };
    if let Some(data) = data {
        T::remove(dev, data);
    }
    // Work items and timeout handlers lose the device here; this waits for
    // one that is using it.
    dev.slot().binding.revoke();
    if dev.slot().live_vqs() != 0 {
        pr_err!("{}: remove left virtqueues alive\n", T::NAME);
        return;
    }
    // SAFETY: `priv` came from `KBox::into_raw` in probe and nothing uses it
    // any more: the queues are gone and config callbacks are disabled.
    unsafe {
        let slot = vb::rvirtio_get_priv(vdev).cast::<Slot<T>>();
        vb::rvirtio_set_priv(vdev, core::ptr::null_mut());
        drop(KBox::from_raw(slot));
    }
}

/// `virtio_driver::config_changed`: the virtio core calls it for a probed
/// device of this driver, possibly in hard-IRQ context.
extern "C" fn config_changed_callback<T: Driver>(vdev: *mut vb::virtio_device) {
    // SAFETY: Config changes are only delivered to a bound, probed device.
    let dev = unsafe { Device::<T>::from_raw(vdev) };
    // SAFETY: `data` does not change while config callbacks are enabled.
    if let Some(data) = unsafe { (*dev.slot().data.get()).as_ref() } {
        T::config_changed(dev, data);
    }
}

/// `virtio_driver::freeze`: the PM core calls it for a probed device of this
/// driver, under the device lock (so not during probe or remove).
#[cfg(CONFIG_PM_SLEEP)]
extern "C" fn freeze_callback<T: Driver>(vdev: *mut vb::virtio_device) -> core::ffi::c_int {
    // SAFETY: The device is bound to `T` and probed.
    let dev = unsafe { Device::<T>::from_raw(vdev) };
    // SAFETY: `data` changes only in probe and remove, which the device lock
    // excludes.
    match unsafe { (*dev.slot().data.get()).as_ref() } {
        Some(data) => T::freeze(dev, data).err().map_or(0, |e| e.to_errno()),
        None => 0,
    }
}

/// `virtio_driver::restore`: the PM core calls it for a device that
/// [`freeze_callback`] froze, under the device lock.
#[cfg(CONFIG_PM_SLEEP)]
extern "C" fn restore_callback<T: Driver>(vdev: *mut vb::virtio_device) -> core::ffi::c_int {
    // SAFETY: As in `freeze_callback`.
    let dev = unsafe { Device::<T>::from_raw(vdev) };
    // SAFETY: As in `freeze_callback`.
    match unsafe { (*dev.slot().data.get()).as_ref() } {
        Some(data) => T::restore(dev, data).err().map_or(0, |e| e.to_errno()),
        None => 0,
    }
}

/// `dev_pm_ops::complete` of the driver: the PM core calls it, under the
/// device lock, for a device bound to this driver once a system sleep
/// transition is over.
#[cfg(CONFIG_PM_SLEEP)]
extern "C" fn complete_callback<T: Driver>(dev: *mut kernel::bindings::device) {
    // SAFETY: The PM core calls the driver's `complete` with a device of
    // the virtio bus bound to it, so `dev` is embedded in a virtio device.
    let vdev = unsafe { vb::rvirtio_dev_to_virtio(dev) };
    // SAFETY: The device is bound to `T` and probed: probe and remove hold
    // the device lock, as this callback does.
    let dev = unsafe { Device::<T>::from_raw(vdev) };
    // SAFETY: As in `freeze_callback`.
    if let Some(data) = unsafe { (*dev.slot().data.get()).as_ref() } {
        T::sleep_done(dev, data);
    }
}

/// Runs `f` with the device and its data under the virtio device's lock,
/// if the device is bound to `T`'s driver and probed; `-ENODEV` if it is
/// not (the virtio core then neither disables the function nor calls
/// `reset_done` after a refused `reset_prepare`, and marks the device
/// FAILED after a refused `reset_done`, rather than setting DRIVER_OK on a
/// device without a driver).
///
/// The PCI core calls the FLR hooks holding the lock of the PCI function,
/// not the virtio device's, so without it they would race with a probe,
/// or with a remove (an unbind of this driver, or `rmmod`) that frees the
/// slot and the data.
///
/// # Safety
///
/// `vdev` must be a registered virtio device, alive for the call (as it is
/// for the virtio-pci error handlers, under the PCI function's lock, which
/// the device's removal from its bus takes too).
#[cfg(rvirtio_7_3)]
unsafe fn with_bound<T: Driver>(
    vdev: *mut vb::virtio_device,
    f: impl FnOnce(&Device<T>, &T::Data) -> core::ffi::c_int,
) -> core::ffi::c_int {
    // SAFETY: `vdev` is alive (the caller's guarantee).
    unsafe { vb::rvirtio_device_lock(vdev) };
    // SAFETY: As above; the device lock is held, so its driver is stable.
    let ret = if unsafe { vb::rvirtio_bound_to(vdev, T::NAME.as_char_ptr()) } {
        // SAFETY: The device is bound to `T` (the one driver of that name on
        // the bus), and its probe has returned: probe and remove hold the
        // device lock, as we do, so `priv` is our slot until we unlock.
        let dev = unsafe { Device::<T>::from_raw(vdev) };
        // SAFETY: `data` changes only in probe and remove, which the device
        // lock excludes.
        match unsafe { (*dev.slot().data.get()).as_ref() } {
            Some(data) => f(dev, data),
            None => ENODEV.to_errno(),
        }
    } else {
        ENODEV.to_errno()
    };
    // SAFETY: Locked above, by this task.
    unsafe { vb::rvirtio_device_unlock(vdev) };
    ret
}

/// `virtio_driver::reset_prepare` (7.3): the PCI core calls it, holding the
/// PCI function's lock, before a function-level reset; the virtio core has
/// disabled config-change callbacks.
#[cfg(rvirtio_7_3)]
extern "C" fn reset_prepare_callback<T: Driver>(vdev: *mut vb::virtio_device) -> core::ffi::c_int {
    // SAFETY: virtio-pci calls this for its live device, under the PCI
    // function's lock.
    unsafe {
        with_bound::<T>(vdev, |dev, data| {
            T::reset_prepare(dev, data)
                .err()
                .map_or(0, |e| e.to_errno())
        })
    }
}

/// `virtio_driver::reset_done` (7.3): the PCI core calls it, holding the
/// PCI function's lock, after a function-level reset, once the virtio core
/// has negotiated the features again. (If the core fails before calling
/// it, see [`Driver::reset_done`].)
#[cfg(rvirtio_7_3)]
extern "C" fn reset_done_callback<T: Driver>(vdev: *mut vb::virtio_device) -> core::ffi::c_int {
    // SAFETY: As in `reset_prepare_callback`.
    unsafe {
        with_bound::<T>(vdev, |dev, data| {
            T::reset_done(dev, data).err().map_or(0, |e| e.to_errno())
        })
    }
}

/// The callback of every virtqueue created through [`Device::find_vqs`]:
/// the virtio core calls it with a live queue of a device bound to `T`.
pub(super) extern "C" fn vq_callback<T: Driver>(vq: *mut vb::virtqueue) {
    // SAFETY: The queue is alive while its callback runs; it belongs to a
    // device bound to `T` whose `priv` is our slot. (The fields are read
    // directly, not through the shim: this runs for every interrupt.)
    let (slot, index) = unsafe {
        let vdev = (*vq).vdev;
        (&*(*vdev).priv_.cast::<Slot<T>>(), (*vq).index)
    };
    // SAFETY: `shared` does not change while queue callbacks can run.
    if let Some(shared) = unsafe { (*slot.shared.get()).as_ref() } {
        T::vq_done(shared.as_arc_borrow(), index);
    }
}
