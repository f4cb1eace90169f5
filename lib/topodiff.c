/* SPDX-License-Identifier: MIT */
/*
 * Topology diff (see tier/topodiff.h for the contract).  Pure: no I/O, no
 * clock, no logging, no globals.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tier/nodemask.h>
#include <tier/snapshot.h>
#include <tier/topodiff.h>

/* ---- the shape of a snapshot -------------------------------------------- */

static uint64_t node_memory_bytes(const struct tier_snapshot *s, const struct tier_node *n)
{
	if (n->nr_zones > 0 && s->page_size)
		return n->managed_pages * s->page_size;
	if (n->mem_total_bytes != TIER_UNKNOWN)
		return n->mem_total_bytes;
	return 0;
}

void tier_topo_free(struct tier_topo *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->nr_nodes; i++) {
		tier_bitmask_free(t->nodes[i].demotion_preferred);
		tier_bitmask_free(t->nodes[i].demotion_fallback);
	}
	for (int i = 0; i < t->nr_tiers; i++)
		tier_bitmask_free(t->tiers[i].nodes);
	free(t->nodes);
	free(t->tiers);
	free(t);
}

struct tier_topo *tier_topo_from_snapshot(const struct tier_snapshot *s)
{
	struct tier_topo *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (!s)
		return t;
	t->nodes = calloc((size_t)(s->nr_nodes ? s->nr_nodes : 1), sizeof(*t->nodes));
	t->tiers = calloc((size_t)(s->nr_tiers ? s->nr_tiers : 1), sizeof(*t->tiers));
	if (!t->nodes || !t->tiers) {
		tier_topo_free(t);
		return NULL;
	}
	for (int i = 0; i < s->nr_nodes; i++) {
		const struct tier_node *n = &s->nodes[i];
		struct tier_topo_node *o = &t->nodes[t->nr_nodes++];
		o->id = n->id;
		o->online = n->online;
		o->has_memory = n->has_memory;
		o->tier = n->tier;
		o->memory_bytes = node_memory_bytes(s, n);
		/* tier_nodemask_alloc() aborts on OOM, as libnuma does. */
		o->demotion_preferred = tier_nodemask_alloc();
		o->demotion_fallback = tier_nodemask_alloc();
		if (n->demotion_preferred)
			tier_bitmask_copy(o->demotion_preferred, n->demotion_preferred);
		if (n->demotion_fallback)
			tier_bitmask_copy(o->demotion_fallback, n->demotion_fallback);
	}
	for (int i = 0; i < s->nr_tiers; i++) {
		struct tier_topo_tier *o = &t->tiers[t->nr_tiers++];
		o->id = s->tiers[i].id;
		o->nodes = tier_nodemask_alloc();
		if (s->tiers[i].nodes)
			tier_bitmask_copy(o->nodes, s->tiers[i].nodes);
	}
	return t;
}

const struct tier_topo_node *tier_topo_node(const struct tier_topo *t, int id)
{
	for (int i = 0; t && i < t->nr_nodes; i++)
		if (t->nodes[i].id == id)
			return &t->nodes[i];
	return NULL;
}

size_t tier_topo_format_tiers(const struct tier_topo *t, char *buf, size_t size)
{
	size_t need = 0;
	if (size)
		buf[0] = '\0';
	if (!t || t->nr_tiers == 0)
		return (size_t)snprintf(buf, size, "none");
	for (int i = 0; i < t->nr_tiers; i++) {
		char nodes[TIER_NODELIST_MAX];
		tier_bitmask_format(t->tiers[i].nodes, nodes, sizeof(nodes));
		int w = snprintf(need < size ? buf + need : NULL, need < size ? size - need : 0, "%s%d:%s",
				 i ? " " : "", t->tiers[i].id, nodes);
		if (w < 0)
			break;
		need += (size_t)w;
	}
	return need;
}

/* ---- the diff ----------------------------------------------------------- */

const char *tier_topo_change_name(enum tier_topo_change_kind k)
{
	switch (k) {
	case TIER_TOPO_NODE_ADDED: return "node-added";
	case TIER_TOPO_NODE_REMOVED: return "node-removed";
	case TIER_TOPO_NODE_ONLINED: return "node-onlined";
	case TIER_TOPO_NODE_OFFLINED: return "node-offlined";
	case TIER_TOPO_NODE_MEMORY_ADDED: return "node-memory-added";
	case TIER_TOPO_NODE_MEMORY_REMOVED: return "node-memory-removed";
	case TIER_TOPO_NODE_TIER_CHANGED: return "node-tier-changed";
	case TIER_TOPO_NODE_MEMORY_GROWN: return "node-memory-grown";
	case TIER_TOPO_NODE_MEMORY_SHRUNK: return "node-memory-shrunk";
	case TIER_TOPO_NODE_DEMOTION_CHANGED: return "node-demotion-changed";
	case TIER_TOPO_TIER_ADDED: return "tier-added";
	case TIER_TOPO_TIER_REMOVED: return "tier-removed";
	case TIER_TOPO_TIER_NODES_CHANGED: return "tier-nodes-changed";
	}
	return "?";
}

struct acc {
	struct tier_topodiff *d;
	size_t cap;
	int err;
};

static struct tier_topo_change *add(struct acc *a, enum tier_topo_change_kind kind, int node, bool significant)
{
	if (a->err)
		return NULL;
	if (a->d->nr == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 8;
		struct tier_topo_change *c = realloc(a->d->changes, cap * sizeof(*c));
		if (!c) {
			a->err = -ENOMEM;
			return NULL;
		}
		a->d->changes = c;
		a->cap = cap;
	}
	struct tier_topo_change *c = &a->d->changes[a->d->nr++];
	*c = (struct tier_topo_change){ .kind = kind, .node = node, .tier_before = -1, .tier_after = -1,
					.significant = significant };
	if (significant)
		a->d->significant = true;
	return c;
}

static void diff_node(struct acc *a, const struct tier_topo_node *b, const struct tier_topo_node *n)
{
	struct tier_topo_change *c;
	if (!b) {
		c = add(a, TIER_TOPO_NODE_ADDED, n->id, true);
		if (c) {
			c->tier_after = n->tier;
			c->bytes_after = n->memory_bytes;
			a->d->nodes_added++;
		}
		return;
	}
	if (!n) {
		c = add(a, TIER_TOPO_NODE_REMOVED, b->id, true);
		if (c) {
			c->tier_before = b->tier;
			c->bytes_before = b->memory_bytes;
			a->d->nodes_removed++;
		}
		return;
	}
	if (b->online != n->online)
		add(a, n->online ? TIER_TOPO_NODE_ONLINED : TIER_TOPO_NODE_OFFLINED, n->id, true);
	if (b->has_memory != n->has_memory)
		add(a, n->has_memory ? TIER_TOPO_NODE_MEMORY_ADDED : TIER_TOPO_NODE_MEMORY_REMOVED, n->id, true);
	if (b->tier != n->tier) {
		c = add(a, TIER_TOPO_NODE_TIER_CHANGED, n->id, true);
		if (c) {
			c->tier_before = b->tier;
			c->tier_after = n->tier;
		}
	}
	if (b->memory_bytes != n->memory_bytes) {
		uint64_t delta = b->memory_bytes > n->memory_bytes ? b->memory_bytes - n->memory_bytes
								   : n->memory_bytes - b->memory_bytes;
		bool sig = delta >= TIER_TOPODIFF_MIN_MEMORY_BYTES || b->memory_bytes == 0 ||
			   n->memory_bytes == 0 || b->has_memory != n->has_memory;
		c = add(a, n->memory_bytes > b->memory_bytes ? TIER_TOPO_NODE_MEMORY_GROWN
							     : TIER_TOPO_NODE_MEMORY_SHRUNK,
			n->id, sig);
		if (c) {
			c->bytes_before = b->memory_bytes;
			c->bytes_after = n->memory_bytes;
		}
	}
	if (!tier_bitmask_equal(b->demotion_preferred, n->demotion_preferred) ||
	    !tier_bitmask_equal(b->demotion_fallback, n->demotion_fallback))
		add(a, TIER_TOPO_NODE_DEMOTION_CHANGED, n->id, true);
}

static void diff_tier(struct acc *a, const struct tier_topo_tier *b, const struct tier_topo_tier *n)
{
	struct tier_topo_change *c;
	if (!b) {
		c = add(a, TIER_TOPO_TIER_ADDED, -1, true);
		if (c)
			c->tier_after = n->id;
	} else if (!n) {
		c = add(a, TIER_TOPO_TIER_REMOVED, -1, true);
		if (c)
			c->tier_before = b->id;
	} else if (!tier_bitmask_equal(b->nodes, n->nodes)) {
		c = add(a, TIER_TOPO_TIER_NODES_CHANGED, -1, true);
		if (c)
			c->tier_before = c->tier_after = n->id;
	}
}

/* ---- the summary ------------------------------------------------------- */

struct out {
	char *buf;
	size_t size, len;
	bool truncated;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	if (o->truncated)
		return;
	va_start(ap, fmt);
	int w = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= o->size - o->len) {
		/* Cut and mark: "...", on a character boundary the caller
		 * never splits (the arrow is the only multi-byte text and a
		 * cut inside it would leave invalid UTF-8). */
		o->truncated = true;
		size_t keep = o->size - 4;
		while (keep > 0 && ((unsigned char)o->buf[keep] & 0xc0) == 0x80)
			keep--;
		memcpy(o->buf + keep, "...", 4);
		o->len = keep + 3;
		return;
	}
	o->len += (size_t)w;
}

static void mib(char *buf, size_t size, uint64_t bytes)
{
	snprintf(buf, size, "%llu", (unsigned long long)((bytes + (1u << 19)) >> 20));
}

static void tier_name(char *buf, size_t size, int tier)
{
	if (tier < 0)
		snprintf(buf, size, "none");
	else
		snprintf(buf, size, "%d", tier);
}

static void mask_name(char *buf, size_t size, const struct bitmask *bm)
{
	if (!bm || tier_bitmask_empty(bm))
		snprintf(buf, size, "none");
	else if (tier_bitmask_format_checked(bm, buf, size) < 0)
		snprintf(buf, size, "%u nodes", tier_bitmask_weight(bm)); /* never a cut list */
}

static void summarize(struct tier_topodiff *d, const struct tier_topo *before, const struct tier_topo *after)
{
	struct out o = { .buf = d->summary, .size = sizeof(d->summary) };
	char tb[192], ta[192], x[64], y[64];
	bool tiers_changed = false;
	bool only_sig = d->significant;

	d->summary[0] = '\0';
	if (!d->nr)
		return;
	for (size_t i = 0; i < d->nr; i++)
		if (d->changes[i].node < 0)
			tiers_changed = true;
	tier_topo_format_tiers(before, tb, sizeof(tb));
	tier_topo_format_tiers(after, ta, sizeof(ta));
	if (tiers_changed)
		put(&o, "tiers %s \u2192 %s", tb, ta);
	else
		put(&o, "tiers %s (unchanged)", ta);

	for (size_t i = 0; i < d->nr;) {
		const struct tier_topo_change *c = &d->changes[i];
		size_t j = i;
		if (c->node < 0)
			break;  /* tier changes are in the map above */
		/* All changes of one node: "node 1 offline, tier 54 → none". */
		bool has_bytes = false;
		while (j < d->nr && d->changes[j].node == c->node) {
			if (d->changes[j].kind == TIER_TOPO_NODE_MEMORY_GROWN ||
			    d->changes[j].kind == TIER_TOPO_NODE_MEMORY_SHRUNK)
				has_bytes = d->changes[j].significant || !only_sig;
			j++;
		}
		bool first = true;
		for (size_t k = i; k < j; k++) {
			c = &d->changes[k];
			if (only_sig && !c->significant)
				continue;
			const struct tier_topo_node *bn = tier_topo_node(before, c->node);
			const struct tier_topo_node *an = tier_topo_node(after, c->node);
			char part[192] = "";
			switch (c->kind) {
			case TIER_TOPO_NODE_ADDED:
				tier_name(x, sizeof(x), c->tier_after);
				mib(y, sizeof(y), c->bytes_after);
				snprintf(part, sizeof(part), "added (%stier %s, %s MiB)",
					 an && !an->online ? "offline, " : "", x, y);
				break;
			case TIER_TOPO_NODE_REMOVED:
				tier_name(x, sizeof(x), c->tier_before);
				mib(y, sizeof(y), c->bytes_before);
				snprintf(part, sizeof(part), "removed (was tier %s, %s MiB)", x, y);
				break;
			case TIER_TOPO_NODE_ONLINED:
				snprintf(part, sizeof(part), "online");
				break;
			case TIER_TOPO_NODE_OFFLINED:
				snprintf(part, sizeof(part), "offline");
				break;
			case TIER_TOPO_NODE_MEMORY_ADDED:
				if (!has_bytes)
					snprintf(part, sizeof(part), "has memory");
				break;
			case TIER_TOPO_NODE_MEMORY_REMOVED:
				if (!has_bytes)
					snprintf(part, sizeof(part), "has no memory");
				break;
			case TIER_TOPO_NODE_TIER_CHANGED:
				tier_name(x, sizeof(x), c->tier_before);
				tier_name(y, sizeof(y), c->tier_after);
				snprintf(part, sizeof(part), "tier %s \u2192 %s", x, y);
				break;
			case TIER_TOPO_NODE_MEMORY_GROWN:
			case TIER_TOPO_NODE_MEMORY_SHRUNK:
				mib(x, sizeof(x), c->bytes_before);
				mib(y, sizeof(y), c->bytes_after);
				snprintf(part, sizeof(part), "memory %s \u2192 %s MiB", x, y);
				break;
			case TIER_TOPO_NODE_DEMOTION_CHANGED:
				if (!bn || !an)
					break;
				if (!tier_bitmask_equal(bn->demotion_preferred, an->demotion_preferred)) {
					mask_name(x, sizeof(x), bn->demotion_preferred);
					mask_name(y, sizeof(y), an->demotion_preferred);
					snprintf(part, sizeof(part), "demotes to %s \u2192 %s", x, y);
				}
				if (!tier_bitmask_equal(bn->demotion_fallback, an->demotion_fallback)) {
					size_t l = strlen(part);
					mask_name(x, sizeof(x), bn->demotion_fallback);
					mask_name(y, sizeof(y), an->demotion_fallback);
					snprintf(part + l, sizeof(part) - l, "%sfallback %s \u2192 %s", l ? " " : "",
						 x, y);
				}
				break;
			default:
				break;
			}
			if (!part[0])
				continue;
			if (first)
				put(&o, "; node %d %s", c->node, part);
			else
				put(&o, ", %s", part);
			first = false;
		}
		i = j;
	}
}

int tier_topodiff(const struct tier_topo *before, const struct tier_topo *after, struct tier_topodiff *out)
{
	static const struct tier_topo empty;
	struct acc a = { .d = out };
	memset(out, 0, sizeof(*out));
	if (!before)
		before = &empty;
	if (!after)
		after = &empty;

	/* Both sides are sorted by id: merge. */
	for (int i = 0, j = 0; i < before->nr_nodes || j < after->nr_nodes;) {
		const struct tier_topo_node *b = i < before->nr_nodes ? &before->nodes[i] : NULL;
		const struct tier_topo_node *n = j < after->nr_nodes ? &after->nodes[j] : NULL;
		if (b && n && b->id == n->id) {
			diff_node(&a, b, n);
			i++, j++;
		} else if (b && (!n || b->id < n->id)) {
			diff_node(&a, b, NULL);
			i++;
		} else {
			diff_node(&a, NULL, n);
			j++;
		}
	}
	for (int i = 0, j = 0; i < before->nr_tiers || j < after->nr_tiers;) {
		const struct tier_topo_tier *b = i < before->nr_tiers ? &before->tiers[i] : NULL;
		const struct tier_topo_tier *n = j < after->nr_tiers ? &after->tiers[j] : NULL;
		if (b && n && b->id == n->id) {
			diff_tier(&a, b, n);
			i++, j++;
		} else if (b && (!n || b->id < n->id)) {
			diff_tier(&a, b, NULL);
			i++;
		} else {
			diff_tier(&a, NULL, n);
			j++;
		}
	}
	if (a.err) {
		tier_topodiff_clear(out);
		return a.err;
	}
	summarize(out, before, after);
	return 0;
}

int tier_topodiff_snapshots(const struct tier_snapshot *before, const struct tier_snapshot *after,
			    struct tier_topodiff *out)
{
	struct tier_topo *b = tier_topo_from_snapshot(before);
	struct tier_topo *n = tier_topo_from_snapshot(after);
	int r = -ENOMEM;
	memset(out, 0, sizeof(*out));
	if (b && n)
		r = tier_topodiff(before ? b : NULL, after ? n : NULL, out);
	tier_topo_free(b);
	tier_topo_free(n);
	return r;
}

void tier_topodiff_clear(struct tier_topodiff *d)
{
	free(d->changes);
	memset(d, 0, sizeof(*d));
}
