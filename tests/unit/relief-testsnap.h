/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * A small in-memory topology snapshot for the relief tests (test_relief.c,
 * component/test_relief_mover.c).  Include after testutil.h.  Nodes get one
 * Normal zone; watermarks are those of a 1 GiB node on 6.12 (min 8600, low
 * 10750, high 12900 pages of 262144 managed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tier/config.h>
#include <tier/nodemask.h>
#include <tier/snapshot.h>

#define RS_MAXN 8
#define RS_MANAGED 262144u
#define RS_MIN 8600u
#define RS_LOW 10750u
#define RS_HIGH 12900u
/* stop_at default high+1%: 12900 + 2622 */
#define RS_STOP 15522u

struct rsnap {
	struct tier_snapshot s;
	struct tier_node nodes[RS_MAXN];
	struct tier_zone zones[RS_MAXN];
	struct tier_tier tiers[RS_MAXN];
	int dist[RS_MAXN][RS_MAXN];
};

static inline struct rsnap *rs_new(void)
{
	struct rsnap *b = calloc(1, sizeof(*b));
	assert_non_null(b);
	b->s.page_size = 4096;
	b->s.has_tiering = true;
	b->s.demotion_enabled = 1;
	b->s.nodes = b->nodes;
	b->s.tiers = b->tiers;
	return b;
}

static inline struct tier_node *rs_get(struct rsnap *b, int id)
{
	for (int i = 0; i < b->s.nr_nodes; i++)
		if (b->nodes[i].id == id)
			return &b->nodes[i];
	fail_msg("node %d not in the test snapshot", id);
	return NULL;
}

static inline void rs_set_free(struct rsnap *b, int id, uint64_t free_pages)
{
	struct tier_node *n = rs_get(b, id);
	n->zones[0].free_pages = free_pages;
	n->free_pages = free_pages;
	n->headroom_pages = (int64_t)free_pages - (int64_t)n->min_pages;
}

/* Add node id (ascending ids) in memory tier `tier`.  Distances: 10 to
 * itself, 20 + 10 * |tier index difference| to others, unless set later
 * with rs_dist. */
static inline void rs_node(struct rsnap *b, int id, int tier, uint64_t free_pages)
{
	assert_true(b->s.nr_nodes < RS_MAXN && id < RS_MAXN);
	int i = b->s.nr_nodes++;
	struct tier_node *n = &b->nodes[i];
	struct tier_zone *z = &b->zones[i];
	snprintf(z->name, sizeof(z->name), "Normal");
	z->populated = true;
	z->min_pages = RS_MIN;
	z->low_pages = RS_LOW;
	z->high_pages = RS_HIGH;
	z->managed_pages = z->present_pages = z->spanned_pages = RS_MANAGED;
	n->id = id;
	n->online = n->has_memory = n->has_normal_memory = true;
	n->tier = tier;
	n->zones = z;
	n->nr_zones = 1;
	n->min_pages = RS_MIN;
	n->low_pages = RS_LOW;
	n->high_pages = RS_HIGH;
	n->managed_pages = RS_MANAGED;
	n->distance = b->dist[id];
	n->nr_distance = RS_MAXN;
	for (int k = 0; k < RS_MAXN; k++)
		b->dist[id][k] = -1;
	rs_set_free(b, id, free_pages);

	int t;
	for (t = 0; t < b->s.nr_tiers; t++)
		if (b->tiers[t].id == tier)
			break;
	if (t == b->s.nr_tiers) {
		t = b->s.nr_tiers++;
		while (t > 0 && b->tiers[t - 1].id > tier) {
			b->tiers[t] = b->tiers[t - 1];
			t--;
		}
		b->tiers[t].id = tier;
		b->tiers[t].nodes = tier_nodemask_alloc();
	}
	tier_bitmask_set(b->tiers[t].nodes, id);
	/* Recompute default distances among all nodes. */
	for (int x = 0; x < b->s.nr_nodes; x++)
		for (int y = 0; y < b->s.nr_nodes; y++) {
			int ix = tier_snapshot_tier_index(&b->s, b->nodes[x].tier);
			int iy = tier_snapshot_tier_index(&b->s, b->nodes[y].tier);
			int d = x == y ? 10 : 20 + 10 * (ix > iy ? ix - iy : iy - ix);
			b->dist[b->nodes[x].id][b->nodes[y].id] = d;
		}
}

static inline void rs_dist(struct rsnap *b, int a, int c, int d)
{
	b->dist[a][c] = b->dist[c][a] = d;
}

static inline void rs_free(struct rsnap *b)
{
	for (int t = 0; t < b->s.nr_tiers; t++)
		tier_bitmask_free(b->tiers[t].nodes);
	free(b);
}
