// SPDX-License-Identifier: GPL-2.0

//! rvirtio_scsi's module parameters, defined and range-checked in
//! `rvirtio_scsi_params.c`, read here.

extern "C" {
    fn rvirtio_param_virtscsi_poll_queues() -> u32;
    fn rvirtio_param_tmf_timeout() -> u32;
    fn rvirtio_param_reset_budget() -> u32;
    fn rvirtio_param_reset_window() -> u32;
    fn rvirtio_param_fault_inject() -> u32;
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
    /// Request queues to dedicate to polled I/O (the C driver's name).
    poll_queues,
    rvirtio_param_virtscsi_poll_queues
);
getter!(
    /// Seconds to wait for the answer to a task management request.
    tmf_timeout,
    rvirtio_param_tmf_timeout
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

/// Whether the debugfs fault-injection files exist.
pub(crate) fn fault_inject() -> bool {
    // SAFETY: As above.
    unsafe { rvirtio_param_fault_inject() != 0 }
}
