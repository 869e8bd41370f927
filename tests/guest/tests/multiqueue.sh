#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: a 4-queue device on 2 CPUs gets 2 hardware queues, both carry I/O; num_request_queues=1 limits it to one
# rvirtio-disks: size=128M,serial=rvirtio-mq-0,num-queues=4
# rvirtio-modules: rvirtio_blk
# rvirtio-timeout: 400
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh

# nr_hw N: the disk has N hardware queues.
nr_hw() {
	local n
	n=$(ls "/sys/block/$DEV/mq" | wc -l)
	[ "$n" = "$1" ] || {
		log "$DEV has $n hardware queues, expected $1"
		return 1
	}
}

# irqs Q: interrupts of virtqueue req.Q so far, over all CPUs.
irqs() {
	grep -E "virtio[0-9]+-req\.$1\$" /proc/interrupts |
		awk '{ n = 0; for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) n += $i; print n }'
}

both_queues_used() {
	local a0 a1 b0 b1
	a0=$(irqs 0) a1=$(irqs 1)
	fio_verify "$DEV" 32M --numjobs=2 --cpus_allowed=0,1 --cpus_allowed_policy=split || return 1
	b0=$(irqs 0) b1=$(irqs 1)
	log "req.0 interrupts: $a0 -> $b0, req.1: $a1 -> $b1"
	[ -n "$b0" ] && [ -n "$b1" ] && [ "$b0" -gt "${a0:-0}" ] && [ "$b1" -gt "${a1:-0}" ]
}

reload_one_queue() {
	unload_driver "$DRIVER" && wait_gone "$DEV" 30 &&
		load_driver "$DRIVER" num_request_queues=1 &&
		DEV=$(wait_disk "$DRIVER" 60)
}

ktap_print_header
ktap_set_plan 8
start_driver
step "2 hardware queues (4 offered, 2 CPUs)" nr_hw 2
for h in /sys/block/"$DEV"/mq/*; do
	log "hardware queue ${h##*/} serves CPUs $(cat "$h/cpu_list")"
done
step "fio verify on both CPUs uses both virtqueues" both_queues_used
step "reload with num_request_queues=1" reload_one_queue
step "1 hardware queue" nr_hw 1
step "fio verify 8M" fio_verify "$DEV" 8M
step "dmesg clean" dmesg_check
ktap_finished
