/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What bindgen reads for the Rust virtio layer: the parts of the C virtio
 * core and of the virtio device headers that the 6.12 `kernel::bindings`
 * lacks. Types it already has are imported from there, not regenerated.
 */
#include <linux/mod_devicetable.h>
#include <linux/pci.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <uapi/linux/virtio_blk.h>
#include <uapi/linux/virtio_ids.h>
#include <uapi/linux/virtio_ring.h>
#include <uapi/linux/virtio_scsi.h>

#include "shim.h"
