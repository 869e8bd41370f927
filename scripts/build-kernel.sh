#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (or reuse) rvirtio's Rust-enabled test kernel.
#
#   scripts/build-kernel.sh FLAVOUR          build if needed, print nothing but progress
#   scripts/build-kernel.sh FLAVOUR --print  print the build tree's path only
#
# KERNEL (environment: 6.12, the default, or 7.3) picks the series. The
# kernel is Debian's linux-source-6.12, or trixie-backports'
# linux-source-7.3, configured from allnoconfig plus scripts/config/
# base.config, scripts/config/FLAVOUR.config and, if there is one,
# scripts/config/SERIES.config, and built with the series' LLVM and bindgen
# (scripts/env.sh) and Debian's rustc-web into $RVIRTIO_CACHE/kernel/. The
# build tree's name carries the kernel version and a hash of everything
# that shapes it (fragments, this script, toolchain), so an unchanged
# configuration is reused and a changed one gets a fresh tree.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/env.sh
. "$here/env.sh"

flavour=${1:-}
mode=${2:-build}
case "$flavour" in
debug | perf) ;;
*)
	echo "build-kernel: FLAVOUR must be debug or perf, not '$flavour'" >&2
	exit 2
	;;
esac

frags=("$here/config/base.config" "$here/config/$flavour.config")
[ -f "$here/config/$KERNEL_SERIES.config" ] && frags+=("$here/config/$KERNEL_SERIES.config")
tarball=$(rvirtio_source_tarball)

kdir_of() {
	local kver hash
	kver=$(rvirtio_source_version)
	hash=$({
		cat "${frags[@]}" "$here/build-kernel.sh"
		echo "$kver"
		"$RVIRTIO_RUSTC" --version 2>/dev/null || true
		echo "bindgen $BINDGEN_VERSION llvm $RVIRTIO_LLVM_VERSION"
	} | sha256sum | cut -c1-12)
	echo "$RVIRTIO_CACHE/kernel/${kver%%-*}-$flavour-$hash"
}

if [ "$mode" = --print ]; then
	kdir_of
	exit 0
fi

"$here/setup.sh" kernel
kdir=$(kdir_of)
kver=$(rvirtio_source_version)
if [ -f "$kdir/.rvirtio-built" ]; then
	echo "kernel: $flavour is up to date in $kdir" >&2
	exit 0
fi

src=$RVIRTIO_CACHE/src/linux-source-$KERNEL_SERIES
if [ ! -f "$src/.rvirtio-unpacked" ] || [ "$tarball" -nt "$src/.rvirtio-unpacked" ] ||
	[ "$(cat "$src/.rvirtio-unpacked")" != "$kver" ]; then
	echo "kernel: unpacking $tarball" >&2
	rm -rf "$src"
	mkdir -p "$RVIRTIO_CACHE/src"
	tar -C "$RVIRTIO_CACHE/src" -xf "$tarball"
	echo "$kver" >"$src/.rvirtio-unpacked"
fi

kmake=(make -C "$src" O="$kdir" LLVM="$RVIRTIO_LLVM" RUSTC="$RVIRTIO_RUSTC" HOSTRUSTC="$RVIRTIO_RUSTC"
	BINDGEN="$RVIRTIO_BINDGEN")

mkdir -p "$kdir"
echo "kernel: configuring $KERNEL_SERIES $flavour in $kdir" >&2
"${kmake[@]}" -s rustavailable
"${kmake[@]}" -s allnoconfig
(cd "$kdir" && "$src/scripts/kconfig/merge_config.sh" -m -O "$kdir" .config "${frags[@]}" >/dev/null)
"${kmake[@]}" -s olddefconfig

# Every option a fragment asks for must have survived olddefconfig: a
# silently dropped CONFIG_RUST or CONFIG_KASAN is worse than a failed build.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) ;;
	*) continue ;;
	esac
	if ! grep -qx -- "$line" "$kdir/.config"; then
		echo "kernel: $line was requested but the configuration has:" \
			"$(grep -E "^(# )?${line%%=*}[= ]" "$kdir/.config" || echo 'nothing')" >&2
		bad=1
	fi
done < <(cat "${frags[@]}")
[ "$bad" = 0 ] || exit 1

echo "kernel: building $KERNEL_SERIES $flavour (about 10 minutes on 2 cores)" >&2
"${kmake[@]}" -s -j"$(nproc)" bzImage modules
touch "$kdir/.rvirtio-built"
echo "kernel: $flavour built in $kdir" >&2
