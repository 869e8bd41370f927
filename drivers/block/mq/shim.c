// SPDX-License-Identifier: GPL-2.0
/*
 * rvirtio blk-mq glue: out-of-line wrappers for block-layer inline helpers.
 */
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/hdreg.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/scatterlist.h>
#include <linux/sysfs.h>

#include "../../lib/compat.h"
#include "shim.h"

/* Disk indexes, which give disk names and minor numbers (vda, vdb, ...). */
static DEFINE_IDA(rvirtio_disk_ida);

bool rvirtio_rq_should_fake_timeout(struct request *rq)
{
	return blk_should_fake_timeout(rq->q);
}

bool rvirtio_rq_add_to_batch(struct request *rq, struct io_comp_batch *iob,
			     void (*complete)(struct io_comp_batch *))
{
	return blk_mq_add_to_batch(rq, iob, false, complete);
}

struct request *rvirtio_batch_first(struct io_comp_batch *iob)
{
	return rq_list_peek(&iob->req_list);
}

struct request *rvirtio_batch_next(struct request *rq)
{
	return rq->rq_next;
}

void rvirtio_rq_unmap_sg(struct sg_table *table, unsigned int nents_first_chunk)
{
	if (table->orig_nents)
		sg_free_table_chained(table, nents_first_chunk);
	table->nents = 0;
	table->orig_nents = 0;
}

void *rvirtio_rq_queuedata(const struct request *rq)
{
	return rq->q->queuedata;
}

struct gendisk *rvirtio_alloc_disk(struct blk_mq_tag_set *set, struct queue_limits *lim,
				   void *queuedata)
{
	return blk_mq_alloc_disk(set, lim, queuedata);
}

int rvirtio_disk_index_alloc(unsigned int max)
{
	return ida_alloc_range(&rvirtio_disk_ida, 0, max, GFP_KERNEL);
}

void rvirtio_disk_index_free(int index)
{
	ida_free(&rvirtio_disk_ida, index);
}

struct gendisk *rvirtio_dev_to_disk(struct device *dev)
{
	return dev_to_disk(dev);
}

unsigned int rvirtio_disk_logical_block_size(struct gendisk *disk)
{
	return queue_logical_block_size(disk->queue);
}

/* Heap-allocated attributes need a lockdep key, which this gives them. */
void rvirtio_sysfs_attr_init(struct attribute *attr)
{
	sysfs_attr_init(attr);
}

int rvirtio_register_blkdev(const char *name)
{
	return register_blkdev(0, name);
}

sector_t rvirtio_disk_capacity(struct gendisk *disk)
{
	return get_capacity(disk);
}

int rvirtio_disk_set_write_cache(struct gendisk *disk, bool on)
{
	struct queue_limits lim = queue_limits_start_update(disk->queue);

	if (on)
		lim.features |= BLK_FEAT_WRITE_CACHE;
	else
		lim.features &= ~BLK_FEAT_WRITE_CACHE;
	return queue_limits_commit_update_frozen(disk->queue, &lim);
}

void rvirtio_set_geometry(struct hd_geometry *geo, u16 cylinders, u8 heads, u8 sectors)
{
	geo->cylinders = cylinders;
	geo->heads = heads;
	geo->sectors = sectors;
}

/*
 * A queue freeze: 7.3 counts it as a lock for lockdep, and nothing may
 * allocate with I/O while it is held (the I/O would wait for the freeze), so
 * the task freezing runs NOIO until it unfreezes, as blk_mq_freeze_queue()
 * does. 6.12 gets the same NOIO section.
 */
unsigned int rvirtio_queue_freeze_start(struct request_queue *q)
{
	unsigned int memflags = memalloc_noio_save();

	blk_freeze_queue_start(q);
	return memflags;
}

void rvirtio_queue_unfreeze(struct request_queue *q, unsigned int memflags)
{
#if RVIRTIO_LINUX_7_3
	blk_mq_unfreeze_queue_nomemrestore(q);
#else
	blk_mq_unfreeze_queue(q);
#endif
	memalloc_noio_restore(memflags);
}

/* 7.3 puts show/store and a group's attrs in unions; set them in C. */
void rvirtio_dev_attr_set_ops(struct device_attribute *attr,
			      ssize_t (*show)(struct device *, struct device_attribute *, char *),
			      ssize_t (*store)(struct device *, struct device_attribute *,
					       const char *, size_t))
{
	attr->show = show;
	attr->store = store;
}

void rvirtio_attr_group_set_attrs(struct attribute_group *group, struct attribute **attrs)
{
	group->attrs = attrs;
}

int rvirtio_rq_map_kern(struct request *rq, void *buf, unsigned int len, gfp_t gfp)
{
#if RVIRTIO_LINUX_7_3
	return blk_rq_map_kern(rq, buf, len, gfp);
#else
	return blk_rq_map_kern(rq->q, rq, buf, len, gfp);
#endif
}
