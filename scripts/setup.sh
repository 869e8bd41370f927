#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything rvirtio needs on a Debian 12 machine, idempotently.
#
#   scripts/setup.sh [kernel|guest|host|dkms|all]
#
# kernel: what building the test kernel and the modules needs
#         (linux-source-6.12, LLVM 14, Debian's rustc-web with its source,
#         bindgen-cli 0.69.5 from crates.io);
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

setup_kernel() {
	apt_install linux-source-6.12 build-essential bc bison flex libelf-dev libssl-dev \
		cpio kmod xz-utils python3 clang lld llvm libclang-dev rustc-web rust-web-src rust-web-clippy \
		ca-certificates
	if ! "$RVIRTIO_BINDGEN" --version 2>/dev/null | grep -q "bindgen $BINDGEN_VERSION"; then
		echo "setup: cargo install bindgen-cli@$BINDGEN_VERSION" >&2
		mkdir -p "$RVIRTIO_TOOLS"
		# The rustup toolchain builds bindgen itself; only the kernel needs rustc-web.
		cargo install --locked --quiet --root "$RVIRTIO_TOOLS" "bindgen-cli@$BINDGEN_VERSION"
	fi
}

setup_guest() {
	apt_install qemu-system-x86 busybox-static fio e2fsprogs nbdkit socat sg3-utils \
		util-linux fdisk python3 kmod cpio gzip pciutils rsync gcc make libc6-dev
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

case "$what" in
kernel) setup_kernel ;;
guest) setup_guest ;;
dkms) setup_dkms ;;
host) setup_host ;;
all)
	setup_kernel
	setup_guest
	;;
*)
	echo "usage: $0 [kernel|guest|host|dkms|all]" >&2
	exit 2
	;;
esac
