#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: rvirtio_scsi: a sleep right after a reset is not held up by the rescan the reset asks for (the freezable event work rescans a few targets per run, so the freeze waits for one run, not for the whole rescan), and a rescan ends after the resume: LUNs plugged and unplugged at the host's last targets while the reset held the device are found, while fio verifies on sda
# rvirtio-disks: type=scsi-hd,size=128M,serial=rvirtio-ssr-0
# rvirtio-modules: rvirtio_scsi
# rvirtio-timeout: 600
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/rvirtio-scsi.sh
. /rvirtio/rvirtio-scsi.sh

# A scan of the whole host (256 targets, each probed with an INQUIRY
# through a new SCSI device) takes 10 to 19 s here (TCG, debug kernel). A
# freeze waits for a freezable work item that is running, up to
# pm_freeze_timeout (20 s by default), then fails the sleep ("Freezing
# remaining freezable tasks failed"). 5 s makes a run that scans the whole
# host fail it every time; one that scans 8 targets takes under a second.
FREEZE_MS=5000

# change_then_sleep WHAT ID [TARGET LUN]: plug or unplug a LUN while a
# reset holds the device (lun_change_in_window), and sleep at once: the
# reset's rescan, asked for as the reset ended, is under way (a whole one
# takes seconds). After the resume, the guest's LUNs come to match the
# host's: a rescan reached the last targets after the thaw.
change_then_sleep() {
	lun_change_in_window "$@" && sleep_cycles 1 && views_come_to_match
}

require_rvirtio_scsi
ktap_print_header
ktap_set_plan 12
start_scsi 30 reset_budget=30
start_lun_changes /tmp/ssr.done || bail "cannot start"
FREEZE_WAS=$(cat /sys/power/pm_freeze_timeout)
echo "$FREEZE_MS" >/sys/power/pm_freeze_timeout
step "plug LUN 250:0 during a reset, then sleep" change_then_sleep plug a 250 0
step "unplug LUN 250:0 during a reset, then sleep" change_then_sleep unplug a
step "plug LUN 255:0 during a reset, then sleep" change_then_sleep plug b 255 0
step "unplug LUN 255:0 during a reset, then sleep" change_then_sleep unplug b
rv_set ready_delay_ms 0
echo "$FREEZE_WAS" >/sys/power/pm_freeze_timeout
step "at least 2 of the 4 changes were made while a reset held the device" in_window_at_least 2
step "fio verified throughout" bg_fio_until_verified /tmp/ssr.done
step "nothing failed, the device is live" eval 'rv_eq failed 0 && state_is 0'
rv_show
step "unload rvirtio_scsi" unload_driver rvirtio_scsi
step "dmesg clean" dmesg_check
ktap_finished
