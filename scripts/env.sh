# SPDX-License-Identifier: GPL-2.0
# Shared settings for rvirtio's scripts. Sourced, never run.

# Where built kernels and tools are cached: outside the repo, reused across clones.
RVIRTIO_CACHE=${RVIRTIO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rvirtio}
RVIRTIO_TOOLS=$RVIRTIO_CACHE/tools
BINDGEN_VERSION=0.69.5
RVIRTIO_BINDGEN=$RVIRTIO_TOOLS/bin/bindgen
# Debian's rustc-web ships the rust-src the kernel needs; rustup's rustc does not.
RVIRTIO_RUSTC=/usr/bin/rustc
KERNEL_SERIES=6.12
export RVIRTIO_CACHE RVIRTIO_TOOLS BINDGEN_VERSION RVIRTIO_BINDGEN RVIRTIO_RUSTC KERNEL_SERIES
