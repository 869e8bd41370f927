/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rvirtio lib: the out-of-line wrappers of shim.c, which the Rust lib
 * modules call (completion.rs, cpumask.rs, debugfs.rs, irqlock.rs, work.rs).
 */
#ifndef RVIRTIO_LIB_SHIM_H
#define RVIRTIO_LIB_SHIM_H

#include <linux/types.h>

struct completion;
struct cpumask;
struct dentry;
struct raw_spinlock;
struct workqueue_struct;

struct workqueue_struct *rvirtio_alloc_workqueue(const char *name, unsigned int flags);

void rvirtio_init_completion(struct completion *c);
unsigned int rvirtio_memalloc_noio_save(void);
void rvirtio_memalloc_noio_restore(unsigned int flags);
unsigned int rvirtio_cpumask_next(int n, const struct cpumask *mask);
unsigned int rvirtio_nr_cpu_ids(void);
struct dentry *rvirtio_debugfs_dir(const char *name, struct dentry *parent);
void rvirtio_debugfs_u64(const char *name, umode_t mode, struct dentry *parent, u64 *value);
void rvirtio_debugfs_u32(const char *name, umode_t mode, struct dentry *parent, u32 *value);
void rvirtio_debugfs_remove(struct dentry *d);

#endif
