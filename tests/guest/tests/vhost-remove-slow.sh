#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: removal waits for a slow device that makes progress: 64 dirty pages written back one request each, one answered every 300 ms (far longer than io_timeout in all), during an unbind; every byte reaches the device, nothing is disabled
# rvirtio-disks: vhost=,size=64M,serial=rvirtio-vub-rmslow-0
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: io_timeout=2 num_request_queues=1
# rvirtio-timeout: 400
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/vub.sh
. /rvirtio/vub.sh

# The pages are every other 4 KiB block, so that writeback cannot merge
# them: 64 requests, some 19 s at one per 300 ms. A timeout during removal
# renotifies, then disables the device only if its queue made no progress
# between two expiries; here it always did.

N=64

dirty_pages() {
	local i=0
	exec 3<"/dev/$DEV" || return 1
	head -c $((N * 4096)) /dev/urandom >/tmp/pages || return 1
	while [ "$i" -lt "$N" ]; do
		dd if=/tmp/pages of="/dev/$DEV" bs=4k skip="$i" seek=$((2 * i)) count=1 conv=notrunc 2>/dev/null ||
			return 1
		i=$((i + 1))
	done
	log "Dirty: $(sed -n 's/^Dirty: *//p' /proc/meminfo)"
}

slow_unbind() {
	local t0 t1
	host vub d0 slow 300 >/dev/null || return 1
	t0=$(uptime_ms)
	unbind_device 120 || return 1
	t1=$(uptime_ms)
	exec 3<&-
	log "the unbind took $((t1 - t0)) ms"
	host vub d0 slow off >/dev/null
}

pages_verify() {
	local i=0
	while [ "$i" -lt "$N" ]; do
		dd if="/dev/$DEV" of=/tmp/page bs=4k skip=$((2 * i)) count=1 iflag=direct 2>/dev/null &&
			dd if=/tmp/pages of=/tmp/want bs=4k skip="$i" count=1 2>/dev/null &&
			cmp -s /tmp/page /tmp/want || {
			log "page $i differs"
			return 1
		}
		i=$((i + 1))
	done
}

no_disable() {
	! dmesg | grep -q 'request timed out during removal'
}

require_rvirtio
ktap_print_header
ktap_set_plan 9
start_driver
step "$N pages left dirty, the disk held open" dirty_pages
step "unbind while the device answers one request every 300 ms" slow_unbind
step "the device was not disabled" no_disable
step "the device binds again" bind_device
step "every page reached the device" pages_verify
vub_show d0
step "the backend holds none, none failed, none malformed" vub_clean d0
step "dmesg clean" dmesg_check
ktap_finished
