#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: rvirtio_scsi: the backend stalls past the command timeout: the midlayer's abort path runs (ABORT_TASK, answered once the backend resumes), nothing completes while the device holds it, the data verifies after the resume
# rvirtio-disks: type=scsi-hd,size=128M,serial=rvirtio-ssa-0,nbdkit=pause
# rvirtio-modules: rvirtio_scsi
# rvirtio-timeout: 400
# rvirtio-qemu: 7.2 QEMU 10.0.2 deadlocks when an abort or LUN reset cancels a request held in the stalled backend (testing.rst; fixed in QEMU 10.0.7)
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/rvirtio-scsi.sh
. /rvirtio/rvirtio-scsi.sh

# QEMU answers an ABORT_TASK for a request its backend holds once that
# request ends, so the abort waits for the resume (10 s after the pause),
# well within tmf_timeout (30 s): no reset is needed.

write_patterns() {
	dd if=/dev/urandom of=/tmp/p bs=1M count=1 2>/dev/null &&
		dd if=/dev/urandom of=/tmp/q bs=1M count=1 2>/dev/null &&
		dd if=/tmp/p of=/dev/sda bs=1M oflag=direct 2>/dev/null
}

pause_backend() {
	nbd_pause d0 || return 1
	host after 10 nbd-resume d0 >/dev/null
}

nothing_completes() {
	sleep 6
	bg_running read && bg_running write
}

io_completes() {
	bg_wait_io 60 && [ "$read_rc" = 0 ] && [ "$write_rc" = 0 ]
}

data_verifies() {
	cmp /tmp/p /tmp/p.read &&
		dd if=/dev/sda of=/tmp/q.read bs=1M skip=8 count=1 iflag=direct 2>/dev/null &&
		cmp /tmp/q /tmp/q.read
}

require_rvirtio_scsi
ktap_print_header
ktap_set_plan 14
start_scsi 3
step "write a known pattern" write_patterns
step "pause the backend (resume scheduled in 10 s)" pause_backend
bg_io read dd if=/dev/sda of=/tmp/p.read bs=1M count=1 iflag=direct
bg_io write dd if=/tmp/q of=/dev/sda bs=1M seek=8 oflag=direct
step "nothing completes while the backend is paused (6 s)" nothing_completes
step "the commands timed out" rv_ge timeouts 1
step "the midlayer sent aborts" rv_ge aborts 1
step "the stalled read and write complete after the resume" io_completes
step "no abort went unanswered, no reset" rv_eq tmf_timeouts 0
step "read data and written data verify" data_verifies
step "fio verify 16M afterwards" fio_verify sda 16M
rv_show
step "unload rvirtio_scsi" unload_driver rvirtio_scsi
step "dmesg clean" dmesg_check
ktap_finished
