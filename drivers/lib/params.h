/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rvirtio lib: module parameters with a range. A bad value fails insmod (or
 * the sysfs write) with -EINVAL and a dmesg line saying what is allowed.
 * The 6.12 Rust `module!` macro has no parameters, so they live in C and
 * Rust reads them through rvirtio_param_NAME().
 */
#ifndef RVIRTIO_PARAMS_H
#define RVIRTIO_PARAMS_H

#include <linux/moduleparam.h>

int rvirtio_param_set_range(const char *val, const struct kernel_param *kp, unsigned int min,
			    unsigned int max, const char *unit);

#define RVIRTIO_PARAM_UINT(name, def, min, max, unit, perm, desc)                            \
	static unsigned int rvirtio_param_val_##name = def;                                  \
	static int rvirtio_param_set_##name(const char *val, const struct kernel_param *kp) \
	{                                                                                   \
		return rvirtio_param_set_range(val, kp, min, max, unit);                    \
	}                                                                                   \
	static const struct kernel_param_ops rvirtio_param_ops_##name = {                   \
		.set = rvirtio_param_set_##name,                                            \
		.get = param_get_uint,                                                      \
	};                                                                                  \
	module_param_cb(name, &rvirtio_param_ops_##name, &rvirtio_param_val_##name, perm); \
	MODULE_PARM_DESC(name, desc " (" #min "-" #max " " unit ", default " #def ")");    \
	unsigned int rvirtio_param_##name(void);                                           \
	unsigned int rvirtio_param_##name(void)                                            \
	{                                                                                   \
		return READ_ONCE(rvirtio_param_val_##name);                                 \
	}

#endif
