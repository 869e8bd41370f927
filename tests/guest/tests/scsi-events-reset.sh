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

# The LUNs the host has, as the guest names them (H:0:T:L), sorted.
HOST_LUNS=''

luns_guest() {
	find /sys/class/scsi_device -mindepth 1 -maxdepth 1 | sed 's#.*/##' | sort | tr '\n' ' '
}

luns_host() {
	echo "$HOST_LUNS" | tr ' ' '\n' | grep . | sort | tr '\n' ' '
}

views_match() {
	[ "$(luns_guest)" = "$(luns_host)" ]
}

# in_window WHAT ID [TARGET LUN]: inject a reset and, once the device is
# reset and held before DRIVER_OK, plug (WHAT=plug) or unplug LUN ID;
# IN_WINDOW counts the changes QEMU made while the reset was still held
# (a loaded host may miss the window now and then). Then the guest's LUNs
# must come to match the host's.
in_window() {
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
	wait_state 0 30 || return 1
	poll 60 views_match || {
		log "guest: $(luns_guest); host: $(luns_host)"
		return 1
	}
	log "LUNs: $(luns_guest)"
}

io_verified() {
	touch /tmp/ev.done
	[ "$(bg_wait fio 300)" = 0 ] || {
		as_diag </tmp/bg.fio.err
		return 1
	}
	as_diag </tmp/bg.fio.err
}

require_rvirtio_scsi
ktap_print_header
ktap_set_plan 14
start_scsi 30 reset_budget=30
HNO=$(scsi_host_of sda) && HNO=${HNO#host}
HOST_LUNS="$HNO:0:0:0"
IN_WINDOW=0
rm -f /tmp/ev.done
bg_io fio fio_until /tmp/ev.done sda 32M --iodepth=16
rv_set ready_delay_ms 1000
step "plug LUN 1:0 during a reset" in_window plug a 1 0
step "plug LUN 1:1 during a reset" in_window plug b 1 1
step "unplug LUN 1:1 during a reset (its target stays)" in_window unplug b
step "unplug LUN 1:0 during a reset (its target goes)" in_window unplug a
step "plug LUN 2:0 during a reset" in_window plug c 2 0
step "unplug LUN 2:0 during a reset" in_window unplug c
rv_set ready_delay_ms 0
step "at least 4 of the 6 changes were made while a reset held the device" eval '[ "$IN_WINDOW" -ge 4 ]'
step "fio verified throughout" io_verified
step "nothing failed, the device is live" eval 'rv_eq failed 0 && state_is 0'
rv_show
step "unload rvirtio_scsi" unload_driver rvirtio_scsi
step "dmesg clean" dmesg_check
ktap_finished
