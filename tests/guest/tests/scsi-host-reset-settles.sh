#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: rvirtio_scsi: a host reset after which the device asks for another reset at once succeeds once that one is done too, rather than failing (which takes every LUN offline for good); data verifies
# rvirtio-disks: type=scsi-hd,size=128M,serial=rvirtio-shs-0
# rvirtio-modules: rvirtio_scsi
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/rvirtio-scsi.sh
. /rvirtio/rvirtio-scsi.sh

# reset_again makes the host reset's reset ask for another as it ends,
# before the host reset looks at the state. sg_reset -H runs the driver's
# eh_host_reset_handler (SG_SCSI_RESET), which fails the ioctl with EIO if
# the handler fails.

host_reset_twice() {
	local r0
	r0=$(rv_get resets)
	rv_set reset_again 1 && sg_reset -H /dev/sda 2>&1 | as_diag
	[ "$(rv_get resets)" -ge $((r0 + 2)) ] || {
		log "resets: $r0 before, $(rv_get resets) after"
		return 1
	}
}

host_reset_ok() {
	rv_set reset_again 1 && sg_reset -H /dev/sda
}

lun_running() {
	[ "$(cat /sys/block/sda/device/state)" = running ]
}

require_rvirtio_scsi
ktap_print_header
ktap_set_plan 10
start_scsi 30
step "data before" fio_verify sda 16M
step "a host reset followed at once by another: both ran" host_reset_twice
step "a host reset followed at once by another succeeds" host_reset_ok
step "the LUN is running" lun_running
step "data verifies" fio_verify sda 16M
rv_show
step "unload rvirtio_scsi" unload_driver rvirtio_scsi
step "dmesg clean" dmesg_check
ktap_finished
