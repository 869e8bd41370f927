#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: the true stall, under the stall policy: a vhost-user-blk backend (rvirtio-vub) holds requests and never answers; the reset cuts the stall (the device drops what it held), every held request comes back exactly once, and the requeued requests verify
# rvirtio-disks: vhost=,size=64M,serial=rvirtio-vub-hold-0
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: io_timeout=2 stall_reset_secs=1
# rvirtio-timeout: 400
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/vub.sh
. /rvirtio/vub.sh

# Unlike QEMU's own device over a paused backend, rvirtio-vub's "hold" is a
# device that never answers and forgets what it held when it is reset, as
# a real device does; QEMU does not wait for it, so the guest never stops.
# The hold is lifted as soon as the first reset ran, so that the requeued
# requests are answered.

start_held_io() {
	host vub d0 hold on >/dev/null || return 1
	R0=$(rv_get resets)
	stall_io 64k
	poll 10 vub_cmp d0 held ge 2 >/dev/null 2>&1 || vub_cmp d0 held ge 2
}

reset_then_release() {
	poll 30 rv_at_least resets $((R0 + 1)) || {
		log "no reset within 30 s"
		rv_show
		return 1
	}
	host vub d0 hold off >/dev/null
}

dropped_at_reset() {
	vub_cmp d0 dropped ge 1
}

# conserved: every held request came back once, at least one requeued by
# the reset (the device dropped it).
conserved() {
	came_back_once && [ "$(rv_get requeued)" -ge 1 ]
}

require_rvirtio
ktap_print_header
ktap_set_plan 14
start_driver
step "write a known pattern" stall_patterns 64k
step "the device holds a read and a write" start_held_io
step "the driver has them in flight" count_held
step "the stall policy resets the device" reset_then_release
step "the device dropped what it held at the reset" dropped_at_reset
step "the requeued read and write complete" stall_io_completes
step "every held request came back once (conservation)" conserved
step "nothing failed" rv_eq failed 0
step "read data and written data verify" stall_data_verifies 64k
step "fio verify 16M afterwards" fio_verify "$DEV" 16M
rv_show
vub_show d0
step "the backend holds none, none failed, none malformed" vub_clean d0
step "dmesg clean" dmesg_check
ktap_finished
