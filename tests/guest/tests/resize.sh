#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: QMP block_resize grows the disk: the guest sees the new capacity and can use it; a system sleep after it is clean (on 7.3 lockdep sees the capacity update's allocation and the sleep's queue freeze)
# rvirtio-disks: size=128M,serial=rvirtio-resize-0
# rvirtio-modules: rvirtio_blk
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

NEW_BYTES=268435456

grow() {
	host qmp "{\"execute\":\"block_resize\",\"arguments\":{\"node-name\":\"d0\",\"size\":$NEW_BYTES}}" | as_diag
}

size_is() {
	[ "$(cat "/sys/block/$DEV/size")" = "$1" ]
}

sees_new_size() {
	local i=0
	until size_is $((NEW_BYTES / 512)); do
		i=$((i + 1))
		[ "$i" -le 100 ] || {
			log "size is $(cat "/sys/block/$DEV/size") sectors, expected $((NEW_BYTES / 512))"
			return 1
		}
		sleep 0.1
	done
	[ "$(blockdev --getsize64 "/dev/$DEV")" = "$NEW_BYTES" ]
}

# Write past the old end and read it back.
use_new_space() {
	dd if=/dev/urandom of=/tmp/tail bs=1M count=4 2>/dev/null &&
		dd if=/tmp/tail of="/dev/$DEV" bs=1M seek=200 oflag=direct 2>/dev/null &&
		dd if="/dev/$DEV" of=/tmp/tail.read bs=1M skip=200 count=4 iflag=direct 2>/dev/null &&
		cmp /tmp/tail /tmp/tail.read
}

# rvirtio_blk says "new size"; the block layer says "capacity change".
new_size_logged() {
	dmesg | grep -Eq 'new size|capacity change'
}

ktap_print_header
ktap_set_plan 9
start_driver
step "the disk starts at 128 MiB" size_is 262144
step "block_resize to 256 MiB" grow
step "the guest sees 256 MiB" sees_new_size
step "the kernel log shows the new size" new_size_logged
step "data written past the old end reads back" use_new_space
# The capacity update allocates (the uevent) under the lock that guards the
# disk's queue for recovery; a sleep freezes that queue. On 7.3 lockdep
# counts the freeze as a lock that memory reclaim waits for, so the freeze
# must never hold while that lock is taken.
step "a system sleep after the resize" sleep_cycles 1
step "dmesg clean" dmesg_check
ktap_finished
