/* SPDX-License-Identifier: MIT */
/*
 * module_uapi.h - the kernel module's ABI (<linux/unimem.h>) next to the
 * public unimem.h in one translation unit.
 *
 * The two headers spell a few names alike with other meanings: the uapi's
 * UNIMEM_LOC_SYSTEM/UNIMEM_LOC_NONE (device-index sentinels) and its range
 * attribute types UNIMEM_ATTR_{PREFERRED_LOC,ACCESSED_BY,READ_MOSTLY,
 * GRANULARITY} clash with unimem.h's locations and enum unimem_range_attr.
 * Include this instead of <linux/unimem.h>: unimem.h keeps its names and the
 * uapi's are available as UNIMEM_K*:
 *   UNIMEM_KLOC_SYSTEM, UNIMEM_KLOC_NONE,
 *   UNIMEM_KATTR_PREFERRED_LOC, UNIMEM_KATTR_ACCESSED_BY,
 *   UNIMEM_KATTR_READ_MOSTLY, UNIMEM_KATTR_GRANULARITY.
 */
#ifndef UNIMEM_MODULE_UAPI_H
#define UNIMEM_MODULE_UAPI_H

#include "unimem.h"

#pragma push_macro("UNIMEM_LOC_NONE")
#pragma push_macro("UNIMEM_LOC_SYSTEM")
#undef UNIMEM_LOC_NONE
#undef UNIMEM_LOC_SYSTEM
#define UNIMEM_ATTR_PREFERRED_LOC UNIMEM_KATTR_PREFERRED_LOC
#define UNIMEM_ATTR_ACCESSED_BY UNIMEM_KATTR_ACCESSED_BY
#define UNIMEM_ATTR_READ_MOSTLY UNIMEM_KATTR_READ_MOSTLY
#define UNIMEM_ATTR_GRANULARITY UNIMEM_KATTR_GRANULARITY

#include <linux/unimem.h>

#undef UNIMEM_ATTR_PREFERRED_LOC
#undef UNIMEM_ATTR_ACCESSED_BY
#undef UNIMEM_ATTR_READ_MOSTLY
#undef UNIMEM_ATTR_GRANULARITY
/* The uapi's values (absent from older headers: then the same constants). */
#ifdef UNIMEM_LOC_SYSTEM
#undef UNIMEM_LOC_SYSTEM
#endif
#ifdef UNIMEM_LOC_NONE
#undef UNIMEM_LOC_NONE
#endif
#define UNIMEM_KLOC_SYSTEM 0xffffffffu
#define UNIMEM_KLOC_NONE 0xfffffffdu
#pragma pop_macro("UNIMEM_LOC_NONE")
#pragma pop_macro("UNIMEM_LOC_SYSTEM")

#endif /* UNIMEM_MODULE_UAPI_H */
