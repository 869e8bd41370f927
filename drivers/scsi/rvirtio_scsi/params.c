// SPDX-License-Identifier: GPL-2.0
/*
 * rvirtio_scsi's module parameters, range-checked like rvirtio_blk's.
 * Documentation/admin-guide.rst describes them.
 */
#include <linux/module.h>

#include "../../lib/params.h"

RVIRTIO_PARAM_UINT(virtscsi_poll_queues, 0, 0, 4096, "queues", 0644,
		   "The number of dedicated virtqueues for polling I/O (at most the request queues less one)");
RVIRTIO_PARAM_UINT(tmf_timeout, 30, 1, 3600, "seconds", 0644,
		   "Seconds to wait for the answer to an abort or LUN reset before resetting the device");
/* reset_budget, reset_window, fault_inject */
#include "../../recovery/params.c"
