#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: rvirtio_blk against the kernel's virtio_blk and rvirtio_scsi
# against its virtio_scsi, A/B in the same guest boot, on the perf test
# kernel. See Documentation/benchmarks.rst.
#
#   scripts/bench.sh [--quick] [--out DIR] [--part PART | --only BOOT,...]
#
#   --quick        one round of one-second jobs: checks the harness, not the
#                  drivers
#   --out DIR      where results.json, results.md, ratios.svg and the console
#                  logs go (default: bench/results/$KERNEL, e.g.
#                  bench/results/7.3)
#   --part PART    run one part: blk (icount1, icount2, latency), scsi
#                  (scsi1, scsi2) or poll (poll). Each fits in 30 minutes
#                  on 2 cores; all three take about 40. The report covers
#                  every boot whose console log is in the --out directory,
#                  so a part's report keeps the other parts' latest results
#   --only BOOTS   run only these boots (icount1, icount2, latency, scsi1,
#                  scsi2, poll)
#   --profile D    profile instead: with --only BOOT (one) and --job NAME,
#                  boot BOOT with driver D alone (nokaslr, under
#                  bench/tools/insn-plugin.c), run job NAME once for 10
#                  guest seconds, and leave BOOT.D.log and BOOT.D.tb in the
#                  --out directory for bench/tools/profile-report.py
#
# Six guest boots. The virtio-blk ones have two disks (a QEMU null-co that
# reads zeroes, and a raw image in host RAM under /dev/shm); the virtio-scsi
# ones have the same two backends as scsi-hd LUNs:
#
#   icount1   -icount shift=0,sleep=on, 1 vCPU, 1 queue: guest time counts
#             guest instructions, so IOPS measure instructions per I/O. The
#             throughput jobs, and rvirtio_blk built without its timeout
#             handling (rvnt) on two of them.
#   icount2   the same with 2 vCPUs and 2 queues: numjobs=2, with 2 queues
#             and with num_request_queues=1.
#   latency   plain TCG (real time), 1 vCPU: QD1 latency and 128k sequential
#             reads, more rounds.
#   scsi1     as icount1, for virtio_scsi and rvirtio_scsi: one controller
#             with one request queue; rvirtio_scsi built without its
#             timeout handling (rsnt) on two jobs.
#   scsi2     as icount2, for the SCSI drivers: a controller with 2 request
#             queues and one with 1 (the C driver has no parameter for it).
#   poll      icount, 2 vCPUs (the C drivers make no poll queue with one
#             CPU): polled io_uring (hipri) on one poll queue, for
#             all four drivers (a virtio-blk disk and a virtio-scsi
#             controller with 2 queues each).
#
# Every round loads each driver once (insmod/rmmod) and runs every job; the
# order of the drivers alternates from round to round.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/env.sh
. "$repo/scripts/env.sh"

quick=0 out=$repo/bench/results/$KERNEL only=icount1,icount2,latency,scsi1,scsi2,poll profile='' job=''
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--profile)
		profile=$2
		shift
		;;
	--job)
		job=$2
		shift
		;;
	--out)
		out=$2
		shift
		;;
	--only)
		only=$2
		shift
		;;
	--part)
		case "$2" in
		blk) only=icount1,icount2,latency ;;
		scsi) only=scsi1,scsi2 ;;
		poll) only=poll ;;
		*)
			echo "$0: --part is blk, scsi or poll, not '$2'" >&2
			exit 2
			;;
		esac
		shift
		;;
	*)
		echo "usage: $0 [--quick] [--out DIR] [--part PART | --only BOOT,...] [--profile DRIVER --only BOOT --job NAME]" >&2
		exit 2
		;;
	esac
	shift
done

say() { echo "bench: $*" >&2; }

if [ -n "$profile" ]; then
	case "$only" in *,* | '') say "--profile needs one boot (--only)" && exit 2 ;; esac
	[ -n "$job" ] || { say "--profile needs --job" && exit 2; }
fi

start=$(date +%s)
"$repo/scripts/setup.sh" guest
"$repo/scripts/build-kernel.sh" perf
kdir=$("$repo/scripts/build-kernel.sh" perf --print)
cbuiltin=$kdir/drivers/block/virtio_blk.ko
cscsi=$kdir/drivers/scsi/virtio_scsi.ko
for ko in "$cbuiltin" "$cscsi"; do
	[ -f "$ko" ] || {
		echo "bench: $ko is missing: the perf kernel must build virtio_blk and virtio_scsi as modules" >&2
		exit 1
	}
done

# Build the modules for the perf kernel in copies of the tree, so that the
# debug build in the tree itself is left alone: once as they are, once
# without the timeout handling.
work=$RVIRTIO_CACHE/bench-$KERNEL
mkdir -p "$work"
build_copy() {
	local dst=$1
	shift
	mkdir -p "$dst"
	(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
		tar --null --ignore-failed-read -T - -cf -) | tar -xf - -C "$dst"
	say "building the rvirtio drivers for the perf kernel in $dst $*"
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
cp "$work/build-notimeout/drivers/scsi/rvirtio_scsi.ko" "$tree/bench/rvirtio_scsi.ko"

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

# virtio-scsi: the same jobs on scsi-hd LUNs (serials snull and sram).
jobs_scsi1="
scsi-randread-4k-qd32-libaio:snull:libaio:randread:4k:32:1:$rt:sc,rs,rsnt
scsi-randread-4k-qd32-io_uring:snull:io_uring:randread:4k:32:1:$rt:sc,rs
scsi-randwrite-4k-qd32-libaio:snull:libaio:randwrite:4k:32:1:$rt:sc,rs,rsnt
scsi-randwrite-4k-qd32-io_uring:snull:io_uring:randwrite:4k:32:1:$rt:sc,rs
scsi-ram-randread-4k-qd32-libaio:sram:libaio:randread:4k:32:1:$rt:sc,rs
scsi-ram-randwrite-4k-qd32-io_uring:sram:io_uring:randwrite:4k:32:1:$rt:sc,rs"
# A LUN on a controller with 2 request queues (snull2), and one on a
# controller with 1 (snull1).
jobs_scsi2="
scsi-randread-4k-qd32x2-libaio-2q:snull2:libaio:randread:4k:32:2:$rt:sc,rs
scsi-randread-4k-qd32x2-libaio-1q:snull1:libaio:randread:4k:32:2:$rt:sc,rs
scsi-randwrite-4k-qd32x2-io_uring-2q:snull2:io_uring:randwrite:4k:32:2:$rt:sc,rs
scsi-randwrite-4k-qd32x2-io_uring-1q:snull1:io_uring:randwrite:4k:32:2:$rt:sc,rs"
# Polled: each driver loaded with one poll queue (+p1) of its device's 2.
jobs_poll="
poll-randread-4k-qd32-io_uring:pnull:io_uring_hipri:randread:4k:32:1:$rt:c,rv
scsi-poll-randread-4k-qd32-io_uring:spnull:io_uring_hipri:randread:4k:32:1:$rt:sc,rs"

null_dev() { # NODE: a 1 GiB null-co block node that reads zeroes
	echo "driver=null-co,node-name=$1,read-zeroes=on,size=1073741824"
}
ram_dev() { # NODE: the RAM image as a block node
	echo "driver=raw,node-name=$1,file.driver=file,file.filename=$ram"
}
# devs_of SET QUEUES: the QEMU arguments of a boot's devices, one a line:
# blk (the null disk with QUEUES queues; boot adds the RAM disk), scsi1,
# scsi2 or poll.
devs_of() {
	case "$1" in
	blk)
		printf '%s\n' -blockdev "$(null_dev nullb)" \
			-device "virtio-blk-pci,drive=nullb,id=nullb0,serial=null,num-queues=$2"
		;;
	scsi1)
		printf '%s\n' -blockdev "$(null_dev snullb)" -blockdev "$(ram_dev sramb)" \
			-device "virtio-scsi-pci,id=scsi0,num_queues=1" \
			-device "scsi-hd,bus=scsi0.0,scsi-id=0,lun=0,drive=snullb,serial=snull" \
			-device "scsi-hd,bus=scsi0.0,scsi-id=1,lun=0,drive=sramb,serial=sram"
		;;
	scsi2)
		printf '%s\n' -blockdev "$(null_dev snullb2)" -blockdev "$(null_dev snullb1)" \
			-device "virtio-scsi-pci,id=scsi0,num_queues=2" \
			-device "scsi-hd,bus=scsi0.0,scsi-id=0,lun=0,drive=snullb2,serial=snull2" \
			-device "virtio-scsi-pci,id=scsi1,num_queues=1" \
			-device "scsi-hd,bus=scsi1.0,scsi-id=0,lun=0,drive=snullb1,serial=snull1"
		;;
	poll)
		printf '%s\n' -blockdev "$(null_dev pnullb)" -blockdev "$(null_dev spnullb)" \
			-device "virtio-blk-pci,drive=pnullb,id=pnull0,serial=pnull,num-queues=2" \
			-device "virtio-scsi-pci,id=scsi0,num_queues=2" \
			-device "scsi-hd,bus=scsi0.0,scsi-id=0,lun=0,drive=spnullb,serial=spnull"
		;;
	esac
}

mkdir -p "$out"
# boot NAME SMP ICOUNT QUEUES ROUNDS DRIVERS JOBS DEVS: DEVS is the set of
# devices (devs_of).
boot() {
	local name=$1 smp=$2 icount=$3 queues=$4 nrounds=$5 drivers=$6 jobs=$7 devs=$8
	local log=$out/$name.log first=1 attempt=1 t0=$SECONDS
	# A resumed boot's logs (NAME.rN.log); a profile keeps the others'.
	[ -n "$profile" ] || rm -f "$out/$name".*.log "$out/$name".*.log.ctl
	say "boot $name: $smp vCPU(s), $queues queue(s), icount=$icount, $nrounds rounds of: $drivers"
	# A run that hangs ends its boot (the guest cannot take back I/O stuck
	# in a driver without a timeout handler). The boot's runs so far are
	# kept, and a new boot starts again at the round that hung, whose runs
	# replace the first boot's; up to two such restarts
	# (Documentation/benchmarks.rst, "Lost notifications").
	local args=(--kernel "$kdir/arch/x86/boot/bzImage" --module "$cbuiltin" --module "$cscsi"
		--module "$work/build/drivers/block/rvirtio_blk.ko"
		--module "$work/build/drivers/scsi/rvirtio_scsi.ko" --tree "$tree" --quiet
		--qemu-arg -smp --qemu-arg "$smp"
		--env "BENCH_ROUNDS=$nrounds" --env "BENCH_DRIVERS=$drivers"
		--env "BENCH_JOBS=$(echo "$jobs" | xargs)")
	local a
	while read -r a; do
		args+=(--qemu-arg "$a")
	done < <(devs_of "$devs" "$queues")
	if [ "$devs" = blk ]; then
		args+=(--disk "id=ram,file=$ram,serial=ram,num-queues=$queues")
	fi
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
	if [ -n "$profile" ]; then
		local plugin=$work/insn-plugin.so
		gcc -O2 -shared -fPIC -fvisibility=hidden -o "$plugin" "$repo/bench/tools/insn-plugin.c"
		log=$out/$name.$profile.log
		args+=(--append nokaslr --env BENCH_SYMS=1
			--qemu-arg -plugin --qemu-arg "$plugin,out=$out/$name.$profile.tb")
	fi
	while :; do
		# Twice what the runs should take, at least ten minutes.
		local limit=$(((nrounds - first + 1) * $(echo "$jobs" | grep -c :) * 4 * 12 + 600))
		# A guest whose I/O hung cannot shut its disks down (sd's
		# SYNCHRONIZE CACHE waits for the C driver's lost requests): it is
		# stopped 30 s after its exit marker.
		"$repo/scripts/guest.sh" "${args[@]}" --log "$log" --timeout "$limit" --exit-grace 30 \
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

if [ -n "$profile" ]; then
	# One run of the job, long enough that boot and warm-up hardly count.
	rounds=1 lat_rounds=1
	sel() { # JOBS: the profiled job, 10 s, driver $profile only
		echo "$1" | awk -F: -v j="$job" -v d="${profile%%[@+]*}" 'BEGIN { OFS = ":" } $1 == j { $8 = 10; $9 = d; print }'
	}
	jobs_icount1=$(sel "$jobs_icount1") jobs_icount2=$(sel "$jobs_icount2")
	jobs_latency=$(sel "$jobs_latency") jobs_scsi1=$(sel "$jobs_scsi1")
	jobs_scsi2=$(sel "$jobs_scsi2") jobs_poll=$(sel "$jobs_poll")
fi
drivers_of() { # DRIVERS: the boot's drivers, or the profiled one
	if [ -n "$profile" ]; then echo "$profile"; else echo "$1"; fi
}
case ",$only," in *,icount1,*) boot icount1 1 1 1 "$rounds" "$(drivers_of "c rv rvnt")" "$jobs_icount1" blk ;; esac
case ",$only," in *,icount2,*) boot icount2 2 1 2 "$rounds" "$(drivers_of "c rv c@1 rv@1")" "$jobs_icount2" blk ;; esac
case ",$only," in *,latency,*) boot latency 1 0 1 "$lat_rounds" "$(drivers_of "c rv")" "$jobs_latency" blk ;; esac
case ",$only," in *,scsi1,*) boot scsi1 1 1 1 "$rounds" "$(drivers_of "sc rs rsnt")" "$jobs_scsi1" scsi1 ;; esac
case ",$only," in *,scsi2,*) boot scsi2 2 1 2 "$rounds" "$(drivers_of "sc rs")" "$jobs_scsi2" scsi2 ;; esac
case ",$only," in *,poll,*) boot poll 2 1 2 "$rounds" "$(drivers_of "c+p1 rv+p1 sc+p1 rs+p1")" "$jobs_poll" poll ;; esac

if [ -n "$profile" ]; then
	say "profile: $out/$only.$profile.log and .tb; bench/tools/profile-report.py $kdir/System.map LOG:TB..."
	exit 0
fi
/usr/bin/python3 "$repo/bench/report.py" --out "$out" --kernel "$KERNEL" --qemu "$RVIRTIO_QEMU_BIN" "$out"/*.log
say "done in $(($(date +%s) - start)) s: $out/results.md"
if [ ${#failed_boots[@]} -gt 0 ]; then
	say "boots that failed: ${failed_boots[*]} (see results.md)"
	exit 1
fi
