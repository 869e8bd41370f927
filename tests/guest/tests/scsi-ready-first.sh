#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: rvirtio_scsi: no buffer reaches the device before DRIVER_OK: with every bring-up held 100 ms between creating the queues and DRIVER_OK, fio verifies through 8 injected resets and a sleep, a LUN reset sent during a held bring-up succeeds once it is over, a LUN hot-plugged after appears, and no queue held a buffer at DRIVER_OK (early_buffers)
# rvirtio-disks: type=scsi-hd,size=256M,serial=rvirtio-srf-0
# rvirtio-modules: rvirtio_scsi
# rvirtio-timeout: 400
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/rvirtio-scsi.sh
. /rvirtio/rvirtio-scsi.sh

# ready_delay_ms holds each bring-up between creating the queues and
# DRIVER_OK, while the midlayer keeps sending commands (queuecommand answers
# busy while a reset has no queue). Just before DRIVER_OK the engine counts
# a bring-up whose queues hold a buffer already in early_buffers.

sleep_under_io() {
	local rc
	bg_io fio fio_verify sda 64M --iodepth=32
	sleep 1
	sleep_cycles 1 || return 1
	rc=$(bg_wait fio 300) || return 1
	as_diag </tmp/bg.fio.err
	[ "$rc" = 0 ]
}

# hotplug: a LUN hot-plugged now appears (the event buffers were posted
# again once the queues were published).
hotplug() {
	plug_lun hp && poll 30 test -b /dev/sdb
}

# lun_reset_in_window: a LUN reset (sg_reset -d, the error handler's
# device reset) while a bring-up is held 1 s: the control queue is not
# open yet, so the handler waits for the reset, which took every command
# back, and succeeds rather than failing at once.
lun_reset_in_window() {
	local r rc
	r=$(rv_get resets)
	rv_set ready_delay_ms 1000 && rv_set inject_reset 1 || return 1
	dd if=/dev/sda of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null &
	poll 10 resets_above "$r" || return 1
	sleep 0.3
	state_is 1 || {
		log "the reset was over already"
		return 1
	}
	sg_reset -d /dev/sda >/tmp/sg_reset.out 2>&1
	rc=$?
	as_diag </tmp/sg_reset.out
	wait
	rv_set ready_delay_ms 100
	[ "$rc" = 0 ]
}

require_rvirtio_scsi
ktap_print_header
ktap_set_plan 11
start_scsi 30 reset_budget=30
rv_set ready_delay_ms 100
step "fio verify through 8 injected resets" resets_under_io 8 0.3 64M --iodepth=32
step "fio verify across a sleep" sleep_under_io
step "no queue held a buffer at DRIVER_OK" rv_eq early_buffers 0
step "a LUN reset during a held bring-up waits for it and succeeds" lun_reset_in_window
step "a LUN hot-plugged after the held bring-ups appears" hotplug
step "nothing failed, the device is live" eval 'rv_eq failed 0 && state_is 0'
rv_show
rv_set ready_delay_ms 0
step "unload rvirtio_scsi" unload_driver rvirtio_scsi
step "dmesg clean" dmesg_check
ktap_finished
