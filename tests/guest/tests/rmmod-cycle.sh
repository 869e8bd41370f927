#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: 5x rmmod and insmod: the disk goes and comes back with its data; no leaks
# rvirtio-disks: size=256M,serial=rvirtio-rmmod-0
# rvirtio-modules: rvirtio_blk
# rvirtio-timeout: 900
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh

CYCLES=5

# One cycle: write 1 MiB at a cycle-dependent offset, rmmod, wait for the
# disk to go, insmod, wait for it to come back bound to $DRIVER, read the
# 1 MiB back, then a small fio verify run.
cycle() {
	local n=$1 want got
	dd if=/dev/urandom of=/tmp/pattern bs=1M count=1 2>/dev/null
	want=$(md5sum </tmp/pattern)
	dd if=/tmp/pattern of="/dev/$DEV" bs=1M seek=$((n * 7)) conv=fsync 2>/dev/null || return 1
	unload_driver "$DRIVER" || return 1
	wait_gone "$DEV" 30 || return 1
	# shellcheck disable=SC2086 # DRIVER_PARAMS is a list
	load_driver "$DRIVER" ${DRIVER_PARAMS:-} || return 1
	DEV=$(wait_disk "$DRIVER" 60) || return 1
	got=$(dd if="/dev/$DEV" bs=1M skip=$((n * 7)) count=1 2>/dev/null | md5sum)
	if [ "$got" != "$want" ]; then
		log "cycle $n: data written before rmmod reads back differently"
		return 1
	fi
	fio_verify "$DEV" 4M
}

ktap_print_header
ktap_set_plan $((CYCLES + 4))
kmemleak_baseline
start_driver
i=1
while [ $i -le $CYCLES ]; do
	step "cycle $i: rmmod, insmod, data kept, fio verify" cycle $i || bail "cycle $i failed"
	i=$((i + 1))
done
step "kmemleak clean" kmemleak_check
step "dmesg clean" dmesg_check
ktap_finished
