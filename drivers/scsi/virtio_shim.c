// SPDX-License-Identifier: GPL-2.0
/* This module's own copy of the virtio shim (THIS_MODULE is rvirtio_scsi). */
#include "../virtio/shim.c"
