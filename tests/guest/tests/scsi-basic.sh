#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: rvirtio_scsi serves two scsi-hd LUNs of a virtio-scsi host: bound to it, INQUIRY and READ CAPACITY, the device's sense and residual reach the submitter, fio verify and ext4 + fsck on each, rmmod
# rvirtio-disks: type=scsi-hd,size=64M,serial=rvirtio-scsi-0 type=scsi-hd,size=96M,serial=rvirtio-scsi-1
# rvirtio-modules: rvirtio_scsi
# rvirtio-timeout: 400
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-scsi.sh
. /rvirtio/rvirtio-scsi.sh

# The driver under test: virtio_scsi with --driver virtio_scsi.
case "$DRIVER" in
*scsi*) SCSI=$DRIVER ;;
*) SCSI=rvirtio_scsi ;;
esac
[ "$DRIVER" = virtio_blk ] && skip_all "a SCSI test; --driver virtio_scsi runs it with the C driver"

# scsi_disks: the sd disks, sorted.
scsi_disks() {
	local d
	for d in /sys/block/sd*; do
		[ -e "$d" ] && echo "${d##*/}"
	done
}

# two_disks: within 30 s, two sd disks exist.
two_disks() {
	local i=0
	until [ "$(scsi_disks | wc -l)" -ge 2 ]; do
		i=$((i + 1))
		[ "$i" -le 300 ] || return 1
		sleep 0.1
	done
}

bound() {
	local d got
	for d in $(scsi_disks); do
		got=$(host_driver "$d")
		log "$d: host driver $got"
		[ "$got" = "$SCSI" ] || return 1
	done
}

# inquiry DISK: sg_inq says QEMU's disk, and sg_readcap the size sysfs has.
inquiry() {
	local blocks
	sg_inq "/dev/$1" | grep -q 'QEMU HARDDISK' || {
		sg_inq "/dev/$1" | as_diag
		return 1
	}
	blocks=$(sg_readcap "/dev/$1" | sed -n 's/.*Number of logical blocks=\([0-9]*\).*/\1/p')
	log "$1: READ CAPACITY $blocks blocks, sysfs $(cat "/sys/block/$1/size")"
	[ -n "$blocks" ] && [ "$blocks" = "$(cat "/sys/block/$1/size")" ]
}

# sense_and_resid DISK: what the driver writes into a finished command
# reaches SG_IO: an INQUIRY for 36 bytes into a 512-byte buffer comes back
# with its residual (476: 36 bytes received), and an opcode the disk does
# not know with the disk's sense (ILLEGAL REQUEST).
sense_and_resid() {
	local out
	out=$(sg_raw -r 512 "/dev/$1" 12 00 00 00 24 00 2>&1)
	log "$1: INQUIRY of 36 bytes into 512: $(echo "$out" | grep -i 'received')"
	echo "$out" | grep -q 'Received 36 bytes' || {
		echo "$out" | as_diag
		return 1
	}
	out=$(sg_raw "/dev/$1" ff 00 00 00 00 00 2>&1)
	log "$1: opcode 0xff: $(echo "$out" | grep -i 'sense key')"
	echo "$out" | grep -qi 'Sense key: Illegal Request' || {
		echo "$out" | as_diag
		return 1
	}
}

# ext4_roundtrip DISK: mkfs, a file of known checksum, umount, fsck clean,
# mount again, same checksum.
ext4_roundtrip() {
	local sum
	mkfs.ext4 -q -F "/dev/$1" && mount "/dev/$1" /mnt || return 1
	dd if=/dev/urandom of=/mnt/f bs=1M count=8 2>/dev/null
	sum=$(md5sum </mnt/f)
	umount /mnt && e2fsck -fn "/dev/$1" >/dev/null 2>&1 || return 1
	mount "/dev/$1" /mnt || return 1
	[ "$(md5sum </mnt/f)" = "$sum" ] || {
		umount /mnt
		return 1
	}
	umount /mnt
}

ktap_print_header
ktap_set_plan 12
step "load $SCSI" load_driver "$SCSI" || bail "cannot load $SCSI"
step "two LUNs appear" two_disks || bail "no disks"
step "both are served by $SCSI" bound
step "sense and residual reach the submitter" sense_and_resid "$(scsi_disks | head -n 1)"
for d in $(scsi_disks); do
	step "$d: INQUIRY and READ CAPACITY" inquiry "$d"
	step "$d: fio verify" fio_verify "$d" 32M
	step "$d: ext4 round trip" ext4_roundtrip "$d"
done
step "unload $SCSI" unload_driver "$SCSI"
step "dmesg clean" dmesg_check
ktap_finished
