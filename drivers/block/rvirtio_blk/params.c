// SPDX-License-Identifier: GPL-2.0
/*
 * rvirtio_blk's module parameters. Each is range-checked: a bad value fails
 * insmod (or the write to /sys/module/rvirtio_blk/parameters/NAME) with
 * -EINVAL and a dmesg line that says what is allowed.
 * Documentation/admin-guide.rst describes them.
 */
#include <linux/module.h>

#include "../../lib/params.h"

RVIRTIO_PARAM_UINT(io_timeout, 30, 1, 3600, "seconds", 0644,
		   "I/O timeout of disks probed from now on");
RVIRTIO_PARAM_UINT(stall_reset_secs, 0, 0, 86400, "seconds", 0644,
		   "Reset a healthy device once a request's queue made no progress this long past its first timeout (0: never)");
RVIRTIO_PARAM_UINT(request_retries, 3, 0, 100, "resets", 0644,
		   "Resets one request may be requeued through before it fails");
RVIRTIO_PARAM_UINT(num_request_queues, 0, 0, 4096, "queues", 0644,
		   "Limit the number of request queues (0: no limit; never more than the CPUs)");
RVIRTIO_PARAM_UINT(poll_queues, 0, 0, 4096, "queues", 0644,
		   "The number of dedicated virtqueues for polling I/O (at most the request queues less one)");
RVIRTIO_PARAM_UINT(queue_depth, 0, 0, 10240, "requests", 0444,
		   "Tags per request queue (0: what the virtqueue holds)");
/* reset_budget, reset_window, fault_inject */
#include "../../recovery/params.c"
