#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: a slow vhost-user-blk backend (rvirtio-vub, one request every 250 ms) that makes progress, under the stall policy: requests wait far longer than io_timeout, yet no reset, data verified
# rvirtio-disks: vhost=,size=64M,serial=rvirtio-vub-prog-0
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: io_timeout=2 stall_reset_secs=1 num_request_queues=1
# rvirtio-timeout: 400
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/vub.sh
. /rvirtio/vub.sh

# 64 requests at queue depth 32 on one request queue, answered one every
# 250 ms: the last of a batch waits some 8 s, four io_timeouts, and expires
# several times; but its queue completes a request between any two of its
# expiries, so even with stall_reset_secs=1 nothing is reset.

slow_fio() {
	fio --name=slow --filename="/dev/$DEV" --direct=1 --ioengine=libaio \
		--iodepth=32 --rw=randwrite --bs=4k --io_size=256k --randrepeat=0 \
		--verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 \
		--exitall_on_error=1 >/tmp/slow.out 2>&1
	rc=$?
	grep -E '^ +(READ|WRITE):' /tmp/slow.out | as_diag
	[ "$rc" = 0 ] || as_diag </tmp/slow.out
	[ "$rc" = 0 ] && ! grep -Eq 'verify failed|bad magic|err= *[1-9]' /tmp/slow.out
}

require_rvirtio
ktap_print_header
ktap_set_plan 11
start_driver
step "the backend answers one request every 250 ms" host vub d0 slow 250
step "a verified fio of 128 requests at queue depth 32" slow_fio
step "requests expired (waited longer than io_timeout)" rv_ge timeouts 2
step "no reset: the queue made progress" rv_eq resets 0
step "nothing failed" rv_eq failed 0
step "slow off" host vub d0 slow off
step "fio verify 16M" fio_verify "$DEV" 16M
step "the backend holds none, none failed, none malformed" vub_clean d0
rv_show
vub_show d0
step "dmesg clean" dmesg_check
ktap_finished
