#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: /sys/block/DEV/serial is the serial given to QEMU
# rvirtio-disks: size=64M,serial=rvirtio-serial-0
# rvirtio-modules: rvirtio_blk
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh

# The same as in the rvirtio-disks header above.
SERIAL=rvirtio-serial-0

serial_is() {
	local got
	if [ ! -r "/sys/block/$DEV/serial" ]; then
		log "/sys/block/$DEV/serial is missing"
		return 1
	fi
	got=$(cat "/sys/block/$DEV/serial")
	log "/sys/block/$DEV/serial: '$got'"
	[ "$got" = "$1" ]
}

ktap_print_header
ktap_set_plan 4
start_driver
step "serial is $SERIAL" serial_is "$SERIAL"
step "dmesg clean" dmesg_check
ktap_finished
