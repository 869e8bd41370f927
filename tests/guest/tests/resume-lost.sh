#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: a system sleep whose restore never runs (the virtio core fails to bring the device back before calling it): when the sleep ends, the driver gives the device up, and the requests that waited for the resume, and new ones, fail with EIO instead of hanging until remove
# rvirtio-disks: vhost=,size=64M,serial=rvirtio-noresume-0
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: fault_inject=1 io_timeout=2
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/vub.sh
. /rvirtio/vub.sh

# The knob lose_restore fails the driver's restore before it does anything,
# which is what the driver sees when virtio_device_restore() fails first
# (the device does not take its features again, or is gone): the PM core
# logs that the PCI function failed to resume, and nothing calls the
# driver again until the transition's end (its `complete`).
#
# The device (rvirtio-vub) holds a write as the system goes to sleep: the
# freeze's reset takes it back (the backend drops what it held), and it
# waits, requeued, for the resume. It is the page cache's, written back by
# the flusher: a task waiting for I/O cannot be frozen, and the suspend's
# own sync (sync_on_suspend, off here) would wait for the held write, as
# would dd's close of the disk if it were the last (fd 3 keeps it open).

sleep_with_write_held() {
	stall_patterns 64k && rv_set lose_restore 1 && host vub d0 hold on >/dev/null || return 1
	echo 0 >/sys/power/sync_on_suspend &&
		echo 1 >/proc/sys/vm/dirty_expire_centisecs &&
		echo 10 >/proc/sys/vm/dirty_writeback_centisecs || return 1
	exec 3<"/dev/$DEV"
	dd if=/tmp/q of="/dev/$DEV" bs=64k seek=8 count=1 2>/dev/null || return 1
	poll 10 vub_cmp d0 held ge 1 || return 1
	sleep_cycles 1
}

# write_failed: the requeued write ended, failed: the page cache reports
# the page lost. (/sys/block/DEV/inflight does not count requests waiting
# in the requeue list.)
lost_write() {
	dmesg | grep -Eq "Buffer I/O error on dev $DEV, .*lost async page write"
}

write_failed() {
	poll 30 lost_write || {
		log "the log has no lost async page write of $DEV"
		return 1
	}
}

restore_was_lost() {
	dmesg_has "fault injection: restore lost" &&
		dmesg_has "resume: the device was not brought back before its restore"
}

require_rvirtio
ktap_print_header
kmemleak_baseline
ktap_set_plan 10
start_driver
step "the system sleeps with a write in flight; the restore is lost" sleep_with_write_held
step "the driver says so" restore_was_lost
step "the write that waited for the resume failed (EIO)" write_failed
step "the disk is dead" state_is 2
step "new I/O fails at once" dead_disk_fails_io
rv_show
exec 3<&-
step "unbind completes" unbind_device 30
step "no leaks (kmemleak)" kmemleak_check
step "dmesg clean" dmesg_check
ktap_finished
