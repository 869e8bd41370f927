#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Shared by rvirtio's shell selftests: the kernel's KTAP helpers, and the
# disk under test.

DIR=$(dirname "$0")
# Installed: DIR/../kselftest/; in the source tree, KSRC's selftests.
for k in "$DIR/../kselftest/ktap_helpers.sh" \
	"${KSRC:-/nonexistent}/tools/testing/selftests/kselftest/ktap_helpers.sh"; do
	if [ -r "$k" ]; then
		# shellcheck source=/dev/null
		. "$k"
		break
	fi
done
command -v ktap_print_header >/dev/null || {
	echo "rvirtio: ktap_helpers.sh not found" >&2
	exit 1
}

# rv_skip_all REASON: the whole test does not apply here. ktap_skip_all only
# prints the KTAP skip line; the test must then end, with KSFT_SKIP (4), the
# status run_kselftest.sh reports as "# SKIP".
rv_skip_all() {
	ktap_skip_all "$*"
	exit "$KSFT_SKIP"
}

# rv_disk: $RVIRTIO_DEV's name, else the first disk bound to rvirtio_blk.
rv_disk() {
	local d
	if [ -n "${RVIRTIO_DEV:-}" ]; then
		echo "${RVIRTIO_DEV##*/}"
		return
	fi
	for d in /sys/block/*; do
		case "$(readlink "$d/device/driver" 2>/dev/null)" in
		*/rvirtio_blk)
			echo "${d##*/}"
			return
			;;
		esac
	done
	return 1
}

# rv_debugfs DISK: the disk's debugfs directory (debugfs mounted if needed).
rv_debugfs() {
	[ -d /sys/kernel/debug/rvirtio_blk ] ||
		mount -t debugfs none /sys/kernel/debug 2>/dev/null || true
	echo "/sys/kernel/debug/rvirtio_blk/$1"
}
