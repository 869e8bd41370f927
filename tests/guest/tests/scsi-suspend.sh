#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: rvirtio_scsi: system sleep (s2idle, pm_test=devices) freezes and restores the virtio-scsi device 3 times while verified I/O runs on a LUN; hotplug events still arrive afterwards
# rvirtio-disks: type=scsi-hd,size=128M,serial=rvirtio-spm-0
# rvirtio-modules: rvirtio_scsi
# rvirtio-timeout: 400
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/rvirtio-scsi.sh
. /rvirtio/rvirtio-scsi.sh

case "$DRIVER" in
*scsi*) SCSI=$DRIVER ;;
*) SCSI=rvirtio_scsi ;;
esac
[ "$DRIVER" = virtio_blk ] && skip_all "a SCSI test; --driver virtio_scsi runs it with the C driver"

CYCLES=3

# io_over_sleep: verified I/O, with the system sleeping under it.
io_over_sleep() {
	local rc
	bg_io fio fio_verify sda 160M --iodepth=32
	sleep 2
	sleep_cycles "$CYCLES" || return 1
	rc=$(bg_wait fio 300) || return 1
	as_diag </tmp/bg.fio.err
	[ "$rc" = 0 ]
}

# hotplug_after_sleep: a LUN hot-plugged after the sleeps appears (the event
# buffers were posted again).
hotplug_after_sleep() {
	plug_lun hp && poll 30 test -b /dev/sdb
}

ktap_print_header
ktap_set_plan 10
step "load $SCSI" load_driver "$SCSI" || bail "cannot load $SCSI"
step "sda appears" poll 30 test -b /dev/sda || bail "no disk"
step "the host is $SCSI's" test "$(host_driver sda)" = "$SCSI"
step "verified I/O across $CYCLES sleeps" io_over_sleep
if [ "$SCSI" = rvirtio_scsi ]; then
	RV_DIR=/sys/kernel/debug/rvirtio_scsi/$(scsi_host_of sda)
	step "the device was frozen $CYCLES times" rv_eq suspends "$CYCLES"
	step "the device is live" rv_eq state 0
else
	ktap_test_skip "$SCSI has no suspend counter"
	ktap_test_skip "$SCSI has no recovery state"
fi
step "data verifies after the sleeps" fio_verify sda 16M
step "a LUN hot-plugged after the sleeps appears" hotplug_after_sleep
step "unload $SCSI" unload_driver "$SCSI"
step "dmesg clean" dmesg_check
ktap_finished
