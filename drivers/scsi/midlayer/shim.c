// SPDX-License-Identifier: GPL-2.0
/*
 * rvirtio SCSI glue: the host template, whose callbacks are the Rust glue's
 * exports, and one-line wrappers for the midlayer's inline helpers.
 */
#include <linux/blk-mq.h>
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <scsi/scsi.h>
#include <scsi/scsi_cmnd.h>
#include <scsi/scsi_device.h>
#include <scsi/scsi_devinfo.h>
#include <scsi/scsi_host.h>

#include "shim.h"

/*
 * The Rust glue's callbacks and command size: the template is bound to the
 * first ones rvirtio_scsi_host_alloc() gets, and refuses others, since
 * every host of the module shares the one template.
 */
static const struct rvirtio_scsi_ops *rvirtio_scsi_ops;
static DEFINE_MUTEX(rvirtio_scsi_template_lock);

static enum scsi_timeout_action rvirtio_scsi_eh_timed_out(struct scsi_cmnd *sc)
{
	return READ_ONCE(rvirtio_scsi_ops)->eh_timed_out(sc);
}

/* slave_alloc, renamed sdev_init in 7.3. */
static int rvirtio_scsi_sdev_init(struct scsi_device *sdev)
{
	/* As virtio_scsi: ask for the VPD pages even on SPC-2 devices. */
	sdev->sdev_bflags = BLIST_TRY_VPD_PAGES;
	return 0;
}

static int rvirtio_scsi_change_queue_depth(struct scsi_device *sdev, int qdepth)
{
	struct Scsi_Host *shost = sdev->host;

	return scsi_change_queue_depth(sdev, min(shost->cmd_per_lun, qdepth));
}

/*
 * cmd_size and the Rust callbacks are set by rvirtio_scsi_host_alloc()
 * before the first host; they are the same for every host of the module.
 */
static struct scsi_host_template rvirtio_scsi_template = {
	.module = THIS_MODULE,
	.name = "Virtio SCSI HBA",
	.proc_name = "rvirtio_scsi",
	.this_id = -1,
	.change_queue_depth = rvirtio_scsi_change_queue_depth,
#if RVIRTIO_LINUX_7_3
	.sdev_init = rvirtio_scsi_sdev_init,
#else
	.slave_alloc = rvirtio_scsi_sdev_init,
#endif
	.dma_boundary = UINT_MAX,
	.track_queue_depth = 1,
};

/* A host of the template, bound to `ops`; an error pointer for other ops. */
struct Scsi_Host *rvirtio_scsi_host_alloc(unsigned int privsize, unsigned int cmd_size,
					  const struct rvirtio_scsi_ops *ops)
{
	struct scsi_host_template *t = &rvirtio_scsi_template;
	struct Scsi_Host *shost;

	mutex_lock(&rvirtio_scsi_template_lock);
	if (!rvirtio_scsi_ops) {
		t->cmd_size = cmd_size;
		/*
		 * With init_cmd_priv, scsi_queue_rq() no longer clears the
		 * private area before each command (virtio_scsi has none, and
		 * pays that memset for every command).
		 */
		t->init_cmd_priv = ops->init_cmd_priv;
		t->queuecommand = ops->queuecommand;
		t->commit_rqs = ops->commit_rqs;
		t->mq_poll = ops->mq_poll;
		t->map_queues = ops->map_queues;
		t->eh_timed_out = ops->eh_timed_out ? rvirtio_scsi_eh_timed_out : NULL;
		t->eh_abort_handler = ops->eh_abort_handler;
		t->eh_device_reset_handler = ops->eh_device_reset_handler;
		t->eh_host_reset_handler = ops->eh_host_reset_handler;
		/* Published last: the wrapper above reads it. */
		WRITE_ONCE(rvirtio_scsi_ops, ops);
	} else if (rvirtio_scsi_ops != ops || t->cmd_size != cmd_size) {
		mutex_unlock(&rvirtio_scsi_template_lock);
		return ERR_PTR(-EINVAL);
	}
	shost = scsi_host_alloc(t, privsize);
	mutex_unlock(&rvirtio_scsi_template_lock);
	return shost;
}

void rvirtio_scsi_host_configure(struct Scsi_Host *shost,
				 const struct rvirtio_scsi_host_config *cfg)
{
	shost->can_queue = cfg->can_queue;
	shost->cmd_per_lun = cfg->cmd_per_lun;
	shost->sg_tablesize = cfg->sg_tablesize;
	shost->max_sectors = cfg->max_sectors;
	shost->max_id = cfg->max_id;
	shost->max_lun = cfg->max_lun;
	shost->max_channel = 0;
	shost->max_cmd_len = cfg->max_cmd_len;
	shost->nr_hw_queues = cfg->nr_hw_queues;
	shost->nr_maps = cfg->nr_poll_queues ? HCTX_TYPE_POLL + 1 : 1;
}

int rvirtio_scsi_add_host(struct Scsi_Host *shost, struct device *parent)
{
	return scsi_add_host(shost, parent);
}

void *rvirtio_scsi_host_priv(struct Scsi_Host *shost)
{
	return shost_priv(shost);
}

unsigned int rvirtio_scsi_host_no(struct Scsi_Host *shost)
{
	return shost->host_no;
}

unsigned int rvirtio_scsi_host_nr_maps(struct Scsi_Host *shost)
{
	return shost->tag_set.nr_maps;
}

struct blk_mq_queue_map *rvirtio_scsi_host_map(struct Scsi_Host *shost, unsigned int type)
{
	return &shost->tag_set.map[type];
}

unsigned int rvirtio_scsi_host_nr_hw_queues(struct Scsi_Host *shost)
{
	return shost->tag_set.nr_hw_queues;
}

struct Scsi_Host *rvirtio_scsi_cmd_host(struct scsi_cmnd *sc)
{
	return sc->device->host;
}

unsigned int rvirtio_scsi_max_id(struct Scsi_Host *shost)
{
	return shost->max_id;
}

void rvirtio_scsi_scan_target(struct Scsi_Host *shost, unsigned int target)
{
	scsi_scan_target(&shost->shost_gendev, 0, target, SCAN_WILD_CARD, SCSI_SCAN_INITIAL);
}

int rvirtio_scsi_add_lun(struct Scsi_Host *shost, unsigned int target, u64 lun)
{
	return scsi_add_device(shost, 0, target, lun);
}

bool rvirtio_scsi_remove_lun(struct Scsi_Host *shost, unsigned int target, u64 lun)
{
	struct scsi_device *sdev = scsi_device_lookup(shost, 0, target, lun);

	if (!sdev)
		return false;
	scsi_remove_device(sdev);
	scsi_device_put(sdev);
	return true;
}

bool rvirtio_scsi_rescan_lun(struct Scsi_Host *shost, unsigned int target, u64 lun)
{
	struct scsi_device *sdev = scsi_device_lookup(shost, 0, target, lun);

	if (!sdev)
		return false;
	scsi_rescan_device(sdev);
	scsi_device_put(sdev);
	return true;
}

enum { RVIRTIO_INQUIRY_LEN = 36 };

/*
 * Whether the device says nothing is attached at sdev's address: its
 * answer to an INQUIRY has a peripheral qualifier other than 0, or the
 * command failed with DID_BAD_TARGET (what virtio-scsi answers once a
 * target has no LUN left, but also for some failures of a passthrough
 * backend: that answer must come twice, a second apart). Any other failure
 * says nothing.
 */
static bool rvirtio_scsi_lun_gone(struct scsi_device *sdev, u8 *answer)
{
	const u8 cdb[6] = { INQUIRY, 0, 0, 0, RVIRTIO_INQUIRY_LEN, 0 };
	int tries, res;

	for (tries = 0; tries < 2; tries++) {
		if (tries)
			msleep(1000);
		memset(answer, 0, RVIRTIO_INQUIRY_LEN);
		res = scsi_execute_cmd(sdev, cdb, REQ_OP_DRV_IN, answer, RVIRTIO_INQUIRY_LEN,
				       10 * HZ, 3, NULL);
		if (res == 0)
			return (answer[0] >> 5) != 0;
		if (res < 0 || host_byte(res) != DID_BAD_TARGET)
			return false;
	}
	return true;
}

/*
 * Asks every LUN of targets first to end - 1 whether it is still there (an
 * INQUIRY, as a scan sends) and removes those the device says are not
 * (rvirtio_scsi_lun_gone): a LUN is removed only on the device's word.
 * Returns how many were removed.
 */
unsigned int rvirtio_scsi_remove_gone_luns(struct Scsi_Host *shost, unsigned int first,
					    unsigned int end)
{
	struct scsi_device *sdev;
	unsigned int removed = 0;
	u8 *answer;

	answer = kmalloc(RVIRTIO_INQUIRY_LEN, GFP_KERNEL);
	if (!answer)
		return 0;
	shost_for_each_device(sdev, shost) {
		if (sdev->id < first || sdev->id >= end)
			continue;
		if (rvirtio_scsi_lun_gone(sdev, answer)) {
			scsi_remove_device(sdev);
			removed++;
		}
	}
	kfree(answer);
	return removed;
}

/*
 * Pins the module that holds this glue (and the host template) while event
 * handling scans: once the module is going, scsi_device_get() fails for
 * every LUN, so a scan would take the LUNs it has for new ones and add them
 * again. False if the module is going.
 */
bool rvirtio_scsi_module_get(void)
{
	return try_module_get(THIS_MODULE);
}

void rvirtio_scsi_module_put(void)
{
	module_put(THIS_MODULE);
}

/* The first byte of a command's private area is the glue's "held" flag. */
struct rvirtio_scsi_lun_held {
	struct scsi_device *sdev;
	bool held;
};

static bool rvirtio_scsi_lun_held_one(struct scsi_cmnd *sc, void *data)
{
	struct rvirtio_scsi_lun_held *h = data;

	if (sc->device == h->sdev && READ_ONCE(*(u8 *)scsi_cmd_priv(sc))) {
		h->held = true;
		return false;
	}
	return true;
}

bool rvirtio_scsi_lun_held(struct scsi_cmnd *sc)
{
	struct rvirtio_scsi_lun_held h = { .sdev = sc->device };

	scsi_host_busy_iter(sc->device->host, rvirtio_scsi_lun_held_one, &h);
	return h.held;
}

void rvirtio_scsi_offline_all(struct Scsi_Host *shost)
{
	struct scsi_device *sdev;

	shost_for_each_device(sdev, shost) {
		mutex_lock(&sdev->state_mutex);
		if (scsi_device_set_state(sdev, SDEV_OFFLINE) == 0)
			sdev_printk(KERN_ERR, sdev, "the virtio-scsi device is dead: offline\n");
		mutex_unlock(&sdev->state_mutex);
	}
}
