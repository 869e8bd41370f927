#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: the guest-to-host control channel: echo, qmp, disks, errors
# rvirtio-disks: size=64M,serial=rvirtio-ctl-0,id=d0
# rvirtio-modules:
# rvirtio-timeout: 300
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh

echo_works() {
	local got
	got=$(host echo hello  world) || return 1
	[ "$got" = "hello world" ] || { log "echo: got '$got'"; return 1; }
}

qmp_status() {
	local got
	got=$(host qmp '{"execute": "query-status"}') || return 1
	log "$got"
	echo "$got" | grep -q '"status":"running"'
}

qmp_block() {
	local got
	got=$(host qmp '{"execute":"query-named-block-nodes","arguments":{"flat":true}}') || return 1
	echo "$got" | grep -q '"node-name":"d0"' || { log "$got"; return 1; }
}

qmp_error() {
	local err
	if err=$(host qmp '{"execute": "no-such-command"}' 2>&1); then
		log "no error for an unknown QMP command"
		return 1
	fi
	log "$err"
	echo "$err" | grep -q CommandNotFound
}

disks_listed() {
	local got
	got=$(host disks) || return 1
	log "$got"
	echo "$got" | grep -q '"serial":"rvirtio-ctl-0"'
}

unknown_fails() {
	! host no-such-thing 2>/dev/null
}

ktap_print_header
ktap_set_plan 6
step "host echo" echo_works || bail "no control channel"
step "host qmp query-status" qmp_status
step "host qmp query-named-block-nodes lists d0" qmp_block
step "host qmp error is an err reply" qmp_error
step "host disks lists the disk" disks_listed
step "unknown command is an err reply" unknown_fails
ktap_finished
