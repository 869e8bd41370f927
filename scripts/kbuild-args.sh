#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# kbuild-args.sh --series KDIR: the series only (6.12 or 7.3).
#
# kbuild-args.sh KDIR: the toolchain arguments for building rvirtio against
# the kernel build tree KDIR, one per line (LLVM=..., BINDGEN=...,
# LIBCLANG_PATH=...), from the kernel series of the tree (scripts/env.sh):
# LLVM 14 and bindgen 0.69.5 for 6.12, LLVM 19 and bindgen 0.72.1 for 7.3.
# A tree of another series gets 6.12's, and Kbuild then refuses it with its
# one line. A kernel built with GCC gets no LLVM=.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
series_only=0
if [ "${1:-}" = --series ]; then
	series_only=1
	shift
fi
kdir=${1:?usage: kbuild-args.sh [--series] KDIR}
release=$(cat "$kdir/include/config/kernel.release" 2>/dev/null || true)
case "$release" in
7.3 | 7.3.* | 7.3-*) KERNEL=7.3 ;;
*) KERNEL=6.12 ;;
esac
export KERNEL
if [ "$series_only" = 1 ]; then
	echo "$KERNEL"
	exit 0
fi
# shellcheck source=scripts/env.sh
. "$here/env.sh"
if grep -qx 'CONFIG_CC_IS_CLANG=y' "$kdir/.config" 2>/dev/null; then
	echo "LLVM=$RVIRTIO_LLVM"
fi
echo "BINDGEN=$RVIRTIO_BINDGEN"
echo "LIBCLANG_PATH=$LIBCLANG_PATH"
