// SPDX-License-Identifier: GPL-2.0
/*
 * rvirtio_blk's own copies of the C shims of the layers it is built from, so
 * that THIS_MODULE and KBUILD_MODNAME in them name this module.
 */
#include "../../lib/shim.c"
#include "../../virtio/shim.c"
#include "../mq/shim.c"
