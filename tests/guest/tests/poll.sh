#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: poll_queues=1 gives a poll queue; io_uring polled I/O (fio hipri) verifies on it, also across a reset; poll_queues=0 has none
# rvirtio-disks: size=128M,serial=rvirtio-poll-0,num-queues=2
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: poll_queues=1
# rvirtio-timeout: 400
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

# polling N: queue/io_poll is N, and the disk has 2 hardware queues.
polling() {
	local p n
	p=$(cat "/sys/block/$DEV/queue/io_poll")
	n=$(ls "/sys/block/$DEV/mq" | wc -l)
	log "$DEV: queue/io_poll=$p, $n hardware queues"
	[ "$p" = "$1" ] && [ "$n" = 2 ]
}

# polled_io: verified io_uring polled writes and reads.
polled_io() {
	fio_verify "$DEV" 32M --ioengine=io_uring --hipri=1 --iodepth=8
}

# polled_io_over_reset: the same while a reset takes back what the device holds.
polled_io_over_reset() {
	local r
	r=$(rv_get resets)
	bg_io fio polled_io
	sleep 1
	rv_set inject_reset 1
	[ "$(bg_wait fio 200)" = 0 ] || {
		as_diag </tmp/bg.fio.err
		return 1
	}
	rv_ge resets $((r + 1))
}

# reload_without_poll: poll_queues=0 gives two interrupt-driven queues.
reload_without_poll() {
	# The later poll_queues=0 wins over the header's poll_queues=1.
	unload_driver "$DRIVER" && load_driver "$DRIVER" poll_queues=0 &&
		DEV=$(wait_disk "$DRIVER" 30)
}

if [ "$DRIVER" = rvirtio_blk ]; then
	DRIVER_PARAMS="${DRIVER_PARAMS:+$DRIVER_PARAMS }fault_inject=1"
fi
ktap_print_header
ktap_set_plan 9
start_driver
step "poll_queues=1: the disk polls, one of its two queues" polling 1
step "io_uring polled I/O verifies" polled_io
if [ "$DRIVER" = rvirtio_blk ]; then
	step "the poll queue completed requests (debugfs polled)" rv_ge polled 1
	step "polled I/O verifies across a reset" polled_io_over_reset
else
	ktap_test_skip "$DRIVER has no polled counter"
	ktap_test_skip "$DRIVER has no reset"
fi
step "reload with poll_queues=0" reload_without_poll
step "poll_queues=0: no polling" polling 0
step "dmesg clean" dmesg_check
ktap_finished
