#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: fail_io_timeout fakes timeouts of requests the device returned: they complete, with no reset
# rvirtio-disks: size=256M,serial=rvirtio-fake-0
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: io_timeout=2
# rvirtio-timeout: 600
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

FI=/sys/kernel/debug/fail_io_timeout

arm() {
	echo 1 >"/sys/block/$DEV/io-timeout-fail" &&
		echo 100 >"$FI/probability" &&
		echo 1 >"$FI/interval" &&
		echo 0 >"$FI/verbose" &&
		echo 8 >"$FI/times"
}

all_fired() {
	[ "$(cat "$FI/times")" = 0 ] || {
		log "fail_io_timeout times left: $(cat "$FI/times")"
		return 1
	}
}

require_rvirtio
[ -d "$FI" ] || skip_all "no fail_io_timeout (CONFIG_FAIL_IO_TIMEOUT)"
ktap_print_header
ktap_set_plan 8
start_driver
step "fail_io_timeout: fake the next 8 completions" arm
step "fio verify 8M with faked timeouts" fio_verify "$DEV" 8M
step "all 8 fake timeouts happened" all_fired
step "no reset" rv_eq resets 0
step "nothing failed" rv_eq failed 0
echo 0 >"/sys/block/$DEV/io-timeout-fail"
rv_show
step "dmesg clean" dmesg_check
ktap_finished
