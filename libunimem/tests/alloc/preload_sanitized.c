/* SPDX-License-Identifier: MIT */
/*
 * Built with a sanitizer and run under the preload (preload_sanitizer.sh):
 * allocations from the program and from the runtime's own interceptors
 * (strdup). Without the preload it prints "sanitized ok".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *s = strdup("sanitized");
	char *p = malloc(100);
	if (s == NULL || p == NULL)
		return 2;
	snprintf(p, 100, "%s ok", s);
	p = realloc(p, 5000);
	puts(p);
	free(p);
	free(s);
	return 0;
}
