#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: writing sysfs cache_type reaches the device (QEMU's write cache) and the queue's write_cache; bad values and devices without CONFIG_WCE refuse it; rvirtio_blk keeps the mode across a reset
# rvirtio-disks: size=64M,serial=rvirtio-wce-0 size=16M,serial=rvirtio-wce-1,config-wce=off
# rvirtio-modules: rvirtio_blk
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

# mode DEV "write back"|"write through" 1|0: cache_type and queue/write_cache
# say the mode, and QEMU's device d0 has its write cache on (1) or off (0).
mode() {
	local ct wc dev
	ct=$(cat "/sys/block/$1/cache_type")
	wc=$(cat "/sys/block/$1/queue/write_cache")
	dev=$(host writeback d0) || return 1
	log "$1: cache_type '$ct', queue/write_cache '$wc', QEMU write cache $dev"
	[ "$ct" = "$2" ] && [ "$wc" = "$2" ] && [ "$dev" = "$3" ]
}

# set_mode DEV VALUE: write VALUE to DEV's cache_type.
set_mode() {
	echo "$2" >"/sys/block/$1/cache_type"
}

# refused DEV VALUE: writing VALUE to DEV's cache_type fails.
refused() {
	if (echo "$2" >"/sys/block/$1/cache_type") 2>/dev/null; then
		log "writing '$2' to $1's cache_type succeeded"
		return 1
	fi
}

# read_only_attr DEV: DEV's cache_type is mode 444.
read_only_attr() {
	local m
	m=$(stat -c %a "/sys/block/$1/cache_type")
	log "$1: cache_type mode $m"
	[ "$m" = 444 ]
}

# reset_keeps_mode: after a reset, the device's write cache is still off.
reset_keeps_mode() {
	local r
	r=$(rv_get resets)
	rv_set inject_reset 1
	dd if="/dev/$D0" of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null
	poll 30 rv_ge resets $((r + 1)) >/dev/null 2>&1 && wait_state 0 30 &&
		fio_verify "$D0" 4M && mode "$D0" "write through" 0
}

if [ "$DRIVER" = rvirtio_blk ]; then
	DRIVER_PARAMS="${DRIVER_PARAMS:+$DRIVER_PARAMS }fault_inject=1"
fi
ktap_print_header
ktap_set_plan 11
start_driver
wait_disk "$DRIVER" 30 2 >/dev/null || bail "no second disk"
D0=$(disk_by_serial rvirtio-wce-0) && D1=$(disk_by_serial rvirtio-wce-1) || bail "disks not found"
DEV=$D0
step "$D0 starts in write back" mode "$D0" "write back" 1
step "'write through' turns the device's cache off" eval 'set_mode "$D0" "write through" && mode "$D0" "write through" 0'
step "'write back' turns it on again" eval 'set_mode "$D0" "write back" && mode "$D0" "write back" 1'
step "a bad value is refused" refused "$D0" "write-back"
step "... and changes nothing" mode "$D0" "write back" 1
step "$D1 (no CONFIG_WCE) has a read-only cache_type" read_only_attr "$D1"
step "... which cannot be written" refused "$D1" "write through"
if [ "$DRIVER" = rvirtio_blk ]; then
	step "after a reset the device is still in write through" \
		eval 'set_mode "$D0" "write through" && reset_keeps_mode'
else
	ktap_test_skip "$DRIVER has no reset to survive"
fi
step "dmesg clean" dmesg_check
ktap_finished
