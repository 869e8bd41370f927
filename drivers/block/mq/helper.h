/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What bindgen reads for the blk-mq glue: the shim's declarations, and the
 * block-layer constants that are casts bindgen cannot evaluate on its own.
 */
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/hdreg.h>

#include "../../lib/compat.h"
#include "shim.h"

const blk_status_t RVIRTIO_BLK_STS_OK = BLK_STS_OK;
const blk_status_t RVIRTIO_BLK_STS_NOTSUPP = BLK_STS_NOTSUPP;
const blk_status_t RVIRTIO_BLK_STS_IOERR = BLK_STS_IOERR;
const blk_status_t RVIRTIO_BLK_STS_RESOURCE = BLK_STS_RESOURCE;
const blk_status_t RVIRTIO_BLK_STS_DEV_RESOURCE = BLK_STS_DEV_RESOURCE;
const blk_status_t RVIRTIO_BLK_STS_TIMEOUT = BLK_STS_TIMEOUT;
const blk_features_t RVIRTIO_BLK_FEAT_WRITE_CACHE = BLK_FEAT_WRITE_CACHE;
const blk_features_t RVIRTIO_BLK_FEAT_FUA = BLK_FEAT_FUA;
const blk_features_t RVIRTIO_BLK_FEAT_ROTATIONAL = BLK_FEAT_ROTATIONAL;
const blk_features_t RVIRTIO_BLK_FEAT_POLL = BLK_FEAT_POLL;
const blk_opf_t RVIRTIO_REQ_NOUNMAP = REQ_NOUNMAP;
const blk_opf_t RVIRTIO_REQ_OP_MASK = REQ_OP_MASK;
const req_flags_t RVIRTIO_RQF_SPECIAL_PAYLOAD = RQF_SPECIAL_PAYLOAD;
/* Gone in 7.3, where merging is the default. */
#if RVIRTIO_LINUX_7_3
const unsigned int RVIRTIO_BLK_MQ_F_SHOULD_MERGE = 0;
#else
const unsigned int RVIRTIO_BLK_MQ_F_SHOULD_MERGE = BLK_MQ_F_SHOULD_MERGE;
#endif
const int RVIRTIO_NUMA_NO_NODE = NUMA_NO_NODE;
const unsigned int RVIRTIO_MINORBITS = MINORBITS;
const unsigned int RVIRTIO_DISK_NAME_LEN = DISK_NAME_LEN;
