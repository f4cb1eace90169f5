/* SPDX-License-Identifier: MIT */
/*
 * /proc/zoneinfo: tier_zoneinfo_parse(), then the parsed zones through
 * tier_snapshot_derive() (the watermark sums and headroom every policy
 * reads) and tier_snapshot_to_json().  Properties: a failed parse names the
 * file; the derived sums equal the exact sums (128-bit here) clamped to
 * their types, as tier/snapshot.h promises, whatever the values.
 */
#include "fuzz.h"

#include <errno.h>
#include <string.h>
#include <json-c/json.h>

#include "tier/snapshot.h"
#include "zoneinfo.h"

#define PAGE_SIZE 4096

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* One node per node id of the file, its zones in file order, in no tier
 * (what acquire builds, without the sysfs side). */
static struct tier_snapshot *snapshot_of(const struct tier_zoneinfo *zi)
{
	struct tier_snapshot *s = calloc(1, sizeof(*s));
	int *ids = calloc((size_t)zi->nr_zones, sizeof(int));
	if (!s || !ids)
		abort();
	s->page_size = PAGE_SIZE;
	s->demotion_enabled = s->numa_balancing = -1;
	int n = 0;
	for (int i = 0; i < zi->nr_zones; i++)
		ids[n++] = zi->zones[i].node;
	qsort(ids, (size_t)n, sizeof(int), cmp_int);
	int u = 0;
	for (int i = 0; i < n; i++)
		if (u == 0 || ids[u - 1] != ids[i])
			ids[u++] = ids[i];
	s->nodes = calloc((size_t)u, sizeof(*s->nodes));
	if (!s->nodes)
		abort();
	s->nr_nodes = u;
	for (int k = 0; k < u; k++) {
		struct tier_node *nd = &s->nodes[k];
		nd->id = ids[k];
		nd->tier = -1;
		nd->has_memory = true;
		nd->zones = calloc((size_t)zi->nr_zones, sizeof(*nd->zones));
		if (!nd->zones)
			abort();
		for (int i = 0; i < zi->nr_zones; i++)
			if (zi->zones[i].node == nd->id)
				nd->zones[nd->nr_zones++] = zi->zones[i].zone;
	}
	free(ids);
	return s;
}

static __int128 clamp(__int128 v, __int128 lo, __int128 hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static void check_sums(const struct tier_node *nd)
{
	__int128 f = 0, mn = 0, lo = 0, hi = 0, mg = 0;
	for (int z = 0; z < nd->nr_zones; z++) {
		const struct tier_zone *zn = &nd->zones[z];
		if (!zn->populated)
			continue;
		f += zn->free_pages;
		mn += zn->min_pages;
		lo += zn->low_pages;
		hi += zn->high_pages;
		mg += zn->managed_pages;
	}
	const __int128 umax = UINT64_MAX, imin = INT64_MIN, imax = INT64_MAX;
	FUZZ_CHECK(nd->free_pages == (uint64_t)clamp(f, 0, umax));
	FUZZ_CHECK(nd->min_pages == (uint64_t)clamp(mn, 0, umax));
	FUZZ_CHECK(nd->low_pages == (uint64_t)clamp(lo, 0, umax));
	FUZZ_CHECK(nd->high_pages == (uint64_t)clamp(hi, 0, umax));
	FUZZ_CHECK(nd->managed_pages == (uint64_t)clamp(mg, 0, umax));
	FUZZ_CHECK(nd->headroom_pages == (int64_t)clamp(f - mn, imin, imax));
	FUZZ_CHECK(nd->to_low_pages == (int64_t)clamp(f - lo, imin, imax));
	FUZZ_CHECK(nd->to_high_pages == (int64_t)clamp(f - hi, imin, imax));
	FUZZ_CHECK(nd->headroom_bytes == (int64_t)clamp((__int128)nd->headroom_pages * PAGE_SIZE, imin, imax));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	struct tier_zoneinfo zi;
	char err[256] = "";
	int r = tier_zoneinfo_parse(text, "proc/zoneinfo", &zi, err, sizeof(err));
	free(text);
	if (r < 0) {
		fuzz_note("  rejected: %s", err);
		FUZZ_CHECK(r == -EINVAL || r == -ENOMEM);
		FUZZ_CHECK(r != -EINVAL || strncmp(err, "proc/zoneinfo: ", 15) == 0);
		FUZZ_CHECK(zi.nr_zones == 0 && zi.zones == NULL);
		return 0;
	}
	FUZZ_CHECK(zi.nr_zones > 0);
	fuzz_note("  parsed: %d zones", zi.nr_zones);
	struct tier_snapshot *s = snapshot_of(&zi);
	tier_zoneinfo_free(&zi);
	tier_snapshot_derive(s);
	for (int i = 0; i < s->nr_nodes; i++)
		check_sums(&s->nodes[i]);
	json_object_put(tier_snapshot_to_json(s));
	tier_snapshot_free(s);
	return 0;
}
