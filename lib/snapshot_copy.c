/* SPDX-License-Identifier: MIT */
/* tier_snapshot_dup(): a deep copy, for the guard thread's private snapshot
 * (the main thread keeps replacing its own). */
#include <stdlib.h>
#include <string.h>

#include "tier/nodemask.h"
#include "tier/snapshot.h"

static struct bitmask *mask_dup(const struct bitmask *m, bool *oom)
{
	if (!m)
		return NULL;
	struct bitmask *n = tier_bitmask_alloc((unsigned)m->size);
	if (!n) {
		*oom = true;
		return NULL;
	}
	tier_bitmask_copy(n, m);
	return n;
}

static void *mem_dup(const void *p, size_t size, bool *oom)
{
	if (!p || !size)
		return NULL;
	void *n = malloc(size);
	if (!n) {
		*oom = true;
		return NULL;
	}
	memcpy(n, p, size);
	return n;
}

struct tier_snapshot *tier_snapshot_dup(const struct tier_snapshot *s)
{
	bool oom = false;
	struct tier_snapshot *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	*d = *s;
	d->possible = mask_dup(s->possible, &oom);
	d->online = mask_dup(s->online, &oom);
	d->with_cpu = mask_dup(s->with_cpu, &oom);
	d->with_memory = mask_dup(s->with_memory, &oom);
	d->with_normal_memory = mask_dup(s->with_normal_memory, &oom);
	d->nodes = NULL;
	d->tiers = NULL;
	d->nr_nodes = d->nr_tiers = 0;
	if (s->nr_nodes) {
		d->nodes = calloc((size_t)s->nr_nodes, sizeof(*d->nodes));
		if (!d->nodes)
			oom = true;
		else
			d->nr_nodes = s->nr_nodes;
	}
	for (int i = 0; i < d->nr_nodes; i++) {
		const struct tier_node *a = &s->nodes[i];
		struct tier_node *b = &d->nodes[i];
		*b = *a;
		b->cpulist = a->cpulist ? strdup(a->cpulist) : NULL;
		if (a->cpulist && !b->cpulist)
			oom = true;
		b->cpus = mask_dup(a->cpus, &oom);
		b->distance = mem_dup(a->distance, (size_t)a->nr_distance * sizeof(*a->distance), &oom);
		b->zones = mem_dup(a->zones, (size_t)a->nr_zones * sizeof(*a->zones), &oom);
		b->demotion_preferred = mask_dup(a->demotion_preferred, &oom);
		b->demotion_fallback = mask_dup(a->demotion_fallback, &oom);
	}
	if (s->nr_tiers) {
		d->tiers = calloc((size_t)s->nr_tiers, sizeof(*d->tiers));
		if (!d->tiers)
			oom = true;
		else
			d->nr_tiers = s->nr_tiers;
	}
	for (int i = 0; i < d->nr_tiers; i++) {
		d->tiers[i].id = s->tiers[i].id;
		d->tiers[i].nodes = mask_dup(s->tiers[i].nodes, &oom);
	}
	if (oom) {
		tier_snapshot_free(d);
		return NULL;
	}
	return d;
}
