#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: a vhost-user-blk backend (rvirtio-vub) that ignores a kick: the request's first timeout notifies the queue again, and it completes without a reset; data verified
# rvirtio-disks: vhost=,size=64M,serial=rvirtio-vub-kick-0
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: io_timeout=2 num_request_queues=1
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/vub.sh
. /rvirtio/vub.sh

# A lost notification from the driver leaves nothing on the used ring for a
# timeout to harvest: only a notification brings the request to the device.
# The C virtio_blk waits forever; rvirtio_blk once reset the device for it.

read_after_lost_kick() {
	dd if=/dev/urandom of=/tmp/w bs=64k count=1 2>/dev/null &&
		dd if=/tmp/w of="/dev/$DEV" bs=64k seek=10 oflag=direct 2>/dev/null || return 1
	host vub d0 ignore-kick 1 >/dev/null || return 1
	bg_io read dd if="/dev/$DEV" of=/tmp/r bs=64k skip=10 count=1 iflag=direct
	read_rc=$(bg_wait read 30) || return 1
	log "the read ended with $read_rc"
	[ "$read_rc" = 0 ] && cmp /tmp/w /tmp/r
}

require_rvirtio
ktap_print_header
ktap_set_plan 10
start_driver
step "a read whose kick the device ignores completes, data verified" read_after_lost_kick
step "the device ignored a kick" vub_cmp d0 ignored-kicks ge 1
step "its first timeout notified the queue again" rv_ge renotified 1
step "no reset" rv_eq resets 0
step "nothing failed" rv_eq failed 0
step "fio verify 16M afterwards" fio_verify "$DEV" 16M
step "the backend holds none, none failed, none malformed" vub_clean d0
rv_show
vub_show d0
step "dmesg clean" dmesg_check
ktap_finished
