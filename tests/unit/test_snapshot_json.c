/* SPDX-License-Identifier: MIT */
/* tier_snapshot_to_json(): schema and unknown -> null. */
#include "testutil.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tier/snapshot.h"

/* Serialize and parse back, so the test sees what a client sees. */
static struct json_object *snapshot_json(const char *fixture)
{
	int fd = tu_open_fixture(fixture);
	struct tier_snapshot *s;
	char err[256];
	if (tier_snapshot_acquire(fd, &s, err, sizeof(err)) != 0)
		fail_msg("%s: %s", fixture, err);
	close(fd);
	struct json_object *j = tier_snapshot_to_json(s);
	assert_non_null(j);
	char *text = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	json_object_put(j);
	tier_snapshot_free(s);
	struct json_object *back = json_tokener_parse(text);
	free(text);
	assert_non_null(back);
	return back;
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("key '%s' missing", key);
	return v;   /* NULL for a JSON null */
}

static int64_t geti(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);
	if (!v || !json_object_is_type(v, json_type_int))
		fail_msg("key '%s' is not an int", key);
	return json_object_get_int64(v);
}

static void assert_int_array(struct json_object *a, const char *want)
{
	assert_true(json_object_is_type(a, json_type_array));
	char buf[128] = "";
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		size_t len = strlen(buf);
		snprintf(buf + len, sizeof(buf) - len, "%s%jd", i ? "," : "",
			 (intmax_t)json_object_get_int64(json_object_array_get_idx(a, i)));
	}
	assert_string_equal(buf, want);
}

static struct json_object *node(struct json_object *root, size_t i)
{
	return json_object_array_get_idx(get(root, "nodes"), i);
}

static void test_3tier(void **state)
{
	(void)state;
	struct json_object *j = snapshot_json("vm-6.12-hmat-3tier");
	assert_true(json_object_is_type(get(j, "demotion_enabled"), json_type_boolean));
	assert_false(json_object_get_boolean(get(j, "demotion_enabled")));
	assert_int_equal(geti(j, "numa_balancing"), 1);
	assert_true(json_object_get_boolean(get(j, "has_tiering")));
	assert_int_equal(geti(j, "page_size"), sysconf(_SC_PAGESIZE));

	struct json_object *c = get(j, "counters");
	assert_int_equal(geti(c, "pgdemote_kswapd"), 0);
	assert_int_equal(geti(c, "oom_kill"), 0);
	assert_null(get(c, "pgdemote_proactive"));   /* not in 6.12 */

	struct json_object *tiers = get(j, "tiers");
	assert_int_equal(json_object_array_length(tiers), 3);
	static const int ids[] = { 4, 54, 270 };
	for (size_t i = 0; i < 3; i++) {
		struct json_object *t = json_object_array_get_idx(tiers, i);
		assert_int_equal(geti(t, "id"), ids[i]);
		char want[4];
		snprintf(want, sizeof(want), "%zu", i);
		assert_int_array(get(t, "nodes"), want);
	}

	struct json_object *n0 = node(j, 0);
	assert_int_equal(geti(n0, "id"), 0);
	assert_int_equal(geti(n0, "tier"), 4);
	assert_true(json_object_get_boolean(get(n0, "online")));
	assert_true(json_object_get_boolean(get(n0, "has_cpu")));
	assert_true(json_object_get_boolean(get(n0, "has_memory")));
	assert_true(json_object_get_boolean(get(n0, "has_normal_memory")));
	assert_string_equal(json_object_get_string(get(n0, "cpus")), "0-1");
	struct json_object *d = get(n0, "distance");
	assert_int_equal(geti(d, "0"), 10);
	assert_int_equal(geti(d, "1"), 20);
	assert_int_equal(geti(d, "2"), 30);
	assert_int_equal(geti(n0, "mem_total_bytes"), 1030452LL * 1024);
	assert_int_equal(geti(n0, "mem_free_bytes"), 990772LL * 1024);
	assert_int_equal(geti(n0, "file_pages_bytes"), 15360LL * 1024);
	assert_int_equal(geti(n0, "inactive_file_bytes"), 0);
	/* DMA 3712/137/171/205 managed 3840, DMA32 244474/9058/11322/13586 managed 253773 */
	assert_int_equal(geti(n0, "free_pages"), 3712 + 244474);
	assert_int_equal(geti(n0, "min_pages"), 137 + 9058);
	assert_int_equal(geti(n0, "low_pages"), 171 + 11322);
	assert_int_equal(geti(n0, "high_pages"), 205 + 13586);
	assert_int_equal(geti(n0, "managed_pages"), 3840 + 253773);
	assert_int_equal(geti(n0, "headroom_pages"), 3712 + 244474 - 137 - 9058);
	assert_int_equal(geti(n0, "headroom_bytes"), (3712 + 244474 - 137 - 9058) * sysconf(_SC_PAGESIZE));
	assert_int_equal(geti(n0, "to_low_pages"), 3712 + 244474 - 171 - 11322);
	assert_int_equal(geti(n0, "to_high_pages"), 3712 + 244474 - 205 - 13586);
	assert_int_array(get(n0, "demotion_targets"), "1");
	assert_int_array(get(n0, "demotion_fallback"), "1,2");
	struct json_object *h = get(n0, "hmat");
	assert_int_equal(geti(h, "read_latency_ns"), 100);
	assert_int_equal(geti(h, "write_latency_ns"), 100);
	assert_int_equal(geti(h, "read_bandwidth_mbps"), 20480);
	assert_int_equal(geti(h, "write_bandwidth_mbps"), 20480);
	struct json_object *nc = get(n0, "counters");
	assert_int_equal(geti(nc, "pgpromote_success"), 0);
	assert_null(get(nc, "pgdemote_proactive"));
	struct json_object *oom;
	assert_false(json_object_object_get_ex(nc, "oom_kill", &oom));   /* global only */

	struct json_object *zones = get(n0, "zones");
	assert_int_equal(json_object_array_length(zones), 5);
	struct json_object *z = json_object_array_get_idx(zones, 1);
	assert_string_equal(json_object_get_string(get(z, "name")), "DMA32");
	assert_true(json_object_get_boolean(get(z, "populated")));
	assert_int_equal(geti(z, "free_pages"), 244474);
	assert_int_equal(geti(z, "min_pages"), 9058);
	assert_int_equal(geti(z, "low_pages"), 11322);
	assert_int_equal(geti(z, "high_pages"), 13586);
	assert_int_equal(geti(z, "managed_pages"), 253773);
	assert_int_equal(geti(z, "present_pages"), 258048);
	z = json_object_array_get_idx(zones, 2);
	assert_string_equal(json_object_get_string(get(z, "name")), "Normal");
	assert_false(json_object_get_boolean(get(z, "populated")));

	struct json_object *n2 = node(j, 2);
	assert_int_equal(geti(n2, "tier"), 270);
	assert_string_equal(json_object_get_string(get(n2, "cpus")), "");
	assert_false(json_object_get_boolean(get(n2, "has_cpu")));
	assert_int_array(get(n2, "demotion_targets"), "");
	assert_int_array(get(n2, "demotion_fallback"), "");
	assert_int_equal(geti(get(n2, "hmat"), "read_latency_ns"), 600);
	json_object_put(j);
}

static void test_unknowns_are_null(void **state)
{
	(void)state;
	struct json_object *j = snapshot_json("edge-no-tiering");
	assert_null(get(j, "demotion_enabled"));
	assert_null(get(j, "numa_balancing"));
	assert_false(json_object_get_boolean(get(j, "has_tiering")));
	assert_int_equal(json_object_array_length(get(j, "tiers")), 0);
	struct json_object *c = get(j, "counters");
	assert_null(get(c, "pgdemote_kswapd"));
	assert_null(get(c, "pgpromote_success"));
	assert_int_equal(geti(c, "oom_kill"), 3);
	struct json_object *n0 = node(j, 0);
	assert_null(get(n0, "tier"));
	assert_null(get(n0, "hmat"));
	assert_null(get(get(n0, "counters"), "pgdemote_direct"));
	json_object_put(j);

	/* Negative headroom is a negative number, not null. */
	j = snapshot_json("vm-6.12-hmat-2tier-pressure");
	assert_true(json_object_get_boolean(get(j, "demotion_enabled")));
	assert_int_equal(geti(node(j, 1), "headroom_pages"), 6732 - 8606);
	assert_int_equal(geti(get(j, "counters"), "pgdemote_kswapd"), 5725);
	json_object_put(j);

	/* Node ids above 64 in keys and arrays. */
	j = snapshot_json("edge-node-above-64");
	assert_int_equal(geti(node(j, 1), "id"), 70);
	assert_int_equal(geti(get(node(j, 0), "distance"), "70"), 20);
	assert_int_array(get(node(j, 0), "demotion_targets"), "70");
	json_object_put(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_3tier),
		cmocka_unit_test(test_unknowns_are_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
