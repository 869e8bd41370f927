// SPDX-License-Identifier: GPL-2.0

//! rvirtio_blk's module parameters, defined and range-checked in
//! `rvirtio_blk_params.c`, read here.

extern "C" {
    fn rvirtio_param_io_timeout() -> u32;
    fn rvirtio_param_timeouts_before_reset() -> u32;
    fn rvirtio_param_reset_budget() -> u32;
    fn rvirtio_param_reset_window() -> u32;
    fn rvirtio_param_request_retries() -> u32;
    fn rvirtio_param_fault_inject() -> u32;
    fn rvirtio_param_num_request_queues() -> u32;
    fn rvirtio_param_queue_depth() -> u32;
    fn rvirtio_param_poll_queues() -> u32;
}

macro_rules! getter {
    ($(#[$m:meta])* $name:ident, $c:ident) => {
        $(#[$m])*
        pub(crate) fn $name() -> u32 {
            // SAFETY: The C getter reads the parameter with READ_ONCE.
            unsafe { $c() }
        }
    };
}

getter!(
    /// I/O timeout of new disks, in seconds.
    io_timeout,
    rvirtio_param_io_timeout
);
getter!(
    /// Consecutive timeouts of one request, on a healthy device, before a reset.
    timeouts_before_reset,
    rvirtio_param_timeouts_before_reset
);
getter!(
    /// Resets allowed within `reset_window` before giving up.
    reset_budget,
    rvirtio_param_reset_budget
);
getter!(
    /// The window of `reset_budget`, in seconds.
    reset_window,
    rvirtio_param_reset_window
);
getter!(
    /// Resets a request may be requeued through before it fails.
    request_retries,
    rvirtio_param_request_retries
);

getter!(
    /// The most request queues to use (0: no limit).
    num_request_queues,
    rvirtio_param_num_request_queues
);
getter!(
    /// Request queues to dedicate to polled I/O.
    poll_queues,
    rvirtio_param_poll_queues
);
getter!(
    /// Tags per request queue (0: what the virtqueue holds).
    queue_depth,
    rvirtio_param_queue_depth
);

/// Whether the debugfs fault-injection files exist.
pub(crate) fn fault_inject() -> bool {
    // SAFETY: As above.
    unsafe { rvirtio_param_fault_inject() != 0 }
}
