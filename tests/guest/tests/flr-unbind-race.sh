#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: function-level resets of the disk race with unbinding and binding its driver, 20 times each: the FLR hooks (7.3), which the PCI core calls without the virtio device's lock, act only on a bound, probed device; no oops, and the disk serves verified I/O afterwards
# rvirtio-disks: size=64M,serial=rvirtio-flr-race-0
# rvirtio-modules: rvirtio_blk
# rvirtio-timeout: 400
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh

ROUNDS=20

require_reset_hooks

# bound: $VDEV is bound to $DRIVER.
bound() {
	[ -e "/sys/bus/virtio/drivers/$DRIVER/$VDEV" ]
}

# bind_retry: bind $VDEV to $DRIVER unless it is. A probe that reads the
# device while the PCI core resets it finds no features (VIRTIO_F_VERSION_1
# missing) and fails, with either driver (the PCI core holds the function's
# lock, not the virtio device's, which probe holds): it is tried again.
bind_retry() {
	local n=0
	until bound || echo "$VDEV" >"/sys/bus/virtio/drivers/$DRIVER/bind" 2>/dev/null; do
		n=$((n + 1))
		[ "$n" -lt 20 ] || return 1
		sleep 0.2
	done
}

# resets_race_unbind: ROUNDS times, a function-level reset through sysfs
# races with an unbind of the driver, and another with its bind.
resets_race_unbind() {
	local i=0 fn r
	fn=/sys/bus/pci/devices/$(pci_of "$DEV")
	VDEV=$(virtio_dev_of "$DEV") || return 1
	while [ "$i" -lt "$ROUNDS" ]; do
		i=$((i + 1))
		echo 1 >"$fn/reset" &
		r=$!
		echo "$VDEV" >"/sys/bus/virtio/drivers/$DRIVER/unbind" || {
			log "unbind $i failed"
			return 1
		}
		wait "$r" || log "reset $i (at unbind) failed"
		echo 1 >"$fn/reset" &
		r=$!
		echo "$VDEV" >"/sys/bus/virtio/drivers/$DRIVER/bind" 2>/dev/null ||
			log "bind $i failed during a reset (tried again)"
		wait "$r" || log "reset $i (at bind) failed"
		bind_retry || {
			log "bind $i failed 20 times"
			return 1
		}
	done
	log "$i rounds"
}

rebound() {
	DEV=$(wait_disk "$DRIVER" 60) && require_bound "$DEV" "$DRIVER"
}

ktap_print_header
ktap_set_plan 6
start_driver
step "$ROUNDS function-level resets racing an unbind, and $ROUNDS a bind" resets_race_unbind
step "$DRIVER drives the disk again" rebound
step "data verifies afterwards" fio_verify "$DEV" 16M
step "dmesg clean" dmesg_check
ktap_finished
