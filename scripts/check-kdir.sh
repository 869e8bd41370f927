#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Refuse, with a message that names what is missing, a kernel tree rvirtio
# cannot be built against: before kbuild gets a chance to fail obscurely.
set -euo pipefail
kdir=${1:?usage: check-kdir.sh KDIR}
die() {
	echo "rvirtio: cannot build against $kdir: $*" >&2
	exit 1
}
[ -d "$kdir" ] || die "no such directory"
[ -f "$kdir/.config" ] || die "no .config (not a configured kernel build tree)"
[ -f "$kdir/Module.symvers" ] || die "no Module.symvers (the kernel was not built; run 'make' there first)"
grep -qx 'CONFIG_RUST=y' "$kdir/.config" ||
	die "CONFIG_RUST is not set; rvirtio needs a Rust-enabled kernel (CONFIG_RUST=y)"
release=$(cat "$kdir/include/config/kernel.release" 2>/dev/null || true)
case "$release" in
6.12 | 6.12.* | 6.12-* | 7.3 | 7.3.* | 7.3-*) ;;
*) die "kernel release is '${release:-unknown}'; rvirtio supports 6.12 and 7.3 only" ;;
esac
[ -f "$kdir/rust/libkernel.rmeta" ] ||
	die "rust/libkernel.rmeta is missing (the kernel's Rust support was not built)"
