#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: mkfs.ext4, write files, umount, e2fsck -fn, mount again, checksums match
# rvirtio-disks: size=256M,serial=rvirtio-ext4-0
# rvirtio-modules: rvirtio_blk
# rvirtio-timeout: 600
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh

MNT=/mnt/ext4
SUMS=/tmp/ext4.md5

mkfs() {
	mkfs.ext4 -F -q "/dev/$DEV" 2>&1 | as_diag
	dumpe2fs -h "/dev/$DEV" 2>/dev/null | grep -q '^Filesystem state: *clean'
}

# 24 files of 4 KiB to 4 MiB (16 MiB in all) from /dev/urandom, some in a
# subdirectory, their md5sums kept outside the file system.
write_files() {
	local i kib f
	mkdir -p "$MNT" &&
		mount -t ext4 "/dev/$DEV" "$MNT" || return 1
	mkdir -p "$MNT/sub"
	i=0
	while [ $i -lt 24 ]; do
		kib=$((4 << (i % 11)))
		[ $((i % 3)) = 0 ] && f=sub/f$i || f=f$i
		dd if=/dev/urandom of="$MNT/$f" bs=1024 count=$kib 2>/dev/null || return 1
		i=$((i + 1))
	done
	(cd "$MNT" && find . -type f ! -path './lost+found/*' | sort | xargs md5sum) >"$SUMS" || return 1
	log "$(wc -l <"$SUMS") files, $(du -sk "$MNT" | cut -f1) KiB"
	sync && umount "$MNT"
}

# Forget the block device's cached pages, so what follows reads the disk.
drop_caches() {
	blockdev --flushbufs "/dev/$DEV"
	echo 3 >/proc/sys/vm/drop_caches
}

fsck_clean() {
	local rc
	drop_caches
	e2fsck -fn "/dev/$DEV" >/tmp/e2fsck.out 2>&1
	rc=$?
	as_diag </tmp/e2fsck.out
	[ "$rc" = 0 ]
}

sums_match() {
	drop_caches
	mount -t ext4 "/dev/$DEV" "$MNT" || return 1
	if ! (cd "$MNT" && md5sum -c "$SUMS" >/tmp/md5.out 2>&1); then
		grep -v ': OK$' /tmp/md5.out | as_diag
		umount "$MNT"
		return 1
	fi
	umount "$MNT"
}

ktap_print_header
ktap_set_plan 7
start_driver
step "mkfs.ext4" mkfs || bail "mkfs.ext4 failed"
step "mount, write 24 files, sync, umount" write_files || bail "cannot write"
step "e2fsck -fn clean" fsck_clean
step "mount again: md5sums match" sums_match
step "dmesg clean" dmesg_check
ktap_finished
