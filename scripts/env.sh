# SPDX-License-Identifier: GPL-2.0
# Shared settings for rvirtio's scripts. Sourced, never run.
#
# KERNEL (environment, default 6.12) picks the kernel series a script works
# on, 6.12 or 7.3, and with it the toolchain that series is built with:
#
#   6.12: LLVM 14 (Debian 12's clang), bindgen-cli 0.69.5
#   7.3:  LLVM 19 (clang-19 from Debian 12), bindgen-cli 0.72.1
#
# Both use Debian's rustc-web, whose rust-src the kernel needs (rustup's
# rustc has none). bindgen loads libclang at run time and, left alone, takes
# the newest one installed, so LIBCLANG_PATH pins each series' own.

# Where built kernels and tools are cached: outside the repo, reused across clones.
RVIRTIO_CACHE=${RVIRTIO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rvirtio}
RVIRTIO_TOOLS=$RVIRTIO_CACHE/tools
RVIRTIO_RUSTC=/usr/bin/rustc
RVIRTIO_KERNELS="6.12 7.3"
KERNEL=${KERNEL:-6.12}

# rvirtio_series SERIES: set the per-series variables, or fail with one line.
rvirtio_series() {
	case "$1" in
	6.12)
		KERNEL_SERIES=6.12 BINDGEN_VERSION=0.69.5 RVIRTIO_LLVM_VERSION=14
		# Where setup.sh has always put it, so older caches stay valid.
		RVIRTIO_BINDGEN=$RVIRTIO_TOOLS/bin/bindgen
		RVIRTIO_LLVM=1
		;;
	7.3)
		KERNEL_SERIES=7.3 BINDGEN_VERSION=0.72.1 RVIRTIO_LLVM_VERSION=19
		RVIRTIO_BINDGEN=$RVIRTIO_TOOLS/bindgen-$BINDGEN_VERSION/bin/bindgen
		RVIRTIO_LLVM=-19
		;;
	*)
		echo "rvirtio: KERNEL must be one of $RVIRTIO_KERNELS, not '$1'" >&2
		return 2
		;;
	esac
	LIBCLANG_PATH=/usr/lib/llvm-$RVIRTIO_LLVM_VERSION/lib
	export KERNEL_SERIES BINDGEN_VERSION RVIRTIO_LLVM_VERSION RVIRTIO_BINDGEN RVIRTIO_LLVM LIBCLANG_PATH
}
rvirtio_series "$KERNEL" || exit 2
export RVIRTIO_CACHE RVIRTIO_TOOLS RVIRTIO_RUSTC RVIRTIO_KERNELS KERNEL

# RVIRTIO_QEMU (environment, default 10.0) picks the QEMU the test guests
# run on:
#   10.0: bookworm-backports' qemu-system-x86 (the QEMU of Debian 13),
#         installed by setup.sh guest in place of Debian 12's;
#   7.2:  Debian 12's own, unpacked by setup.sh guest under the cache, and
#         run with its own firmware directory first (-L).
RVIRTIO_QEMU=${RVIRTIO_QEMU:-10.0}
case "$RVIRTIO_QEMU" in
10.0)
	RVIRTIO_QEMU_BIN=qemu-system-x86_64
	RVIRTIO_QEMU_DATADIR=
	;;
7.2)
	RVIRTIO_QEMU_BIN=$RVIRTIO_CACHE/qemu-7.2/usr/bin/qemu-system-x86_64
	RVIRTIO_QEMU_DATADIR=$RVIRTIO_CACHE/qemu-7.2/usr/share/qemu
	# Its TCG is a module: its own, not the installed QEMU's.
	QEMU_MODULE_DIR=$RVIRTIO_CACHE/qemu-7.2/usr/lib/x86_64-linux-gnu/qemu
	export QEMU_MODULE_DIR
	;;
*)
	echo "rvirtio: RVIRTIO_QEMU must be 10.0 or 7.2, not '$RVIRTIO_QEMU'" >&2
	exit 2
	;;
esac
export RVIRTIO_QEMU RVIRTIO_QEMU_BIN RVIRTIO_QEMU_DATADIR

# rvirtio_source_tarball / rvirtio_source_version: the KERNEL_SERIES source
# that setup.sh installed (6.12: Debian 12's linux-source-6.12 package; 7.3:
# trixie-backports' linux-source-7.3, unpacked under the cache) and its
# Debian version.
rvirtio_source_tarball() {
	case "$KERNEL_SERIES" in
	6.12) echo "/usr/src/linux-source-$KERNEL_SERIES.tar.xz" ;;
	*) echo "$RVIRTIO_CACHE/trixie/linux-source-$KERNEL_SERIES/usr/src/linux-source-$KERNEL_SERIES.tar.xz" ;;
	esac
}
rvirtio_source_version() {
	case "$KERNEL_SERIES" in
	6.12) dpkg-query -W -f='${Version}' "linux-source-$KERNEL_SERIES" 2>/dev/null || echo none ;;
	*) cat "$RVIRTIO_CACHE/trixie/linux-source-$KERNEL_SERIES/.rvirtio-version" 2>/dev/null || echo none ;;
	esac
}
