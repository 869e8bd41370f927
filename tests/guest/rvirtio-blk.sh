# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Helpers for tests of rvirtio_blk's recovery, on top of lib.sh: its debugfs
# counters and fault-injection knobs (/sys/kernel/debug/rvirtio_blk/DISK/).
# Sourced after lib.sh; uses $DEV (set by start_driver).

# Skip the whole test unless the driver under test is rvirtio_blk: the C
# virtio_blk has no timeout handler, reset or counters to test.
require_rvirtio() {
	[ "$DRIVER" = rvirtio_blk ] || skip_all "$DRIVER has no recovery to test"
}

# RV_DIR overrides it (rvirtio_scsi: /sys/kernel/debug/rvirtio_scsi/hostN).
rv_dir() {
	echo "${RV_DIR:-/sys/kernel/debug/rvirtio_blk/$DEV}"
}

# rv_get NAME: a counter or knob.
rv_get() {
	cat "$(rv_dir)/$1"
}

# rv_set NAME VALUE: a fault-injection knob (needs fault_inject=1).
rv_set() {
	echo "$2" >"$(rv_dir)/$1"
}

# All counters on one diagnostic line.
rv_show() {
	local f line=''
	for f in timeouts lost_interrupts resets reset_harvested requeued failed give_ups early_buffers aborts lun_resets no_queue eh_rerouted \
		tmf_timeouts tmf_from_reserve host_resets state; do
		[ -e "$(rv_dir)/$f" ] && line="$line $f=$(rv_get "$f")"
	done
	log "counters:$line"
}

# rv_ge NAME N / rv_eq NAME N / rv_le NAME N: compare a counter; on a
# mismatch, log it and all the counters.
rv_cmp() {
	local v
	v=$(rv_get "$1")
	case "$2" in
	ge) [ "$v" -ge "$3" ] ;;
	eq) [ "$v" -eq "$3" ] ;;
	le) [ "$v" -le "$3" ] ;;
	*) false ;;
	esac || {
		log "$1=$v, expected -$2 $3"
		rv_show
		return 1
	}
}

rv_ge() {
	rv_cmp "$1" ge "$2"
}

rv_eq() {
	rv_cmp "$1" eq "$2"
}

rv_le() {
	rv_cmp "$1" le "$2"
}

# rv_wait_ge NAME N SECS: wait until counter NAME is at least N; fail (and
# show the counters) after SECS.
rv_at_least() {
	[ "$(rv_get "$1")" -ge "$2" ]
}

rv_wait_ge() {
	poll "$3" rv_at_least "$1" "$2" || {
		log "$1=$(rv_get "$1"), expected at least $2 within $3 s"
		rv_show
		return 1
	}
}

# dmesg_has REGEX: the kernel log has a line matching REGEX.
dmesg_has() {
	dmesg | grep -Eq "$1" || {
		log "no dmesg line matches: $1"
		return 1
	}
}

# nbd_pause ID: pause disk ID's nbdkit, and check that it took effect.
nbd_pause() {
	local got
	got=$(host nbd-pause "$1") && [ "$got" = paused ] || {
		log "nbd-pause $1: $got"
		return 1
	}
}

# bg_io NAME CMD...: run CMD in the background; /tmp/bg.NAME gets its exit
# status when it ends, /tmp/bg.NAME.err its messages.
bg_io() {
	local name=$1
	shift
	rm -f "/tmp/bg.$name" "/tmp/bg.$name.err"
	("$@" 2>"/tmp/bg.$name.err"; echo $? >"/tmp/bg.$name") &
}

# bg_running NAME: the background command NAME has not ended.
bg_running() {
	[ ! -e "/tmp/bg.$1" ] || {
		log "$1 ended (status $(cat "/tmp/bg.$1")) while it should still wait"
		return 1
	}
}

# bg_wait NAME SECS: wait for NAME to end; prints its exit status.
bg_wait() {
	poll "$2" test -s "/tmp/bg.$1" || {
		log "$1 still running after $2 s"
		return 1
	}
	cat "/tmp/bg.$1"
}

# bg_wait_io SECS: wait for the background commands "read" and "write";
# show their messages; sets $read_rc and $write_rc.
bg_wait_io() {
	read_rc=$(bg_wait read "$1") && write_rc=$(bg_wait write "$1") || return 1
	log "read ended with $read_rc, write with $write_rc"
	as_diag </tmp/bg.read.err
	as_diag </tmp/bg.write.err
}

state_is() {
	[ "$(rv_get state)" = "$1" ]
}

# wait_state N SECS: wait until the recovery state is N.
wait_state() {
	poll "$2" state_is "$1" || {
		log "state did not become $1 within $2 s"
		rv_show
		return 1
	}
}

# sleep_cycles N: suspend to idle N times; pm_test=devices suspends the
# devices (virtio freeze), waits a second and resumes them (restore).
sleep_cycles() {
	local i=0
	echo devices >/sys/power/pm_test && echo 1 >/sys/module/suspend/parameters/pm_test_delay ||
		return 1
	while [ "$i" -lt "$1" ]; do
		echo freeze >/sys/power/state || {
			log "suspend $i failed"
			echo none >/sys/power/pm_test
			return 1
		}
		i=$((i + 1))
		sleep 1
	done
	echo none >/sys/power/pm_test
}

# in_flight DEV: DEV has requests at its driver (/sys/block/DEV/inflight);
# sets $held (the caller's: ash's locals are dynamically scoped) to how
# many. No fork, so that it can come right before a suspend.
in_flight() {
	local r w
	read -r r w <"/sys/block/$1/inflight" || return 1
	held=$((r + w))
	[ "$held" -gt 0 ]
}

# sleep_cycles_under_io NAME DEV N: sleep_cycles N, under the background
# I/O NAME (bg_io) on DEV, and proof that the I/O was live across every
# sleep: NAME runs before each suspend and is still running after each
# resume, and DEV has requests in flight as each suspend begins (read just
# before it; polled, as a moment between two completions may find none, and
# the I/O needs a moment to start again after a resume).
sleep_cycles_under_io() {
	local rc
	echo devices >/sys/power/pm_test && echo 1 >/sys/module/suspend/parameters/pm_test_delay ||
		return 1
	sleeps_under_io "$@"
	rc=$?
	echo none >/sys/power/pm_test
	return "$rc"
}

# sleeps_under_io NAME DEV N: sleep_cycles_under_io's cycles, with pm_test
# set.
sleeps_under_io() {
	local name=$1 dev=$2 n=$3 i=0 held
	while [ "$i" -lt "$n" ]; do
		i=$((i + 1))
		bg_running "$name" || {
			log "$name ended before suspend $i"
			return 1
		}
		poll 30 in_flight "$dev" || {
			log "no request of $dev in flight before suspend $i"
			return 1
		}
		echo freeze >/sys/power/state || {
			log "suspend $i failed"
			return 1
		}
		log "suspend $i: $held requests of $dev were in flight as it began"
		bg_running "$name" || {
			log "$name ended during suspend $i"
			return 1
		}
	done
}

# A read and a write that the device is to hold (the stall tests): fresh
# random patterns of BS bytes in /tmp/p (written at the start of $DEV) and
# /tmp/q.
stall_patterns() {
	dd if=/dev/urandom of=/tmp/p bs="$1" count=1 2>/dev/null &&
		dd if=/dev/urandom of=/tmp/q bs="$1" count=1 2>/dev/null &&
		dd if=/tmp/p of="/dev/$DEV" bs="$1" oflag=direct 2>/dev/null
}

# stall_io BS: in the background, "read" reads BS bytes at the start of
# $DEV into /tmp/p.read and "write" writes /tmp/q at 8 * BS (both direct).
stall_io() {
	bg_io read dd if="/dev/$DEV" of=/tmp/p.read bs="$1" count=1 iflag=direct
	bg_io write dd if=/tmp/q of="/dev/$DEV" bs="$1" seek=8 oflag=direct
}

# stall_io_completes: the read and the write end within 60 s, both well.
stall_io_completes() {
	bg_wait_io 60 && [ "$read_rc" = 0 ] && [ "$write_rc" = 0 ]
}

# stall_data_verifies BS: the read got /tmp/p, and /tmp/q is on the disk.
stall_data_verifies() {
	cmp /tmp/p /tmp/p.read &&
		dd if="/dev/$DEV" of=/tmp/q.read bs="$1" skip=8 count=1 iflag=direct 2>/dev/null &&
		cmp /tmp/q /tmp/q.read
}

# count_held: how many requests of $DEV the driver has at the device now
# (/sys/block/DEV/inflight), into $HELD.
count_held() {
	local held
	in_flight "$DEV" || return 1
	HELD=$held
	log "the device holds $HELD requests"
}

# came_back_once: every request counted by count_held came back exactly
# once, counted where it came back: taken back by a reset and requeued,
# returned on the used ring during the reset (reset_harvested), found
# returned by a timeout (a lost interrupt), or failed.
came_back_once() {
	local back
	back=$(($(rv_get requeued) + $(rv_get reset_harvested) + $(rv_get lost_interrupts) + $(rv_get failed)))
	log "requeued + reset_harvested + lost_interrupts + failed = $back, held $HELD"
	[ "$back" = "$HELD" ]
}

# backend_stalls_for_good: disk d0's nbdkit stops answering, and 8 s later
# fails everything it held and everything after (errors on, then resume):
# it never serves data again. (QEMU's own device reset waits for the
# requests the backend holds, so a backend that never answers at all would
# freeze QEMU itself; see Documentation/testing.rst.)
backend_stalls_for_good() {
	nbd_pause d0 || return 1
	host after 8 nbd-error d0 on >/dev/null &&
		host after 8.5 nbd-resume d0 >/dev/null
}

# stalled_io_gets_eio SECS: the background "read" and "write" end within
# SECS, both with EIO.
stalled_io_gets_eio() {
	bg_wait_io "$1" || return 1
	[ "$read_rc" != 0 ] && [ "$write_rc" != 0 ] &&
		grep -q 'Input/output error' /tmp/bg.read.err &&
		grep -q 'Input/output error' /tmp/bg.write.err
}

# dead_disk_fails_io: a write to $DEV fails, within 10 s (a disk given up
# fails it at once; a driver that is stuck would block it).
dead_disk_fails_io() {
	local rc
	bg_io new dd if=/dev/zero of="/dev/$DEV" bs=4k count=1 oflag=direct
	rc=$(bg_wait new 10) || return 1
	[ "$rc" != 0 ]
}

# A device whose registers read all ones (the gone-all-ones tests): the
# disk's PCI function has a 64 KiB option ROM of all ones (rom=ones).

# ones_on: the ROM over BAR 4's old address, BAR 4 64 KiB higher (still in
# the root port's window). $BDF, $BAR4 and $ROM keep what was there.
ones_on() {
	local base
	BDF=$(pci_of "$DEV") && BAR4=$(pcicfg "$BDF" 0x20) && ROM=$(pcicfg "$BDF" 0x30) ||
		return 1
	base=$((BAR4 & ~0xf))
	log "$BDF: BAR 4 $BAR4, ROM BAR $ROM, status $(pcicfg "$BDF" bar4 0x14)"
	pcicfg "$BDF" 0x30 $((base | 1)) &&
		pcicfg "$BDF" 0x20 $(((base + 0x10000) | (BAR4 & 0xf))) || return 1
	[ "$(pcicfg "$BDF" bar4 0x14)" = 0xff ] || {
		log "the status reads $(pcicfg "$BDF" bar4 0x14), not 0xff"
		return 1
	}
}

# ones_off: BAR 4 back, the ROM off: the device answers again.
ones_off() {
	pcicfg "$BDF" 0x30 "$ROM" && pcicfg "$BDF" 0x20 "$BAR4" &&
		[ "$(pcicfg "$BDF" bar4 0x14)" != 0xff ]
}

# sleep_refused: suspend to idle fails: the gone device refuses to freeze,
# as the virtio core's reset at resume would poll its status for ever.
sleep_refused() {
	echo devices >/sys/power/pm_test || return 1
	if echo freeze >/sys/power/state; then
		log "the system slept"
		echo none >/sys/power/pm_test
		return 1
	fi
	echo none >/sys/power/pm_test
	dmesg_has "refusing to sleep: the device is gone"
}

# stall_while_gone: the stall patterns written, the registers all ones, then
# a read and a write (stall_io 64k) that the device never sees.
stall_while_gone() {
	stall_patterns 64k && ones_on || return 1
	stall_io 64k
}
