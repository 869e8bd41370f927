// SPDX-License-Identifier: GPL-2.0
/*
 * The recovery engine's module parameters, the same in every rvirtio
 * module: each module's params.c includes this file, so that they are that
 * module's parameters (rvirtio_blk.reset_budget, rvirtio_scsi.reset_budget).
 * Documentation/admin-guide.rst describes them.
 */
RVIRTIO_PARAM_UINT(reset_budget, 5, 0, 64, "resets", 0644,
		   "Resets allowed within reset_window before giving up on the device");
RVIRTIO_PARAM_UINT(reset_window, 600, 1, 86400, "seconds", 0644,
		   "The window reset_budget counts resets in");
RVIRTIO_PARAM_UINT(fault_inject, 0, 0, 1, "", 0444,
		   "Enable the fault-injection files in debugfs (for tests)");
