/* SPDX-License-Identifier: MIT */
#include <tier/coexist.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

static void scan_procs(int procfd, struct tier_coexist *out)
{
	int fd = dup(procfd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(dir))) {
		char path[300], *comm = NULL;
		int pid;
		if (tier_parse_int(de->d_name, &pid) < 0 || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "%s/comm", de->d_name);
		/* A process that exits while we look is normal: skip it. */
		if (tier_read_file_at(procfd, path, &comm, NULL) < 0)
			continue;
		tier_rstrip(comm);
		if (strcmp(comm, "numad") == 0)
			out->numad_pid = pid;
		else if (strcmp(comm, "memtierd") == 0)
			out->memtierd_pid = pid;
		free(comm);
	}
	closedir(dir);
}

/* sys/kernel/mm/damon/admin/kdamonds/N/{state, contexts/M/schemes/K/action} */
static void scan_damon(int rootfd, struct tier_coexist *out)
{
	const char *base = "sys/kernel/mm/damon/admin/kdamonds";
	uint64_t nr_kd = 0, nr_ctx = 0, nr_sch = 0;
	char path[256], *txt = NULL;

	snprintf(path, sizeof(path), "%s/nr_kdamonds", base);
	if (tier_read_u64_at(rootfd, path, &nr_kd) < 0)
		return;
	for (uint64_t k = 0; k < nr_kd && k < 1024; k++) {
		snprintf(path, sizeof(path), "%s/%llu/state", base, (unsigned long long)k);
		if (tier_read_file_at(rootfd, path, &txt, NULL) < 0)
			continue;
		bool on = strcmp(tier_rstrip(txt), "on") == 0;
		free(txt);
		if (!on)
			continue;
		snprintf(path, sizeof(path), "%s/%llu/contexts/nr_contexts", base, (unsigned long long)k);
		if (tier_read_u64_at(rootfd, path, &nr_ctx) < 0)
			continue;
		bool migrates = false;
		for (uint64_t c = 0; c < nr_ctx && c < 64 && !migrates; c++) {
			snprintf(path, sizeof(path), "%s/%llu/contexts/%llu/schemes/nr_schemes", base,
				 (unsigned long long)k, (unsigned long long)c);
			if (tier_read_u64_at(rootfd, path, &nr_sch) < 0)
				continue;
			for (uint64_t s = 0; s < nr_sch && s < 256 && !migrates; s++) {
				snprintf(path, sizeof(path), "%s/%llu/contexts/%llu/schemes/%llu/action", base,
					 (unsigned long long)k, (unsigned long long)c, (unsigned long long)s);
				if (tier_read_file_at(rootfd, path, &txt, NULL) < 0)
					continue;
				migrates = strncmp(txt, "migrate_", 8) == 0;
				free(txt);
			}
		}
		if (migrates)
			out->damon_migrate_kdamonds++;
	}
}

int tier_coexist_scan(int rootfd, struct tier_coexist *out)
{
	int bal;
	memset(out, 0, sizeof(*out));
	if (tier_read_int_at(rootfd, "proc/sys/kernel/numa_balancing", &bal) == 0)
		out->balancing_tiering = (bal & 2) != 0;
	int procfd = openat(rootfd, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return errno == ENOENT ? 0 : -errno;
	scan_procs(procfd, out);
	close(procfd);
	scan_damon(rootfd, out);
	return 0;
}

size_t tier_coexist_warnings(const struct tier_coexist *c, char msgs[][256], size_t max)
{
	size_t n = 0;
	if (c->balancing_tiering && n < max)
		snprintf(msgs[n++], 256,
			 "NUMA balancing is in memory-tiering mode (numa_balancing & 2): the kernel promotes hot "
			 "pages into upper tiers on its own");
	if (c->numad_pid && n < max)
		snprintf(msgs[n++], 256, "numad is running (pid %d): it migrates pages on its own policy",
			 c->numad_pid);
	if (c->memtierd_pid && n < max)
		snprintf(msgs[n++], 256, "memtierd is running (pid %d): it moves pages between tiers too",
			 c->memtierd_pid);
	if (c->damon_migrate_kdamonds && n < max)
		snprintf(msgs[n++], 256, "%d DAMON kdamond(s) run a migrate_hot/migrate_cold scheme",
			 c->damon_migrate_kdamonds);
	return n;
}
