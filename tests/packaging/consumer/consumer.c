/* SPDX-License-Identifier: MIT */
/* Allocates through an installed libunimem and checks what it got. */
#include <stdio.h>
#include <string.h>
#include <unimem.h>

int main(void)
{
	struct unimem_ptr_info info;
	char *p = unimem_malloc(1000);

	if (!p)
		return 1;
	memset(p, 7, 1000);
	if (unimem_ptr_info(p + 999, &info) != 0 || info.base != p || info.size < 1000) {
		fprintf(stderr, "consumer: unimem_ptr_info disagrees\n");
		return 1;
	}
	if (unimem_version() != UNIMEM_VERSION) {
		fprintf(stderr, "consumer: header and library versions differ\n");
		return 1;
	}
	unimem_free(p);
	printf("consumer: OK\n");
	return 0;
}
