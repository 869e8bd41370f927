#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: a vhost-user-blk disk (rvirtio-vub, two queues): serial, size, fio verify (libaio and io_uring batches), a byte-for-byte round trip; the backend saw nothing bad
# rvirtio-disks: vhost=,size=256M,serial=rvirtio-vub-0
# rvirtio-modules: rvirtio_blk
# rvirtio-timeout: 600
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/vub.sh
. /rvirtio/vub.sh

ktap_print_header
ktap_set_plan 11
start_driver
step "serial is the backend's GET_ID answer" [ "$(cat "/sys/block/$DEV/serial")" = rvirtio-vub-0 ]
step "size is the backend's (256 MiB)" [ "$(blockdev --getsize64 "/dev/$DEV")" = 268435456 ]
step "two hardware queues (QEMU's num-queues: one per vCPU)" \
	[ "$(find "/sys/block/$DEV/mq" -mindepth 1 -maxdepth 1 -type d | wc -l)" = 2 ]
step "fio: 128M random writes (4k-256k, iodepth 16) verify" fio_verify "$DEV" 128M
step "fio: 32M io_uring, batches of 16, verify" \
	fio_verify "$DEV" 32M --ioengine=io_uring --iodepth=64 --iodepth_batch_submit=16 \
	--iodepth_batch_complete_min=8
step "16 MiB written at 100 MiB read back byte for byte" roundtrip "$DEV" 16 100
step "the backend answered all of it (over 1000 requests), none failed" \
	vub_cmp d0 completed gt 1000
step "the backend holds none, none failed, none malformed" vub_clean d0
vub_show d0
step "dmesg clean" dmesg_check
ktap_finished
