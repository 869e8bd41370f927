#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: surprise removal: QEMU takes the device out of the machine while it holds requests, telling the guest nothing; the driver finds it gone (its config space reads all ones), fails what it held with EIO without resetting it, and the guest's removal of the PCI function completes
# rvirtio-disks: vhost=,size=64M,serial=rvirtio-yank-0
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: io_timeout=2
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/vub.sh
. /rvirtio/vub.sh

# The host's `yank` ejects the device as the guest's ACPI _EJ0 would, but
# the guest never asked and is never told: its PCI core still has the
# function, and its driver still has the queues, until the test removes the
# function through sysfs (which pciehp does on a real surprise removal).
# On removal the virtio-vhost-user device stops: rvirtio-vub drops what it
# held, which never comes back. QEMU's MMIO reads of the gone device return
# 0 (real hardware returns all ones: see gone-all-ones); config space reads
# all ones, which is what the driver checks.

held() {
	stall_patterns 64k && host vub d0 hold on >/dev/null || return 1
	stall_io 64k
	poll 10 vub_cmp d0 held ge 2
}

yank() {
	BDF=$(pci_of "$DEV") || return 1
	host yank d0 | as_diag
}

config_reads_ones() {
	local v
	v=$(pcicfg "$BDF" 0) || return 1
	[ "$v" = 0xffffffff ] || {
		log "$BDF's vendor and device ids read $v"
		return 1
	}
}

remove_function() {
	local rc
	bg_io remove sh -c "echo 1 >/sys/bus/pci/devices/$BDF/remove"
	rc=$(bg_wait remove 30) && [ "$rc" = 0 ] && wait_gone "$DEV" 10
}

require_rvirtio
ktap_print_header
kmemleak_baseline
ktap_set_plan 11
start_driver
step "the device holds a read and a write" held
step "QEMU takes the device out, telling the guest nothing" yank
step "its config space reads all ones" config_reads_ones
step "the held read and write end with EIO within 30 s" stalled_io_gets_eio 30
step "the driver found the device gone, and did not reset it" \
	dmesg_has "the device is gone \(off its bus, or not answering\): not resetting it"
step "the disk is dead" poll 10 state_is 2
rv_show
step "removing the PCI function completes" remove_function
step "no leaks (kmemleak)" kmemleak_check
step "dmesg clean" dmesg_check
ktap_finished
