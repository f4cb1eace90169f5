/* SPDX-License-Identifier: MIT */
/*
 * The private-node fencing planner (lib/fence.c) on synthetic cgroup trees.
 * Plans are checked op by op where the order matters, and every plan is
 * also replayed on a small model of the kernel's rules (v1: a child is a
 * subset of its parent at every step; v2: cpuset.mems exists only under
 * "+cpuset", effective = configured ∩ parent's or the parent's) that fails
 * the test on any write the kernel would refuse.
 */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tier/config.h>
#include <tier/fence.h>
#include <tier/procmaps.h>
#include <tier/nodemask.h>
#include <tier/snapshot.h>

static struct bitmask *mask(const char *list)
{
	struct bitmask *b = tier_nodemask_alloc();
	assert_int_equal(tier_bitmask_parse_list(list, b), 0);
	return b;
}

static char *fmt(const struct bitmask *b)
{
	static char bufs[8][64];
	static int k;
	char *buf = bufs[k++ % 8];
	tier_bitmask_format(b, buf, 64);
	return buf;
}

/* A test world: tree + inputs. */
struct world {
	struct tier_fence_tree *t;
	struct bitmask *n, *p;
	struct tier_grant grants[8];
	unsigned nr_grants;
	struct tier_fence_input in;
};

static void world_init(struct world *w, int version, const char *n, const char *p)
{
	memset(w, 0, sizeof(*w));
	w->t = tier_fence_tree_new(version);
	assert_non_null(w->t);
	w->n = mask(n);
	w->p = mask(p);
	/* the root: v1 at every node, v2 without a cpuset.mems file */
	assert_int_equal(tier_fence_tree_add(w->t, -1, "", version == 1 ? n : "", version == 1, false), 0);
}

static void grant(struct world *w, const char *glob, const char *nodes)
{
	struct tier_grant *g = &w->grants[w->nr_grants++];
	g->name = (char *)"g";
	g->cgroup = (char *)glob;
	g->nodes = mask(nodes);
}

static int add(struct world *w, const char *parent, const char *name, const char *mems)
{
	int par = tier_fence_tree_find(w->t, parent);
	assert_true(par >= 0);
	int r = tier_fence_tree_add(w->t, par, name, mems, true, false);
	assert_true(r > 0);
	return r;
}

/* v2: add with explicit file presence / own subtree_control. */
static int add2(struct world *w, const char *parent, const char *name, const char *mems, bool has_mems, bool subtree)
{
	int par = tier_fence_tree_find(w->t, parent);
	assert_true(par >= 0);
	int r = tier_fence_tree_add(w->t, par, name, mems, has_mems, subtree);
	assert_true(r > 0);
	return r;
}

static struct tier_fence_plan *plan(struct world *w)
{
	w->in.with_memory = w->n;
	w->in.private_nodes = w->p;
	w->in.grants = w->grants;
	w->in.nr_grants = w->nr_grants;
	struct tier_fence_plan *p = NULL;
	assert_int_equal(tier_fence_plan(w->t, &w->in, &p), 0);
	assert_non_null(p);
	return p;
}

static void world_free(struct world *w)
{
	tier_fence_tree_free(w->t);
	tier_bitmask_free(w->n);
	tier_bitmask_free(w->p);
	for (unsigned i = 0; i < w->nr_grants; i++)
		tier_bitmask_free(w->grants[i].nodes);
}

static const char *op_path(struct world *w, const struct tier_fence_op *o)
{
	return w->t->cg[o->cg].path;
}

/* Replay the plan on the model; fail on a write the kernel would refuse.
 * Updates the tree (as the daemon's cache would be after applying). */
static void replay(struct world *w, const struct tier_fence_plan *p)
{
	struct tier_fence_tree *t = w->t;
	for (size_t k = 0; k < p->nr_ops; k++) {
		const struct tier_fence_op *o = &p->ops[k];
		struct tier_fence_cgroup *c = &t->cg[o->cg];
		if (o->kind == TIER_FENCE_OP_ENABLE_CPUSET) {
			assert_int_equal(t->version, 2);
			/* the controller must be available: the parent enabled it */
			if (c->parent >= 0)
				assert_true(t->cg[c->parent].subtree_cpuset);
			c->subtree_cpuset = true;
			for (size_t i = 0; i < t->nr; i++)
				if (t->cg[i].parent == (int)o->cg && !t->cg[i].has_mems) {
					t->cg[i].has_mems = true;
					tier_bitmask_zero(t->cg[i].mems);
				}
			continue;
		}
		assert_true(o->cg > 0);                   /* never the root */
		/* never empty, but a v2 file given back to "" (inherit) */
		if (!(o->give_back && t->version == 2))
			assert_false(tier_bitmask_empty(o->mems));
		/* only nodes with memory */
		struct bitmask *x = tier_nodemask_alloc();
		tier_bitmask_copy(x, o->mems);
		tier_bitmask_andnot(x, w->n);
		assert_true(tier_bitmask_empty(x));
		if (t->version == 1) {
			/* subset of the parent, superset of every child, now */
			tier_bitmask_copy(x, o->mems);
			tier_bitmask_andnot(x, t->cg[c->parent].mems);
			if (!tier_bitmask_empty(x))
				fail_msg("v1: %s := %s is not within parent %s (%s)", c->path, fmt(o->mems),
					 t->cg[c->parent].path, fmt(t->cg[c->parent].mems));
			for (size_t i = 0; i < t->nr; i++) {
				if (t->cg[i].parent != (int)o->cg)
					continue;
				tier_bitmask_copy(x, t->cg[i].mems);
				tier_bitmask_andnot(x, o->mems);
				if (!tier_bitmask_empty(x))
					fail_msg("v1: %s := %s drops nodes of child %s (%s)", c->path, fmt(o->mems),
						 t->cg[i].path, fmt(t->cg[i].mems));
			}
		} else {
			assert_true(c->has_mems);
		}
		tier_bitmask_free(x);
		tier_bitmask_copy(c->mems, o->mems);
	}
}

/* After replay: the plan's effective sets hold, every cgroup is fenced, and
 * a second plan is empty (only writes that change something). */
static void check_converged(struct world *w, const struct tier_fence_plan *p)
{
	size_t fenced, unfenced;
	tier_fence_count(w->t, p, &w->in, &fenced, &unfenced);
	assert_int_equal(unfenced, 0);
	struct tier_fence_plan *again = plan(w);
	if (again->nr_ops)
		fail_msg("second plan not empty: first op on %s", op_path(w, &again->ops[0]));
	assert_int_equal(again->nr_unfenced, 0);
	tier_fence_plan_free(again);
}

static void assert_op(struct world *w, const struct tier_fence_plan *p, size_t k, enum tier_fence_op_kind kind,
		      const char *path, const char *mems)
{
	assert_true(k < p->nr_ops);
	assert_int_equal(p->ops[k].kind, kind);
	assert_string_equal(op_path(w, &p->ops[k]), path);
	if (mems)
		assert_string_equal(fmt(p->ops[k].mems), mems);
}

/* ---- tests ------------------------------------------------------------- */

static void test_tree_basics(void **state)
{
	(void)state;
	struct tier_fence_tree *t = tier_fence_tree_new(1);
	assert_null(tier_fence_tree_new(3));
	assert_int_equal(tier_fence_tree_add(t, 0, "x", "", true, false), -EINVAL); /* root must come first */
	assert_int_equal(tier_fence_tree_add(t, -1, "", "0-1", true, false), 0);
	assert_int_equal(tier_fence_tree_add(t, -1, "", "0", true, false), -EINVAL); /* one root */
	assert_int_equal(tier_fence_tree_add(t, 0, "a", "0", true, false), 1);
	assert_int_equal(tier_fence_tree_add(t, 1, "b", "0", true, false), 2);
	assert_int_equal(tier_fence_tree_add(t, 1, "x/y", "0", true, false), -EINVAL);
	assert_int_equal(tier_fence_tree_add(t, 1, "..", "0", true, false), -EINVAL);
	assert_int_equal(tier_fence_tree_add(t, 5, "c", "0", true, false), -EINVAL);
	assert_int_equal(tier_fence_tree_add(t, 1, "c", "0-", true, false), -EINVAL);
	assert_string_equal(t->cg[2].path, "/a/b");
	assert_int_equal(tier_fence_tree_find(t, "/a/b"), 2);
	assert_int_equal(tier_fence_tree_find(t, "/a/c"), -1);
	t->cg[2].gone = true;
	assert_int_equal(tier_fence_tree_find(t, "/a/b"), -1);
	tier_fence_tree_free(t);
}

static void test_glob_covers(void **state)
{
	(void)state;
	assert_true(tier_fence_glob_covers("/db", "/db"));
	assert_true(tier_fence_glob_covers("/db", "/db/worker/x"));
	assert_false(tier_fence_glob_covers("/db", "/dbx"));
	assert_false(tier_fence_glob_covers("/db", "/"));
	assert_true(tier_fence_glob_covers("/db/*", "/db/a"));
	assert_true(tier_fence_glob_covers("/db/*", "/db/a/b"));   /* via ancestor /db/a */
	assert_false(tier_fence_glob_covers("/db/*", "/db"));
	assert_false(tier_fence_glob_covers("/*/x", "/a/b/x"));    /* '*' never crosses '/' */
	assert_true(tier_fence_glob_covers("/", "/anything"));
}

/* The usual host: every cgroup at every node, one private node, no grant. */
static void test_v1_no_grant_narrows_bottom_up(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, 1, "0-2", "2");
	add(&w, "/", "a", "0-2");
	add(&w, "/a", "b", "0-2");
	add(&w, "/", "c", "0-2");
	struct tier_fence_plan *p = plan(&w);
	assert_int_equal(p->error, 0);
	assert_int_equal(p->nr_unfenced, 3);
	assert_int_equal(p->nr_fenced, 0);
	assert_int_equal(p->nr_ops, 3);
	/* children before parents: /c, /a/b, /a (reverse preorder) */
	assert_op(&w, p, 0, TIER_FENCE_OP_WRITE_MEMS, "/c", "0-1");
	assert_op(&w, p, 1, TIER_FENCE_OP_WRITE_MEMS, "/a/b", "0-1");
	assert_op(&w, p, 2, TIER_FENCE_OP_WRITE_MEMS, "/a", "0-1");
	replay(&w, p);
	check_converged(&w, p);
	tier_fence_plan_free(p);
	world_free(&w);
}

/* Nested grants: a parent holds what its granted descendants need, the
 * siblings of a granted cgroup do not get it. */
static void test_v1_nested_grants(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, 1, "0-3", "2-3");
	grant(&w, "/db/main", "2");
	grant(&w, "/db/main/shard1", "3");
	add(&w, "/", "db", "0-3");
	add(&w, "/db", "main", "0-3");
	add(&w, "/db/main", "shard1", "0-3");
	add(&w, "/db/main", "shard2", "0-3");
	add(&w, "/db", "backup", "0-3");
	add(&w, "/", "web", "0-3");
	struct tier_fence_plan *p = plan(&w);
	assert_int_equal(p->error, 0);
	assert_string_equal(fmt(p->want[tier_fence_tree_find(w.t, "/db")]), "0-3");
	assert_string_equal(fmt(p->want[tier_fence_tree_find(w.t, "/db/main")]), "0-3");
	assert_string_equal(fmt(p->want[tier_fence_tree_find(w.t, "/db/main/shard1")]), "0-3");
	assert_string_equal(fmt(p->want[tier_fence_tree_find(w.t, "/db/main/shard2")]), "0-2");
	assert_string_equal(fmt(p->want[tier_fence_tree_find(w.t, "/db/backup")]), "0-1");
	assert_string_equal(fmt(p->want[tier_fence_tree_find(w.t, "/web")]), "0-1");
	assert_string_equal(fmt(p->allowed[tier_fence_tree_find(w.t, "/db/main/shard2")]), "2");
	assert_int_equal(p->nr_ops, 3); /* web, backup, shard2 */
	replay(&w, p);
	check_converged(&w, p);
	tier_fence_plan_free(p);
	world_free(&w);
}

/* A grant under an already fenced parent: the parent is widened first. */
static void test_v1_grant_under_fenced_parent(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, 1, "0-2", "2");
	add(&w, "/", "a", "0-1");
	add(&w, "/a", "b", "0-1");
	add(&w, "/a", "c", "0-1");
	grant(&w, "/a/b", "2");
	struct tier_fence_plan *p = plan(&w);
	assert_int_equal(p->nr_unfenced, 0); /* nothing holds a foreign private node */
	assert_int_equal(p->nr_ops, 2);
	assert_op(&w, p, 0, TIER_FENCE_OP_WRITE_MEMS, "/a", "0-2");
	assert_op(&w, p, 1, TIER_FENCE_OP_WRITE_MEMS, "/a/b", "0-2");
	assert_false(p->ops[0].interim);
	replay(&w, p);
	check_converged(&w, p);
	tier_fence_plan_free(p);
	world_free(&w);
}

/* A cgroup gaining one private node and losing another: widen (interim)
 * top down, then narrow bottom up. */
static void test_v1_two_step(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, 1, "0-3", "2-3");
	add(&w, "/", "a", "0,2");
	add(&w, "/a", "x", "2");
	grant(&w, "/a", "3");
	struct tier_fence_plan *p = plan(&w);
	assert_int_equal(p->nr_ops, 4);
	assert_op(&w, p, 0, TIER_FENCE_OP_WRITE_MEMS, "/a", "0,2-3");
	assert_true(p->ops[0].interim);
	assert_op(&w, p, 1, TIER_FENCE_OP_WRITE_MEMS, "/a/x", "0,2-3");
	assert_op(&w, p, 2, TIER_FENCE_OP_WRITE_MEMS, "/a/x", "0,3");
	assert_op(&w, p, 3, TIER_FENCE_OP_WRITE_MEMS, "/a", "0,3");
	/* the admin's choice of node 0 only (not 1) is kept */
	replay(&w, p);
	check_converged(&w, p);
	tier_fence_plan_free(p);
	world_free(&w);
}

/* Overlapping globs: every matching grant adds its nodes. */
static void test_overlapping_globs(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, 1, "0-3", "2-3");
	grant(&w, "/db/*", "2");
	grant(&w, "/db/special", "3");
	grant(&w, "/db/spec*", "2");
	add(&w, "/", "db", "0-3");
	add(&w, "/db", "special", "0-3");
	add(&w, "/db", "other", "0-3");
	add(&w, "/", "web", "0-3");
	struct tier_fence_plan *p = plan(&w);
	assert_string_equal(fmt(p->want[tier_fence_tree_find(w.t, "/db/special")]), "0-3");
	assert_string_equal(fmt(p->want[tier_fence_tree_find(w.t, "/db/other")]), "0-2");
	assert_string_equal(fmt(p->want[tier_fence_tree_find(w.t, "/db")]), "0-3");
	assert_string_equal(fmt(p->want[tier_fence_tree_find(w.t, "/web")]), "0-1");
	replay(&w, p);
	check_converged(&w, p);
	/* what a task may use: own grants only (not a descendant's) */
	struct bitmask *g = tier_nodemask_alloc();
	tier_fence_granted(&w.in, "/db", g);
	assert_true(tier_bitmask_empty(g));
	tier_fence_granted(&w.in, "/db/special/sub", g);
	assert_string_equal(fmt(g), "2-3");
	tier_bitmask_free(g);
	tier_fence_plan_free(p);
	world_free(&w);
}

/* A private node that went offline (no memory): never written, its grant
 * is empty for now; when it comes back the grant returns. */
static void test_private_node_offline(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, 1, "0-1", "2-3");   /* nodes 2 and 3 have no memory now */
	grant(&w, "/a", "3");
	add(&w, "/", "a", "0-1");
	add(&w, "/", "b", "0-1");
	struct tier_fence_plan *p = plan(&w);
	assert_int_equal(p->nr_ops, 0);
	assert_int_equal(p->nr_fenced, 2);
	assert_true(tier_bitmask_empty(p->allowed[1]));
	tier_fence_plan_free(p);
	/* node 3 back online: /a gets it, /b does not */
	tier_bitmask_set(w.n, 3);
	tier_bitmask_set(w.t->cg[0].mems, 3);
	p = plan(&w);
	assert_int_equal(p->nr_ops, 1);
	assert_op(&w, p, 0, TIER_FENCE_OP_WRITE_MEMS, "/a", "0-1,3");
	replay(&w, p);
	check_converged(&w, p);
	tier_fence_plan_free(p);
	world_free(&w);
}

/* Empty plans are never written: a cpuset holding only a foreign private
 * node, and a fresh v1 cpuset with nothing in it, get the parent's
 * non-private nodes. */
static void test_empty_plan(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, 1, "0-2", "2");
	add(&w, "/", "a", "0-1");
	add(&w, "/a", "only-private", "");  /* v1: cannot hold 2 under /a; fresh */
	add(&w, "/", "p", "2");
	add(&w, "/p", "fresh", "");
	struct tier_fence_plan *p = plan(&w);
	assert_string_equal(fmt(p->want[tier_fence_tree_find(w.t, "/a/only-private")]), "0-1");
	assert_string_equal(fmt(p->want[tier_fence_tree_find(w.t, "/p")]), "0-1");
	assert_string_equal(fmt(p->want[tier_fence_tree_find(w.t, "/p/fresh")]), "0-1");
	for (size_t k = 0; k < p->nr_ops; k++)
		assert_false(tier_bitmask_empty(p->ops[k].mems));
	replay(&w, p);
	check_converged(&w, p);
	tier_fence_plan_free(p);
	world_free(&w);

	/* Every node with memory private: refuse to plan anything. */
	world_init(&w, 1, "0-1", "0-1");
	add(&w, "/", "a", "0-1");
	p = plan(&w);
	assert_int_equal(p->error, -EINVAL);
	assert_int_equal(p->nr_ops, 0);
	assert_non_null(strstr(p->message, "every node with memory is private"));
	tier_fence_plan_free(p);
	world_free(&w);
}

/* v2: top-level cgroups get an explicit value (the root cannot be fenced
 * and children of the root inherit all); their children inherit; a grant
 * deeper down needs "+cpuset" enabled top down before its siblings' files
 * can be written. */
static void test_v2_ordering_and_inherit(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, 2, "0-1", "1");
	add2(&w, "/", "a", "", false, false);
	add2(&w, "/a", "b", "", false, false);
	add2(&w, "/a", "c", "", false, false);
	add2(&w, "/", "d", "", false, false);
	add2(&w, "/d", "e", "", false, false);
	grant(&w, "/a/b", "1");
	struct tier_fence_plan *p = plan(&w);
	/* /a holds node 1 for /a/b and equals the root's set: inherits.
	 * /a/c must not: needs its own file, so root and /a get +cpuset.
	 * /d needs its own value; /d/e inherits it. */
	assert_int_equal(p->nr_ops, 4);
	assert_op(&w, p, 0, TIER_FENCE_OP_ENABLE_CPUSET, "/", NULL);
	assert_op(&w, p, 1, TIER_FENCE_OP_ENABLE_CPUSET, "/a", NULL);
	assert_op(&w, p, 2, TIER_FENCE_OP_WRITE_MEMS, "/a/c", "0");
	assert_op(&w, p, 3, TIER_FENCE_OP_WRITE_MEMS, "/d", "0");
	assert_int_equal(p->nr_unfenced, 3); /* /a/c, /d, /d/e */
	replay(&w, p);
	check_converged(&w, p);
	/* A new child of the fenced /d is fenced by inheritance: no op. */
	add2(&w, "/d", "new", "", true, false);
	size_t fenced, unfenced;
	tier_fence_count(w.t, p, &w.in, &fenced, &unfenced);
	assert_int_equal(unfenced, 0);
	/* A new top-level cgroup is not, until planned. */
	add2(&w, "/", "newtop", "", true, false);
	tier_fence_count(w.t, p, &w.in, &fenced, &unfenced);
	assert_int_equal(unfenced, 1);
	tier_fence_plan_free(p);
	p = plan(&w);
	assert_int_equal(p->nr_ops, 1);
	assert_op(&w, p, 0, TIER_FENCE_OP_WRITE_MEMS, "/newtop", "0");
	tier_fence_plan_free(p);
	world_free(&w);
}

/* v2 configured values: only effective differences are written. */
static void test_v2_configured(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, 2, "0-2", "2");
	add2(&w, "/", "x", "0-2", true, false);  /* holds private 2 */
	add2(&w, "/", "y", "0", true, false);    /* already narrower */
	add2(&w, "/", "z", "", true, false);     /* inherits all */
	add2(&w, "/", "q", "2", true, false);    /* only the private node */
	w.t->cg[0].subtree_cpuset = true;
	struct tier_fence_plan *p = plan(&w);
	assert_int_equal(p->nr_ops, 3);
	assert_op(&w, p, 0, TIER_FENCE_OP_WRITE_MEMS, "/x", "0-1");
	assert_op(&w, p, 1, TIER_FENCE_OP_WRITE_MEMS, "/z", "0-1");
	assert_op(&w, p, 2, TIER_FENCE_OP_WRITE_MEMS, "/q", "0-1");
	replay(&w, p);
	check_converged(&w, p);
	tier_fence_plan_free(p);
	world_free(&w);
}

/* v1 vs v2 on the same shape: v1 writes every cgroup, v2 only the top. */
static void test_v1_vs_v2(void **state)
{
	(void)state;
	for (int v = 1; v <= 2; v++) {
		struct world w;
		world_init(&w, v, "0-1", "1");
		if (v == 2)
			w.t->cg[0].subtree_cpuset = true;
		add2(&w, "/", "a", v == 1 ? "0-1" : "", true, false);
		add2(&w, "/a", "b", v == 1 ? "0-1" : "", v == 1, false);
		add2(&w, "/a/b", "c", v == 1 ? "0-1" : "", v == 1, false);
		struct tier_fence_plan *p = plan(&w);
		assert_int_equal(p->nr_ops, v == 1 ? 3 : 1);
		if (v == 1)
			assert_op(&w, p, 0, TIER_FENCE_OP_WRITE_MEMS, "/a/b/c", "0");
		else
			assert_op(&w, p, 0, TIER_FENCE_OP_WRITE_MEMS, "/a", "0");
		replay(&w, p);
		check_converged(&w, p);
		tier_fence_plan_free(p);
		world_free(&w);
	}
}

/* Gone cgroups (removed since the walk) and their subtrees are skipped. */
static void test_gone(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, 1, "0-1", "1");
	int a = add(&w, "/", "a", "0-1");
	add(&w, "/a", "b", "0-1");
	add(&w, "/", "c", "0-1");
	w.t->cg[a].gone = true;
	struct tier_fence_plan *p = plan(&w);
	assert_int_equal(p->nr_ops, 1);
	assert_op(&w, p, 0, TIER_FENCE_OP_WRITE_MEMS, "/c", "0");
	assert_null(p->want[a]);
	tier_fence_plan_free(p);
	world_free(&w);
}

/* Random trees and states, both versions: every plan replays without a
 * refused write and converges. */
static unsigned rnd_state = 12345;
static unsigned rnd(unsigned n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) % n;
}

static void random_subset(struct bitmask *out, const struct bitmask *of)
{
	tier_bitmask_zero(out);
	tier_bitmask_foreach(b, of)
		if (rnd(2))
			tier_bitmask_set(out, b);
}

static void test_random(void **state)
{
	(void)state;
	static const char *globs[] = { "/c1", "/c1/*", "/c*/c2", "/c3/c1/*", "/c2" };
	for (int iter = 0; iter < 400; iter++) {
		int v = 1 + iter % 2;
		struct world w;
		world_init(&w, v, "0-5", "");
		random_subset(w.p, w.n);
		if (tier_bitmask_weight(w.p) == 6)
			tier_bitmask_clear(w.p, 0);
		if (v == 2)
			w.t->cg[0].subtree_cpuset = rnd(2);
		unsigned nr = 1 + rnd(25);
		struct bitmask *m = tier_nodemask_alloc();
		for (unsigned i = 0; i < nr; i++) {
			int par = (int)rnd((unsigned)w.t->nr);
			char name[8], list[64];
			snprintf(name, sizeof(name), "c%u", rnd(4));
			char path[512];
			snprintf(path, sizeof(path), "%s%s%s", w.t->cg[par].path, par ? "/" : "", name);
			if (tier_fence_tree_find(w.t, path) >= 0)
				continue;
			/* v1: a subset of the parent (possibly empty); v2: anything */
			random_subset(m, v == 1 ? w.t->cg[par].mems : w.n);
			tier_bitmask_format(m, list, sizeof(list));
			bool has = v == 1 || w.t->cg[par].subtree_cpuset;
			assert_true(tier_fence_tree_add(w.t, par, name, has ? list : "", has,
							has && rnd(2)) > 0);
		}
		tier_bitmask_free(m);
		unsigned ng = rnd(4);
		for (unsigned g = 0; g < ng; g++) {
			char list[8];
			snprintf(list, sizeof(list), "%u", rnd(6));
			grant(&w, globs[rnd(5)], list);
		}
		struct tier_fence_plan *p = plan(&w);
		assert_int_equal(p->error, 0);
		replay(&w, p);
		check_converged(&w, p);
		/* every granted private node is in the cgroup's effective set,
		 * and every cgroup's set has a non-private node */
		for (size_t i = 1; i < w.t->nr; i++) {
			struct bitmask *x = tier_nodemask_alloc();
			tier_bitmask_copy(x, p->allowed[i]);
			tier_bitmask_andnot(x, p->want[i]);
			assert_true(tier_bitmask_empty(x));
			tier_bitmask_copy(x, p->want[i]);
			tier_bitmask_andnot(x, w.p);
			assert_false(tier_bitmask_empty(x));
			tier_bitmask_free(x);
		}
		tier_fence_plan_free(p);
		world_free(&w);
	}
}

/* Extension: new cgroups appended after a plan are planned alone; a new
 * cgroup matching a grant its ancestors lack asks for a full plan. */
static void test_extend(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, 1, "0-2", "2");
	grant(&w, "/db", "2");
	add(&w, "/", "a", "0-2");
	add(&w, "/", "db", "0-2");
	struct tier_fence_plan *p = plan(&w);
	replay(&w, p);
	/* new: /a/x (fresh, empty), /a/x/y (fresh), /db/w (fresh, covered by the grant) */
	add(&w, "/a", "x", "");
	add(&w, "/a/x", "y", "");
	add(&w, "/db", "w", "");
	assert_int_equal(tier_fence_plan_extend(p, w.t, &w.in), 0);
	assert_int_equal(p->nr_cgroups, w.t->nr);
	assert_int_equal(p->nr_ops, 3);
	assert_op(&w, p, 0, TIER_FENCE_OP_WRITE_MEMS, "/a/x", "0-1");
	assert_op(&w, p, 1, TIER_FENCE_OP_WRITE_MEMS, "/a/x/y", "0-1");
	assert_op(&w, p, 2, TIER_FENCE_OP_WRITE_MEMS, "/db/w", "0-2");
	replay(&w, p);
	check_converged(&w, p);
	/* nothing new: no ops */
	assert_int_equal(tier_fence_plan_extend(p, w.t, &w.in), 0);
	assert_int_equal(p->nr_ops, 0);
	/* a new cgroup granted what /a does not hold: full plan needed */
	grant(&w, "/a/special", "2");
	w.in.nr_grants = w.nr_grants;
	add(&w, "/a", "special", "");
	assert_int_equal(tier_fence_plan_extend(p, w.t, &w.in), -EAGAIN);
	tier_fence_plan_free(p);
	p = plan(&w);
	assert_op(&w, p, 0, TIER_FENCE_OP_WRITE_MEMS, "/a", "0-2");
	replay(&w, p);
	check_converged(&w, p);
	/* a changed private set also needs a full plan */
	tier_bitmask_set(w.p, 1);
	add(&w, "/", "late", "");
	assert_int_equal(tier_fence_plan_extend(p, w.t, &w.in), -EAGAIN);
	tier_fence_plan_free(p);
	world_free(&w);

	/* v2: a new top-level cgroup needs its own value, a new child of a
	 * fenced one inherits */
	world_init(&w, 2, "0-1", "1");
	w.t->cg[0].subtree_cpuset = true;
	add2(&w, "/", "a", "", true, false);
	p = plan(&w);
	replay(&w, p);
	add2(&w, "/", "b", "", true, false);
	add2(&w, "/a", "c", "", false, false);
	assert_int_equal(tier_fence_plan_extend(p, w.t, &w.in), 0);
	assert_int_equal(p->nr_ops, 1);
	assert_op(&w, p, 0, TIER_FENCE_OP_WRITE_MEMS, "/b", "0");
	replay(&w, p);
	check_converged(&w, p);
	tier_fence_plan_free(p);
	world_free(&w);
}

/* Random growth: plan, replay, append random cgroups, extend (or plan
 * again when asked), replay: always converged, never a refused write. */
static void test_random_extend(void **state)
{
	(void)state;
	static const char *globs[] = { "/c1", "/c1/*", "/c*/c2", "/c2" };
	for (int iter = 0; iter < 300; iter++) {
		int v = 1 + iter % 2;
		struct world w;
		world_init(&w, v, "0-3", "2-3");
		if (v == 2)
			w.t->cg[0].subtree_cpuset = true;
		unsigned ng = rnd(3);
		for (unsigned g = 0; g < ng; g++)
			grant(&w, globs[rnd(4)], rnd(2) ? "2" : "3");
		struct tier_fence_plan *p = plan(&w);
		replay(&w, p);
		int full = 0;
		for (int round = 0; round < 4; round++) {
			unsigned nr = 1 + rnd(6);
			for (unsigned i = 0; i < nr; i++) {
				int par = (int)rnd((unsigned)w.t->nr);
				char name[8], path[512];
				snprintf(name, sizeof(name), "c%u", rnd(4));
				snprintf(path, sizeof(path), "%s%s%s", w.t->cg[par].path, par ? "/" : "", name);
				if (tier_fence_tree_find(w.t, path) >= 0)
					continue;
				bool has = v == 1 || w.t->cg[par].subtree_cpuset;
				assert_true(tier_fence_tree_add(w.t, par, name, "", has, false) > 0);
			}
			int r = tier_fence_plan_extend(p, w.t, &w.in);
			if (r == -EAGAIN) {
				full++;
				tier_fence_plan_free(p);
				p = plan(&w);
			} else {
				assert_int_equal(r, 0);
			}
			replay(&w, p);
			check_converged(&w, p);
		}
		tier_fence_plan_free(p);
		world_free(&w);
		(void)full;
	}
}

/* ---- private nodes, demotion, numa_maps -------------------------------- */

static void test_private_nodes_from_config(void **state)
{
	(void)state;
	struct tier_config *c = tier_config_new_default();
	struct tier_snapshot s;
	struct tier_tier tiers[3];
	memset(&s, 0, sizeof(s));
	tiers[0].id = 4; tiers[0].nodes = mask("0-1");
	tiers[1].id = 22; tiers[1].nodes = mask("2");
	tiers[2].id = 54; tiers[2].nodes = mask("3-4");
	s.tiers = tiers;
	s.nr_tiers = 3;
	struct bitmask *out = tier_nodemask_alloc();
	tier_fence_private_nodes(c, &s, out);
	assert_true(tier_bitmask_empty(out));
	tier_bitmask_set(c->fence_private_nodes, 7);
	c->fence_private_slower_than = 4;
	tier_fence_private_nodes(c, &s, out);
	assert_string_equal(fmt(out), "2-4,7");
	c->fence_private_slower_than = 22;
	tier_fence_private_nodes(c, &s, out);
	assert_string_equal(fmt(out), "3-4,7");
	tier_bitmask_free(out);
	for (int i = 0; i < 3; i++)
		tier_bitmask_free(tiers[i].nodes);
	tier_config_free(c);
}

static void test_demotion_conflict(void **state)
{
	(void)state;
	struct tier_snapshot s;
	struct tier_node nodes[3];
	memset(&s, 0, sizeof(s));
	memset(nodes, 0, sizeof(nodes));
	for (int i = 0; i < 3; i++) {
		nodes[i].id = i;
		nodes[i].has_memory = true;
		nodes[i].demotion_preferred = tier_nodemask_alloc();
		nodes[i].demotion_fallback = tier_nodemask_alloc();
	}
	/* 0 -> 1 preferred, 0 -> 1,2 fallback; 1 -> 2 */
	tier_bitmask_set(nodes[0].demotion_preferred, 1);
	tier_bitmask_set(nodes[0].demotion_fallback, 1);
	tier_bitmask_set(nodes[0].demotion_fallback, 2);
	tier_bitmask_set(nodes[1].demotion_preferred, 2);
	tier_bitmask_set(nodes[1].demotion_fallback, 2);
	s.nodes = nodes;
	s.nr_nodes = 3;
	s.demotion_enabled = 1;
	struct tier_fence_conflict c;
	struct bitmask *p = mask("");
	tier_fence_demotion_check(&s, p, &c);
	assert_false(c.conflict);
	tier_bitmask_free(p);

	p = mask("1");
	tier_fence_demotion_check(&s, p, &c);
	assert_true(c.conflict);
	assert_true(c.demotion_on);
	assert_int_equal(c.from_node, 0);
	assert_int_equal(c.to_node, 1);
	assert_non_null(strstr(c.why, "private node 1 is a demotion target of node 0"));
	tier_bitmask_free(p);

	/* private 2 is only reached from node 1 via fallback of 0 */
	p = mask("2");
	s.demotion_enabled = 0;
	tier_fence_demotion_check(&s, p, &c);
	assert_true(c.conflict);
	assert_false(c.demotion_on);
	assert_int_equal(c.to_node, 2);
	assert_non_null(strstr(c.why, "demotion is off now"));
	tier_bitmask_free(p);

	/* the only demoter is itself private: no conflict */
	p = mask("0-2");
	tier_fence_demotion_check(&s, p, &c);
	assert_false(c.conflict);
	tier_bitmask_free(p);
	for (int i = 0; i < 3; i++) {
		tier_bitmask_free(nodes[i].demotion_preferred);
		tier_bitmask_free(nodes[i].demotion_fallback);
	}
}


/* Relief leaves fenced workloads alone: any /proc/PID/cgroup line under a
 * grant counts (hybrid hosts place a task differently per hierarchy). */
static void test_task_granted(void **state)
{
	(void)state;
	char *dir = tu_copy_fixture("host-1node-6.18");
	tu_write_file(dir, "tierd.conf",
		      "[fence]\nprivate_nodes = 1\n[grant db]\ncgroup = /db.slice/*\nnodes = 1\n");
	char path[4096];
	snprintf(path, sizeof(path), "%s/tierd.conf", dir);
	struct tier_config_errors errs = { 0 };
	struct tier_config *c = tier_config_load(path, NULL, false, &errs);
	assert_non_null(c);
	struct tier_config *none = tier_config_new_default();
	struct tier_proc_cgroups in_db = { 0 }, hybrid = { 0 }, other = { 0 };
	assert_int_equal(tier_proc_cgroups_parse("0::/db.slice/pg.service\n", &in_db), 0);
	assert_int_equal(tier_proc_cgroups_parse("12:cpuset:/db.slice/pg.service\n"
						 "1:name=systemd:/system.slice/x.service\n0::/\n", &hybrid), 0);
	assert_int_equal(tier_proc_cgroups_parse("0::/user.slice/user-0.slice/session-1.scope\n", &other), 0);
	assert_true(tier_fence_task_granted(c, &in_db));
	assert_true(tier_fence_task_granted(c, &hybrid));
	assert_false(tier_fence_task_granted(c, &other));
	assert_true(tier_fence_task_granted(c, NULL));      /* unknown: fenced, the safe side */
	assert_false(tier_fence_task_granted(none, &in_db)); /* no grants: nothing is fenced */
	assert_false(tier_fence_task_granted(none, NULL));
	tier_proc_cgroups_free(&in_db);
	tier_proc_cgroups_free(&hybrid);
	tier_proc_cgroups_free(&other);
	tier_config_free(c);
	tier_config_free(none);
	tu_rm_rf(dir);
	free(dir);
}

/* Replay as the daemon does: before the first write to a cgroup's file its
 * value is recorded as the host's (H), a give-back forgets it. */
static void replay_recording(struct world *w, const struct tier_fence_plan *p)
{
	for (size_t k = 0; k < p->nr_ops; k++) {
		const struct tier_fence_op *o = &p->ops[k];
		struct tier_fence_cgroup *c = &w->t->cg[o->cg];
		if (o->kind != TIER_FENCE_OP_WRITE_MEMS || c->host)
			continue;
		char list[64];
		tier_bitmask_format(c->mems, list, sizeof(list));
		assert_int_equal(tier_fence_tree_set_host(w->t, o->cg, c->has_mems ? list : ""), 0);
	}
	replay(w, p);
	for (size_t k = 0; k < p->nr_ops; k++) {
		const struct tier_fence_op *o = &p->ops[k];
		struct tier_fence_cgroup *c = &w->t->cg[o->cg];
		if (o->give_back && c->host) {
			tier_bitmask_free(c->host);
			c->host = NULL;
			c->host_inherit = false;
		}
	}
}

/* issue 13 item 3: a node that leaves the private set is given back within
 * one pass, because the plan starts from the recorded originals, not from
 * the fenced values (the old planner planned 0 ops here and /a stayed 0).
 * v1 and v2; a cgroup whose original already fits is given back exactly
 * (give_back, its original value). */
static void test_given_back_when_no_longer_private(void **state)
{
	(void)state;
	for (int v = 1; v <= 2; v++) {
		struct world w;
		world_init(&w, v, "0-2", "1-2");
		if (v == 2)
			w.t->cg[0].subtree_cpuset = true;
		add2(&w, "/", "a", v == 1 ? "" : "", true, false);      /* v1: fresh, v2: inherit */
		add2(&w, "/", "b", "0-1", true, false);                  /* admin: no node 2 */
		add2(&w, "/a", "c", "", v == 1, false);
		struct tier_fence_plan *p = plan(&w);
		replay_recording(&w, p);
		check_converged(&w, p);
		assert_string_equal(fmt(w.t->cg[tier_fence_tree_find(w.t, "/a")].mems), "0");
		assert_string_equal(fmt(w.t->cg[tier_fence_tree_find(w.t, "/b")].mems), "0");
		tier_fence_plan_free(p);

		/* reload: private_nodes = 2 */
		tier_bitmask_clear(w.p, 1);
		p = plan(&w);
		assert_true(p->nr_ops >= 2);
		replay_recording(&w, p);
		int a = tier_fence_tree_find(w.t, "/a"), b = tier_fence_tree_find(w.t, "/b");
		/* /a: its own "0-1" (v1: filled from the parent, v2: explicit,
		 * node 2 still private) */
		assert_string_equal(fmt(w.t->cg[a].mems), "0-1");
		/* /b: the admin's 0-1 is the plan: given back, forgotten */
		assert_string_equal(fmt(w.t->cg[b].mems), "0-1");
		assert_null(w.t->cg[b].host);
		bool gb = false;
		for (size_t k = 0; k < p->nr_ops; k++)
			if (p->ops[k].cg == (size_t)b && p->ops[k].give_back)
				gb = true;
		assert_true(gb);
		check_converged(&w, p);
		tier_fence_plan_free(p);

		/* and back to 1-2: fenced again from the originals */
		tier_bitmask_set(w.p, 1);
		p = plan(&w);
		replay_recording(&w, p);
		assert_string_equal(fmt(w.t->cg[a].mems), "0");
		assert_string_equal(fmt(w.t->cg[b].mems), "0");
		check_converged(&w, p);
		tier_fence_plan_free(p);
		world_free(&w);
	}
}

static void build_random_tree(struct world *w, int v, unsigned nr)
{
	struct bitmask *m = tier_nodemask_alloc();
	for (unsigned i = 0; i < nr; i++) {
		int par = (int)rnd((unsigned)w->t->nr);
		char name[8], list[64], path[512];
		snprintf(name, sizeof(name), "c%u", rnd(4));
		snprintf(path, sizeof(path), "%s%s%s", w->t->cg[par].path, par ? "/" : "", name);
		if (tier_fence_tree_find(w->t, path) >= 0)
			continue;
		random_subset(m, v == 1 ? w->t->cg[par].mems : w->n);
		tier_bitmask_format(m, list, sizeof(list));
		bool has = v == 1 || w->t->cg[par].subtree_cpuset;
		assert_true(tier_fence_tree_add(w->t, par, name, has ? list : "", has, has && rnd(2)) > 0);
	}
	tier_bitmask_free(m);
}

/* The property behind item 3, on random trees: fence with one private set,
 * reload to another, and the effective sets are exactly those of a host
 * that was fenced with the second set only (computed from the originals);
 * the same for a third reload back.  Both versions. */
static void test_random_reload_from_originals(void **state)
{
	(void)state;
	static const char *globs[] = { "/c1", "/c1/*", "/c*/c2", "/c2" };
	for (int iter = 0; iter < 300; iter++) {
		int v = 1 + iter % 2;
		unsigned seed = rnd_state;
		struct world a, b;
		struct bitmask *p2 = tier_nodemask_alloc(), *six = tier_nodemask_alloc();
		tier_bitmask_parse_list("0-5", six);
		world_init(&a, v, "0-5", "");
		world_init(&b, v, "0-5", "");
		if (v == 2)
			a.t->cg[0].subtree_cpuset = b.t->cg[0].subtree_cpuset = true;
		unsigned nr = 1 + rnd(20);
		unsigned ng = rnd(3), gsel[3], gnode[3];
		for (unsigned g = 0; g < ng; g++) {
			gsel[g] = rnd(4);
			gnode[g] = 1 + rnd(5);
		}
		random_subset(a.p, six);
		tier_bitmask_clear(a.p, 0);
		random_subset(p2, six);
		tier_bitmask_clear(p2, 0);
		/* the same tree twice */
		unsigned after = rnd_state;
		rnd_state = seed;
		build_random_tree(&a, v, nr);
		rnd_state = seed;
		build_random_tree(&b, v, nr);
		rnd_state = after;
		for (unsigned g = 0; g < ng; g++) {
			char list[8];
			snprintf(list, sizeof(list), "%u", gnode[g]);
			grant(&a, globs[gsel[g]], list);
			grant(&b, globs[gsel[g]], list);
		}
		struct tier_fence_plan *p = plan(&a);
		replay_recording(&a, p);
		tier_fence_plan_free(p);
		tier_bitmask_copy(a.p, p2);
		p = plan(&a);
		replay_recording(&a, p);
		check_converged(&a, p);

		tier_bitmask_copy(b.p, p2);
		struct tier_fence_plan *q = plan(&b);
		replay(&b, q);
		/* same effective sets everywhere */
		assert_int_equal(a.t->nr, b.t->nr);
		struct bitmask **ea = calloc(a.t->nr, sizeof(*ea)), **eb = calloc(b.t->nr, sizeof(*eb));
		ea[0] = tier_nodemask_alloc();
		eb[0] = tier_nodemask_alloc();
		tier_bitmask_copy(ea[0], a.n);
		tier_bitmask_copy(eb[0], b.n);
		for (size_t i = 1; i < a.t->nr; i++) {
			ea[i] = tier_nodemask_alloc();
			eb[i] = tier_nodemask_alloc();
			const struct tier_fence_cgroup *ca = &a.t->cg[i], *cb = &b.t->cg[i];
			if (v == 2 && (!ca->has_mems || tier_bitmask_empty(ca->mems)))
				tier_bitmask_copy(ea[i], ea[ca->parent]);
			else {
				tier_bitmask_copy(ea[i], ca->mems);
				tier_bitmask_and(ea[i], ea[ca->parent]);
				if (v == 2 && tier_bitmask_empty(ea[i]))
					tier_bitmask_copy(ea[i], ea[ca->parent]);
			}
			if (v == 2 && (!cb->has_mems || tier_bitmask_empty(cb->mems)))
				tier_bitmask_copy(eb[i], eb[cb->parent]);
			else {
				tier_bitmask_copy(eb[i], cb->mems);
				tier_bitmask_and(eb[i], eb[cb->parent]);
				if (v == 2 && tier_bitmask_empty(eb[i]))
					tier_bitmask_copy(eb[i], eb[cb->parent]);
			}
			if (!tier_bitmask_equal(ea[i], eb[i]))
				fail_msg("iter %d v%d %s: reloaded %s, fresh %s (P2 %s)", iter, v, ca->path, fmt(ea[i]),
					 fmt(eb[i]), fmt(p2));
		}
		for (size_t i = 0; i < a.t->nr; i++) {
			tier_bitmask_free(ea[i]);
			tier_bitmask_free(eb[i]);
		}
		free(ea);
		free(eb);
		tier_fence_plan_free(p);
		tier_fence_plan_free(q);
		tier_bitmask_free(p2);
		tier_bitmask_free(six);
		world_free(&a);
		world_free(&b);
	}
}

/* The resumable planner makes exactly the plan of the one-shot planner,
 * whatever the step size. */
static void test_planner_steps(void **state)
{
	(void)state;
	for (int iter = 0; iter < 200; iter++) {
		int v = 1 + iter % 2;
		struct world w;
		world_init(&w, v, "0-5", "3-5");
		if (v == 2)
			w.t->cg[0].subtree_cpuset = rnd(2);
		build_random_tree(&w, v, 1 + rnd(30));
		if (rnd(2))
			grant(&w, "/c1", "4");
		struct tier_fence_plan *one = plan(&w);
		struct tier_fence_planner *pl;
		assert_int_equal(tier_fence_plan_begin(w.t, &w.in, &pl), 0);
		size_t step = 1 + rnd(5), calls = 0;
		int r;
		while ((r = tier_fence_plan_step(pl, step)) == 1)
			calls++;
		assert_int_equal(r, 0);
		/* several passes over the tree, each bounded by step */
		assert_true(calls >= (w.t->nr * 3) / step / 2);
		struct tier_fence_plan *many = tier_fence_plan_finish(pl);
		assert_int_equal(many->nr_ops, one->nr_ops);
		for (size_t k = 0; k < one->nr_ops; k++) {
			assert_int_equal(many->ops[k].kind, one->ops[k].kind);
			assert_int_equal(many->ops[k].cg, one->ops[k].cg);
			assert_int_equal(many->ops[k].interim, one->ops[k].interim);
			if (one->ops[k].mems)
				assert_true(tier_bitmask_equal(many->ops[k].mems, one->ops[k].mems));
		}
		assert_int_equal(many->nr_unfenced, one->nr_unfenced);
		/* take_ops leaves the plan usable for extension */
		struct tier_fence_op *ops;
		size_t nr;
		tier_fence_plan_take_ops(many, &ops, &nr);
		assert_int_equal(nr, one->nr_ops);
		assert_int_equal(many->nr_ops, 0);
		tier_fence_ops_free(ops, nr);
		tier_fence_plan_free(one);
		tier_fence_plan_free(many);
		world_free(&w);
	}
	/* a planner can be cancelled half way */
	struct world w;
	world_init(&w, 1, "0-1", "1");
	add(&w, "/", "a", "0-1");
	tier_fence_plan_free(plan(&w));   /* sets w.in */
	struct tier_fence_planner *pl;
	assert_int_equal(tier_fence_plan_begin(w.t, &w.in, &pl), 0);
	assert_int_equal(tier_fence_plan_step(pl, 1), 1);
	tier_fence_planner_free(pl);
	world_free(&w);
}

/* find is a hash lookup that sees through gone entries to a cgroup made
 * again under the same name; 20,000 cgroups. */
static void test_tree_index(void **state)
{
	(void)state;
	struct tier_fence_tree *t = tier_fence_tree_new(2);
	assert_int_equal(tier_fence_tree_add(t, -1, "", "", false, false), 0);
	char name[32], path[64];
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		int p = tier_fence_tree_add(t, 0, name, "", false, false);
		for (int j = 0; j < 200; j++) {
			snprintf(name, sizeof(name), "c%d", j);
			assert_true(tier_fence_tree_add(t, p, name, "", false, false) > 0);
		}
	}
	for (int i = 0; i < 100; i += 7) {
		snprintf(path, sizeof(path), "/t%d/c%d", i, i);
		int idx = tier_fence_tree_find(t, path);
		assert_true(idx > 0);
		assert_string_equal(t->cg[idx].path, path);
	}
	int old = tier_fence_tree_find(t, "/t3/c3");
	t->cg[old].gone = true;
	assert_int_equal(tier_fence_tree_find(t, "/t3/c3"), -1);
	int again = tier_fence_tree_add(t, tier_fence_tree_find(t, "/t3"), "c3", "", false, false);
	assert_int_equal(tier_fence_tree_find(t, "/t3/c3"), again);
	assert_int_equal(tier_fence_tree_find(t, "/nope"), -1);
	assert_int_equal(tier_fence_tree_set_host(t, (size_t)again, "0-1"), 0);
	assert_string_equal(fmt(t->cg[again].host), "0-1");
	assert_int_equal(tier_fence_tree_set_host(t, (size_t)again, "x"), -EINVAL);
	tier_fence_tree_free(t);
}

/* Eviction targets: the task's own cpuset minus private nodes it is not
 * granted; nothing left means no eviction (issue 13 item 6). */
static void test_evict_target(void **state)
{
	(void)state;
	struct bitmask *n = mask("0-3"), *p = mask("2-3"), *out = tier_nodemask_alloc();
	struct bitmask *allowed = mask("0-3"), *none = mask(""), *g3 = mask("3");
	assert_true(tier_fence_evict_target(allowed, n, p, none, out));
	assert_string_equal(fmt(out), "0-1");
	assert_true(tier_fence_evict_target(allowed, n, p, g3, out));
	assert_string_equal(fmt(out), "0-1,3");              /* a granted private node is fine */
	tier_bitmask_parse_list("1-2", allowed);
	assert_true(tier_fence_evict_target(allowed, n, p, none, out));
	assert_string_equal(fmt(out), "1");                  /* its cpuset, not tierd's */
	tier_bitmask_parse_list("2", allowed);
	assert_false(tier_fence_evict_target(allowed, n, p, none, out));
	assert_true(tier_bitmask_empty(out));                /* only private nodes left: stay */
	tier_bitmask_parse_list("0,7", allowed);
	assert_true(tier_fence_evict_target(allowed, n, p, none, out));
	assert_string_equal(fmt(out), "0");                  /* 7 has no memory */
	assert_false(tier_fence_evict_target(none, n, p, none, out));   /* unknown cpuset */
	tier_bitmask_free(n);
	tier_bitmask_free(p);
	tier_bitmask_free(out);
	tier_bitmask_free(allowed);
	tier_bitmask_free(none);
	tier_bitmask_free(g3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_basics),
		cmocka_unit_test(test_glob_covers),
		cmocka_unit_test(test_v1_no_grant_narrows_bottom_up),
		cmocka_unit_test(test_v1_nested_grants),
		cmocka_unit_test(test_v1_grant_under_fenced_parent),
		cmocka_unit_test(test_v1_two_step),
		cmocka_unit_test(test_overlapping_globs),
		cmocka_unit_test(test_private_node_offline),
		cmocka_unit_test(test_empty_plan),
		cmocka_unit_test(test_v2_ordering_and_inherit),
		cmocka_unit_test(test_v2_configured),
		cmocka_unit_test(test_v1_vs_v2),
		cmocka_unit_test(test_gone),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_extend),
		cmocka_unit_test(test_random_extend),
		cmocka_unit_test(test_private_nodes_from_config),
		cmocka_unit_test(test_demotion_conflict),
		cmocka_unit_test(test_task_granted),
		cmocka_unit_test(test_given_back_when_no_longer_private),
		cmocka_unit_test(test_random_reload_from_originals),
		cmocka_unit_test(test_planner_steps),
		cmocka_unit_test(test_tree_index),
		cmocka_unit_test(test_evict_target),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
