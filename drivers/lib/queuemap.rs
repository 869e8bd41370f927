// SPDX-License-Identifier: GPL-2.0

//! Which hardware queue serves each CPU: a blk-mq queue map, as a tag set's
//! `map_queues` callback sees it. Shared by the blk-mq and SCSI glues.

use kernel::bindings;

/// Which hardware queue serves each CPU (`struct blk_mq_queue_map`).
///
/// # Invariants
///
/// The map is valid, and only this handle changes it, while the
/// `map_queues` callback that created it runs.
pub(crate) struct QueueMap(*mut bindings::blk_mq_queue_map);

impl QueueMap {
    /// # Safety
    ///
    /// `map` must be a queue map of a tag set whose `map_queues` callback
    /// is running, and stay valid and unchanged by others while the handle
    /// lives.
    pub(crate) unsafe fn from_raw(map: *mut bindings::blk_mq_queue_map) -> Self {
        // INVARIANT: Per the safety requirements.
        Self(map)
    }

    /// Hardware queues in this map.
    pub(crate) fn nr_queues(&self) -> u32 {
        // SAFETY: The map is valid while `map_queues` runs.
        unsafe { (*self.0).nr_queues }
    }

    /// The first hardware queue of this map.
    pub(crate) fn queue_offset(&self) -> u32 {
        // SAFETY: As above.
        unsafe { (*self.0).queue_offset }
    }

    /// Makes hardware queue `queue_offset() + queue` serve `cpu`; ignored for
    /// an impossible CPU or queue.
    pub(crate) fn set(&mut self, cpu: u32, queue: u32) {
        if cpu >= super::cpumask::nr_cpu_ids() || queue >= self.nr_queues() {
            return;
        }
        // SAFETY: `mq_map` has `nr_cpu_ids` entries, and `cpu` is below it.
        unsafe { *(*self.0).mq_map.add(cpu as usize) = self.queue_offset() + queue };
    }

    /// Sets how many hardware queues the map has and the first one (for a
    /// tag set with several maps, which the caller lays out).
    pub(crate) fn configure(&mut self, nr_queues: u32, queue_offset: u32) {
        // SAFETY: The map is valid while `map_queues` runs.
        unsafe {
            (*self.0).nr_queues = nr_queues;
            (*self.0).queue_offset = queue_offset;
        }
    }

    /// blk-mq's default mapping, which spreads the CPUs over the queues.
    pub(crate) fn map_default(&mut self) {
        // SAFETY: The map is valid.
        unsafe { bindings::blk_mq_map_queues(self.0) };
    }
}

/// Lays out a tag set's maps. With one map, `place` places every hardware
/// queue (`default` already counts them all). With three, the first
/// `total - poll` queues are interrupt-driven and `place` places them in
/// `default`; there are no read queues; the last `poll` are poll queues,
/// which have no interrupt and so no affinity: spread evenly.
pub(crate) fn layout(
    default: &mut QueueMap,
    others: Option<(QueueMap, QueueMap)>,
    total: u32,
    poll: u32,
    place: impl FnOnce(&mut QueueMap),
) {
    let Some((mut read, mut polled)) = others else {
        place(default);
        return;
    };
    let interrupt_driven = total.saturating_sub(poll);
    default.configure(interrupt_driven, 0);
    place(default);
    read.configure(0, interrupt_driven);
    polled.configure(poll, interrupt_driven);
    if poll != 0 {
        polled.map_default();
    }
}
