#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: the backend stalls with one request at the device and more waiting behind it: the driver gives up in bounded time and fails them with EIO (the backend, resumed healthy, fails nothing), the dead disk fails new I/O at once, no task hangs, the module unloads
# rvirtio-disks: size=128M,serial=rvirtio-giveup-0,nbdkit=pause,num-queues=1
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: io_timeout=3 stall_reset_secs=1 reset_budget=0 queue_depth=1
# rvirtio-timeout: 600
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

# One request queue (num-queues=1) of one tag (queue_depth=1): the device
# holds at most one request; the others wait in the block layer and never
# reach it. The backend stops answering, so the request at the device times
# out and the driver resets the device; reset_budget=0: that first reset
# gives up.
#
# The backend is resumed 12 s after the pause, healthy: QEMU's device reset
# waits for the requests the backend holds (blk_drain, with the whole VM
# stopped), so a backend that never answers would freeze QEMU itself (see
# Documentation/testing.rst); and a healthy backend fails nothing, so every
# EIO comes from the driver. The request the device held is drained by the
# reset and either completed through the interrupt (with the device's
# status) or failed by the driver's take-back: a race, so either is
# accepted. The requests behind it never reached the device, and only the
# driver's giving up can fail them.
#
# Timing: io_timeout=3 leaves the dd's 3 s to be issued before the request
# at the device times out; its first expiry notifies the queue again, and
# the second (6 s), under the stall policy (stall_reset_secs=1), resets;
# the reset then freezes the VM until the resume, about 6 s, well under the
# soft-lockup watchdog's 20 s; and the resume comes about 6 s after that
# timeout, so a slow guest still gives up first.

# Where the I/O goes: NR direct 4 KiB reads and writes, each its own request,
# 4 MiB apart (no merging), at 4 MiB * (1 + i).
NR=4

io_at() {
	echo $(((1 + $1) * 1024))
}

# data_verifies: random data written over every place the test reads, then
# read back the same.
data_verifies() {
	if ! head -c $((NR * 4 * 1048576)) /dev/urandom >/tmp/data ||
		! dd if=/tmp/data of="/dev/$DEV" bs=1M seek=4 oflag=direct 2>/tmp/dd.err ||
		! dd if="/dev/$DEV" of=/tmp/back bs=1M skip=4 count=$((NR * 4)) iflag=direct 2>/tmp/dd.err; then
		as_diag </tmp/dd.err
		return 1
	fi
	cmp /tmp/data /tmp/back
}

# one_tag: the disk has one request queue, of one tag.
one_tag() {
	local n tags
	set -- "/sys/block/$DEV/mq/"*
	n=$#
	tags=$(cat "/sys/block/$DEV/mq/0/nr_tags")
	log "$n request queue(s), nr_tags $tags"
	[ "$n" = 1 ] && [ "$tags" = 1 ]
}

# stall_then_resume: disk d0's nbdkit stops answering, and answers again,
# normally, 12 s later.
stall_then_resume() {
	nbd_pause d0 || return 1
	host after 12 nbd-resume d0 >/dev/null
}

# start_io: NR direct 4 KiB requests, reads and writes alternately, each in
# a dd of its own (io0, io1, ...).
start_io() {
	local i=0
	head -c 4096 /dev/urandom >/tmp/new
	while [ "$i" -lt "$NR" ]; do
		if [ $((i % 2)) = 0 ]; then
			bg_io "io$i" dd if="/dev/$DEV" of="/tmp/io$i" bs=4k count=1 skip="$(io_at "$i")" iflag=direct
		else
			bg_io "io$i" dd if=/tmp/new of="/dev/$DEV" bs=4k count=1 seek="$(io_at "$i")" oflag=direct
		fi
		i=$((i + 1))
	done
}

# blocked_dds: how many dd processes are blocked (state D).
blocked_dds() {
	local p comm state n=0
	for p in /proc/[0-9]*/stat; do
		read -r _ comm state _ <"$p" 2>/dev/null || continue
		[ "$comm" = "(dd)" ] && [ "$state" = D ] && n=$((n + 1))
	done
	echo "$n"
}

all_blocked() {
	[ "$(blocked_dds)" = "$NR" ]
}

# all_wait: every dd is blocked in its I/O, none has ended, and the driver
# has not given up yet: the requests were issued before the give-up, one at
# the device and the others behind it.
all_wait() {
	local r w
	poll 2 all_blocked || {
		log "$(blocked_dds) of $NR dd blocked"
		return 1
	}
	rv_eq give_ups 0 || return 1
	read -r r w <"/sys/block/$DEV/inflight"
	log "$NR requests wait, $((r + w)) of them at the driver (inflight)"
}

# io_ends_with_eio: every request ends within 40 s; the driver failed with
# EIO every one the device did not hold (at least NR - 1), and what
# succeeded is right (a read returned the data written before).
io_ends_with_eio() {
	local i=0 rc eio=0 ok=0 off
	while [ "$i" -lt "$NR" ]; do
		rc=$(bg_wait "io$i" 40) || return 1
		as_diag <"/tmp/bg.io$i.err"
		if [ "$rc" = 0 ]; then
			ok=$((ok + 1))
			if [ $((i % 2)) = 0 ]; then
				off=$((i * 4 * 1048576))
				# The data written at 4 MiB * (1 + i), from /tmp/data.
				dd if=/tmp/data of=/tmp/want bs=4k count=1 skip=$((off / 4096)) 2>/dev/null
				cmp "/tmp/io$i" /tmp/want || {
					log "io$i (a read) succeeded with other data than was written"
					return 1
				}
			fi
			log "io$i ended well"
		elif grep -q 'Input/output error' "/tmp/bg.io$i.err"; then
			eio=$((eio + 1))
		else
			log "io$i failed (status $rc), but not with EIO"
			return 1
		fi
		i=$((i + 1))
	done
	log "$eio of $NR requests ended with EIO, $ok well"
	[ "$eio" -ge $((NR - 1)) ] && [ $((eio + ok)) = "$NR" ]
}

gave_up() {
	rv_eq give_ups 1 && rv_eq state 2 && dmesg_has 'giving up on the device'
}

# backend_healthy: nbdkit serves again, and never failed a request.
backend_healthy() {
	local st
	st=$(host nbd-status d0) || return 1
	log "nbdkit: $st"
	case "$st" in
	*pause=running*) ;;
	*) return 1 ;;
	esac
}

# A dead disk (blk_mark_disk_dead) has size 0: a read finds the end of the
# device at once, a write fails; bios from inside the kernel get -EIO.
new_io_fails_at_once() {
	local t0 t1 size
	t0=$(cut -d. -f1 /proc/uptime)
	size=$(cat "/sys/block/$DEV/size")
	[ "$size" = 0 ] || {
		log "the dead disk still has $size sectors"
		return 1
	}
	rm -f /tmp/x
	dd if="/dev/$DEV" of=/tmp/x bs=4k count=1 iflag=direct 2>/tmp/dd.err || true
	as_diag </tmp/dd.err
	[ ! -s /tmp/x ] || {
		log "a read of the dead disk returned data"
		return 1
	}
	if dd if=/dev/zero of="/dev/$DEV" bs=4k count=1 oflag=direct 2>/tmp/dd.err; then
		log "a write to the dead disk succeeded"
		return 1
	fi
	as_diag </tmp/dd.err
	t1=$(cut -d. -f1 /proc/uptime)
	[ $((t1 - t0)) -le 2 ] || {
		log "failing took $((t1 - t0)) s"
		return 1
	}
}

require_rvirtio
ktap_print_header
ktap_set_plan 13
start_driver
step "one request queue of one tag" one_tag
step "data written reads back the same" data_verifies
step "the backend stalls, and resumes healthy 9 s later" stall_then_resume
start_io
step "$NR requests wait, the driver has not given up" all_wait
step "the requests the device did not hold end with EIO within 40 s" io_ends_with_eio
step "the driver gave up (give_ups=1, state dead)" gave_up
step "the backend is healthy again" backend_healthy
step "new I/O fails at once (size 0, no data, writes fail)" new_io_fails_at_once
step "the module unloads" unload_driver "$DRIVER"
step "the disk is gone" wait_gone "$DEV" 30
step "dmesg clean" dmesg_check
ktap_finished
