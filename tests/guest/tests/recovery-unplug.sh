#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: hot-unplug (QMP device_del) while requests are pending and a reset is running: no hang, no leak, I/O ends
# rvirtio-disks: size=128M,serial=rvirtio-unplug-0,nbdkit=pause
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: fault_inject=1 io_timeout=2 stall_reset_secs=1
# rvirtio-timeout: 600
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

# The reset is held (reset_delay_ms) with the queue quiesced while the
# device is unplugged; the backend is resumed 8 s after the pause, since
# QEMU's own reset of the device waits for the requests the backend holds.

stall() {
	rv_set reset_delay_ms 4000 && nbd_pause d0 || return 1
	host after 8 nbd-resume d0 >/dev/null
}

unplug() {
	host qmp '{"execute":"device_del","arguments":{"id":"d0"}}' | as_diag
}

io_ended() {
	bg_wait_io 60 || return 1
	# Either outcome is right (the data was served, or the disk went away
	# first); the point is that both ended.
	return 0
}

device_deleted() {
	host qmp-wait-event DEVICE_DELETED 30 device=d0 | as_diag
}

require_rvirtio
ktap_print_header
kmemleak_baseline
ktap_set_plan 11
start_driver
step "write some data" dd if=/dev/urandom of="/dev/$DEV" bs=64k count=16 oflag=direct
step "pause the backend, hold resets 4 s" stall
bg_io read dd if="/dev/$DEV" of=/dev/null bs=64k count=4 iflag=direct
bg_io write dd if=/dev/zero of="/dev/$DEV" bs=64k count=4 seek=100 oflag=direct
step "a reset is running" wait_state 1 20
step "device_del while the reset runs" unplug
step "the disk goes away" wait_gone "$DEV" 90
step "the pending read and write ended" io_ended
step "QEMU deleted the device" device_deleted
step "no leaks (kmemleak)" kmemleak_check
step "dmesg clean" dmesg_check
ktap_finished
