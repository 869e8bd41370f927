#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: rvirtio_scsi: a device that claims too much sense data in 400 answers (logged from the interrupt handler) gets a few lines, not 400; the commands still succeed and data verifies
# rvirtio-disks: type=scsi-hd,size=64M,serial=rvirtio-slf-0
# rvirtio-modules: rvirtio_scsi
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/rvirtio-scsi.sh
. /rvirtio/rvirtio-scsi.sh

# inject_sense_len makes the driver take the next N answers as claiming
# 1000 sense bytes (more than the 96 the response holds); each such answer
# used to print a line, from the interrupt handler.

flood() {
	local t0 t1
	dd if=/dev/urandom of=/tmp/p bs=4k count=512 2>/dev/null &&
		dd if=/tmp/p of=/dev/sda bs=4k count=512 oflag=direct 2>/dev/null || return 1
	rv_set inject_sense_len 400 || return 1
	t0=$(cut -d. -f1 /proc/uptime)
	dd if=/dev/sda of=/tmp/p.read bs=4k count=512 iflag=direct 2>/dev/null || return 1
	t1=$(cut -d. -f1 /proc/uptime)
	log "512 reads in $((t1 - t0)) s, $(rv_get inject_sense_len) shots left"
	cmp /tmp/p /tmp/p.read && [ "$(rv_get inject_sense_len)" = 0 ]
}

# few_lines: at most one line per 5 s of the flood, and one to start.
few_lines() {
	local n
	n=$(dmesg | grep -c 'claims 1000 sense bytes')
	log "$n lines"
	[ "$n" -ge 1 ] && [ "$n" -le $((($(cut -d. -f1 /proc/uptime) - t_start) / 5 + 1)) ]
}

require_rvirtio_scsi
ktap_print_header
ktap_set_plan 7
start_scsi 30
t_start=$(cut -d. -f1 /proc/uptime)
step "400 answers claim 1000 sense bytes; the reads verify" flood
step "a few lines, not 400" few_lines
step "unload rvirtio_scsi" unload_driver rvirtio_scsi
step "dmesg clean" dmesg_check
ktap_finished
