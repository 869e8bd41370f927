#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: 128 MiB of random-sized, random-offset direct writes, read back and verified (crc32c)
# rvirtio-disks: size=256M,serial=rvirtio-fio-0
# rvirtio-modules: rvirtio_blk
# rvirtio-timeout: 600
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh

ktap_print_header
ktap_set_plan 4
start_driver
step "fio: 128M random writes (4k-256k, iodepth 16) verify" fio_verify "$DEV" 128M
step "dmesg clean" dmesg_check
ktap_finished
