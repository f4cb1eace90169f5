/* SPDX-License-Identifier: MIT */
/*
 * tier_snapshot_derive(): the fields computed from what acquire read
 * (watermark sums, headroom, demotion targets), plus the snapshot's lookups
 * and destructor.  Pure: no I/O, no clock, no logging.
 */
#include <stdlib.h>

#include "tier/nodemask.h"
#include "tier/snapshot.h"

static const char *const counter_names[TIER_NR_COUNTERS] = {
	[TIER_PGDEMOTE_KSWAPD] = "pgdemote_kswapd",
	[TIER_PGDEMOTE_DIRECT] = "pgdemote_direct",
	[TIER_PGDEMOTE_KHUGEPAGED] = "pgdemote_khugepaged",
	[TIER_PGDEMOTE_PROACTIVE] = "pgdemote_proactive",
	[TIER_PGPROMOTE_SUCCESS] = "pgpromote_success",
	[TIER_PGPROMOTE_CANDIDATE] = "pgpromote_candidate",
	[TIER_OOM_KILL] = "oom_kill",
};

const char *tier_counter_name(enum tier_counter c)
{
	if ((unsigned)c >= TIER_NR_COUNTERS)
		return "unknown";
	return counter_names[c];
}

struct tier_node *tier_snapshot_node(const struct tier_snapshot *s, int id)
{
	/* nodes[] is sorted by id. */
	int lo = 0, hi = s->nr_nodes - 1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		if (s->nodes[mid].id == id)
			return &s->nodes[mid];
		if (s->nodes[mid].id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

int tier_snapshot_tier_index(const struct tier_snapshot *s, int tier_id)
{
	for (int i = 0; i < s->nr_tiers; i++)
		if (s->tiers[i].id == tier_id)
			return i;
	return -1;
}

const struct tier_tier *tier_snapshot_tier(const struct tier_snapshot *s, int id)
{
	int i = tier_snapshot_tier_index(s, id);
	return i < 0 ? NULL : &s->tiers[i];
}

static int distance(const struct tier_node *from, int to)
{
	if (to < 0 || to >= from->nr_distance)
		return -1;
	return from->distance[to];
}

static void sum_zones(struct tier_node *nd, uint64_t page_size)
{
	nd->free_pages = nd->min_pages = nd->low_pages = nd->high_pages = nd->managed_pages = 0;
	nd->headroom_pages = nd->to_low_pages = nd->to_high_pages = 0;
	for (int z = 0; z < nd->nr_zones; z++) {
		const struct tier_zone *zn = &nd->zones[z];
		/* An unpopulated zone's watermarks are not zero on 6.x (the
		 * kernel prints min/low/high 32 for an empty Movable zone) and
		 * it can never satisfy them: leave it out. */
		if (!zn->populated)
			continue;
		nd->free_pages += zn->free_pages;
		nd->min_pages += zn->min_pages;
		nd->low_pages += zn->low_pages;
		nd->high_pages += zn->high_pages;
		nd->managed_pages += zn->managed_pages;
		nd->headroom_pages += (int64_t)zn->free_pages - (int64_t)zn->min_pages;
		nd->to_low_pages += (int64_t)zn->free_pages - (int64_t)zn->low_pages;
		nd->to_high_pages += (int64_t)zn->free_pages - (int64_t)zn->high_pages;
	}
	nd->headroom_bytes = nd->headroom_pages * (int64_t)page_size;
}

/*
 * Demotion targets, following establish_demotion_targets() in
 * mm/memory-tiers.c of Linux 6.12:
 *
 *  - only nodes with memory (N_MEMORY) in a memory tier that is not the last
 *    (slowest) one get targets;
 *  - preferred: among the memory nodes of the NEXT slower tier, those at the
 *    best node_distance() from the node.  The kernel picks them with
 *    find_next_best_node() in a loop and stops at the first node farther than
 *    the first pick.
 *  - fallback (the tier's lower_tier_mask): every memory node of every
 *    strictly slower tier.
 *
 * Approximations: find_next_best_node() adds penalties (a node with CPUs,
 * a node with a lower id, node_load[]) that only order nodes at the same
 * distance and, in rare cases, can make the kernel's first pick not the
 * nearest; here all nodes tied at the smallest distance are preferred.  The
 * kernel's lower_tier_mask is N_MEMORY minus this and faster tiers, so a
 * memory node outside every tier would be in it; here only nodes of slower
 * tiers are (the kernel puts every N_MEMORY node in a tier, so this differs
 * only for inconsistent trees).  Nodes without a tier get no targets.
 */
static void demotion_targets(struct tier_snapshot *s, struct tier_node *nd)
{
	tier_bitmask_zero(nd->demotion_preferred);
	tier_bitmask_zero(nd->demotion_fallback);
	if (!nd->has_memory || nd->tier < 0)
		return;
	int ti = tier_snapshot_tier_index(s, nd->tier);
	if (ti < 0 || ti + 1 >= s->nr_tiers)
		return;

	const struct tier_tier *next = &s->tiers[ti + 1];
	int best = -1;
	tier_bitmask_foreach(t, next->nodes) {
		if (!tier_bitmask_isset(s->with_memory, t))
			continue;
		int d = distance(nd, t);
		if (d < 0)
			continue;   /* not in the distance row (offline): the kernel skips it too */
		if (best < 0 || d < best)
			best = d;
	}
	if (best >= 0) {
		tier_bitmask_foreach(t, next->nodes) {
			if (tier_bitmask_isset(s->with_memory, t) && distance(nd, t) == best)
				tier_bitmask_set(nd->demotion_preferred, t);
		}
	}

	for (int i = ti + 1; i < s->nr_tiers; i++)
		tier_bitmask_or(nd->demotion_fallback, s->tiers[i].nodes);
	tier_bitmask_and(nd->demotion_fallback, s->with_memory);
}

void tier_snapshot_derive(struct tier_snapshot *s)
{
	for (int i = 0; i < s->nr_nodes; i++) {
		struct tier_node *nd = &s->nodes[i];
		sum_zones(nd, s->page_size);
		if (!nd->demotion_preferred)
			nd->demotion_preferred = tier_nodemask_alloc();
		if (!nd->demotion_fallback)
			nd->demotion_fallback = tier_nodemask_alloc();
		demotion_targets(s, nd);
	}
}

void tier_snapshot_derive_sums(struct tier_snapshot *s)
{
	for (int i = 0; i < s->nr_nodes; i++)
		sum_zones(&s->nodes[i], s->page_size);
}

void tier_snapshot_free(struct tier_snapshot *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nr_nodes; i++) {
		struct tier_node *nd = &s->nodes[i];
		free(nd->cpulist);
		tier_bitmask_free(nd->cpus);
		free(nd->distance);
		free(nd->zones);
		tier_bitmask_free(nd->demotion_preferred);
		tier_bitmask_free(nd->demotion_fallback);
	}
	free(s->nodes);
	for (int i = 0; i < s->nr_tiers; i++)
		tier_bitmask_free(s->tiers[i].nodes);
	free(s->tiers);
	tier_bitmask_free(s->possible);
	tier_bitmask_free(s->online);
	tier_bitmask_free(s->with_cpu);
	tier_bitmask_free(s->with_memory);
	tier_bitmask_free(s->with_normal_memory);
	free(s);
}
