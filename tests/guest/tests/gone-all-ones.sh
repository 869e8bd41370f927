#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: a device whose registers start reading all ones (as a PCI function gone from its bus does) while requests wait: it is not reset (its reset would poll the status for ever), the requests fail with EIO, the disk is dead, the system refuses to sleep, and unbind completes
# rvirtio-disks: size=64M,serial=rvirtio-ones-0,rom=ones
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: io_timeout=2
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

# QEMU's MMIO reads of an address no device decodes return 0, so a removed
# device's status reads 0 there, not the all ones of real hardware. The disk
# has a 64 KiB option ROM of all ones (rom=ones); mapping it where BAR 4
# (virtio-pci's common config, ISR, device config and notify registers)
# was, and moving BAR 4 away, makes the driver's mapping read 0xff while
# config space still answers. Kicks then go to the ROM: the device never
# sees a request, and the driver's timeouts find the status all ones.

require_rvirtio
ktap_print_header
kmemleak_baseline
ktap_set_plan 12
start_driver
step "the device's registers read all ones; a read and a write wait" stall_while_gone
step "the read and the write end with EIO within 30 s" stalled_io_gets_eio 30
step "the driver found the device gone, and did not reset it" \
	dmesg_has "the device is gone \(off its bus, or not answering\): not resetting it"
step "the disk is dead" poll 10 state_is 2
step "new I/O fails at once" dead_disk_fails_io
step "the system refuses to sleep" sleep_refused
rv_show
step "the device answers again" ones_off
step "unbind completes" unbind_device 30
step "no leaks (kmemleak)" kmemleak_check
step "dmesg clean" dmesg_check
ktap_finished
