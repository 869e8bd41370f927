#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: the default stall policy: a backend stalled for several I/O timeouts on a healthy device is waited for (notified again, logged), never reset, so the guest never freezes; another disk serves verified I/O meanwhile; everything verifies after the resume
# rvirtio-disks: size=256M,serial=rvirtio-stall-0,nbdkit=pause size=256M,serial=rvirtio-other-1
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: io_timeout=2
# rvirtio-timeout: 600
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

# QEMU's own virtio-blk reset drains the backend with the whole VM stopped:
# a reset of a device whose backend stalls would freeze the guest until the
# backend answers (Documentation/admin-guide.rst, "Stalls"). With the
# default stall_reset_secs=0 the driver never resets a healthy device for a
# stall: the backend here stalls for 16 s, eight I/O timeouts, and a ticker
# (one line of /proc/uptime a second) must see no gap over 3 s, while the
# other disk serves verified I/O.

STALL=16

# both_disks: both disks are bound to the driver; sets DEV (the stalled
# one) and OTHER by their serials.
both_disks() {
	wait_disk "$DRIVER" 30 2 >/dev/null || return 1
	DEV=$(disk_by_serial rvirtio-stall-0) && OTHER=$(disk_by_serial rvirtio-other-1) &&
		[ -n "$DEV" ] && [ -n "$OTHER" ] && require_bound "$OTHER" "$DRIVER" || return 1
	log "stalled disk $DEV, other disk $OTHER"
}

start_ticker() {
	: >/tmp/ticks
	(while :; do
		read -r up _ </proc/uptime && echo "$up" >>/tmp/ticks
		sleep 1
	done) &
	TICKER=$!
}

pause_backend() {
	nbd_pause d0 || return 1
	host after "$STALL" nbd-resume d0 >/dev/null
}

still_stalled() {
	bg_running read && bg_running write
}

# ticker_steady: the ticker never saw a gap over 3 s (a frozen VM, or a
# CPU stuck in the driver, shows as one).
ticker_steady() {
	kill "$TICKER" 2>/dev/null
	awk 'NR > 1 && $1 - last > max { max = $1 - last } { last = $1 }
		END { printf "%d ticks, longest gap %.1f s: %s\n", NR, max,
			(NR > 10 && max <= 3) ? "steady" : "NOT steady" }' /tmp/ticks >/tmp/ticks.sum
	as_diag </tmp/ticks.sum
	grep -q ': steady' /tmp/ticks.sum
}

require_rvirtio
ktap_print_header
ktap_set_plan 17
start_driver
step "the second disk is bound to $DRIVER too" both_disks
step "write a known pattern" stall_patterns 1M
start_ticker
step "pause the backend for $STALL s" pause_backend
stall_io 1M
step "the other disk serves verified I/O during the stall" fio_verify "$OTHER" 16M
sleep 6
step "the stalled read and write still wait" still_stalled
step "timeouts fired" rv_ge timeouts 2
step "the first expiry notified the queue again" rv_ge renotified 1
step "the stall is logged" dmesg_has "requests overdue on a healthy device"
step "the stalled read and write complete after the resume" stall_io_completes
step "the guest never froze" ticker_steady
step "no reset" rv_eq resets 0
step "nothing failed" rv_eq failed 0
step "read data and written data verify" stall_data_verifies 1M
step "fio verify 16M afterwards" fio_verify "$DEV" 16M
rv_show
step "dmesg clean" dmesg_check
ktap_finished
