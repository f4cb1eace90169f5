/* SPDX-License-Identifier: MIT */
/*
 * Pressure relief decisions (lib/relief.c), pure: start/stop hysteresis,
 * target choice, the no-cycle rule, -ENOMEM backoff, victim ordering and
 * skipping, the token bucket and the one-minute rate window; private nodes
 * as targets; page heat, skips and order; the sparse-VMA rule; victim
 * estimates from cheap signals.
 */
#include "testutil.h"
#include "relief-testsnap.h"

#include <errno.h>

#include <tier/pagemap.h>
#include <tier/relief.h>

#define SEC 1000000ull

struct fx {
	struct rsnap *b;
	struct tier_config *c;
	struct tier_relief_state *st;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->b = rs_new();
	f->c = tier_config_new_default();
	f->st = malloc(sizeof(*f->st));
	tier_relief_state_init(f->st);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	rs_free(f->b);
	tier_config_free(f->c);
	free(f->st);
	free(f);
	return 0;
}

static void defaults_match_contract(void **state)
{
	struct fx *f = *state;
	/* The tests below assume the documented defaults. */
	assert_true(f->c->relief_enabled);
	assert_int_equal(f->c->relief_start_at.base, TIER_WM_LOW);
	assert_int_equal(f->c->relief_nr_targets, 3);
	assert_int_equal(f->c->relief_targets[0], TIER_RELIEF_SIBLING);
	assert_int_equal(f->c->relief_targets[1], TIER_RELIEF_SLOWER);
	assert_int_equal(f->c->relief_targets[2], TIER_RELIEF_FASTER);
	rs_node(f->b, 0, 4, 100000);
	uint64_t start, stop;
	tier_relief_lines(f->c, &f->b->nodes[0], 4096, &start, &stop);
	assert_int_equal(start, RS_LOW);
	assert_int_equal(stop, RS_STOP);
	/* stop not above start: start + 1 */
	f->c->relief_stop_at.base = TIER_WM_MIN;
	f->c->relief_stop_at.plus_bytes = 0;
	f->c->relief_stop_at.plus_permille = 0;
	tier_relief_lines(f->c, &f->b->nodes[0], 4096, &start, &stop);
	assert_int_equal(stop, RS_LOW + 1);
}

static void hysteresis(void **state)
{
	struct fx *f = *state;
	struct bitmask *on = tier_nodemask_alloc(), *off = tier_nodemask_alloc();
	rs_node(f->b, 0, 4, 500);          /* DRAM far below min: never relieved */
	rs_node(f->b, 1, 54, RS_LOW + 1);

	assert_int_equal(tier_relief_update(&f->b->s, f->c, f->st, on, off), -1);
	assert_false(f->st->active[0]);
	assert_false(f->st->active[1]);

	rs_set_free(f->b, 1, RS_LOW);      /* at start_at: starts */
	assert_int_equal(tier_relief_update(&f->b->s, f->c, f->st, on, off), 1);
	assert_true(tier_bitmask_isset(on, 1));
	assert_true(tier_bitmask_empty(off));

	rs_set_free(f->b, 1, RS_HIGH);     /* between the lines: keeps going */
	assert_int_equal(tier_relief_update(&f->b->s, f->c, f->st, on, off), 1);
	assert_true(tier_bitmask_empty(on));
	rs_set_free(f->b, 1, RS_STOP);     /* at stop_at: not above yet */
	assert_int_equal(tier_relief_update(&f->b->s, f->c, f->st, on, off), 1);
	rs_set_free(f->b, 1, RS_STOP + 1); /* above: stops */
	assert_int_equal(tier_relief_update(&f->b->s, f->c, f->st, on, off), -1);
	assert_true(tier_bitmask_isset(off, 1));
	assert_false(f->st->active[1]);

	rs_set_free(f->b, 1, RS_HIGH);     /* between the lines, from inactive: stays off */
	assert_int_equal(tier_relief_update(&f->b->s, f->c, f->st, on, off), -1);

	/* Disabled: an active node stops. */
	rs_set_free(f->b, 1, 100);
	assert_int_equal(tier_relief_update(&f->b->s, f->c, f->st, on, off), 1);
	f->c->relief_enabled = false;
	assert_int_equal(tier_relief_update(&f->b->s, f->c, f->st, on, off), -1);
	assert_true(tier_bitmask_isset(off, 1));
	f->c->relief_enabled = true;

	/* A node that vanished from the snapshot stops. */
	assert_int_equal(tier_relief_update(&f->b->s, f->c, f->st, on, off), 1);
	f->b->s.nr_nodes = 1;
	assert_int_equal(tier_relief_update(&f->b->s, f->c, f->st, on, off), -1);
	assert_true(tier_bitmask_isset(off, 1));
	tier_bitmask_free(on);
	tier_bitmask_free(off);
}

static void one_tier_nothing(void **state)
{
	struct fx *f = *state;
	rs_node(f->b, 0, 4, 10);
	rs_node(f->b, 1, 4, 10);           /* CPU-less sibling in the same tier */
	assert_int_equal(tier_relief_update(&f->b->s, f->c, f->st, NULL, NULL), -1);
	assert_false(tier_relief_is_lower_node(&f->b->s, &f->b->nodes[1]));
}

static void most_urgent_first(void **state)
{
	struct fx *f = *state;
	rs_node(f->b, 0, 4, 100000);
	rs_node(f->b, 1, 54, RS_LOW - 100);
	rs_node(f->b, 2, 54, RS_LOW - 2000);
	rs_node(f->b, 3, 54, RS_LOW - 2000);
	/* 2 and 3 tie: the lower id. */
	assert_int_equal(tier_relief_update(&f->b->s, f->c, f->st, NULL, NULL), 2);
	rs_set_free(f->b, 1, 5);
	assert_int_equal(tier_relief_update(&f->b->s, f->c, f->st, NULL, NULL), 1);
}

/* 0: DRAM (tier 4); 1, 2: tier 54 siblings; 3: tier 270; 4: tier 500. */
static void four_nodes(struct fx *f, uint64_t f0, uint64_t f2, uint64_t f3, uint64_t f4)
{
	rs_node(f->b, 0, 4, f0);
	rs_node(f->b, 1, 54, RS_LOW - 500);
	rs_node(f->b, 2, 54, f2);
	rs_node(f->b, 3, 270, f3);
	if (f4)
		rs_node(f->b, 4, 500, f4);
}

static void target_order_and_room(void **state)
{
	struct fx *f = *state;
	struct tier_relief_choice ch;
	four_nodes(f, 100000, RS_LOW + 5001, 50000, 0);

	/* sibling first; room = free - (max(low, start) + 1) */
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, NULL, NULL, NULL, NULL, 0, 0, &ch), 0);
	assert_int_equal(ch.node, 2);
	assert_int_equal(ch.kind, TIER_RELIEF_SIBLING);
	assert_int_equal(ch.room_pages, 5000);

	/* The sibling at its line has no room: the slower tier. */
	rs_set_free(f->b, 2, RS_LOW + 1);
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, NULL, NULL, NULL, NULL, 0, 0, &ch), 0);
	assert_int_equal(ch.node, 3);
	assert_int_equal(ch.kind, TIER_RELIEF_SLOWER);
	assert_int_equal(ch.room_pages, 50000 - RS_LOW - 1);

	/* Planned pages use up room: 3 full -> faster (node 0, well above high:
	 * floor = high + 2% of managed = 12900 + 5243). */
	uint64_t planned[8] = { 0 };
	planned[3] = 50000 - RS_LOW - 1;
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, NULL, NULL, NULL, planned, 8, 0, &ch), 0);
	assert_int_equal(ch.node, 0);
	assert_int_equal(ch.kind, TIER_RELIEF_FASTER);
	assert_int_equal(ch.room_pages, 100000 - 12900 - 5243);

	/* A faster node only just above high is not "well above": none. */
	rs_set_free(f->b, 0, 12900 + 5243);
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, NULL, NULL, NULL, planned, 8, 0, &ch), -ENOSPC);
	assert_int_equal(ch.node, -1);
	rs_set_free(f->b, 0, 12900 + 5244);
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, NULL, NULL, NULL, planned, 8, 0, &ch), 0);
	assert_int_equal(ch.room_pages, 1);

	/* avoid (e.g. outside the victim's cpuset after EACCES) */
	struct bitmask *avoid = tier_nodemask_alloc();
	tier_bitmask_set(avoid, 0);
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, avoid, NULL, NULL, planned, 8, 0, &ch), -ENOSPC);
	tier_bitmask_free(avoid);

	/* The configured order: faster before slower. */
	rs_set_free(f->b, 0, 100000);
	f->c->relief_targets[0] = TIER_RELIEF_FASTER;
	f->c->relief_targets[1] = TIER_RELIEF_SLOWER;
	f->c->relief_nr_targets = 2;
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, NULL, NULL, NULL, NULL, 0, 0, &ch), 0);
	assert_int_equal(ch.node, 0);
	/* Only slower configured: never up, never sideways. */
	f->c->relief_targets[0] = TIER_RELIEF_SLOWER;
	f->c->relief_nr_targets = 1;
	rs_set_free(f->b, 2, 200000);
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, NULL, NULL, NULL, NULL, 0, 0, &ch), 0);
	assert_int_equal(ch.node, 3);
	/* The slowest node has no slower target. */
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 3, NULL, NULL, NULL, NULL, 0, 0, &ch), -ENOSPC);
}

static void never_below_low(void **state)
{
	struct fx *f = *state;
	struct tier_relief_choice ch;
	/* start_at = min: the floor is still the target's low watermark. */
	f->c->relief_start_at.base = TIER_WM_MIN;
	four_nodes(f, 0, RS_LOW + 10, 0, 0);
	rs_set_free(f->b, 1, RS_MIN);
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, NULL, NULL, NULL, NULL, 0, 0, &ch), 0);
	assert_int_equal(ch.node, 2);
	assert_int_equal(ch.room_pages, 9);
	assert_int_equal(tier_relief_room(&f->b->s, f->c, rs_get(f->b, 2), TIER_RELIEF_SIBLING), 9);
	/* start_at above low: the floor is the target's start line, so the
	 * target does not itself start relief (sibling ping-pong). */
	f->c->relief_start_at.base = TIER_WM_HIGH;
	assert_int_equal(tier_relief_room(&f->b->s, f->c, rs_get(f->b, 2), TIER_RELIEF_SIBLING), 0);
	rs_set_free(f->b, 2, RS_HIGH + 100);
	assert_int_equal(tier_relief_room(&f->b->s, f->c, rs_get(f->b, 2), TIER_RELIEF_SIBLING), 99);
	/* An offline node is never a target. */
	rs_get(f->b, 2)->online = false;
	assert_int_equal(tier_relief_room(&f->b->s, f->c, rs_get(f->b, 2), TIER_RELIEF_SIBLING), 0);
}

static void nearest_tier_then_room_then_distance(void **state)
{
	struct fx *f = *state;
	struct tier_relief_choice ch;
	four_nodes(f, 0, 0, 30000, 200000);
	/* 3 (tier 270) is nearer than 4 (tier 500) although 4 has more room. */
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, NULL, NULL, NULL, NULL, 0, 0, &ch), 0);
	assert_int_equal(ch.node, 3);
	assert_int_equal(ch.kind, TIER_RELIEF_SLOWER);
	rs_free(f->b);

	/* Siblings: most room; equal room -> smaller distance -> lower id. */
	f->b = rs_new();
	rs_node(f->b, 0, 4, 0);
	rs_node(f->b, 1, 54, 0);
	rs_node(f->b, 2, 54, 40000);
	rs_node(f->b, 3, 54, 50000);
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, NULL, NULL, NULL, NULL, 0, 0, &ch), 0);
	assert_int_equal(ch.node, 3);
	rs_set_free(f->b, 2, 50000);
	rs_dist(f->b, 1, 2, 30);
	rs_dist(f->b, 1, 3, 25);
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, NULL, NULL, NULL, NULL, 0, 0, &ch), 0);
	assert_int_equal(ch.node, 3);
	rs_dist(f->b, 1, 3, 30);
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, NULL, NULL, NULL, NULL, 0, 0, &ch), 0);
	assert_int_equal(ch.node, 2);
}

static void enomem_backoff(void **state)
{
	struct fx *f = *state;
	struct tier_relief_choice ch;
	four_nodes(f, 0, 40000, 40000, 0);
	uint64_t now = 1000 * SEC;
	tier_relief_note_enomem(f->st, 2, now);
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, NULL, NULL, NULL, NULL, 0, now, &ch), 0);
	assert_int_equal(ch.node, 3);
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, NULL, NULL, NULL, NULL, 0,
						   now + TIER_RELIEF_ENOMEM_BACKOFF_USEC - 1, &ch),
			 0);
	assert_int_equal(ch.node, 3);
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, NULL, NULL, NULL, NULL, 0,
						   now + TIER_RELIEF_ENOMEM_BACKOFF_USEC, &ch),
			 0);
	assert_int_equal(ch.node, 2);
}

static void no_cycles(void **state)
{
	struct fx *f = *state;
	struct tier_relief_choice ch;
	four_nodes(f, 0, 40000, 0, 0);
	uint64_t now = 5000 * SEC, cool = f->c->relief_cooldown_usec;
	assert_int_equal(cool, 60 * SEC);
	/* Relief moved pages 2 -> 1 earlier; now 1 is pressured: not back to 2. */
	tier_relief_note_moved(f->st, 2, 1, now, cool);
	assert_true(tier_relief_flow_blocked(f->st, 1, 2, now + 1));
	assert_false(tier_relief_flow_blocked(f->st, 2, 1, now + 1)); /* same direction is fine */
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, NULL, NULL, NULL, NULL, 0, now + SEC, &ch),
			 -ENOSPC);
	/* After the cool-down it may. */
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, NULL, NULL, NULL, NULL, 0, now + cool, &ch), 0);
	assert_int_equal(ch.node, 2);
	/* A later move extends the flow. */
	tier_relief_note_moved(f->st, 2, 1, now + 30 * SEC, cool);
	assert_int_equal(f->st->nr_flows, 1);
	assert_true(tier_relief_flow_blocked(f->st, 1, 2, now + 89 * SEC));
	assert_false(tier_relief_flow_blocked(f->st, 1, 2, now + 90 * SEC));

	/* The table is bounded: the flow expiring first is replaced. */
	for (int i = 0; i < TIER_RELIEF_MAX_FLOWS + 5; i++)
		tier_relief_note_moved(f->st, 100 + i, 1, now + 31 * SEC + (uint64_t)i, cool);
	assert_int_equal(f->st->nr_flows, TIER_RELIEF_MAX_FLOWS);
	assert_false(tier_relief_flow_blocked(f->st, 1, 2, now + 32 * SEC)); /* 2->1 was oldest: gone */
	assert_true(tier_relief_flow_blocked(f->st, 1, 100 + TIER_RELIEF_MAX_FLOWS + 4, now + 32 * SEC));
	/* Expired flows are dropped on the next note. */
	tier_relief_note_moved(f->st, 7, 6, now + 1000 * SEC, cool);
	assert_int_equal(f->st->nr_flows, 1);
	/* cooldown 0: no flows kept. */
	tier_relief_note_moved(f->st, 5, 6, now + 2000 * SEC, 0);
	assert_int_equal(f->st->nr_flows, 0);
}

static void victims_order(void **state)
{
	(void)state;
	struct tier_relief_victim v[5] = {
		{ .pid = 30, .pages = 100 }, { .pid = 10, .pages = 5000 }, { .pid = 20, .pages = 100 },
		{ .pid = 5, .pages = 0 },    { .pid = 40, .pages = 70000 },
	};
	tier_relief_sort_victims(v, 5);
	const pid_t want[5] = { 40, 10, 20, 30, 5 };
	for (int i = 0; i < 5; i++)
		assert_int_equal(v[i].pid, want[i]);
}

static void victims_skip(void **state)
{
	(void)state;
	struct tier_proc_status user = { .tgid = 100, .has_mm = true }, kthread = { .tgid = 2, .kthread = true },
				zombie = { .tgid = 50, .state = 'Z' };
	struct tier_proc_cgroups cg;
	char *globs[] = { "/batch/*", "/system.slice/db.service", NULL };
	char *none[] = { NULL };

	assert_int_equal(tier_relief_victim_skip(2, 1, &kthread, NULL, globs, false), TIER_RELIEF_SKIP_KTHREAD);
	assert_int_equal(tier_relief_victim_skip(50, 1, &zombie, NULL, globs, false), TIER_RELIEF_SKIP_KTHREAD);
	assert_int_equal(tier_relief_victim_skip(100, 100, &user, NULL, globs, false), TIER_RELIEF_SKIP_SELF);
	assert_int_equal(tier_relief_victim_skip(100, 1, &user, NULL, globs, true), TIER_RELIEF_SKIP_FENCED);
	assert_int_equal(tier_relief_victim_skip(100, 1, &user, NULL, globs, false), TIER_RELIEF_SKIP_NONE);

	const struct {
		const char *cgroup;
		bool excluded;
	} cases[] = {
		{ "0::/batch/job1\n", true },
		{ "0::/batch/job1/sub\n", true },    /* a cgroup excludes its subtree */
		{ "0::/batch\n", false },
		{ "0::/system.slice/db.service\n", true },
		{ "0::/system.slice/db.service/x\n", true },
		{ "0::/system.slice/db.service2\n", false },
		{ "0::/\n", false },
		/* hybrid: the v1 memory hierarchy places it under /batch */
		{ "4:memory:/batch/j\n1:name=systemd:/user.slice\n0::/\n", true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *m = NULL;
		assert_int_equal(tier_proc_cgroups_parse(cases[i].cgroup, &cg), 0);
		assert_int_equal(tier_relief_cgroup_excluded(&cg, globs, &m), cases[i].excluded);
		assert_int_equal(tier_relief_victim_skip(100, 1, &user, &cg, globs, false),
				 cases[i].excluded ? TIER_RELIEF_SKIP_EXCLUDED : TIER_RELIEF_SKIP_NONE);
		if (cases[i].excluded)
			assert_non_null(m);
		assert_false(tier_relief_cgroup_excluded(&cg, none, NULL));
		tier_proc_cgroups_free(&cg);
	}
	assert_string_equal(tier_relief_skip_name(TIER_RELIEF_SKIP_EXCLUDED), "excluded");
}

static void bucket(void **state)
{
	(void)state;
	struct tier_token_bucket b = { 0 };
	const uint64_t MB = 1000000;
	tier_bucket_init(&b, 100 * MB, 10 * MB);
	tier_bucket_refill(&b, 7 * SEC);                  /* starts full */
	assert_int_equal(b.tokens_bytes, 10 * MB);
	assert_int_equal(tier_bucket_allowance(&b, 4 * MB), 4 * MB);
	assert_int_equal(tier_bucket_allowance(&b, 64 * MB), 10 * MB);
	tier_bucket_take(&b, 10 * MB);
	assert_int_equal(b.tokens_bytes, 0);
	assert_int_equal(tier_bucket_wait_usec(&b, 10 * MB), 100000);
	assert_int_equal(tier_bucket_wait_usec(&b, 50 * MB), 100000);    /* capped to burst */
	tier_bucket_refill(&b, 7 * SEC + 50000);          /* 50 ms at 100 MB/s */
	assert_int_equal(b.tokens_bytes, 5 * MB);
	assert_int_equal(tier_bucket_wait_usec(&b, 5 * MB), 0);
	tier_bucket_take(&b, 6 * MB);                     /* saturates */
	assert_int_equal(b.tokens_bytes, 0);
	tier_bucket_refill(&b, 100 * SEC);                /* capped at burst */
	assert_int_equal(b.tokens_bytes, 10 * MB);
	tier_bucket_refill(&b, 99 * SEC);                 /* time going back: nothing */
	assert_int_equal(b.tokens_bytes, 10 * MB);
	/* A lower burst on reload caps the tokens. */
	tier_bucket_init(&b, 100 * MB, 2 * MB);
	assert_int_equal(b.tokens_bytes, 2 * MB);

	/* Fractions of a byte carry over: 3 B/s refilled every 10 ms. */
	struct tier_token_bucket s = { 0 };
	tier_bucket_init(&s, 3, 1000);
	tier_bucket_refill(&s, 0);
	tier_bucket_take(&s, 1000);
	for (uint64_t t = 10000; t <= 2 * SEC; t += 10000)
		tier_bucket_refill(&s, t);
	assert_int_equal(s.tokens_bytes, 6);
	assert_int_equal(s.rem, 0);
}

static void rate_window(void **state)
{
	(void)state;
	struct tier_rate_window w;
	memset(&w, 0, sizeof(w));
	assert_int_equal(tier_rate_window_sum(&w, 0), 0);
	tier_rate_window_add(&w, 0, 10);
	tier_rate_window_add(&w, 30 * SEC, 20);
	tier_rate_window_add(&w, 30 * SEC + 500000, 5);
	tier_rate_window_add(&w, 59 * SEC + 900000, 40);
	assert_int_equal(tier_rate_window_sum(&w, 59 * SEC + 999999), 75);
	assert_int_equal(tier_rate_window_sum(&w, 60 * SEC), 65);         /* second 0 left the window */
	tier_rate_window_add(&w, 61 * SEC, 1);                             /* reuses second 1's slot */
	assert_int_equal(tier_rate_window_sum(&w, 61 * SEC), 66);
	assert_int_equal(tier_rate_window_sum(&w, 90 * SEC), 41);
	assert_int_equal(tier_rate_window_sum(&w, 200 * SEC), 0);
}

/* Issue 13 item 2: a private node is a target only for a victim granted it. */
static void private_nodes_need_a_grant(void **state)
{
	struct fx *f = *state;
	struct tier_relief_choice ch;
	four_nodes(f, 100000, RS_LOW + 5001, 50000, 0);
	struct bitmask *priv = tier_nodemask_alloc(), *granted = tier_nodemask_alloc();
	tier_bitmask_set(priv, 2);
	/* The sibling 2 has the most room but is private: the slower node 3. */
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, NULL, priv, NULL, NULL, 0, 0, &ch), 0);
	assert_int_equal(ch.node, 3);
	/* An empty grant changes nothing. */
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, NULL, priv, granted, NULL, 0, 0, &ch), 0);
	assert_int_equal(ch.node, 3);
	/* Granted node 2: the sibling again. */
	tier_bitmask_set(granted, 2);
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, NULL, priv, granted, NULL, 0, 0, &ch), 0);
	assert_int_equal(ch.node, 2);
	assert_int_equal(ch.kind, TIER_RELIEF_SIBLING);
	/* A grant of a node that is not private means nothing either way. */
	tier_bitmask_zero(granted);
	tier_bitmask_set(granted, 3);
	tier_bitmask_set(priv, 3);
	tier_bitmask_set(priv, 0);
	/* Every target private, none granted but 3: only 3. */
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, NULL, priv, granted, NULL, 0, 0, &ch), 0);
	assert_int_equal(ch.node, 3);
	tier_bitmask_zero(granted);
	assert_int_equal(tier_relief_choose_target(&f->b->s, f->c, f->st, 1, NULL, priv, granted, NULL, 0, 0, &ch),
			 -ENOSPC);
	assert_int_equal(ch.node, -1);
	tier_bitmask_free(priv);
	tier_bitmask_free(granted);
}

#define KPF(b) (1ull << (b))

static void page_heat(void **state)
{
	(void)state;
	struct tier_page_signals s = { 0 };
	/* No signal at all: cold (the order is then the address order). */
	assert_int_equal(tier_relief_page_heat(&s), TIER_HEAT_COLD);
	/* A soft-dirty bit that does not mean "written since the mark" (the
	 * window has not passed) says nothing. */
	s.written = true;
	assert_int_equal(tier_relief_page_heat(&s), TIER_HEAT_COLD);
	s.have_written = true;
	assert_int_equal(tier_relief_page_heat(&s), TIER_HEAT_HOT);
	s.written = false;
	assert_int_equal(tier_relief_page_heat(&s), TIER_HEAT_COLD);
	/* kpageflags */
	s.have_kpf = true;
	s.kpf = KPF(TIER_KPF_LRU) | KPF(TIER_KPF_ACTIVE);
	assert_int_equal(tier_relief_page_heat(&s), TIER_HEAT_HOT);
	s.kpf = KPF(TIER_KPF_LRU) | KPF(TIER_KPF_REFERENCED);
	assert_int_equal(tier_relief_page_heat(&s), TIER_HEAT_WARM);
	/* idle-tracked and untouched since: cold even if referenced once */
	s.kpf |= KPF(TIER_KPF_IDLE);
	assert_int_equal(tier_relief_page_heat(&s), TIER_HEAT_COLD);
	/* ... but a write since the mark wins */
	s.written = true;
	assert_int_equal(tier_relief_page_heat(&s), TIER_HEAT_HOT);
	/* flags are ignored when not read */
	s.written = false;
	s.have_kpf = false;
	s.kpf = KPF(TIER_KPF_ACTIVE);
	assert_int_equal(tier_relief_page_heat(&s), TIER_HEAT_COLD);
	assert_string_equal(tier_page_heat_name(TIER_HEAT_WARM), "warm");
}

static void page_skip(void **state)
{
	(void)state;
	assert_int_equal(tier_relief_page_skip(KPF(TIER_KPF_LRU) | KPF(TIER_KPF_ANON)), TIER_PAGE_SKIP_NONE);
	assert_int_equal(tier_relief_page_skip(KPF(TIER_KPF_ACTIVE) | KPF(TIER_KPF_THP) | KPF(TIER_KPF_COMPOUND_HEAD)),
			 TIER_PAGE_SKIP_NONE);
	assert_int_equal(tier_relief_page_skip(KPF(TIER_KPF_MLOCKED) | KPF(TIER_KPF_UNEVICTABLE)), TIER_PAGE_SKIP_MLOCKED);
	assert_int_equal(tier_relief_page_skip(KPF(TIER_KPF_UNEVICTABLE)), TIER_PAGE_SKIP_UNEVICTABLE);
	const int unmovable[] = { TIER_KPF_NOPAGE, TIER_KPF_ZERO_PAGE, TIER_KPF_HWPOISON, TIER_KPF_OFFLINE,
				  TIER_KPF_SLAB, TIER_KPF_BUDDY };
	for (size_t i = 0; i < sizeof(unmovable) / sizeof(unmovable[0]); i++)
		assert_int_equal(tier_relief_page_skip(KPF(unmovable[i]) | KPF(TIER_KPF_MLOCKED)),
				 TIER_PAGE_SKIP_UNMOVABLE);
}

static void heat_order(void **state)
{
	(void)state;
	enum tier_page_heat o[TIER_HEAT_NR];
	tier_relief_heat_order(TIER_RELIEF_SLOWER, o);
	assert_int_equal(o[0], TIER_HEAT_COLD);
	assert_int_equal(o[1], TIER_HEAT_WARM);
	assert_int_equal(o[2], TIER_HEAT_HOT);
	tier_relief_heat_order(TIER_RELIEF_SIBLING, o);
	assert_int_equal(o[0], TIER_HEAT_COLD);
	assert_int_equal(o[2], TIER_HEAT_HOT);
	tier_relief_heat_order(TIER_RELIEF_FASTER, o);
	assert_int_equal(o[0], TIER_HEAT_HOT);
	assert_int_equal(o[1], TIER_HEAT_WARM);
	assert_int_equal(o[2], TIER_HEAT_COLD);
}

static void sparse_rule(void **state)
{
	(void)state;
	const uint64_t GiB = 1ull << 30, TiB = GiB << 10;
	/* Up to 64 GiB is always walked. */
	assert_true(tier_relief_span_walkable(64 * GiB, 0));
	assert_false(tier_relief_span_walkable(64 * GiB + 4096, 0));
	/* The hostile process: 16 TiB, a few MiB resident. */
	assert_false(tier_relief_span_walkable(16 * TiB, 8ull << 20));
	/* A JVM heap: 1 TiB reserved, 100 GiB resident: walked. */
	assert_true(tier_relief_span_walkable(TiB, 100 * GiB));
	assert_false(tier_relief_span_walkable(TiB, 60 * GiB));
	assert_true(tier_relief_span_walkable(UINT64_MAX, UINT64_MAX / 2));
}

static void victim_estimate(void **state)
{
	(void)state;
	assert_int_equal(tier_relief_victim_estimate(1000, 0, 0), 1000);       /* unknown: RSS */
	assert_int_equal(tier_relief_victim_estimate(1000, 250, 1000), 250);
	assert_int_equal(tier_relief_victim_estimate(1000, 0, 1000), 0);
	assert_int_equal(tier_relief_victim_estimate(1000, 1, 1ull << 40), 1); /* something is there */
	assert_int_equal(tier_relief_victim_estimate(1000, 5000, 1000), 1000);
	assert_int_equal(tier_relief_victim_estimate(UINT64_MAX, UINT64_MAX - 1, UINT64_MAX), UINT64_MAX - 1);
}

static void victims_offer_keeps_top(void **state)
{
	(void)state;
	struct tier_relief_victim v[4], c;
	size_t n = 0;
	const uint64_t pages[] = { 5, 50, 7, 70, 1, 50, 60, 2 };
	for (int i = 0; i < 8; i++) {
		memset(&c, 0, sizeof(c));
		c.pid = 100 + i;
		c.pages = pages[i];
		tier_relief_victims_offer(v, &n, 4, &c);
	}
	assert_int_equal(n, 4);
	assert_int_equal(v[0].pages, 70);
	assert_int_equal(v[1].pages, 60);
	assert_int_equal(v[2].pages, 50);
	assert_int_equal(v[2].pid, 101);           /* ties: lower pid first */
	assert_int_equal(v[3].pages, 50);
	assert_int_equal(v[3].pid, 105);
	tier_relief_victims_offer(v, &n, 0, &c);   /* cap 0: nothing */
	assert_int_equal(n, 4);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(defaults_match_contract), T(hysteresis), T(one_tier_nothing), T(most_urgent_first),
		T(target_order_and_room),   T(never_below_low), T(nearest_tier_then_room_then_distance),
		T(enomem_backoff),          T(no_cycles),  T(victims_order), T(victims_skip),
		T(bucket),                  T(rate_window), T(private_nodes_need_a_grant), T(page_heat),
		T(page_skip),               T(heat_order), T(sparse_rule), T(victim_estimate),
		T(victims_offer_keeps_top),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
