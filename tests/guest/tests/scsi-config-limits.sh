#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: rvirtio_scsi: a device whose seg_max (126) is far more than its 4-entry rings without indirect descriptors can carry is clamped, with a line, and 1 MiB commands work (before, as in the C driver by reading, a WARN in virtqueue_add and the command retried for ever)
# rvirtio-disks: type=scsi-hd,size=64M,serial=rvirtio-scl-0
# rvirtio-qemu-args: -global virtio-scsi-pci.virtqueue_size=4 -global virtio-scsi-pci.seg_max_adjust=off -global virtio-scsi-pci.indirect_desc=off
# rvirtio-modules: rvirtio_scsi
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/rvirtio-scsi.sh
. /rvirtio/rvirtio-scsi.sh

# QEMU without seg_max_adjust offers seg_max 126 whatever the ring size.
# A command's chain is its header, its response and its data segments, and
# may not be longer than the ring: 2 data segments here.

limits() {
	local segs
	segs=$(cat /sys/block/sda/queue/max_segments)
	log "max_segments $segs, can_queue $(cat "/sys/class/scsi_host/$(scsi_host_of sda)/can_queue")"
	[ "$segs" = 2 ]
}

big_io() {
	dd if=/dev/urandom of=/tmp/big bs=1M count=1 2>/dev/null &&
		dd if=/tmp/big of=/dev/sda bs=1M count=1 oflag=direct 2>/dev/null &&
		dd if=/dev/sda of=/tmp/big.read bs=1M count=1 iflag=direct 2>/dev/null &&
		cmp /tmp/big /tmp/big.read
}

require_rvirtio_scsi
ktap_print_header
ktap_set_plan 9
start_scsi 30
step "the clamp is logged" dmesg_has "config seg_max 126 is more than works with this device: using 2"
step "2 segments per command" limits
step "a 1 MiB direct write and read verify" big_io
step "fio verify" fio_verify sda 16M --iodepth=4
step "unload rvirtio_scsi" unload_driver rvirtio_scsi
step "dmesg clean" dmesg_check
ktap_finished
