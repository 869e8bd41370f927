/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rvirtio SCSI glue: the host template and out-of-line wrappers for the
 * SCSI midlayer's inline helpers and struct fields. The types stay opaque to
 * Rust: everything it does to a host goes through here, and to a command
 * too, but for the few fields of the command path, which cmd.rs reads and
 * writes at the offsets helper.h gives (checked at build time).
 */
#ifndef RVIRTIO_SCSI_SHIM_H
#define RVIRTIO_SCSI_SHIM_H

#include <linux/types.h>

#include "../../lib/compat.h"

/*
 * What queuecommand returns: 0 or a SCSI_MLQUEUE_* code, an int on 6.12 and
 * enum scsi_qc_status on 7.3, so that the Rust callback is of the very type
 * the template's member is.
 */
#if RVIRTIO_LINUX_7_3
#include <scsi/scsi.h>
typedef enum scsi_qc_status rvirtio_scsi_qc_t;
/* The enum's type, which bindgen gives rvirtio_scsi_qc_t too. */
#define RVIRTIO_SCSI_QC_INT unsigned int
#else
typedef int rvirtio_scsi_qc_t;
#define RVIRTIO_SCSI_QC_INT int
#endif

struct Scsi_Host;
struct scsi_cmnd;
struct scsi_device;
struct device;
struct blk_mq_queue_map;

/*
 * The Rust glue's callbacks for the host template (midlayer/host.rs,
 * OpsTable): a NULL one is not installed in the template.
 */
struct rvirtio_scsi_ops {
	int (*init_cmd_priv)(struct Scsi_Host *shost, struct scsi_cmnd *sc);
	rvirtio_scsi_qc_t (*queuecommand)(struct Scsi_Host *shost, struct scsi_cmnd *sc);
	void (*commit_rqs)(struct Scsi_Host *shost, u16 hwq);
	int (*mq_poll)(struct Scsi_Host *shost, unsigned int hwq);
	void (*map_queues)(struct Scsi_Host *shost);
	int (*eh_timed_out)(struct scsi_cmnd *sc);
	int (*eh_abort_handler)(struct scsi_cmnd *sc);
	int (*eh_device_reset_handler)(struct scsi_cmnd *sc);
	int (*eh_host_reset_handler)(struct scsi_cmnd *sc);
};

/* What the driver sets on a host before adding it. */
struct rvirtio_scsi_host_config {
	unsigned int can_queue;
	unsigned int cmd_per_lun;
	unsigned int sg_tablesize;
	unsigned int max_sectors;
	unsigned int max_id;
	u64 max_lun;
	unsigned int max_cmd_len;
	unsigned int nr_hw_queues;
	unsigned int nr_poll_queues;
};

struct Scsi_Host *rvirtio_scsi_host_alloc(unsigned int privsize, unsigned int cmd_size,
					  const struct rvirtio_scsi_ops *ops);
void rvirtio_scsi_host_configure(struct Scsi_Host *shost,
				 const struct rvirtio_scsi_host_config *cfg);
int rvirtio_scsi_add_host(struct Scsi_Host *shost, struct device *parent);
void *rvirtio_scsi_host_priv(struct Scsi_Host *shost);
unsigned int rvirtio_scsi_host_no(struct Scsi_Host *shost);
unsigned int rvirtio_scsi_host_nr_maps(struct Scsi_Host *shost);
struct blk_mq_queue_map *rvirtio_scsi_host_map(struct Scsi_Host *shost, unsigned int type);
unsigned int rvirtio_scsi_host_nr_hw_queues(struct Scsi_Host *shost);

struct Scsi_Host *rvirtio_scsi_cmd_host(struct scsi_cmnd *sc);
unsigned int rvirtio_scsi_max_id(struct Scsi_Host *shost);
void rvirtio_scsi_scan_target(struct Scsi_Host *shost, unsigned int target);
int rvirtio_scsi_add_lun(struct Scsi_Host *shost, unsigned int target, u64 lun);
bool rvirtio_scsi_remove_lun(struct Scsi_Host *shost, unsigned int target, u64 lun);
bool rvirtio_scsi_rescan_lun(struct Scsi_Host *shost, unsigned int target, u64 lun);
unsigned int rvirtio_scsi_remove_gone_luns(struct Scsi_Host *shost, unsigned int first,
					    unsigned int end);
bool rvirtio_scsi_module_get(void);
void rvirtio_scsi_module_put(void);
bool rvirtio_scsi_lun_held(struct scsi_cmnd *sc);
void rvirtio_scsi_offline_all(struct Scsi_Host *shost);

#endif
