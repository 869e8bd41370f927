#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: virtscsi_poll_queues=1 on a 2-queue virtio-scsi host gives a poll queue; io_uring polled I/O (fio hipri) verifies on a LUN
# rvirtio-disks: type=scsi-hd,size=128M,serial=rvirtio-sp-0
# rvirtio-modules: rvirtio_scsi
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

case "$DRIVER" in
*scsi*) SCSI=$DRIVER ;;
*) SCSI=rvirtio_scsi ;;
esac
[ "$DRIVER" = virtio_blk ] && skip_all "a SCSI test; --driver virtio_scsi runs it with the C driver"

has_sda() {
	[ -b /dev/sda ]
}

# polling: sda polls, and has 2 hardware queues (1 default, 1 poll).
polling() {
	local p n
	p=$(cat /sys/block/sda/queue/io_poll)
	n=$(find /sys/block/sda/mq -mindepth 1 -maxdepth 1 | wc -l)
	log "sda: queue/io_poll=$p, $n hardware queues"
	[ "$p" = 1 ] && [ "$n" = 2 ]
}

ktap_print_header
ktap_set_plan 6
step "load $SCSI virtscsi_poll_queues=1" load_driver "$SCSI" virtscsi_poll_queues=1 ||
	bail "cannot load $SCSI"
step "the LUN appears" poll 30 has_sda || bail "no disk"
step "it polls, on one of two queues" polling
step "io_uring polled I/O verifies" fio_verify sda 32M --ioengine=io_uring --hipri=1 --iodepth=8
step "unload $SCSI" unload_driver "$SCSI"
step "dmesg clean" dmesg_check
ktap_finished
