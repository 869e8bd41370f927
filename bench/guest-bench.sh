#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The guest half of `make bench` (scripts/bench.sh boots the guest and
# parses what this prints), with tests/guest/lib.sh's helpers.
#
# Environment (set by scripts/bench.sh with guest.sh --env):
#   BENCH_ROUNDS   rounds; each round runs every job once per driver, and the
#                  drivers' order alternates from round to round
#   BENCH_FIRST_ROUND  the round to start at (default 1): scripts/bench.sh
#                  resumes a boot that hung in a new one
#   BENCH_JOBS     space-separated job specs, each
#                    NAME:SERIAL:ENGINE:RW:BS:QD:NUMJOBS:RUNTIME:DRIVERS
#                  SERIAL picks the disk, ENGINE is a fio engine or
#                  io_uring_hipri (polled io_uring), RUNTIME is in seconds,
#                  DRIVERS is a comma-separated subset of the drivers below
#                  (without their suffixes)
#   BENCH_SYMS     if set, print the loaded module's symbols from
#                  /proc/kallsyms after each load (BENCH-SYM lines), for
#                  bench/profile.sh
#   BENCH_DRIVERS  the drivers, in round-one order; each is one of
#                    c      the kernel's virtio_blk (/modules/virtio_blk.ko)
#                    rv     rvirtio_blk (/modules/rvirtio_blk.ko)
#                    rvnt   rvirtio_blk built without its timeout handling
#                           (/bench/rvirtio_blk.ko)
#                    sc     the kernel's virtio_scsi (/modules/virtio_scsi.ko)
#                    rs     rvirtio_scsi (/modules/rvirtio_scsi.ko)
#                    rsnt   rvirtio_scsi built without its timeout handling
#                           (/bench/rvirtio_scsi.ko)
#                  with an optional @N suffix (virtio-blk only): load it
#                  with num_request_queues=N, and an optional +pN suffix:
#                  load it with N poll queues (poll_queues=N,
#                  virtscsi_poll_queues=N)
#
# For every fio run it prints a line
#   BENCH-RUN job=NAME driver=D round=R cpus=N busy=TICKS total=TICKS bad=N
# (the guest's CPUs, its /proc/stat busy and total ticks across the run, and the count
# of WARN/BUG/... lines dmesg gained), with recovered=1 added if rvirtio_blk's
# timeout handling had to act during the run, then fio's JSON between
# BENCH-FIO-BEGIN and BENCH-FIO-END. BENCH-ROUND N starts round N.
# BENCH-RECOVERY lines say what rvirtio_blk's timeout handling had to do
# (timeouts, lost interrupts, resets) while it was loaded.

# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh

# Only errors and worse reach the console (a soft lockup or an RCU stall
# would be the story of a hang); bench/report.py sets such lines apart from
# fio's JSON.
dmesg -n 4

# The console: run_job sends fio's own output elsewhere.
exec 3>&1

# To the console (fd 3), also from a command substitution, whose exit
# the caller passes on with `|| exit 1`.
bench_fail() {
	echo "BENCH-ERROR: $*" >&3
	exit 1
}

# busy and total ticks of all CPUs, from /proc/stat's cpu line.
cpu_ticks() {
	awk '$1 == "cpu" { busy = $2 + $3 + $4 + $7 + $8; total = busy + $5 + $6 + $9; print busy, total; exit }' /proc/stat
}

driver_module() {
	case "${1%%[@+]*}" in
	c) echo virtio_blk ;;
	rv | rvnt) echo rvirtio_blk ;;
	sc) echo virtio_scsi ;;
	rs | rsnt) echo rvirtio_scsi ;;
	*) bench_fail "unknown driver $1" ;;
	esac
}

# The module parameters of driver spec $1 (its @N and +pN suffixes).
driver_params() {
	local d=$1 mod params='' q p
	mod=$(driver_module "$d")
	case "$d" in *@*)
		q=${d#*@}
		q=${q%%+*}
		case "$mod" in
		*blk) params="num_request_queues=$q" ;;
		*) bench_fail "$d: @N is for virtio-blk drivers" ;;
		esac
		;;
	esac
	case "$d" in *+p*)
		p=${d#*+p}
		case "$mod" in
		*blk) params="$params poll_queues=$p" ;;
		*) params="$params virtscsi_poll_queues=$p" ;;
		esac
		;;
	esac
	echo "$params"
}

load() {
	local d=$1 mod ko params
	mod=$(driver_module "$d")
	params=$(driver_params "$d") || exit 1
	case "${d%%[@+]*}" in
	rvnt | rsnt) ko=/bench/$mod.ko ;;
	*) ko=/modules/$mod.ko ;;
	esac
	# shellcheck disable=SC2086 # params is words
	insmod "$ko" $params || bench_fail "insmod $ko $params"
	# For bench/profile.sh: where the module's code is.
	if [ -n "${BENCH_SYMS:-}" ]; then
		grep -E "[[:space:]]\[($mod|virtio_blk|virtio_scsi)\]\$" /proc/kallsyms | sed 's/^/BENCH-SYM /'
	fi
}

# What rvirtio_blk had to recover from while it was loaded (its debugfs
# counters, for each disk): a lost interrupt or a reset during a benchmark
# is an incident to report, not a figure.
recovery_counters() {
	local d f v line
	for d in /sys/kernel/debug/rvirtio_blk/*/ /sys/kernel/debug/rvirtio_scsi/*/; do
		[ -d "$d" ] || continue
		line=''
		for f in timeouts lost_interrupts resets requeued aborts lun_resets host_resets; do
			v=$(cat "$d$f" 2>/dev/null) || continue
			[ "$v" = 0 ] || line="$line $f=$v"
		done
		[ -z "$line" ] || echo "BENCH-RECOVERY driver=$1 round=$2 disk=$(basename "$d")$line"
	done
}

# The rvirtio drivers' timeout, lost-interrupt and reset counters, and
# rvirtio_scsi's error-handler ones, for each device (nothing for the C
# drivers): a run during which they moved was not a plain run. (Built
# without timeout handling, rvirtio_scsi still gets the midlayer's abort
# after its 30 s timeout.)
recovery_state() {
	local f
	for f in timeouts lost_interrupts resets aborts lun_resets host_resets; do
		cat /sys/kernel/debug/rvirtio_blk/*/"$f" /sys/kernel/debug/rvirtio_scsi/*/"$f" 2>/dev/null
	done
	true
}

unload() {
	case "$(driver_module "$1")" in rvirtio*) recovery_counters "$1" "$2" ;; esac
	rmmod "$(driver_module "$1")" || bench_fail "rmmod $(driver_module "$1")"
}

# The disk with serial $1: a virtio-blk disk's serial, or a SCSI disk's
# unit serial number (VPD page 0x80, after its 4-byte header).
disk_with_serial() {
	local d
	disk_by_serial "$1" && return
	for d in /sys/block/sd*; do
		[ -r "$d/device/vpd_pg80" ] || continue
		if [ "$(tail -c +5 "$d/device/vpd_pg80" | tr -d '\000')" = "$1" ]; then
			echo "${d##*/}"
			return
		fi
	done
	return 1
}

# The virtio driver under disk $1: the disk's own, or its SCSI host's.
virtio_driver() {
	local p
	case "$(bound_driver "$1")" in
	sd)
		p=$(up_from "$1" 'virtio[0-9]*') && readlink "$p/driver" | sed 's#.*/##'
		;;
	*) bound_driver "$1" ;;
	esac
}

# The disk with serial $1, waiting for it to appear, and served by $2.
disk_for() {
	local serial=$1 mod=$2 i dev
	for i in $(seq 100); do
		dev=$(disk_with_serial "$serial") && break
		sleep 0.1
	done
	[ -n "$dev" ] || bench_fail "no disk with serial $serial"
	[ "$(virtio_driver "$dev")" = "$mod" ] ||
		bench_fail "$dev is served by '$(virtio_driver "$dev")', not $mod"
	echo "$dev"
}

# Where the requests of a hung run are: blk-mq's view of the disk, the
# driver's interrupts, and the kernel's latest messages.
hung_diagnostics() {
	local q=/sys/kernel/debug/block/$1 f
	echo "BENCH-HUNG /sys/block/$1/inflight: $(cat "/sys/block/$1/inflight")"
	for f in "$q"/hctx*/state "$q"/hctx*/busy "$q"/hctx*/dispatch "$q"/hctx*/tags; do
		[ -r "$f" ] && sed "s|^|BENCH-HUNG ${f#"$q"/}: |" "$f"
	done
	grep virtio /proc/interrupts | sed 's/^/BENCH-HUNG /'
	# Warnings the console did not show (dmesg -n 4), such as a clocksource
	# switch.
	dmesg | tail -n 30 | sed 's/^/BENCH-HUNG dmesg: /'
}

# guarded_fio SECS DEV WHAT FIO-ARGS...: fio, which must end within SECS
# (longer than rvirtio_blk's default io_timeout, so that its timeout
# handling gets its chance). A run that does not has lost I/O: on this
# host's QEMU that happens to either driver now and then
# (Documentation/benchmarks.rst). A process with I/O stuck in the kernel can
# neither be killed nor waited for, so a watchdog says where the requests
# are and powers the guest off; scripts/bench.sh resumes in a new boot.
guarded_fio() {
	local secs=$1 dev=$2 what=$3 watchdog rc
	shift 3
	# To the console (fd 3), whatever the caller did with stdout.
	(
		sleep "$secs"
		hung_diagnostics "$dev"
		echo "BENCH-ERROR: $what did not finish in $secs s: I/O hung"
		echo "RVIRTIO-EXIT: 1"
		# The console sends what was echoed after this returns; a reboot
		# now would lose it.
		sleep 2
		reboot -f
	) >&3 2>&1 &
	watchdog=$!
	fio "$@" 2>/tmp/fio.err
	rc=$?
	kill "$watchdog" 2>/dev/null
	wait "$watchdog" 2>/dev/null
	[ "$rc" = 0 ] || bench_fail "$what: $(cat /tmp/fio.err)"
}

# The first run after a load is slower (cold caches, the first
# allocations): a short unmeasured run on each disk driver $1 runs jobs on.
warm_up() {
	local serial dev spec
	for serial in $(for spec in $BENCH_JOBS; do
		case ",${spec##*:}," in *",${1%%[@+]*},"*) echo "$spec" | cut -d: -f2 ;; esac
	done | sort -u); do
		dev=$(disk_for "$serial" "$(driver_module "$1")") || exit 1
		guarded_fio 45 "$dev" "warm-up fio on $1 (round $2)" --name=warm-up --filename="/dev/$dev" \
			--direct=1 --ioengine=libaio --rw=randread --bs=4k --iodepth=32 \
			--time_based --runtime=250ms --output=/dev/null
	done
}

run_job() {
	local spec=$1 drv=$2 round=$3 name serial engine rw bs qd nj rt who dev before after bad0 bad1
	local rec0 rec1 flag=''

	local ifs=$IFS
	IFS=:
	# shellcheck disable=SC2086 # split the spec at the colons
	set -- $spec
	IFS=$ifs
	name=$1 serial=$2 engine=$3 rw=$4 bs=$5 qd=$6 nj=$7 rt=$8 who=$9
	case ",$who," in *",${drv%%[@+]*},"*) ;; *) return 0 ;; esac
	dev=$(disk_for "$serial" "$(driver_module "$drv")") || exit 1
	bad0=$(dmesg_bad | wc -l)
	rec0=$(recovery_state)
	before=$(cpu_ticks)
	# io_uring_hipri: io_uring, polled (on the driver's poll queues).
	local hipri=''
	if [ "$engine" = io_uring_hipri ]; then
		engine=io_uring hipri=--hipri
	fi
	# shellcheck disable=SC2086 # hipri is empty or one word (an engine
	# option: after --ioengine)
	guarded_fio $((rt * 10 + 35)) "$dev" "fio $name on $drv (round $round)" \
		--name="$name" --filename="/dev/$dev" --direct=1 \
		--ioengine="$engine" $hipri --rw="$rw" --bs="$bs" --iodepth="$qd" --numjobs="$nj" \
		--group_reporting --time_based --runtime="$rt" --norandommap --randrepeat=0 \
		--lat_percentiles=1 --output-format=json >/tmp/fio.json
	after=$(cpu_ticks)
	bad1=$(dmesg_bad | wc -l)
	rec1=$(recovery_state)
	[ "$rec0" = "$rec1" ] || flag=' recovered=1'
	# shellcheck disable=SC2086 # two numbers each
	set -- $before $after
	echo "BENCH-RUN job=$name driver=$drv round=$round cpus=$(nproc) busy=$(($3 - $1)) total=$(($4 - $2)) bad=$((bad1 - bad0))$flag"
	echo "BENCH-FIO-BEGIN"
	cat /tmp/fio.json
	echo "BENCH-FIO-END"
}

if [ -z "${BENCH_JOBS:-}" ] || [ -z "${BENCH_DRIVERS:-}" ]; then
	bench_fail "BENCH_JOBS and BENCH_DRIVERS must be set"
fi
echo "BENCH-GUEST cpus=$(nproc) kernel=$(uname -r) rounds=$BENCH_ROUNDS"
round=${BENCH_FIRST_ROUND:-1}
[ "$round" = 1 ] || echo "BENCH-RESUME: a new boot, from round $round"
while [ "$round" -le "$BENCH_ROUNDS" ]; do
	echo "BENCH-ROUND $round"
	# Odd rounds in the given order, even rounds reversed.
	order=$BENCH_DRIVERS
	if [ $((round % 2)) = 0 ]; then
		order=$(echo "$BENCH_DRIVERS" | tr ' ' '\n' | sed '1!G;h;$!d' | tr '\n' ' ')
	fi
	for drv in $order; do
		load "$drv"
		warm_up "$drv" "$round"
		for spec in $BENCH_JOBS; do
			run_job "$spec" "$drv" "$round"
		done
		unload "$drv" "$round"
	done
	round=$((round + 1))
done
echo "BENCH-DONE"
