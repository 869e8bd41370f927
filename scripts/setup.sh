#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything rvirtio needs on a Debian 12 machine, idempotently.
#
#   scripts/setup.sh [kernel|kernels|guest|host|dkms|all]
#
# kernel: what building the test kernel of KERNEL (6.12 by default, or 7.3)
#         and the modules needs: Debian's rustc-web with its source; for
#         6.12 linux-source-6.12, LLVM 14 and bindgen-cli 0.69.5; for 7.3
#         linux-source-7.3 (from trixie-backports, see trixie_download),
#         LLVM 19 (clang-19 and friends, in Debian 12) and bindgen-cli
#         0.72.1; bindgen-cli comes from crates.io;
# kernels: kernel, for both series;
# guest:  what the QEMU test guest needs (qemu, busybox, fio, nbdkit, ...);
# dkms:   dkms itself.
#
# Each step checks first and does nothing when its tools are already present,
# so calling it from every make target costs a few milliseconds.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/env.sh
. "$here/env.sh"

what=${1:-all}

SUDO=
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
fi

apt_updated=
apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "setup: installing ${missing[*]}" >&2
	if [ -z "$apt_updated" ]; then
		$SUDO apt-get update -qq
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
}

# trixie_download PKG: fetch PKG's newest .deb from trixie-backports into
# $RVIRTIO_CACHE/trixie/archives and print its path, without touching this
# machine's apt sources: apt runs with a private source list and private
# package lists (Debian 13 packages are never installed on Debian 12; they
# are only unpacked with dpkg-deb). Once a .deb of PKG is there it is reused.
trixie_download() {
	local pkg=$1 dir=$RVIRTIO_CACHE/trixie opts deb
	deb=$(find "$dir/archives" -maxdepth 1 -name "${pkg}_*.deb" 2>/dev/null | sort -V | tail -n 1)
	if [ -n "$deb" ]; then
		echo "$deb"
		return 0
	fi
	mkdir -p "$dir/lists/partial" "$dir/archives/partial"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie-backports main" \
		>"$dir/sources.list"
	opts=(-o "Dir::Etc::sourcelist=$dir/sources.list" -o Dir::Etc::sourceparts=-
		-o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir" -o "Dir::Cache::Archives=$dir/archives"
		-o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root -qq)
	echo "setup: fetching $pkg from trixie-backports (private apt lists in $dir)" >&2
	apt-get "${opts[@]}" update >&2
	(cd "$dir/archives" && apt-get "${opts[@]}" download "$pkg" >&2)
	deb=$(find "$dir/archives" -maxdepth 1 -name "${pkg}_*.deb" | sort -V | tail -n 1)
	[ -n "$deb" ] || {
		echo "setup: trixie-backports has no $pkg" >&2
		return 1
	}
	echo "$deb"
}

# setup_source: the kernel source tarball of KERNEL_SERIES where
# build-kernel.sh looks for it (rvirtio_source_tarball in env.sh).
setup_source() {
	local deb out
	case "$KERNEL_SERIES" in
	6.12) apt_install linux-source-6.12 ;;
	*)
		out=$RVIRTIO_CACHE/trixie/linux-source-$KERNEL_SERIES
		[ -f "$out/.rvirtio-version" ] && return 0
		deb=$(trixie_download "linux-source-$KERNEL_SERIES")
		rm -rf "$out"
		mkdir -p "$out"
		dpkg-deb -x "$deb" "$out"
		dpkg-deb -f "$deb" Version >"$out/.rvirtio-version"
		;;
	esac
}

setup_kernel() {
	apt_install build-essential bc bison flex libelf-dev libssl-dev \
		cpio kmod xz-utils python3 rustc-web rust-web-src rust-web-clippy ca-certificates
	case "$RVIRTIO_LLVM_VERSION" in
	14) apt_install clang lld llvm libclang-dev clang-14 libclang-14-dev ;;
	*)
		apt_install "clang-$RVIRTIO_LLVM_VERSION" "lld-$RVIRTIO_LLVM_VERSION" \
			"llvm-$RVIRTIO_LLVM_VERSION" "libclang-$RVIRTIO_LLVM_VERSION-dev"
		;;
	esac
	setup_source
	if ! "$RVIRTIO_BINDGEN" --version 2>/dev/null | grep -q "bindgen $BINDGEN_VERSION"; then
		echo "setup: cargo install bindgen-cli@$BINDGEN_VERSION" >&2
		# The rustup toolchain builds bindgen itself; only the kernel needs
		# rustc-web. RVIRTIO_BINDGEN is ROOT/bin/bindgen.
		cargo install --locked --quiet --root "${RVIRTIO_BINDGEN%/bin/bindgen}" \
			"bindgen-cli@$BINDGEN_VERSION"
	fi
}

setup_guest() {
	apt_install qemu-system-x86 busybox-static fio e2fsprogs nbdkit socat sg3-utils \
		util-linux fdisk python3 kmod cpio gzip pciutils rsync gcc make libc6-dev
	setup_qemu
}

# setup_qemu: the QEMU that RVIRTIO_QEMU names (scripts/env.sh).
setup_qemu() {
	local dir tmp deb
	case "$RVIRTIO_QEMU" in
	10.0)
		dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null | grep -q '^1:10\.0' && return 0
		# Debian 12's own backports (never trixie's): pinned below the
		# release by apt, so only what is asked for comes from there.
		if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
			echo "setup: adding bookworm-backports to apt's sources" >&2
			printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' \
				'Suites: bookworm-backports' 'Components: main' \
				'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
				$SUDO tee /etc/apt/sources.list.d/rvirtio-bookworm-backports.sources >/dev/null
		fi
		echo "setup: installing QEMU 10.0 from bookworm-backports" >&2
		$SUDO apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
			-t bookworm-backports qemu-system-x86 qemu-system-data qemu-system-common >/dev/null
		;;
	7.2)
		dir=$RVIRTIO_CACHE/qemu-7.2
		[ -x "$dir/usr/bin/qemu-system-x86_64" ] && [ -f "$QEMU_MODULE_DIR/accel-tcg-x86_64.so" ] &&
			return 0
		echo "setup: unpacking Debian 12's QEMU 7.2 into $dir" >&2
		tmp=$(mktemp -d)
		(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root \
			qemu-system-x86/bookworm qemu-system-data/bookworm qemu-system-common/bookworm)
		rm -rf "$dir"
		mkdir -p "$dir"
		for deb in "$tmp"/*.deb; do
			dpkg-deb -x "$deb" "$dir"
		done
		rm -rf "$tmp"
		;;
	esac
}

setup_host() {
	# cargo and rustc come with the machine (rustup); nothing else is needed
	# for the host unit tests.
	command -v cargo >/dev/null || {
		echo "setup: cargo is missing: install a Rust toolchain (rustup) for the host tests" >&2
		exit 1
	}
}

setup_dkms() {
	apt_install dkms
}

# setup_kernels: setup_kernel for every supported series.
setup_kernels() {
	local k
	for k in $RVIRTIO_KERNELS; do
		rvirtio_series "$k"
		setup_kernel
	done
	rvirtio_series "$KERNEL"
}

case "$what" in
kernel) setup_kernel ;;
kernels) setup_kernels ;;
guest) setup_guest ;;
dkms) setup_dkms ;;
host) setup_host ;;
all)
	setup_kernels
	setup_guest
	;;
*)
	echo "usage: $0 [kernel|kernels|guest|host|dkms|all]" >&2
	exit 2
	;;
esac
