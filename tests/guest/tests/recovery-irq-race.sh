#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: an interrupt completes an expired request between the block layer's expiry check and the timeout's harvest (irq_race): the timeout leaves the completed request alone (no renotify, no reset, no timer re-armed on it)
# rvirtio-disks: size=64M,serial=rvirtio-race-0
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: fault_inject=1 io_timeout=2 stall_reset_secs=1
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

# The interrupt of one read is dropped (drop_irqs), so the read waits on the
# used ring for its timeout; irq_race then runs the interrupt handler right
# before the timeout's harvest, which so finds nothing: the request has
# ended (blk_mq_rq_state), and the timeout must say so rather than treat it
# as one the device still holds.

raced_read() {
	dd if=/dev/urandom of=/tmp/w bs=4k count=1 2>/dev/null &&
		dd if=/tmp/w of="/dev/$DEV" bs=4k seek=100 oflag=direct 2>/dev/null || return 1
	rv_set drop_irqs 1 && rv_set irq_race 1 || return 1
	dd if="/dev/$DEV" of=/tmp/r bs=4k skip=100 count=1 iflag=direct 2>/dev/null &&
		cmp /tmp/w /tmp/r
}

require_rvirtio
ktap_print_header
ktap_set_plan 11
start_driver
step "a read whose interrupt races its timeout completes, data verified" raced_read
step "the race fired" rv_eq irq_race 0
step "one timeout" rv_eq timeouts 1
step "the interrupt, not the harvest, completed it" rv_eq lost_interrupts 0
step "no renotify for a completed request" rv_eq renotified 0
step "no reset" rv_eq resets 0
step "fio verify 16M afterwards" fio_verify "$DEV" 16M
step "still one timeout: no timer re-armed on the completed request" rv_eq timeouts 1
rv_show
step "dmesg clean" dmesg_check
ktap_finished
