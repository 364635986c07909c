/* SPDX-License-Identifier: MIT */
/*
 * unimem - the command-line tool.
 *
 *   unimem info                      locations, capacity, free, module state
 *   unimem stat                      the module's counters, per device
 *   unimem run [--location LOC] [--] CMD [ARGS...]
 *                                    run CMD on the unimem heap (LD_PRELOAD)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/unimem.h>

#include "unimem.h"

#ifndef UNIMEM_PRELOAD_LIB
#define UNIMEM_PRELOAD_LIB "libunimem-preload.so"
#endif
#ifndef UNIMEM_INSTALL_LIBDIR
#define UNIMEM_INSTALL_LIBDIR "/usr/local/lib"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"usage: unimem info                 show locations, capacity, free memory, module\n"
		"       unimem stat                 show the unimem module's counters\n"
		"       unimem run [--location LOC] [--dry-run] [--] CMD [ARGS...]\n"
		"                                   run CMD with its heap on unimem (LD_PRELOAD);\n"
		"                                   LOC: nodeN, unimemN, system (see `unimem info`);\n"
		"                                   --dry-run prints the environment, runs nothing\n"
		"       unimem version              show the library and module versions\n");
}

static void print_size(uint64_t bytes)
{
	if (bytes >= (10ull << 30))
		printf(" %8.1f GiB", (double)bytes / (1 << 30));
	else
		printf(" %8llu MiB", (unsigned long long)(bytes >> 20));
}

static const struct {
	uint64_t bit;
	const char *name;
} features[] = {
	{ UNIMEM_FEAT_MIGRATE, "migrate" },     { UNIMEM_FEAT_DEV_TO_DEV, "dev-to-dev" },
	{ UNIMEM_FEAT_EVICTION, "eviction" },   { UNIMEM_FEAT_DEV_EXEC, "dev-exec" },
	{ UNIMEM_FEAT_ATOMICS, "atomics" },     { UNIMEM_FEAT_SNAPSHOT, "snapshot" },
	{ UNIMEM_FEAT_COUNTERS, "counters" },   { UNIMEM_FEAT_REMOTE_MAP, "remote-map" },
};

/* The module's version ioctl, for the feature list the library does not export. */
static int module_version(struct unimem_version *v)
{
	int fd = open("/dev/unimem0", O_RDWR | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	memset(v, 0, sizeof(*v));
	rc = ioctl(fd, UNIMEM_IOCTL_VERSION, v) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static void print_module(void)
{
	struct unimem_version v;
	int ver = unimem_module_version();

	if (ver < 0) {
		printf("module: not loaded, host backend only (%s)\n", unimem_last_error());
		return;
	}
	printf("module: loaded, API %d.%d", ver >> 16, ver & 0xffff);
	if (module_version(&v) == 0) {
		printf(", %u device(s), features:", v.ndevices);
		for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
			if (v.features & features[i].bit)
				printf(" %s", features[i].name);
	}
	printf("\n");
}

static int cmd_info(void)
{
	int v = unimem_version(), n = unimem_location_count();
	char why[256];

	/* the module query below records its own message */
	snprintf(why, sizeof(why), "%s", n < 0 ? unimem_last_error() : "");
	printf("unimem %d.%d.%d\n", v >> 16, (v >> 8) & 0xff, v & 0xff);
	print_module();
	if (n < 0) {
		fprintf(stderr, "unimem: info: %s\n", why);
		return 1;
	}
	printf("locations:\n  %-10s %-7s %12s %12s %5s  %s\n", "NAME", "KIND", "TOTAL", "FREE",
	       "CPUS", "FLAGS");
	for (int i = 0; i < n; i++) {
		struct unimem_location_info info;
		bool host;

		if (unimem_location_get(i, &info) < 0) {
			fprintf(stderr, "unimem: info: %s\n", unimem_last_error());
			return 1;
		}
		host = UNIMEM_LOC_KIND(info.location) == UNIMEM_LOC_KIND_HOST;
		printf("  %-10s %-7s ", info.name, host ? "host" : "device");
		print_size(info.total_bytes);
		print_size(info.free_bytes);
		if (host)
			printf(" %5d ", info.nearest_cpu_count);
		else
			printf(" %5s ", "-");
		printf(" %s%s", info.flags & UNIMEM_LOCF_CPU_ACCESS ? "cpu-access" : "device-private",
		       info.flags & UNIMEM_LOCF_CPULESS ? ",cpuless" : "");
		if (info.bandwidth_mibps) /* known from HMAT (hwloc memattrs) */
			printf(",%llu MiB/s", (unsigned long long)info.bandwidth_mibps);
		if (info.latency_ns)
			printf(",%llu ns", (unsigned long long)info.latency_ns);
		printf("\n");
	}
	return 0;
}

static const char *const counter_names[UNIMEM_CNT_NR] = UNIMEM_COUNTER_NAMES;

static const char *const policy_counter_names[UNIMEM_PCNT_NR] = {
	[UNIMEM_PCNT_FIRST_TOUCH] = "policy_first_touch",
	[UNIMEM_PCNT_PREFERRED] = "policy_preferred",
	[UNIMEM_PCNT_REMOTE_MAP] = "policy_remote_map",
	[UNIMEM_PCNT_THROTTLED] = "policy_throttled",
	[UNIMEM_PCNT_PINNED] = "policy_pinned",
	[UNIMEM_PCNT_POLICY_PAGES] = "policy_pages",
	[UNIMEM_PCNT_CPU_FAULT_BLOCKS] = "policy_cpu_fault_blocks",
	[UNIMEM_PCNT_BLOCK_MIGRATIONS] = "policy_block_migrations",
	[UNIMEM_PCNT_PREFETCH_CALLS] = "policy_prefetch_calls",
	[UNIMEM_PCNT_PREFETCH_PAGES] = "policy_prefetch_pages",
	[UNIMEM_PCNT_DENIED] = "policy_denied",
};

/* Policy decision counters of a device, if the module has them. */
static void print_policy_counters(int fd, uint32_t d)
{
	struct unimem_policy_counters c;

	memset(&c, 0, sizeof(c));
	c.scope = UNIMEM_PSCOPE_DEVICE;
	c.device = d;
	if (ioctl(fd, UNIMEM_IOCTL_POLICY_COUNTERS, &c) < 0)
		return; /* ENOTTY: a module without placement policy */
	for (uint32_t i = 0; i < c.ncounters && i < UNIMEM_PCOUNTERS_MAX; i++)
		printf("  %-22s %llu\n",
		       i < UNIMEM_PCNT_NR && policy_counter_names[i] ? policy_counter_names[i]
								   : "policy_counter",
		       (unsigned long long)c.values[i]);
}

static int cmd_stat(void)
{
	struct unimem_version v;
	int fd, err;

	if (unimem_module_version() < 0) {
		fprintf(stderr, "unimem: stat: %s\n", unimem_last_error());
		return 1;
	}
	err = module_version(&v);
	fd = open("/dev/unimem0", O_RDWR | O_CLOEXEC);
	if (err < 0 || fd < 0) {
		fprintf(stderr, "unimem: stat: cannot talk to /dev/unimem0: %s\n",
			strerror(err < 0 ? -err : errno));
		return 1;
	}
	if (!(v.features & UNIMEM_FEAT_COUNTERS)) {
		fprintf(stderr, "unimem: stat: this unimem module has no counters\n");
		close(fd);
		return 1;
	}
	for (uint32_t d = 0; d < v.ndevices; d++) {
		struct unimem_counters c;

		memset(&c, 0, sizeof(c));
		c.scope = UNIMEM_SCOPE_DEVICE;
		c.device = d;
		if (ioctl(fd, UNIMEM_IOCTL_COUNTERS, &c) < 0) {
			fprintf(stderr, "unimem: stat: unimem%u: %s\n", d, strerror(errno));
			close(fd);
			return 1;
		}
		printf("unimem%u:\n", d);
		for (uint32_t i = 0; i < c.ncounters && i < UNIMEM_COUNTERS_MAX; i++)
			printf("  %-22s %llu\n",
			       i < UNIMEM_CNT_NR && counter_names[i] ? counter_names[i] : "counter",
			       (unsigned long long)c.values[i]);
		print_policy_counters(fd, d);
	}
	close(fd);
	return 0;
}

/* The preload library: next to this tool, then ../lib*, then the install dir. */
static int find_preload(char *out, size_t len)
{
	static const char *const rel[] = { "", "../lib/", "../lib64/", "../libunimem/" };
	char exe[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			slash[1] = '\0';
			for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
				int w = snprintf(out, len, "%s%s%s", exe, rel[i],
						 UNIMEM_PRELOAD_LIB);
				if (w > 0 && (size_t)w < len && access(out, R_OK) == 0)
					return 0;
			}
		}
	}
	snprintf(out, len, "%s/%s", UNIMEM_INSTALL_LIBDIR, UNIMEM_PRELOAD_LIB);
	return access(out, R_OK) == 0 ? 0 : -ENOENT;
}

static int cmd_run(int argc, char **argv)
{
	const char *location = NULL, *old;
	char preload[PATH_MAX], *value;
	bool dry_run = false;
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--location") == 0 || strcmp(argv[i], "-l") == 0) {
			if (++i == argc) {
				fprintf(stderr, "unimem: run: --location needs a value\n");
				return 2;
			}
			location = argv[i];
		} else if (strncmp(argv[i], "--location=", 11) == 0) {
			location = argv[i] + 11;
		} else if (strcmp(argv[i], "-n") == 0 || strcmp(argv[i], "--dry-run") == 0) {
			dry_run = true;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "unimem: run: unknown option %s\n", argv[i]);
			usage(stderr);
			return 2;
		} else {
			break;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "unimem: run: no command given\n");
		usage(stderr);
		return 2;
	}
	if (location) {
		struct unimem_location_info info;
		unimem_location_t loc;

		if (unimem_location_parse(location, &loc) < 0) {
			fprintf(stderr, "unimem: run: %s\n", unimem_last_error());
			return 2;
		}
		if (unimem_location_query(loc, &info) < 0) {
			fprintf(stderr, "unimem: run: %s\n", unimem_last_error());
			return 2;
		}
		setenv("UNIMEM_LOCATION", location, 1);
	}
	if (find_preload(preload, sizeof(preload)) < 0) {
		fprintf(stderr, "unimem: run: cannot find %s next to this tool or in %s\n",
			UNIMEM_PRELOAD_LIB, UNIMEM_INSTALL_LIBDIR);
		return 1;
	}
	old = getenv("LD_PRELOAD");
	if (old && *old) {
		value = malloc(strlen(preload) + strlen(old) + 2);
		if (!value)
			return 1;
		sprintf(value, "%s:%s", preload, old);
	} else {
		value = preload;
	}
	setenv("LD_PRELOAD", value, 1);
	if (dry_run) {
		printf("LD_PRELOAD=%s\n", value);
		if (location)
			printf("UNIMEM_LOCATION=%s\n", location);
		for (int k = i; k < argc; k++)
			printf("%s%s", argv[k], k + 1 < argc ? " " : "\n");
		return 0;
	}
	execvp(argv[i], &argv[i]);
	fprintf(stderr, "unimem: run: cannot run %s: %s\n", argv[i], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "info") == 0)
		return cmd_info();
	if (strcmp(argv[1], "stat") == 0)
		return cmd_stat();
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	if (strcmp(argv[1], "version") == 0) {
		int v = unimem_version(), m = unimem_module_version();
		printf("library %d.%d.%d\n", v >> 16, (v >> 8) & 0xff, v & 0xff);
		if (m < 0)
			printf("module: not loaded\n");
		else
			printf("module API %d.%d\n", m >> 16, m & 0xffff);
		return 0;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "unimem: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
