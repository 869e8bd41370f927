# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Helpers for rvirtio's guest tests (busybox ash). Sourced by every test:
#
#   . /rvirtio/lib.sh
#
# Output is KTAP (the kernel's kselftest helpers are in the initramfs): a
# test prints its header and plan, one "ok N name" / "not ok N name" per
# step, diagnostics as "# ..." lines, and exits 0 (pass), 1 (fail) or
# 4 (skip, KSFT_SKIP).
#
# Environment (from /rvirtio/env, written by scripts/guest.sh --env):
#   DRIVER        the driver under test (default rvirtio_blk)
#   DRIVER_PARAMS module parameters load_driver passes to $DRIVER (the
#                 test's rvirtio-driver-params header, then the runner's
#                 --driver-params)
#   DMESG_ALLOW   an extended regex of dmesg lines dmesg_check tolerates
#   HOST_TIMEOUT  seconds `host` waits for the host's reply (default 60)

# shellcheck source=/dev/null
. /usr/lib/kselftest/ktap_helpers.sh
# Real modprobe, blockdev, mke2fs... rather than busybox's applets.
# shellcheck source=/dev/null
. /etc/rvirtio-tools.sh

DRIVER=${DRIVER:-rvirtio_blk}
RVIRTIO_DIR=${RVIRTIO_DIR:-/rvirtio}
MODULE_DIR=${MODULE_DIR:-/modules}
KMEMLEAK=/sys/kernel/debug/kmemleak

# A diagnostic line (KTAP "# "). Helpers that print a value send theirs to
# stderr.
log() {
	echo "# $*"
}

# Copy stdin to stdout as KTAP diagnostics.
as_diag() {
	sed 's/^/# /'
}

# step DESCRIPTION COMMAND [ARGS...]: run one KTAP test point.
step() {
	local desc=$1
	shift
	if "$@"; then
		ktap_test_pass "$desc"
	else
		ktap_test_fail "$desc"
		return 1
	fi
}

# bail MESSAGE: give up on the remaining test points (counts as a failure).
bail() {
	ktap_exit_fail_msg "$*"
}

# skip_all REASON: the whole test does not apply here (exit 4).
skip_all() {
	ktap_print_header
	ktap_skip_all "$*"
	exit "$KSFT_SKIP"
}

# require_reset_hooks: skip the whole test unless the kernel's virtio core
# has the PCI reset hooks (reset_prepare/reset_done, 7.3). Without them the
# PCI core resets the function under the driver's feet, which neither
# driver (C or Rust) survives.
require_reset_hooks() {
	case "$(uname -r)" in
	6.12*)
		skip_all "6.12: virtio has no reset_prepare/reset_done (7.3 added them)"
		;;
	esac
}

# ---------------------------------------------------------------- modules --

module_loaded() {
	grep -q "^$1 " /proc/modules
}

# load_driver NAME [PARAM=VALUE...]: insmod /modules/NAME.ko with the
# PARAM=VALUEs; for NAME = $DRIVER, $DRIVER_PARAMS come first (and a
# PARAM=VALUE that is already among them is not repeated; where a parameter
# is given twice the kernel keeps the last value).
load_driver() {
	local name=$1 ko p
	shift
	ko=$MODULE_DIR/$name.ko
	if [ ! -f "$ko" ]; then
		log "load_driver: $ko is not in the guest (launcher --module)"
		return 1
	fi
	if [ "$name" = "$DRIVER" ] && [ -n "${DRIVER_PARAMS:-}" ]; then
		# Keep the arguments that are not in DRIVER_PARAMS (the list to
		# loop over is taken before the loop changes "$@").
		for p in "$@"; do
			shift
			case " $DRIVER_PARAMS " in
			*" $p "*) ;;
			*) set -- "$@" "$p" ;;
			esac
		done
		# shellcheck disable=SC2086 # DRIVER_PARAMS is a list
		set -- $DRIVER_PARAMS "$@"
	fi
	[ $# -eq 0 ] || log "insmod $ko $*"
	insmod "$ko" "$@" 2>&1 | as_diag
	if ! module_loaded "$name"; then
		log "load_driver: insmod $ko $* failed"
		dmesg | tail -n 20 | as_diag
		return 1
	fi
}

# unload_driver NAME: rmmod NAME.
unload_driver() {
	local i=0
	# rvirtio_scsi is in use while its event work scans a host (after a
	# reset, that may take seconds under TCG): rmmod is tried again then.
	until rmmod "$1" 2>/tmp/rmmod.err; do
		module_loaded "$1" && grep -Eq 'in use|temporarily unavailable' /tmp/rmmod.err &&
			[ "$i" -lt 120 ] || break
		i=$((i + 1))
		sleep 0.5
	done
	as_diag </tmp/rmmod.err
	[ "$i" -eq 0 ] || log "unload_driver: rmmod $1 was refused $i times (in use)"
	if module_loaded "$1"; then
		log "unload_driver: rmmod $1 failed"
		return 1
	fi
}

# ------------------------------------------------------------------ disks --

# bound_driver DEV: print the name of the driver bound to /sys/block/DEV.
bound_driver() {
	local link
	link=$(readlink "/sys/block/$1/device/driver" 2>/dev/null) || return 1
	echo "${link##*/}"
}

# require_bound DEV NAME: succeed if DEV's driver is NAME, else say what is.
require_bound() {
	local got
	got=$(bound_driver "$1") || got="(none)"
	if [ "$got" != "$2" ]; then
		log "/sys/block/$1 is bound to $got, not $2"
		return 1
	fi
}

# disks_of DRIVER: the block devices whose parent device DRIVER drives, sorted.
disks_of() {
	local d
	for d in /sys/block/*; do
		[ -e "$d" ] || continue
		[ "$(bound_driver "${d##*/}")" = "$1" ] && echo "${d##*/}"
	done | sort
}

# wait_disk [DRIVER [TIMEOUT [N]]]: wait until DRIVER drives at least N
# (default 1) disks and print the N-th one's name.
wait_disk() {
	local drv=${1:-$DRIVER} timeout=${2:-30} n=${3:-1} i=0 dev
	while :; do
		dev=$(disks_of "$drv" | sed -n "${n}p")
		if [ -n "$dev" ] && [ -b "/dev/$dev" ]; then
			echo "$dev"
			return 0
		fi
		[ "$i" -ge $((timeout * 10)) ] && break
		sleep 0.1
		i=$((i + 1))
	done
	{
		log "wait_disk: no disk #$n bound to $drv after ${timeout}s; block devices:"
		for dev in /sys/block/*; do
			[ -e "$dev" ] && log "  ${dev##*/}: $(bound_driver "${dev##*/}" || echo 'no driver')"
		done
	} >&2
	return 1
}

# start_driver: load $DRIVER (with $DRIVER_PARAMS) and wait for its first
# disk, as two test points ("load DRIVER", "DRIVER drives DEV"); set DEV to
# the disk. Bails out (exit 1) if either fails.
start_driver() {
	step "load $DRIVER" load_driver "$DRIVER" || bail "cannot load $DRIVER"
	if DEV=$(wait_disk "$DRIVER" 60); then
		ktap_test_pass "$DRIVER drives $DEV"
	else
		ktap_test_fail "$DRIVER drives a disk"
		bail "no disk for $DRIVER"
	fi
}

# wait_gone DEV [TIMEOUT]: wait until /sys/block/DEV has disappeared.
wait_gone() {
	local i=0
	while [ -e "/sys/block/$1" ]; do
		if [ "$i" -ge $((${2:-30} * 10)) ]; then
			log "wait_gone: /sys/block/$1 still there after ${2:-30}s"
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
}

# disk_by_serial SERIAL: print the disk whose /sys/block/*/serial is SERIAL.
disk_by_serial() {
	local d
	for d in /sys/block/*; do
		if [ -r "$d/serial" ] && [ "$(cat "$d/serial")" = "$1" ]; then
			echo "${d##*/}"
			return 0
		fi
	done
	return 1
}

# poll SECS CMD...: run CMD every 0.1 s until it succeeds; fail after SECS.
poll() {
	local secs=$1 i=0
	shift
	until "$@"; do
		i=$((i + 1))
		[ "$i" -le $((secs * 10)) ] || return 1
		sleep 0.1
	done
}

# unbind_device SECS: unbind $DEV's virtio device (into $VDEV) from
# $DRIVER and wait up to SECS until the disk is gone.
unbind_device() {
	VDEV=$(virtio_dev_of "$DEV") &&
		echo "$VDEV" >"/sys/bus/virtio/drivers/$DRIVER/unbind" && wait_gone "$DEV" "$1"
}

# bind_device: bind $VDEV to $DRIVER again; DEV becomes its new disk.
bind_device() {
	echo "$VDEV" >"/sys/bus/virtio/drivers/$DRIVER/bind" &&
		DEV=$(wait_disk "$DRIVER" 60) && require_bound "$DEV" "$DRIVER"
}

# virtio_dev_of DEV: print the virtio device (virtioN) under /sys/block/DEV.
virtio_dev_of() {
	local link
	link=$(readlink -f "/sys/block/$1/device") || return 1
	case "${link##*/}" in
	virtio*) echo "${link##*/}" ;;
	*) return 1 ;;
	esac
}

# up_from DEV GLOB: the path of the nearest directory up /sys/block/DEV's
# device path whose name matches the shell pattern GLOB.
up_from() {
	local link
	link=$(readlink -f "/sys/block/$1/device") || return 1
	while [ "$link" != / ]; do
		# shellcheck disable=SC2254 # GLOB is a pattern on purpose
		case "${link##*/}" in
		$2)
			echo "$link"
			return
			;;
		esac
		link=${link%/*}
	done
	return 1
}

# pci_of DEV: the PCI function under /sys/block/DEV (0000:01:00.0): the
# nearest one up the device path (a virtio disk's, or its SCSI host's).
pci_of() {
	local p
	p=$(up_from "$1" '[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f].[0-7]') &&
		echo "${p##*/}"
}

# ------------------------------------------------------------- kernel log --

# dmesg_bad: print the kernel log lines that match tests/guest/dmesg-patterns,
# less those matching $DMESG_ALLOW.
dmesg_bad() {
	local pats=/tmp/.dmesg-patterns
	grep -v -e '^#' -e '^$' "$RVIRTIO_DIR/dmesg-patterns" >"$pats"
	if [ -n "${DMESG_ALLOW:-}" ]; then
		dmesg | grep -E -f "$pats" | grep -Ev -e "$DMESG_ALLOW"
	else
		dmesg | grep -E -f "$pats"
	fi
}

# dmesg_check: fail, printing the offending lines, if the kernel log holds a
# warning, a BUG, a KASAN/UBSAN/lockdep/kmemleak/debugobjects report, a hung
# task or an oops.
dmesg_check() {
	local bad
	bad=$(dmesg_bad)
	if [ -n "$bad" ]; then
		log "dmesg_check: the kernel log has:"
		echo "$bad" | as_diag
		return 1
	fi
}

# kmemleak_baseline: forget the leaks suspected so far (boot-time ones that
# are no test's business). Call it before loading the driver under test.
kmemleak_baseline() {
	[ -w "$KMEMLEAK" ] || return 0
	echo scan >"$KMEMLEAK"
	echo clear >"$KMEMLEAK"
}

# kmemleak_check: scan twice (kmemleak reports only objects older than 5 s,
# so wait that long first) and fail, printing them, if any leak is suspected.
kmemleak_check() {
	local leaks
	if [ ! -w "$KMEMLEAK" ]; then
		log "kmemleak_check: $KMEMLEAK is missing (CONFIG_DEBUG_KMEMLEAK, debugfs)"
		return 1
	fi
	sleep 6
	echo scan >"$KMEMLEAK"
	echo scan >"$KMEMLEAK"
	leaks=$(cat "$KMEMLEAK")
	if [ -n "$leaks" ]; then
		log "kmemleak_check: suspected leaks:"
		echo "$leaks" | as_diag
		return 1
	fi
}

# -------------------------------------------------------------------- I/O --

# fio_verify DEV SIZE [FIO-OPTION...]: write SIZE bytes (fio size syntax,
# e.g. 64M) in random-sized (4k-256k) direct writes at random offsets over
# the whole of /dev/DEV, with crc32c verify headers and fresh random data,
# then read everything back and verify it. Fails on any I/O or verify error.
fio_verify() {
	local dev=$1 size=$2 out=/tmp/fio-verify.out rc
	shift 2
	fio --name=fio-verify --filename="/dev/$dev" --direct=1 --ioengine=libaio \
		--iodepth=16 --rw=randwrite --bsrange=4k-256k --io_size="$size" \
		--randrepeat=0 --verify=crc32c --do_verify=1 --verify_fatal=1 \
		--verify_state_save=0 --verify_dump=0 --exitall_on_error=1 \
		"$@" >"$out" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ] || grep -Eq 'bad magic|bad header|verify failed|err= *[1-9]' "$out"; then
		log "fio_verify /dev/$dev $size failed (fio exit $rc):"
		as_diag <"$out"
		return 1
	fi
	grep -E '^ +(READ|WRITE):' "$out" | as_diag
}

# fio_until FILE DEV SIZE [FIO-ARGS...]: fio_verify DEV SIZE round after
# round until FILE exists; says how many rounds ran. Fails at the first
# round that fails.
fio_until() {
	local file=$1 dev=$2 size=$3 n=0
	shift 3
	while [ ! -e "$file" ]; do
		fio_verify "$dev" "$size" "$@" >/dev/null || return 1
		n=$((n + 1))
	done
	echo "$n verified fio runs" >&2
}

# ----------------------------------------------------------- host control --

# host COMMAND [ARGS...]: ask the host (scripts/guest-ctl.py) to do something
# and print its reply. One line goes out on /dev/ttyS1, "SEQ COMMAND ARGS",
# and one comes back, "SEQ ok PAYLOAD" or "SEQ err MESSAGE". Returns 0 on ok,
# 1 on err (MESSAGE to stderr), 2 if there is no channel or no reply.
#
# It needs nothing but the initramfs and the serial port, so it works while
# other processes are stuck in I/O on a disk. Callers take turns (a lock
# directory, /tmp/.host-lock): a background job may call it too.
host() {
	local rc
	if [ ! -c /dev/ttyS1 ]; then
		echo "host: no control channel (/dev/ttyS1)" >&2
		return 2
	fi
	_host_lock
	_host_request "$@"
	rc=$?
	rm -rf /tmp/.host-lock
	return "$rc"
}

# _host_lock: take /tmp/.host-lock, breaking it if its holder is gone or
# after $HOST_TIMEOUT seconds.
_host_lock() {
	local lock=/tmp/.host-lock me holder i=0
	# This process's pid, even in a subshell (where $$ is the parent's).
	read -r me _ </proc/self/stat
	while ! mkdir "$lock" 2>/dev/null; do
		holder=$(cat "$lock/pid" 2>/dev/null)
		if [ -n "$holder" ] && [ ! -d "/proc/$holder" ]; then
			rm -rf "$lock"
			continue
		fi
		if [ "$i" -ge $((${HOST_TIMEOUT:-60} * 20)) ]; then
			echo "host: $lock held by ${holder:-?} for ${HOST_TIMEOUT:-60}s; breaking it" >&2
			rm -rf "$lock"
			continue
		fi
		sleep 0.05
		i=$((i + 1))
	done
	echo "$me" >"$lock/pid"
}

_host_request() {
	local seq rseq status rest seqf=/tmp/.host-seq
	seq=$(($(cat "$seqf" 2>/dev/null || echo 0) + 1))
	echo "$seq" >"$seqf"
	printf '%s %s\n' "$seq" "$*" >/dev/ttyS1
	# shellcheck disable=SC3045 # busybox ash has read -t
	while IFS=' ' read -r -t "${HOST_TIMEOUT:-60}" rseq status rest </dev/ttyS1; do
		[ "$rseq" = "$seq" ] || continue
		case "$status" in
		ok)
			echo "$rest"
			return 0
			;;
		*)
			echo "host: $*: $rest" >&2
			return 1
			;;
		esac
	done
	echo "host: $*: no reply within ${HOST_TIMEOUT:-60}s" >&2
	return 2
}
