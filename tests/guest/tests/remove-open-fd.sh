#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: a disk removed while a program holds it open: the program's HDIO_GETGEO, size query and read on its descriptor fail cleanly (HDIO_GETGEO with ENXIO, as virtio_blk), nothing reads freed memory, and the device binds again
# rvirtio-disks: size=64M,serial=rvirtio-openfd-0
# rvirtio-modules: rvirtio_blk
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh

# The gendisk lives as long as a descriptor of it is open, past the
# driver's remove(); every block_device_operations call on it must then find
# the device gone, not the driver's freed data. fd-after
# (tests/guest/tools/fd-after.c) holds the descriptor across the unbind.

hold_open() {
	rm -f /tmp/go /tmp/fd-after.out
	fd-after "/dev/$DEV" /tmp/go >/tmp/fd-after.out 2>&1 &
	FD_PID=$!
	poll 10 grep -q '^open ok' /tmp/fd-after.out
}

use_the_descriptor() {
	touch /tmp/go
	wait "$FD_PID"
	as_diag </tmp/fd-after.out
	grep -q '^closed' /tmp/fd-after.out
}

getgeo_enxio() {
	grep -q '^getgeo err 6 ' /tmp/fd-after.out
}

ktap_print_header
kmemleak_baseline
ktap_set_plan 11
start_driver
step "write some data" dd if=/dev/urandom of="/dev/$DEV" bs=64k count=16 oflag=direct
step "a program holds /dev/$DEV open" hold_open
step "unbind the device from $DRIVER" unbind_device 60
step "the program uses its descriptor of the removed disk" use_the_descriptor
step "HDIO_GETGEO fails with ENXIO" getgeo_enxio
step "the device binds again" bind_device
step "fio verify 16M on the new disk" fio_verify "$DEV" 16M
step "no leaks (kmemleak)" kmemleak_check
step "dmesg clean" dmesg_check
ktap_finished
