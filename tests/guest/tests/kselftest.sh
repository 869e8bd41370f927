#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rvirtio-test: the kselftest collection tests/selftests/rvirtio, installed with the kernel's run_kselftest.sh, runs in the guest on an rvirtio_blk disk with fault injection: block ioctls, O_DIRECT verify, sysfs and debugfs, the recovery paths; every test passes
# rvirtio-disks: size=128M,serial=rvirtio-kst-0
# rvirtio-modules: rvirtio_blk
# rvirtio-driver-params: fault_inject=1
# rvirtio-kselftest: rvirtio
# rvirtio-timeout: 400
# shellcheck shell=dash
# shellcheck source=tests/guest/lib.sh
. /rvirtio/lib.sh
# shellcheck source=tests/guest/rvirtio-blk.sh
. /rvirtio/rvirtio-blk.sh

# run_collection: /kselftest/run_kselftest.sh -c rvirtio; its KTAP output
# goes to the console (so the host's log collects it) as diagnostics; every
# one of the collection's tests must say "ok".
run_collection() {
	local n bad
	RVIRTIO_DEV=/dev/$DEV /kselftest/run_kselftest.sh -c rvirtio >/tmp/kst.out 2>&1
	as_diag </tmp/kst.out
	n=$(grep -c '^ok [0-9]* selftests: rvirtio: ' /tmp/kst.out)
	bad=$(grep -c '^not ok ' /tmp/kst.out)
	log "run_kselftest.sh: $n ok, $bad not ok (of $(wc -l </kselftest/kselftest-list.txt))"
	[ "$bad" = 0 ] && [ "$n" = "$(wc -l </kselftest/kselftest-list.txt)" ]
}

# no_skips: nothing of the collection skipped (it all applies here): not a
# whole test ("ok N selftests: rvirtio: T # SKIP"), and not a test point
# inside one. run_kselftest.sh prefixes a test's own KTAP with "# ", so a
# skipped test point is "# ok N desc # SKIP" (ktap_test_skip) or
# "# ok N # SKIP why" (kselftest.h), a test that skipped all of them
# "# 1..0 # SKIP why", and its totals "# # Totals: ... skip:N".
no_skips() {
	local skips
	skips=$(grep -iE -e '^(# )*ok [0-9]+.*#[[:space:]]*skip' -e '^(# )*1\.\.0.*#[[:space:]]*skip' \
		-e '^(# )*Totals: .*skip:[1-9]' /tmp/kst.out)
	[ -z "$skips" ] || {
		log "skipped:"
		echo "$skips" | as_diag
		return 1
	}
}

require_rvirtio
ktap_print_header
ktap_set_plan 6
start_driver
step "run_kselftest.sh is installed" test -x /kselftest/run_kselftest.sh
step "run_kselftest.sh -c rvirtio: every test ok" run_collection
step "none skipped" no_skips
step "dmesg clean" dmesg_check
ktap_finished
