#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms-make.sh [--clean] KDIR: what dkms.conf's MAKE runs, in the DKMS build
# copy of the tree. It refuses a tree rvirtio cannot be built against, with
# the reason (check-kdir.sh), then runs kbuild the way the kernel was built:
# for a clang-built kernel the LLVM of the kernel's clang major version
# (LLVM=-19 when clang-19 is installed, else LLVM=1) and that version's
# libclang for bindgen; the rustc and bindgen that match the kernel.
#
# Toolchain overrides (environment): RVIRTIO_RUSTC, RVIRTIO_BINDGEN. By
# default the rustc the kernel recorded as usable (/usr/bin/rustc when it is
# Debian's rustc-web, else rustc on PATH), and bindgen from the rvirtio tool
# cache (0.69.5 for 6.12, 0.72.1 for 7.3) or else on PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tree=$(cd "$here/.." && pwd)
clean=0
if [ "${1:-}" = --clean ]; then
	clean=1
	shift
fi
kdir=${1:?usage: dkms-make.sh [--clean] KDIR}

args=(-C "$kdir" "M=$tree")
if grep -qx 'CONFIG_CC_IS_CLANG=y' "$kdir/.config" 2>/dev/null; then
	clang_major=$(($(sed -n 's/^CONFIG_CLANG_VERSION=//p' "$kdir/.config") / 10000))
	if command -v "clang-$clang_major" >/dev/null; then
		args+=("LLVM=-$clang_major")
	else
		args+=(LLVM=1)
	fi
	# bindgen takes the newest libclang installed unless told.
	[ -d "/usr/lib/llvm-$clang_major/lib" ] && export LIBCLANG_PATH=/usr/lib/llvm-$clang_major/lib
fi
if [ "$clean" = 1 ]; then
	make "${args[@]}" clean
	exit
fi

"$here/check-kdir.sh" "$kdir"

rustc=${RVIRTIO_RUSTC:-}
if [ -z "$rustc" ]; then
	if [ -x /usr/bin/rustc ] && /usr/bin/rustc --print sysroot >/dev/null 2>&1 &&
		[ -d "$(/usr/bin/rustc --print sysroot)/lib/rustlib/src/rust/library" ]; then
		rustc=/usr/bin/rustc
	else
		rustc=$(command -v rustc || true)
	fi
fi
[ -n "$rustc" ] || {
	echo "rvirtio: no rustc found; set RVIRTIO_RUSTC to the rustc the kernel was built with" >&2
	exit 1
}
bindgen=${RVIRTIO_BINDGEN:-}
if [ -z "$bindgen" ]; then
	cache=${RVIRTIO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rvirtio}
	release=$(cat "$kdir/include/config/kernel.release" 2>/dev/null || true)
	case "$release" in
	7.3*) tool=bindgen-0.72.1/bin/bindgen ;;
	*) tool=bin/bindgen ;;
	esac
	if [ -x "$cache/tools/$tool" ]; then
		bindgen=$cache/tools/$tool
	elif [ -x "/root/.cache/rvirtio/tools/$tool" ]; then
		# DKMS runs with a reset environment (HOME may differ from the
		# user's who installed the tools).
		bindgen=/root/.cache/rvirtio/tools/$tool
	elif command -v bindgen >/dev/null; then
		bindgen=$(command -v bindgen)
	else
		echo "rvirtio: no bindgen found; install bindgen-cli (the version the kernel was built with) or set RVIRTIO_BINDGEN" >&2
		exit 1
	fi
fi
exec make "${args[@]}" RUSTC="$rustc" HOSTRUSTC="$rustc" BINDGEN="$bindgen" modules
