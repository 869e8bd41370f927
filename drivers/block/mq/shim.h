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
struct device_attribute;
struct attribute_group;

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
/* Starts freezing the queue, NOIO until rvirtio_queue_unfreeze(memflags). */
unsigned int rvirtio_queue_freeze_start(struct request_queue *q);
void rvirtio_queue_unfreeze(struct request_queue *q, unsigned int memflags);
void rvirtio_dev_attr_set_ops(struct device_attribute *attr,
			      ssize_t (*show)(struct device *, struct device_attribute *, char *),
			      ssize_t (*store)(struct device *, struct device_attribute *,
					       const char *, size_t));
void rvirtio_attr_group_set_attrs(struct attribute_group *group, struct attribute **attrs);
int rvirtio_rq_map_kern(struct request *rq, void *buf, unsigned int len, gfp_t gfp);

#endif
