#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: odd device configs are clamped or refused with a clear line, never a crash: an empty disk, more queues than CPUs, a 4-entry ring, a 2 MiB block size
# rvirtio-disks: size=0,serial=lim-empty size=32M,serial=lim-q8,num-queues=8 size=32M,serial=lim-tiny,queue-size=4,indirect_desc=off size=32M,serial=lim-2m,logical_block_size=2M,physical_block_size=2M
# rvirtio-modules: rvirtio_blk
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

# empty DEV: DEV has size 0, and reading it gives nothing and no error.
empty() {
	local size bytes
	size=$(cat "/sys/block/$1/size")
	bytes=$(dd if="/dev/$1" bs=4k count=1 2>/dev/null | wc -c) || return 1
	log "$1: size $size, read $bytes bytes"
	[ "$size" = 0 ] && [ "$bytes" = 0 ]
}

# hw_queues DEV N: DEV has N hardware queues.
hw_queues() {
	local n
	n=$(find "/sys/block/$1/mq" -mindepth 1 -maxdepth 1 | wc -l)
	log "$1: $n hardware queues ($(nproc) CPUs)"
	[ "$n" = "$2" ]
}

# refused: the 2 MiB-block device got no disk, and the driver said why.
refused() {
	if disk_by_serial lim-2m >/dev/null; then
		log "the 2 MiB-block device has a disk"
		return 1
	fi
	if [ "$DRIVER" = rvirtio_blk ]; then
		dmesg_has "rvirtio_blk virtio[0-9]+: refusing the device: blk_size 2097152 is not a power of two between 512 and the page size"
	else
		dmesg_has "virtio[0-9]+: probe with driver virtio_blk failed with error -22"
	fi
}

ktap_print_header
ktap_set_plan 7
start_driver
wait_disk "$DRIVER" 30 3 >/dev/null || bail "fewer than 3 disks"
E=$(disk_by_serial lim-empty) && Q=$(disk_by_serial lim-q8) && T=$(disk_by_serial lim-tiny) ||
	bail "disks not found"
step "an empty device is an empty disk" empty "$E"
step "8 queues offered, one per CPU used" hw_queues "$Q" "$(nproc)"
step "a 4-entry ring serves verified I/O at depth 32" fio_verify "$T" 16M --iodepth=32
step "a 2 MiB block size is refused, with the reason" refused
step "dmesg clean" dmesg_check
ktap_finished
