// SPDX-License-Identifier: GPL-2.0

//! A module's own workqueue, waiting for a work item, and running one
//! without I/O-recursing allocations.

use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::bindings;
use kernel::prelude::*;
use kernel::workqueue::{Queue, RawWorkItem, Work};

/// `WQ_UNBOUND`.
pub const WQ_UNBOUND: u32 = bindings::wq_flags_WQ_UNBOUND;
/// `WQ_MEM_RECLAIM`: the queue has a rescuer, so it makes progress under
/// memory pressure (block-device recovery may be what frees memory).
pub const WQ_MEM_RECLAIM: u32 = bindings::wq_flags_WQ_MEM_RECLAIM;

extern "C" {
    fn rvirtio_memalloc_noio_save() -> u32;
    fn rvirtio_memalloc_noio_restore(flags: u32);
}

/// Runs `f` with every allocation it makes implicitly `GFP_NOIO`: for work
/// that I/O waits on (a device reset), whose allocations must not wait for
/// reclaim that writes to the device being reset.
pub fn no_io<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: Sets a flag of the current task; restored below, on the same
    // task, in nesting order.
    let flags = unsafe { rvirtio_memalloc_noio_save() };
    let r = f();
    // SAFETY: As above.
    unsafe { rvirtio_memalloc_noio_restore(flags) };
    r
}

/// A workqueue allocated at module load and destroyed at unload, reachable
/// from a `static`.
pub struct GlobalQueue(AtomicPtr<bindings::workqueue_struct>);

impl GlobalQueue {
    /// No queue yet.
    pub const fn new() -> Self {
        Self(AtomicPtr::new(core::ptr::null_mut()))
    }

    /// Allocates the queue `name` with `flags`.
    pub fn alloc(&self, name: &'static CStr, flags: u32) -> Result {
        // SAFETY: `name` is a static string used as the format, with no
        // arguments.
        let wq = unsafe { bindings::alloc_workqueue(name.as_char_ptr(), flags, 0) };
        if wq.is_null() {
            return Err(ENOMEM);
        }
        self.0.store(wq, Ordering::Release);
        Ok(())
    }

    /// Queues `w`, with the result `Queue::enqueue` gives; `None` (and `w`
    /// dropped) if there is no queue.
    pub fn enqueue<W, const ID: u64>(&self, w: W) -> Option<W::EnqueueOutput>
    where
        W: RawWorkItem<ID> + Send + 'static,
    {
        let wq = self.0.load(Ordering::Acquire);
        if wq.is_null() {
            return None;
        }
        // SAFETY: The queue lives until `destroy`, which runs at module
        // unload, after every device (the only users) is gone.
        let queue = unsafe { Queue::from_raw(wq) };
        Some(queue.enqueue(w))
    }

    /// Drains and destroys the queue.
    pub fn destroy(&self) {
        let wq = self.0.swap(core::ptr::null_mut(), Ordering::AcqRel);
        if !wq.is_null() {
            // SAFETY: We allocated it; nobody queues work any more.
            unsafe { bindings::destroy_workqueue(wq) };
        }
    }
}

/// Waits until `work` is neither queued nor running.
pub fn flush<T: ?Sized, const ID: u64>(work: &Work<T, ID>) {
    // SAFETY: `work` is an initialised work item.
    unsafe { bindings::flush_work(Work::raw_get(work)) };
}
