#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run rvirtio's guest tests, one QEMU guest per test.
#
#   tests/run-guest-tests.sh [--kernel-flavour debug|perf] [--driver NAME]
#                            [--driver-params 'P=V ...'] [--results DIR]
#                            [--verbose] [TEST...]
#
# KERNEL (environment: 6.12, the default, or 7.3) picks the kernel series,
# RVIRTIO_QEMU (10.0, the default, or 7.2) the QEMU (scripts/env.sh).
#
# TEST is a name from tests/guest/tests/ (fio-verify or fio-verify.sh); the
# default is all of them. --driver picks the driver under test (default
# rvirtio_blk): a C driver (virtio_blk) stands in for its rvirtio twin, so a
# test that names rvirtio_blk in its rvirtio-modules header gets virtio_blk
# instead, and every test sees DRIVER=NAME. rvirtio_* modules come from the
# repo's drivers/ (or from $RVIRTIO_MODULE_DIR, e.g. what DKMS built), the
# others from the kernel build tree.
#
# A test's header (comment lines near the top of its file):
#   # rvirtio-test: one-line description
#   # rvirtio-disks: SPEC [SPEC...]     scripts/guest.sh --disk specs
#   # rvirtio-modules: NAME [NAME...]   modules the guest gets in /modules/
#   # rvirtio-timeout: SECS             whole guest run, boot included (300)
#   # rvirtio-dmesg-allow: REGEX        kernel log lines to tolerate
#   # rvirtio-kselftest: COLLECTION      tests/selftests installed (make -C
#                                       tests/selftests install) at /kselftest
#                                       in the guest, with run_kselftest.sh
#   # rvirtio-qemu-args: ARG ...         more QEMU arguments (scripts/guest.sh
#                                       --qemu-arg each), e.g. -global
#                                       virtio-scsi-pci.virtqueue_size=4
#   # rvirtio-qemu: VERSION REASON       run on this QEMU (RVIRTIO_QEMU=VERSION)
#                                       whatever RVIRTIO_QEMU says: for a test
#                                       that the default QEMU cannot run (a
#                                       bug of that QEMU), with the reason
#   # rvirtio-driver-params: P=V ...     module parameters for the driver
#                                       under test, before --driver-params's;
#                                       the test sees both as $DRIVER_PARAMS
#
# A test fails if it exits non-zero (4 is a skip), times out, or the
# console's kernel log lines match tests/guest/dmesg-patterns. Full logs go
# to the results dir ($RVIRTIO_CACHE/results/TIMESTAMP-DRIVER by default).
# The last line printed is "N passed, N failed" (", N skipped" if any); the
# exit status is 1 if any test failed.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/env.sh
. "$repo/scripts/env.sh"

flavour=debug driver=rvirtio_blk driver_params='' results='' verbose=0
names=()
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel-flavour | --flavour) flavour=$2 && shift ;;
	--driver) driver=$2 && shift ;;
	--driver-params) driver_params=$2 && shift ;;
	--results) results=$2 && shift ;;
	--verbose | -v) verbose=1 ;;
	-h | --help)
		sed -n '/^# Run/,/^set -euo/{/^set/d;s/^# \{0,1\}//;p}' "$0"
		exit 0
		;;
	-*)
		echo "run-guest-tests: unknown option $1" >&2
		exit 2
		;;
	*) names+=("$1") ;;
	esac
	shift
done

testdir=$repo/tests/guest/tests
if [ ${#names[@]} -eq 0 ]; then
	for f in "$testdir"/*.sh; do
		names+=("$(basename "$f" .sh)")
	done
fi

"$repo/scripts/setup.sh" guest
kdir=$("$repo/scripts/build-kernel.sh" "$flavour" --print)
if [ ! -f "$kdir/.rvirtio-built" ]; then
	echo "run-guest-tests: the $KERNEL_SERIES $flavour kernel is not built ($kdir): KERNEL=$KERNEL_SERIES scripts/build-kernel.sh $flavour" >&2
	exit 2
fi
kernel=$kdir/arch/x86/boot/bzImage
krel=$(cat "$kdir/include/config/kernel.release")
initramfs=$("$repo/scripts/mkinitramfs.sh" --print-uncompressed)

results=${results:-$RVIRTIO_CACHE/results/$(date +%Y%m%d-%H%M%S)-$driver}
mkdir -p "$results"
ln -sfn "$results" "$RVIRTIO_CACHE/results/latest" 2>/dev/null || true
echo "run-guest-tests: $driver on $flavour $krel; logs in $results"

# header FILE KEY: the values of "# rvirtio-KEY:" lines, joined by spaces.
header() {
	sed -n "s/^# rvirtio-$2:[[:space:]]*//p" "$1" | tr '\n' ' ' | sed 's/[[:space:]]*$//'
}

# kselftest_tree: a directory whose kselftest/ is tests/selftests installed
# (built once per run); prints it, or why it could not be built.
kselftest_tree() {
	local t=$results/kselftest-root
	if [ ! -x "$t/kselftest/run_kselftest.sh" ]; then
		rm -rf "$t"
		make -s -C "$repo/tests/selftests" install INSTALL_PATH="$t/kselftest" \
			KSRC="$RVIRTIO_CACHE/src/linux-source-$KERNEL_SERIES" \
			>"$results/kselftest-build.log" 2>&1 || {
			echo "the kselftests did not build: $(tail -n 5 "$results/kselftest-build.log")"
			return 1
		}
	fi
	echo "$t"
}

# module_path NAME: where NAME.ko is, for the driver chosen. Prints an error
# and fails if it is missing or built for another kernel.
module_path() {
	local name=$1 path='' ver
	# A C driver stands in for its rvirtio twin (rvirtio_blk -> virtio_blk).
	case "$driver" in
	virtio_*) [ "$name" = "r$driver" ] && name=$driver ;;
	esac
	case "$name" in
	rvirtio_*) path=$(find "${RVIRTIO_MODULE_DIR:-$repo/drivers}" -name "$name.ko" 2>/dev/null | head -n 1) ;;
	*) path=$(find "$kdir" -name "$name.ko" ! -path '*/.tmp*' 2>/dev/null | head -n 1) ;;
	esac
	if [ -z "$path" ]; then
		echo "module $name.ko is not built (looked in $([[ $name == rvirtio_* ]] && echo "${RVIRTIO_MODULE_DIR:-$repo/drivers}" || echo "$kdir"))"
		return 1
	fi
	ver=$(modinfo -F vermagic "$path" | awk '{ print $1 }')
	if [ "$ver" != "$krel" ]; then
		echo "$path is built for $ver, not for $krel"
		return 1
	fi
	echo "$path"
}

# kernel_bad LOG [ALLOW]: the console's kernel log lines ("[ secs] ...")
# that match tests/guest/dmesg-patterns, less those matching ALLOW.
kernel_bad() {
	local pats
	pats=$(grep -v -e '^#' -e '^$' "$repo/tests/guest/dmesg-patterns")
	tr -d '\r' <"$1" | grep -E '^\[ *[0-9]+\.[0-9]+\]' | grep -E -e "$pats" |
		{ if [ -n "${2:-}" ]; then grep -Ev -e "$2"; else cat; fi; } || true
}

indent() {
	sed 's/^/    /'
}

passed=0 failed=0 skipped=0
summary=$results/summary.txt
: >"$summary"
for name in "${names[@]}"; do
	name=${name%.sh}
	file=$testdir/$name.sh
	log=$results/$name.log
	printf '%s ... ' "$name"
	if [ ! -f "$file" ]; then
		echo "FAILED (no such test: $file)"
		failed=$((failed + 1))
		echo "$name FAILED 0 -" >>"$summary"
		continue
	fi
	timeout_s=$(header "$file" timeout)
	timeout_s=${timeout_s:-300}
	allow=$(header "$file" dmesg-allow)
	# The test's own parameters, then the command line's (the kernel keeps
	# the last value of a parameter given twice).
	params=$(header "$file" driver-params)
	params=${params:+$params${driver_params:+ }}$driver_params
	args=(--kernel "$kernel" --initramfs "$initramfs" --quiet --log "$log"
		--timeout "$timeout_s" --env "DRIVER=$driver" --run "sh /rvirtio/tests/$name.sh")
	[ -z "$params" ] || args+=(--env "DRIVER_PARAMS=$params")
	[ -z "$allow" ] || args+=(--env "DMESG_ALLOW=$allow")
	for spec in $(header "$file" disks); do
		args+=(--disk "$spec")
	done
	for arg in $(header "$file" qemu-args); do
		args+=(--qemu-arg "$arg")
	done
	why=''
	if [ -n "$(header "$file" kselftest)" ]; then
		if ! tree=$(kselftest_tree); then
			why=$tree
		else
			args+=(--tree "$tree")
		fi
	fi
	for m in $(header "$file" modules); do
		if ! path=$(module_path "$m"); then
			why=$path
			break
		fi
		args+=(--module "$path")
	done
	if [ -n "$why" ]; then
		echo "FAILED (0s)"
		echo "$why" | indent
		failed=$((failed + 1))
		echo "$name FAILED 0 -" >>"$summary"
		continue
	fi

	qemu_env=() qnote=''
	qemu_ver=$(header "$file" qemu | awk '{ print $1 }')
	if [ -n "$qemu_ver" ] && [ "$qemu_ver" != "$RVIRTIO_QEMU" ]; then
		qemu_env=(env "RVIRTIO_QEMU=$qemu_ver")
		qnote=", on QEMU $qemu_ver"
	fi

	start=$SECONDS
	set +e
	"${qemu_env[@]}" "$repo/scripts/guest.sh" "${args[@]}" 2>"$log.launcher"
	rc=$?
	set -e
	# guest.sh may fail before QEMU starts (a backend that did not start):
	# its reason is in the launcher log, and the test fails, not the run.
	[ -e "$log" ] || : >"$log"
	secs=$((SECONDS - start))
	boot=$(tr -d '\r' <"$log" 2>/dev/null | sed -n 's/^RVIRTIO-BOOTED: //p' | tail -n 1)
	bad=$(kernel_bad "$log" "$allow")

	if [ "$rc" = 0 ] && [ -z "$bad" ]; then
		result=ok
		passed=$((passed + 1))
		echo "ok (${secs}s$qnote)"
	elif [ "$rc" = 4 ] && [ -z "$bad" ]; then
		result=skipped
		skipped=$((skipped + 1))
		echo "skipped ($(tr -d '\r' <"$log" | sed -n 's/.*# SKIP //p' | head -n 1))"
	else
		result=FAILED
		failed=$((failed + 1))
		case "$rc" in
		0 | 4) reason="the kernel log has bad lines" ;;
		124) reason="timed out after ${timeout_s}s" ;;
		125) reason="the guest died without an exit status" ;;
		*) reason="exit status $rc" ;;
		esac
		echo "FAILED (${secs}s$qnote): $reason"
		{
			tr -d '\r' <"$log" | grep -E '^(not ok |Bail out!)' || true
			if [ -n "$bad" ]; then
				echo "kernel log:"
				echo "$bad" | head -n 40
			fi
			cat "$log.launcher"
			echo "--- last 60 console lines ($log):"
			tr -d '\r' <"$log" | tail -n 60
		} | indent
	fi
	[ "$verbose" = 0 ] || tr -d '\r' <"$log" | grep -E '^(ok|not ok|#) ' | indent
	echo "$name $result $secs ${boot:--}" >>"$summary"
done

line="$passed passed, $failed failed"
[ "$skipped" = 0 ] || line+=", $skipped skipped"
echo "$line" >>"$summary"
echo "$line"
[ "$failed" = 0 ]
