#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: rmmod while a reset is running: remove waits for the reset, then unloads cleanly; no leak
# rvirtio-disks: size=128M,serial=rvirtio-rmmodreset-0
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: fault_inject=1
# rvirtio-timeout: 600
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

start_reset() {
	rv_set reset_delay_ms 5000 &&
		rv_set inject_reset 1 &&
		dd if="/dev/$DEV" of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null
}

rmmod_waits() {
	local t0 t1
	t0=$(cut -d' ' -f1 /proc/uptime)
	unload_driver "$DRIVER" || return 1
	t1=$(cut -d' ' -f1 /proc/uptime)
	log "rmmod took $t0 -> $t1 s"
}

require_rvirtio
ktap_print_header
kmemleak_baseline
ktap_set_plan 10
start_driver
step "fio verify 8M" fio_verify "$DEV" 8M
step "start a reset held for 5 s" start_reset
step "a reset is running" wait_state 1 10
step "rmmod while it runs" rmmod_waits
step "the disk is gone" wait_gone "$DEV" 30
step "the reset ran before the device went (dmesg)" dmesg_has 'rvirtio_blk .*reset 1: injected'
step "no leaks (kmemleak)" kmemleak_check
step "dmesg clean" dmesg_check
ktap_finished
