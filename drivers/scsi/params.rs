// SPDX-License-Identifier: GPL-2.0

//! rvirtio_scsi's module parameters, defined and range-checked in
//! `rvirtio_scsi_params.c`, read here.

extern "C" {
    fn rvirtio_param_virtscsi_poll_queues() -> u32;
}

/// Request queues to dedicate to polled I/O (the C driver's name).
pub(crate) fn poll_queues() -> u32 {
    // SAFETY: The C getter reads the parameter with READ_ONCE.
    unsafe { rvirtio_param_virtscsi_poll_queues() }
}
