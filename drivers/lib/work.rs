// SPDX-License-Identifier: GPL-2.0

//! A workqueue a module allocates for itself, waiting for a work item, and
//! running one without I/O-recursing allocations.

use core::ptr::NonNull;
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};
use kernel::workqueue::{HasWork, Queue, RawWorkItem, Work, WorkItem};

extern "C" {
    fn rvirtio_alloc_workqueue(
        name: *const kernel::ffi::c_char,
        flags: u32,
    ) -> *mut bindings::workqueue_struct;
}

/// `WQ_UNBOUND`.
pub(crate) const WQ_UNBOUND: u32 = bindings::wq_flags_WQ_UNBOUND;
/// `WQ_MEM_RECLAIM`: the queue has a rescuer, so it makes progress under
/// memory pressure (block-device recovery may be what frees memory).
pub(crate) const WQ_MEM_RECLAIM: u32 = bindings::wq_flags_WQ_MEM_RECLAIM;

extern "C" {
    fn rvirtio_memalloc_noio_save() -> u32;
    fn rvirtio_memalloc_noio_restore(flags: u32);
}

/// Runs `f` with every allocation it makes implicitly `GFP_NOIO`: for work
/// that I/O waits on (a device reset), whose allocations must not wait for
/// reclaim that writes to the device being reset.
pub(crate) fn no_io<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: Sets a flag of the current task; restored below, on the same
    // task, in nesting order.
    let flags = unsafe { rvirtio_memalloc_noio_save() };
    let r = f();
    // SAFETY: As above.
    unsafe { rvirtio_memalloc_noio_restore(flags) };
    r
}

/// A workqueue of its own, destroyed when the last reference goes.
///
/// Whoever may queue work holds an `Arc<WorkQueue>`, so the queue cannot be
/// destroyed while anyone can still queue on it.
///
/// # Invariants
///
/// `wq` is a workqueue allocated by [`WorkQueue::new`], not yet destroyed.
pub(crate) struct WorkQueue {
    wq: NonNull<bindings::workqueue_struct>,
}

// SAFETY: A workqueue may be used and destroyed from any thread.
unsafe impl Send for WorkQueue {}
// SAFETY: Queueing work is thread-safe.
unsafe impl Sync for WorkQueue {}

impl WorkQueue {
    /// Allocates the queue `name` with `flags`.
    pub(crate) fn new(name: &'static CStr, flags: u32) -> Result<Arc<Self>> {
        // SAFETY: `name` is a static string.
        let wq = unsafe { rvirtio_alloc_workqueue(name.as_char_ptr(), flags) };
        let wq = NonNull::new(wq).ok_or(ENOMEM)?;
        // INVARIANT: Just allocated.
        Ok(Arc::new(Self { wq }, GFP_KERNEL)?)
    }

    /// Queues `w`, with the result `Queue::enqueue` gives.
    pub(crate) fn enqueue<W, const ID: u64>(&self, w: W) -> W::EnqueueOutput
    where
        W: RawWorkItem<ID> + Send + 'static,
    {
        // SAFETY: The queue lives as long as `self`, per the type invariant.
        let queue = unsafe { Queue::from_raw(self.wq.as_ptr()) };
        queue.enqueue(w)
    }
}

impl Drop for WorkQueue {
    /// Drains and destroys the queue. Nobody can queue on it any more: that
    /// needs a reference to it. (Dropping the last reference from one of the
    /// queue's own work items would wait for itself; the drivers drop theirs
    /// only after flushing their work.)
    fn drop(&mut self) {
        // SAFETY: We allocated it, per the type invariant; it is not used
        // after this.
        unsafe { bindings::destroy_workqueue(self.wq.as_ptr()) };
    }
}

/// Cancels `this`'s work item `ID` (`cancel_work_sync`): a queueing that
/// has not started is taken off its queue, and the reference to `this` it
/// held is dropped; a running one is waited for. Unlike [`flush`], it does
/// not wait for a frozen workqueue (during a sleep transition) to run a
/// pending item.
#[cfg_attr(
    rvirtio_blk,
    expect(dead_code, reason = "only rvirtio_scsi has work on a freezable queue")
)]
pub(crate) fn cancel<T, const ID: u64>(this: ArcBorrow<'_, T>)
where
    T: WorkItem<ID, Pointer = Arc<T>> + HasWork<T, ID>,
{
    let ptr: *const T = &*this;
    // SAFETY: `ptr` points at a valid `T` (in an `Arc`), whose work item
    // `ID` is the `Work` `raw_get_work` returns, initialised with it.
    let work = unsafe { Work::raw_get(T::raw_get_work(ptr.cast_mut())) };
    // SAFETY: `work` is an initialised work item.
    if unsafe { bindings::cancel_work_sync(work) } {
        // SAFETY: The item was pending. Every queueing of it went through
        // `Arc<T>`'s `RawWorkItem::__enqueue`, which gave the queue a
        // reference from `Arc::into_raw` (a pointer to this `T`), for the
        // run to take back with `Arc::from_raw`. The cancel took the
        // queueing off, so no run will: the reference is ours to drop.
        drop(unsafe { Arc::from_raw(ptr) });
    }
}

/// Waits until the last queueing of `work` before this call has finished
/// running (`flush_work`); a queueing after the call (by the work itself,
/// or another thread) may still be pending when it returns.
pub(crate) fn flush<T: ?Sized, const ID: u64>(work: &Work<T, ID>) {
    // SAFETY: `work` is an initialised work item.
    unsafe { bindings::flush_work(Work::raw_get(work)) };
}
