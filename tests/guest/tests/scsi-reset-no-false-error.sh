#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: rvirtio_scsi: a command that finds its queue gone during a reset, whose state is read only after the reset ended, is retried, not failed with DID_NO_CONNECT: fio verifies through 12 injected resets with that window widened
# rvirtio-disks: type=scsi-hd,size=256M,serial=rvirtio-snf-0
# rvirtio-modules: rvirtio_scsi
# rvirtio-timeout: 400
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/rvirtio-scsi.sh
. /rvirtio/rvirtio-scsi.sh

# noqueue_delay_ms holds a command that found its queue gone for 30 ms
# before the driver reads the recovery state: the reset (held 5 ms by
# reset_delay_ms) has ended by then. Decided on that state, Live, the
# command must go back to the midlayer, not fail.

# resets_window N: resets_under_io with the window widened.
resets_window() {
	local rc
	rv_set noqueue_delay_ms 30 && rv_set reset_delay_ms 5 || return 1
	resets_under_io "$1" 0.2 96M --iodepth=32
	rc=$?
	rv_set noqueue_delay_ms 0
	return $rc
}

require_rvirtio_scsi
ktap_print_header
ktap_set_plan 8
start_scsi 30 reset_budget=30
step "fio verify through 12 injected resets" resets_window 12
step "commands met the window (no_queue)" rv_ge no_queue 1
step "nothing failed, the device is live" eval 'rv_eq failed 0 && state_is 0'
rv_show
step "unload rvirtio_scsi" unload_driver rvirtio_scsi
step "dmesg clean" dmesg_check
ktap_finished
