#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: the C virtio_scsi and rvirtio_scsi expose the same scsi_host attributes, LUN set, per-LUN queue limits, capacity and INQUIRY on the same device
# rvirtio-disks: type=scsi-hd,size=64M,serial=sp-0 type=scsi-hd,size=32M,serial=sp-1,logical_block_size=4096,physical_block_size=4096 type=scsi-hd,size=16M,serial=sp-2,scsi-id=2,lun=3 type=scsi-hd,size=16M,serial=sp-3,scsi-id=2,lun=5
# rvirtio-modules: rvirtio_scsi virtio_scsi
# rvirtio-timeout: 400
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

[ "$DRIVER" = rvirtio_blk ] || skip_all "the test compares virtio_scsi with rvirtio_scsi itself"
NLUNS=4

# What differs on purpose, as sed expressions applied to both records.
# - proc_name: the driver's name, rvirtio_scsi or virtio_scsi.
DELIBERATE='/^host\/proc_name=/d'

# record DIR: the host's attributes and every LUN's, as DIR/host and
# DIR/T:L (target:lun) files of "name=value" lines.
record() {
	local dir=$1 h f d hctl
	mkdir -p "$dir"
	h=$(ls /sys/class/scsi_host | head -n 1)
	for f in /sys/class/scsi_host/"$h"/*; do
		[ -f "$f" ] && [ -r "$f" ] || continue
		echo "host/${f##*/}=$(tr '\n' ' ' <"$f" 2>&1)"
	done >"$dir/host"
	for d in /sys/block/sd*; do
		[ -e "$d" ] || continue
		hctl=$(readlink -f "$d/device")
		hctl=${hctl##*/}
		{
			echo "size=$(cat "$d/size")"
			echo "ro=$(cat "$d/ro")"
			for f in "$d"/queue/*; do
				[ -f "$f" ] || continue
				echo "queue/${f##*/}=$(tr '\n' ' ' <"$f" 2>&1)"
			done
			echo "mq=$(find "$d/mq" -mindepth 1 -maxdepth 1 | wc -l)"
			for f in vendor model rev type scsi_level queue_depth queue_type \
				device_blocked timeout eh_timeout; do
				echo "device/$f=$(cat "$d/device/$f" 2>&1)"
			done
			echo "inquiry=$(sg_inq "/dev/${d##*/}" 2>&1 | tr '\n' ' ')"
		} >"$dir/${hctl#*:*:}"
	done
	[ "$(find "$dir" -name '*:*' | wc -l)" = "$NLUNS" ] || {
		log "$(find "$dir" -name '*:*' | wc -l) LUNs, expected $NLUNS"
		return 1
	}
}

# all_luns DRIVER: DRIVER's host shows every LUN.
all_luns() {
	poll 30 eval '[ "$(find /sys/block -name "sd*" | wc -l)" = "$NLUNS" ]'
}

# same NAME: the two records of NAME are identical.
same() {
	local c=/tmp/sp/c/$1 r=/tmp/sp/r/$1
	if [ ! -s "$c" ] || [ ! -s "$r" ]; then
		log "no record of $1"
		return 1
	fi
	sed -i "$DELIBERATE" "$c" "$r"
	if ! diff -u "$c" "$r" >"/tmp/sp/$1.diff"; then
		log "$1: virtio_scsi (-) and rvirtio_scsi (+) differ:"
		as_diag <"/tmp/sp/$1.diff"
		return 1
	fi
	log "$1: $(grep -E '^(size|queue/logical_block_size|queue/max_hw_sectors_kb|host/can_queue|host/cmd_per_lun|host/sg_tablesize)=' "$c" | tr '\n' ' ')"
}

ktap_print_header
ktap_set_plan $((7 + NLUNS + 1))
step "load virtio_scsi" load_driver virtio_scsi || bail "cannot load virtio_scsi"
step "virtio_scsi shows the $NLUNS LUNs" all_luns
record /tmp/sp/c || log "recording under virtio_scsi failed"
step "unload virtio_scsi" unload_driver virtio_scsi
step "load rvirtio_scsi" load_driver rvirtio_scsi || bail "cannot load rvirtio_scsi"
step "rvirtio_scsi shows the $NLUNS LUNs" all_luns
record /tmp/sp/r || log "recording under rvirtio_scsi failed"
step "the host is the same" same host
for f in /tmp/sp/c/*:*; do
	step "LUN ${f##*/} is the same" same "${f##*/}"
done
step "unload rvirtio_scsi" unload_driver rvirtio_scsi
step "dmesg clean" dmesg_check
ktap_finished
