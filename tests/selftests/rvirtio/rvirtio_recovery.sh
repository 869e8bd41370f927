#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# rvirtio_blk's recovery paths through its fault-injection knobs (module
# parameter fault_inject=1): a lost interrupt harvested by the timeout, an
# injected reset, and a malformed request (NEEDS_RESET). Data written
# before each fault is read back intact.

# shellcheck source=tests/selftests/rvirtio/rvirtio_lib.sh
. "$(dirname "$0")/rvirtio_lib.sh"

ktap_print_header
disk=$(rv_disk) || rv_skip_all "no disk is bound to rvirtio_blk"
dbg=$(rv_debugfs "$disk")
[ -w "$dbg/drop_irqs" ] || rv_skip_all "fault injection is off (load rvirtio_blk with fault_inject=1)"
ktap_set_plan 4

dev=/dev/$disk
tmp=${TMPDIR:-/tmp}/rvirtio-selftest.$$
q=/sys/block/$disk/queue
old_timeout=$(cat "$q/io_timeout")
# Where the test writes: 8 MiB in, 64 KiB; restored at the end.
dd if="$dev" of="$tmp.saved" bs=64k skip=128 count=1 iflag=direct 2>/dev/null
trap 'dd if="$tmp.saved" of="$dev" bs=64k seek=128 count=1 oflag=direct 2>/dev/null; echo "$old_timeout" >"$q/io_timeout"; rm -f "$tmp".*' EXIT
echo 2000 >"$q/io_timeout"

get() {
	cat "$dbg/$1"
}

# verified_io: write fresh data, read it back, compare.
verified_io() {
	head -c 65536 /dev/urandom >"$tmp.w" &&
		dd if="$tmp.w" of="$dev" bs=64k seek=128 count=1 oflag=direct 2>/dev/null &&
		dd if="$dev" of="$tmp.r" bs=64k skip=128 count=1 iflag=direct 2>/dev/null &&
		cmp -s "$tmp.w" "$tmp.r"
}

# after_fault KNOB COUNTER: set KNOB to 1, do verified I/O, and check that
# COUNTER moved.
after_fault() {
	local before
	before=$(get "$2")
	echo 1 >"$dbg/$1" && verified_io && [ "$(get "$2")" -gt "$before" ] &&
		[ "$(get state)" = 0 ]
}

ktap_test_result "verified I/O before any fault" verified_io
ktap_test_result "a dropped interrupt is harvested by the timeout (lost_interrupts)" \
	after_fault drop_irqs lost_interrupts
ktap_test_result "an injected reset requeues and recovers (resets)" after_fault inject_reset resets
ktap_test_result "a malformed request: NEEDS_RESET, reset, recovered (resets)" \
	after_fault inject_malformed resets
ktap_finished
