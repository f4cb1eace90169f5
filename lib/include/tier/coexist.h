/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Other things on the host that move pages between tiers.  tierd does not
 * fight them, but an admin must know: NUMA balancing in memory-tiering mode
 * promotes hot pages back up (undoing relief), numad and memtierd migrate
 * pages on their own policy, and a DAMON kdamond running a migrate_hot /
 * migrate_cold scheme (Linux 6.11+) demotes and promotes by itself.
 */
#include <stdbool.h>
#include <stddef.h>

struct tier_coexist {
	bool balancing_tiering;   /* numa_balancing has bit 2 (NUMA_BALANCING_MEMORY_TIERING) */
	int numad_pid;            /* 0 if not running */
	int memtierd_pid;
	int damon_migrate_kdamonds;   /* kdamonds "on" with a migrate_* scheme */
};

/* Read proc/[pid]/comm, proc/sys/kernel/numa_balancing and
 * sys/kernel/mm/damon/admin under rootfd.  Absent files mean "not there".
 * Returns 0 or -errno when proc itself cannot be listed. */
int tier_coexist_scan(int rootfd, struct tier_coexist *out);

/* One warning per finding, as text, into msgs[0..max); returns the count.
 * Pure. */
size_t tier_coexist_warnings(const struct tier_coexist *c, char msgs[][256], size_t max);
