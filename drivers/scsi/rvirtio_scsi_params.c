// SPDX-License-Identifier: GPL-2.0
/*
 * rvirtio_scsi's module parameters, range-checked like rvirtio_blk's.
 * Documentation/admin-guide.rst describes them.
 */
#include <linux/module.h>

#include "../lib/params.h"

RVIRTIO_PARAM_UINT(virtscsi_poll_queues, 0, 0, 4096, "queues", 0644,
		   "The number of dedicated virtqueues for polling I/O (at most the request queues less one)");
RVIRTIO_PARAM_UINT(tmf_timeout, 30, 1, 3600, "seconds", 0644,
		   "Seconds to wait for the answer to an abort or LUN reset before resetting the device");
RVIRTIO_PARAM_UINT(reset_budget, 5, 0, 64, "resets", 0644,
		   "Resets allowed within reset_window before giving up on the device");
RVIRTIO_PARAM_UINT(reset_window, 600, 1, 86400, "seconds", 0644,
		   "The window reset_budget counts resets in");
RVIRTIO_PARAM_UINT(fault_inject, 0, 0, 1, "", 0444,
		   "Enable the fault-injection files in debugfs (for tests)");
