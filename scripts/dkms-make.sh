#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms-make.sh [--clean] KDIR: what dkms.conf's MAKE runs, in the DKMS build
# copy of the tree. It refuses a tree rvirtio cannot be built against, with
# the reason (check-kdir.sh), then runs kbuild the way the kernel was built:
# LLVM=1 for a clang-built kernel, the rustc and bindgen that match it.
#
# Toolchain overrides (environment): RVIRTIO_RUSTC, RVIRTIO_BINDGEN. By
# default the rustc the kernel recorded as usable (/usr/bin/rustc when it is
# Debian's rustc-web, else rustc on PATH) and bindgen on PATH or in the
# rvirtio tool cache.
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
grep -qx 'CONFIG_CC_IS_CLANG=y' "$kdir/.config" 2>/dev/null && args+=(LLVM=1)
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
	if command -v bindgen >/dev/null; then
		bindgen=$(command -v bindgen)
	elif [ -x "$cache/tools/bin/bindgen" ]; then
		bindgen=$cache/tools/bin/bindgen
	elif [ -x /root/.cache/rvirtio/tools/bin/bindgen ]; then
		# DKMS runs with a reset environment (HOME may differ from the
		# user's who installed the tools).
		bindgen=/root/.cache/rvirtio/tools/bin/bindgen
	else
		echo "rvirtio: no bindgen found; install bindgen-cli (the version the kernel was built with) or set RVIRTIO_BINDGEN" >&2
		exit 1
	fi
fi
exec make "${args[@]}" RUSTC="$rustc" HOSTRUSTC="$rustc" BINDGEN="$bindgen" modules
