#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: system sleep (s2idle, pm_test=devices) freezes and restores the device 3 times while verified I/O runs; rvirtio_blk keeps the cache mode across it
# rvirtio-disks: size=256M,serial=rvirtio-pm-0
# rvirtio-modules: rvirtio_blk
# rvirtio-timeout: 400
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

CYCLES=3

# 256 MiB, the whole disk (fio writes no more than the disk holds): about
# 15 s of I/O on 2 cores (TCG), against the 4 s the sleeps take.
io() {
	fio_verify "$DEV" 256M --iodepth=32
}

# io_over_sleep: verified I/O, with the system sleeping under it; fio runs
# before every suspend and after every resume, with requests in flight as
# each suspend begins.
io_over_sleep() {
	local rc
	bg_io fio io
	sleep_cycles_under_io fio "$DEV" "$CYCLES" || return 1
	rc=$(bg_wait fio 300) || return 1
	as_diag </tmp/bg.fio.err
	[ "$rc" = 0 ]
}

# write_cache_off: the device's write cache is off (QEMU's view).
write_cache_off() {
	local wb
	wb=$(host writeback d0) || return 1
	log "QEMU write cache: $wb; cache_type: $(cat "/sys/block/$DEV/cache_type")"
	[ "$wb" = 0 ]
}

ktap_print_header
ktap_set_plan 8
start_driver
step "verified I/O across $CYCLES sleeps, in flight at each" io_over_sleep
if [ "$DRIVER" = rvirtio_blk ]; then
	step "the device was frozen $CYCLES times" rv_eq suspends "$CYCLES"
	step "the disk is live" state_is 0
else
	ktap_test_skip "$DRIVER has no suspend counter"
	ktap_test_skip "$DRIVER has no recovery state"
fi
echo "write through" >"/sys/block/$DEV/cache_type"
if [ "$DRIVER" = rvirtio_blk ]; then
	step "write through survives a sleep" eval 'sleep_cycles "$CYCLES" && write_cache_off'
else
	# virtio_blk does not write the cache mode again after restore, and
	# the device forgets it on reset.
	ktap_test_skip "$DRIVER forgets the cache mode across a sleep"
fi
step "data verifies after the sleeps" fio_verify "$DEV" 16M
step "dmesg clean" dmesg_check
ktap_finished
