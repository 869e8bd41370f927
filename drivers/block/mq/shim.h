/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rvirtio blk-mq glue: out-of-line wrappers for the static-inline helpers and
 * macros of the block layer that Rust cannot call directly. Each function is
 * one call into the C API it names.
 */
#ifndef RVIRTIO_MQ_SHIM_H
#define RVIRTIO_MQ_SHIM_H

#include <linux/types.h>

struct request;
struct request_queue;
struct scatterlist;
struct sg_table;
struct gendisk;
struct blk_mq_tag_set;
struct queue_limits;
struct device;
struct attribute;
struct hd_geometry;

bool rvirtio_rq_should_fake_timeout(struct request *rq);
struct io_comp_batch;
/* Adds a request that succeeded to a poll's batch; whether the batch took it. */
bool rvirtio_rq_add_to_batch(struct request *rq, struct io_comp_batch *iob,
			     void (*complete)(struct io_comp_batch *));
struct request *rvirtio_batch_first(struct io_comp_batch *iob);
struct request *rvirtio_batch_next(struct request *rq);
void rvirtio_rq_unmap_sg(struct sg_table *table, unsigned int nents_first_chunk);
void *rvirtio_rq_queuedata(const struct request *rq);

struct gendisk *rvirtio_alloc_disk(struct blk_mq_tag_set *set, struct queue_limits *lim,
				   void *queuedata);
int rvirtio_disk_index_alloc(unsigned int max);
void rvirtio_disk_index_free(int index);
struct gendisk *rvirtio_dev_to_disk(struct device *dev);
unsigned int rvirtio_disk_logical_block_size(struct gendisk *disk);
int rvirtio_register_blkdev(const char *name);
sector_t rvirtio_disk_capacity(struct gendisk *disk);
int rvirtio_disk_set_write_cache(struct gendisk *disk, bool on);
void rvirtio_set_geometry(struct hd_geometry *geo, u16 cylinders, u8 heads, u8 sectors);
void rvirtio_sysfs_attr_init(struct attribute *attr);

#endif
