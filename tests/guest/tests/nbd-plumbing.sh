#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: the nbdkit disk plumbing: data through NBD, injected errors, a paused backend
# rvirtio-disks: size=128M,serial=nbd-0,nbdkit=pause+error
# rvirtio-modules: rvirtio_blk
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh

# What any virtio-blk driver does with an NBD backend (nbdkit's memory
# plugin behind the pause and error filters), checked through the control
# channel's nbd-* commands: it is the harness that is under test here.

SERIAL=nbd-0
DONE=/tmp/paused-read.done

# direct_read SKIP: read one 4 KiB block at block SKIP, bypassing the page
# cache; dd's messages go to /tmp/dd.err.
direct_read() {
	dd if="/dev/$DEV" of=/dev/null bs=4096 count=1 skip="$1" iflag=direct 2>/tmp/dd.err
}

is_nbd_disk() {
	local got
	got=$(disk_by_serial "$SERIAL") || { log "no disk with serial $SERIAL"; return 1; }
	[ "$got" = "$DEV" ] || { log "serial $SERIAL is $got, not $DEV"; return 1; }
}

disks_show_controls() {
	local got
	got=$(host disks) || return 1
	log "$got"
	echo "$got" | grep -q '"nbdkit":"pause+error"' &&
		echo "$got" | grep -q '"pause-control":"/' &&
		echo "$got" | grep -q '"error-file":"/'
}

read_fails_with_errors_on() {
	local rc=0
	host nbd-error d0 on >/dev/null || return 1
	direct_read 100 || rc=$?
	as_diag </tmp/dd.err
	host nbd-error d0 off >/dev/null || return 1
	if [ "$rc" = 0 ]; then
		log "the read succeeded while nbdkit injected errors"
		return 1
	fi
	grep -q 'Input/output error' /tmp/dd.err || { log "dd failed, but not with EIO"; return 1; }
}

read_works_with_errors_off() {
	host nbd-status d0 | as_diag
	direct_read 100 || { as_diag </tmp/dd.err; return 1; }
}

# The read is started in the background; $DONE gets its outcome.
read_waits_while_paused() {
	local got
	got=$(host nbd-pause d0) || return 1
	log "nbd-pause d0: $got"
	[ "$got" = paused ] || return 1
	rm -f "$DONE"
	(if direct_read 200; then echo ok >"$DONE"; else echo failed >"$DONE"; fi) &
	sleep 3
	if [ -e "$DONE" ]; then
		log "the read finished ($(cat "$DONE")) with the backend paused"
		return 1
	fi
	log "after 3 s the read is still waiting"
}

read_completes_after_resume() {
	local got i=0
	got=$(host nbd-resume d0) || return 1
	log "nbd-resume d0: $got"
	while [ ! -s "$DONE" ]; do
		if [ "$i" -ge 300 ]; then
			log "the read has not finished 30 s after the resume"
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	wait
	log "the read finished $((i / 10)).$((i % 10)) s after the resume: $(cat "$DONE")"
	[ "$(cat "$DONE")" = ok ]
}

uptime_ds() {
	local up
	up=$(cut -d' ' -f1 /proc/uptime)
	echo $((${up%.*} * 10 + $(echo "${up#*.}" | cut -c1)))
}

# The guest blocks in I/O itself while the host resumes: `after`.
scheduled_resume_releases_read() {
	local got t0 t1
	got=$(host nbd-pause d0) || return 1
	[ "$got" = paused ] || { log "nbd-pause d0: $got"; return 1; }
	got=$(host after 3 nbd-resume d0) || return 1
	log "$got"
	t0=$(uptime_ds)
	direct_read 300 || { as_diag </tmp/dd.err; return 1; }
	t1=$(uptime_ds)
	log "the read took $(((t1 - t0) / 10)).$(((t1 - t0) % 10)) s"
	# Not much sooner than the 3 s (the reply came a little after "after").
	[ $((t1 - t0)) -ge 25 ] || { log "it did not wait for the resume"; return 1; }
	got=$(host nbd-status d0) || return 1
	log "nbd-status d0: $got"
	[ "$got" = "pause=running errors=off" ]
}

# The I/O errors injected above make the block layer log "I/O error, dev
# vda, sector 800 op 0x0:(READ) ..." (direct reads: no "Buffer I/O error"),
# which no tests/guest/dmesg-patterns pattern matches: there is nothing for
# an rvirtio-dmesg-allow header to allow.
ktap_print_header
ktap_set_plan 11
start_driver
step "DEV is the NBD disk ($SERIAL)" is_nbd_disk
step "host disks shows the nbdkit controls" disks_show_controls
step "fio verify 16M through NBD" fio_verify "$DEV" 16M
step "direct read fails with nbd-error on" read_fails_with_errors_on
step "direct read works with nbd-error off" read_works_with_errors_off
step "direct read waits while nbd-paused" read_waits_while_paused
step "the read completes after nbd-resume" read_completes_after_resume
step "after 3 nbd-resume releases a read the guest waits in" scheduled_resume_releases_read
step "dmesg clean" dmesg_check
ktap_finished
