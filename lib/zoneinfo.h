/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * /proc/zoneinfo parser (private to libtier; exposed for unit tests).
 *
 * Format (mm/vmstat.c zoneinfo_show_print(), Linux 4.x .. 6.18), per zone:
 *
 *   Node 0, zone    DMA32            "Node %d, zone %8s"
 *     per-node stats                 only under the node's first populated zone
 *         nr_inactive_anon 1677      "      %-12s %lu" node counters
 *     pages free     205775
 *           boost    0               4.20+
 *           min      5160
 *           low      6450
 *           high     7740
 *           promo    8000            6.x with CONFIG_NUMA_BALANCING
 *           spanned  258015
 *           present  258015
 *           managed  224909
 *           cma      0               CONFIG_CMA
 *           protection: (0, 0, 0, 0, 0)
 *   -- an unpopulated zone (present == 0) stops here --
 *         nr_free_pages 205775       zone counters
 *     pagesets
 *       cpu: 0
 *                 count: 0 / high: 55 / batch: 1
 *     vm stats threshold: 4
 *     node_unreclaimable:  0
 *     start_pfn:           4096
 *
 * Robustness: the kernel always ends the file with '\n', so text that does
 * not is truncated; a zone missing any of free/min/low/high/spanned/present/
 * managed/protection, or a populated zone without its last line
 * "start_pfn:", is truncated or malformed.  Each is an error
 * "NAME: line N: ...".  Unknown keys are skipped (newer kernels add lines).
 * So a prefix of a real file parses only if it ends exactly after a zone.
 */
#include <stddef.h>

#include "tier/snapshot.h"

struct tier_zoneinfo_zone {
	int node;
	struct tier_zone zone;   /* populated = present_pages > 0 (populated_zone()) */
};

struct tier_zoneinfo {
	struct tier_zoneinfo_zone *zones;   /* in file order */
	int nr_zones;
};

/*
 * Parse the whole text of a zoneinfo file into *zi (zeroed first).  name is
 * the file named in messages ("proc/zoneinfo").  Returns 0, -EINVAL (err says
 * "NAME: line N: why") or -ENOMEM.  On failure *zi is empty.
 */
int tier_zoneinfo_parse(const char *text, const char *name, struct tier_zoneinfo *zi,
			char *err, size_t errlen);

void tier_zoneinfo_free(struct tier_zoneinfo *zi);

/*
 * The same parse without allocating, for the guard thread: text is the
 * caller's writable, NUL-terminated buffer and is cut into lines in place;
 * the zones go into zones[0..cap) and *nr says how many.  Returns 0,
 * -EINVAL (err as above) or -ENOSPC when the file has more than cap zones
 * (*nr is 0 on any error).
 */
int tier_zoneinfo_parse_fixed(char *text, const char *name, struct tier_zoneinfo_zone *zones, int cap, int *nr,
			      char *err, size_t errlen);
