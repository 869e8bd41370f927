#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: rvirtio_scsi with a poll queue (virtscsi_poll_queues=1): polled I/O (io_uring hipri) verifies through a backend stall past the command timeout (an abort taken as failed: the error handler resets the LUN and sends its own commands, which go to an interrupt-driven queue), injected resets and a LUN reset; the LUN stays online
# rvirtio-disks: type=scsi-hd,size=128M,serial=rvirtio-spr-0,nbdkit=pause
# rvirtio-modules: rvirtio_scsi
# rvirtio-timeout: 500
# rvirtio-qemu: 7.2 QEMU 10.0.2 deadlocks when an abort or LUN reset cancels a request held in the stalled backend (testing.rst; fixed in QEMU 10.0.7)
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/rvirtio-scsi.sh
. /rvirtio/rvirtio-scsi.sh

POLLED="--ioengine=io_uring --hipri=1"

# stall_under_polled_io: polled fio while the backend pauses for 12 s, four
# command timeouts (3 s): the midlayer aborts; reject_tmf makes it take the
# first abort as failed, so its error handler resets the LUN and then sends
# its own TEST UNIT READY with a polled command's request, whose hardware
# queue is the poll queue.
stall_under_polled_io() {
	local rc
	# shellcheck disable=SC2086 # word splitting wanted
	bg_io fio fio_verify sda 32M --iodepth=8 $POLLED
	sleep 2
	rv_set reject_tmf 1 || return 1
	nbd_pause d0 || return 1
	host after 12 nbd-resume d0 >/dev/null
	rc=$(bg_wait fio 300) || return 1
	as_diag </tmp/bg.fio.err
	[ "$rc" = 0 ]
}

lun_reset_under_polled_io() {
	local rc
	# shellcheck disable=SC2086 # word splitting wanted
	bg_io fio fio_verify sda 32M --iodepth=8 $POLLED
	sleep 1
	sg_reset -d /dev/sda 2>&1 | as_diag
	rc=$(bg_wait fio 300) || return 1
	as_diag </tmp/bg.fio.err
	[ "$rc" = 0 ]
}

lun_online() {
	local s
	s=$(cat /sys/block/sda/device/state)
	log "sda: $s"
	[ "$s" = running ]
}

require_rvirtio_scsi
ktap_print_header
ktap_set_plan 14
start_scsi 3 virtscsi_poll_queues=1
step "sda polls" eval '[ "$(cat /sys/block/sda/queue/io_poll)" = 1 ]'
step "polled fio verifies through a 12 s backend stall" stall_under_polled_io
step "the commands timed out" rv_ge timeouts 1
step "the error handler reset the LUN" rv_ge lun_resets 1
step "its own commands went to an interrupt-driven queue" rv_ge eh_rerouted 1
# shellcheck disable=SC2086 # word splitting wanted
step "polled fio verifies through 4 injected resets" resets_under_io 4 0.3 32M --iodepth=8 $POLLED
step "polled fio verifies through a LUN reset" lun_reset_under_polled_io
step "the LUN is online" lun_online
step "fio verify afterwards" fio_verify sda 16M
rv_show
step "unload rvirtio_scsi" unload_driver rvirtio_scsi
step "dmesg clean" dmesg_check
ktap_finished
