#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: ext4 under an fsync-heavy workload while the device is reset again and again: fsck clean, data verifies
# rvirtio-disks: size=512M,serial=rvirtio-ext4reset-0
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: fault_inject=1 io_timeout=5 reset_budget=64
# rvirtio-timeout: 900
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

MNT=/mnt/rv
RESETS=8

# Reset the device every second, $RESETS times, in the background.
injector() {
	local i=0
	while [ "$i" -lt "$RESETS" ]; do
		rv_set inject_reset 1
		sleep 1
		i=$((i + 1))
	done
}

workload() {
	# Small synchronous writes with an fsync after each, verified.
	fio --name=fsync-heavy --directory="$MNT" --size=24M --bsrange=4k-64k \
		--rw=randwrite --fsync=1 --ioengine=psync --numjobs=2 \
		--verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 \
		>/tmp/fio-ext4.out 2>&1 || {
		as_diag </tmp/fio-ext4.out
		return 1
	}
	# And files whose checksums are checked after fsck.
	local i
	for i in 1 2 3 4 5 6; do
		dd if=/dev/urandom of="$MNT/file$i" bs=64k count=16 conv=fsync 2>/dev/null || return 1
	done
	(cd "$MNT" && md5sum file*) >/tmp/sums
}

mkfs_ext4() {
	mke2fs -q -t ext4 -F "/dev/$DEV"
}

fsck_clean() {
	e2fsck -fn "/dev/$DEV" >/tmp/fsck.out 2>&1 || {
		as_diag </tmp/fsck.out
		return 1
	}
}

check_sums() {
	(cd "$MNT" && md5sum -c /tmp/sums) 2>&1 | as_diag
	(cd "$MNT" && md5sum -c /tmp/sums) >/dev/null 2>&1
}

require_rvirtio
ktap_print_header
ktap_set_plan 11
start_driver
step "mkfs.ext4" mkfs_ext4
mkdir -p "$MNT"
step "mount" mount -t ext4 "/dev/$DEV" "$MNT"
injector &
inj=$!
step "fsync-heavy fio verify and files, with resets injected" workload
wait "$inj"
# Each injected shot resets unless one is already pending.
step "the device was reset at least 4 times" rv_ge resets 4
step "umount" umount "$MNT"
step "e2fsck -fn is clean" fsck_clean
step "mount again" mount -t ext4 "/dev/$DEV" "$MNT"
step "file checksums match" check_sums
umount "$MNT"
rv_show
step "dmesg clean" dmesg_check
ktap_finished
