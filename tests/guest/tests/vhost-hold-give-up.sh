#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: the true stall held for good, under the stall policy: a vhost-user-blk backend (rvirtio-vub) never answers again; the driver gives up after reset_budget resets, the stalled I/O ends with EIO, nothing hangs, and the module unloads
# rvirtio-disks: vhost=,size=64M,serial=rvirtio-vub-dead-0
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: io_timeout=2 stall_reset_secs=1 reset_budget=2 request_retries=100
# rvirtio-timeout: 400
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/vub.sh
. /rvirtio/vub.sh

# Every reset requeues the held requests (request_retries=100 keeps them
# from failing on their own), the device holds them again, and the third
# reset within reset_window is over the budget of 2: the driver gives up.

hold_for_good() {
	host vub d0 hold on >/dev/null || return 1
	R0=$(rv_get resets)
	bg_io read dd if="/dev/$DEV" of=/dev/null bs=64k count=1 iflag=direct
	bg_io write dd if=/dev/zero of="/dev/$DEV" bs=64k seek=8 count=1 oflag=direct
}

gave_up() {
	poll 60 rv_at_least give_ups 1 || {
		log "no give-up within 60 s"
		rv_show
		return 1
	}
}

resets_within_budget() {
	local n
	n=$(($(rv_get resets) - R0))
	log "$n resets since the hold"
	[ "$n" = 3 ]
}

io_gets_eio() {
	bg_wait_io 60 || return 1
	[ "$read_rc" != 0 ] && [ "$write_rc" != 0 ]
}

# new_io_fails: the dead disk's size is 0 (a read finds its end at once)
# and a write fails.
new_io_fails() {
	[ "$(blockdev --getsz "/dev/$DEV")" = 0 ] &&
		! dd if=/dev/zero of="/dev/$DEV" bs=4k count=1 oflag=direct 2>/dev/null
}

unload() {
	unload_driver "$DRIVER" && wait_gone "$DEV" 60
}

require_rvirtio
ktap_print_header
kmemleak_baseline
ktap_set_plan 11
start_driver
step "the device holds a read and a write, for good" hold_for_good
step "the driver gives up" gave_up
step "after reset_budget resets and the one over it" resets_within_budget
step "the stalled read and write end with EIO" io_gets_eio
step "new I/O fails at once (size 0, writes fail)" new_io_fails
step "the device still holds nothing (it dropped all at each reset)" vub_cmp d0 held eq 0
rv_show
vub_show d0
step "rmmod works" unload
step "no leaks (kmemleak)" kmemleak_check
step "dmesg clean" dmesg_check
ktap_finished
