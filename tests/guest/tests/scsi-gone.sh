#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: rvirtio_scsi and a device that is gone: its registers read all ones while commands wait (no reset, EIO, the LUN offline, the system refuses to sleep, unload completes), then the same host yanked out of the machine under a second boot of the driver (EIO, removing the PCI function completes)
# rvirtio-disks: type=scsi-hd,size=64M,serial=rvirtio-sgone-0,rom=ones
# rvirtio-modules: rvirtio_scsi
# rvirtio-timeout: 400
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/rvirtio-scsi.sh
. /rvirtio/rvirtio-scsi.sh

# The host's PCI function has the option ROM of all ones (gone-all-ones
# explains the staging). Commands time out after 3 s: the timeout finds the
# status all ones and the device gone. Then, with the device answering
# again and the driver loaded anew, the host is taken out of the machine
# (host yank scsi0, as in surprise-remove): the next commands time out,
# find it not present, and fail.

offline() {
	[ "$(cat /sys/block/sda/device/state)" = offline ]
}

yank_then_io() {
	BDF=$(pci_of sda) || return 1
	host yank scsi0 | as_diag
	[ "$(pcicfg "$BDF" 0)" = 0xffffffff ] || return 1
	stall_io 64k
}

remove_function() {
	local rc
	bg_io remove sh -c "echo 1 >/sys/bus/pci/devices/$BDF/remove"
	rc=$(bg_wait remove 60) && [ "$rc" = 0 ] && wait_gone sda 10
}

require_rvirtio_scsi
ktap_print_header
ktap_set_plan 19
start_scsi 3
step "the device's registers read all ones; a read and a write wait" stall_while_gone
step "the read and the write end with EIO within 60 s" stalled_io_gets_eio 60
step "the driver found the device gone, and did not reset it" \
	dmesg_has "the device is gone \(off its bus, or not answering\): not resetting it"
step "the device is dead, the LUN offline" eval 'poll 10 state_is 2 && poll 10 offline'
step "the system refuses to sleep" sleep_refused
rv_show
step "the device answers again" ones_off
step "unload completes" unload_driver rvirtio_scsi
dmesg -C
start_scsi 3
step "data round trip" stall_patterns 64k
step "the host is yanked out of the machine; a read and a write wait" yank_then_io
step "the read and the write end with EIO within 60 s" stalled_io_gets_eio 60
step "the driver found the device gone" \
	dmesg_has "the device is gone \(off its bus, or not answering\): not resetting it"
rv_show
step "removing the PCI function completes" remove_function
step "dmesg clean" dmesg_check
ktap_finished
