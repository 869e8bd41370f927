#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: everything CI runs, on a machine that may be new.
#
#   1. setup: apt packages, bindgen and the kernel sources of both kernel
#      series, QEMU (idempotent);
#   2. the 6.12 debug test kernel (built once, then cached) and the modules;
#   3. static checks: rustfmt, clippy, and the unsafe rules
#      (scripts/check-safety.sh: a SAFETY comment on every unsafe block and
#      impl, none at all in the drivers' own files);
#   4. host unit and property tests (cargo test, tests/host), the
#      vhost-user-blk test backend (tests/vhost-user-blk: built, clippy,
#      its unit tests; the guest tests' vhost= disks use it), and the
#      benchmark report's test on recorded output (bench/test_report.py);
#   5. on the 6.12 debug kernel, the guest tests of tests/guest/check-6.12
#      (tests/run-guest-tests.sh; all of them with CHECK_ALL=1: make
#      check-all), and DKMS against it;
#   6. on 7.3: its debug kernel, the modules built for it (in a copy of the
#      tree, $RVIRTIO_CACHE/check-7.3: kbuild keeps one kernel's objects
#      beside the sources), clippy, the whole guest suite, and DKMS;
#   7. blktests' rvirtio group, if BLKTESTS is set (to a blktests checkout:
#      a BLKTESTS that names none fails).
#
# Each check prints its name, result and seconds; the last line is
# "N passed, N failed" (", N skipped" if any) over all of them.
#
#   make check TESTS="fio-verify serial"   only these guest tests (on both)
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
# The first kernel is 6.12 whatever the caller's KERNEL says; 7.3's steps
# name their kernel themselves.
export KERNEL=6.12
# shellcheck source=scripts/env.sh
. "$repo/scripts/env.sh"

passed=0 failed=0 skipped=0
log_dir=$RVIRTIO_CACHE/check-logs
mkdir -p "$log_dir"

# run NAME CMD...: one check, its output in a log shown only on failure.
run() {
	local name=$1 t0 rc log
	shift
	log=$log_dir/$name.log
	t0=$(date +%s)
	printf '%-28s ... ' "$name"
	"$@" >"$log" 2>&1
	rc=$?
	if [ $rc = 0 ]; then
		echo "ok ($(($(date +%s) - t0))s)"
		passed=$((passed + 1))
	else
		echo "FAILED ($(($(date +%s) - t0))s)"
		failed=$((failed + 1))
		tail -n 60 "$log" | sed 's/^/    /'
	fi
	return $rc
}

stage_fail() {
	echo "check: cannot continue without $1"
	echo "$passed passed, $((failed)) failed"
	exit 1
}

run setup "$repo/scripts/setup.sh" all || stage_fail "the tools"
run kernel-debug "$repo/scripts/build-kernel.sh" debug || stage_fail "the test kernel"
run build-modules make -C "$repo" modules || stage_fail "the modules"
run rustfmt make -C "$repo" rustfmtcheck
run safety-comments "$repo/scripts/check-safety.sh"

# clippy_check [TREE [MAKE-ARGS...]]: the modules of TREE (default: the
# repo) built again with clippy-driver (every Rust source under drivers/
# touched, so every crate is compiled anew). Fails if the build fails (a
# compile error, no clippy-driver), if nothing was compiled with clippy, or
# on any warning: clippy must be silent.
clippy_check() {
	local tree=${1:-$repo} out=$log_dir/clippy.out rc
	shift || true
	find "$tree/drivers" -name '*.rs' -exec touch {} +
	make -C "$tree" clippy "$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	if [ "$rc" != 0 ]; then
		echo "clippy: the build failed (make exit $rc)"
		return 1
	fi
	if ! grep -qE '^ *CLIPPY ' "$out"; then
		echo "clippy: the build compiled nothing with clippy-driver"
		return 1
	fi
	if grep -qE '^(warning|error)' "$out"; then
		echo "clippy: warnings (clippy must be silent)"
		return 1
	fi
}
run clippy clippy_check

# cargo_tests NAME DIR [ARGS...]: cargo test in DIR, one line for its
# results, counted test by test.
cargo_tests() {
	local name=$1 dir=$2 t0 rc hp hf host_log
	shift 2
	t0=$(date +%s)
	printf '%-28s ... ' "$name"
	host_log=$log_dir/$name.log
	(cd "$dir" && cargo test "$@" 2>&1) >"$host_log"
	rc=$?
	hp=$(sed -n 's/^test result: .* \([0-9]*\) passed; \([0-9]*\) failed.*/\1/p' "$host_log" | paste -sd+ | bc)
	hf=$(sed -n 's/^test result: .* \([0-9]*\) passed; \([0-9]*\) failed.*/\2/p' "$host_log" | paste -sd+ | bc)
	hp=${hp:-0} hf=${hf:-0}
	if [ $rc = 0 ] && [ "$hf" = 0 ] && [ "$hp" -gt 0 ]; then
		echo "ok, $hp tests ($(($(date +%s) - t0))s)"
	else
		echo "FAILED ($(($(date +%s) - t0))s)"
		grep -E '^test .* FAILED|panicked|^error' "$host_log" | head -40 | sed 's/^/    /'
		[ "$hf" = 0 ] && hf=1
	fi
	passed=$((passed + hp)) failed=$((failed + hf))
}

# Host tests: one line per test binary's result, counted test by test.
cargo_tests host-tests tests/host

# The vhost-user-blk test backend (rvirtio-vub): the guest tests' vhost=
# disks run tests/vhost-user-blk/target/release/rvirtio-vub, which guest.sh
# would otherwise build on demand. Clippy must be silent; rustfmt is checked
# above with the rest of the Rust files.
vub=$repo/tests/vhost-user-blk
run vub-build cargo build --release --locked --manifest-path "$vub/Cargo.toml"
run vub-clippy cargo clippy --release --locked --all-targets --manifest-path "$vub/Cargo.toml" -- -D warnings
cargo_tests vub-tests "$vub" --release --locked

# The benchmark is not a test and does not run here; its report generator
# is checked on recorded guest output (bench/testdata).
run bench-report python3 -m unittest discover -s "$repo/bench" -p 'test_*.py'

# guest_suite SERIES MODULE-DIR TEST...: the guest tests (all if none) on
# SERIES' debug kernel with the rvirtio modules of MODULE-DIR. The runner
# prints a line per test and a closing count line, which is added up.
guest_suite() {
	local series=$1 mods=$2 guest_out summary gp gf gs
	shift 2
	echo "guest tests ($series debug kernel, QEMU $RVIRTIO_QEMU TCG):"
	guest_out=$log_dir/guest-tests-$series.log
	KERNEL=$series RVIRTIO_MODULE_DIR=$mods "$repo/tests/run-guest-tests.sh" \
		--kernel-flavour debug "$@" 2>&1 | tee "$guest_out" |
		grep --line-buffered -v -E '^[0-9]+ passed, [0-9]+ failed' | sed -u 's/^/  /'
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$guest_out" | tail -n 1)
	if [ -z "$summary" ]; then
		echo "  guest runner ended without a summary"
		failed=$((failed + 1))
	else
		gp=$(echo "$summary" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
		gf=$(echo "$summary" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
		gs=$(echo "$summary" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
		passed=$((passed + gp)) failed=$((failed + gf)) skipped=$((skipped + ${gs:-0}))
	fi
}

# dkms_test SERIES: add and build with DKMS against SERIES' debug kernel
# tree, then I/O through the modules DKMS built.
dkms_test() {
	# DKMS builds with the toolchain dkms-make.sh picks for the tree, as on a
	# user's machine: not with the 6.12 one env.sh exported here (an
	# exported RVIRTIO_BINDGEN would override it).
	KERNEL=$1 "$repo/scripts/setup.sh" dkms &&
		env -u RVIRTIO_BINDGEN -u LIBCLANG_PATH -u RVIRTIO_LLVM KERNEL="$1" \
			"$repo/scripts/dkms.sh" test "$(KERNEL=$1 "$repo/scripts/build-kernel.sh" debug --print)"
}

if [ -n "${TESTS:-}" ]; then
	# shellcheck disable=SC2086
	guest_suite 6.12 "$repo/drivers" $TESTS
elif [ -n "${CHECK_ALL:-}" ]; then
	guest_suite 6.12 "$repo/drivers"
else
	# shellcheck disable=SC2046
	guest_suite 6.12 "$repo/drivers" $(grep -Ev '^#|^$' "$repo/tests/guest/check-6.12")
fi
run dkms dkms_test 6.12

# 7.3: its kernel, then the modules built for it in a copy of the tree (the
# tracked and new files, as DKMS stages them), clippy there, the whole guest
# suite and DKMS.
stage73=$RVIRTIO_CACHE/check-7.3
build_73() {
	rm -rf "$stage73"
	mkdir -p "$stage73"
	git -C "$repo" ls-files --cached --others --exclude-standard |
		rsync -a --files-from=- "$repo/" "$stage73/" &&
		make -C "$stage73" KERNEL=7.3 modules
}
if run kernel-debug-7.3 env KERNEL=7.3 "$repo/scripts/build-kernel.sh" debug &&
	run build-modules-7.3 build_73; then
	run clippy-7.3 clippy_check "$stage73" KERNEL=7.3
	# shellcheck disable=SC2086
	guest_suite 7.3 "$stage73/drivers" ${TESTS:-}
	run dkms-7.3 dkms_test 7.3
fi

# blktests is in no package registry this machine reaches, so it runs only
# when a checkout is given: make check BLKTESTS=/path/to/blktests. Without
# BLKTESTS it is skipped; a BLKTESTS that names no checkout (empty, or no
# executable check in it) is a mistake, and fails rather than skip.
if [ -z "${BLKTESTS+set}" ]; then
	echo "blktests                     ... skipped (no checkout: make check BLKTESTS=/path/to/blktests runs the rvirtio group)"
	skipped=$((skipped + 1))
elif [ -n "$BLKTESTS" ] && [ -x "$BLKTESTS/check" ]; then
	run blktests "$repo/scripts/run-blktests" BLKTESTS="$BLKTESTS" rvirtio || true
else
	why="no executable $BLKTESTS/check"
	[ -n "$BLKTESTS" ] || why="it is empty"
	echo "blktests                     ... FAILED (BLKTESTS='$BLKTESTS' is not a blktests checkout: $why)"
	failed=$((failed + 1))
fi

if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" = 0 ]
