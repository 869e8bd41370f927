#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: the backend stalls longer than the I/O timeout: nothing completes while it is paused, the driver resets, everything verifies after the resume
# rvirtio-disks: size=256M,serial=rvirtio-stall-0,nbdkit=pause
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: io_timeout=2 stall_reset_secs=1
# rvirtio-timeout: 600
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

# QEMU's own virtio-blk reset waits for the requests the backend holds, and
# freezes the guest meanwhile; so the backend is resumed 13 s after the
# pause: late enough that the reset (some 6 s after the pause) finds the
# requests still held, and before the guest's soft-lockup detector would
# see a frozen CPU, whatever the guest is doing then.

pause_backend() {
	nbd_pause d0 || return 1
	host after 13 nbd-resume d0 >/dev/null
}

nothing_completes() {
	sleep 3
	bg_running read && bg_running write
}

# conserved: every request the device held came back exactly once
# (QEMU's reset drains its backend, which may complete them:
# reset_harvested); at least one came back through the reset.
conserved() {
	came_back_once && [ $(($(rv_get requeued) + $(rv_get reset_harvested))) -ge 1 ] || {
		rv_show
		return 1
	}
}

require_rvirtio
ktap_print_header
ktap_set_plan 14
start_driver
step "write a known pattern" stall_patterns 1M
step "pause the backend (resume scheduled in 13 s)" pause_backend
stall_io 1M
step "no request completes while the backend is paused" nothing_completes
step "the device holds the stalled requests" count_held
step "timeouts fired" rv_wait_ge timeouts 1 10
step "the stalled read and write complete after the resume" stall_io_completes
step "the driver escalated to a reset" rv_ge resets 1
step "every request the device held came back once (conservation)" conserved
step "nothing failed" rv_eq failed 0
step "read data and written data verify" stall_data_verifies 1M
step "fio verify 16M afterwards" fio_verify "$DEV" 16M
rv_show
step "dmesg clean" dmesg_check
ktap_finished
