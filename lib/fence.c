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
	}
	free(t->cg);
	free(t);
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
	if (!path) {
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
	return (int)t->nr++;
}

int tier_fence_tree_find(const struct tier_fence_tree *t, const char *path)
{
	for (size_t i = 0; t && i < t->nr; i++)
		if (!t->cg[i].gone && strcmp(t->cg[i].path, path) == 0)
			return (int)i;
	return -1;
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

void tier_fence_plan_free(struct tier_fence_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nr_ops; i++)
		tier_bitmask_free(p->ops[i].mems);
	free(p->ops);
	for (size_t i = 0; p->want && i < p->nr_cgroups; i++)
		tier_bitmask_free(p->want[i]);
	for (size_t i = 0; p->allowed && i < p->nr_cgroups; i++)
		tier_bitmask_free(p->allowed[i]);
	free(p->want);
	free(p->allowed);
	tier_bitmask_free(p->private_nodes);
	free(p);
}

static int add_op(struct tier_fence_plan *p, enum tier_fence_op_kind kind, size_t cg, const struct bitmask *mems,
		  bool interim)
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
	o->mems = NULL;
	if (mems) {
		o->mems = tier_nodemask_alloc();
		tier_bitmask_copy(o->mems, mems);
	}
	return 0;
}

/* The effective set of cgroup i given its configured set and the parent's
 * effective set, per the hierarchy's rules. */
static void effective(int version, const struct tier_fence_cgroup *c, const struct bitmask *parent_eff,
		      struct bitmask *out)
{
	if (version == 2 && (!c->has_mems || tier_bitmask_empty(c->mems))) {
		tier_bitmask_copy(out, parent_eff);
		return;
	}
	tier_bitmask_copy(out, c->mems);
	tier_bitmask_and(out, parent_eff);
	/* v2 falls back to the parent's set when nothing is left; in v1 an
	 * empty cpuset stays empty (no task can be attached to it). */
	if (version == 2 && tier_bitmask_empty(out))
		tier_bitmask_copy(out, parent_eff);
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

/* want(i) from the parent's want (see the header); returns whether the
 * cgroup's file must be written.  tmp is scratch. */
static bool want_of(const struct tier_fence_tree *t, const struct tier_fence_input *in, struct tier_fence_plan *p,
		    size_t i, struct bitmask *tmp)
{
	const struct tier_fence_cgroup *c = &t->cg[i];
	size_t par = (size_t)c->parent;
	struct bitmask *w = p->want[i];

	/* base(c): what c has (or inherits) without private nodes, within N
	 * and the parent's want; never empty. */
	if (t->version == 2 && (!c->has_mems || tier_bitmask_empty(c->mems)))
		tier_bitmask_copy(w, p->want[par]);
	else
		tier_bitmask_copy(w, c->mems);
	tier_bitmask_and(w, in->with_memory);
	tier_bitmask_and(w, p->want[par]);
	tier_bitmask_andnot(w, in->private_nodes);
	if (tier_bitmask_empty(w)) {
		tier_bitmask_copy(w, p->want[par]);
		tier_bitmask_andnot(w, in->private_nodes);
	}
	tier_bitmask_or(w, p->allowed[i]);

	if (t->version == 1)
		return !tier_bitmask_equal(c->mems, w);
	/* v2: what c would get with its file untouched under the parent's
	 * planned set. */
	effective(2, c, p->want[par], tmp);
	return !tier_bitmask_equal(tmp, w);
}

/* The ops for cgroups [from, t->nr) flagged in write[] and the ancestors
 * flagged in enable[], in the order the kernel accepts them. */
static int emit_ops(const struct tier_fence_tree *t, const struct tier_fence_input *in, struct tier_fence_plan *p,
		    size_t from, const bool *enable, bool *write, struct bitmask *tmp)
{
	if (t->version == 2) {
		/* subtree_control first, top down, then the files, top down. */
		for (size_t i = 0; i < t->nr; i++)
			if (enable[i] && add_op(p, TIER_FENCE_OP_ENABLE_CPUSET, i, NULL, false) < 0)
				return -ENOMEM;
		for (size_t i = from; i < t->nr; i++)
			if (write[i] && add_op(p, TIER_FENCE_OP_WRITE_MEMS, i, p->want[i], false) < 0)
				return -ENOMEM;
		return 0;
	}
	/* v1: widen top down (a child may only hold what its parent holds),
	 * then narrow bottom up (a parent may only drop what no child holds).
	 * cur ∪ want ⊆ parent's cur ∪ want because both parts are subsets of
	 * the parent's. */
	for (size_t i = from; i < t->nr; i++) {
		if (!write[i])
			continue;
		tier_bitmask_copy(tmp, t->cg[i].mems);
		tier_bitmask_and(tmp, in->with_memory);
		tier_bitmask_or(tmp, p->want[i]);
		if (tier_bitmask_equal(tmp, t->cg[i].mems))
			continue; /* pure narrowing: second phase only */
		bool interim = !tier_bitmask_equal(tmp, p->want[i]);
		if (add_op(p, TIER_FENCE_OP_WRITE_MEMS, i, tmp, interim) < 0)
			return -ENOMEM;
		if (!interim)
			write[i] = false;
	}
	for (size_t i = t->nr; i-- > from;)
		if (i > 0 && write[i] && add_op(p, TIER_FENCE_OP_WRITE_MEMS, i, p->want[i], false) < 0)
			return -ENOMEM;
	return 0;
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
}

int tier_fence_plan(const struct tier_fence_tree *t, const struct tier_fence_input *in, struct tier_fence_plan **out)
{
	struct tier_fence_plan *p = calloc(1, sizeof(*p));
	struct bitmask *nonpriv = NULL, *tmp = NULL, *cur_root = NULL, **cur = NULL;
	bool *enable = NULL, *write = NULL;
	int r = -ENOMEM;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	nonpriv = tier_nodemask_alloc();
	tmp = tier_nodemask_alloc();
	p->private_nodes = tier_nodemask_alloc();
	tier_bitmask_copy(p->private_nodes, in->private_nodes);
	tier_bitmask_copy(nonpriv, in->with_memory);
	tier_bitmask_andnot(nonpriv, in->private_nodes);
	if (!t || t->nr == 0 || t->cg[0].parent != -1) {
		plan_error(p, "no cgroup tree");
		goto done;
	}
	if (tier_bitmask_empty(nonpriv)) {
		plan_error(p, "every node with memory is private: nothing left for the other cgroups");
		goto done;
	}
	p->nr_cgroups = t->nr;
	p->want = calloc(t->nr, sizeof(*p->want));
	p->allowed = calloc(t->nr, sizeof(*p->allowed));
	cur = calloc(t->nr, sizeof(*cur));
	enable = calloc(t->nr, sizeof(*enable));
	write = calloc(t->nr, sizeof(*write));
	if (!p->want || !p->allowed || !cur || !enable || !write)
		goto fail;

	/* own(c): grants covering c (inherited down), then G(c): ∪ over the
	 * subtree, bottom up (children have larger indices than parents). */
	for (size_t i = 0; i < t->nr; i++) {
		const struct tier_fence_cgroup *c = &t->cg[i];
		if (c->gone || (i > 0 && (c->parent < 0 || (size_t)c->parent >= i || !p->allowed[c->parent])))
			continue;
		p->allowed[i] = tier_nodemask_alloc();
		own_grants(in, c, i > 0 ? p->allowed[c->parent] : NULL, p->allowed[i]);
	}
	for (size_t i = 0; i < t->nr; i++)
		if (p->allowed[i]) {
			tier_bitmask_and(p->allowed[i], in->private_nodes);
			tier_bitmask_and(p->allowed[i], in->with_memory);
		}
	for (size_t i = t->nr; i-- > 1;)
		if (p->allowed[i])
			tier_bitmask_or(p->allowed[t->cg[i].parent], p->allowed[i]);

	/* want(c), top down.  The root stays as the kernel keeps it. */
	cur_root = tier_nodemask_alloc();
	tier_bitmask_copy(cur_root, in->with_memory);
	p->want[0] = tier_nodemask_alloc();
	tier_bitmask_copy(p->want[0], in->with_memory);
	cur[0] = cur_root;
	for (size_t i = 1; i < t->nr; i++) {
		const struct tier_fence_cgroup *c = &t->cg[i];
		if (!p->allowed[i])
			continue;
		p->want[i] = tier_nodemask_alloc();
		cur[i] = tier_nodemask_alloc();
		effective(t->version, c, cur[c->parent], cur[i]);
		if (holds_foreign_private(cur[i], in->private_nodes, p->allowed[i], tmp))
			p->nr_unfenced++;
		else
			p->nr_fenced++;
		write[i] = want_of(t, in, p, i, tmp);
		if (write[i] && t->version == 2 && !c->has_mems)
			need_file(t, i, enable);
	}
	if (emit_ops(t, in, p, 1, enable, write, tmp) < 0)
		goto fail;
done:
	r = 0;
	*out = p;
	p = NULL;
fail:
	if (cur)
		for (size_t i = 1; i < t->nr; i++)
			tier_bitmask_free(cur[i]);
	free(cur);
	tier_bitmask_free(cur_root);
	free(enable);
	free(write);
	tier_bitmask_free(nonpriv);
	tier_bitmask_free(tmp);
	tier_fence_plan_free(p);
	return r;
}

int tier_fence_plan_extend(struct tier_fence_plan *p, const struct tier_fence_tree *t,
			   const struct tier_fence_input *in)
{
	size_t from = p->nr_cgroups;
	if (p->error || !p->private_nodes || !tier_bitmask_equal(p->private_nodes, in->private_nodes) ||
	    from == 0 || from > t->nr || !tier_bitmask_equal(p->want[0], in->with_memory))
		return -EAGAIN;
	for (size_t k = 0; k < p->nr_ops; k++)
		tier_bitmask_free(p->ops[k].mems);
	p->nr_ops = 0;
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

	struct bitmask *tmp = tier_nodemask_alloc();
	bool *enable = calloc(n, sizeof(*enable)), *write = calloc(n, sizeof(*write));
	int r = -ENOMEM;
	if (!enable || !write)
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
		tier_bitmask_copy(tmp, p->allowed[i]);
		tier_bitmask_andnot(tmp, p->allowed[par]);
		if (!tier_bitmask_empty(tmp)) {
			r = -EAGAIN;
			goto out;
		}
	}
	for (size_t i = from; i < n; i++) {
		if (!p->allowed[i])
			continue;
		p->want[i] = tier_nodemask_alloc();
		write[i] = want_of(t, in, p, i, tmp);
		if (write[i] && t->version == 2 && !t->cg[i].has_mems)
			need_file(t, i, enable);
	}
	r = emit_ops(t, in, p, from, enable, write, tmp);
out:
	free(enable);
	free(write);
	tier_bitmask_free(tmp);
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

/* ---- numa_maps --------------------------------------------------------- */

size_t tier_fence_numa_maps_bytes(const char *text, uint64_t *bytes_by_node, size_t nr_nodes)
{
	size_t lines = 0;
	const char *p = text;
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		uint64_t page_kb = 4;
		/* kernelpagesize_kB comes last on the line: find it first. */
		const char *k = p;
		while ((k = strstr(k, "kernelpagesize_kB=")) && k < p + len) {
			char *end;
			unsigned long long v = strtoull(k + 18, &end, 10);
			if (end != k + 18 && v > 0)
				page_kb = v;
			k = end;
		}
		const char *q = p;
		while (q < p + len) {
			while (q < p + len && *q == ' ')
				q++;
			const char *tok = q;
			while (q < p + len && *q != ' ')
				q++;
			if (tok[0] == 'N' && tok + 1 < q && tok[1] >= '0' && tok[1] <= '9') {
				char *end;
				unsigned long node = strtoul(tok + 1, &end, 10);
				if (*end == '=' && end < q) {
					char *e2;
					unsigned long long pages = strtoull(end + 1, &e2, 10);
					if (e2 == q && e2 != end + 1 && node < nr_nodes)
						bytes_by_node[node] += pages * page_kb * 1024u;
				}
			}
		}
		lines++;
		p = eol ? eol + 1 : p + len;
	}
	return lines;
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
