// SPDX-License-Identifier: GPL-2.0

//! The recovery engine's module parameters (`params.c`), read here.

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
