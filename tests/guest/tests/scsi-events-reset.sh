#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: rvirtio_scsi: LUNs plugged and unplugged while a reset holds the device without DRIVER_OK (QEMU drops those events, and its reset forgets it dropped any): after each reset the guest's LUNs match the host's (the driver checks every LUN and scans the host), while fio verifies on another LUN
# rvirtio-disks: type=scsi-hd,size=128M,serial=rvirtio-ser-0
# rvirtio-modules: rvirtio_scsi
# rvirtio-timeout: 600
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/rvirtio-scsi.sh
. /rvirtio/rvirtio-scsi.sh

# ready_delay_ms holds each reset's bring-up 1 s between the device's reset
# and DRIVER_OK: a LUN plugged or unplugged then makes an event that QEMU
# drops. The LUNs are null backends; sda carries the verified I/O (and the
# commands that fire the injected resets).

# in_window WHAT ID [TARGET LUN]: lun_change_in_window, then the guest's
# LUNs must come to match the host's.
in_window() {
	lun_change_in_window "$@" && views_come_to_match
}

require_rvirtio_scsi
ktap_print_header
ktap_set_plan 14
start_scsi 30 reset_budget=30
start_lun_changes /tmp/ev.done || bail "cannot start"
step "plug LUN 1:0 during a reset" in_window plug a 1 0
step "plug LUN 1:1 during a reset" in_window plug b 1 1
step "unplug LUN 1:1 during a reset (its target stays)" in_window unplug b
step "unplug LUN 1:0 during a reset (its target goes)" in_window unplug a
step "plug LUN 2:0 during a reset" in_window plug c 2 0
step "unplug LUN 2:0 during a reset" in_window unplug c
rv_set ready_delay_ms 0
step "at least 4 of the 6 changes were made while a reset held the device" in_window_at_least 4
step "fio verified throughout" bg_fio_until_verified /tmp/ev.done
step "nothing failed, the device is live" eval 'rv_eq failed 0 && state_is 0'
rv_show
step "unload rvirtio_scsi" unload_driver rvirtio_scsi
step "dmesg clean" dmesg_check
ktap_finished
