/* SPDX-License-Identifier: MIT */
/* tier_snapshot_to_json(): the snapshot as json-c objects (schema in snapshot.h). */
#include <json-c/json.h>
#include <stdio.h>

#include "tier/nodemask.h"
#include "tier/snapshot.h"

static struct json_object *u64_or_null(uint64_t v)
{
	if (v == TIER_UNKNOWN || v > (uint64_t)INT64_MAX)
		return NULL;   /* json-c adds NULL as JSON null */
	return json_object_new_int64((int64_t)v);
}

static struct json_object *tri_or_null(int v)
{
	return v < 0 ? NULL : json_object_new_int64(v);
}

static struct json_object *mask_array(const struct bitmask *bm)
{
	struct json_object *a = json_object_new_array();
	if (!a)
		return NULL;
	tier_bitmask_foreach(bit, bm)
		json_object_array_add(a, json_object_new_int64(bit));
	return a;
}

static struct json_object *counters_obj(const uint64_t *c, bool with_oom)
{
	struct json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	for (int i = 0; i < TIER_NR_COUNTERS; i++) {
		if (i == TIER_OOM_KILL && !with_oom)
			continue;
		json_object_object_add(o, tier_counter_name((enum tier_counter)i), u64_or_null(c[i]));
	}
	return o;
}

static struct json_object *zone_obj(const struct tier_zone *z)
{
	struct json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "name", json_object_new_string(z->name));
	json_object_object_add(o, "populated", json_object_new_boolean(z->populated));
	json_object_object_add(o, "free_pages", u64_or_null(z->free_pages));
	json_object_object_add(o, "min_pages", u64_or_null(z->min_pages));
	json_object_object_add(o, "low_pages", u64_or_null(z->low_pages));
	json_object_object_add(o, "high_pages", u64_or_null(z->high_pages));
	json_object_object_add(o, "managed_pages", u64_or_null(z->managed_pages));
	json_object_object_add(o, "present_pages", u64_or_null(z->present_pages));
	json_object_object_add(o, "spanned_pages", u64_or_null(z->spanned_pages));
	return o;
}

static struct json_object *hmat_obj(const struct tier_hmat *h)
{
	if (!h->present)
		return NULL;
	struct json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "read_latency_ns", u64_or_null(h->read_latency_ns));
	json_object_object_add(o, "write_latency_ns", u64_or_null(h->write_latency_ns));
	json_object_object_add(o, "read_bandwidth_mbps", u64_or_null(h->read_bandwidth_mbps));
	json_object_object_add(o, "write_bandwidth_mbps", u64_or_null(h->write_bandwidth_mbps));
	return o;
}

static struct json_object *node_obj(const struct tier_node *nd)
{
	struct json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "id", json_object_new_int64(nd->id));
	json_object_object_add(o, "tier", tri_or_null(nd->tier));
	json_object_object_add(o, "online", json_object_new_boolean(nd->online));
	json_object_object_add(o, "has_cpu", json_object_new_boolean(nd->has_cpu));
	json_object_object_add(o, "has_memory", json_object_new_boolean(nd->has_memory));
	json_object_object_add(o, "has_normal_memory", json_object_new_boolean(nd->has_normal_memory));
	json_object_object_add(o, "cpus", json_object_new_string(nd->cpulist ? nd->cpulist : ""));

	struct json_object *dist = json_object_new_object();
	for (int i = 0; dist && i < nd->nr_distance; i++) {
		if (nd->distance[i] < 0)
			continue;
		char key[16];
		snprintf(key, sizeof(key), "%d", i);
		json_object_object_add(dist, key, json_object_new_int64(nd->distance[i]));
	}
	json_object_object_add(o, "distance", dist);

	json_object_object_add(o, "mem_total_bytes", u64_or_null(nd->mem_total_bytes));
	json_object_object_add(o, "mem_free_bytes", u64_or_null(nd->mem_free_bytes));
	json_object_object_add(o, "file_pages_bytes", u64_or_null(nd->file_pages_bytes));
	json_object_object_add(o, "inactive_file_bytes", u64_or_null(nd->inactive_file_bytes));
	json_object_object_add(o, "free_pages", u64_or_null(nd->free_pages));
	json_object_object_add(o, "min_pages", u64_or_null(nd->min_pages));
	json_object_object_add(o, "low_pages", u64_or_null(nd->low_pages));
	json_object_object_add(o, "high_pages", u64_or_null(nd->high_pages));
	json_object_object_add(o, "managed_pages", u64_or_null(nd->managed_pages));
	json_object_object_add(o, "headroom_pages", json_object_new_int64(nd->headroom_pages));
	json_object_object_add(o, "headroom_bytes", json_object_new_int64(nd->headroom_bytes));
	json_object_object_add(o, "to_low_pages", json_object_new_int64(nd->to_low_pages));
	json_object_object_add(o, "to_high_pages", json_object_new_int64(nd->to_high_pages));
	json_object_object_add(o, "demotion_targets", mask_array(nd->demotion_preferred));
	json_object_object_add(o, "demotion_fallback", mask_array(nd->demotion_fallback));
	json_object_object_add(o, "hmat", hmat_obj(&nd->hmat));
	json_object_object_add(o, "counters", counters_obj(nd->counters, false));

	struct json_object *zones = json_object_new_array();
	for (int i = 0; zones && i < nd->nr_zones; i++)
		json_object_array_add(zones, zone_obj(&nd->zones[i]));
	json_object_object_add(o, "zones", zones);
	return o;
}

struct json_object *tier_snapshot_to_json(const struct tier_snapshot *s)
{
	struct json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "demotion_enabled",
			       s->demotion_enabled < 0 ? NULL
						       : json_object_new_boolean(s->demotion_enabled > 0));
	json_object_object_add(o, "numa_balancing", tri_or_null(s->numa_balancing));
	json_object_object_add(o, "has_tiering", json_object_new_boolean(s->has_tiering));
	json_object_object_add(o, "page_size", json_object_new_int64((int64_t)s->page_size));
	json_object_object_add(o, "counters", counters_obj(s->counters, true));

	struct json_object *tiers = json_object_new_array();
	for (int i = 0; tiers && i < s->nr_tiers; i++) {
		struct json_object *t = json_object_new_object();
		if (!t)
			continue;
		json_object_object_add(t, "id", json_object_new_int64(s->tiers[i].id));
		json_object_object_add(t, "nodes", mask_array(s->tiers[i].nodes));
		json_object_array_add(tiers, t);
	}
	json_object_object_add(o, "tiers", tiers);

	struct json_object *nodes = json_object_new_array();
	for (int i = 0; nodes && i < s->nr_nodes; i++)
		json_object_array_add(nodes, node_obj(&s->nodes[i]));
	json_object_object_add(o, "nodes", nodes);
	return o;
}
