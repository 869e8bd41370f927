// SPDX-License-Identifier: GPL-2.0

//! A device's request virtqueues, one slot per hardware queue.
//!
//! Each slot is behind an irqsave lock (the queue's callback runs in hard-IRQ
//! context) and is empty while the device has no queues: during a reset,
//! after giving up, during remove. Submission, interrupt, poll, timeout and
//! the reset all reach the queues through here. From the reset's harvest
//! until its take-back the queues are *parked*: only the reset touches them,
//! so what the device returns meanwhile (QEMU completes what its backend
//! held while it resets) is taken back by the reset, not by an interrupt.
//! Queues are created parked too, and published only after DRIVER_OK: no
//! buffer may reach the device before it (VIRTIO 1.2, 3.1.1). [`Staged`]
//! does the same for a driver's other queues.

use crate::lib::irqlock::{IrqGuard, IrqSpinLock};
use crate::lib::queuemap::QueueMap;
use crate::vdev_err;
use crate::virtio::{self, Device, DeviceRef, DeviceReset, Token, Virtqueue, Vq, VqSpec};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use kernel::prelude::*;
use kernel::str::CString;

/// One request virtqueue: `None` while the device has none.
type Slot<K> = IrqSpinLock<Option<Virtqueue<K>>>;

/// A slot, and whether its queue is parked for a reset.
struct Entry<K: Token> {
    slot: Pin<KBox<Slot<K>>>,
    /// Read and written only under the slot's lock.
    parked: AtomicBool,
    /// Requests the device returned on this queue so far: its progress,
    /// which timeouts compare (written under the slot's lock).
    completed: AtomicU64,
    /// The free descriptors of the queue when it was created: its ring
    /// size (written under the slot's lock).
    size: AtomicU32,
}

impl<K: Token> Entry<K> {
    /// The slot's lock, held, if the slot has a queue that no reset parked.
    fn lock_live(&self) -> Option<IrqGuard<'_, Option<Virtqueue<K>>>> {
        let guard = self.slot.lock();
        (!self.parked.load(Ordering::Relaxed) && guard.is_some()).then_some(guard)
    }

    /// Counts `n` requests the device returned (under the slot's lock).
    fn progress(&self, n: u32) {
        if n != 0 {
            self.completed.fetch_add(u64::from(n), Ordering::Relaxed);
        }
    }

    /// Runs `f` under the slot's lock, with the queue unless the device has
    /// none or a reset parked it.
    fn live<R>(&self, f: impl FnOnce(Option<&mut Virtqueue<K>>) -> R) -> R {
        match self.lock_live() {
            Some(mut guard) => f(guard.as_mut()),
            None => f(None),
        }
    }
}

/// Why a request could not be given to its queue; it comes back with the
/// reason.
pub(crate) enum Refused<K> {
    /// The device has no queues now (or there is no such queue).
    NoQueue(K),
    /// The ring is full.
    Full(K),
    /// No memory for indirect descriptors.
    NoMemory(K),
    /// The queue is broken: the device put a used entry on it that the
    /// virtio core refused. Only a reset mends it.
    Broken(K),
    /// The request cannot be described to the queue.
    Invalid(K),
}

impl<K> Refused<K> {
    fn of(token: K, err: Error) -> Self {
        if err == ENOSPC {
            Refused::Full(token)
        } else if err == ENOMEM {
            Refused::NoMemory(token)
        } else if err == EIO {
            Refused::Broken(token)
        } else {
            Refused::Invalid(token)
        }
    }
}

/// A device's request virtqueues, which carry tokens `K`.
pub(crate) struct Slots<K: Token> {
    slots: KVec<Entry<K>>,
    /// The last `poll_queues` have no interrupt.
    poll_queues: usize,
    /// The device's index of the first request virtqueue.
    first_vq: u32,
    /// The ring size the first queues had (at probe; 0 before): the
    /// driver's limits are computed from it, so queues created later must
    /// not be smaller.
    probe_ring: AtomicU32,
}

impl<K: Token> Slots<K> {
    /// `n` empty slots, the last `poll_queues` of them for poll queues, for
    /// the request virtqueues from the device's queue `first_vq` on.
    pub(crate) fn new(n: u32, poll_queues: u32, first_vq: u32) -> Result<Self> {
        let n = usize::try_from(n).map_err(|_| EINVAL)?;
        let poll_queues = usize::try_from(poll_queues).map_err(|_| EINVAL)?;
        let mut slots = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            let slot = KBox::pin_init(
                IrqSpinLock::new(
                    None,
                    kernel::c_str!("rvirtio::request_vq"),
                    kernel::static_lock_class!(),
                ),
                GFP_KERNEL,
            )?;
            slots.push(
                Entry {
                    slot,
                    parked: AtomicBool::new(false),
                    completed: AtomicU64::new(0),
                    size: AtomicU32::new(0),
                },
                GFP_KERNEL,
            )?;
        }
        Ok(Self {
            slots,
            poll_queues: poll_queues.min(n),
            first_vq,
            probe_ring: AtomicU32::new(0),
        })
    }

    /// The number of request queues.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    fn get(&self, index: u32) -> Option<&Entry<K>> {
        self.slots.get(usize::try_from(index).ok()?)
    }

    /// Adds the specs of the request queues to `specs`, named by
    /// `name(index, polled)`. Poll queues, the last ones, have no interrupt.
    pub(crate) fn specs(
        &self,
        specs: &mut KVec<VqSpec>,
        name: impl Fn(usize, bool) -> Result<CString>,
    ) -> Result {
        let n = self.len();
        for i in 0..n {
            let polled = i >= n - self.poll_queues;
            specs.push(
                VqSpec {
                    name: name(i, polled)?,
                    callback: !polled,
                },
                GFP_KERNEL,
            )?;
        }
        Ok(())
    }

    /// Puts the queues `find_vqs` created in their slots, in order,
    /// parked until [`Self::publish`]. The first time (at probe) records
    /// their ring size; later, queues with a smaller ring than that are
    /// refused (logged, `EINVAL`), as the limits the driver gave the block
    /// layer no longer fit them. Refused or not, they stay in their slots
    /// until a reset takes them back.
    pub(crate) fn install<D: virtio::Driver>(
        &self,
        dev: &Device<D>,
        vqs: impl Iterator<Item = Vq>,
    ) -> Result {
        for (e, vq) in self.slots.iter().zip(vqs) {
            let vq = vq.into_typed();
            let mut guard = e.slot.lock();
            e.size.store(vq.num_free(), Ordering::Relaxed);
            *guard = Some(vq);
            e.parked.store(true, Ordering::Relaxed);
        }
        let ring = self.ring_size();
        match self
            .probe_ring
            .compare_exchange(0, ring, Ordering::Relaxed, Ordering::Relaxed)
        {
            Err(was) if ring < was => {
                vdev_err!(
                    dev,
                    "the device's request rings now hold {} descriptors, fewer than the {} it had at probe: it cannot be brought back",
                    ring,
                    was
                );
                Err(EINVAL)
            }
            _ => Ok(()),
        }
    }

    /// After DRIVER_OK: lets submissions, interrupts, polls and timeouts
    /// reach the queues [`Self::install`] parked.
    pub(crate) fn publish(&self) {
        for e in self.slots.iter() {
            let _guard = e.slot.lock();
            e.parked.store(false, Ordering::Relaxed);
        }
    }

    /// Whether no queue holds a buffer: true right after the queues were
    /// created, and until they are published.
    pub(crate) fn is_untouched(&self) -> bool {
        self.slots.iter().all(|e| {
            let guard = e.slot.lock();
            match guard.as_ref() {
                Some(vq) => vq.num_free() == e.size.load(Ordering::Relaxed),
                None => true,
            }
        })
    }

    /// The ring size of the smallest queue the device has (1 without
    /// queues): the free descriptors each had when it was created.
    pub(crate) fn ring_size(&self) -> u32 {
        self.slots
            .iter()
            .filter_map(|e| {
                let guard = e.slot.lock();
                guard.as_ref().map(|_| e.size.load(Ordering::Relaxed))
            })
            .min()
            .unwrap_or(1)
    }

    #[cfg_attr(rvirtio_blk, expect(dead_code, reason = "only rvirtio_scsi uses it"))]
    /// The queue that serves a request for hardware queue `index` that
    /// must complete by interrupt: `index` itself, or for a poll queue
    /// (which nobody may be polling) one of the interrupt queues.
    pub(crate) fn interrupt_queue(&self, index: u32) -> u32 {
        let n = self.len();
        let irq_queues = n.saturating_sub(self.poll_queues).max(1);
        match usize::try_from(index) {
            Ok(i) if i >= irq_queues && i < n => u32::try_from(i % irq_queues).unwrap_or(0),
            _ => index,
        }
    }

    /// Gives `token` to queue `index`, and notifies the device if `kick`
    /// (after dropping the queue's lock, as the C drivers do). On a refusal
    /// the device is notified of what the queue holds, so that it makes
    /// room.
    #[inline(always)]
    pub(crate) fn submit(&self, index: u32, token: K, kick: bool) -> Result<(), Refused<K>> {
        let Some(mut guard) = self.get(index).and_then(Entry::lock_live) else {
            return Err(Refused::NoQueue(token));
        };
        let Some(vq) = guard.as_mut() else {
            return Err(Refused::NoQueue(token));
        };
        if let Err((token, err)) = vq.add(token) {
            vq.kick();
            return Err(Refused::of(token, err));
        }
        if kick {
            Virtqueue::kick_unlocked(guard);
        }
        Ok(())
    }

    #[cfg_attr(rvirtio_scsi, expect(dead_code, reason = "only rvirtio_blk uses it"))]
    /// Gives the tokens `next` yields to queue `index` under one lock, then
    /// notifies the device once. `refused` gets each token the queue did not
    /// take (under the lock, but for [`Refused::NoQueue`]).
    #[inline(always)]
    pub(crate) fn submit_batch(
        &self,
        index: u32,
        mut next: impl FnMut() -> Option<K>,
        mut refused: impl FnMut(Refused<K>),
    ) {
        if let Some(mut guard) = self.get(index).and_then(Entry::lock_live) {
            if let Some(vq) = guard.as_mut() {
                while let Some(token) = next() {
                    if let Err((token, err)) = vq.add(token) {
                        refused(Refused::of(token, err));
                    }
                }
                Virtqueue::kick_unlocked(guard);
                return;
            }
        }
        while let Some(token) = next() {
            refused(Refused::NoQueue(token));
        }
    }

    /// Notifies the device of what queue `index` holds (`commit_rqs`).
    pub(crate) fn commit(&self, index: u32) {
        if let Some(e) = self.get(index) {
            e.live(|vq| {
                if let Some(vq) = vq {
                    vq.kick();
                }
            });
        }
    }

    /// Runs `f` under queue `index`'s lock, with the queue unless the device
    /// has none or a reset parked it; `None` if there is no such queue.
    pub(crate) fn with<R>(
        &self,
        index: u32,
        f: impl FnOnce(Option<&mut Virtqueue<K>>) -> R,
    ) -> Option<R> {
        Some(self.get(index)?.live(f))
    }

    /// Hands every token the device returned on queue `index` to `done`,
    /// under the queue's lock; returns how many.
    pub(crate) fn drain(&self, index: u32, done: impl FnMut(K)) -> u32 {
        let Some(e) = self.get(index) else {
            return 0;
        };
        e.live(|vq| {
            let n = vq.map_or(0, |vq| drain(vq, done));
            e.progress(n);
            n
        })
    }

    /// The callback of queue `index`: hands every token the device returned
    /// to `done`, with callbacks disabled meanwhile, until none is left.
    /// Returns true if the queue is broken (the device put a used entry on
    /// it that the virtio core refused): only a reset mends it.
    pub(crate) fn interrupt(&self, index: u32, mut done: impl FnMut(K)) -> bool {
        let Some(e) = self.get(index) else {
            return false;
        };
        e.live(|vq| {
            let Some(vq) = vq else {
                return false;
            };
            loop {
                vq.disable_cb();
                let n = drain(vq, &mut done);
                e.progress(n);
                if vq.enable_cb() || vq.is_broken() {
                    break;
                }
            }
            vq.is_broken()
        })
    }

    #[cfg_attr(rvirtio_scsi, expect(dead_code, reason = "only rvirtio_blk uses it"))]
    /// How many requests the device has returned on queue `index` so far:
    /// a timeout's measure of the queue's progress.
    pub(crate) fn completed(&self, index: u32) -> u64 {
        self.get(index)
            .map_or(0, |e| e.completed.load(Ordering::Relaxed))
    }

    /// Whether queue `index` is broken (see [`Refused::Broken`]).
    pub(crate) fn is_broken(&self, index: u32) -> bool {
        self.with(index, |vq| vq.is_some_and(|vq| vq.is_broken()))
            .unwrap_or(false)
    }

    #[cfg_attr(rvirtio_scsi, expect(dead_code, reason = "only rvirtio_blk uses it"))]
    /// Notifies the device of queue `index` whether or not it asked to be
    /// (the spec allows spurious notifications): after a lost notification,
    /// the device finds what the queue holds.
    pub(crate) fn renotify(&self, index: u32) {
        self.with(index, |vq| {
            if let Some(vq) = vq {
                vq.notify();
            }
        });
    }

    /// Before a reset: disables every queue's callback, hands what the
    /// device returned to `done`, and parks the queues: until
    /// [`Self::take_back`], submissions, interrupts, polls and timeouts find
    /// no queue.
    pub(crate) fn harvest(&self, mut done: impl FnMut(K)) {
        for e in self.slots.iter() {
            let mut guard = e.slot.lock();
            if let Some(vq) = guard.as_mut() {
                vq.disable_cb();
                e.progress(drain(vq, &mut done));
            }
            e.parked.store(true, Ordering::Relaxed);
        }
    }

    #[cfg_attr(rvirtio_blk, expect(dead_code, reason = "only rvirtio_scsi uses it"))]
    /// Hands what the device returned on every queue to `done`.
    pub(crate) fn drain_all(&self, mut done: impl FnMut(K)) {
        for e in self.slots.iter() {
            e.live(|vq| {
                if let Some(vq) = vq {
                    e.progress(drain(vq, &mut done));
                }
            });
        }
    }

    /// After a reset: takes every queue out of its slot (they stay parked
    /// until the next ones are published), hands what the
    /// device returned while it was being reset (QEMU completes what its
    /// backend held then) to `returned`, then every token it still held to
    /// `taken`, each under the queue's lock like every completion, and
    /// retires the queue into `reset`. Returns how many were returned.
    pub(crate) fn take_back<D: virtio::Driver>(
        &self,
        reset: &mut DeviceReset<'_, D>,
        mut returned: impl FnMut(K),
        mut taken: impl FnMut(K),
    ) -> u32 {
        let mut n = 0;
        for e in self.slots.iter() {
            let mut guard = e.slot.lock();
            if let Some(mut vq) = guard.take() {
                let got = drain(&mut vq, &mut returned);
                e.progress(got);
                n += got;
                while let Some(token) = vq.detach_unused(reset) {
                    taken(token);
                }
                reset.retire(vq);
            }
        }
        n
    }

    /// Makes each hardware queue of `map` serve the CPUs that its request
    /// queue's interrupt is affine to, as `blk_mq_virtio_map_queues` does;
    /// blk-mq's default spread when a queue has no affinity.
    pub(crate) fn map_queues<D: virtio::Driver>(&self, dev: &DeviceRef<D>, map: &mut QueueMap) {
        let first = self.first_vq.saturating_add(map.queue_offset());
        let n = map.nr_queues();
        let mapped = dev.with(|dev| dev.vq_affinities(first, n, |q, cpu| map.set(cpu, q)));
        if mapped != Some(true) {
            map.map_default();
        }
    }
}

/// Hands every token the device returned on `vq` to `done`; returns how
/// many.
pub(crate) fn drain<K: Token>(vq: &mut Virtqueue<K>, mut done: impl FnMut(K)) -> u32 {
    let mut n = 0u32;
    while let Some((token, _len)) = vq.get_buf() {
        done(token);
        // No overflow check (and its panic path) in the completion loop: a
        // queue holds far fewer than `u32::MAX` buffers.
        n = n.saturating_add(1);
    }
    n
}

/// One of a driver's other queues (control, event), kept under the driver's
/// lock: like a request queue's slot, it is created before DRIVER_OK but
/// reachable only once [`Self::open`] ran after it.
pub(crate) struct Staged<V> {
    vq: Option<V>,
    /// Whether the queue may be used: set after DRIVER_OK.
    open: bool,
    /// The free descriptors of the queue when it was created.
    size: u32,
}

#[cfg_attr(rvirtio_blk, expect(dead_code, reason = "only rvirtio_scsi uses it"))]
impl<K: Token> Staged<Virtqueue<K>> {
    /// No queue.
    pub(crate) const fn empty() -> Self {
        Self {
            vq: None,
            open: false,
            size: 0,
        }
    }

    /// Keeps the queue `find_vqs` created (or none), closed until
    /// [`Self::open`].
    pub(crate) fn install(&mut self, vq: Option<Virtqueue<K>>) {
        self.size = vq.as_ref().map_or(0, |vq| vq.num_free());
        self.vq = vq;
        self.open = false;
    }

    /// After DRIVER_OK: the queue may be used.
    pub(crate) fn open(&mut self) {
        self.open = true;
    }

    /// The queue, if there is one and it is open.
    pub(crate) fn live(&mut self) -> Option<&mut Virtqueue<K>> {
        if self.open {
            self.vq.as_mut()
        } else {
            None
        }
    }

    /// Takes the queue out (at a reset), open or not.
    pub(crate) fn take(&mut self) -> Option<Virtqueue<K>> {
        self.open = false;
        self.vq.take()
    }

    /// The free descriptors of the queue when it was created (0 without
    /// one).
    pub(crate) fn ring_size(&self) -> u32 {
        self.size
    }

    /// Whether the queue holds no buffer (or there is none).
    pub(crate) fn is_untouched(&self) -> bool {
        match self.vq.as_ref() {
            Some(vq) => vq.num_free() == self.size,
            None => true,
        }
    }
}
