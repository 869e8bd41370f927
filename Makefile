# SPDX-License-Identifier: GPL-2.0
#
# rvirtio: Rust virtio-blk and virtio-scsi guest drivers for Linux 6.12 and 7.3.
#
#   make run                 boot a test guest with rvirtio_blk serving a disk
#   make check               host unit tests, then tests/guest/check-6.12 on
#                            6.12 and the whole guest suite on 7.3
#   make check-all           the same with the whole suite on 6.12 too
#   make                     build the modules (against the debug test kernel)
#   make KDIR=/path          build the modules against another Rust-enabled
#                            6.12 or 7.3 tree
#   make kernel FLAVOUR=debug|perf   build (or reuse) a test kernel
#   make -s print-kdir FLAVOUR=...   print that kernel's build tree
#   KERNEL=6.12|7.3          (with the above) which kernel series: 6.12 by
#                            default
#   make CLIPPY=1            build with clippy
#   make check-host          host unit tests only (and rvirtio-vub's)
#   make check-guest [TESTS="fio-verify ..."]   guest tests only
#   make dkms-install [KVER=...]   add, build and install with DKMS
#   make dkms-deb            a Debian package (rvirtio-dkms_VER_all.deb)
#   make bench [PART=...]    rvirtio against the C drivers, in parts blk,
#                            scsi and poll (results in
#                            bench/results/KERNEL/; not a test)
#
# See README.md and Documentation/.

FLAVOUR ?= debug
KERNEL ?= 6.12
SCRIPTS := $(CURDIR)/scripts
# Debian's rustc-web has the rust-src the kernel needs; rustup's does not.
RVIRTIO_RUSTC ?= /usr/bin/rustc
RVIRTIO_CLIPPY_DRIVER ?= /usr/bin/clippy-driver
RVIRTIO_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/rvirtio
export RVIRTIO_CACHE KERNEL

# KDIR given on the command line: build against it as it is. Otherwise build
# (or reuse) the project's test kernel of KERNEL and FLAVOUR.
ifeq ($(origin KDIR),undefined)
KDIR_DEP := kernel
KDIR = $(shell KERNEL=$(KERNEL) $(SCRIPTS)/build-kernel.sh $(FLAVOUR) --print)
endif

# The toolchain of KDIR's kernel series (LLVM=, BINDGEN=, LIBCLANG_PATH=:
# scripts/kbuild-args.sh).
KBUILD_TOOLCHAIN = $(shell $(SCRIPTS)/kbuild-args.sh $(KDIR))
KBUILD_ARGS = -C $(KDIR) M=$(CURDIR) $(KBUILD_TOOLCHAIN) RUSTC=$(RVIRTIO_RUSTC) \
	HOSTRUSTC=$(RVIRTIO_RUSTC) CLIPPY_DRIVER=$(RVIRTIO_CLIPPY_DRIVER)

.PHONY: all modules kernel print-kdir check check-all check-host check-guest run clean \
	setup rustfmt rustfmtcheck clippy dkms-install dkms-deb bench

all: modules

modules: $(KDIR_DEP)
	@$(SCRIPTS)/check-kdir.sh $(KDIR)
	@KERNEL=$$($(SCRIPTS)/kbuild-args.sh --series $(KDIR)) $(SCRIPTS)/setup.sh kernel
	$(MAKE) $(KBUILD_ARGS) modules

kernel:
	@$(SCRIPTS)/build-kernel.sh $(FLAVOUR)

print-kdir:
	@$(SCRIPTS)/build-kernel.sh $(FLAVOUR) --print

setup:
	@$(SCRIPTS)/setup.sh all

clippy:
	$(MAKE) modules CLIPPY=1

# rustfmt with 6.12's configuration (7.3's .rustfmt.toml is the same).
rustfmt:
	rustfmt --edition 2021 --config-path $(RVIRTIO_CACHE)/src/linux-source-6.12/.rustfmt.toml \
		$$(git ls-files '*.rs')

rustfmtcheck:
	rustfmt --edition 2021 --check \
		--config-path $(RVIRTIO_CACHE)/src/linux-source-6.12/.rustfmt.toml \
		$$(git ls-files '*.rs')

check-host:
	@$(SCRIPTS)/setup.sh host
	cd tests/host && cargo test --quiet 2>&1
	cd tests/vhost-user-blk && cargo test --release --locked --quiet 2>&1

check-guest: modules
	@$(SCRIPTS)/setup.sh guest
	@tests/run-guest-tests.sh --kernel-flavour $(FLAVOUR) $(TESTS)

check:
	@$(SCRIPTS)/check.sh

# make check with the whole guest suite on 6.12 too (make check runs
# tests/guest/check-6.12 there).
check-all:
	@CHECK_ALL=1 $(SCRIPTS)/check.sh

# DKMS: for the running kernel by default (KVER=..., and KDIR=... for a tree
# that is not /lib/modules/KVER/build).
dkms-install:
	@$(SCRIPTS)/setup.sh dkms
	@$(SCRIPTS)/dkms.sh install $(or $(KVER),$(shell uname -r)) \
		$(if $(filter command line,$(origin KDIR)),$(KDIR))

dkms-deb:
	@$(SCRIPTS)/setup.sh dkms
	@$(SCRIPTS)/dkms.sh deb $(CURDIR)

# Benchmarks: the perf kernel, A/B against the C driver in one guest boot per
# mode (Documentation/benchmarks.rst). BENCH_ARGS=--quick checks the harness;
# PART=blk|scsi|poll runs one part (each under 30 minutes; all about 40).
bench:
	@$(SCRIPTS)/bench.sh $(if $(PART),--part $(PART)) $(BENCH_ARGS)

run: modules
	@$(SCRIPTS)/setup.sh guest
	@$(SCRIPTS)/run-demo.sh

clean:
	-$(MAKE) $(KBUILD_ARGS) clean 2>/dev/null
	rm -f drivers/virtio/bindings_generated.rs drivers/block/mq/bindings_generated.rs \
		drivers/scsi/midlayer/bindings_generated.rs
