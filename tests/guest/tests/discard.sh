#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: discard and write-zeroes with and without unmap reach the image (host allocation), zeroed ranges read back as zeroes, unsupported ones (secure erase, discard=off) fail cleanly
# rvirtio-disks: size=64M,serial=rvirtio-discard-0 size=64M,serial=rvirtio-discard-1,discard=off,write-zeroes=off
# rvirtio-modules: rvirtio_blk
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh

MiB=1048576

# allocated: the host-side allocation of disk d0's image, in bytes.
allocated() {
	host allocated d0
}

# limit DEV FILE OP N: queue/FILE of DEV compares to N with test's -OP (gt, eq).
limit() {
	local v
	v=$(cat "/sys/block/$1/queue/$2")
	log "$1 queue/$2=$v"
	case $3 in
	gt) [ "$v" -gt "$4" ] ;;
	*) [ "$v" -eq "$4" ] ;;
	esac
}

# zeroes DEV OFFSET-MiB LEN-MiB: the range reads back as zeroes.
zeroes() {
	dd if="/dev/$1" bs=$MiB skip="$2" count="$3" iflag=direct 2>/dev/null |
		cmp -s - /dev/zero -n $(($3 * MiB)) || {
		log "/dev/$1 [$2M, +$3M) is not all zeroes"
		return 1
	}
}

# fill DEV OFFSET-MiB LEN-MiB: random data over the range.
fill() {
	dd if=/dev/urandom of="/dev/$1" bs=$MiB seek="$2" count="$3" oflag=direct 2>/dev/null
}

# zero_range DEV OFFSET-MiB LEN-MiB: fallocate's zero range (write-zeroes,
# no unmap) over the range, which then reads back as zeroes.
zero_range() {
	fallocate -z -o $(($2 * MiB)) -l $(($3 * MiB)) "/dev/$1" && zeroes "$@"
}

# zero_out DEV OFFSET-MiB LEN-MiB: BLKZEROOUT over the range, which then
# reads back as zeroes.
zero_out() {
	blkdiscard -z -o $(($2 * MiB)) -l $(($3 * MiB)) "/dev/$1" && zeroes "$@"
}

# freed CMD...: CMD frees at least 1 MiB of d0's image on the host.
freed() {
	local before after
	before=$(allocated) && "$@" && after=$(allocated) || return 1
	log "$*: image allocation $before -> $after"
	[ "$after" -le $((before - MiB)) ]
}

# kept CMD...: CMD leaves d0's image allocation as it was.
kept() {
	local before after
	before=$(allocated) && "$@" && after=$(allocated) || return 1
	log "$*: image allocation $before -> $after"
	[ "$after" -ge "$before" ]
}

# refused CMD...: CMD fails with "not supported".
refused() {
	local out
	if out=$("$@" 2>&1); then
		log "$* succeeded"
		return 1
	fi
	log "$*: $out"
	echo "$out" | grep -q "not supported"
}

ktap_print_header
ktap_set_plan 15
start_driver
wait_disk "$DRIVER" 30 2 >/dev/null || bail "no second disk"
D0=$(disk_by_serial rvirtio-discard-0) && D1=$(disk_by_serial rvirtio-discard-1) ||
	bail "disks not found"
step "$D0 offers discard" limit "$D0" discard_max_hw_bytes gt 0
step "$D0 offers write-zeroes" limit "$D0" write_zeroes_max_bytes gt 0
fill "$D0" 0 16 || bail "cannot write /dev/$D0"
step "discard frees the range on the host" freed blkdiscard -o 0 -l $((2 * MiB)) "/dev/$D0"
step "write-zeroes without unmap (BLKZEROOUT) keeps it allocated" \
	kept blkdiscard -z -o $((4 * MiB)) -l $((2 * MiB)) "/dev/$D0"
step "... and reads back as zeroes" zeroes "$D0" 4 2
step "write-zeroes with unmap (punch hole) frees it" \
	freed fallocate -p -o $((8 * MiB)) -l $((2 * MiB)) "/dev/$D0"
step "... and reads back as zeroes" zeroes "$D0" 8 2
step "write-zeroes without unmap (zero range) reads back as zeroes" zero_range "$D0" 12 2
step "secure erase is refused (QEMU 7.2 has none)" refused blkdiscard -s "/dev/$D0"
step "$D1 (discard=off) has no discard" limit "$D1" discard_max_hw_bytes eq 0
step "... and refuses it" refused blkdiscard "/dev/$D1"
fill "$D1" 0 4 || bail "cannot write /dev/$D1"
step "... but BLKZEROOUT writes zeroes" zero_out "$D1" 0 2
step "dmesg clean" dmesg_check
ktap_finished
