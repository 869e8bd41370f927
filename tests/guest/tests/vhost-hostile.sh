#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: a hostile vhost-user-blk device (rvirtio-vub) puts bad entries on the used ring (an id out of range, an id not in flight, a duplicate, a length too large, a status never written): a broken virtqueue is reset at once and I/O goes on, nothing crashes, data verified
# rvirtio-disks: vhost=,size=64M,serial=rvirtio-vub-bad-0
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: io_timeout=5 num_request_queues=1
# rvirtio-timeout: 400
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/vub.sh
. /rvirtio/vub.sh

# The virtio core refuses a bad used entry (BAD_RING) and marks the queue
# broken: from then on it takes no request and returns none. Without a
# reset every request on it fails with EIO, forever.

# broken_then_reset KIND: after the device's hostile KIND, a verified
# roundtrip works, and the driver reset the device once more, for a broken
# virtqueue.
broken_then_reset() {
	local r0
	r0=$(rv_get resets)
	host vub d0 hostile "$1" >/dev/null || return 1
	roundtrip "$DEV" 1 4 || return 1
	poll 20 rv_at_least resets $((r0 + 1)) || {
		log "no reset after hostile $1"
		rv_show
		return 1
	}
	roundtrip "$DEV" 2 16
}

# harmless KIND: a verified roundtrip works after it, and nothing crashed.
harmless() {
	host vub d0 hostile "$1" >/dev/null && roundtrip "$DEV" 1 20
}

# nostatus: the request whose status byte the device never wrote fails (the
# driver does not take the stale byte for success); the next ones work.
nostatus() {
	host vub d0 hostile nostatus >/dev/null || return 1
	if dd if="/dev/$DEV" of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null; then
		log "a request without a status byte succeeded"
		return 1
	fi
	roundtrip "$DEV" 1 24
}

require_rvirtio
ktap_print_header
ktap_set_plan 12
start_driver
step "roundtrip before" roundtrip "$DEV" 1 0
step "an id out of range: reset, I/O goes on" broken_then_reset id-range
step "an id not in flight: reset, I/O goes on" broken_then_reset id-free
step "a duplicate id: reset, I/O goes on" broken_then_reset dup
step "the resets say why" dmesg_has "virtqueue broken by the device"
step "a used length larger than the buffer is harmless" harmless len
step "a status never written fails that request only" nostatus
step "no request was failed by a reset" rv_eq failed 0
step "fio verify 16M afterwards" fio_verify "$DEV" 16M
rv_show
vub_show d0
step "dmesg clean" dmesg_check
ktap_finished
