#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: a GET_ID the device never answers, failed by the reset, makes reading serial fail with EIO instead of showing an empty serial; the device recovers
# rvirtio-disks: size=64M,serial=rvirtio-serial-err
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: fault_inject=1 request_retries=0 io_timeout=5
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

# The same as in the rvirtio-disks header above.
SERIAL=rvirtio-serial-err

serial_is() {
	local got
	got=$(cat "/sys/block/$DEV/serial") || return 1
	log "serial: '$got'"
	[ "$got" = "$SERIAL" ]
}

# The malformed GET_ID makes QEMU set NEEDS_RESET; the reset takes the
# request back and, with request_retries=0, fails it: the read must fail
# with EIO, not succeed with an empty string. One read(2), with dd: busybox
# cat tries sendfile first and reads again when it fails, which would ask
# the (by then reset) device a second time.
serial_fails() {
	if dd if="/sys/block/$DEV/serial" of=/tmp/serial bs=4096 count=1 2>/tmp/serial.err; then
		log "reading serial succeeded: '$(cat /tmp/serial)'"
		return 1
	fi
	as_diag </tmp/serial.err
	grep -q 'Input/output error' /tmp/serial.err
}

require_rvirtio
ktap_print_header
ktap_set_plan 9
start_driver
step "serial reads $SERIAL" serial_is
step "send the next request (GET_ID) malformed" rv_set inject_malformed 1
step "reading serial fails with EIO" serial_fails
step "the reset failed the request it took back" rv_ge failed 1
step "serial reads again" serial_is
step "fio verify 8M" fio_verify "$DEV" 8M
step "dmesg clean" dmesg_check
ktap_finished
