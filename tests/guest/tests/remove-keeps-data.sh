#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: an orderly removal (unbind, ACPI hot-unplug) of a disk a program holds open writes back what the page cache still held for it before the device goes: the host's image has every byte
# rvirtio-disks: size=64M,serial=rvirtio-keep-0
# rvirtio-modules: rvirtio_blk
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh

# Each round writes 8 MiB through the page cache (no sync, no O_DIRECT:
# the data is dirty, which /proc/meminfo's Dirty shows) while the shell
# holds the disk open (the last close would write it back), removes the
# disk one way, and asks the host for the SHA-256 of those bytes of the
# image file. del_gendisk writes the page cache back; a driver that fails
# its I/O before that (as rvirtio_blk did) loses the data. (rmmod cannot
# remove a disk that is open or mounted: the module is pinned.)

MIB=1048576

# dirty_write OFFSET_MIB: 8 MiB of fresh random data into /dev/$DEV's page
# cache at OFFSET_MIB, left dirty (fd 3 holds the disk open); its SHA-256
# in $WANT.
dirty_write() {
	local dirty
	exec 3<"/dev/$DEV" || return 1
	head -c $((8 * MIB)) /dev/urandom >/tmp/data || return 1
	WANT=$(sha256sum </tmp/data | cut -d' ' -f1)
	dd if=/tmp/data of="/dev/$DEV" bs=1M seek="$1" conv=notrunc 2>/tmp/dd.err || {
		as_diag </tmp/dd.err
		return 1
	}
	dirty=$(sed -n 's/^Dirty: *\([0-9]*\) kB$/\1/p' /proc/meminfo)
	log "Dirty: $dirty kB"
	# Most of the 8 MiB must still be dirty, or the round proves nothing.
	[ "$dirty" -ge 4096 ]
}

# on_host OFFSET_MIB: the image has the data at OFFSET_MIB (the disk is
# gone: the shell closes its descriptor first).
on_host() {
	local got
	exec 3<&-
	got=$(host image-sha256 d0 $(($1 * MIB)) $((8 * MIB))) || return 1
	[ "$got" = "$WANT" ] || {
		log "image at $1 MiB: sha256 $got, written $WANT"
		return 1
	}
}

unplug() {
	host qmp '{"execute":"device_del","arguments":{"id":"d0"}}' | as_diag &&
		host qmp-wait-event DEVICE_DELETED 30 device=d0 | as_diag && wait_gone "$DEV" 60
}

ktap_print_header
kmemleak_baseline
ktap_set_plan 10
start_driver
step "8 MiB left dirty in the page cache" dirty_write 0
step "unbind the device" unbind_device 60
step "the host's image has the data (unbind)" on_host 0
step "the device binds again" bind_device
step "8 MiB more left dirty" dirty_write 32
step "hot-unplug the device" unplug
step "the host's image has the data (hot-unplug)" on_host 32
step "dmesg clean" dmesg_check
ktap_finished
