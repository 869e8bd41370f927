#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: a read-only device (VIRTIO_BLK_F_RO) gives a read-only disk: writes, discards and zeroing fail, even after blockdev --setrw, reads work and the data stays as it was
# rvirtio-disks: size=16M,serial=rvirtio-ro-0,readonly=on
# rvirtio-modules: rvirtio_blk
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh

# is_ro: sysfs and BLKROGET say read-only.
is_ro() {
	local sys ioctl
	sys=$(cat "/sys/block/$DEV/ro") && ioctl=$(blockdev --getro "/dev/$DEV") || return 1
	log "/sys/block/$DEV/ro=$sys, blockdev --getro: $ioctl"
	[ "$sys" = 1 ] && [ "$ioctl" = 1 ]
}

# fails CMD...: CMD fails.
fails() {
	local out
	if out=$("$@" 2>&1); then
		log "$* succeeded"
		return 1
	fi
	log "$*: $(echo "$out" | head -n 1)"
}

write_block() {
	dd if=/dev/zero of="/dev/$DEV" bs=4k count=1 oflag=direct
}

checksum() {
	md5sum <"/dev/$DEV" | cut -d' ' -f1
}

# unchanged: the disk's content has the checksum it had at the start.
unchanged() {
	local now
	now=$(checksum) || return 1
	log "checksum $now (at the start: $SUM)"
	[ "$now" = "$SUM" ]
}

ktap_print_header
ktap_set_plan 9
start_driver
SUM=$(checksum)
step "the disk is read-only" is_ro
step "a write fails" fails write_block
step "a discard fails" fails blkdiscard "/dev/$DEV"
step "zeroing fails" fails blkdiscard -z "/dev/$DEV"
blockdev --setrw "/dev/$DEV" 2>&1 | as_diag
step "after blockdev --setrw, a write still fails" fails write_block
step "the data is unchanged" unchanged
step "dmesg clean" dmesg_check
ktap_finished
