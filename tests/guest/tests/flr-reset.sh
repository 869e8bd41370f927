#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: a PCI function-level reset of the disk (sysfs reset) 3 times under verified I/O: the driver freezes and restores the device around each (7.3's reset_prepare/reset_done), nothing is lost
# rvirtio-disks: size=256M,serial=rvirtio-flr-0
# rvirtio-modules: rvirtio_blk
# rvirtio-timeout: 400
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

CYCLES=3

require_reset_hooks

io() {
	fio_verify "$DEV" 256M --iodepth=32
}

# resets_under_io: CYCLES resets through sysfs, each with requests in flight.
resets_under_io() {
	local i=0 held rc fn
	fn=/sys/bus/pci/devices/$(pci_of "$DEV")
	log "resetting $fn (methods: $(cat "$fn/reset_method" 2>/dev/null))"
	bg_io fio io
	while [ "$i" -lt "$CYCLES" ]; do
		i=$((i + 1))
		poll 30 in_flight "$DEV" || {
			log "no request in flight before reset $i"
			return 1
		}
		log "reset $i with $held in flight"
		echo 1 >"$fn/reset" || {
			log "reset $i failed"
			return 1
		}
		sleep 1
	done
	rc=$(bg_wait fio 300) || return 1
	as_diag </tmp/bg.fio.err
	[ "$rc" = 0 ]
}

ktap_print_header
ktap_set_plan 7
start_driver
step "verified I/O across $CYCLES function-level resets, in flight at each" resets_under_io
if [ "$DRIVER" = rvirtio_blk ]; then
	step "the device was frozen $CYCLES times" rv_eq suspends "$CYCLES"
	step "the disk is live" state_is 0
else
	ktap_test_skip "$DRIVER has no suspend counter"
	ktap_test_skip "$DRIVER has no recovery state"
fi
step "data verifies after the resets" fio_verify "$DEV" 16M
step "dmesg clean" dmesg_check
ktap_finished
