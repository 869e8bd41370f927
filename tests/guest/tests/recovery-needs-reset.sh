#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: a malformed request makes QEMU set NEEDS_RESET; the config change resets the device at once and I/O verifies
# rvirtio-disks: size=256M,serial=rvirtio-needsreset-0
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: fault_inject=1 io_timeout=5
# rvirtio-timeout: 600
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

require_rvirtio
ktap_print_header
ktap_set_plan 10
start_driver
step "fio verify 8M before" fio_verify "$DEV" 8M
step "send the next request malformed" rv_set inject_malformed 1
step "fio verify 32M across the reset" fio_verify "$DEV" 32M
step "the device was reset (resets >= 1)" rv_ge resets 1
step "the reset gave NEEDS_RESET as its reason" dmesg_has 'rvirtio_blk .*reset 1: device needs reset'
step "the malformed request was requeued, not failed" rv_eq failed 0
step "the device is live again (state 0)" rv_eq state 0
rv_show
step "dmesg clean" dmesg_check
ktap_finished
