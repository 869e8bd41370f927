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

use crate::lib::irqlock::{IrqGuard, IrqSpinLock};
use crate::lib::queuemap::QueueMap;
use crate::virtio::{self, DeviceRef, DeviceReset, Token, Virtqueue, Vq, VqSpec};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
                },
                GFP_KERNEL,
            )?;
        }
        Ok(Self {
            slots,
            poll_queues: poll_queues.min(n),
            first_vq,
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

    /// Puts the queues `find_vqs` created in their slots, in order.
    pub(crate) fn install(&self, vqs: impl Iterator<Item = Vq>) {
        for (e, vq) in self.slots.iter().zip(vqs) {
            let mut guard = e.slot.lock();
            *guard = Some(vq.into_typed());
            e.parked.store(false, Ordering::Relaxed);
        }
    }

    /// The free descriptors of the smallest queue, right after the queues
    /// were created: the ring size (1 without queues).
    pub(crate) fn ring_size(&self) -> u32 {
        self.slots
            .iter()
            .filter_map(|e| e.live(|vq| vq.map(|vq| vq.num_free())))
            .min()
            .unwrap_or(1)
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

    /// After a reset: takes every queue out of its slot, hands what the
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
            e.parked.store(false, Ordering::Relaxed);
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
    let mut n = 0;
    while let Some((token, _len)) = vq.get_buf() {
        done(token);
        n += 1;
    }
    n
}
