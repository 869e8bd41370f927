#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# rvirtio and DKMS.
#
#   dkms.sh install [KVER [KDIR]]  add, build and install this tree for KVER
#                                  (default: the running kernel) in the
#                                  system's DKMS (/usr/src, /var/lib/dkms)
#   dkms.sh deb [OUTDIR]           a Debian package, rvirtio-dkms_VER_all.deb,
#                                  that installs the source under /usr/src and
#                                  registers it with DKMS (dkms 3 has no mkdeb:
#                                  this is what dh-dkms packages contain)
#   dkms.sh test KDIR              for make check: add and build against the
#                                  test kernel tree KDIR in a private DKMS tree,
#                                  then boot guests with the modules DKMS built
#                                  and run I/O tests on them
#
# The DKMS source is the build files git knows (tracked, or new and not
# ignored): Kbuild, Makefile,
# dkms.conf, drivers/ and the two scripts dkms.conf runs.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"/\1/p' "$repo/dkms.conf")
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$repo/dkms.conf")
arch=$(uname -m)

die() {
	echo "dkms.sh: $*" >&2
	exit 1
}

command -v dkms >/dev/null || die "dkms is not installed (apt-get install dkms; scripts/setup.sh dkms)"

# stage DIR: copy the DKMS source into DIR (created, or emptied).
stage() {
	local dir=$1 f
	rm -rf "$dir"
	mkdir -p "$dir"
	if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$repo" ls-files --cached --others --exclude-standard Kbuild Makefile dkms.conf README.md drivers \
			scripts/dkms-make.sh scripts/check-kdir.sh
	else
		(cd "$repo" && find Kbuild Makefile dkms.conf README.md drivers \
			scripts/dkms-make.sh scripts/check-kdir.sh -type f \
			! -name '*.o' ! -name '*.ko' ! -name '*.cmd' ! -name '*_generated.rs' \
			! -name '*.mod*' ! -name '.*')
	fi | while read -r f; do
		mkdir -p "$dir/$(dirname "$f")"
		cp -p "$repo/$f" "$dir/$f"
	done
}

cmd=${1:-}
shift || true
case "$cmd" in
install)
	kver=${1:-$(uname -r)}
	kdir=${2:-}
	[ "$(id -u)" = 0 ] || die "install needs root (it writes /usr/src and /var/lib/dkms)"
	src=/usr/src/$name-$ver
	if dkms status -m "$name" -v "$ver" 2>/dev/null | grep -q .; then
		dkms remove -m "$name" -v "$ver" --all
	fi
	stage "$src"
	dkms add -m "$name" -v "$ver"
	dkms build -m "$name" -v "$ver" -k "$kver" ${kdir:+--kernelsourcedir "$kdir"}
	dkms install -m "$name" -v "$ver" -k "$kver" ${kdir:+--kernelsourcedir "$kdir"}
	dkms status -m "$name" -v "$ver"
	;;
deb)
	out=${1:-$repo}
	pkg=$(mktemp -d)
	trap 'rm -rf "$pkg"' EXIT
	stage "$pkg/usr/src/$name-$ver"
	mkdir -p "$pkg/DEBIAN"
	cat >"$pkg/DEBIAN/control" <<CONTROL
Package: $name-dkms
Version: $ver
Architecture: all
Maintainer: rvirtio developers <rvirtio@localhost>
Depends: dkms (>= 3.0)
Section: kernel
Priority: optional
Description: rvirtio_blk and rvirtio_scsi, Rust virtio guest drivers (DKMS)
 Out-of-tree virtio-blk and virtio-scsi guest drivers in Rust for
 Rust-enabled (CONFIG_RUST=y) Linux 6.12 kernels, built by DKMS for every
 such kernel installed. They recover requests the device never returns.
CONTROL
	cat >"$pkg/DEBIAN/postinst" <<POSTINST
#!/bin/sh
set -e
# As dh-dkms does: add, then build and install for the kernels that qualify.
if [ "\$1" = configure ]; then
	/usr/lib/dkms/common.postinst $name $ver "" "" "\$2"
fi
POSTINST
	cat >"$pkg/DEBIAN/prerm" <<PRERM
#!/bin/sh
set -e
if [ "\$1" = remove ] || [ "\$1" = upgrade ] || [ "\$1" = deconfigure ]; then
	dkms remove -m $name -v $ver --all || true
fi
PRERM
	chmod 0755 "$pkg/DEBIAN/postinst" "$pkg/DEBIAN/prerm"
	mkdir -p "$out"
	dpkg-deb --root-owner-group --build "$pkg" "$out/${name}-dkms_${ver}_all.deb" >/dev/null
	echo "$out/${name}-dkms_${ver}_all.deb"
	;;
test)
	kdir=${1:?usage: dkms.sh test KDIR}
	krel=$(cat "$kdir/include/config/kernel.release")
	work=${RVIRTIO_CACHE:-$HOME/.cache/rvirtio}/dkms-test
	rm -rf "$work"
	mkdir -p "$work/source" "$work/tree"
	stage "$work/source/$name-$ver"
	d=(--sourcetree "$work/source" --dkmstree "$work/tree")
	echo "== dkms add, build (kernel $krel, tree $kdir)"
	dkms add "${d[@]}" -m "$name" -v "$ver"
	dkms build "${d[@]}" -m "$name" -v "$ver" -k "$krel" --kernelsourcedir "$kdir" ||
		{
			cat "$work/tree/$name/$ver/build/make.log" 2>/dev/null | tail -n 40
			die "dkms build failed"
		}
	dkms status "${d[@]}" -m "$name" -v "$ver"
	mods=$work/tree/$name/$ver/$krel/$arch/module
	for m in rvirtio_blk rvirtio_scsi; do
		[ -f "$mods/$m.ko" ] || die "DKMS did not produce $m.ko (in $mods)"
		echo "$mods/$m.ko: $(modinfo -F vermagic "$mods/$m.ko")"
	done
	echo "== guest tests with the modules DKMS built"
	RVIRTIO_MODULE_DIR=$mods "$repo/tests/run-guest-tests.sh" --kernel-flavour debug \
		bound fio-verify scsi-basic
	;;
*)
	sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit 2
	;;
esac
