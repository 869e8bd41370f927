/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rvirtio's compat layer, C side: the one test that tells the two supported
 * kernels apart. Rust code uses the `rvirtio_7_3` cfg that Kbuild sets for
 * the same trees (Documentation/design.rst, "Two kernels").
 */
#ifndef RVIRTIO_COMPAT_H
#define RVIRTIO_COMPAT_H

#include <linux/version.h>

/* Linux 7.3 (else 6.12: Kbuild refuses every other kernel). */
#define RVIRTIO_LINUX_7_3 (LINUX_VERSION_CODE >= KERNEL_VERSION(7, 3, 0))

#endif
