/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What bindgen reads for the SCSI glue: the shim, the midlayer functions it
 * calls directly, and constants that are casts or enums.
 */
#include <linux/dma-direction.h>
#include <scsi/scsi.h>
#include <scsi/scsi_cmnd.h>
#include <scsi/scsi_device.h>
#include <scsi/scsi_host.h>

#include "shim.h"

const unsigned long RVIRTIO_SCSI_CMND_SIZE = sizeof(struct scsi_cmnd);
const unsigned long RVIRTIO_SCSI_CDB_BUF = sizeof_field(struct scsi_cmnd, cmnd);
const unsigned long RVIRTIO_SCSI_HOSTDATA_OFFSET = offsetof(struct Scsi_Host, hostdata);
const int RVIRTIO_SCSI_EH_RESET_TIMER = SCSI_EH_RESET_TIMER;
const int RVIRTIO_SCSI_EH_DONE = SCSI_EH_DONE;
const int RVIRTIO_SCSI_EH_NOT_HANDLED = SCSI_EH_NOT_HANDLED;
const int RVIRTIO_SCSI_SUCCESS = SUCCESS;
const int RVIRTIO_SCSI_FAILED = FAILED;
const int RVIRTIO_SCSI_MLQUEUE_HOST_BUSY = SCSI_MLQUEUE_HOST_BUSY;
const int RVIRTIO_DMA_TO_DEVICE = DMA_TO_DEVICE;
const int RVIRTIO_DMA_FROM_DEVICE = DMA_FROM_DEVICE;
const int RVIRTIO_DMA_NONE = DMA_NONE;
const unsigned int RVIRTIO_HCTX_TYPE_DEFAULT = HCTX_TYPE_DEFAULT;
const unsigned int RVIRTIO_HCTX_TYPE_READ = HCTX_TYPE_READ;
const unsigned int RVIRTIO_HCTX_TYPE_POLL = HCTX_TYPE_POLL;
