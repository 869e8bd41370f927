#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: rvirtio_blk against the kernel's virtio_blk, A/B in the same
# guest boot, on the perf test kernel. See Documentation/benchmarks.rst.
#
#   scripts/bench.sh [--quick] [--out DIR] [--only BOOT,...]
#
#   --quick        one round of one-second jobs: checks the harness, not the
#                  drivers
#   --out DIR      where results.json, results.md, ratios.svg and the console
#                  logs go (default: bench/results)
#   --only BOOTS   run only these boots (icount1, icount2, latency)
#
# Three guest boots, each with the same two disks (a QEMU null-co that reads
# zeroes, and a raw image in host RAM under /dev/shm):
#
#   icount1   -icount shift=0,sleep=on, 1 vCPU, 1 queue: guest time counts
#             guest instructions, so IOPS measure instructions per I/O. The
#             throughput jobs, and rvirtio_blk built without its timeout
#             handling (rvnt) on two of them.
#   icount2   the same with 2 vCPUs and 2 queues: numjobs=2, with 2 queues
#             and with num_request_queues=1.
#   latency   plain TCG (real time), 1 vCPU: QD1 latency and 128k sequential
#             reads, more rounds.
#
# Every round loads each driver once (insmod/rmmod) and runs every job; the
# order of the drivers alternates from round to round.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/env.sh
. "$repo/scripts/env.sh"

quick=0 out=$repo/bench/results only=icount1,icount2,latency
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--out)
		out=$2
		shift
		;;
	--only)
		only=$2
		shift
		;;
	*)
		echo "usage: $0 [--quick] [--out DIR] [--only BOOT,...]" >&2
		exit 2
		;;
	esac
	shift
done

say() { echo "bench: $*" >&2; }

start=$(date +%s)
"$repo/scripts/setup.sh" guest
"$repo/scripts/build-kernel.sh" perf
kdir=$("$repo/scripts/build-kernel.sh" perf --print)
cbuiltin=$kdir/drivers/block/virtio_blk.ko
[ -f "$cbuiltin" ] || {
	echo "bench: $cbuiltin is missing: the perf kernel must build virtio_blk as a module" >&2
	exit 1
}

# Build the modules for the perf kernel in copies of the tree, so that the
# debug build in the tree itself is left alone: once as they are, once
# without the timeout handling.
work=$RVIRTIO_CACHE/bench
mkdir -p "$work"
build_copy() {
	local dst=$1
	shift
	mkdir -p "$dst"
	(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
		tar --null --ignore-failed-read -T - -cf -) | tar -xf - -C "$dst"
	say "building rvirtio_blk for the perf kernel in $dst $*"
	make -s -C "$dst" KDIR="$kdir" "$@" modules >"$dst.log" 2>&1 || {
		tail -n 30 "$dst.log" >&2
		exit 1
	}
}
build_copy "$work/build"
build_copy "$work/build-notimeout" RVIRTIO_NO_TIMEOUT=1
tree=$work/tree
rm -rf "$tree"
mkdir -p "$tree/bench"
cp "$repo/bench/guest-bench.sh" "$tree/bench/"
cp "$work/build-notimeout/drivers/block/rvirtio_blk.ko" "$tree/bench/rvirtio_blk.ko"

# The RAM disk: a raw image in host memory.
ram=/dev/shm/rvirtio-bench-ram.img
truncate -s 1G "$ram"
trap 'rm -f "$ram"' EXIT

# Runtimes are guest seconds: under icount one second is 10^9 guest
# instructions, about 100 000 4k I/Os, and takes about four seconds here.
rounds=5 lat_rounds=10 rt=1 lat_rt=2
if [ "$quick" = 1 ]; then
	rounds=1 lat_rounds=1 lat_rt=1
fi

# NAME:SERIAL:ENGINE:RW:BS:QD:NUMJOBS:RUNTIME:DRIVERS (bench/guest-bench.sh)
jobs_icount1="
randread-4k-qd32-libaio:null:libaio:randread:4k:32:1:$rt:c,rv,rvnt
randread-4k-qd32-io_uring:null:io_uring:randread:4k:32:1:$rt:c,rv
randread-4k-qd128-libaio:null:libaio:randread:4k:128:1:$rt:c,rv
randread-4k-qd128-io_uring:null:io_uring:randread:4k:128:1:$rt:c,rv
randwrite-4k-qd32-libaio:null:libaio:randwrite:4k:32:1:$rt:c,rv,rvnt
randwrite-4k-qd32-io_uring:null:io_uring:randwrite:4k:32:1:$rt:c,rv
ram-randread-4k-qd32-libaio:ram:libaio:randread:4k:32:1:$rt:c,rv
ram-randwrite-4k-qd32-io_uring:ram:io_uring:randwrite:4k:32:1:$rt:c,rv"
jobs_icount2="
randread-4k-qd32x2-libaio:null:libaio:randread:4k:32:2:$rt:c,rv
randwrite-4k-qd32x2-io_uring:null:io_uring:randwrite:4k:32:2:$rt:c,rv"
# 128k reads leave the vCPU idle while QEMU fills the buffers, so under
# icount their figures would follow host time anyway: they run in real time.
jobs_latency="
randread-4k-qd1-libaio:null:libaio:randread:4k:1:1:$lat_rt:c,rv
randread-4k-qd1-io_uring:null:io_uring:randread:4k:1:1:$lat_rt:c,rv
seqread-128k-qd8-libaio:null:libaio:read:128k:8:1:$lat_rt:c,rv
seqread-128k-qd8-io_uring:null:io_uring:read:128k:8:1:$lat_rt:c,rv"

mkdir -p "$out"
boot() {
	local name=$1 smp=$2 icount=$3 queues=$4 nrounds=$5 drivers=$6 jobs=$7
	local log=$out/$name.log first=1 attempt=1 t0=$SECONDS
	rm -f "$out/$name".*.log "$out/$name".*.log.ctl
	say "boot $name: $smp vCPU(s), $queues queue(s), icount=$icount, $nrounds rounds of: $drivers"
	# A run that hangs ends its boot (the guest cannot take back I/O stuck
	# in a driver without a timeout handler). The boot's runs so far are
	# kept, and a new boot starts again at the round that hung, whose runs
	# replace the first boot's; up to two such restarts
	# (Documentation/benchmarks.rst, "Lost notifications").
	local args=(--kernel "$kdir/arch/x86/boot/bzImage" --module "$cbuiltin"
		--module "$work/build/drivers/block/rvirtio_blk.ko" --tree "$tree" --quiet
		--qemu-arg -smp --qemu-arg "$smp"
		--qemu-arg -blockdev --qemu-arg "driver=null-co,node-name=nullb,read-zeroes=on,size=1073741824"
		--qemu-arg -device --qemu-arg "virtio-blk-pci,drive=nullb,id=nullb0,serial=null,num-queues=$queues"
		--disk "id=ram,file=$ram,serial=ram,num-queues=$queues"
		--env "BENCH_ROUNDS=$nrounds" --env "BENCH_DRIVERS=$drivers"
		--env "BENCH_JOBS=$(echo "$jobs" | xargs)")
	# With 2 vCPUs under icount, RDRAND lets the guest's CRNG be ready at
	# boot. Without it the first fio of a boot (which reads /dev/urandom)
	# gathers timer jitter for the CRNG, finds too little under icount, and
	# stalled the guest for minutes. With 1 vCPU that never happened
	# (Documentation/benchmarks.rst).
	if [ "$smp" -gt 1 ] && [ "$icount" = 1 ]; then
		args+=(--qemu-arg -cpu --qemu-arg "qemu64,+rdrand")
	fi
	if [ "$icount" = 1 ]; then
		args+=(--qemu-arg -icount --qemu-arg "shift=0,sleep=on")
	fi
	while :; do
		# Twice what the runs should take, at least ten minutes.
		local limit=$(((nrounds - first + 1) * $(echo "$jobs" | grep -c :) * 4 * 12 + 600))
		"$repo/scripts/guest.sh" "${args[@]}" --log "$log" --timeout "$limit" \
			--env "BENCH_FIRST_ROUND=$first" --run 'sh /bench/guest-bench.sh' && break
		grep -a 'BENCH-ERROR' "$log" >&2 || tail -n 20 "$log" >&2
		grep -aq 'BENCH-ERROR' "$log" || echo "BENCH-ERROR: the guest stopped early" >>"$log"
		say "boot $name failed; its console log is $log"
		# Where it stopped: the last round the guest started.
		local hung
		hung=$(tr -d '\r' <"$log" | sed -n 's/^BENCH-ROUND \([0-9]*\)$/\1/p' | tail -n 1)
		if [ -z "$hung" ] || [ "$attempt" -ge 3 ] || ! grep -aq 'I/O hung' "$log"; then
			failed_boots+=("$name")
			break
		fi
		attempt=$((attempt + 1)) first=$hung
		log=$out/$name.r$attempt.log
		say "boot $name: a new boot from round $first ($log)"
	done
	say "boot $name took $((SECONDS - t0)) s"
}
failed_boots=()

case ",$only," in *,icount1,*) boot icount1 1 1 1 "$rounds" "c rv rvnt" "$jobs_icount1" ;; esac
case ",$only," in *,icount2,*) boot icount2 2 1 2 "$rounds" "c rv c@1 rv@1" "$jobs_icount2" ;; esac
case ",$only," in *,latency,*) boot latency 1 0 1 "$lat_rounds" "c rv" "$jobs_latency" ;; esac

/usr/bin/python3 "$repo/bench/report.py" --out "$out" "$out"/*.log
say "done in $(($(date +%s) - start)) s: $out/results.md"
if [ ${#failed_boots[@]} -gt 0 ]; then
	say "boots that failed: ${failed_boots[*]} (see results.md)"
	exit 1
fi
