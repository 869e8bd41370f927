#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: rvirtio_scsi: the whole virtio-scsi host is hot-unplugged (QMP device_del) while a LUN is under I/O, a LUN hot-plug event is pending and a reset is running: no hang, no leak, the I/O ends, the module unloads
# rvirtio-disks: type=scsi-hd,size=128M,serial=rvirtio-sun-0
# rvirtio-modules: rvirtio_scsi
# rvirtio-timeout: 400
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/rvirtio-scsi.sh
. /rvirtio/rvirtio-scsi.sh

# The reset is held for 3 s (reset_delay_ms) before it touches the device,
# and the LUN plugged meanwhile is announced on the event queue; the host's
# PCI device is then unplugged (ACPI hot-plug: the guest ejects it, and
# rvirtio_scsi's remove runs).

unplug_host() {
	host qmp '{"execute":"device_del","arguments":{"id":"scsi0"}}' | as_diag
}

host_deleted() {
	host qmp-wait-event DEVICE_DELETED 60 device=scsi0 | as_diag
}

io_ended() {
	local rc
	rc=$(bg_wait io 60) || return 1
	# Served or failed, both are right: the point is that it ended.
	log "the I/O under the unplug ended with $rc"
}

no_sd_left() {
	! ls /sys/block | grep -q '^sd'
}

require_rvirtio_scsi
ktap_print_header
kmemleak_baseline
ktap_set_plan 13
start_scsi 30
bg_io io dd if=/dev/sda of=/dev/null bs=64k count=4000 iflag=direct
step "start a reset held for 3 s" start_held_reset 3000
step "a reset is running" wait_state 1 10
step "plug a LUN (an event for the host)" plug_lun hp
step "device_del the host while the reset runs" unplug_host
step "QEMU deleted the host" host_deleted
step "every LUN is gone" poll 30 no_sd_left
step "the I/O ended" io_ended
step "the module unloads" unload_driver rvirtio_scsi
step "no leaks (kmemleak)" kmemleak_check
step "dmesg clean" dmesg_check
ktap_finished
