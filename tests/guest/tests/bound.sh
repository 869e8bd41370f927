#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: the disk is bound to the driver under test, and its modalias autoloads it
# rvirtio-disks: size=64M,serial=rvirtio-bound-0
# rvirtio-modules: rvirtio_blk
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh

VDEV=

in_driver_dir() {
	VDEV=$(virtio_dev_of "$DEV") || {
		log "/sys/block/$DEV/device is not a virtio device"
		return 1
	}
	if [ ! -e "/sys/bus/virtio/drivers/$DRIVER/$VDEV" ]; then
		log "/sys/bus/virtio/drivers/$DRIVER/ does not list $VDEV"
		return 1
	fi
}

unload() {
	unload_driver "$DRIVER" && wait_gone "$DEV" 30
}

# depmod's alias table maps the device's modalias to $DRIVER, and to it only.
alias_resolves() {
	local alias mods
	alias=$(cat "/sys/bus/virtio/devices/$VDEV/modalias") || return 1
	mods=$(modprobe -R "$alias" 2>&1)
	log "$alias -> $(echo "$mods" | tr '\n' ' ')"
	[ "$mods" = "$DRIVER" ]
}

autoload() {
	local alias
	alias=$(cat "/sys/bus/virtio/devices/$VDEV/modalias") || return 1
	modprobe "$alias" 2>&1 | as_diag
	module_loaded "$DRIVER" || {
		log "modprobe $alias did not load $DRIVER"
		return 1
	}
	DEV=$(wait_disk "$DRIVER" 60) && require_bound "$DEV" "$DRIVER"
}

ktap_print_header
ktap_set_plan 7
start_driver
step "/sys/bus/virtio/drivers/$DRIVER has the device" in_driver_dir
step "rmmod $DRIVER: the disk goes" unload || bail "cannot unload $DRIVER"
step "modprobe -R modalias gives $DRIVER" alias_resolves
step "modprobe modalias loads $DRIVER and it drives the disk" autoload
step "dmesg clean" dmesg_check
ktap_finished
