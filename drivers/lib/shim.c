// SPDX-License-Identifier: GPL-2.0
/*
 * rvirtio lib: out-of-line wrappers for init_completion, memalloc_noio, for debugfs (whose
 * functions are inline stubs without CONFIG_DEBUG_FS), and the range check
 * behind RVIRTIO_PARAM_UINT (params.h). Each module links its own copy.
 */
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/sched/mm.h>
#include <linux/printk.h>
#include <linux/workqueue.h>

#include "params.h"
#include "shim.h"

/* alloc_workqueue is a macro in 7.3 (over alloc_workqueue_noprof). */
struct workqueue_struct *rvirtio_alloc_workqueue(const char *name, unsigned int flags)
{
	return alloc_workqueue("%s", flags, 0, name);
}

void rvirtio_init_completion(struct completion *c)
{
	init_completion(c);
}

unsigned int rvirtio_memalloc_noio_save(void)
{
	return memalloc_noio_save();
}

void rvirtio_memalloc_noio_restore(unsigned int flags)
{
	memalloc_noio_restore(flags);
}

unsigned int rvirtio_cpumask_next(int n, const struct cpumask *mask)
{
	return cpumask_next(n, mask);
}

unsigned int rvirtio_nr_cpu_ids(void)
{
	return nr_cpu_ids;
}

struct dentry *rvirtio_debugfs_dir(const char *name, struct dentry *parent)
{
	struct dentry *d = debugfs_create_dir(name, parent);

	return IS_ERR(d) ? NULL : d;
}

void rvirtio_debugfs_u64(const char *name, umode_t mode, struct dentry *parent, u64 *value)
{
	if (parent)
		debugfs_create_u64(name, mode, parent, value);
}

void rvirtio_debugfs_u32(const char *name, umode_t mode, struct dentry *parent, u32 *value)
{
	if (parent)
		debugfs_create_u32(name, mode, parent, value);
}

void rvirtio_debugfs_remove(struct dentry *d)
{
	debugfs_remove(d);
}

int rvirtio_param_set_range(const char *val, const struct kernel_param *kp, unsigned int min,
			    unsigned int max, const char *unit)
{
	unsigned int v;

	if (kstrtouint(val, 0, &v) || v < min || v > max) {
		pr_err("%s: invalid %s=%s: must be a number from %u to %u%s%s\n", KBUILD_MODNAME,
		       kp->name, val, min, max, unit[0] ? " " : "", unit);
		return -EINVAL;
	}
	*(unsigned int *)kp->arg = v;
	return 0;
}
