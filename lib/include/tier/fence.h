/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Private-node fencing: the pure planner.
 *
 * Some nodes are private (reserved for the workloads granted them).  tierd
 * keeps every other workload off them with cpuset.mems.  Given the cpuset
 * cgroup tree as it is now (paths, configured cpuset.mems, v1 or v2, where
 * the cpuset files exist) and the grants, tier_fence_plan() computes the
 * cpuset.mems every cgroup should have and the ordered writes that get there.
 * Nothing here does I/O, reads a clock or logs.
 *
 * Definitions (N = nodes with memory, P = private nodes):
 *  - own(c): the private nodes granted to c.  A grant names a cgroup path or
 *    fnmatch(3) glob (FNM_PATHNAME, so '*' never crosses a '/') and covers the
 *    named cgroup and its whole subtree, as cgroup v2 inheritance does: a
 *    grant to /db is a grant to /db/worker too.
 *  - G(c) = (own(c) ∪ own(d) for every descendant d) ∩ P ∩ N: what c's
 *    cpuset.mems must hold (a parent always holds its children's nodes).
 *  - H(c), the host's own cpuset.mems of c: the original recorded in the
 *    state file when tierd changed it (tier_fence_tree_set_host), else the
 *    current value.  Plans are computed from H, never from a value tierd
 *    wrote itself: a node that stops being private is given back in the
 *    next plan, because nothing remembers that tierd once removed it.
 *  - want(c) = base(c) ∪ G(c), where base(c) is H(c) without private
 *    nodes, within N and within the parent's want.  So the usual cgroup
 *    that has every node gets (N \ P) ∪ G(c), while an admin's narrower
 *    choice of non-private nodes is kept: the fence removes and adds private
 *    nodes only.  A cgroup whose set would be empty (it had only private
 *    nodes, or nothing: a fresh v1 cpuset) gets want(parent) \ P ∪ G(c)
 *    instead; no cgroup is ever planned empty.
 *  - Where H(c) itself yields want(c) (v2: its effective set under the
 *    parent's want), the file is planned back to H(c) and the op says
 *    give_back: the daemon writes the recorded original and forgets it.
 *  - The root cgroup cannot be fenced (the kernel keeps it at every node);
 *    its tasks are reported by the daemon.
 *
 * cgroup v1 (and hybrid hosts where cpuset is a v1 hierarchy): every cgroup
 * has its own cpuset.mems, a child must always be a subset of its parent,
 * and a parent a superset of its children.  The plan therefore widens top
 * down (cur ∪ want, parents first), then narrows bottom up (want, children
 * first); a cgroup that both gains and loses nodes is written twice.  An
 * empty v1 cpuset.mems (a cpuset nobody configured yet) is filled.
 *
 * cgroup v2: cpuset.mems exists only where the parent's
 * cgroup.subtree_control has "cpuset"; an empty cpuset.mems (or a missing
 * file) inherits the parent's effective set, and a configured one is
 * intersected with it (falling back to the parent's when the intersection is
 * empty).  The plan writes only where the effective set would otherwise be
 * wrong, enables "+cpuset" in subtree_control top down where a file is
 * needed (the daemon records that for restore), and orders everything top
 * down.  Fencing a top-level cgroup thus covers its future children.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <numa.h>

struct tier_config;
struct tier_grant;
struct tier_snapshot;

/* ---- the tree ---------------------------------------------------------- */

struct tier_fence_cgroup {
	char *path;              /* "/" for the root, else "/a/b" within the hierarchy */
	int parent;              /* index of the parent, -1 for the root */
	struct bitmask *mems;    /* configured cpuset.mems (empty: v2 inherit / v1 unset) */
	bool has_mems;           /* the cpuset.mems file exists (always true in v1) */
	bool subtree_cpuset;     /* v2: own cgroup.subtree_control contains "cpuset" */
	bool gone;               /* removed since it was listed: ignored by the planner */
	struct bitmask *host;    /* H(c) when it differs from mems (recorded original); NULL: mems is H */
	bool host_inherit;       /* v2: H(c) is "" (inherit), whatever mems says */
};

/*
 * Cgroups in an order where every parent comes before its children
 * (preorder of a walk; appending a new child later keeps it).  cg[0] is the
 * root.
 */
struct tier_fence_tree {
	int version;             /* 1 or 2 */
	struct tier_fence_cgroup *cg;
	size_t nr, alloc;
	/* private: hash index path -> entry, so find is O(1) */
	size_t *slots;
	size_t nr_slots;
};

/* NULL on OOM. */
struct tier_fence_tree *tier_fence_tree_new(int version);
void tier_fence_tree_free(struct tier_fence_tree *t);
/*
 * Append a cgroup.  parent is an index < t->nr (-1 only for the first entry,
 * the root, whose path must be "/"); name is the last path component (the
 * root's name is ignored).  mems is a kernel list ("0-1", "" empty).
 * Returns the new index, -EINVAL (bad parent, name with '/', bad list) or
 * -ENOMEM.
 */
int tier_fence_tree_add(struct tier_fence_tree *t, int parent, const char *name, const char *mems,
			bool has_mems, bool subtree_cpuset);
/* Free a tree in steps of at most max cgroups (a tree of 100,000 takes
 * tens of ms to free): call with *cursor 0 until it returns true (then t
 * is freed and must not be used). */
bool tier_fence_tree_free_some(struct tier_fence_tree *t, size_t *cursor, size_t max);
/* Index of the cgroup with this path that is not gone (hash lookup), or -1. */
int tier_fence_tree_find(const struct tier_fence_tree *t, const char *path);
/* Set H(c) of cgroup idx from the original the state file recorded for its
 * cpuset.mems ("" = empty: v1 unset, v2 inherit).  Returns 0 or -EINVAL (a
 * bad list: H stays the current value). */
int tier_fence_tree_set_host(struct tier_fence_tree *t, size_t idx, const char *original);

/* ---- inputs ------------------------------------------------------------ */

struct tier_fence_input {
	const struct bitmask *with_memory;   /* N */
	const struct bitmask *private_nodes; /* P */
	const struct tier_grant *grants;
	unsigned nr_grants;
};

/*
 * P from the config and the snapshot: [fence] private_nodes plus, when
 * private_slower_than >= 0, every node of a memory tier with a larger id.
 * out is cleared first.
 */
void tier_fence_private_nodes(const struct tier_config *c, const struct tier_snapshot *s, struct bitmask *out);

/* Whether glob (a grant's cgroup) covers path: matches it or one of its
 * ancestors (fnmatch with FNM_PATHNAME). */
bool tier_fence_glob_covers(const char *glob, const char *path);

/* Whether a task belongs to a fenced workload: one of the lines of its
 * /proc/PID/cgroup (cg) is covered by a grant's cgroup glob.  Every line
 * counts, since on hybrid hosts the hierarchies place a task at different
 * paths.  cg NULL (unreadable) with grants configured: true, the safe side
 * for relief, which must not move a fenced workload's pages.  Pure. */
struct tier_proc_cgroups;
bool tier_fence_task_granted(const struct tier_config *c, const struct tier_proc_cgroups *cg);

/* own(path) ∩ P into out (cleared first): the private nodes a task in that
 * cgroup may use. */
void tier_fence_granted(const struct tier_fence_input *in, const char *path, struct bitmask *out);

/* ---- the plan ---------------------------------------------------------- */

enum tier_fence_op_kind {
	TIER_FENCE_OP_ENABLE_CPUSET,   /* v2: write "+cpuset" to cg's cgroup.subtree_control */
	TIER_FENCE_OP_WRITE_MEMS,      /* write mems to cg's cpuset.mems */
};

struct tier_fence_op {
	enum tier_fence_op_kind kind;
	size_t cg;
	struct bitmask *mems;          /* WRITE_MEMS: the value; NULL otherwise */
	bool interim;                  /* v1: the widening step of a two-step change */
	bool give_back;                /* mems is H(c): write the recorded original, then forget it */
};

struct tier_fence_plan {
	struct tier_fence_op *ops;     /* in the order they must be applied */
	size_t nr_ops, alloc_ops;
	size_t nr_cgroups;             /* t->nr at planning time */
	struct bitmask **want;         /* [nr_cgroups]: effective set after the plan (NULL: gone) */
	struct bitmask **allowed;      /* [nr_cgroups]: G(c), private nodes c must hold */
	struct bitmask *private_nodes; /* P as planned with */
	/* The tree as it is now: cgroups (root and gone ones excluded) whose
	 * effective set holds a private node outside G(c), and the others. */
	size_t nr_unfenced, nr_fenced;
	int error;                     /* 0, or -EINVAL: nothing planned, see message */
	char message[200];
};

/*
 * Plan.  Returns 0 and a plan in *out (free with tier_fence_plan_free);
 * when nothing can be fenced (no node with memory outside P, empty tree,
 * root not first) the plan has no ops, error = -EINVAL and a message, and 0
 * is still returned.  -ENOMEM on allocation failure (*out NULL).
 */
int tier_fence_plan(const struct tier_fence_tree *t, const struct tier_fence_input *in,
		    struct tier_fence_plan **out);
void tier_fence_plan_free(struct tier_fence_plan *p);
/* The same in steps of at most max cgroups (see tier_fence_tree_free_some). */
bool tier_fence_plan_free_some(struct tier_fence_plan *p, size_t *cursor, size_t max);

/*
 * The same plan in bounded steps, for a tree of any size: begin, then step
 * until it returns 0 (each call handles at most max_units cgroups of one of
 * the planner's passes; 1: call again), then finish takes the plan (as
 * tier_fence_plan would return it).  t and in (and everything they point
 * to) must not change between begin and finish.  step returns -ENOMEM on
 * allocation failure; free the planner (also to cancel) with
 * tier_fence_planner_free.
 */
struct tier_fence_planner;
int tier_fence_plan_begin(const struct tier_fence_tree *t, const struct tier_fence_input *in,
			  struct tier_fence_planner **out);
int tier_fence_plan_step(struct tier_fence_planner *pl, size_t max_units);
struct tier_fence_plan *tier_fence_plan_finish(struct tier_fence_planner *pl);
void tier_fence_planner_free(struct tier_fence_planner *pl);

/* Take the plan's ops (the daemon applies them over several slices while
 * extensions may replace p->ops): ops and nr get them, p has none left. */
void tier_fence_plan_take_ops(struct tier_fence_plan *p, struct tier_fence_op **ops, size_t *nr);
void tier_fence_ops_free(struct tier_fence_op *ops, size_t nr);

/*
 * Extend a plan to the cgroups appended to t since it was made (new
 * cgroups reported by inotify), in O(new cgroups + their depth) instead of
 * O(tree).  The plan's ops are replaced by the ops for the new cgroups
 * (and "+cpuset" on ancestors where a new file is needed); want/allowed
 * grow to t->nr.  The old cgroups are assumed to be as planned (their writes
 * applied).  Returns 0, -EAGAIN when a full tier_fence_plan() is needed
 * (a new cgroup matches a grant its ancestors do not hold yet, the private
 * set or the nodes with memory changed, the plan had an error; the plan is
 * then unusable for extension), or -ENOMEM.
 */
int tier_fence_plan_extend(struct tier_fence_plan *p, const struct tier_fence_tree *t,
			   const struct tier_fence_input *in);

/*
 * Count the tree as it is now (same rule as the plan's counts) against the
 * allowed sets of a plan made on it earlier; cgroups appended after the plan
 * are judged by their own grants (in).  Cheap enough to call after applying
 * writes to the tree.
 */
void tier_fence_count(const struct tier_fence_tree *t, const struct tier_fence_plan *p,
		      const struct tier_fence_input *in, size_t *fenced, size_t *unfenced);

/* ---- demotion ---------------------------------------------------------- */

/*
 * Demotion breaks the fence: the kernel demotes into any node of a slower
 * tier, whatever the task's cpuset.mems (measured in a QEMU VM on 6.1 and
 * 6.12: 460-640 MiB of a cpuset.mems=0 cgroup ended on node 1).  conflict is
 * true when some non-private node with memory has a private node among its
 * demotion targets (fallback set, which includes the preferred one);
 * from_node/to_node name the first such pair, why says it in words.
 * demotion_on: the snapshot's demotion_enabled is 1.
 */
struct tier_fence_conflict {
	bool conflict;
	bool demotion_on;
	int from_node, to_node;
	char why[160];
};
void tier_fence_demotion_check(const struct tier_snapshot *s, const struct bitmask *private_nodes,
			       struct tier_fence_conflict *out);

/* ---- eviction ---------------------------------------------------------- */

/*
 * Where pages of a non-granted task found on private nodes may be evicted
 * to: its cpuset's nodes (mems_allowed, /proc/PID/status Mems_allowed_list)
 * with memory, minus every private node it is not granted.  With
 * CAP_SYS_NICE migrate_pages(2) checks the target against the CALLER's
 * cpuset, not the task's, so this is the only place the task's own limits
 * are kept.  Returns false (out empty) when nothing is left: then the pages
 * stay where they are (evicting into a node the task may not use, or into
 * another private node, is worse than leaving them).  mems_allowed empty
 * (unknown) gives false too.
 */
bool tier_fence_evict_target(const struct bitmask *mems_allowed, const struct bitmask *with_memory,
			     const struct bitmask *private_nodes, const struct bitmask *granted,
			     struct bitmask *out);
