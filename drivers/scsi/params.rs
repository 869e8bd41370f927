// SPDX-License-Identifier: GPL-2.0

//! rvirtio_scsi's module parameters, defined and range-checked in
//! `rvirtio_scsi_params.c`, read here.

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
crate::param_getter!(
    /// Resets allowed within `reset_window` before giving up.
    reset_budget,
    rvirtio_param_reset_budget
);
crate::param_getter!(
    /// The window of `reset_budget`, in seconds.
    reset_window,
    rvirtio_param_reset_window
);

crate::param_getter!(
    /// The raw `fault_inject` parameter.
    fault_inject_param,
    rvirtio_param_fault_inject
);

/// Whether the debugfs fault-injection files exist.
pub(crate) fn fault_inject() -> bool {
    fault_inject_param() != 0
}
