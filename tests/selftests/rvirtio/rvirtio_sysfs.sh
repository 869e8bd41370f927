#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# rvirtio_blk's sysfs, module parameters and debugfs, as the admin guide
# describes them.

# shellcheck source=tests/selftests/rvirtio/rvirtio_lib.sh
. "$(dirname "$0")/rvirtio_lib.sh"

ktap_print_header
disk=$(rv_disk) || rv_skip_all "no disk is bound to rvirtio_blk"
q=/sys/block/$disk/queue
dbg=$(rv_debugfs "$disk")
ktap_set_plan 8

serial_reads() {
	cat "/sys/block/$disk/serial" >/dev/null
}

cache_type_valid() {
	case "$(cat "/sys/block/$disk/cache_type")" in
	"write back" | "write through") return 0 ;;
	esac
	return 1
}

io_timeout_writable() {
	local t
	t=$(cat "$q/io_timeout") && echo 7000 >"$q/io_timeout" &&
		[ "$(cat "$q/io_timeout")" = 7000 ] && echo "$t" >"$q/io_timeout"
}

params_present() {
	local p
	for p in io_timeout stall_reset_secs reset_budget reset_window \
		request_retries num_request_queues poll_queues queue_depth fault_inject; do
		[ -r "/sys/module/rvirtio_blk/parameters/$p" ] || return 1
	done
}

bad_param_refused() {
	! echo 0 >/sys/module/rvirtio_blk/parameters/io_timeout 2>/dev/null
}

counters_present() {
	local f
	for f in timeouts lost_interrupts resets reset_harvested requeued failed give_ups polled \
		suspends state; do
		[ -r "$dbg/$f" ] || return 1
	done
}

state_live() {
	[ "$(cat "$dbg/state")" = 0 ]
}

mq_dirs() {
	[ -d "/sys/block/$disk/mq/0" ]
}

ktap_test_result "$disk: serial is readable" serial_reads
ktap_test_result "$disk: cache_type is write back or write through" cache_type_valid
ktap_test_result "$disk: queue/io_timeout is writable (rvirtio has a timeout handler)" io_timeout_writable
ktap_test_result "$disk: has blk-mq hardware queues" mq_dirs
ktap_test_result "module parameters are all there" params_present
ktap_test_result "an out-of-range parameter is refused" bad_param_refused
ktap_test_result "debugfs counters are all there" counters_present
ktap_test_result "the device is live (state 0)" state_live
ktap_finished
