#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: a vhost-user-blk backend (rvirtio-vub) that does not send 3 used-buffer notifications: rvirtio_blk's timeouts harvest them, no reset, data verified
# rvirtio-disks: vhost=,size=256M,serial=rvirtio-vub-lost-0
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: io_timeout=2
# rvirtio-timeout: 600
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh
# shellcheck source=tests/guest/vub.sh
. /rvirtio/vub.sh

# The C virtio_blk has no timeout handler: a lost notification hangs it.
require_rvirtio
ktap_print_header
ktap_set_plan 11
start_driver
step "the backend is to lose the next 3 notifications" host vub d0 lose 3
step "fio verify 16M while notifications are lost" fio_verify "$DEV" 16M
step "the backend lost 3 notifications" vub_cmp d0 lost eq 3
step "none is left to lose" vub_cmp d0 lose-pending eq 0
step "timeouts harvested the finished requests (lost_interrupts > 0)" rv_ge lost_interrupts 1
step "no reset was needed" rv_eq resets 0
step "nothing failed" rv_eq failed 0
step "the backend holds none, none failed, none malformed" vub_clean d0
rv_show
vub_show d0
step "dmesg clean" dmesg_check
ktap_finished
