# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Helpers for tests of a vhost-user-blk disk served by rvirtio-vub
# (tests/vhost-user-blk; a `vhost=` disk spec), on top of lib.sh. The
# backend's control commands go through the control channel as
# `host vub ID COMMAND ARGS`.

# vub_get ID NAME: one NAME=VALUE field of the backend's status line.
vub_get() {
	host vub "$1" status | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# vub_show ID: the backend's status line, as a diagnostic.
vub_show() {
	log "vub $1: $(host vub "$1" status)"
}

# vub_cmp ID NAME OP N: compare a status field (OP: eq, ge, le, gt, lt);
# on a mismatch, log it and the whole status line.
vub_cmp() {
	local v
	v=$(vub_get "$1" "$2")
	case "$3" in
	eq) [ -n "$v" ] && [ "$v" -eq "$4" ] && return 0 ;;
	ge) [ -n "$v" ] && [ "$v" -ge "$4" ] && return 0 ;;
	le) [ -n "$v" ] && [ "$v" -le "$4" ] && return 0 ;;
	gt) [ -n "$v" ] && [ "$v" -gt "$4" ] && return 0 ;;
	lt) [ -n "$v" ] && [ "$v" -lt "$4" ] && return 0 ;;
	*) log "vub_cmp: no operator '$3'" ;;
	esac
	log "vub $1: $2=$v, expected -$3 $4"
	vub_show "$1"
	return 1
}

# vub_clean ID: the backend holds no request, answered none with IOERR or
# UNSUPP and found none malformed.
vub_clean() {
	vub_cmp "$1" held eq 0 && vub_cmp "$1" ioerr eq 0 && vub_cmp "$1" unsupp eq 0 &&
		vub_cmp "$1" malformed eq 0
}

# uptime_ms: the guest's uptime in milliseconds.
uptime_ms() {
	awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

# roundtrip DEV MIB AT: MIB MiB of random data written at AT MiB (direct,
# then fsync), read back (direct) and compared byte for byte.
roundtrip() {
	dd if=/dev/urandom of=/tmp/rt.in bs=1M count="$2" 2>/dev/null || return 1
	dd if=/tmp/rt.in of="/dev/$1" bs=1M seek="$3" oflag=direct conv=fsync 2>&1 | as_diag
	dd if="/dev/$1" of=/tmp/rt.out bs=1M skip="$3" count="$2" iflag=direct 2>&1 | as_diag
	if ! cmp /tmp/rt.in /tmp/rt.out; then
		log "roundtrip: $2 MiB at $3 MiB of /dev/$1 read back different"
		return 1
	fi
	rm -f /tmp/rt.in /tmp/rt.out
}
