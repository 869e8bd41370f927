#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: absurd config spaces of a vhost-user-blk device (rvirtio-vub): each is served with clamped limits or refused with one line saying why; never a WARN, a panic or a wedged request
# rvirtio-disks: vhost=capacity=9223372036854775808,size=64M,serial=cfg-capacity vhost=size-max=511,size=64M,serial=cfg-size-max vhost=seg-max=1000+no-indirect,queue-size=64,size=64M,serial=cfg-seg-ring vhost=blk-size=3,size=64M,serial=cfg-blk-3 vhost=blk-size=1048576,size=64M,serial=cfg-blk-1m vhost=physical-block-exp=255,size=64M,serial=cfg-pexp vhost=physical-block-exp=3+alignment-offset=255+min-io-size=65535+opt-io-size=4294967295,size=64M,serial=cfg-topology vhost=seg-max=0,size=64M,serial=cfg-seg-0 vhost=size-max=0,size=64M,serial=cfg-size-max-0
# rvirtio-modules: rvirtio_blk
# rvirtio-timeout: 500
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/vub.sh
. /rvirtio/vub.sh

# QEMU 7.2 passes these fields through from the backend unchecked
# (Documentation/testing.rst). num_queues cannot be tested here: QEMU
# writes its own, and refuses a backend with fewer queues.

# served SERIAL: the disk with SERIAL is bound to the driver and serves a
# verified 1 MiB direct roundtrip (256 pages: the largest request of a
# clamped seg_max).
served() {
	local dev
	dev=$(disk_by_serial "$1") && [ -n "$dev" ] || {
		log "no disk with serial $1"
		return 1
	}
	require_bound "$dev" "$DRIVER" && roundtrip "$dev" 1 0
}

# refused REGEX: the driver refused a device with a line matching REGEX.
refused() {
	dmesg_has "refusing the device: $1"
}

# capacity_clamped: the 2^63-sector disk is as large as the block layer can
# hold, and said so.
capacity_clamped() {
	local dev sz
	dev=$(disk_by_serial cfg-capacity) || return 1
	sz=$(blockdev --getsz "/dev/$dev")
	log "$dev: $sz sectors"
	[ "$sz" = 18014398509481983 ] && dmesg_has "more than the block layer can hold"
}

settle() {
	# Every device probed: 5 are served (the others are refused).
	wait_disk "$DRIVER" 60 5 >/dev/null
	sleep 2
}

# The C virtio_blk WARNs at size_max 511 (blk_validate_limits) and takes
# blk_size 0 for 512: what this test checks is rvirtio_blk's lines.
require_rvirtio
ktap_print_header
ktap_set_plan 14
step "load $DRIVER" load_driver "$DRIVER"
step "the devices were probed" settle
step "capacity 2^63: served, clamped" capacity_clamped
step "capacity 2^63: I/O at its start verifies" served cfg-capacity
step "size_max 511: refused" refused "largest segment 511 is smaller than a page"
step "seg_max 1000 on a 64-entry ring without indirect descriptors: served, clamped" served cfg-seg-ring
step "blk_size 3: refused" refused "blk_size 3 is not a power of two"
step "blk_size 1 MiB: refused" refused "blk_size 1048576 is not a power of two"
step "physical_block_exp 255: refused" refused "physical_block_exp 255"
step "topology out of range: served" served cfg-topology
step "seg_max 0: served, one segment" served cfg-seg-0
step "size_max 0: served, no limit (as virtio_blk)" served cfg-size-max-0
step "the backends hold nothing" vub_cmp d6 held eq 0
step "dmesg clean" dmesg_check
ktap_finished
