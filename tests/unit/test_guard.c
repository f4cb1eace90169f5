/* SPDX-License-Identifier: MIT */
/*
 * The demotion guard decision (lib/guard.c), driven by scripted sequences of
 * snapshots built in memory, plus one real capture under pressure.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tier/guard.h>
#include <tier/nodemask.h>
#include <tier/snapshot.h>

#define MS 1000ull
#define SEC 1000000ull
#define MAXN 8

/* ---- a small in-memory snapshot builder -------------------------------- */

/* Two 1 GiB nodes' worth of watermarks, as a 6.12 kernel sets them. */
#define MANAGED 262144u
#define DRAM_MIN 8000u
#define DRAM_LOW 10000u
#define DRAM_HIGH 12000u
#define SLOW_MIN 8600u
#define SLOW_LOW 10750u
#define SLOW_HIGH 12900u
/* high+1% of 262144 managed pages: 12900 + 2622 (rounded up). */
#define SLOW_RELEASE 15522u

struct tb {
	struct tier_snapshot s;
	struct tier_node nodes[MAXN];
	struct tier_zone zones[MAXN];
	struct tier_tier tiers[MAXN];
};

static struct tb *tb_new(void)
{
	struct tb *b = calloc(1, sizeof(*b));
	assert_non_null(b);
	b->s.page_size = 4096;
	b->s.has_tiering = true;
	b->s.demotion_enabled = 1;
	b->s.numa_balancing = 0;
	for (int i = 0; i < TIER_NR_COUNTERS; i++)
		b->s.counters[i] = 0;
	b->s.nodes = b->nodes;
	b->s.tiers = b->tiers;
	return b;
}

static struct tier_node *tb_get(struct tb *b, int id)
{
	for (int i = 0; i < b->s.nr_nodes; i++)
		if (b->nodes[i].id == id)
			return &b->nodes[i];
	fail_msg("node %d not in the test snapshot", id);
	return NULL;
}

static void tb_derive_node(struct tier_node *n)
{
	struct tier_zone *z = n->zones;
	n->free_pages = z->free_pages;
	n->min_pages = z->min_pages;
	n->low_pages = z->low_pages;
	n->high_pages = z->high_pages;
	n->managed_pages = z->managed_pages;
	n->headroom_pages = (int64_t)z->free_pages - (int64_t)z->min_pages;
	n->to_low_pages = (int64_t)z->free_pages - (int64_t)z->low_pages;
	n->to_high_pages = (int64_t)z->free_pages - (int64_t)z->high_pages;
	n->headroom_bytes = n->headroom_pages * 4096;
	n->mem_free_bytes = z->free_pages * 4096;
}

/* Add node id (ascending order) in memory tier `tier` with one Normal zone. */
static void tb_node(struct tb *b, int id, int tier, uint64_t free_pages, uint64_t min, uint64_t low,
		    uint64_t high)
{
	assert_true(b->s.nr_nodes < MAXN);
	int i = b->s.nr_nodes++;
	struct tier_node *n = &b->nodes[i];
	struct tier_zone *z = &b->zones[i];
	memset(n, 0, sizeof(*n));
	memset(z, 0, sizeof(*z));
	snprintf(z->name, sizeof(z->name), "Normal");
	z->populated = true;
	z->free_pages = free_pages;
	z->min_pages = min;
	z->low_pages = low;
	z->high_pages = high;
	z->managed_pages = z->present_pages = z->spanned_pages = MANAGED;
	n->id = id;
	n->online = n->has_memory = n->has_normal_memory = true;
	n->tier = tier;
	n->zones = z;
	n->nr_zones = 1;
	n->mem_total_bytes = (uint64_t)MANAGED * 4096;
	for (int c = 0; c < TIER_NR_COUNTERS; c++)
		n->counters[c] = 0;
	n->counters[TIER_OOM_KILL] = TIER_UNKNOWN;
	n->demotion_preferred = tier_nodemask_alloc();
	n->demotion_fallback = tier_nodemask_alloc();
	tb_derive_node(n);

	/* Tiers: distinct ids, ascending. */
	for (int t = 0; t < b->s.nr_tiers; t++) {
		if (b->tiers[t].id == tier) {
			tier_bitmask_set(b->tiers[t].nodes, id);
			return;
		}
	}
	int t = b->s.nr_tiers++;
	while (t > 0 && b->tiers[t - 1].id > tier) {
		b->tiers[t] = b->tiers[t - 1];
		t--;
	}
	b->tiers[t].id = tier;
	b->tiers[t].nodes = tier_nodemask_alloc();
	tier_bitmask_set(b->tiers[t].nodes, id);
}

static void tb_dram(struct tb *b, int id, uint64_t free_pages)
{
	tb_node(b, id, 4, free_pages, DRAM_MIN, DRAM_LOW, DRAM_HIGH);
}

static void tb_slow(struct tb *b, int id, int tier, uint64_t free_pages)
{
	tb_node(b, id, tier, free_pages, SLOW_MIN, SLOW_LOW, SLOW_HIGH);
}

/* upper may demote to target (the first target is also the preferred one). */
static void tb_target(struct tb *b, int upper, int target)
{
	struct tier_node *u = tb_get(b, upper);
	if (tier_bitmask_empty(u->demotion_fallback))
		tier_bitmask_set(u->demotion_preferred, target);
	tier_bitmask_set(u->demotion_fallback, target);
}

static void tb_free_pages(struct tb *b, int id, uint64_t free_pages)
{
	struct tier_node *n = tb_get(b, id);
	n->zones->free_pages = free_pages;
	tb_derive_node(n);
}

/* Per-node and global pgdemote_kswapd. */
static void tb_demoted(struct tb *b, int id, uint64_t pages)
{
	struct tier_node *n = tb_get(b, id);
	uint64_t old = n->counters[TIER_PGDEMOTE_KSWAPD];
	n->counters[TIER_PGDEMOTE_KSWAPD] = pages;
	b->s.counters[TIER_PGDEMOTE_KSWAPD] += pages - old;
}

/* Remove node id from the snapshot (hot-unplugged). */
static void tb_remove(struct tb *b, int id)
{
	for (int i = 0; i < b->s.nr_nodes; i++) {
		if (b->nodes[i].id != id)
			continue;
		tier_bitmask_free(b->nodes[i].demotion_preferred);
		tier_bitmask_free(b->nodes[i].demotion_fallback);
		for (int j = i; j + 1 < b->s.nr_nodes; j++) {
			b->nodes[j] = b->nodes[j + 1];
			b->zones[j] = b->zones[j + 1];
			b->nodes[j].zones = &b->zones[j];
		}
		b->s.nr_nodes--;
		for (int t = 0; t < b->s.nr_tiers; t++)
			tier_bitmask_clear(b->tiers[t].nodes, id);
		return;
	}
	fail_msg("node %d not in the test snapshot", id);
}

static void tb_free(struct tb *b)
{
	for (int i = 0; i < b->s.nr_nodes; i++) {
		tier_bitmask_free(b->nodes[i].demotion_preferred);
		tier_bitmask_free(b->nodes[i].demotion_fallback);
	}
	for (int t = 0; t < b->s.nr_tiers; t++)
		tier_bitmask_free(b->tiers[t].nodes);
	free(b);
}

/* The usual two-tier VM: node0 DRAM -> node1 slow (tier 54). */
static struct tb *two_tier(uint64_t free0, uint64_t free1)
{
	struct tb *b = tb_new();
	tb_dram(b, 0, free0);
	tb_slow(b, 1, 54, free1);
	tb_target(b, 0, 1);
	return b;
}

/* ---- config and a driver that keeps the history ----------------------- */

static struct tier_config cfg(void)
{
	struct tier_config c;
	memset(&c, 0, sizeof(c));
	c.interval_usec = 1 * SEC;
	c.min_interval_usec = 10 * MS;
	c.max_interval_usec = 5 * SEC;
	c.guard_mode = TIER_GUARD_ON;
	c.guard_trip_at = (struct tier_wm_expr){ .base = TIER_WM_LOW };
	c.guard_release_at = (struct tier_wm_expr){ .base = TIER_WM_HIGH, .plus_permille = 10 };
	c.guard_min_hold_usec = 0;
	c.guard_predict = false;
	return c;
}

struct run {
	struct tier_guard_state *st;
	struct tier_guard_decision d;
	struct tier_config c;
	uint64_t now;
	bool fixed;
	int trips, releases;
};

static struct run *run_new(void)
{
	struct run *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	r->st = malloc(sizeof(*r->st));
	assert_non_null(r->st);
	tier_guard_state_init(r->st);
	r->c = cfg();
	r->now = 1000 * SEC;
	return r;
}

static void run_free(struct run *r)
{
	free(r->st);
	free(r);
}

/* One tick at now + dt (next aliases prev, as the daemon may do). */
static enum tier_guard_action tick(struct run *r, struct tb *b, uint64_t dt)
{
	r->now += dt;
	tier_guard_decide(&b->s, &r->c, r->st, r->now, r->fixed, r->st, &r->d);
	switch (r->d.action) {
	case TIER_GUARD_ACT_TRIP:
		r->trips++;
		break;
	case TIER_GUARD_ACT_RELEASE:
		r->releases++;
		break;
	default:
		break;
	}
	/* The snapshot's demotion_enabled is the owner's original: the guard's
	 * decisions never change it (lib/demotion.c owns the knob). */
	/* Invariants of every decision. */
	assert_true(r->d.reason[0] != '\0');
	assert_true(r->d.next_interval_usec > 0);
	return r->d.action;
}

#define assert_contains(hay, needle) \
	do { \
		if (!strstr((hay), (needle))) \
			fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle)); \
	} while (0)

/* ---- tests ------------------------------------------------------------- */

static void test_trip(void **state)
{
	(void)state;
	struct run *r = run_new();
	/* node0 under reclaim (free <= high), node1 at its low line. */
	struct tb *b = two_tier(DRAM_HIGH - 100, SLOW_LOW);
	assert_int_equal(tick(r, b, 0), TIER_GUARD_ACT_TRIP);
	assert_int_equal(r->d.upper_node, 0);
	assert_int_equal(r->d.target_node, 1);
	assert_int_equal(r->d.free_pages, SLOW_LOW);
	assert_int_equal(r->d.line_pages, SLOW_LOW);
	assert_false(r->d.predicted);
	assert_string_equal(r->d.quiet_reason, "");
	assert_contains(r->d.reason, "node 1 (tier 54) free 41 MiB <= low 41 MiB");
	assert_contains(r->d.reason, "node 0");
	assert_contains(r->d.reason, "demotion off");
	assert_true(r->st->held);
	assert_string_equal(tier_guard_action_name(r->d.action), "trip");
	tb_free(b);
	run_free(r);

	/* One page above the line: no trip. */
	r = run_new();
	b = two_tier(DRAM_HIGH - 100, SLOW_LOW + 1);
	assert_int_equal(tick(r, b, 0), TIER_GUARD_ACT_NONE);
	assert_false(r->st->held);
	assert_contains(r->d.reason, "watching");
	assert_string_equal(r->d.quiet_reason, "");
	tb_free(b);
	run_free(r);

	/* Target full but node0 is not under reclaim and not demoting. */
	r = run_new();
	b = two_tier(100000, SLOW_MIN - 10);
	assert_int_equal(tick(r, b, 0), TIER_GUARD_ACT_NONE);
	assert_int_equal(tick(r, b, 100 * MS), TIER_GUARD_ACT_NONE);
	assert_contains(r->d.reason, "not under reclaim");
	/* ... until its pgdemote counters move: pressure without free <= high. */
	tb_demoted(b, 0, 5000);
	assert_int_equal(tick(r, b, 100 * MS), TIER_GUARD_ACT_TRIP);
	assert_contains(r->d.reason, "5000 pages demoted");
	tb_free(b);
	run_free(r);
}

static void test_global_counters_fallback(void **state)
{
	(void)state;
	/* A kernel without per-node pgdemote: the global counter says some
	 * node demoted. */
	struct run *r = run_new();
	struct tb *b = two_tier(100000, SLOW_MIN);
	for (int c = TIER_PGDEMOTE_KSWAPD; c <= TIER_PGDEMOTE_PROACTIVE; c++)
		b->nodes[0].counters[c] = b->nodes[1].counters[c] = TIER_UNKNOWN;
	assert_int_equal(tick(r, b, 0), TIER_GUARD_ACT_NONE);
	assert_int_equal(tick(r, b, 50 * MS), TIER_GUARD_ACT_NONE);
	b->s.counters[TIER_PGDEMOTE_DIRECT] += 10;
	assert_int_equal(tick(r, b, 50 * MS), TIER_GUARD_ACT_TRIP);
	tb_free(b);
	run_free(r);
}

static void test_hold_and_release(void **state)
{
	(void)state;
	struct run *r = run_new();
	r->c.guard_min_hold_usec = 2 * SEC;
	struct tb *b = two_tier(DRAM_HIGH, SLOW_MIN);
	assert_int_equal(tick(r, b, 0), TIER_GUARD_ACT_TRIP);
	assert_int_equal(r->d.next_interval_usec, r->c.interval_usec);

	/* Still full: holding. */
	assert_int_equal(tick(r, b, 500 * MS), TIER_GUARD_ACT_NONE);
	assert_contains(r->d.reason, "holding demotion off");
	assert_true(r->st->held);

	/* Recovered above the release line but within the minimum hold. */
	tb_free_pages(b, 1, SLOW_RELEASE + 1);
	assert_int_equal(tick(r, b, 1 * SEC), TIER_GUARD_ACT_NONE);
	assert_contains(r->d.reason, "minimum hold ends in 500 ms");
	/* Wakes when the hold ends, not a whole interval later. */
	assert_int_equal(r->d.next_interval_usec, 500 * MS);
	assert_true(r->st->held);

	/* Hold over: release. */
	assert_int_equal(tick(r, b, 500 * MS), TIER_GUARD_ACT_RELEASE);
	assert_int_equal(r->d.target_node, 1);
	assert_int_equal(r->d.line_pages, SLOW_RELEASE);
	assert_contains(r->d.reason, "node 1 (tier 54) free 60 MiB > high+1% 60 MiB");
	assert_contains(r->d.reason, "the guard no longer holds demotion off");
	assert_false(r->st->held);
	assert_string_equal(tier_guard_action_name(r->d.action), "release");
	/* Right above the release line: the next look is not a whole
	 * interval away (a trip may be one fill away). */
	assert_true(r->d.next_interval_usec < r->c.interval_usec);

	/* Exactly at the release line is not above it. */
	tb_free_pages(b, 1, SLOW_MIN);
	assert_int_equal(tick(r, b, 100 * MS), TIER_GUARD_ACT_TRIP);
	tb_free_pages(b, 1, SLOW_RELEASE);
	assert_int_equal(tick(r, b, 3 * SEC), TIER_GUARD_ACT_NONE);
	tb_free_pages(b, 1, SLOW_RELEASE + 1);
	assert_int_equal(tick(r, b, 100 * MS), TIER_GUARD_ACT_RELEASE);
	assert_int_equal(r->trips, 2);
	assert_int_equal(r->releases, 2);
	tb_free(b);
	run_free(r);
}

static void test_no_flapping(void **state)
{
	(void)state;
	struct run *r = run_new();
	struct tb *b = two_tier(DRAM_LOW, SLOW_LOW);
	/* Jitter around the trip line: one trip, no release. */
	for (int i = 0; i < 40; i++) {
		tb_free_pages(b, 1, SLOW_LOW + (i % 2 ? 50 : -50));
		tick(r, b, 100 * MS);
	}
	assert_int_equal(r->trips, 1);
	assert_int_equal(r->releases, 0);
	/* Jitter around the release line: one release, no new trip. */
	for (int i = 0; i < 40; i++) {
		tb_free_pages(b, 1, SLOW_RELEASE + (i % 2 ? 50 : -50));
		tick(r, b, 100 * MS);
	}
	assert_int_equal(r->trips, 1);
	assert_int_equal(r->releases, 1);
	assert_false(r->st->held);
	tb_free(b);
	run_free(r);
}

static void test_several_upper_nodes(void **state)
{
	(void)state;
	/* node0 -> node2, node1 -> node3; node2 full, node3 has room. */
	struct run *r = run_new();
	struct tb *b = tb_new();
	tb_dram(b, 0, 100000);
	tb_dram(b, 1, DRAM_LOW);
	tb_slow(b, 2, 54, SLOW_MIN);
	tb_slow(b, 3, 54, 100000);
	tb_target(b, 0, 2);
	tb_target(b, 1, 3);
	/* node1 is under reclaim but its target has room; node0's target is
	 * full but node0 is fine. */
	assert_int_equal(tick(r, b, 0), TIER_GUARD_ACT_NONE);
	tick(r, b, 100 * MS);
	assert_int_equal(r->trips, 0);
	/* node0 comes under reclaim too. */
	tb_free_pages(b, 0, DRAM_HIGH);
	assert_int_equal(tick(r, b, 100 * MS), TIER_GUARD_ACT_TRIP);
	assert_int_equal(r->d.upper_node, 0);
	assert_int_equal(r->d.target_node, 2);
	/* Release needs every target of every upper node above release. */
	tb_free_pages(b, 2, 100000);
	tb_free_pages(b, 3, SLOW_LOW);
	assert_int_equal(tick(r, b, 100 * MS), TIER_GUARD_ACT_NONE);
	assert_int_equal(r->d.target_node, 3);
	tb_free_pages(b, 3, 100000);
	assert_int_equal(tick(r, b, 100 * MS), TIER_GUARD_ACT_RELEASE);
	tb_free(b);
	run_free(r);

	/* One upper node with two targets: one with room is enough. */
	r = run_new();
	b = tb_new();
	tb_dram(b, 0, DRAM_MIN);
	tb_slow(b, 1, 54, SLOW_MIN);
	tb_slow(b, 2, 54, SLOW_LOW + 1000);
	tb_target(b, 0, 1);
	tb_target(b, 0, 2);
	assert_int_equal(tick(r, b, 0), TIER_GUARD_ACT_NONE);
	tb_free_pages(b, 2, SLOW_LOW - 1);
	assert_int_equal(tick(r, b, 100 * MS), TIER_GUARD_ACT_TRIP);
	/* The reported target is the one with the most room left. */
	assert_int_equal(r->d.target_node, 2);
	assert_int_equal(r->d.free_pages, SLOW_LOW - 1);
	assert_contains(r->d.reason, "2 targets");
	tb_free(b);
	run_free(r);
}

static void test_three_tiers(void **state)
{
	(void)state;
	/* node0 (tier 4) -> {1, 2}, node1 (tier 54) -> {2}, node2 (tier 270). */
	struct run *r = run_new();
	struct tb *b = tb_new();
	tb_dram(b, 0, DRAM_LOW);
	tb_slow(b, 1, 54, 100000);
	tb_slow(b, 2, 270, SLOW_MIN);
	tb_target(b, 0, 1);
	tb_target(b, 0, 2);
	tb_target(b, 1, 2);
	assert_int_equal(b->s.nr_tiers, 3);
	/* node0 under reclaim, node1 has room: demotion still has somewhere to go. */
	assert_int_equal(tick(r, b, 0), TIER_GUARD_ACT_NONE);
	/* node1 under reclaim itself with node2 full: trip on node1. */
	tb_free_pages(b, 1, SLOW_HIGH);
	assert_int_equal(tick(r, b, 100 * MS), TIER_GUARD_ACT_TRIP);
	assert_int_equal(r->d.upper_node, 1);
	assert_int_equal(r->d.target_node, 2);
	assert_contains(r->d.reason, "node 2 (tier 270)");
	assert_contains(r->d.reason, "only demotion target of node 1");
	tb_free(b);
	run_free(r);
}

static void test_target_goes_away(void **state)
{
	(void)state;
	/* The only target goes offline while held: nothing left to guard,
	 * release. */
	struct run *r = run_new();
	r->c.guard_min_hold_usec = 10 * SEC;
	struct tb *b = two_tier(DRAM_LOW, SLOW_MIN);
	assert_int_equal(tick(r, b, 0), TIER_GUARD_ACT_TRIP);
	tb_get(b, 1)->online = false;
	assert_int_equal(tick(r, b, 100 * MS), TIER_GUARD_ACT_RELEASE);
	assert_contains(r->d.reason, "no node has a demotion target");
	/* And while not held it is quiet. */
	assert_int_equal(tick(r, b, 100 * MS), TIER_GUARD_ACT_NONE);
	assert_contains(r->d.quiet_reason, "no node has a demotion target");
	tb_free(b);
	run_free(r);

	/* Two targets, the one with room is unplugged: the remaining full
	 * one trips. */
	r = run_new();
	b = tb_new();
	tb_dram(b, 0, DRAM_LOW);
	tb_slow(b, 1, 54, SLOW_MIN);
	tb_slow(b, 2, 54, 100000);
	tb_target(b, 0, 1);
	tb_target(b, 0, 2);
	assert_int_equal(tick(r, b, 0), TIER_GUARD_ACT_NONE);
	tb_remove(b, 2);   /* still in node0's fallback mask: must be ignored */
	assert_true(tier_bitmask_isset(tb_get(b, 0)->demotion_fallback, 2));
	assert_int_equal(tick(r, b, 100 * MS), TIER_GUARD_ACT_TRIP);
	assert_int_equal(r->d.target_node, 1);
	tb_free(b);
	run_free(r);
}

static void test_one_tier(void **state)
{
	(void)state;
	struct run *r = run_new();
	struct tb *b = tb_new();
	tb_dram(b, 0, DRAM_MIN);
	assert_int_equal(tick(r, b, 0), TIER_GUARD_ACT_NONE);
	assert_string_equal(r->d.quiet_reason, "one memory tier: nothing to guard");
	assert_string_equal(r->d.reason, r->d.quiet_reason);
	assert_int_equal(r->d.next_interval_usec, r->c.interval_usec);
	assert_int_equal(r->d.upper_node, -1);
	assert_false(r->st->held);
	tb_free(b);
	run_free(r);

	/* Two tiers but demotion already off by the admin. */
	r = run_new();
	b = two_tier(DRAM_MIN, SLOW_MIN);
	b->s.demotion_enabled = 0;
	assert_int_equal(tick(r, b, 0), TIER_GUARD_ACT_NONE);
	assert_contains(r->d.quiet_reason, "demotion is off by the admin's choice");
	b->s.demotion_enabled = -1;
	assert_int_equal(tick(r, b, 100 * MS), TIER_GUARD_ACT_NONE);
	assert_contains(r->d.quiet_reason, "unreadable");
	tb_free(b);
	run_free(r);
}

static void test_modes(void **state)
{
	(void)state;
	static const struct {
		enum tier_guard_mode mode;
		bool fixed;
		enum tier_guard_action want;
		const char *quiet;
	} cases[] = {
		{ TIER_GUARD_OFF, false, TIER_GUARD_ACT_NONE, "guard mode is off" },
		{ TIER_GUARD_OFF, true, TIER_GUARD_ACT_NONE, "guard mode is off" },
		{ TIER_GUARD_ON, false, TIER_GUARD_ACT_TRIP, "" },
		{ TIER_GUARD_ON, true, TIER_GUARD_ACT_TRIP, "" },
		{ TIER_GUARD_AUTO, false, TIER_GUARD_ACT_TRIP, "" },
		{ TIER_GUARD_AUTO, true, TIER_GUARD_ACT_NONE, "the kernel carries the demotion fix (mode auto)" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run *r = run_new();
		struct tb *b = two_tier(DRAM_LOW, SLOW_MIN);
		r->c.guard_mode = cases[i].mode;
		r->fixed = cases[i].fixed;
		assert_int_equal(tick(r, b, 0), cases[i].want);
		assert_string_equal(r->d.quiet_reason, cases[i].quiet);
		tb_free(b);
		run_free(r);
	}

	/* Switching to off (reload) while held releases the hold. */
	struct run *r = run_new();
	r->c.guard_min_hold_usec = 60 * SEC;
	struct tb *b = two_tier(DRAM_LOW, SLOW_MIN);
	assert_int_equal(tick(r, b, 0), TIER_GUARD_ACT_TRIP);
	r->c.guard_mode = TIER_GUARD_OFF;
	assert_int_equal(tick(r, b, 100 * MS), TIER_GUARD_ACT_RELEASE);
	assert_contains(r->d.reason, "guard mode is off");
	tb_free(b);
	run_free(r);
}

static void test_predict(void **state)
{
	(void)state;
	/* Steep: node1 loses 10000 pages in 10 ms (~3.8 GiB/s); 9250 pages
	 * above low remain, crossed in ~9 ms, before the next 10 ms check. */
	for (int predict = 0; predict <= 1; predict++) {
		struct run *r = run_new();
		r->c.guard_predict = predict;
		struct tb *b = two_tier(DRAM_LOW, 30000);
		assert_int_equal(tick(r, b, 0), TIER_GUARD_ACT_NONE);
		tb_free_pages(b, 1, 20000);
		enum tier_guard_action a = tick(r, b, 10 * MS);
		if (predict) {
			assert_int_equal(a, TIER_GUARD_ACT_TRIP);
			assert_true(r->d.predicted);
			assert_true(r->d.eta_usec >= 9 * MS && r->d.eta_usec <= 10 * MS);
			assert_int_equal(r->d.free_pages, 20000);
			assert_int_equal(r->d.line_pages, SLOW_LOW);
			assert_contains(r->d.reason, "predicted");
			assert_true(r->st->held);
		} else {
			assert_int_equal(a, TIER_GUARD_ACT_NONE);
			assert_false(r->d.predicted);
			assert_int_equal(r->d.eta_usec, TIER_UNKNOWN);
			/* Polling is at its fastest so the crossing is seen
			 * within one min_interval. */
			assert_int_equal(r->d.next_interval_usec, r->c.min_interval_usec);
			tb_free_pages(b, 1, SLOW_LOW - 1000);
			assert_int_equal(tick(r, b, 10 * MS), TIER_GUARD_ACT_TRIP);
			assert_false(r->d.predicted);
		}
		tb_free(b);
		run_free(r);
	}

	/* Flat: same distance to the line, no slope: no trip. */
	struct run *r = run_new();
	r->c.guard_predict = true;
	struct tb *b = two_tier(DRAM_LOW, 20000);
	for (int i = 0; i < 10; i++)
		assert_int_equal(tick(r, b, 10 * MS), TIER_GUARD_ACT_NONE);
	/* Slow: 100 pages per 10 ms, 9250 pages left: ~0.9 s away. */
	for (int i = 0; i < 10; i++) {
		tb_free_pages(b, 1, 20000 - 100 * (uint64_t)(i + 1));
		assert_int_equal(tick(r, b, 10 * MS), TIER_GUARD_ACT_NONE);
	}
	/* Rising target: never predicts. */
	tb_free_pages(b, 1, 25000);
	assert_int_equal(tick(r, b, 10 * MS), TIER_GUARD_ACT_NONE);
	assert_int_equal(r->trips, 0);
	tb_free(b);
	run_free(r);

	/* The pgdemote rate alone (targets' free flat, e.g. reclaim on the
	 * target keeps pace for now) also predicts. */
	r = run_new();
	r->c.guard_predict = true;
	b = two_tier(DRAM_LOW, SLOW_LOW + 500);
	assert_int_equal(tick(r, b, 0), TIER_GUARD_ACT_NONE);
	tb_demoted(b, 0, 1000);
	assert_int_equal(tick(r, b, 10 * MS), TIER_GUARD_ACT_TRIP);
	assert_true(r->d.predicted);
	tb_free(b);
	run_free(r);
}

static void test_interval(void **state)
{
	(void)state;
	struct run *r = run_new();
	/* node0 under reclaim; node1 ~740 MiB above its trip line: at the
	 * assumed 6 GiB/s that is ~120 ms. */
	uint64_t far = SLOW_LOW + 189440;     /* 740 MiB */
	struct tb *b = two_tier(DRAM_LOW, far);
	tick(r, b, 0);
	uint64_t far_iv = r->d.next_interval_usec;
	assert_true(far_iv > 110 * MS && far_iv < 130 * MS);

	/* Headroom shrinks: so does the interval, down to min_interval. */
	uint64_t last = far_iv;
	for (uint64_t f = far; f > SLOW_LOW + 2000; f /= 2) {
		tb_free_pages(b, 1, f);
		tick(r, b, 100 * MS);
		assert_true(r->d.next_interval_usec <= last);
		last = r->d.next_interval_usec;
	}
	tb_free_pages(b, 1, SLOW_LOW + 100);
	tick(r, b, 100 * MS);
	assert_int_equal(r->d.next_interval_usec, r->c.min_interval_usec);

	/* Far again: grows back, at most doubling per tick, up to the
	 * headroom-based value. */
	tb_free_pages(b, 1, far);
	uint64_t seq[8];
	for (int i = 0; i < 8; i++) {
		tick(r, b, 100 * MS);
		seq[i] = r->d.next_interval_usec;
	}
	assert_int_equal(seq[0], 20 * MS);
	assert_int_equal(seq[1], 40 * MS);
	assert_int_equal(seq[2], 80 * MS);
	assert_int_equal(seq[3], far_iv);
	assert_int_equal(seq[7], far_iv);

	/* Far from both lines (node0 well above high too) and a low ceiling:
	 * clamped to max_interval. */
	r->c.max_interval_usec = 100 * MS;
	tb_free_pages(b, 0, 200000);
	tick(r, b, 100 * MS);
	assert_int_equal(r->d.next_interval_usec, 100 * MS);
	tb_free(b);
	run_free(r);

	/* An idle host whose slow node is full by design: node0 is far above
	 * high and nothing demotes, so polling stays slow. */
	r = run_new();
	b = two_tier(200000, SLOW_MIN);
	tick(r, b, 0);
	assert_true(r->d.next_interval_usec > 100 * MS);
	assert_contains(r->d.reason, "not under reclaim");
	tb_free(b);
	run_free(r);
}

static void test_admin_override(void **state)
{
	(void)state;
	struct run *r = run_new();
	struct tb *b = two_tier(DRAM_LOW, SLOW_MIN);
	assert_int_equal(tick(r, b, 0), TIER_GUARD_ACT_TRIP);
	assert_true(r->st->held);

	/* The owner saw the admin write true while the guard's reason held. */
	tier_guard_stand_down(r->st);
	assert_false(r->st->held);
	assert_true(r->st->stood_down);

	/* Still full: the guard does not fight the admin. */
	assert_int_equal(tick(r, b, 100 * MS), TIER_GUARD_ACT_NONE);
	assert_contains(r->d.quiet_reason, "stood down");
	/* Back above the release line: re-armed. */
	tb_free_pages(b, 1, SLOW_RELEASE + 1);
	assert_int_equal(tick(r, b, 100 * MS), TIER_GUARD_ACT_NONE);
	assert_false(r->st->stood_down);
	assert_string_equal(r->d.quiet_reason, "");
	/* A new episode trips again. */
	tb_free_pages(b, 1, SLOW_MIN);
	assert_int_equal(tick(r, b, 100 * MS), TIER_GUARD_ACT_TRIP);
	assert_int_equal(r->trips, 2);
	tb_free(b);
	run_free(r);

	/* Dry run decides exactly the same (the owner does not write). */
	r = run_new();
	r->c.dry_run = true;
	b = two_tier(DRAM_LOW, SLOW_MIN);
	assert_int_equal(tick(r, b, 0), TIER_GUARD_ACT_TRIP);
	assert_int_equal(tick(r, b, 100 * MS), TIER_GUARD_ACT_NONE);
	assert_true(r->st->held);
	tb_free_pages(b, 1, SLOW_RELEASE + 1);
	assert_int_equal(tick(r, b, 100 * MS), TIER_GUARD_ACT_RELEASE);
	tb_free(b);
	run_free(r);
}

static void test_null_prev(void **state)
{
	(void)state;
	struct tb *b = two_tier(DRAM_LOW, SLOW_MIN);
	struct tier_config c = cfg();
	struct tier_guard_state *next = malloc(sizeof(*next));
	struct tier_guard_decision d;
	assert_non_null(next);
	/* prev NULL = first tick. */
	tier_guard_decide(&b->s, &c, NULL, 5 * SEC, false, next, &d);
	assert_int_equal(d.action, TIER_GUARD_ACT_TRIP);
	assert_true(next->held);
	assert_true(next->have_sample);
	assert_int_equal(next->free_pages[1], SLOW_MIN);
	/* Held: the next tick keeps holding, whatever became of the knob
	 * write (the owner retries; the guard's reason stands). */
	tier_guard_decide(&b->s, &c, next, 6 * SEC, false, next, &d);
	assert_int_equal(d.action, TIER_GUARD_ACT_NONE);
	assert_true(next->held);
	free(next);
	tb_free(b);
}

static void test_kernel_release(void **state)
{
	(void)state;
	assert_true(tier_kernel_release_at_least("6.12.0-1-amd64", "6.12"));
	assert_true(tier_kernel_release_at_least("6.12.3", "6.12.3"));
	assert_true(tier_kernel_release_at_least("7.0-rc1", "7.0"));
	assert_true(tier_kernel_release_at_least("10.1", "9.20"));
	assert_false(tier_kernel_release_at_least("6.11.9", "6.12"));
	assert_false(tier_kernel_release_at_least("6.12.3", "6.12.4"));
	assert_false(tier_kernel_release_at_least("6.9", "6.12"));
	assert_false(tier_kernel_release_at_least("garbage", "6.1"));
	assert_false(tier_kernel_release_at_least("6", "6.1"));
	assert_false(tier_kernel_release_at_least(NULL, "6.1"));
	assert_false(tier_kernel_release_at_least("6.18", NULL));
	const char *first = TIER_DEMOTION_FIX_FIRST_RELEASE;
	/* No fixed release is known yet: never fixed.  Once one is set, a
	 * far-future kernel must count as fixed and 6.1 must not. */
	assert_int_equal(tier_kernel_has_demotion_fix("99.0"), first != NULL);
	assert_false(tier_kernel_has_demotion_fix("6.1.0"));
	assert_false(tier_kernel_has_demotion_fix(NULL));
}

/* The real capture: 6.12, node0 DRAM just above min (under reclaim), node1
 * (tier 54) below min, demotion on. */
static void test_fixture_pressure(void **state)
{
	(void)state;
	int fd = tu_open_fixture("vm-6.12-hmat-2tier-pressure");
	struct tier_snapshot *s = NULL;
	char err[256] = "";
	int rc = tier_snapshot_acquire(fd, &s, err, sizeof(err));
	close(fd);
	if (rc == -ENOSYS) {
		skip();
		return;
	}
	if (rc < 0)
		fail_msg("acquire: %d %s", rc, err);
	assert_int_equal(s->demotion_enabled, 1);
	struct tier_node *n1 = tier_snapshot_node(s, 1);
	assert_non_null(n1);

	struct tier_config c = cfg();
	struct tier_guard_state *st = malloc(sizeof(*st));
	assert_non_null(st);
	tier_guard_state_init(st);
	struct tier_guard_decision d;
	tier_guard_decide(s, &c, st, 1 * SEC, false, st, &d);
	assert_int_equal(d.action, TIER_GUARD_ACT_TRIP);
	assert_int_equal(d.upper_node, 0);
	assert_int_equal(d.target_node, 1);
	assert_int_equal(d.free_pages, 6732);
	assert_int_equal(d.line_pages, n1->low_pages);
	assert_true(d.line_pages >= 10757);
	assert_contains(d.reason, "node 1 (tier 54) free 26 MiB <= low 42 MiB");
	assert_contains(d.reason, "free 46 MiB <= high 48 MiB");

	/* Mode off on the same host: quiet. */
	c.guard_mode = TIER_GUARD_OFF;
	tier_guard_state_init(st);
	tier_guard_decide(s, &c, st, 1 * SEC, false, st, &d);
	assert_int_equal(d.action, TIER_GUARD_ACT_NONE);
	assert_string_equal(d.quiet_reason, "guard mode is off");
	free(st);
	tier_snapshot_free(s);
}

static void test_fixture_one_tier(void **state)
{
	(void)state;
	int fd = tu_open_fixture("host-1node-6.18");
	struct tier_snapshot *s = NULL;
	char err[256] = "";
	int rc = tier_snapshot_acquire(fd, &s, err, sizeof(err));
	close(fd);
	if (rc == -ENOSYS) {
		skip();
		return;
	}
	if (rc < 0)
		fail_msg("acquire: %d %s", rc, err);
	struct tier_config c = cfg();
	struct tier_guard_state *st = malloc(sizeof(*st));
	assert_non_null(st);
	tier_guard_state_init(st);
	struct tier_guard_decision d;
	tier_guard_decide(s, &c, st, 1 * SEC, false, st, &d);
	assert_int_equal(d.action, TIER_GUARD_ACT_NONE);
	assert_string_equal(d.quiet_reason, "one memory tier: nothing to guard");
	free(st);
	tier_snapshot_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trip),
		cmocka_unit_test(test_global_counters_fallback),
		cmocka_unit_test(test_hold_and_release),
		cmocka_unit_test(test_no_flapping),
		cmocka_unit_test(test_several_upper_nodes),
		cmocka_unit_test(test_three_tiers),
		cmocka_unit_test(test_target_goes_away),
		cmocka_unit_test(test_one_tier),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_predict),
		cmocka_unit_test(test_interval),
		cmocka_unit_test(test_admin_override),
		cmocka_unit_test(test_null_prev),
		cmocka_unit_test(test_kernel_release),
		cmocka_unit_test(test_fixture_pressure),
		cmocka_unit_test(test_fixture_one_tier),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
