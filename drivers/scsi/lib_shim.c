// SPDX-License-Identifier: GPL-2.0
/* This module's own copy of the rvirtio lib shim (its KBUILD_MODNAME). */
#include "../lib/shim.c"
