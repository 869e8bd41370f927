#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: lost virtqueue notifications are recovered by the timeout handler's harvest, with no reset
# rvirtio-disks: size=256M,serial=rvirtio-lostirq-0
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: fault_inject=1 io_timeout=2
# rvirtio-timeout: 600
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

require_rvirtio
ktap_print_header
ktap_set_plan 9
start_driver
step "drop the next 3 virtqueue notifications" rv_set drop_irqs 3
step "fio verify 16M while notifications are lost" fio_verify "$DEV" 16M
step "every dropped notification was used up" rv_eq drop_irqs 0
step "timeouts harvested the finished requests (lost_interrupts > 0)" rv_ge lost_interrupts 1
step "no reset was needed" rv_eq resets 0
step "nothing failed" rv_eq failed 0
rv_show
step "dmesg clean" dmesg_check
ktap_finished
