/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What bindgen reads for the SCSI glue: the shim, the midlayer functions it
 * calls directly, and constants that are casts or enums.
 */
#include <linux/blk-mq.h>
#include <linux/dma-direction.h>
#include <scsi/scsi.h>
#include <scsi/scsi_cmnd.h>
#include <scsi/scsi_device.h>
#include <scsi/scsi_host.h>

#include "shim.h"

const unsigned long RVIRTIO_SCSI_CMND_SIZE = sizeof(struct scsi_cmnd);
const unsigned long RVIRTIO_SCSI_CDB_BUF = sizeof_field(struct scsi_cmnd, cmnd);
const unsigned long RVIRTIO_SCSI_HOSTDATA_OFFSET = offsetof(struct Scsi_Host, hostdata);
/*
 * Where the fields the command path reads and writes lie, and their sizes:
 * the Rust glue reads them in place (cmd.rs checks each size against the
 * type it reads at build time), as the C driver's inline helpers do.
 */
#define RVIRTIO_SCSI_FIELD(name, type, field)					\
	const unsigned long RVIRTIO_SCSI_OFF_##name = offsetof(type, field);	\
	const unsigned long RVIRTIO_SCSI_SZ_##name = sizeof_field(type, field)

RVIRTIO_SCSI_FIELD(DEVICE, struct scsi_cmnd, device);
RVIRTIO_SCSI_FIELD(SUBMITTER, struct scsi_cmnd, submitter);
RVIRTIO_SCSI_FIELD(CMD_LEN, struct scsi_cmnd, cmd_len);
RVIRTIO_SCSI_FIELD(DIRECTION, struct scsi_cmnd, sc_data_direction);
RVIRTIO_SCSI_FIELD(CMND, struct scsi_cmnd, cmnd);
RVIRTIO_SCSI_FIELD(SGL, struct scsi_cmnd, sdb.table.sgl);
RVIRTIO_SCSI_FIELD(NENTS, struct scsi_cmnd, sdb.table.nents);
RVIRTIO_SCSI_FIELD(BUFFLEN, struct scsi_cmnd, sdb.length);
RVIRTIO_SCSI_FIELD(RESID, struct scsi_cmnd, resid_len);
RVIRTIO_SCSI_FIELD(FLAGS, struct scsi_cmnd, flags);
RVIRTIO_SCSI_FIELD(RESULT, struct scsi_cmnd, result);
RVIRTIO_SCSI_FIELD(SENSE_BUFFER, struct scsi_cmnd, sense_buffer);
RVIRTIO_SCSI_FIELD(SDEV_ID, struct scsi_device, id);
RVIRTIO_SCSI_FIELD(SDEV_LUN, struct scsi_device, lun);
RVIRTIO_SCSI_FIELD(RQ_HCTX, struct request, mq_hctx);
RVIRTIO_SCSI_FIELD(HCTX_QUEUE_NUM, struct blk_mq_hw_ctx, queue_num);
/* A command's request lies right before it (scsi_cmd_to_rq). */
const unsigned long RVIRTIO_SCSI_REQUEST_SIZE = sizeof(struct request);
const int RVIRTIO_SCSI_SCMD_LAST = SCMD_LAST;
const unsigned long RVIRTIO_SCSI_SENSE_BUFFERSIZE = SCSI_SENSE_BUFFERSIZE;
const unsigned int RVIRTIO_SCSI_SUBMITTED_BY_EH = SUBMITTED_BY_SCSI_ERROR_HANDLER;
const int RVIRTIO_SCSI_EH_RESET_TIMER = SCSI_EH_RESET_TIMER;
const int RVIRTIO_SCSI_EH_DONE = SCSI_EH_DONE;
const int RVIRTIO_SCSI_EH_NOT_HANDLED = SCSI_EH_NOT_HANDLED;
const int RVIRTIO_SCSI_SUCCESS = SUCCESS;
const int RVIRTIO_SCSI_FAILED = FAILED;
/* Integers, not the enum: bindgen makes Rust constants only of those. */
const RVIRTIO_SCSI_QC_INT RVIRTIO_SCSI_MLQUEUE_HOST_BUSY = SCSI_MLQUEUE_HOST_BUSY;
const RVIRTIO_SCSI_QC_INT RVIRTIO_SCSI_QC_OK = 0;
const int RVIRTIO_DMA_TO_DEVICE = DMA_TO_DEVICE;
const int RVIRTIO_DMA_FROM_DEVICE = DMA_FROM_DEVICE;
const int RVIRTIO_DMA_NONE = DMA_NONE;
const unsigned int RVIRTIO_HCTX_TYPE_DEFAULT = HCTX_TYPE_DEFAULT;
const unsigned int RVIRTIO_HCTX_TYPE_READ = HCTX_TYPE_READ;
const unsigned int RVIRTIO_HCTX_TYPE_POLL = HCTX_TYPE_POLL;
