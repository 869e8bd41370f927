#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: the C virtio_blk and rvirtio_blk expose the same sysfs, queue limits, hardware queues and blockdev values on 7 device configurations, with and without poll queues
# rvirtio-disks: size=64M,serial=par-default size=32M,serial=par-4k,logical_block_size=4096,physical_block_size=4096 size=32M,serial=par-512e,physical_block_size=4096,min_io_size=8192,opt_io_size=65536 size=32M,serial=par-nocache,discard=off,write-zeroes=off,write-cache=off size=16M,serial=par-ro,readonly=on,config-wce=off size=32M,serial=par-q1,num-queues=1,queue-size=64,indirect_desc=off size=32M,serial=par-q4,num-queues=4,queue-size=1024,cyls=100,heads=16,secs=63,max-discard-sectors=2048,discard_granularity=65536
# rvirtio-modules: rvirtio_blk virtio_blk
# rvirtio-timeout: 400
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh

# The serials of the disks in the header above, one per configuration.
SERIALS="par-default par-4k par-512e par-nocache par-ro par-q1 par-q4"
NDISKS=7

# What differs on purpose, as sed expressions applied to both records
# before they are compared. Each needs its reason here.
# - queue/io_timeout: blk-mq shows it only for a driver with a timeout
#   handler. rvirtio_blk has one (that is its point), virtio_blk has none.
#   Its value is the io_timeout parameter (30 s by default, the block
#   layer's default too); the params test covers it.
DELIBERATE='/^queue\/io_timeout=/d'

# record DEV: everything a user sees of DEV, one "name=value" per line.
record() {
	local d=/sys/block/$1 f q o
	for f in size ro serial cache_type removable capability alignment_offset \
		discard_alignment ext_range range; do
		echo "$f=$(cat "$d/$f" 2>&1)"
	done
	echo "cache_type.mode=$(stat -c %a "$d/cache_type" 2>&1)"
	for f in "$d"/queue/*; do
		[ -f "$f" ] || continue
		echo "queue/${f##*/}=$(tr '\n' ' ' <"$f" 2>&1)"
	done
	echo "mq=$(find "$d/mq" -mindepth 1 -maxdepth 1 | wc -l)"
	for q in "$d"/mq/*; do
		echo "mq/${q##*/}/cpu_list=$(cat "$q/cpu_list")"
		echo "mq/${q##*/}/nr_tags=$(cat "$q/nr_tags")"
		echo "mq/${q##*/}/nr_reserved_tags=$(cat "$q/nr_reserved_tags")"
	done
	for o in --getro --getss --getpbsz --getiomin --getioopt --getalignoff \
		--getmaxsect --getbsz --getsz --getsize64 --getra --getfra \
		--getdiscardzeroes; do
		echo "blockdev$o=$(blockdev "$o" "/dev/$1" 2>&1)"
	done
	# HDIO_GETGEO, as sfdisk -g reports it.
	echo "geometry=$(sfdisk -g "/dev/$1" 2>&1)"
}

# record_all DRIVER DIR: record each disk DRIVER drives as DIR/SERIAL.
record_all() {
	local dev serial n=0
	mkdir -p "$2"
	for dev in $(disks_of "$1"); do
		serial=$(cat "/sys/block/$dev/serial")
		record "$dev" >"$2/$serial"
		n=$((n + 1))
	done
	[ "$n" -eq "$NDISKS" ] || {
		log "$1 drives $n disks, expected $NDISKS"
		return 1
	}
}

# wait_all DRIVER: wait until DRIVER drives every disk.
wait_all() {
	wait_disk "$1" 60 "$NDISKS" >/dev/null
}

# same SERIAL DIR: the C and the Rust records of SERIAL are identical.
same() {
	local c=$2/c/$1 r=$2/r/$1
	if [ -n "$DELIBERATE" ]; then
		sed -i "$DELIBERATE" "$c" "$r"
	fi
	if [ ! -s "$c" ] || [ ! -s "$r" ]; then
		log "no record of $1"
		return 1
	fi
	if ! diff -u "$c" "$r" >"$2/$1.diff"; then
		log "$1: virtio_blk (-) and rvirtio_blk (+) differ:"
		as_diag <"$2/$1.diff"
		return 1
	fi
	# Show a few values, so the log says what was compared.
	log "$1: $(grep -E '^(size|queue/logical_block_size|queue/physical_block_size|queue/discard_max_hw_bytes|cache_type|mq|geometry)=' "$c" | tr '\n' ' ')"
}

# compare PASS PARAMS...: record the disks under virtio_blk, then under
# rvirtio_blk, both loaded with PARAMS, and compare them disk by disk.
compare() {
	local pass=$1 dir=/tmp/parity-$1 s
	shift
	step "$pass: load virtio_blk $*" load_driver virtio_blk "$@" || bail "cannot load virtio_blk"
	step "$pass: virtio_blk drives the $NDISKS disks" wait_all virtio_blk
	record_all virtio_blk "$dir/c" || log "recording under virtio_blk failed"
	step "$pass: unload virtio_blk" unload_driver virtio_blk
	step "$pass: load rvirtio_blk $*" load_driver rvirtio_blk "$@" || bail "cannot load rvirtio_blk"
	step "$pass: rvirtio_blk drives the $NDISKS disks" wait_all rvirtio_blk
	record_all rvirtio_blk "$dir/r" || log "recording under rvirtio_blk failed"
	for s in $SERIALS; do
		step "$pass: $s is the same under both drivers" same "$s" "$dir"
	done
	step "$pass: unload rvirtio_blk" unload_driver rvirtio_blk
}

[ "$DRIVER" = rvirtio_blk ] || skip_all "the test compares virtio_blk with rvirtio_blk itself"
ktap_print_header
ktap_set_plan $((2 * (6 + NDISKS) + 1))
compare default
compare poll poll_queues=1
step "dmesg clean" dmesg_check
ktap_finished
