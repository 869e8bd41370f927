#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: removal of a device that holds a write and never answers stays bounded: the write's timeouts during removal disable the device (reset, the write fails), the unbind completes within a few io_timeouts, nothing hangs, and the device binds again afterwards
# rvirtio-disks: vhost=,size=64M,serial=rvirtio-vub-rmheld-0
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: io_timeout=2
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/vub.sh
. /rvirtio/vub.sh

held_write() {
	host vub d0 hold on >/dev/null || return 1
	bg_io write dd if=/dev/urandom of="/dev/$DEV" bs=64k count=1 oflag=direct
	poll 10 vub_cmp d0 held ge 1 >/dev/null 2>&1 || vub_cmp d0 held ge 1
}

bounded_unbind() {
	local t0 t1
	t0=$(uptime_ms)
	unbind_device 60 || return 1
	t1=$(uptime_ms)
	log "the unbind took $((t1 - t0)) ms"
	[ $((t1 - t0)) -lt 30000 ]
}

write_failed() {
	local rc
	rc=$(bg_wait write 30) || return 1
	log "the write ended with $rc"
	[ "$rc" != 0 ]
}

bind_again() {
	host vub d0 hold off >/dev/null && bind_device
}

require_rvirtio
ktap_print_header
kmemleak_baseline
ktap_set_plan 11
start_driver
step "the device holds a write and never answers" held_write
step "unbind completes within 30 s" bounded_unbind
step "the device was disabled during removal" dmesg_has "request timed out during removal"
step "the held write failed" write_failed
step "the device binds again" bind_again
step "fio verify 16M on the new disk" fio_verify "$DEV" 16M
step "the backend holds none" vub_cmp d0 held eq 0
step "no leaks (kmemleak)" kmemleak_check
step "dmesg clean" dmesg_check
ktap_finished
