#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: rvirtio_scsi: a malformed command makes the device set NEEDS_RESET, and injected resets hit running I/O: the driver resets, gives back what the device held with DID_RESET, the midlayer retries it, fio and ext4 verify
# rvirtio-disks: type=scsi-hd,size=256M,serial=rvirtio-srr-0
# rvirtio-modules: rvirtio_scsi
# rvirtio-timeout: 400
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/rvirtio-scsi.sh
. /rvirtio/rvirtio-scsi.sh

# malformed: the next command goes without its response buffer; QEMU calls
# that a broken driver (virtio_error: NEEDS_RESET and a config interrupt).
malformed() {
	dd if=/dev/urandom of=/tmp/p bs=64k count=1 2>/dev/null &&
		rv_set inject_malformed 1 &&
		dd if=/tmp/p of=/dev/sda bs=64k count=1 oflag=direct 2>&1 | as_diag
	dd if=/dev/sda of=/tmp/p.read bs=64k count=1 iflag=direct 2>/dev/null &&
		cmp /tmp/p /tmp/p.read
}

ext4_roundtrip() {
	mkfs.ext4 -q -F /dev/sda >/dev/null 2>&1 &&
		mkdir -p /mnt/s && mount /dev/sda /mnt/s &&
		dd if=/dev/urandom of=/mnt/s/f bs=1M count=8 2>/dev/null &&
		cp /mnt/s/f /tmp/f && rv_set inject_reset 1 && sync &&
		umount /mnt/s && fsck.ext4 -fn /dev/sda >/tmp/fsck.out 2>&1 &&
		mount /dev/sda /mnt/s && cmp /tmp/f /mnt/s/f && umount /mnt/s
}

require_rvirtio_scsi
ktap_print_header
ktap_set_plan 12
start_scsi 5
step "a malformed write: NEEDS_RESET, reset, retried, data intact" malformed
step "the driver reset for NEEDS_RESET" dmesg_has 'reset [0-9]+: device needs reset'
step "fio verify 128M through 3 injected resets" resets_under_io 3 0.3 128M --iodepth=32
step "at least 4 resets" rv_ge resets 4
step "commands given back for retry" rv_ge requeued 1
step "nothing failed, the device is live" rv_eq failed 0
step "ext4 round trip with a reset before sync, fsck clean" ext4_roundtrip
rv_show
step "unload rvirtio_scsi" unload_driver rvirtio_scsi
step "dmesg clean" dmesg_check
ktap_finished
