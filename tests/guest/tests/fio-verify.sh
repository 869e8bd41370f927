#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: 128 MiB of random-sized, random-offset direct writes, read back and verified (crc32c); then 64 MiB in io_uring batches
# rvirtio-disks: size=256M,serial=rvirtio-fio-0
# rvirtio-modules: rvirtio_blk
# rvirtio-timeout: 600
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh

ktap_print_header
ktap_set_plan 5
start_driver
step "fio: 128M random writes (4k-256k, iodepth 16) verify" fio_verify "$DEV" 128M
# io_uring submitting 16 at a time: blk-mq hands the driver whole plug
# lists (queue_rqs).
step "fio: 64M io_uring, batches of 16 (queue_rqs), verify" \
	fio_verify "$DEV" 64M --ioengine=io_uring --iodepth=64 --iodepth_batch_submit=16 \
	--iodepth_batch_complete_min=8
step "dmesg clean" dmesg_check
ktap_finished
