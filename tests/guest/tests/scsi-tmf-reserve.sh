#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: rvirtio_scsi: task management does not fail for want of memory: with every non-sleeping slab allocation of the resetting task failing (failslab), three LUN resets under verified fio each succeed from the reserve request, with no host reset
# rvirtio-disks: type=scsi-hd,size=128M,serial=rvirtio-str-0
# rvirtio-modules: rvirtio_scsi
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/rvirtio-scsi.sh
. /rvirtio/rvirtio-scsi.sh

# failslab fails every slab allocation that may not sleep (ignore-gfp-wait)
# made by a task whose make-it-fail is set (task-filter). sg_reset -d runs
# the driver's LUN reset handler in its own task (SG_SCSI_RESET), which
# fails the ioctl with EIO if the handler fails: the handler's request
# allocation (GFP_NOWAIT) fails there, and the reserve request serves.

FS=/sys/kernel/debug/failslab

failslab_on() {
	echo Y >$FS/task-filter &&
		echo Y >$FS/ignore-gfp-wait &&
		echo 0 >$FS/verbose &&
		echo 0 >$FS/space &&
		echo 1 >$FS/interval &&
		echo -1 >$FS/times &&
		echo 100 >$FS/probability
}

failslab_off() {
	echo 0 >$FS/probability
}

# lun_reset_failing: a LUN reset from a task whose non-sleeping slab
# allocations fail.
lun_reset_failing() {
	local rc
	sh -c "echo 1 >/proc/self/make-it-fail && exec sg_reset -d /dev/sda" >/tmp/sg_reset.out 2>&1
	rc=$?
	as_diag </tmp/sg_reset.out
	[ "$rc" = 0 ]
}

# fio verifies round after round until the three LUN resets are over, so
# that each comes with commands in flight.
three_resets_under_io() {
	local rc i=0 ok=1
	rm -f /tmp/resets-done
	bg_io fio fio_until /tmp/resets-done sda 32M --iodepth=16
	sleep 1
	while [ $i -lt 3 ]; do
		lun_reset_failing || {
			ok=0
			break
		}
		i=$((i + 1))
		sleep 0.5
	done
	touch /tmp/resets-done
	rc=$(bg_wait fio 200) || return 1
	as_diag </tmp/bg.fio.err
	[ "$ok" = 1 ] && [ "$rc" = 0 ]
}

lun_running() {
	[ "$(cat /sys/block/sda/device/state)" = running ]
}

require_rvirtio_scsi
[ -d $FS ] || skip_all "no failslab in this kernel (CONFIG_FAILSLAB)"
ktap_print_header
ktap_set_plan 11
start_scsi 30
step "failslab fails the resetting task's non-sleeping allocations" failslab_on
step "three LUN resets under fio verify succeed" three_resets_under_io
step "failslab off" failslab_off
step "they used the reserve request" rv_ge tmf_from_reserve 3
step "no host reset, nothing failed" eval 'rv_eq resets 0 && rv_eq failed 0 && rv_ge lun_resets 3'
step "the LUN is running" lun_running
rv_show
step "unload rvirtio_scsi" unload_driver rvirtio_scsi
step "dmesg clean" dmesg_check
ktap_finished
