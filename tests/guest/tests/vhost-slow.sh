#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: a vhost-user-blk backend (rvirtio-vub) that answers one request every 50 ms: fio verifies, the requests really came 50 ms apart, normal service after slow off
# rvirtio-disks: vhost=,size=64M,serial=rvirtio-vub-slow-0
# rvirtio-modules: rvirtio_blk
# rvirtio-timeout: 600
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/vub.sh
. /rvirtio/vub.sh

# slow_fio: a verified fio under slow 50, which must take at least 50 ms per
# request the backend answered meanwhile (less one).
slow_fio() {
	local c0 c1 t0 t1 n
	c0=$(vub_get d0 completed)
	t0=$(uptime_ms)
	fio_verify "$DEV" 4M || return 1
	t1=$(uptime_ms)
	c1=$(vub_get d0 completed)
	n=$((c1 - c0))
	log "$n requests answered in $((t1 - t0)) ms"
	[ "$n" -gt 10 ] && [ $((t1 - t0)) -ge $(((n - 1) * 50)) ]
}

ktap_print_header
ktap_set_plan 10
start_driver
step "the backend answers one request every 50 ms" host vub d0 slow 50
step "its mode is slow:50" [ "$(vub_get d0 mode)" = slow:50 ]
step "fio verify 4M, one request per 50 ms" slow_fio
step "slow off" host vub d0 slow off
step "its mode is normal" [ "$(vub_get d0 mode)" = normal ]
step "fio verify 16M" fio_verify "$DEV" 16M
vub_show d0
step "the backend holds none, none failed, none malformed" vub_clean d0
step "dmesg clean" dmesg_check
ktap_finished
