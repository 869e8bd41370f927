#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: rvirtio_scsi: a PCI function-level reset of the virtio-scsi device (sysfs reset) 3 times under verified I/O on a LUN (7.3's reset_prepare/reset_done); hotplug events still arrive afterwards
# rvirtio-disks: type=scsi-hd,size=128M,serial=rvirtio-sflr-0
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
require_reset_hooks

CYCLES=3

# pci_of_host HOST: the PCI function behind SCSI host HOST (hostN): its
# virtio device's parent.
pci_of_host() {
	basename "$(readlink -f "/sys/class/scsi_host/$1/device/../..")"
}

# resets_under_io: CYCLES resets through sysfs under verified I/O.
resets_under_io() {
	local i=0 rc fn
	fn=/sys/bus/pci/devices/$(pci_of_host "$(scsi_host_of sda)")
	[ -e "$fn/reset" ] || {
		log "no reset for $fn"
		return 1
	}
	log "resetting $fn (methods: $(cat "$fn/reset_method" 2>/dev/null))"
	bg_io fio fio_verify sda 160M --iodepth=32
	sleep 2
	while [ "$i" -lt "$CYCLES" ]; do
		i=$((i + 1))
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

hotplug_after_resets() {
	plug_lun hp && poll 30 test -b /dev/sdb
}

ktap_print_header
ktap_set_plan 10
step "load $SCSI" load_driver "$SCSI" || bail "cannot load $SCSI"
step "sda appears" poll 30 test -b /dev/sda || bail "no disk"
step "the host is $SCSI's" test "$(host_driver sda)" = "$SCSI"
step "verified I/O across $CYCLES function-level resets" resets_under_io
if [ "$SCSI" = rvirtio_scsi ]; then
	RV_DIR=/sys/kernel/debug/rvirtio_scsi/$(scsi_host_of sda)
	step "the device was frozen $CYCLES times" rv_eq suspends "$CYCLES"
	step "the device is live" rv_eq state 0
else
	ktap_test_skip "$SCSI has no suspend counter"
	ktap_test_skip "$SCSI has no recovery state"
fi
step "data verifies after the resets" fio_verify sda 16M
step "a LUN hot-plugged after the resets appears" hotplug_after_resets
step "unload $SCSI" unload_driver "$SCSI"
step "dmesg clean" dmesg_check
ktap_finished
