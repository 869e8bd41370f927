#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (or reuse) the QEMU test guest's initramfs.
#
#   scripts/mkinitramfs.sh OUT.cpio.gz   write the initramfs to OUT.cpio.gz
#   scripts/mkinitramfs.sh --print       print the cached initramfs's path only
#   scripts/mkinitramfs.sh --print-uncompressed
#                                        the same, of an uncompressed copy: under
#                                        TCG the guest kernel takes ~3 s to
#                                        inflate the gzip one, so guest.sh boots
#                                        this
#
# The initramfs holds the host's busybox-static (with its applet links), fio,
# the e2fsprogs tools, kmod, coreutils' timeout (kselftest's runner wants
# it), a few util-linux and sg3-utils tools, all their shared libraries and
# the dynamic loader, the kernel's kselftest KTAP helpers,
# tests/guest/ under /rvirtio/, its tools (tests/guest/tools/*.c, built
# static here) in /usr/bin, and tests/guest/init as /init. It holds no
# kernel modules: scripts/guest.sh appends those in a second cpio, so one
# initramfs serves every kernel and driver.
#
# It is cached in $RVIRTIO_CACHE/initramfs/ under a hash of its inputs (this
# script, tests/guest/, the KTAP helpers and the host files copied in, by
# name, size and mtime) and rebuilt only when one of them changes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=scripts/env.sh
. "$here/env.sh"

usage() {
	echo "usage: $0 OUT.cpio.gz | --print" >&2
	exit 2
}
[ $# -eq 1 ] || usage
plain=0
case "$1" in
--print) out='' ;;
--print-uncompressed) out='' plain=1 ;;
-*) usage ;;
*) out=$1 ;;
esac

"$here/setup.sh" guest

# Host programs copied in, by absolute path. busybox provides everything else.
progs=(
	/usr/bin/fio
	/usr/sbin/mke2fs /usr/sbin/mkfs.ext4 /usr/sbin/e2fsck /usr/sbin/fsck.ext4
	/usr/sbin/dumpe2fs /usr/sbin/resize2fs
	/usr/sbin/blockdev /usr/sbin/blkdiscard /usr/bin/lsblk /usr/sbin/blkid
	/usr/sbin/sfdisk /usr/bin/fallocate
	/usr/bin/sg_inq /usr/bin/sg_readcap /usr/bin/sg_reset /usr/bin/sg_raw
	/usr/bin/kmod
	/usr/bin/timeout
)
# kmod is the real modprobe: it reads the modules.alias.bin that depmod writes.
kmod_links=(/usr/sbin/modprobe /usr/sbin/insmod /usr/sbin/rmmod /usr/sbin/lsmod
	/usr/sbin/depmod /usr/sbin/modinfo)
etc_files=(/etc/mke2fs.conf)
ktap_rel=tools/testing/selftests/kselftest/ktap_helpers.sh

# The KTAP helpers come from the unpacked kernel source that build-kernel.sh
# leaves in the cache; failing that, straight from Debian's source tarball.
ktap_src=$RVIRTIO_CACHE/src/linux-source-$KERNEL_SERIES/$ktap_rel
ktap_tmp=
if [ ! -f "$ktap_src" ]; then
	tarball=/usr/src/linux-source-$KERNEL_SERIES.tar.xz
	if [ ! -f "$tarball" ]; then
		echo "mkinitramfs: need $ktap_src or $tarball (scripts/setup.sh kernel)" >&2
		exit 1
	fi
	ktap_tmp=$(mktemp -d)
	tar -C "$ktap_tmp" -xJf "$tarball" "linux-source-$KERNEL_SERIES/$ktap_rel"
	ktap_src=$ktap_tmp/linux-source-$KERNEL_SERIES/$ktap_rel
fi

# Shared libraries of every ELF program, and the loader they name.
libs_of() {
	local f
	for f in "$@"; do
		ldd "$f" 2>/dev/null || true
	done | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $1 !~ /:$/ { print $1 }' |
		sort -u
}
mapfile -t libs < <(libs_of /usr/bin/busybox "${progs[@]}")

guest_files() {
	(cd "$repo" && find tests/guest -type f ! -name '*~' | LC_ALL=C sort)
}

key=$({
	sha256sum "$here/mkinitramfs.sh" "$ktap_src" | cut -d' ' -f1
	(cd "$repo" && guest_files | xargs -r -d '\n' sha256sum)
	stat -L -c '%n %s %Y' /usr/bin/busybox "${progs[@]}" "${libs[@]}" "${etc_files[@]}"
} | sha256sum | cut -c1-16)

cache=$RVIRTIO_CACHE/initramfs
cached=$cache/initramfs-$key.cpio.gz

if [ ! -f "$cached" ]; then
	echo "mkinitramfs: building $cached" >&2
	mkdir -p "$cache"
	root=$(mktemp -d)
	trap 'rm -rf "$root" ${ktap_tmp:+"$ktap_tmp"}' EXIT

	# Debian's merged /usr layout, so that every path ldd prints resolves.
	mkdir -p "$root"/usr/{bin,sbin,lib,lib64} "$root"/{dev,proc,sys,tmp,mnt,run,etc,root}
	for d in bin sbin lib lib64; do
		ln -s "usr/$d" "$root/$d"
	done

	cp /usr/bin/busybox "$root/usr/bin/busybox"
	busybox --list-full | while IFS= read -r applet; do
		[ -e "$root/$applet" ] || [ -L "$root/$applet" ] || ln -s /usr/bin/busybox "$root/$applet"
	done

	# Real programs replace busybox's applets of the same name (rm first: cp
	# onto a link to busybox would overwrite busybox itself).
	# Programs keep their relative links (mkfs.ext4 -> mke2fs); libraries are
	# copied under the name ldd gave.
	copy_in() {
		local how=$1 f dst
		shift
		for f in "$@"; do
			dst=$root/${f#/}
			rm -f "$dst"
			mkdir -p "$(dirname "$dst")"
			cp "$how" "$f" "$dst"
		done
	}
	copy_in -P "${progs[@]}"
	copy_in -L "${libs[@]}"
	for l in "${kmod_links[@]}"; do
		rm -f "$root/$l"
		ln -s /usr/bin/kmod "$root/$l"
	done
	for f in "${etc_files[@]}"; do
		cp "$f" "$root/$f"
	done
	ldconfig -r "$root" 2>/dev/null || true

	# The guest tests' own small tools (tests/guest/tools/NAME.c), static.
	for f in "$repo"/tests/guest/tools/*.c; do
		[ -e "$f" ] || continue
		gcc -static -Os -Wall -Werror -o "$root/usr/bin/$(basename "$f" .c)" "$f"
	done

	# busybox-static's shell runs its own applets before searching $PATH, so
	# `modprobe` would be busybox's, not kmod's. Shell functions win over
	# applets: /etc/rvirtio-tools.sh defines one for each real program that
	# shadows an applet; tests/guest/lib.sh sources it, and /init's command
	# and the interactive shell's /etc/profile source lib.sh.
	{
		echo "# Generated by scripts/mkinitramfs.sh: real tools over busybox applets."
		applets=$(busybox --list)
		for f in "${progs[@]}" "${kmod_links[@]}"; do
			b=$(basename "$f")
			if grep -qx -- "$b" <<<"$applets"; then
				printf '%s() { %s "$@"; }\n' "$b" "$f"
			fi
		done
	} >"$root/etc/rvirtio-tools.sh"
	printf '. /rvirtio/lib.sh\nPS1="rvirtio# "\n' >"$root/etc/profile"

	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
	printf 'root:x:0:\n' >"$root/etc/group"
	ln -s /proc/mounts "$root/etc/mtab"
	printf 'rvirtio-guest\n' >"$root/etc/hostname"

	mkdir -p "$root/usr/lib/kselftest" "$root/rvirtio"
	cp "$ktap_src" "$root/usr/lib/kselftest/ktap_helpers.sh"
	(cd "$repo/tests/guest" && find . -type f ! -name '*~' -print0 |
		cpio -0 -pdm --quiet "$root/rvirtio")
	install -m 0755 "$repo/tests/guest/init" "$root/init"

	# Written aside and renamed, so a concurrent build or reader never sees half.
	part=$(mktemp "$cache/.initramfs-$key.XXXXXX")
	(cd "$root" && find . -print0 | LC_ALL=C sort -z |
		cpio -0 -o -H newc -R 0:0 --quiet | gzip -6 -n) >"$part"
	chmod 0644 "$part"
	mv "$part" "$cached"
	# Keep the newest few only.
	find "$cache" -name 'initramfs-*.cpio*' -printf '%T@ %p\n' | sort -rn | tail -n +7 |
		cut -d' ' -f2- | xargs -r rm -f
	echo "mkinitramfs: $(du -h "$cached" | cut -f1) in $cached" >&2
fi
[ -z "$ktap_tmp" ] || rm -rf "$ktap_tmp"

if [ "$plain" = 1 ]; then
	if [ ! -f "${cached%.gz}" ]; then
		part=$(mktemp "$cache/.initramfs-$key.XXXXXX")
		gzip -dc "$cached" >"$part"
		chmod 0644 "$part"
		mv "$part" "${cached%.gz}"
	fi
	echo "${cached%.gz}"
elif [ -z "$out" ]; then
	echo "$cached"
else
	cp "$cached" "$out"
fi
