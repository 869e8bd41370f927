# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Helpers of the rvirtio_scsi recovery tests: load the driver, find the LUN
# and the host's debugfs directory. Sourced after lib.sh and rvirtio-blk.sh
# (whose rv_* helpers read $RV_DIR).

# Skip unless the driver under test is rvirtio_scsi (the C virtio_scsi has no
# recovery to test) or the default rvirtio_blk run, which runs them too.
require_rvirtio_scsi() {
	case "$DRIVER" in
	rvirtio_scsi | rvirtio_blk) ;;
	*) skip_all "$DRIVER has no SCSI recovery to test" ;;
	esac
}

# host_driver DISK: the driver of the virtio device under DISK's SCSI host.
host_driver() {
	local p
	p=$(up_from "$1" 'virtio[0-9]*') && readlink "$p/driver" | sed 's#.*/##'
}

# scsi_host_of DISK: DISK's SCSI host (host0).
scsi_host_of() {
	local p
	p=$(up_from "$1" 'host[0-9]*') && echo "${p##*/}"
}

# start_scsi TIMEOUT [PARAM=VALUE...]: load rvirtio_scsi with fault_inject=1
# and the PARAMs, wait for sda, check that rvirtio_scsi serves it, give it
# a TIMEOUT-second command timeout; sets DEV=sda and RV_DIR. Bails out on
# failure.
start_scsi() {
	local t=$1
	shift
	step "load rvirtio_scsi fault_inject=1 $*" load_driver rvirtio_scsi fault_inject=1 "$@" ||
		bail "cannot load rvirtio_scsi"
	step "sda appears" poll 30 test -b /dev/sda || bail "no disk"
	# shellcheck disable=SC2034 # rvirtio-blk.sh reads it
	DEV=sda
	step "the host is rvirtio_scsi's" test "$(host_driver sda)" = rvirtio_scsi || bail "not bound"
	RV_DIR=/sys/kernel/debug/rvirtio_scsi/$(scsi_host_of sda)
	echo "$t" >/sys/block/sda/device/timeout
	log "sda: $(cat /sys/block/sda/device/timeout) s command timeout; counters in $RV_DIR"
}

# start_held_reset MS: inject a reset, held MS ms (reset_delay_ms) before it
# touches the device, and send a read to fire it.
start_held_reset() {
	rv_set reset_delay_ms "$1" &&
		rv_set inject_reset 1 &&
		dd if=/dev/sda of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null
}

resets_above() {
	[ "$(rv_get resets)" -gt "$1" ]
}

# resets_under_io N GAP SIZE [FIO-ARGS...]: fio verify SIZE on sda, round
# after round, while N resets are injected one after the other, GAP s
# apart, each counted before the next is injected. An injected reset fires
# at the next command, so fio runs until the last one was counted. Fails if
# fio fails or a reset is not counted within 10 s.
resets_under_io() {
	local n=$1 gap=$2 size=$3 done=/tmp/.injected rc=0 rounds=0 inj
	shift 3
	rm -f "$done"
	(
		i=0
		while [ "$i" -lt "$n" ]; do
			sleep "$gap"
			r=$(rv_get resets)
			rv_set inject_reset 1
			poll 10 resets_above "$r" || {
				echo fail >"$done"
				exit 1
			}
			i=$((i + 1))
		done
		echo ok >"$done"
	) &
	inj=$!
	while [ ! -e "$done" ]; do
		fio_verify sda "$size" "$@" || {
			rc=1
			kill "$inj" 2>/dev/null
			break
		}
		rounds=$((rounds + 1))
	done
	wait "$inj" || rc=1
	log "$rounds fio round(s) while $n resets were injected"
	[ "$(cat "$done" 2>/dev/null)" = ok ] || {
		log "an injected reset was not counted within 10 s"
		rc=1
	}
	return $rc
}

# plug_lun [ID [TARGET [LUN]]]: hot-plug a LUN on the host scsi0: device ID
# (default hp) over a 64 MiB null backend of the same name, at TARGET
# (default 1) and LUN (default 0).
plug_lun() {
	lun_backend_add "${1:-hp}" && lun_device_add "${1:-hp}" "${2:-1}" "${3:-0}"
}

# lun_backend_add ID: the 64 MiB null backend of plug_lun's LUN ID.
lun_backend_add() {
	host qmp '{"execute":"blockdev-add","arguments":{"driver":"null-co","node-name":"'"$1"'","size":67108864,"read-zeroes":true}}' >/dev/null
}

# lun_device_add ID TARGET LUN: plug_lun's device, over backend ID.
lun_device_add() {
	host qmp '{"execute":"device_add","arguments":{"driver":"scsi-hd","id":"'"$1"'","bus":"scsi0.0","scsi-id":'"$2"',"lun":'"$3"',"drive":"'"$1"'"}}' >/dev/null
}

# unplug_lun [ID]: hot-unplug the LUN plug_lun ID added (default hp), wait
# until QEMU deleted it, and delete its backend.
unplug_lun() {
	lun_device_del "${1:-hp}" && lun_deleted "${1:-hp}"
}

# lun_device_del ID: ask QEMU to unplug LUN ID (the event goes out now).
lun_device_del() {
	host qmp '{"execute":"device_del","arguments":{"id":"'"$1"'"}}' >/dev/null
}

# lun_deleted ID: wait until QEMU deleted LUN ID, and delete its backend.
lun_deleted() {
	host qmp-wait-event DEVICE_DELETED 30 device="$1" >/dev/null &&
		host qmp '{"execute":"blockdev-del","arguments":{"node-name":"'"$1"'"}}' >/dev/null
}

# The LUNs the host has, as the guest names them (H:0:T:L), sorted; see
# start_lun_changes.
HOST_LUNS=''
# How many of lun_change_in_window's changes QEMU made while the reset was
# still held.
IN_WINDOW=0

# start_lun_changes DONE: the host's LUNs are sda's alone (HNO is its
# host's number); the background I/O fio (bg_io) verifies 32 MiB of sda
# until DONE exists; each bring-up is held 1 s before DRIVER_OK.
start_lun_changes() {
	HNO=$(scsi_host_of sda) && HNO=${HNO#host} || return 1
	HOST_LUNS="$HNO:0:0:0"
	IN_WINDOW=0
	rm -f "$1"
	bg_io fio fio_until "$1" sda 32M --iodepth=16
	rv_set ready_delay_ms 1000
}

luns_guest() {
	find /sys/class/scsi_device -mindepth 1 -maxdepth 1 | sed 's#.*/##' | sort | tr '\n' ' '
}

luns_host() {
	echo "$HOST_LUNS" | tr ' ' '\n' | grep . | sort | tr '\n' ' '
}

views_match() {
	[ "$(luns_guest)" = "$(luns_host)" ]
}

# lun_change_in_window WHAT ID [TARGET LUN]: with ready_delay_ms holding
# each bring-up between the device's reset and DRIVER_OK, inject a reset
# and, once the device is reset and held, plug (WHAT=plug) LUN ID at
# TARGET:LUN, or unplug (WHAT=unplug) LUN ID: QEMU drops the event, and
# only the rescan after the reset finds the change. Updates HOST_LUNS;
# IN_WINDOW counts the changes QEMU made while the reset was still held (a
# loaded host may miss the window now and then). Returns once the reset is
# over.
lun_change_in_window() {
	local what=$1 id=$2 t=$3 l=$4 r
	if [ "$what" = plug ]; then
		lun_backend_add "$id" || return 1
	fi
	r=$(rv_get resets)
	rv_set inject_reset 1 || return 1
	poll 10 resets_above "$r" || {
		log "the injected reset did not start"
		return 1
	}
	sleep 0.2
	case "$what" in
	plug)
		lun_device_add "$id" "$t" "$l" || return 1
		HOST_LUNS="$HOST_LUNS $HNO:0:$t:$l"
		eval "LUN_$id=$HNO:0:$t:$l"
		;;
	unplug)
		lun_device_del "$id" || return 1
		HOST_LUNS=$(echo "$HOST_LUNS" | tr ' ' '\n' | grep -vx "$(eval echo "\$LUN_$id")" | tr '\n' ' ')
		;;
	esac
	if state_is 1; then
		IN_WINDOW=$((IN_WINDOW + 1))
	else
		log "the reset was over before QEMU had done it: its event was not dropped"
	fi
	if [ "$what" = unplug ]; then
		lun_deleted "$id" || return 1
	fi
	wait_state 0 30
}

# in_window_at_least N: at least N of lun_change_in_window's changes were
# made while the reset was still held.
in_window_at_least() {
	[ "$IN_WINDOW" -ge "$1" ]
}

# views_come_to_match: the guest's LUNs come to match the host's within
# 60 s (a rescan of the host runs in the event work).
views_come_to_match() {
	poll 60 views_match || {
		log "guest: $(luns_guest); host: $(luns_host)"
		return 1
	}
	log "LUNs: $(luns_guest)"
}

# bg_fio_until_verified FILE: end the background I/O named fio (bg_io) that runs
# fio_until FILE, and check that it verified.
bg_fio_until_verified() {
	touch "$1"
	[ "$(bg_wait fio 300)" = 0 ] || {
		as_diag </tmp/bg.fio.err
		return 1
	}
	as_diag </tmp/bg.fio.err
}
