#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: rvirtio_scsi: a dropped interrupt is recovered by the timeout handler's harvest (no abort, no reset); an SG_SCSI_RESET device reset sends a LUN reset that succeeds; data verifies
# rvirtio-disks: type=scsi-hd,size=128M,serial=rvirtio-sli-0
# rvirtio-modules: rvirtio_scsi
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/rvirtio-scsi.sh
. /rvirtio/rvirtio-scsi.sh

# lost_irq: with the next notification dropped, a 4k read still completes,
# after the 2 s command timeout and not much later.
lost_irq() {
	local t0 t1
	dd if=/dev/urandom of=/tmp/p bs=4k count=1 2>/dev/null &&
		dd if=/tmp/p of=/dev/sda bs=4k count=1 oflag=direct 2>/dev/null || return 1
	rv_set drop_irqs 1
	t0=$(cut -d. -f1 /proc/uptime)
	dd if=/dev/sda of=/tmp/p.read bs=4k count=1 iflag=direct 2>/dev/null || return 1
	t1=$(cut -d. -f1 /proc/uptime)
	log "the read took about $((t1 - t0)) s"
	cmp /tmp/p /tmp/p.read && [ $((t1 - t0)) -le 10 ]
}

lossy_fio() {
	rv_set drop_irqs 4
	fio_verify sda 32M
}

lun_reset() {
	sg_reset -d /dev/sda 2>&1 | as_diag
	rv_eq lun_resets 1
}

require_rvirtio_scsi
ktap_print_header
ktap_set_plan 12
start_scsi 2
step "a read whose interrupt is lost completes, data intact" lost_irq
step "the timeout harvested it (lost_interrupts >= 1)" rv_ge lost_interrupts 1
step "no abort was sent" rv_eq aborts 0
step "no reset" rv_eq resets 0
step "SG_SCSI_RESET device reset: a LUN reset that succeeds" lun_reset
step "fio verify 32M with 4 more interrupts lost" lossy_fio
step "nothing failed" rv_eq failed 0
rv_show
step "unload rvirtio_scsi" unload_driver rvirtio_scsi
step "dmesg clean" dmesg_check
ktap_finished
