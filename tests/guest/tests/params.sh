#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: module parameters: bad values are refused with a clear message; good ones take effect (io_timeout)
# rvirtio-disks: size=64M,serial=rvirtio-params-0
# rvirtio-modules: rvirtio_blk
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

KO=/modules/rvirtio_blk.ko

# refused PARAM=VALUE: insmod fails, and dmesg says why.
refused() {
	local name=${1%%=*}
	if insmod "$KO" "$1" 2>/tmp/insmod.err; then
		log "insmod $1 succeeded"
		rmmod rvirtio_blk
		return 1
	fi
	as_diag </tmp/insmod.err
	dmesg | grep -E "rvirtio_blk: invalid $name=" | tail -n 1 | as_diag
	dmesg | grep -Eq "rvirtio_blk: invalid $name=.*: must be a number from"
}

sysfs_write_refused() {
	if echo 86401 >/sys/module/rvirtio_blk/parameters/stall_reset_secs 2>/dev/null; then
		log "writing stall_reset_secs=86401 succeeded"
		return 1
	fi
	[ "$(cat /sys/module/rvirtio_blk/parameters/stall_reset_secs)" = 0 ]
}

timeout_applies() {
	local t
	t=$(cat "/sys/block/$DEV/queue/io_timeout")
	[ "$t" = 7000 ] || {
		log "queue/io_timeout is $t ms, expected 7000"
		return 1
	}
	# Writable, unlike the C driver's: rvirtio_blk has a timeout handler.
	echo 9000 >"/sys/block/$DEV/queue/io_timeout" &&
		[ "$(cat "/sys/block/$DEV/queue/io_timeout")" = 9000 ]
}

no_fault_files() {
	[ ! -e "$(rv_dir)/drop_irqs" ] || {
		log "fault-injection files exist without fault_inject=1"
		return 1
	}
}

require_rvirtio
ktap_print_header
ktap_set_plan 12
step "io_timeout=0 is refused" refused io_timeout=0
step "io_timeout=99999 is refused" refused io_timeout=99999
step "reset_budget=65 is refused" refused reset_budget=65
step "fault_inject=2 is refused" refused fault_inject=2
step "request_retries=abc is refused" refused request_retries=abc
step "load with io_timeout=7" load_driver rvirtio_blk io_timeout=7
DEV=$(wait_disk rvirtio_blk 60) || bail "no disk"
step "io_timeout reaches the queue, and the queue's is writable" timeout_applies
step "a bad value written to sysfs is refused and not applied" sysfs_write_refused
step "no fault-injection files without fault_inject=1" no_fault_files
step "the counters exist" rv_eq resets 0
step "unload" unload_driver rvirtio_blk
step "dmesg clean" dmesg_check
ktap_finished
