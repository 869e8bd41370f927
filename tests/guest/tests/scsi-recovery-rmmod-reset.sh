#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: rvirtio_scsi: the device is unbound while a reset is running and I/O is in flight: remove waits for the reset, the I/O ends, the LUN goes, the module unloads cleanly; no leak
# rvirtio-disks: type=scsi-hd,size=128M,serial=rvirtio-srm-0
# rvirtio-modules: rvirtio_scsi
# rvirtio-timeout: 400
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/rvirtio-scsi.sh
. /rvirtio/rvirtio-scsi.sh

# The reset is held for 4 s (reset_delay_ms) before it touches the device;
# commands that arrive meanwhile are retried by the midlayer until it ends.
# An open LUN pins the module, so the device is unbound through sysfs (what
# a hot-unplug does); rmmod follows.

unbind_waits() {
	local t0 t1
	t0=$(cut -d' ' -f1 /proc/uptime)
	echo "$VDEV" >/sys/bus/virtio/drivers/rvirtio_scsi/unbind || return 1
	t1=$(cut -d' ' -f1 /proc/uptime)
	log "unbind took $t0 -> $t1 s"
	[ ! -e "/sys/bus/virtio/drivers/rvirtio_scsi/$VDEV" ]
}

io_ends() {
	local rc
	rc=$(bg_wait io 60) || return 1
	log "the I/O under the unbind ended with $rc"
}

require_rvirtio_scsi
ktap_print_header
kmemleak_baseline
ktap_set_plan 13
start_scsi 30
step "fio verify 8M" fio_verify sda 8M
step "start a reset held for 4 s" start_held_reset 4000
step "a reset is running" wait_state 1 10
VDEV=$(readlink -f /sys/block/sda/device | sed -n 's#.*/\(virtio[0-9]*\)/.*#\1#p')
bg_io io dd if=/dev/sda of=/dev/null bs=64k count=2000 iflag=direct
step "unbind $VDEV while it runs" unbind_waits
step "the I/O ends" io_ends
step "the LUN is gone" wait_gone sda 30
step "the module unloads" unload_driver rvirtio_scsi
step "the reset ran before the device went (dmesg)" dmesg_has 'rvirtio_scsi .*reset 1: injected'
step "no leaks (kmemleak)" kmemleak_check
step "dmesg clean" dmesg_check
ktap_finished
