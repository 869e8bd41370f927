#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: QMP hot-plugs and unplugs a scsi-hd LUN 50 times while fio verifies another LUN of the same rvirtio_scsi host; each plug appears and each unplug goes; unplugging a LUN under I/O fails that I/O and nothing else
# rvirtio-disks: type=scsi-hd,size=128M,serial=rvirtio-hp-0
# rvirtio-modules: rvirtio_scsi
# rvirtio-timeout: 900
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/rvirtio-scsi.sh
. /rvirtio/rvirtio-scsi.sh

case "$DRIVER" in
*scsi*) SCSI=$DRIVER ;;
*) SCSI=rvirtio_scsi ;;
esac
[ "$DRIVER" = virtio_blk ] && skip_all "a SCSI test; --driver virtio_scsi runs it with the C driver"

ROUNDS=50

# lun_count N: the host has N sd disks.
lun_count() {
	[ "$(find /sys/block -name 'sd*' | wc -l)" = "$1" ]
}

# plug_cycle I: plug LUN 0 of target 1 (a null backend), see it appear,
# unplug it, see it go.
plug_cycle() {
	plug_lun hp || {
		log "round $1: plug failed"
		return 1
	}
	poll 30 lun_count 2 || {
		log "round $1: the plugged LUN did not appear"
		return 1
	}
	unplug_lun hp || {
		log "round $1: unplug failed"
		return 1
	}
	poll 30 lun_count 1 || {
		log "round $1: the unplugged LUN did not go"
		return 1
	}
}

cycles() {
	local i=0
	while [ "$i" -lt "$ROUNDS" ]; do
		plug_cycle "$i" || return 1
		i=$((i + 1))
	done
	log "$ROUNDS plug/unplug rounds"
}

# new_lun: the sd disk that is not sda.
new_lun() {
	find /sys/block -name 'sd*' ! -name sda | sed 's#.*/##' | head -n 1
}

# unplug_under_io: plug a LUN, run I/O on it, unplug it meanwhile: the I/O
# fails, the LUN goes.
unplug_under_io() {
	local d rc
	plug_lun hp && poll 30 lun_count 2 || return 1
	d=$(new_lun)
	bg_io victim fio --name=victim --filename="/dev/$d" --direct=1 --ioengine=libaio \
		--iodepth=16 --rw=randrw --bs=4k --time_based --runtime=60
	sleep 2
	bg_running victim || return 1
	unplug_lun hp || return 1
	poll 30 lun_count 1 || {
		log "/dev/$d did not go"
		return 1
	}
	rc=$(bg_wait victim 60) || return 1
	log "fio on the unplugged /dev/$d ended with $rc: $(grep -m1 -iE 'error|err=' /tmp/bg.victim.err)"
	[ "$rc" != 0 ]
}

ktap_print_header
ktap_set_plan 8
step "load $SCSI" load_driver "$SCSI" || bail "cannot load $SCSI"
step "one LUN" poll 30 lun_count 1 || bail "no disk"
bg_io fio fio_until /tmp/hp.done sda 32M --iodepth=8
step "$ROUNDS hot-plug/unplug rounds" cycles
touch /tmp/hp.done
step "verified I/O on the other LUN through all of them" eval '[ "$(bg_wait fio 400)" = 0 ]'
as_diag </tmp/bg.fio.err
step "unplugging a LUN under I/O fails its I/O, and only that" unplug_under_io
step "unload $SCSI" unload_driver "$SCSI"
step "no LUN left" lun_count 0
step "dmesg clean" dmesg_check
ktap_finished
