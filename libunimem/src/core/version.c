/* SPDX-License-Identifier: MIT */
/* version.c - library and kernel module versions. */
#include "provider/provider.h"

int unimem_version(void)
{
	return UNIMEM_VERSION;
}

int unimem_module_version(void)
{
	return um_module_api_version(NULL);
}
