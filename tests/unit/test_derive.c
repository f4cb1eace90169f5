/* SPDX-License-Identifier: MIT */
/* tier_snapshot_derive(): watermark sums, headroom and demotion targets. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tier/nodemask.h"
#include "tier/snapshot.h"

static struct tier_snapshot *load(const char *fixture)
{
	int fd = tu_open_fixture(fixture);
	struct tier_snapshot *s;
	char err[256];
	if (tier_snapshot_acquire(fd, &s, err, sizeof(err)) != 0)
		fail_msg("%s: %s", fixture, err);
	close(fd);
	return s;
}

static void assert_mask(const struct bitmask *bm, const char *want)
{
	char buf[256];
	tier_bitmask_format(bm, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void assert_targets(const struct tier_snapshot *s, int node, const char *preferred,
			   const char *fallback)
{
	const struct tier_node *nd = tier_snapshot_node(s, node);
	assert_non_null(nd);
	assert_mask(nd->demotion_preferred, preferred);
	assert_mask(nd->demotion_fallback, fallback);
}

/* vm-6.12-hmat-2tier-pressure, zoneinfo:
 *   node0 DMA   free 1058  min 129  low 161   high 193   managed 3840
 *   node0 DMA32 free 10886 min 8160 low 10200 high 12240 managed 244218
 *   node1 DMA32 free 6732  min 8606 low 10757 high 12908 managed 257454 */
static void test_headroom_pressure(void **state)
{
	(void)state;
	struct tier_snapshot *s = load("vm-6.12-hmat-2tier-pressure");
	const int64_t ps = (int64_t)s->page_size;
	const struct tier_node *n0 = tier_snapshot_node(s, 0), *n1 = tier_snapshot_node(s, 1);

	assert_int_equal(n0->free_pages, 1058 + 10886);
	assert_int_equal(n0->min_pages, 129 + 8160);
	assert_int_equal(n0->low_pages, 161 + 10200);
	assert_int_equal(n0->high_pages, 193 + 12240);
	assert_int_equal(n0->managed_pages, 3840 + 244218);
	assert_int_equal(n0->headroom_pages, (1058 - 129) + (10886 - 8160));   /* 3655 */
	assert_int_equal(n0->to_low_pages, (1058 - 161) + (10886 - 10200));
	assert_true(n0->to_high_pages < 0);
	assert_int_equal(n0->to_high_pages, (1058 - 193) + (10886 - 12240)); /* -489 */
	assert_int_equal(n0->headroom_bytes, 3655 * ps);

	/* The demotion target is below min: negative headroom. */
	assert_int_equal(n1->free_pages, 6732);
	assert_int_equal(n1->min_pages, 8606);
	assert_int_equal(n1->headroom_pages, -1874);
	assert_int_equal(n1->to_low_pages, 6732 - 10757);
	assert_int_equal(n1->to_high_pages, 6732 - 12908);
	assert_int_equal(n1->headroom_bytes, -1874 * ps);
	assert_int_equal(n1->managed_pages, 257454);

	assert_int_equal(s->demotion_enabled, 1);
	assert_targets(s, 0, "1", "1");
	assert_targets(s, 1, "", "");

	/* derive is idempotent. */
	tier_snapshot_derive(s);
	assert_int_equal(n1->headroom_pages, -1874);
	assert_int_equal(n0->free_pages, 1058 + 10886);
	assert_targets(s, 0, "1", "1");
	tier_snapshot_free(s);
}

/* Unpopulated zones do not count even with non-zero watermarks (6.12 prints
 * min 32 for an empty Movable zone). */
static void test_unpopulated_zones_ignored(void **state)
{
	(void)state;
	struct tier_snapshot *s = load("edge-movable-only");
	const struct tier_node *n0 = tier_snapshot_node(s, 0);
	int found = 0;
	for (int z = 0; z < n0->nr_zones; z++)
		if (!strcmp(n0->zones[z].name, "Movable")) {
			assert_false(n0->zones[z].populated);
			assert_int_equal(n0->zones[z].min_pages, 32);
			found = 1;
		}
	assert_true(found);
	assert_int_equal(n0->min_pages, 129 + 8160);
	assert_int_equal(n0->headroom_pages, (3776 - 129) + (230000 - 8160));
	const struct tier_node *n1 = tier_snapshot_node(s, 1);
	assert_int_equal(n1->free_pages, 262144);
	assert_int_equal(n1->min_pages, 6015);
	assert_int_equal(n1->headroom_pages, 262144 - 6015);
	assert_targets(s, 0, "1", "1");
	tier_snapshot_free(s);

	/* A memoryless node: all sums 0, no targets. */
	s = load("edge-memoryless-cpu-node");
	const struct tier_node *m = tier_snapshot_node(s, 1);
	assert_int_equal(m->free_pages, 0);
	assert_int_equal(m->min_pages, 0);
	assert_int_equal(m->headroom_pages, 0);
	assert_targets(s, 0, "2", "2");
	assert_targets(s, 1, "", "");
	assert_targets(s, 2, "", "");
	tier_snapshot_free(s);
}

static void test_targets_fixtures(void **state)
{
	(void)state;
	struct tier_snapshot *s = load("vm-6.12-hmat-2tier");
	assert_targets(s, 0, "1", "1");
	assert_targets(s, 1, "", "");
	tier_snapshot_free(s);

	s = load("vm-6.12-hmat-3tier");
	assert_targets(s, 0, "1", "1-2");
	assert_targets(s, 1, "2", "2");
	assert_targets(s, 2, "", "");
	tier_snapshot_free(s);

	s = load("vm-6.1-nvdimm-2tier");
	assert_targets(s, 0, "1", "1");
	assert_targets(s, 1, "", "");
	tier_snapshot_free(s);

	s = load("host-1node-6.18");
	assert_targets(s, 0, "", "");
	tier_snapshot_free(s);

	s = load("edge-sparse-ids");
	assert_targets(s, 0, "5", "5");
	assert_targets(s, 2, "5", "5");
	assert_targets(s, 5, "", "");
	tier_snapshot_free(s);

	s = load("edge-cpuless-node");   /* one tier: nowhere to demote */
	assert_targets(s, 0, "", "");
	assert_targets(s, 1, "", "");
	tier_snapshot_free(s);

	s = load("edge-no-tiering");     /* no tiers at all */
	assert_targets(s, 0, "", "");
	assert_targets(s, 1, "", "");
	tier_snapshot_free(s);

	s = load("edge-node-above-64");
	assert_targets(s, 0, "70", "70");
	assert_targets(s, 70, "", "");
	tier_snapshot_free(s);
}

/* --- synthetic snapshots --- */

struct syn_node {
	int id, tier;
	bool mem;
	const int *dist;   /* indexed by node id, nr entries = nr_ids */
};

static struct tier_snapshot *synth(const struct syn_node *nodes, int n, int nr_ids,
				   const int *tier_ids, const char *const *tier_lists, int nr_tiers)
{
	struct tier_snapshot *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	s->page_size = 4096;
	s->demotion_enabled = 1;
	s->possible = tier_nodemask_alloc();
	s->online = tier_nodemask_alloc();
	s->with_cpu = tier_nodemask_alloc();
	s->with_memory = tier_nodemask_alloc();
	s->with_normal_memory = tier_nodemask_alloc();
	s->nodes = calloc((size_t)n, sizeof(*s->nodes));
	s->nr_nodes = n;
	for (int i = 0; i < n; i++) {
		struct tier_node *nd = &s->nodes[i];
		nd->id = nodes[i].id;
		nd->tier = nodes[i].tier;
		nd->online = true;
		nd->has_memory = nodes[i].mem;
		tier_bitmask_set(s->online, nd->id);
		if (nd->has_memory)
			tier_bitmask_set(s->with_memory, nd->id);
		nd->nr_distance = nr_ids;
		nd->distance = malloc((size_t)nr_ids * sizeof(int));
		memcpy(nd->distance, nodes[i].dist, (size_t)nr_ids * sizeof(int));
		nd->zones = calloc(1, sizeof(*nd->zones));
		nd->nr_zones = 1;
		strcpy(nd->zones[0].name, "Normal");
		nd->zones[0].populated = nd->has_memory;
		nd->zones[0].present_pages = nd->has_memory ? 1000 : 0;
		nd->zones[0].free_pages = 500;
		nd->zones[0].min_pages = 100;
		nd->zones[0].low_pages = 200;
		nd->zones[0].high_pages = 600;
	}
	s->tiers = calloc((size_t)nr_tiers, sizeof(*s->tiers));
	s->nr_tiers = nr_tiers;
	for (int t = 0; t < nr_tiers; t++) {
		s->tiers[t].id = tier_ids[t];
		s->tiers[t].nodes = tier_nodemask_alloc();
		assert_int_equal(tier_bitmask_parse_list(tier_lists[t], s->tiers[t].nodes), 0);
	}
	tier_snapshot_derive(s);
	return s;
}

/* Two nodes in the same lower tier, at different distances: only the
 * nearer one is preferred; both are fallback. */
static void test_synth_different_distance(void **state)
{
	(void)state;
	static const int d0[] = { 10, 20, 30 }, d1[] = { 20, 10, 25 }, d2[] = { 30, 25, 10 };
	const struct syn_node nodes[] = { { 0, 4, true, d0 }, { 1, 22, true, d1 }, { 2, 22, true, d2 } };
	static const int ids[] = { 4, 22 };
	static const char *const lists[] = { "0", "1-2" };
	struct tier_snapshot *s = synth(nodes, 3, 3, ids, lists, 2);
	assert_targets(s, 0, "1", "1-2");
	assert_targets(s, 1, "", "");     /* same (last) tier: no targets */
	assert_targets(s, 2, "", "");
	assert_int_equal(tier_snapshot_node(s, 0)->headroom_pages, 400);
	assert_int_equal(tier_snapshot_node(s, 0)->to_low_pages, 300);
	assert_int_equal(tier_snapshot_node(s, 0)->to_high_pages, -100);
	assert_int_equal(tier_snapshot_node(s, 0)->headroom_bytes, 400 * 4096);
	tier_snapshot_free(s);

	/* Swap the distances: the other one wins. */
	static const int e0[] = { 10, 30, 20 };
	const struct syn_node nodes2[] = { { 0, 4, true, e0 }, { 1, 22, true, d1 }, { 2, 22, true, d2 } };
	s = synth(nodes2, 3, 3, ids, lists, 2);
	assert_targets(s, 0, "2", "1-2");
	tier_snapshot_free(s);
}

/* Equal distances: all tied nodes are preferred. */
static void test_synth_equal_distance(void **state)
{
	(void)state;
	static const int d0[] = { 10, 20, 20 }, d1[] = { 20, 10, 20 }, d2[] = { 20, 20, 10 };
	const struct syn_node nodes[] = { { 0, 4, true, d0 }, { 1, 22, true, d1 }, { 2, 22, true, d2 } };
	static const int ids[] = { 4, 22 };
	static const char *const lists[] = { "0", "1-2" };
	struct tier_snapshot *s = synth(nodes, 3, 3, ids, lists, 2);
	assert_targets(s, 0, "1-2", "1-2");
	tier_snapshot_free(s);
}

/* Three tiers with two nodes in the middle one, a memoryless node in the
 * middle tier's list, and a node without a tier. */
static void test_synth_three_tiers(void **state)
{
	(void)state;
	static const int d0[] = { 10, 20, 20, 40, 15 }, d1[] = { 20, 10, 20, 30, 20 },
			 d2[] = { 20, 20, 10, 50, 20 }, d3[] = { 40, 30, 50, 10, 40 },
			 d4[] = { 15, 20, 20, 40, 10 };
	const struct syn_node nodes[] = {
		{ 0, 4, true, d0 }, { 1, 54, true, d1 }, { 2, 54, false, d2 }, { 3, 270, true, d3 },
		{ 4, -1, true, d4 },
	};
	static const int ids[] = { 4, 54, 270 };
	static const char *const lists[] = { "0", "1-2", "3" };
	struct tier_snapshot *s = synth(nodes, 5, 5, ids, lists, 3);
	/* node2 is as near as node1 but has no memory: not a target. */
	assert_targets(s, 0, "1", "1,3");
	assert_targets(s, 1, "3", "3");
	assert_targets(s, 2, "", "");   /* no memory */
	assert_targets(s, 3, "", "");   /* slowest tier */
	assert_targets(s, 4, "", "");   /* no tier */
	tier_snapshot_free(s);
}

static void test_lookups_and_names(void **state)
{
	(void)state;
	assert_string_equal(tier_counter_name(TIER_PGDEMOTE_KSWAPD), "pgdemote_kswapd");
	assert_string_equal(tier_counter_name(TIER_PGDEMOTE_DIRECT), "pgdemote_direct");
	assert_string_equal(tier_counter_name(TIER_PGDEMOTE_KHUGEPAGED), "pgdemote_khugepaged");
	assert_string_equal(tier_counter_name(TIER_PGDEMOTE_PROACTIVE), "pgdemote_proactive");
	assert_string_equal(tier_counter_name(TIER_PGPROMOTE_SUCCESS), "pgpromote_success");
	assert_string_equal(tier_counter_name(TIER_PGPROMOTE_CANDIDATE), "pgpromote_candidate");
	assert_string_equal(tier_counter_name(TIER_OOM_KILL), "oom_kill");
	assert_string_equal(tier_counter_name(TIER_NR_COUNTERS), "unknown");

	struct tier_snapshot *s = load("vm-6.12-hmat-3tier");
	assert_int_equal(tier_snapshot_tier_index(s, 4), 0);
	assert_int_equal(tier_snapshot_tier_index(s, 54), 1);
	assert_int_equal(tier_snapshot_tier_index(s, 270), 2);
	assert_int_equal(tier_snapshot_tier_index(s, 22), -1);
	assert_int_equal(tier_snapshot_tier(s, 270)->id, 270);
	assert_null(tier_snapshot_tier(s, 5));
	assert_int_equal(tier_snapshot_node(s, 2)->id, 2);
	assert_null(tier_snapshot_node(s, -1));
	assert_null(tier_snapshot_node(s, 3));
	tier_snapshot_free(s);
	tier_snapshot_free(NULL);
}

/* Absurd zoneinfo values (no kernel prints them; a damaged fixture or a fake
 * root can): the sums are clamped, never wrapped or overflowed (issue 15,
 * found with the fuzz corpus input regress-derive-*). */
static void test_absurd_values_clamp(void **state)
{
	(void)state;
	struct tier_snapshot *s = load("vm-6.12-hmat-2tier");
	struct tier_node *n1 = tier_snapshot_node(s, 1);
	assert_true(n1->nr_zones >= 2);
	for (int z = 0; z < n1->nr_zones; z++)
		n1->zones[z].populated = false;
	struct tier_zone *a = &n1->zones[0], *b = &n1->zones[1];
	a->populated = b->populated = true;
	/* free - min = (2^63 - 1) - (2^64 - 1) = -2^63: int64 holds it, but the
	 * old (int64_t) casts computed (2^63 - 1) - (-1), a signed overflow. */
	a->free_pages = INT64_MAX;
	a->min_pages = a->low_pages = a->high_pages = UINT64_MAX;
	a->managed_pages = UINT64_MAX;
	b->free_pages = b->min_pages = b->low_pages = b->high_pages = b->managed_pages = 0;
	tier_snapshot_derive(s);
	assert_true(n1->headroom_pages == INT64_MIN);
	assert_true(n1->to_low_pages == INT64_MIN);
	assert_true(n1->headroom_bytes == INT64_MIN);
	assert_true(n1->free_pages == (uint64_t)INT64_MAX);
	assert_true(n1->min_pages == UINT64_MAX);

	/* Two zones whose free pages add up past 2^64: clamped, not wrapped
	 * to a small number (which would read as a full node). */
	a->free_pages = b->free_pages = UINT64_MAX - 1;
	a->min_pages = a->low_pages = a->high_pages = 1;
	b->min_pages = b->low_pages = b->high_pages = 1;
	a->managed_pages = b->managed_pages = UINT64_MAX;
	tier_snapshot_derive(s);
	assert_true(n1->free_pages == UINT64_MAX);
	assert_true(n1->managed_pages == UINT64_MAX);
	assert_true(n1->min_pages == 2);
	assert_true(n1->headroom_pages == INT64_MAX);
	assert_true(n1->headroom_bytes == INT64_MAX);

	/* Ordinary values are exact, the byte count too. */
	a->free_pages = 1000;
	a->min_pages = 1500;
	b->free_pages = 10;
	b->min_pages = 0;
	tier_snapshot_derive(s);
	assert_int_equal(n1->headroom_pages, -490);
	assert_int_equal(n1->headroom_bytes, -490 * (int64_t)s->page_size);
	tier_snapshot_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headroom_pressure),
		cmocka_unit_test(test_unpopulated_zones_ignored),
		cmocka_unit_test(test_targets_fixtures),
		cmocka_unit_test(test_synth_different_distance),
		cmocka_unit_test(test_synth_equal_distance),
		cmocka_unit_test(test_synth_three_tiers),
		cmocka_unit_test(test_lookups_and_names),
		cmocka_unit_test(test_absurd_values_clamp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
