#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: the backend stalls for good: the driver gives up in bounded time, I/O gets EIO, no task hangs, the module unloads
# rvirtio-disks: size=128M,serial=rvirtio-giveup-0,nbdkit=pause+error
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: io_timeout=2 timeouts_before_reset=1 reset_budget=0
# rvirtio-timeout: 600
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

# The backend stops answering, and 8 s later fails everything it held and
# everything after (errors on, then resume): it never serves data again.
# (QEMU's own device reset waits for the requests the backend holds, so a
# backend that never answers at all would freeze QEMU itself; see
# Documentation/testing.rst.) reset_budget=0: the first reset gives up.

# A dead disk (blk_mark_disk_dead) has size 0: a read finds the end of the
# device at once, a write fails; bios from inside the kernel get -EIO.
new_io_fails_at_once() {
	local t0 t1 size
	t0=$(cut -d. -f1 /proc/uptime)
	size=$(cat "/sys/block/$DEV/size")
	[ "$size" = 0 ] || {
		log "the dead disk still has $size sectors"
		return 1
	}
	rm -f /tmp/x
	dd if="/dev/$DEV" of=/tmp/x bs=4k count=1 iflag=direct 2>/tmp/dd.err || true
	as_diag </tmp/dd.err
	[ ! -s /tmp/x ] || {
		log "a read of the dead disk returned data"
		return 1
	}
	if dd if=/dev/zero of="/dev/$DEV" bs=4k count=1 oflag=direct 2>/tmp/dd.err; then
		log "a write to the dead disk succeeded"
		return 1
	fi
	as_diag </tmp/dd.err
	t1=$(cut -d. -f1 /proc/uptime)
	[ $((t1 - t0)) -le 2 ] || {
		log "failing took $((t1 - t0)) s"
		return 1
	}
}

gave_up() {
	rv_eq give_ups 1 && rv_eq state 2
}

require_rvirtio
ktap_print_header
ktap_set_plan 10
start_driver
step "write some data" dd if=/dev/urandom of="/dev/$DEV" bs=64k count=16 oflag=direct
step "the backend stalls for good" backend_stalls_for_good
bg_io read dd if="/dev/$DEV" of=/dev/null bs=64k count=1 iflag=direct
bg_io write dd if=/dev/zero of="/dev/$DEV" bs=64k count=1 seek=100 oflag=direct
step "the stalled read and write end with EIO within 30 s" stalled_io_gets_eio 30
step "the driver gave up (give_ups=1, state dead)" gave_up
step "new I/O fails at once (size 0, no data, writes fail)" new_io_fails_at_once
step "the module unloads" unload_driver "$DRIVER"
step "the disk is gone" wait_gone "$DEV" 30
step "dmesg clean" dmesg_check
ktap_finished
