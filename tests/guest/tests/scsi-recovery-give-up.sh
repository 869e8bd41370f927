#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: rvirtio_scsi: the backend stalls for good: the abort gets no answer, the reset is over budget, the driver gives up: the LUN goes offline, I/O gets EIO, no task hangs, the module unloads
# rvirtio-disks: type=scsi-hd,size=128M,serial=rvirtio-sgu-0,nbdkit=pause+error
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

# The backend stops answering, and 8 s later fails everything it held and
# everything after (errors on, then resume). The 2 s command timeout and
# 2 s tmf_timeout put the reset at about 4 s; with reset_budget=0 it gives
# up. (QEMU's device reset waits for the requests the backend holds, so it
# returns at about 8 s; see Documentation/testing.rst.)

gave_up() {
	rv_eq give_ups 1 && rv_eq state 2 && rv_ge tmf_timeouts 1
}

offline() {
	local s
	s=$(cat /sys/block/sda/device/state)
	log "sda: device state $s"
	[ "$s" = offline ]
}

new_io_fails_at_once() {
	local t0 t1
	t0=$(cut -d. -f1 /proc/uptime)
	if dd if=/dev/sda of=/dev/null bs=4k count=1 iflag=direct 2>/tmp/dd.err; then
		log "a read of the dead LUN succeeded"
		return 1
	fi
	as_diag </tmp/dd.err
	if dd if=/dev/zero of=/dev/sda bs=4k count=1 oflag=direct 2>/tmp/dd.err; then
		log "a write to the dead LUN succeeded"
		return 1
	fi
	as_diag </tmp/dd.err
	t1=$(cut -d. -f1 /proc/uptime)
	[ $((t1 - t0)) -le 2 ] || {
		log "failing took $((t1 - t0)) s"
		return 1
	}
}

require_rvirtio_scsi
ktap_print_header
ktap_set_plan 11
start_scsi 2 tmf_timeout=2 reset_budget=0
step "write some data" dd if=/dev/urandom of=/dev/sda bs=64k count=16 oflag=direct
step "the backend stalls for good" backend_stalls_for_good
bg_io read dd if=/dev/sda of=/dev/null bs=64k count=1 iflag=direct
bg_io write dd if=/dev/zero of=/dev/sda bs=64k count=1 seek=100 oflag=direct
step "the stalled read and write end with EIO within 40 s" stalled_io_gets_eio 40
step "the driver gave up (give_ups=1, state dead) after an unanswered abort" gave_up
step "the LUN is offline" offline
step "new I/O fails at once" new_io_fails_at_once
rv_show
step "the module unloads" unload_driver rvirtio_scsi
step "dmesg clean" dmesg_check
ktap_finished
