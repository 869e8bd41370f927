// SPDX-License-Identifier: GPL-2.0

//! rvirtio_blk's module parameters, defined and range-checked in
//! `params.c`, read here (the recovery engine reads its own).

crate::param_getter!(
    /// I/O timeout of new disks, in seconds.
    io_timeout,
    rvirtio_param_io_timeout
);
crate::param_getter!(
    /// The stall policy: seconds a request's queue may make no progress on
    /// a healthy device before it is reset (0: never).
    stall_reset_secs,
    rvirtio_param_stall_reset_secs
);
crate::param_getter!(
    /// Resets a request may be requeued through before it fails.
    request_retries,
    rvirtio_param_request_retries
);

crate::param_getter!(
    /// The most request queues to use (0: no limit).
    num_request_queues,
    rvirtio_param_num_request_queues
);
crate::param_getter!(
    /// Request queues to dedicate to polled I/O.
    poll_queues,
    rvirtio_param_poll_queues
);
crate::param_getter!(
    /// Tags per request queue (0: what the virtqueue holds).
    queue_depth,
    rvirtio_param_queue_depth
);
