/* SPDX-License-Identifier: MIT */
/* version.c - the library's version (the module's: provider/device.c). */
#include "internal.h"

int unimem_version(void)
{
	return UNIMEM_VERSION;
}
