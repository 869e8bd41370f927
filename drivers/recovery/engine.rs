// SPDX-License-Identifier: GPL-2.0

//! The recovery engine in the kernel: the state machine behind its lock, the
//! reset work item, the counters and their debugfs files, and the
//! [`Hooks`] a driver plugs in. What runs when is [`super::protocol`]'s;
//! this file binds its steps to the virtio device and the driver.

use super::machine::{Machine, Reason, State};
use super::params;
use super::policy::Overdue;
use super::protocol::{self, DeviceSteps, Drain, Expiry, Harvest, Msg, Steps};
#[cfg(doc)]
use super::slots::Slots;
use super::stats::{self, Stats};
use crate::lib::debugfs::{Counters, Dir, FileSet};
use crate::lib::irqlock::IrqSpinLock;
use crate::lib::time;
use crate::lib::work::{self, WorkQueue, WQ_MEM_RECLAIM, WQ_UNBOUND};
use crate::virtio::status::{health, Health};
use crate::virtio::{self, Device, DeviceRef, DeviceReset, NoQueues};
use crate::{vdev_err, vdev_warn};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};
use kernel::workqueue::{HasWork, Work, WorkItem};

/// The id of the engine's work item among the work items of the driver's
/// shared state (the driver's own use other ids).
pub(crate) const RESET_WORK: u64 = 100;

/// What every device of a driver shares, made at module load: the
/// workqueue the reset work runs on (also for the driver's other recovery
/// work), and the driver's debugfs directory.
pub(crate) struct ModuleContext {
    wq: Arc<WorkQueue>,
    debugfs: Arc<Dir>,
}

impl ModuleContext {
    /// Allocates the workqueue `wq_name` (unbound, with a rescuer: it may
    /// be what memory reclaim waits for) and creates `/sys/kernel/debug/DIR`.
    pub(crate) fn new(wq_name: &'static CStr, dir: &'static CStr) -> Result<Self> {
        Ok(Self {
            wq: WorkQueue::new(wq_name, WQ_UNBOUND | WQ_MEM_RECLAIM)?,
            debugfs: Dir::root(dir)?,
        })
    }
}

/// What a driver's shared state (the virtqueue callbacks' `Shared`) plugs
/// into the engine: only what differs between drivers. The engine's reset
/// work is a work item of the shared state ([`crate::impl_recovery_work`]).
pub(crate) trait Hooks:
    Sized
    + Send
    + Sync
    + 'static
    + HasRecovery
    + WorkItem<RESET_WORK, Pointer = Arc<Self>>
    + HasWork<Self, RESET_WORK>
{
    /// The virtio driver whose shared state this is.
    type Driver: virtio::Driver<Shared = Self>;
    /// The driver's own counters, shown beside the engine's.
    type Extra: Default + Send + Sync + 'static;
    /// What giving the device up means for its user, for the log.
    const GIVE_UP: &'static str;

    /// No request reaches the queues any more, and no submission is in
    /// progress (blk-mq: quiesce).
    fn quiesce(&self) {}
    /// Submissions start again, and what a reset requeued is dispatched.
    fn unquiesce(&self) {}
    /// At sleep and remove: stops new requests, waits for a bounded time
    /// for those in flight, and quiesces ([`Self::quiesce`]); false if some
    /// are left. Whatever stopped new requests ends before it returns (the
    /// reset that follows must not run inside a queue freeze). By default,
    /// only quiesces.
    fn drain_and_quiesce(&self, _why: Drain) -> bool {
        self.quiesce();
        true
    }
    /// Waits for the driver's other work items that recovery or a config
    /// change queue (at sleep and remove).
    fn flush_work(&self) {}
    /// Completes what the device returned, its callbacks off, and parks the
    /// queues (before a reset): until the take-back, nothing but the reset
    /// touches them ([`Slots::harvest`]).
    fn harvest(&self);
    /// Completes what the reset device returned during the reset (counted
    /// with [`Recovery::reset_harvested`]), takes back every buffer it
    /// still held (requests requeued, or failed if `give_up`, counted with
    /// [`Recovery::reclaimed`]) and retires every queue into `reset`.
    fn take_back(
        this: ArcBorrow<'_, Self>,
        reset: &mut DeviceReset<'_, Self::Driver>,
        give_up: bool,
    );
    /// Creates the queues of a device at FEATURES_OK and restores the
    /// configuration the user chose (after a reset, and at resume).
    fn bring_up(this: &Arc<Self>, dev: &Device<Self::Driver>) -> Result;
    /// Whether the queues the bring-up created hold no buffer yet: checked
    /// just before DRIVER_OK, as no buffer may reach the device before it
    /// (counted with `early_buffers` if one did).
    fn queues_untouched(&self) -> bool;
    /// After DRIVER_OK: makes the queues the bring-up created reachable
    /// (until now, submissions found none: [`Slots::publish`]), and posts
    /// again what the device fills on its own.
    fn publish(this: ArcBorrow<'_, Self>, dev: &Device<Self::Driver>);
    /// Gives the device up: every request fails from now on.
    fn give_up(this: ArcBorrow<'_, Self>);
    /// Adds the driver's own counters to its debugfs directory.
    fn extra_files<'a>(_extra: &'a Self::Extra, _files: &mut FileSet<'a>) {}
}

/// A shared state whose field is a [`Recovery`]: implemented by
/// [`crate::impl_recovery_work`], together with the work item, so that the
/// engine queues and flushes the same work.
pub(crate) trait HasRecovery: Sized {
    /// The engine.
    fn recovery(&self) -> &Recovery<Self>
    where
        Self: Hooks;
}

/// The recovery engine of one device: a field of the driver's shared state
/// `S`, whose reset work item it is.
#[pin_data]
pub(crate) struct Recovery<S: Hooks> {
    #[pin]
    machine: IrqSpinLock<Machine>,
    #[pin]
    work: Work<S, RESET_WORK>,
    dev: DeviceRef<S::Driver>,
    stats: Arc<Stats<S::Extra>>,
    faults: bool,
    /// When a request overdue on a healthy device was last logged
    /// (jiffies; 0: never).
    overdue_logged: AtomicU64,
    wq: Arc<WorkQueue>,
    debugfs: Arc<Dir>,
}

/// Implements the engine's work item for the driver's shared state `$shared`,
/// whose field `$field` is its [`Recovery`] (checked: the field must have
/// that type), and [`HasRecovery`] with the same field.
#[macro_export]
macro_rules! impl_recovery_work {
    ($shared:ty, $field:ident) => {
        // The id below is `RESET_WORK`'s.
        const _: () = ::core::assert!($crate::recovery::RESET_WORK == 100);

        impl $crate::recovery::HasRecovery for $shared {
            fn recovery(&self) -> &$crate::recovery::Recovery<Self> {
                &self.$field
            }
        }

        // SAFETY: `OFFSET` is the offset of the engine's `Work` within
        // `$shared`: the field's offset plus the work's within the engine;
        // `raw_get_work` gives the same place, through the field, whose type
        // it checks, and `work_container_of` goes back by `OFFSET` (6.12's
        // default does the same).
        unsafe impl ::kernel::workqueue::HasWork<$shared, 100> for $shared {
            #[cfg(not(rvirtio_7_3))]
            const OFFSET: usize = ::core::mem::offset_of!($shared, $field)
                + $crate::recovery::Recovery::<$shared>::WORK_OFFSET;

            /// # Safety
            ///
            /// `ptr` must point to the engine's `Work` in a valid `$shared`,
            /// as `HasWork` requires.
            #[cfg(rvirtio_7_3)]
            #[inline]
            unsafe fn work_container_of(
                ptr: *mut ::kernel::workqueue::Work<$shared, 100>,
            ) -> *mut Self {
                const OFFSET: usize = ::core::mem::offset_of!($shared, $field)
                    + $crate::recovery::Recovery::<$shared>::WORK_OFFSET;
                // SAFETY: The work lies `OFFSET` bytes into its `$shared`.
                unsafe { ptr.cast::<u8>().sub(OFFSET).cast::<Self>() }
            }

            /// # Safety
            ///
            /// `ptr` must point to a valid `$shared`, as `HasWork` requires.
            #[inline]
            unsafe fn raw_get_work(ptr: *mut Self) -> *mut ::kernel::workqueue::Work<$shared, 100> {
                // SAFETY: The caller passes a valid pointer to a `$shared`.
                unsafe {
                    $crate::recovery::Recovery::<$shared>::raw_work(::core::ptr::addr_of_mut!(
                        (*ptr).$field
                    ))
                }
            }
        }

        impl ::kernel::workqueue::WorkItem<100> for $shared {
            type Pointer = ::kernel::sync::Arc<$shared>;

            fn run(this: ::kernel::sync::Arc<$shared>) {
                $crate::recovery::Recovery::run(this);
            }
        }
    };
}

/// Implements a virtio driver's `freeze` and `restore` with the engine's
/// (see [`protocol::freeze`] and [`protocol::restore`]): system sleep is a
/// reset that stops half-way, and the engine takes the device's requests
/// back in between. `$data` is the driver's `Data` type, whose field
/// `$shared` is the `Arc` of its shared state. Invoke it inside the
/// `impl virtio::Driver` block.
#[macro_export]
macro_rules! recovery_sleep {
    ($data:ty, $shared:ident) => {
        /// System sleep: the first half of a reset. The requests in flight
        /// get a bounded time to end, then the device is reset and what it
        /// still holds is requeued for after the resume.
        fn freeze(dev: &$crate::virtio::Device<Self>, data: &$data) -> ::kernel::error::Result {
            $crate::recovery::Recovery::freeze(&data.$shared, dev)
        }

        /// Wake-up: the second half of a reset. The virtio core has reset the
        /// device and negotiated its features; the queues come back, and a
        /// device that does not is given up.
        fn restore(dev: &$crate::virtio::Device<Self>, data: &$data) -> ::kernel::error::Result {
            $crate::recovery::Recovery::restore(&data.$shared, dev)
        }

        /// The sleep transition is over: a device whose restore never ran
        /// is given up.
        fn sleep_done(dev: &$crate::virtio::Device<Self>, data: &$data) {
            $crate::recovery::Recovery::sleep_done(&data.$shared, dev);
        }

        /// A PCI function-level reset (7.3) is about to happen: as a sleep;
        /// a device found gone is given up, and the prepare refused.
        fn reset_prepare(
            dev: &$crate::virtio::Device<Self>,
            data: &$data,
        ) -> ::kernel::error::Result {
            $crate::recovery::Recovery::reset_prepare(&data.$shared, dev)
        }

        /// The function-level reset is over: a restore and the end of the
        /// transition at once (or a reset, if this binding did not prepare).
        fn reset_done(dev: &$crate::virtio::Device<Self>, data: &$data) -> ::kernel::error::Result {
            $crate::recovery::Recovery::reset_done(&data.$shared, dev)
        }
    };
}

impl<S: Hooks> Recovery<S> {
    /// Where the work item is within the engine.
    pub(crate) const WORK_OFFSET: usize = core::mem::offset_of!(Self, work);

    /// The work item of the engine at `this`.
    ///
    /// # Safety
    ///
    /// `this` must point to a valid `Recovery<S>`.
    pub(crate) unsafe fn raw_work(this: *mut Self) -> *mut Work<S, RESET_WORK> {
        // SAFETY: Per the safety requirements `this` is valid.
        unsafe { core::ptr::addr_of_mut!((*this).work) }
    }

    /// A live device's engine, with the policy of the module parameters
    /// `reset_budget`, `reset_window` and `fault_inject`.
    pub(crate) fn new(
        dev: &Device<S::Driver>,
        ctx: &ModuleContext,
        extra: S::Extra,
    ) -> impl PinInit<Self, Error> {
        let budget = usize::try_from(params::reset_budget()).unwrap_or(usize::MAX);
        let window = time::secs_to_jiffies(params::reset_window());
        let dev = dev.to_ref();
        let wq = ctx.wq.clone();
        let debugfs = ctx.debugfs.clone();
        try_pin_init!(Self {
            machine <- IrqSpinLock::new(
                Machine::new(budget, window),
                c_str!("rvirtio::recovery"),
                kernel::static_lock_class!()
            ),
            work <- kernel::new_work!("rvirtio::reset_work"),
            dev,
            stats: Arc::new(
                Stats {
                    extra,
                    ..Default::default()
                },
                GFP_KERNEL
            )?,
            faults: params::fault_inject(),
            overdue_logged: AtomicU64::new(0),
            wq,
            debugfs,
        }? Error)
    }

    /// The device, for work items and timeout handlers.
    pub(crate) fn dev(&self) -> &DeviceRef<S::Driver> {
        &self.dev
    }

    /// The counters.
    pub(crate) fn stats(&self) -> &Stats<S::Extra> {
        &self.stats
    }

    /// Takes a fault-injection knob's next shot (see [`Stats::knobs`]).
    pub(crate) fn shot(&self, knob: &AtomicU32) -> bool {
        stats::take_shot(self.faults, knob)
    }

    /// A fault-injection knob that is a value, not a count of shots (a
    /// delay): 0 unless fault injection is on.
    pub(crate) fn fault_value(&self, knob: &AtomicU32) -> u32 {
        if self.faults {
            knob.load(Ordering::Relaxed)
        } else {
            0
        }
    }

    /// Counts a request that a reset took back: requeued, or failed.
    pub(crate) fn reclaimed(&self, requeued: bool) {
        stats::bump(if requeued {
            &self.stats.requeued
        } else {
            &self.stats.failed
        });
    }

    /// Counts `n` requests the device returned while it was being reset.
    pub(crate) fn reset_harvested(&self, n: u32) {
        stats::add(&self.stats.reset_harvested, n);
    }

    /// Counts `n` requests completed by polling.
    pub(crate) fn polled(&self, n: u32) {
        stats::add(&self.stats.polled, n);
    }

    /// The state now.
    pub(crate) fn state(&self) -> State {
        self.machine.lock().state()
    }

    /// The module's workqueue, for the driver's other recovery work.
    pub(crate) fn wq(&self) -> &WorkQueue {
        &self.wq
    }

    /// The device's debugfs directory `name`: the engine's counters and
    /// knobs, then the driver's.
    pub(crate) fn debugfs(&self, name: &CStr) -> Counters<Stats<S::Extra>> {
        let faults = self.faults;
        Counters::new(name, &self.debugfs, self.stats.clone(), |f, s| {
            f.u64(c_str!("timeouts"), &s.timeouts);
            f.u64(c_str!("lost_interrupts"), &s.lost_interrupts);
            f.u64(c_str!("renotified"), &s.renotified);
            f.u64(c_str!("resets"), &s.resets);
            f.u64(c_str!("reset_harvested"), &s.reset_harvested);
            f.u64(c_str!("requeued"), &s.requeued);
            f.u64(c_str!("failed"), &s.failed);
            f.u64(c_str!("give_ups"), &s.give_ups);
            f.u64(c_str!("polled"), &s.polled);
            f.u64(c_str!("suspends"), &s.suspends);
            f.u64(c_str!("early_buffers"), &s.early_buffers);
            f.u32(c_str!("state"), &s.state, false);
            if faults {
                f.u32(c_str!("drop_irqs"), &s.knobs.drop_irqs, true);
                f.u32(c_str!("inject_malformed"), &s.knobs.inject_malformed, true);
                f.u32(c_str!("inject_reset"), &s.knobs.inject_reset, true);
                f.u32(c_str!("reset_delay_ms"), &s.knobs.reset_delay_ms, true);
                f.u32(c_str!("irq_race"), &s.knobs.irq_race, true);
                f.u32(c_str!("lose_restore"), &s.knobs.lose_restore, true);
                f.u32(c_str!("noqueue_delay_ms"), &s.knobs.noqueue_delay_ms, true);
                f.u32(c_str!("reset_again"), &s.knobs.reset_again, true);
                f.u32(c_str!("inject_sense_len"), &s.knobs.inject_sense_len, true);
                f.u32(c_str!("ready_delay_ms"), &s.knobs.ready_delay_ms, true);
                f.u32(c_str!("reject_tmf"), &s.knobs.reject_tmf, true);
            }
            S::extra_files(&s.extra, f);
        })
    }

    /// Asks for a reset; queues the reset work unless one is pending or the
    /// device is dead, asleep or going away. Any context.
    pub(crate) fn schedule(this: ArcBorrow<'_, S>, why: Reason) {
        protocol::schedule(&Engine::new(this, None), why);
    }

    /// The device's configuration changed: a device that set NEEDS_RESET
    /// says so with a config change, and is reset. Any context. Returns
    /// whether it did.
    pub(crate) fn config_changed(this: ArcBorrow<'_, S>, dev: &Device<S::Driver>) -> bool {
        let broken = health(dev.status()) == Health::NeedsReset;
        if broken {
            Self::schedule(this, Reason::NeedsReset);
        }
        broken
    }

    /// A request's timer expired: see [`protocol::timed_out`]. A request
    /// overdue on a healthy device is logged, at most once a minute per
    /// device.
    pub(crate) fn timed_out(
        this: ArcBorrow<'_, S>,
        harvest: impl FnOnce() -> Harvest,
        overdue: impl FnOnce() -> Option<Overdue>,
        renotify: impl FnOnce(),
    ) -> Expiry {
        let expiry = protocol::timed_out(&Engine::new(this, None), harvest, overdue, renotify);
        if let Expiry::Healthy { stalled } = expiry {
            this.recovery().log_overdue(stalled);
        }
        expiry
    }

    /// Logs that requests are overdue on a healthy device, unless that was
    /// logged less than a minute ago.
    fn log_overdue(&self, stalled: u64) {
        let now = time::jiffies();
        let last = self.overdue_logged.load(Ordering::Relaxed);
        let minute = time::secs_to_jiffies(60);
        if last != 0 && now.wrapping_sub(last) < minute {
            return;
        }
        if self
            .overdue_logged
            .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let secs = time::jiffies_to_secs(stalled);
        self.dev.with(|dev| {
            if secs == 0 {
                vdev_warn!(
                    dev,
                    "requests overdue on a healthy device: notified it again, waiting for it"
                )
            } else {
                vdev_warn!(
                    dev,
                    "requests overdue on a healthy device, no progress for {} s: waiting for it",
                    secs
                )
            }
        });
    }

    #[cfg_attr(rvirtio_blk, expect(dead_code, reason = "only rvirtio_scsi uses it"))]
    /// Why the device needs a reset now, if it does.
    pub(crate) fn broken(this: ArcBorrow<'_, S>) -> Option<Reason> {
        protocol::broken(&Engine::new(this, None))
    }

    #[cfg_attr(rvirtio_blk, expect(dead_code, reason = "only rvirtio_scsi uses it"))]
    /// Asks for a reset and waits until none is pending or running. Process
    /// context.
    pub(crate) fn reset_and_wait(this: ArcBorrow<'_, S>, why: Reason) {
        protocol::reset_and_wait(&Engine::new(this, None), why);
    }

    #[cfg_attr(rvirtio_blk, expect(dead_code, reason = "only rvirtio_scsi uses it"))]
    /// Waits until no reset is pending or running: see
    /// [`protocol::settle`]. Process context.
    pub(crate) fn settle(this: ArcBorrow<'_, S>) -> State {
        protocol::settle(&Engine::new(this, None))
    }

    /// The reset work item. The `reset_again` knob asks for another reset
    /// as it ends, before whoever waited for this one looks at the state.
    pub(crate) fn run(this: Arc<S>) {
        let engine = Engine::new(this.as_arc_borrow(), None);
        // Nothing it allocates may wait for writeback to this device.
        work::no_io(|| protocol::reset_work(&engine));
        let r = this.recovery();
        if r.shot(&r.stats.knobs.reset_again) {
            protocol::schedule(&engine, Reason::Injected);
        }
    }

    /// `freeze`: see [`protocol::freeze`]. `ENODEV` refuses the sleep for
    /// a device that is gone.
    pub(crate) fn freeze(this: &Arc<S>, dev: &Device<S::Driver>) -> Result {
        if protocol::freeze(&Engine::new(this.as_arc_borrow(), Some(dev))) {
            Ok(())
        } else {
            vdev_err!(
                dev,
                "refusing to sleep: the device is gone, and could not be resumed"
            );
            Err(ENODEV)
        }
    }

    /// `restore`: see [`protocol::restore`]. The `lose_restore` knob fails
    /// it before it does anything, as when the virtio core fails to bring
    /// the device back and never calls it.
    pub(crate) fn restore(this: &Arc<S>, dev: &Device<S::Driver>) -> Result {
        let r = this.recovery();
        if r.shot(&r.stats.knobs.lose_restore) {
            vdev_warn!(dev, "fault injection: restore lost");
            return Err(EIO);
        }
        protocol::restore(&Engine::new(this.as_arc_borrow(), Some(dev)))
    }

    /// `reset_prepare` of a PCI function-level reset: see
    /// [`protocol::reset_prepare`].
    /// `ENODEV` for a device that is gone (given up).
    pub(crate) fn reset_prepare(this: &Arc<S>, dev: &Device<S::Driver>) -> Result {
        if protocol::reset_prepare(&Engine::new(this.as_arc_borrow(), Some(dev))) {
            Ok(())
        } else {
            vdev_err!(dev, "function-level reset: the device is gone");
            Err(ENODEV)
        }
    }

    /// `reset_done` of a PCI function-level reset: see
    /// [`protocol::reset_done`].
    pub(crate) fn reset_done(this: &Arc<S>, dev: &Device<S::Driver>) -> Result {
        protocol::reset_done(&Engine::new(this.as_arc_borrow(), Some(dev)))
    }

    /// `complete` of a sleep transition: see [`protocol::sleep_done`].
    pub(crate) fn sleep_done(this: &Arc<S>, dev: &Device<S::Driver>) {
        protocol::sleep_done(&Engine::new(this.as_arc_borrow(), Some(dev)));
    }

    /// `remove`: see [`protocol::remove`]. `delete_disk` deletes what the
    /// device serves (the gendisk) with the queues live.
    pub(crate) fn remove(this: &Arc<S>, dev: &Device<S::Driver>, delete_disk: impl FnOnce()) {
        protocol::remove(&Engine::new(this.as_arc_borrow(), Some(dev)), delete_disk);
    }

    /// The device's queues are up, at probe: until [`QueuesUp::keep`], the
    /// returned guard resets the device, fails what it holds and deletes
    /// the queues when it is dropped (a later probe step failed).
    pub(crate) fn queues_up<'a>(this: &'a Arc<S>, dev: &'a Device<S::Driver>) -> QueuesUp<'a, S> {
        QueuesUp {
            this,
            dev,
            armed: true,
        }
    }
}

/// See [`Recovery::queues_up`].
pub(crate) struct QueuesUp<'a, S: Hooks> {
    this: &'a Arc<S>,
    dev: &'a Device<S::Driver>,
    armed: bool,
}

impl<S: Hooks> QueuesUp<'_, S> {
    /// Probe succeeded: the queues stay.
    pub(crate) fn keep(mut self) {
        self.armed = false;
    }
}

impl<S: Hooks> Drop for QueuesUp<'_, S> {
    fn drop(&mut self) {
        if self.armed {
            let engine = Engine::new(self.this.as_arc_borrow(), Some(self.dev));
            engine.with_device(|d| {
                let _ = protocol::take_back(d, true);
            });
        }
    }
}

/// The protocol's [`Steps`] in the kernel, for the device whose shared
/// state is `this`: with the device at hand in its driver callbacks, or
/// through its revocable handle in work items and timeout handlers.
struct Engine<'a, S: Hooks> {
    this: ArcBorrow<'a, S>,
    dev: Option<&'a Device<S::Driver>>,
}

impl<'a, S: Hooks> Engine<'a, S> {
    fn new(this: ArcBorrow<'a, S>, dev: Option<&'a Device<S::Driver>>) -> Self {
        Self { this, dev }
    }

    fn r(&self) -> &Recovery<S> {
        self.this.recovery()
    }
}

impl<S: Hooks> Steps for Engine<'_, S> {
    type Extra = S::Extra;
    type Error = Error;
    type Device<'d> = Dev<'d, S>;

    fn locked<R>(&self, f: impl FnOnce(&mut Machine) -> R) -> R {
        let r = self.r();
        let mut machine = r.machine.lock();
        let out = f(&mut machine);
        r.stats
            .state
            .store(machine.state().code(), Ordering::Relaxed);
        out
    }

    fn queue_work(&self) {
        // Queued only on the Live -> Resetting edge, so never twice; the
        // workqueue lives as long as the engine.
        let _ = self
            .r()
            .wq
            .enqueue::<_, RESET_WORK>(Arc::<S>::from(self.this));
    }

    fn flush_work(&self) {
        work::flush(&self.r().work);
    }

    fn flush_driver_work(&self) {
        self.this.flush_work();
    }

    fn now(&self) -> u64 {
        time::jiffies()
    }

    fn stats(&self) -> &Stats<S::Extra> {
        &self.r().stats
    }

    fn with_device<R>(&self, f: impl FnOnce(&Dev<'_, S>) -> R) -> Option<R> {
        match self.dev {
            Some(dev) => Some(f(&Dev {
                this: self.this,
                dev,
            })),
            // Revoked only after remove, which waits for the reset work.
            None => self.r().dev.with(|dev| {
                f(&Dev {
                    this: self.this,
                    dev,
                })
            }),
        }
    }
}

/// The protocol's [`DeviceSteps`]: the virtio device and the driver's
/// hooks.
struct Dev<'d, S: Hooks> {
    this: ArcBorrow<'d, S>,
    dev: &'d Device<S::Driver>,
}

impl<'d, S: Hooks> DeviceSteps for Dev<'d, S> {
    type Reset = DeviceReset<'d, S::Driver>;
    type NoQueues = NoQueues<'d, S::Driver>;
    type Error = Error;

    fn status(&self) -> u8 {
        self.dev.status()
    }

    fn log(&self, msg: Msg<'_, Error>) {
        let dev = self.dev;
        match msg {
            Msg::Reset(n, why) => vdev_warn!(dev, "reset {}: {}", n, why.as_str()),
            Msg::OverBudget(n, why) => vdev_err!(
                dev,
                "reset {} ({}): over the budget of {} resets in {} s, giving up",
                n,
                why.as_str(),
                params::reset_budget(),
                params::reset_window()
            ),
            Msg::Disable(n, why) => vdev_err!(
                dev,
                "reset {} ({}): the device is being removed, failing what it holds",
                n,
                why.as_str()
            ),
            Msg::GaveUp => vdev_err!(dev, "giving up on the device: {}", S::GIVE_UP),
            Msg::RestartFailed(e) => vdev_err!(
                dev,
                "reset: the device did not accept its features again ({:?})",
                e
            ),
            Msg::BringUpFailed(e) => vdev_err!(
                dev,
                "reset: could not create the virtqueues again ({:?})",
                e
            ),
            Msg::ResumeFailed(e) => {
                vdev_err!(dev, "resume: could not create the virtqueues ({:?})", e)
            }
            Msg::StillInFlight(Drain::Sleep) => vdev_warn!(
                dev,
                "requests still in flight at suspend: requeued for resume"
            ),
            Msg::StillInFlight(Drain::Remove) => {
                vdev_warn!(dev, "requests still in flight at removal: failing them")
            }
            Msg::Gone => vdev_err!(
                dev,
                "the device is gone (off its bus, or not answering): not resetting it, failing what it held"
            ),
            Msg::NotRestored => vdev_err!(
                dev,
                "resume: the device was not brought back before its restore (see the log above)"
            ),
        }
    }

    fn quiesce(&self) {
        self.this.quiesce();
    }

    fn unquiesce(&self) {
        self.this.unquiesce();
    }

    fn drain_and_quiesce(&self, why: Drain) -> bool {
        self.this.drain_and_quiesce(why)
    }

    fn pause(&self) {
        let r = self.this.recovery();
        let ms = r.fault_value(&r.stats.knobs.reset_delay_ms);
        if ms != 0 {
            time::sleep_ms(ms);
        }
    }

    fn harvest(&self) {
        self.this.harvest();
    }

    fn reset(&self) -> DeviceReset<'d, S::Driver> {
        self.dev.reset()
    }

    fn gone(&self, reset: &DeviceReset<'d, S::Driver>) -> bool {
        reset.gone()
    }

    fn looks_gone(&self) -> bool {
        self.dev.looks_gone()
    }

    fn take_back(&self, reset: &mut DeviceReset<'d, S::Driver>, give_up: bool) {
        S::take_back(self.this, reset, give_up);
    }

    fn delete_queues(&self, reset: DeviceReset<'d, S::Driver>) -> Option<NoQueues<'d, S::Driver>> {
        match reset.delete_vqs() {
            Ok(device) => Some(device),
            Err(_) => {
                vdev_err!(self.dev, "virtqueues could not be deleted");
                None
            }
        }
    }

    fn restart(&self, device: NoQueues<'d, S::Driver>) -> Result {
        device.restart()
    }

    fn bring_up(&self) -> Result {
        S::bring_up(&Arc::<S>::from(self.this), self.dev)
    }

    fn ready(&self) {
        let r = self.this.recovery();
        let ms = r.fault_value(&r.stats.knobs.ready_delay_ms);
        if ms != 0 {
            time::sleep_ms(ms.min(1000));
        }
        if !self.this.queues_untouched() {
            stats::bump(&r.stats.early_buffers);
        }
        self.dev.ready();
    }

    fn publish(&self) {
        S::publish(self.this, self.dev);
    }

    fn give_up(&self) {
        S::give_up(self.this);
    }
}
