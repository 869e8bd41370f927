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

write_patterns() {
	dd if=/dev/urandom of=/tmp/p bs=1M count=1 2>/dev/null &&
		dd if=/dev/urandom of=/tmp/q bs=1M count=1 2>/dev/null &&
		dd if=/tmp/p of="/dev/$DEV" bs=1M oflag=direct 2>/dev/null
}

pause_backend() {
	nbd_pause d0 || return 1
	host after 13 nbd-resume d0 >/dev/null
}

start_stalled_io() {
	bg_io read dd if="/dev/$DEV" of=/tmp/p.read bs=1M count=1 iflag=direct
	bg_io write dd if=/tmp/q of="/dev/$DEV" bs=1M seek=8 oflag=direct
}

nothing_completes() {
	sleep 3
	bg_running read && bg_running write
}

io_completes() {
	bg_wait_io 60 && [ "$read_rc" = 0 ] && [ "$write_rc" = 0 ]
}

data_verifies() {
	cmp /tmp/p /tmp/p.read &&
		dd if="/dev/$DEV" of=/tmp/q.read bs=1M skip=8 count=1 iflag=direct 2>/dev/null &&
		cmp /tmp/q /tmp/q.read
}

# count_held: how many requests the device holds while the backend is
# paused (/sys/block/DEV/inflight), into $HELD.
count_held() {
	local held
	in_flight "$DEV" || return 1
	HELD=$held
	log "the device holds $HELD requests"
}

# conserved: every request the device held came back exactly once, counted
# where it came back: taken back by the reset and requeued, returned on the
# used ring during the reset (QEMU's reset drains its backend, which may
# complete them: reset_harvested), found returned by a timeout (a lost
# interrupt), or failed. At least one came back through the reset.
conserved() {
	local back
	back=$(($(rv_get requeued) + $(rv_get reset_harvested) + $(rv_get lost_interrupts) + $(rv_get failed)))
	log "requeued + reset_harvested + lost_interrupts + failed = $back, held $HELD"
	[ "$back" = "$HELD" ] && [ $(($(rv_get requeued) + $(rv_get reset_harvested))) -ge 1 ] || {
		rv_show
		return 1
	}
}

require_rvirtio
ktap_print_header
ktap_set_plan 14
start_driver
step "write a known pattern" write_patterns
step "pause the backend (resume scheduled in 13 s)" pause_backend
start_stalled_io
step "no request completes while the backend is paused" nothing_completes
step "the device holds the stalled requests" count_held
step "timeouts fired" rv_wait_ge timeouts 1 10
step "the stalled read and write complete after the resume" io_completes
step "the driver escalated to a reset" rv_ge resets 1
step "every request the device held came back once (conservation)" conserved
step "nothing failed" rv_eq failed 0
step "read data and written data verify" data_verifies
step "fio verify 16M afterwards" fio_verify "$DEV" 16M
rv_show
step "dmesg clean" dmesg_check
ktap_finished
