/* SPDX-License-Identifier: MIT */
/*
 * Private-node fencing planner (see tier/fence.h for the contract).  Pure:
 * no I/O, no clock, no logging, no globals.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tier/config.h>
#include <tier/fence.h>
#include <tier/procmaps.h>
#include <tier/nodemask.h>
#include <tier/snapshot.h>

/* ---- tree -------------------------------------------------------------- */

struct tier_fence_tree *tier_fence_tree_new(int version)
{
	if (version != 1 && version != 2)
		return NULL;
	struct tier_fence_tree *t = calloc(1, sizeof(*t));
	if (t)
		t->version = version;
	return t;
}

void tier_fence_tree_free(struct tier_fence_tree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nr; i++) {
		free(t->cg[i].path);
		tier_bitmask_free(t->cg[i].mems);
		tier_bitmask_free(t->cg[i].host);
	}
	free(t->cg);
	free(t->slots);
	free(t);
}

bool tier_fence_tree_free_some(struct tier_fence_tree *t, size_t *cursor, size_t max)
{
	if (!t)
		return true;
	size_t end = *cursor + max < t->nr && *cursor + max > *cursor ? *cursor + max : t->nr;
	for (size_t i = *cursor; i < end; i++) {
		free(t->cg[i].path);
		tier_bitmask_free(t->cg[i].mems);
		tier_bitmask_free(t->cg[i].host);
	}
	*cursor = end;
	if (end < t->nr)
		return false;
	free(t->cg);
	free(t->slots);
	free(t);
	return true;
}

static size_t path_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;   /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return (size_t)h;
}

static void slot_put(size_t *slots, size_t nr_slots, const struct tier_fence_tree *t, size_t idx)
{
	size_t mask = nr_slots - 1;
	size_t i = path_hash(t->cg[idx].path) & mask;
	while (slots[i])
		i = (i + 1) & mask;
	slots[i] = idx + 1;
}

/* Room for one more entry in the index (load <= 1/2). */
static int index_grow(struct tier_fence_tree *t)
{
	if (2 * (t->nr + 1) <= t->nr_slots)
		return 0;
	size_t n = t->nr_slots ? 2 * t->nr_slots : 128;
	size_t *slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->nr; i++)
		slot_put(slots, n, t, i);
	free(t->slots);
	t->slots = slots;
	t->nr_slots = n;
	return 0;
}

int tier_fence_tree_add(struct tier_fence_tree *t, int parent, const char *name, const char *mems,
			bool has_mems, bool subtree_cpuset)
{
	if (!t || (parent < 0) != (t->nr == 0) || (parent >= 0 && (size_t)parent >= t->nr))
		return -EINVAL;
	if (parent >= 0 && (!name || !*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")))
		return -EINVAL;
	struct bitmask *bm = tier_nodemask_alloc();
	if (tier_bitmask_parse_list(mems ? mems : "", bm) < 0) {
		tier_bitmask_free(bm);
		return -EINVAL;
	}
	char *path;
	if (parent < 0)
		path = strdup("/");
	else {
		const char *pp = t->cg[parent].path;
		size_t lp = strlen(pp), ln = strlen(name);
		path = malloc(lp + ln + 2);
		if (path) {
			memcpy(path, pp, lp);
			if (lp > 1)
				path[lp++] = '/';
			memcpy(path + lp, name, ln + 1);
		}
	}
	if (!path || index_grow(t) < 0) {
		free(path);
		tier_bitmask_free(bm);
		return -ENOMEM;
	}
	if (t->nr == t->alloc) {
		size_t na = t->alloc ? t->alloc * 2 : 64;
		struct tier_fence_cgroup *n = realloc(t->cg, na * sizeof(*n));
		if (!n) {
			free(path);
			tier_bitmask_free(bm);
			return -ENOMEM;
		}
		t->cg = n;
		t->alloc = na;
	}
	struct tier_fence_cgroup *c = &t->cg[t->nr];
	memset(c, 0, sizeof(*c));
	c->path = path;
	c->parent = parent;
	c->mems = bm;
	/* v1 has no subtree_control: every cpuset has its files. */
	c->has_mems = t->version == 1 ? true : has_mems;
	c->subtree_cpuset = t->version == 2 && subtree_cpuset;
	slot_put(t->slots, t->nr_slots, t, t->nr);
	return (int)t->nr++;
}

int tier_fence_tree_find(const struct tier_fence_tree *t, const char *path)
{
	if (!t || !t->slots || !path)
		return -1;
	size_t mask = t->nr_slots - 1;
	/* gone entries stay in the index: a cgroup made again under the same
	 * name is another entry with the same path */
	for (size_t i = path_hash(path) & mask; t->slots[i]; i = (i + 1) & mask) {
		size_t idx = t->slots[i] - 1;
		if (!t->cg[idx].gone && strcmp(t->cg[idx].path, path) == 0)
			return (int)idx;
	}
	return -1;
}

int tier_fence_tree_set_host(struct tier_fence_tree *t, size_t idx, const char *original)
{
	if (!t || idx >= t->nr || !original)
		return -EINVAL;
	struct tier_fence_cgroup *c = &t->cg[idx];
	struct bitmask *bm = tier_nodemask_alloc();
	if (tier_bitmask_parse_list(original, bm) < 0) {
		tier_bitmask_free(bm);
		return -EINVAL;
	}
	tier_bitmask_free(c->host);
	c->host = bm;
	c->host_inherit = t->version == 2 && tier_bitmask_empty(bm);
	return 0;
}

/* ---- inputs ------------------------------------------------------------ */

void tier_fence_private_nodes(const struct tier_config *c, const struct tier_snapshot *s, struct bitmask *out)
{
	tier_bitmask_zero(out);
	if (c && c->fence_private_nodes)
		tier_bitmask_or(out, c->fence_private_nodes);
	if (c && s && c->fence_private_slower_than >= 0)
		for (int i = 0; i < s->nr_tiers; i++)
			if (s->tiers[i].id > c->fence_private_slower_than)
				tier_bitmask_or(out, s->tiers[i].nodes);
}

bool tier_fence_glob_covers(const char *glob, const char *path)
{
	char buf[4096];
	size_t len = strlen(path);
	if (!glob || len >= sizeof(buf))
		return false;
	memcpy(buf, path, len + 1);
	/* path, then each ancestor ("/a/b/c", "/a/b", "/a"); "/" only when the
	 * glob is "/" itself (a grant to the root covers everything). */
	for (;;) {
		if (fnmatch(glob, buf, FNM_PATHNAME) == 0)
			return true;
		char *slash = strrchr(buf, '/');
		if (!slash || slash == buf)
			break;
		*slash = '\0';
	}
	return strcmp(glob, "/") == 0;
}

void tier_fence_granted(const struct tier_fence_input *in, const char *path, struct bitmask *out)
{
	tier_bitmask_zero(out);
	for (unsigned i = 0; i < in->nr_grants; i++)
		if (in->grants[i].nodes && tier_fence_glob_covers(in->grants[i].cgroup, path))
			tier_bitmask_or(out, in->grants[i].nodes);
	tier_bitmask_and(out, in->private_nodes);
}

/* ---- plan -------------------------------------------------------------- */

void tier_fence_ops_free(struct tier_fence_op *ops, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		tier_bitmask_free(ops[i].mems);
	free(ops);
}

void tier_fence_plan_free(struct tier_fence_plan *p)
{
	if (!p)
		return;
	tier_fence_ops_free(p->ops, p->nr_ops);
	for (size_t i = 0; p->want && i < p->nr_cgroups; i++)
		tier_bitmask_free(p->want[i]);
	for (size_t i = 0; p->allowed && i < p->nr_cgroups; i++)
		tier_bitmask_free(p->allowed[i]);
	free(p->want);
	free(p->allowed);
	tier_bitmask_free(p->private_nodes);
	free(p);
}

bool tier_fence_plan_free_some(struct tier_fence_plan *p, size_t *cursor, size_t max)
{
	if (!p)
		return true;
	/* ops first (cursor counts ops, then cgroups after them) */
	size_t total = p->nr_ops + p->nr_cgroups;
	size_t end = *cursor + max < total && *cursor + max > *cursor ? *cursor + max : total;
	for (size_t i = *cursor; i < end; i++) {
		if (i < p->nr_ops) {
			tier_bitmask_free(p->ops[i].mems);
			p->ops[i].mems = NULL;
			continue;
		}
		size_t c = i - p->nr_ops;
		if (p->want) {
			tier_bitmask_free(p->want[c]);
			p->want[c] = NULL;
		}
		if (p->allowed) {
			tier_bitmask_free(p->allowed[c]);
			p->allowed[c] = NULL;
		}
	}
	*cursor = end;
	if (end < total)
		return false;
	free(p->ops);
	free(p->want);
	free(p->allowed);
	tier_bitmask_free(p->private_nodes);
	free(p);
	return true;
}

void tier_fence_plan_take_ops(struct tier_fence_plan *p, struct tier_fence_op **ops, size_t *nr)
{
	*ops = p->ops;
	*nr = p->nr_ops;
	p->ops = NULL;
	p->nr_ops = p->alloc_ops = 0;
}

static int add_op(struct tier_fence_plan *p, enum tier_fence_op_kind kind, size_t cg, const struct bitmask *mems,
		  bool interim, bool give_back)
{
	if (p->nr_ops == p->alloc_ops) {
		size_t na = p->alloc_ops ? p->alloc_ops * 2 : 32;
		struct tier_fence_op *n = realloc(p->ops, na * sizeof(*n));
		if (!n)
			return -ENOMEM;
		p->ops = n;
		p->alloc_ops = na;
	}
	struct tier_fence_op *o = &p->ops[p->nr_ops++];
	o->kind = kind;
	o->cg = cg;
	o->interim = interim;
	o->give_back = give_back;
	o->mems = NULL;
	if (mems) {
		o->mems = tier_nodemask_alloc();
		tier_bitmask_copy(o->mems, mems);
	}
	return 0;
}

/* The effective set of a cgroup given a configured set (inherit: v2 with
 * no file or an empty one) and the parent's effective set, per the
 * hierarchy's rules. */
static void effective_of(int version, const struct bitmask *mems, bool inherit, const struct bitmask *parent_eff,
			 struct bitmask *out)
{
	if (version == 2 && (inherit || tier_bitmask_empty(mems))) {
		tier_bitmask_copy(out, parent_eff);
		return;
	}
	tier_bitmask_copy(out, mems);
	tier_bitmask_and(out, parent_eff);
	/* v2 falls back to the parent's set when nothing is left; in v1 an
	 * empty cpuset stays empty (no task can be attached to it). */
	if (version == 2 && tier_bitmask_empty(out))
		tier_bitmask_copy(out, parent_eff);
}

static void effective(int version, const struct tier_fence_cgroup *c, const struct bitmask *parent_eff,
		      struct bitmask *out)
{
	effective_of(version, c->mems, !c->has_mems, parent_eff, out);
}

/* H(c): the host's own configured set (see the header). */
static const struct bitmask *host_of(const struct tier_fence_cgroup *c, bool *inherit)
{
	if (c->host) {
		*inherit = c->host_inherit;
		return c->host;
	}
	*inherit = !c->has_mems;
	return c->mems;
}

static bool holds_foreign_private(const struct bitmask *eff, const struct bitmask *priv, const struct bitmask *allowed,
				  struct bitmask *tmp)
{
	tier_bitmask_copy(tmp, eff);
	tier_bitmask_and(tmp, priv);
	tier_bitmask_andnot(tmp, allowed);
	return !tier_bitmask_empty(tmp);
}

static int plan_error(struct tier_fence_plan *p, const char *msg)
{
	p->error = -EINVAL;
	snprintf(p->message, sizeof(p->message), "%s", msg);
	return 0;
}

/* Mark for v2 that cgroup i needs its own cpuset.mems: every ancestor from
 * the root down to its parent must have "cpuset" in subtree_control. */
static void need_file(const struct tier_fence_tree *t, size_t i, bool *enable)
{
	for (int a = t->cg[i].parent; a >= 0; a = t->cg[a].parent) {
		if (t->cg[a].subtree_cpuset || enable[a])
			break;
		enable[a] = true;
	}
}

/* What a plan writes into one cgroup's file. */
enum target_kind { TARGET_NONE, TARGET_WANT, TARGET_HOST };

/* want(i) from the parent's want (see the header), and what the file must
 * become: nothing, want(i), or H(i) given back.  tmp is scratch. */
static enum target_kind want_of(const struct tier_fence_tree *t, const struct tier_fence_input *in,
				struct tier_fence_plan *p, size_t i, struct bitmask *tmp)
{
	const struct tier_fence_cgroup *c = &t->cg[i];
	size_t par = (size_t)c->parent;
	struct bitmask *w = p->want[i];
	bool inherit;
	const struct bitmask *host = host_of(c, &inherit);

	/* base(c): what the host gave c (or let it inherit) without private
	 * nodes, within N and the parent's want; never empty. */
	if (t->version == 2 && (inherit || tier_bitmask_empty(host)))
		tier_bitmask_copy(w, p->want[par]);
	else
		tier_bitmask_copy(w, host);
	tier_bitmask_and(w, in->with_memory);
	tier_bitmask_and(w, p->want[par]);
	tier_bitmask_andnot(w, in->private_nodes);
	if (tier_bitmask_empty(w)) {
		tier_bitmask_copy(w, p->want[par]);
		tier_bitmask_andnot(w, in->private_nodes);
	}
	tier_bitmask_or(w, p->allowed[i]);

	if (t->version == 1) {
		/* the host's value is the plan itself: give it back */
		if (c->host && tier_bitmask_equal(c->host, w))
			return tier_bitmask_equal(c->mems, w) ? TARGET_NONE : TARGET_HOST;
		return tier_bitmask_equal(c->mems, w) ? TARGET_NONE : TARGET_WANT;
	}
	/* v2: the host's value, under the parent's planned set, gives want:
	 * the file goes (or stays) back to it. */
	effective_of(2, host, inherit, p->want[par], tmp);
	if (tier_bitmask_equal(tmp, w)) {
		if (!c->host)
			return TARGET_NONE;     /* the file is the host's already */
		bool cur_inherit = !c->has_mems || tier_bitmask_empty(c->mems);
		bool host_inh = inherit || tier_bitmask_empty(host);
		if (cur_inherit && host_inh)
			return TARGET_NONE;
		if (!cur_inherit && !host_inh && tier_bitmask_equal(c->mems, host))
			return TARGET_NONE;
		return TARGET_HOST;
	}
	/* else the explicit want, unless the file already gives it */
	if (c->has_mems && !tier_bitmask_empty(c->mems) && tier_bitmask_equal(c->mems, w))
		return TARGET_NONE;
	effective(2, c, p->want[par], tmp);
	if (!c->host && tier_bitmask_equal(tmp, w))
		return TARGET_NONE;     /* the host's own file works: leave it */
	return TARGET_WANT;
}

/* The planner's passes (resumable: each handles cgroups from cursor on). */
enum planner_phase {
	PH_OWN,        /* own(c) ∩ P ∩ N, top down (inherits the parent's) */
	PH_SUBTREE,    /* G(c): OR into the parent, bottom up */
	PH_WANT,       /* want, counts, what to write, top down */
	PH_ENABLE,     /* v2: "+cpuset" ops, top down */
	PH_WRITE,      /* v2: writes top down; v1: widen top down */
	PH_NARROW,     /* v1: narrow bottom up */
	PH_DONE,
};

struct tier_fence_planner {
	const struct tier_fence_tree *t;
	const struct tier_fence_input *in;
	struct tier_fence_plan *p;
	enum planner_phase phase;
	size_t i;                /* cursor within the phase */
	size_t from;             /* first cgroup whose files may be written (1, or the first new one) */
	struct bitmask **cur;    /* [nr] current effective sets (PH_WANT) */
	bool *enable;
	unsigned char *target;   /* enum target_kind per cgroup */
	struct bitmask *tmp;
	int error;
};

void tier_fence_planner_free(struct tier_fence_planner *pl)
{
	if (!pl)
		return;
	if (pl->cur)
		for (size_t i = 0; i < pl->t->nr; i++)
			tier_bitmask_free(pl->cur[i]);
	free(pl->cur);
	free(pl->enable);
	free(pl->target);
	tier_bitmask_free(pl->tmp);
	tier_fence_plan_free(pl->p);
	free(pl);
}

/* own(c) for one cgroup: grants matching c, plus its parent's own set. */
static void own_grants(const struct tier_fence_input *in, const struct tier_fence_cgroup *c,
		       const struct bitmask *parent_own, struct bitmask *out)
{
	if (parent_own)
		tier_bitmask_copy(out, parent_own);
	else
		tier_bitmask_zero(out);
	for (unsigned g = 0; g < in->nr_grants; g++)
		if (in->grants[g].nodes && fnmatch(in->grants[g].cgroup, c->path, FNM_PATHNAME) == 0)
			tier_bitmask_or(out, in->grants[g].nodes);
	tier_bitmask_and(out, in->private_nodes);
	tier_bitmask_and(out, in->with_memory);
}

int tier_fence_plan_begin(const struct tier_fence_tree *t, const struct tier_fence_input *in,
			  struct tier_fence_planner **out)
{
	struct tier_fence_planner *pl = calloc(1, sizeof(*pl));
	*out = NULL;
	if (!pl)
		return -ENOMEM;
	pl->t = t;
	pl->in = in;
	pl->from = 1;
	pl->p = calloc(1, sizeof(*pl->p));
	if (!pl->p) {
		free(pl);
		return -ENOMEM;
	}
	struct tier_fence_plan *p = pl->p;
	pl->tmp = tier_nodemask_alloc();
	p->private_nodes = tier_nodemask_alloc();
	tier_bitmask_copy(p->private_nodes, in->private_nodes);
	struct bitmask *nonpriv = tier_nodemask_alloc();
	tier_bitmask_copy(nonpriv, in->with_memory);
	tier_bitmask_andnot(nonpriv, in->private_nodes);
	bool empty = tier_bitmask_empty(nonpriv);
	tier_bitmask_free(nonpriv);
	if (!t || t->nr == 0 || t->cg[0].parent != -1) {
		plan_error(p, "no cgroup tree");
		pl->phase = PH_DONE;
	} else if (empty) {
		plan_error(p, "every node with memory is private: nothing left for the other cgroups");
		pl->phase = PH_DONE;
	} else {
		p->nr_cgroups = t->nr;
		p->want = calloc(t->nr, sizeof(*p->want));
		p->allowed = calloc(t->nr, sizeof(*p->allowed));
		pl->cur = calloc(t->nr, sizeof(*pl->cur));
		pl->enable = calloc(t->nr, sizeof(*pl->enable));
		pl->target = calloc(t->nr, sizeof(*pl->target));
		if (!p->want || !p->allowed || !pl->cur || !pl->enable || !pl->target) {
			tier_fence_planner_free(pl);
			return -ENOMEM;
		}
		pl->phase = PH_OWN;
	}
	*out = pl;
	return 0;
}

/* One unit of the current phase at cursor i; returns false when the phase
 * is over (the cursor moved past its end). */
static bool plan_unit(struct tier_fence_planner *pl)
{
	const struct tier_fence_tree *t = pl->t;
	const struct tier_fence_input *in = pl->in;
	struct tier_fence_plan *p = pl->p;
	size_t n = t->nr;

	switch (pl->phase) {
	case PH_OWN: {
		if (pl->i >= n)
			return false;
		size_t i = pl->i++;
		const struct tier_fence_cgroup *c = &t->cg[i];
		if (c->gone || (i > 0 && (c->parent < 0 || (size_t)c->parent >= i || !p->allowed[c->parent])))
			return true;
		p->allowed[i] = tier_nodemask_alloc();
		own_grants(in, c, i > 0 ? p->allowed[c->parent] : NULL, p->allowed[i]);
		return true;
	}
	case PH_SUBTREE: {
		/* cursor counts down from n - 1 to 1 */
		if (pl->i >= n - 1)
			return false;
		size_t i = n - 1 - pl->i++;
		if (p->allowed[i])
			tier_bitmask_or(p->allowed[t->cg[i].parent], p->allowed[i]);
		return true;
	}
	case PH_WANT: {
		if (pl->i >= n)
			return false;
		size_t i = pl->i++;
		const struct tier_fence_cgroup *c = &t->cg[i];
		if (i == 0) {
			/* The root stays as the kernel keeps it. */
			p->want[0] = tier_nodemask_alloc();
			tier_bitmask_copy(p->want[0], in->with_memory);
			pl->cur[0] = tier_nodemask_alloc();
			tier_bitmask_copy(pl->cur[0], in->with_memory);
			return true;
		}
		if (!p->allowed[i])
			return true;
		p->want[i] = tier_nodemask_alloc();
		pl->cur[i] = tier_nodemask_alloc();
		effective(t->version, c, pl->cur[c->parent], pl->cur[i]);
		if (holds_foreign_private(pl->cur[i], in->private_nodes, p->allowed[i], pl->tmp))
			p->nr_unfenced++;
		else
			p->nr_fenced++;
		enum target_kind k = want_of(t, in, p, i, pl->tmp);
		pl->target[i] = (unsigned char)k;
		if (k == TARGET_WANT && t->version == 2 && !c->has_mems)
			need_file(t, i, pl->enable);
		return true;
	}
	case PH_ENABLE: {
		if (t->version != 2 || pl->i >= n)
			return false;
		size_t i = pl->i++;
		if (pl->enable[i] && add_op(p, TIER_FENCE_OP_ENABLE_CPUSET, i, NULL, false, false) < 0)
			pl->error = -ENOMEM;
		return true;
	}
	case PH_WRITE: {
		if (pl->i < pl->from)
			pl->i = pl->from;
		if (pl->i >= n)
			return false;
		size_t i = pl->i++;
		enum target_kind k = (enum target_kind)pl->target[i];
		if (k == TARGET_NONE)
			return true;
		bool gb = k == TARGET_HOST;
		if (t->version == 2) {
			if (add_op(p, TIER_FENCE_OP_WRITE_MEMS, i, p->want[i], false, gb) < 0)
				pl->error = -ENOMEM;
			return true;
		}
		/* v1: widen top down (a child may only hold what its parent
		 * holds), then narrow bottom up (a parent may only drop what no
		 * child holds).  cur ∪ want ⊆ parent's cur ∪ want because both
		 * parts are subsets of the parent's. */
		struct bitmask *tmp = pl->tmp;
		tier_bitmask_copy(tmp, t->cg[i].mems);
		tier_bitmask_and(tmp, in->with_memory);
		tier_bitmask_or(tmp, p->want[i]);
		if (tier_bitmask_equal(tmp, t->cg[i].mems))
			return true; /* pure narrowing: second phase only */
		bool interim = !tier_bitmask_equal(tmp, p->want[i]);
		if (add_op(p, TIER_FENCE_OP_WRITE_MEMS, i, tmp, interim, gb && !interim) < 0)
			pl->error = -ENOMEM;
		if (!interim)
			pl->target[i] = TARGET_NONE;
		return true;
	}
	case PH_NARROW: {
		if (t->version != 1)
			return false;
		/* cursor counts down from n - 1 to from */
		if (pl->i >= n - pl->from)
			return false;
		size_t i = n - 1 - pl->i++;
		enum target_kind k = (enum target_kind)pl->target[i];
		if (i > 0 && k != TARGET_NONE &&
		    add_op(p, TIER_FENCE_OP_WRITE_MEMS, i, p->want[i], false, k == TARGET_HOST) < 0)
			pl->error = -ENOMEM;
		return true;
	}
	case PH_DONE:
		break;
	}
	return false;
}

int tier_fence_plan_step(struct tier_fence_planner *pl, size_t max_units)
{
	size_t done = 0;
	while (pl->phase != PH_DONE && done < max_units && !pl->error) {
		if (plan_unit(pl)) {
			done++;
			continue;
		}
		pl->phase++;
		pl->i = 0;
	}
	if (pl->error)
		return pl->error;
	return pl->phase == PH_DONE ? 0 : 1;
}

struct tier_fence_plan *tier_fence_plan_finish(struct tier_fence_planner *pl)
{
	struct tier_fence_plan *p = pl->p;
	pl->p = NULL;
	tier_fence_planner_free(pl);
	return p;
}

int tier_fence_plan(const struct tier_fence_tree *t, const struct tier_fence_input *in, struct tier_fence_plan **out)
{
	struct tier_fence_planner *pl;
	*out = NULL;
	int r = tier_fence_plan_begin(t, in, &pl);
	if (r < 0)
		return r;
	r = tier_fence_plan_step(pl, SIZE_MAX);
	if (r < 0) {
		tier_fence_planner_free(pl);
		return r;
	}
	*out = tier_fence_plan_finish(pl);
	return 0;
}

int tier_fence_plan_extend(struct tier_fence_plan *p, const struct tier_fence_tree *t,
			   const struct tier_fence_input *in)
{
	size_t from = p->nr_cgroups;
	if (p->error || !p->private_nodes || !tier_bitmask_equal(p->private_nodes, in->private_nodes) ||
	    from == 0 || from > t->nr || !tier_bitmask_equal(p->want[0], in->with_memory))
		return -EAGAIN;
	tier_fence_ops_free(p->ops, p->nr_ops);
	p->ops = NULL;
	p->nr_ops = p->alloc_ops = 0;
	if (from == t->nr)
		return 0;

	size_t n = t->nr;
	struct bitmask **want = realloc(p->want, n * sizeof(*want));
	if (want)
		p->want = want;
	struct bitmask **allowed = realloc(p->allowed, n * sizeof(*allowed));
	if (allowed)
		p->allowed = allowed;
	if (!want || !allowed)
		return -ENOMEM;
	for (size_t i = from; i < n; i++)
		p->want[i] = p->allowed[i] = NULL;
	p->nr_cgroups = n;

	/* The same passes as a full plan, over the new cgroups only. */
	struct tier_fence_planner pl = { .t = t, .in = in, .p = p, .from = from };
	int r = -ENOMEM;
	pl.tmp = tier_nodemask_alloc();
	pl.enable = calloc(n, sizeof(*pl.enable));
	pl.target = calloc(n, sizeof(*pl.target));
	if (!pl.enable || !pl.target)
		goto out;
	/* own and G for the new cgroups (they are all at the end, parents
	 * first); an old ancestor that would have to hold more needs a full
	 * plan. */
	for (size_t i = from; i < n; i++) {
		const struct tier_fence_cgroup *c = &t->cg[i];
		if (c->gone || c->parent < 0 || !p->allowed[c->parent])
			continue;
		p->allowed[i] = tier_nodemask_alloc();
		/* the parent's own grants are not kept: match i's path and its
		 * ancestors' (a grant covers its subtree) */
		tier_fence_granted(in, c->path, p->allowed[i]);
		tier_bitmask_and(p->allowed[i], in->with_memory);
	}
	for (size_t i = n; i-- > from;) {
		if (!p->allowed[i])
			continue;
		size_t par = (size_t)t->cg[i].parent;
		if (par >= from) {
			tier_bitmask_or(p->allowed[par], p->allowed[i]);
			continue;
		}
		tier_bitmask_copy(pl.tmp, p->allowed[i]);
		tier_bitmask_andnot(pl.tmp, p->allowed[par]);
		if (!tier_bitmask_empty(pl.tmp)) {
			r = -EAGAIN;
			goto out;
		}
	}
	for (size_t i = from; i < n; i++) {
		if (!p->allowed[i])
			continue;
		p->want[i] = tier_nodemask_alloc();
		enum target_kind k = want_of(t, in, p, i, pl.tmp);
		pl.target[i] = (unsigned char)k;
		if (k == TARGET_WANT && t->version == 2 && !t->cg[i].has_mems)
			need_file(t, i, pl.enable);
	}
	for (pl.phase = PH_ENABLE; pl.phase != PH_DONE && !pl.error; pl.phase++)
		for (pl.i = 0; plan_unit(&pl);)
			;
	r = pl.error;
out:
	free(pl.enable);
	free(pl.target);
	tier_bitmask_free(pl.tmp);
	return r;
}

void tier_fence_count(const struct tier_fence_tree *t, const struct tier_fence_plan *p,
		      const struct tier_fence_input *in, size_t *fenced, size_t *unfenced)
{
	*fenced = *unfenced = 0;
	if (!t || !p || p->error || t->nr == 0 || p->nr_cgroups == 0 || !p->private_nodes)
		return;
	struct bitmask **eff = calloc(t->nr, sizeof(*eff));
	struct bitmask *tmp = tier_nodemask_alloc(), *own = tier_nodemask_alloc();
	if (!eff)
		goto out;
	eff[0] = tier_nodemask_alloc();
	tier_bitmask_copy(eff[0], p->want[0]);
	for (size_t i = 1; i < t->nr; i++) {
		const struct tier_fence_cgroup *c = &t->cg[i];
		if (c->gone || c->parent < 0 || (size_t)c->parent >= i || !eff[c->parent])
			continue;
		size_t par = (size_t)c->parent;
		eff[i] = tier_nodemask_alloc();
		effective(t->version, c, eff[par], eff[i]);
		/* Appended after planning: it has no descendants yet, so
		 * G(c) is its own grants. */
		const struct bitmask *allowed = i < p->nr_cgroups ? p->allowed[i] : NULL;
		if (!allowed) {
			tier_fence_granted(in, c->path, own);
			allowed = own;
		}
		if (holds_foreign_private(eff[i], p->private_nodes, allowed, tmp))
			(*unfenced)++;
		else
			(*fenced)++;
	}
out:
	for (size_t i = 0; eff && i < t->nr; i++)
		tier_bitmask_free(eff[i]);
	free(eff);
	tier_bitmask_free(tmp);
	tier_bitmask_free(own);
}

/* ---- demotion ---------------------------------------------------------- */

void tier_fence_demotion_check(const struct tier_snapshot *s, const struct bitmask *private_nodes,
			       struct tier_fence_conflict *out)
{
	memset(out, 0, sizeof(*out));
	out->from_node = out->to_node = -1;
	if (!s)
		return;
	out->demotion_on = s->demotion_enabled == 1;
	for (int i = 0; i < s->nr_nodes && !out->conflict; i++) {
		const struct tier_node *n = &s->nodes[i];
		if (!n->has_memory || tier_bitmask_isset(private_nodes, n->id))
			continue;
		const struct bitmask *sets[2] = { n->demotion_preferred, n->demotion_fallback };
		for (int k = 0; k < 2 && !out->conflict; k++) {
			if (!sets[k])
				continue;
			tier_bitmask_foreach(b, sets[k]) {
				if (tier_bitmask_isset(private_nodes, b)) {
					out->conflict = true;
					out->from_node = n->id;
					out->to_node = b;
					break;
				}
			}
		}
	}
	if (out->conflict)
		snprintf(out->why, sizeof(out->why),
			 "private node %d is a demotion target of node %d: demotion ignores cpuset.mems%s",
			 out->to_node, out->from_node, out->demotion_on ? "" : " (demotion is off now)");
}

bool tier_fence_task_granted(const struct tier_config *c, const struct tier_proc_cgroups *cg)
{
	if (!c || c->nr_grants == 0)
		return false;
	if (!cg)
		return true;
	for (unsigned g = 0; g < c->nr_grants; g++)
		for (size_t i = 0; i < cg->nr; i++)
			if (cg->v[i].path && tier_fence_glob_covers(c->grants[g].cgroup, cg->v[i].path))
				return true;
	return false;
}

/* ---- eviction ---------------------------------------------------------- */

bool tier_fence_evict_target(const struct bitmask *mems_allowed, const struct bitmask *with_memory,
			     const struct bitmask *private_nodes, const struct bitmask *granted,
			     struct bitmask *out)
{
	tier_bitmask_copy(out, mems_allowed);
	tier_bitmask_and(out, with_memory);
	struct bitmask *forbidden = tier_nodemask_alloc();
	tier_bitmask_copy(forbidden, private_nodes);
	tier_bitmask_andnot(forbidden, granted);
	tier_bitmask_andnot(out, forbidden);
	tier_bitmask_free(forbidden);
	return !tier_bitmask_empty(out);
}
