#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest half of scripts/run-blktests, which puts it in the initramfs as
# /rvirtio-blktests/guest.sh and boots the test guest with
#
#   --run 'bash /rvirtio-blktests/guest.sh FILTER...'
#
# It loads rvirtio_blk, finds its disks by serial, writes /blktests/config,
# runs blktests' `./check FILTER...` in /blktests (its output is also in
# results/check.log), saves the kernel log as results/dmesg.log and prints
# results/ on the console as a base64 tar.gz between the lines
# RVIRTIO-BLKTESTS-RESULTS-BEGIN and RVIRTIO-BLKTESTS-RESULTS-END, which the
# host unpacks.
#
# Environment (scripts/guest.sh --env):
#   BLKTESTS_DRIVER_PARAMS  rvirtio_blk's module parameters (P=V ...)
#   BLKTESTS_SERIALS        the rvirtio_blk disks' serials (space-separated);
#                           they are TEST_DEVS, in this order
#   BLKTESTS_SCSI_SERIAL    a virtio-scsi disk's serial: loads virtio_scsi and
#                           adds the disk to TEST_DEVS (optional)
#   BLKTESTS_TIMEOUT        blktests' TIMEOUT, in seconds (optional)
#
# Exit status: check's (1 if a test failed), 3 if the setup failed.
set -uo pipefail

PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

say() {
	echo "blktests-guest: $*"
}

setup_fail() {
	say "setup failed: $*"
	exit 3
}

# blktests' _module_file_exists looks for NAME.ko under
# /lib/modules/RELEASE/kernel/; scripts/guest.sh puts the modules in extra/.
rel=$(uname -r)
mkdir -p "/lib/modules/$rel/kernel"
for ko in "/lib/modules/$rel/extra/"*.ko; do
	[ -e "$ko" ] || continue
	ln -sf "../extra/${ko##*/}" "/lib/modules/$rel/kernel/${ko##*/}"
done

# shellcheck disable=SC2086 # P=V words
modprobe rvirtio_blk ${BLKTESTS_DRIVER_PARAMS:-} || setup_fail "modprobe rvirtio_blk"
say "rvirtio_blk loaded: $(cd /sys/module/rvirtio_blk/parameters &&
	for p in *; do printf '%s=%s ' "$p" "$(cat "$p")"; done)"

# disk_by_serial SERIAL: the vdX whose serial is SERIAL.
disk_by_serial() {
	local d
	for d in /sys/block/vd*; do
		[ -e "$d/serial" ] || continue
		if [ "$(cat "$d/serial")" = "$1" ]; then
			echo "${d##*/}"
			return 0
		fi
	done
	return 1
}

devs=()
for serial in ${BLKTESTS_SERIALS:-}; do
	dev=
	for _ in $(seq 300); do
		dev=$(disk_by_serial "$serial") && break
		sleep 0.1
	done
	[ -n "$dev" ] || setup_fail "no disk with serial $serial"
	driver=$(basename "$(readlink -f "/sys/block/$dev/device/driver")")
	[ "$driver" = rvirtio_blk ] || setup_fail "/dev/$dev is driven by $driver, not rvirtio_blk"
	say "/dev/$dev: serial $serial, $(($(cat "/sys/block/$dev/size") / 2048)) MiB, rvirtio_blk"
	devs+=("/dev/$dev")
done

if [ -n "${BLKTESTS_SCSI_SERIAL:-}" ]; then
	modprobe virtio_scsi || setup_fail "modprobe virtio_scsi"
	dev=
	for _ in $(seq 300); do
		for d in /sys/block/sd*; do
			[ -e "$d/device/vpd_pg80" ] || continue
			# The unit serial number page: a 4-byte header, then the serial.
			if [ "$(tail -c +5 "$d/device/vpd_pg80" | tr -d '\0 ')" = "$BLKTESTS_SCSI_SERIAL" ]; then
				dev=${d##*/}
			fi
		done
		[ -n "$dev" ] && break
		sleep 0.1
	done
	[ -n "$dev" ] || setup_fail "no SCSI disk with serial $BLKTESTS_SCSI_SERIAL"
	say "/dev/$dev: serial $BLKTESTS_SCSI_SERIAL, virtio_scsi"
	devs+=("/dev/$dev")
fi

cd /blktests || setup_fail "no /blktests"
{
	echo "# Written by rvirtio's scripts/blktests-guest.sh"
	echo "TEST_DEVS=(${devs[*]})"
	[ -z "${BLKTESTS_TIMEOUT:-}" ] || echo "TIMEOUT=$BLKTESTS_TIMEOUT"
	# No syslog in the guest: logger would complain for every test.
	echo "LOGGER_PROG=true"
} >config
say "config: $(grep -v '^#' config | tr '\n' ' ')"

rm -rf results
mkdir -p results
cp config results/config
say "./check $*"
start=$(cut -d' ' -f1 /proc/uptime)
./check "$@" 2>&1 | tee results/check.log
rc=${PIPESTATUS[0]}
end=$(cut -d' ' -f1 /proc/uptime)
say "check exited with status $rc after $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%d", b - a }')s"
echo "$rc" >results/check.status
dmesg >results/dmesg.log

# Big .full files (fio's output, mostly) are cut to their last 256 KiB.
find results -name '*.full' -size +256k | while IFS= read -r f; do
	tail -c 262144 "$f" >"$f.tail" && mv "$f.tail" "$f"
done
# Keep the kernel off the console while the archive goes out.
read -r console_level _ </proc/sys/kernel/printk
echo 1 >/proc/sys/kernel/printk
echo "RVIRTIO-BLKTESTS-RESULTS-BEGIN"
tar -czf - results | base64 -w 76
echo "RVIRTIO-BLKTESTS-RESULTS-END"
echo "$console_level" >/proc/sys/kernel/printk
exit "$rc"
