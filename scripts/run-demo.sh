#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run`: boot the debug test guest with a 256 MiB virtio-blk disk, load
# rvirtio_blk, and show it working: its probe line, lsblk, the bound driver,
# the serial, and a 16 MiB write read back and compared. Then power off.
#
# RVIRTIO_SHELL=1 make run   leaves an interactive shell after the demo
#                            instead of powering off (Ctrl-A x quits QEMU).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/env.sh
. "$repo/scripts/env.sh"

kdir=$("$repo/scripts/build-kernel.sh" debug --print)
ko=$repo/drivers/block/rvirtio_blk.ko
[ -f "$ko" ] || {
	echo "run: $ko is missing; run 'make' first" >&2
	exit 1
}

demo='
set -e
echo "### insmod rvirtio_blk"
insmod /modules/rvirtio_blk.ko
for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; sleep 0.5; done
echo "### dmesg (probe)"
dmesg | grep rvirtio_blk
echo "### lsblk"
lsblk -o NAME,SIZE,RO,TYPE,MODEL
echo "### driver bound to vda: $(basename "$(readlink /sys/block/vda/device/driver)")"
echo "### serial: $(cat /sys/block/vda/serial)"
echo "### write 16 MiB of random data, read it back, compare"
dd if=/dev/urandom of=/tmp/pattern bs=1M count=16 2>/dev/null
dd if=/tmp/pattern of=/dev/vda bs=1M oflag=direct 2>/dev/null
dd if=/dev/vda of=/tmp/readback bs=1M count=16 iflag=direct 2>/dev/null
if cmp /tmp/pattern /tmp/readback; then echo "### verified: the data read back is the data written"; else echo "### MISMATCH"; exit 1; fi
'

args=(--kernel "$kdir/arch/x86/boot/bzImage" --module "$ko"
	--disk "size=256M,serial=rvirtio-demo" --run "$demo")
if [ "${RVIRTIO_SHELL:-0}" = 1 ]; then
	args+=(--shell)
	echo "run: the demo runs, then you get a shell; Ctrl-A x quits QEMU" >&2
else
	args+=(--timeout 300)
fi
exec "$repo/scripts/guest.sh" "${args[@]}"
