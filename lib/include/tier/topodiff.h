/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Topology diff: what changed in the shape of the host's memory between two
 * snapshots (memory hotplug, CXL regions onlined, dax/kmem, blocks offlined,
 * nodes moved between tiers).  Pure: no I/O, no clock, no logging.
 *
 * Two steps:
 *
 * 1. tier_topo_from_snapshot() extracts the shape of a snapshot into a small
 *    struct tier_topo that the caller owns independently of the snapshot
 *    (the daemon frees each snapshot one tick later, but keeps the topo of
 *    the last significant change as its baseline: see "Drift" below).
 *
 * 2. tier_topodiff() compares two topos and lists the changes.
 *
 * Shape (what is compared), per node: present (a nodeN directory), online,
 * has memory (N_MEMORY), memory tier, memory size, demotion targets
 * (preferred and fallback); per tier: present and its node set.  Free pages,
 * watermarks, counters, CPUs and knobs are not shape and are ignored.
 *
 * Memory size of a node: its managed pages (sum over populated zones of
 * /proc/zoneinfo "managed") times the page size; when the snapshot has no
 * zone for the node, the node's meminfo MemTotal (which is the same sum).
 *
 * Significant (must trigger a re-plan: new generation, event, guard and
 * fencing look again): every change except a memory size change smaller
 * than TIER_TOPODIFF_MIN_MEMORY_BYTES that leaves the node with memory on
 * both sides.  Why the threshold: hotplug moves whole memory blocks (128 MiB
 * on x86-64 and arm64/4K, more on big hosts), while balloon drivers and
 * virtio-mem sub-blocks (4 MiB) adjust managed pages in small steps, and
 * 6.x also moves a few pages between managed and reserved at run time;
 * re-planning and logging for each of those would be noise.
 *
 * Drift: diffing against the PREVIOUS snapshot would never notice a node
 * shrinking 4 MiB at a time.  Diff against the topo of the last significant
 * change instead (the daemon does): small steps add up until the total
 * crosses the threshold.
 *
 * The summary is one line, "before → after" (UTF-8 arrow), for the log and
 * status: the tier map before and after, then the changes, e.g.
 *   "tiers 4:0 54:1 → 4:0 54:1-2; node 2 added (tier 54, 512 MiB);
 *    node 0 demotes to 1 → 1-2"
 * When the tier map did not change: "tiers 4:0 54:1 (unchanged); node 1
 * memory 1006 → 878 MiB".  Insignificant changes appear only when there is
 * no significant one.  Truncated with "..." to TIER_TOPODIFF_SUMMARY_MAX.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tier/snapshot.h>

#define TIER_TOPODIFF_MIN_MEMORY_BYTES (64ull << 20)
#define TIER_TOPODIFF_SUMMARY_MAX 512

struct tier_topo_node {
	int id;
	bool online;
	bool has_memory;
	int tier;                 /* memory tier id, -1 if in none */
	uint64_t memory_bytes;    /* see "Memory size" above; 0 if unknown */
	struct bitmask *demotion_preferred, *demotion_fallback;
};

struct tier_topo_tier {
	int id;
	struct bitmask *nodes;
};

struct tier_topo {
	struct tier_topo_node *nodes;   /* sorted by id */
	int nr_nodes;
	struct tier_topo_tier *tiers;   /* sorted by id (fast to slow) */
	int nr_tiers;
};

/* The shape of s (NULL on allocation failure).  Free with tier_topo_free(). */
struct tier_topo *tier_topo_from_snapshot(const struct tier_snapshot *s);
void tier_topo_free(struct tier_topo *t);
const struct tier_topo_node *tier_topo_node(const struct tier_topo *t, int id);

/* The tier map as "4:0 54:1-2" ("none" without tiers), like
 * tier_bitmask_format: returns the length needed, buf always terminated
 * when size > 0. */
size_t tier_topo_format_tiers(const struct tier_topo *t, char *buf, size_t size);

enum tier_topo_change_kind {
	TIER_TOPO_NODE_ADDED,        /* nodeN appeared (tier_after, bytes_after set) */
	TIER_TOPO_NODE_REMOVED,      /* nodeN vanished (tier_before, bytes_before set) */
	TIER_TOPO_NODE_ONLINED,      /* present on both sides, offline -> online */
	TIER_TOPO_NODE_OFFLINED,
	TIER_TOPO_NODE_MEMORY_ADDED,     /* has_memory false -> true */
	TIER_TOPO_NODE_MEMORY_REMOVED,   /* has_memory true -> false */
	TIER_TOPO_NODE_TIER_CHANGED,     /* tier_before -> tier_after (either may be -1) */
	TIER_TOPO_NODE_MEMORY_GROWN,     /* bytes_before < bytes_after */
	TIER_TOPO_NODE_MEMORY_SHRUNK,
	TIER_TOPO_NODE_DEMOTION_CHANGED, /* preferred or fallback targets differ */
	TIER_TOPO_TIER_ADDED,            /* tier (id in tier_after) appeared; node = -1 */
	TIER_TOPO_TIER_REMOVED,          /* tier (id in tier_before) vanished; node = -1 */
	TIER_TOPO_TIER_NODES_CHANGED,    /* a tier on both sides with another node set */
};

/* "node-added", "node-removed", ... */
const char *tier_topo_change_name(enum tier_topo_change_kind k);

struct tier_topo_change {
	enum tier_topo_change_kind kind;
	int node;                 /* -1 for the TIER_TOPO_TIER_* kinds */
	int tier_before, tier_after;          /* -1: none / not applicable */
	uint64_t bytes_before, bytes_after;   /* 0 when not applicable */
	bool significant;
};

struct tier_topodiff {
	/* Node changes in ascending node id, then tier changes in ascending
	 * tier id.  A node can have several (e.g. MEMORY_ADDED, TIER_CHANGED,
	 * MEMORY_GROWN when its first block is onlined). */
	struct tier_topo_change *changes;
	size_t nr;
	bool significant;         /* any change is significant */
	unsigned nodes_added, nodes_removed;
	char summary[TIER_TOPODIFF_SUMMARY_MAX];   /* "" when nr == 0 */
};

/*
 * Compare before and after (either may be NULL = an empty topology) into
 * *out, which is overwritten (call tier_topodiff_clear() on it afterwards).
 * Returns 0, or -ENOMEM (then *out is empty).
 */
int tier_topodiff(const struct tier_topo *before, const struct tier_topo *after, struct tier_topodiff *out);

/* Convenience: tier_topodiff() of the two snapshots' shapes. */
int tier_topodiff_snapshots(const struct tier_snapshot *before, const struct tier_snapshot *after,
			    struct tier_topodiff *out);

void tier_topodiff_clear(struct tier_topodiff *d);
