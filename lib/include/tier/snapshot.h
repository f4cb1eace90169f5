/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * The topology snapshot: everything tierd knows about the host's memory at one
 * instant.  Filled by tier_snapshot_acquire() (I/O only, lib/acquire*.c), then
 * completed by tier_snapshot_derive() (pure, lib/derive.c).
 *
 * Unknown values: a file that is absent on this kernel (no memory_tiering
 * before 6.1, no HMAT, no per-node pgdemote counters before 5.18...) never
 * fails the read.  Counters and sizes that could not be read are TIER_UNKNOWN;
 * tri-state knobs are -1; a node outside every memory tier has tier == -1.
 */
#include <stdbool.h>
#include <stdint.h>
#include <numa.h>

#define TIER_UNKNOWN UINT64_MAX

enum tier_counter {
	TIER_PGDEMOTE_KSWAPD,
	TIER_PGDEMOTE_DIRECT,
	TIER_PGDEMOTE_KHUGEPAGED,
	TIER_PGDEMOTE_PROACTIVE,
	TIER_PGPROMOTE_SUCCESS,
	TIER_PGPROMOTE_CANDIDATE,
	TIER_OOM_KILL,            /* global /proc/vmstat only */
	TIER_NR_COUNTERS,
};

/* "pgdemote_kswapd", ... (the /proc/vmstat key). */
const char *tier_counter_name(enum tier_counter c);

#define TIER_MAX_ZONE_TYPES 8   /* MAX_NR_ZONES is at most 6 today */

struct tier_zone {
	char name[16];            /* "DMA", "DMA32", "Normal", "Movable", "Device" */
	bool populated;           /* false for "Node 0, zone Movable" with no pages */
	uint64_t free_pages;
	uint64_t min_pages;
	uint64_t low_pages;
	uint64_t high_pages;
	uint64_t managed_pages;
	uint64_t present_pages;
	uint64_t spanned_pages;
	/* Also printed by the kernel; TIER_UNKNOWN when this kernel does not
	 * ("promo" is 6.x with CONFIG_NUMA_BALANCING, "boost" since 4.20). */
	uint64_t boost_pages, promo_pages, cma_pages;
	/* "protection: (0, 991, ...)": lowmem_reserve[] against each zone type,
	 * in pages; nr_protection entries. */
	uint64_t protection_pages[TIER_MAX_ZONE_TYPES];
	int nr_protection;
};

struct tier_hmat {
	bool present;             /* nodeN/access0/initiators exists */
	uint64_t read_latency_ns, write_latency_ns;     /* TIER_UNKNOWN if absent */
	uint64_t read_bandwidth_mbps, write_bandwidth_mbps;
};

struct tier_node {
	int id;
	bool online, has_cpu, has_memory, has_normal_memory;
	char *cpulist;            /* as the kernel prints it, "" when CPU-less */
	struct bitmask *cpus;
	/* distance[i] is the distance to node i for i < nr_distance (indexed by
	 * node id, -1 for nodes absent from the row).  The kernel prints the row
	 * over online nodes in id order; the reader maps it back to ids. */
	int *distance;
	int nr_distance;
	int tier;                 /* memory tier id (adistance >> 7), -1 if none */

	/* nodeN/meminfo, bytes */
	uint64_t mem_total_bytes, mem_free_bytes, file_pages_bytes, inactive_file_bytes;
	/* nodeN/vmstat (TIER_OOM_KILL is always TIER_UNKNOWN here) */
	uint64_t counters[TIER_NR_COUNTERS];
	struct tier_hmat hmat;

	struct tier_zone *zones;  /* from /proc/zoneinfo, in file order */
	int nr_zones;

	/* --- derived (tier_snapshot_derive) --- */
	/* Sums over populated zones.  Every derived number is the exact value
	 * clamped to its type (UINT64_MAX, INT64_MIN/MAX): only absurd
	 * zoneinfo values reach the limits, and they never wrap. */
	uint64_t free_pages, min_pages, low_pages, high_pages, managed_pages;
	/* Sum over zones of (free - x); negative means below the watermark.
	 * headroom_pages is free - min. */
	int64_t headroom_pages, to_low_pages, to_high_pages;
	int64_t headroom_bytes;   /* headroom_pages * page_size */
	/* Demotion targets as mm/memory-tiers.c computes them: preferred = the
	 * nodes of the next slower tier at the best distance; fallback = every
	 * memory node in any slower tier.  Empty for the slowest tier. */
	struct bitmask *demotion_preferred;
	struct bitmask *demotion_fallback;
};

struct tier_tier {
	int id;                   /* N of memory_tierN; a larger id is slower */
	struct bitmask *nodes;
};

struct tier_snapshot {
	uint64_t page_size;       /* bytes */
	bool has_tiering;         /* /sys/devices/virtual/memory_tiering exists */
	int demotion_enabled;     /* 1, 0, or -1 unknown */
	int numa_balancing;       /* /proc/sys/kernel/numa_balancing, -1 unknown */
	uint64_t counters[TIER_NR_COUNTERS];   /* /proc/vmstat */

	struct bitmask *possible, *online, *with_cpu, *with_memory, *with_normal_memory;

	struct tier_node *nodes;  /* every node directory found, sorted by id */
	int nr_nodes;
	struct tier_tier *tiers;  /* sorted fast to slow (ascending id) */
	int nr_tiers;
};

/*
 * Read everything under rootfd ("/" in production, a fixture tree in tests).
 * On success returns 0 and *out owns a snapshot to free with
 * tier_snapshot_free().  On failure returns a negative errno, *out is NULL and,
 * if err is not NULL, err holds a message naming the file ("proc/zoneinfo:
 * line 12: expected a number").  Absent optional files are not errors.
 * Calls tier_snapshot_derive() before returning.
 */
int tier_snapshot_acquire(int rootfd, struct tier_snapshot **out, char *err, size_t errlen);

/* Fill the derived fields.  Pure: no I/O.  Safe to call again. */
void tier_snapshot_derive(struct tier_snapshot *s);
/* Only the sums over zones (free/min/low/high/managed, headroom): no
 * allocation, for a snapshot whose zones were updated in place. */
void tier_snapshot_derive_sums(struct tier_snapshot *s);

/* A deep copy (every array and mask), or NULL on OOM.  Free with
 * tier_snapshot_free(). */
struct tier_snapshot *tier_snapshot_dup(const struct tier_snapshot *s);

void tier_snapshot_free(struct tier_snapshot *s);

/* Lookups; NULL if absent. */
struct tier_node *tier_snapshot_node(const struct tier_snapshot *s, int id);
const struct tier_tier *tier_snapshot_tier(const struct tier_snapshot *s, int id);
/* Index of the tier in s->tiers (0 = fastest), or -1. */
int tier_snapshot_tier_index(const struct tier_snapshot *s, int tier_id);

/*
 * The snapshot as a json-c object (for tierctl status --json and the control
 * socket); the caller owns the reference (json_object_put()).  Unknown values
 * (TIER_UNKNOWN, -1 knobs, no tier) are JSON null; numbers are int64.
 * Returns NULL on allocation failure.
 */
struct json_object;
struct json_object *tier_snapshot_to_json(const struct tier_snapshot *s);
