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

/* Exact sums in 128 bits, then clamped: a zoneinfo with absurd values
 * (counts near 2^64, which no kernel prints but a damaged fixture or a fake
 * root can hold) must give extreme numbers, never wrap around or overflow a
 * signed type (undefined behaviour). */
static uint64_t clamp_u64(__int128 v)
{
	return v < 0 ? 0 : v > (__int128)UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

static int64_t clamp_i64(__int128 v)
{
	return v < INT64_MIN ? INT64_MIN : v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static void sum_zones(struct tier_node *nd, uint64_t page_size)
{
	__int128 free_ = 0, min = 0, low = 0, high = 0, managed = 0;
	for (int z = 0; z < nd->nr_zones; z++) {
		const struct tier_zone *zn = &nd->zones[z];
		/* An unpopulated zone's watermarks are not zero on 6.x (the
		 * kernel prints min/low/high 32 for an empty Movable zone) and
		 * it can never satisfy them: leave it out. */
		if (!zn->populated)
			continue;
		free_ += zn->free_pages;
		min += zn->min_pages;
		low += zn->low_pages;
		high += zn->high_pages;
		managed += zn->managed_pages;
	}
	nd->free_pages = clamp_u64(free_);
	nd->min_pages = clamp_u64(min);
	nd->low_pages = clamp_u64(low);
	nd->high_pages = clamp_u64(high);
	nd->managed_pages = clamp_u64(managed);
	nd->headroom_pages = clamp_i64(free_ - min);
	nd->to_low_pages = clamp_i64(free_ - low);
	nd->to_high_pages = clamp_i64(free_ - high);
	/* |headroom_pages| <= 2^63 and a page size below 2^63: the product
	 * fits in 128 bits. */
	nd->headroom_bytes = clamp_i64((__int128)nd->headroom_pages *
				       (__int128)(page_size > INT64_MAX ? INT64_MAX : page_size));
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
