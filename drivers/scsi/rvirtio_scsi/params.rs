// SPDX-License-Identifier: GPL-2.0

//! rvirtio_scsi's module parameters, defined and range-checked in
//! `params.c`, read here (the recovery engine reads its own).

crate::param_getter!(
    /// Request queues to dedicate to polled I/O (the C driver's name).
    poll_queues,
    rvirtio_param_virtscsi_poll_queues
);
crate::param_getter!(
    /// Seconds to wait for the answer to a task management request.
    tmf_timeout,
    rvirtio_param_tmf_timeout
);
