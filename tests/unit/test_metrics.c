/* SPDX-License-Identifier: MIT */
/* tier_metrics_render(): the status JSON as the Prometheus text format.
 * The real tools (promtool, node_exporter) check the output of a running
 * daemon in tests/component/test_metrics*.sh; here: the table's naming rules,
 * values computed from a fixture snapshot, absent and mistyped fields,
 * escaping of hostile strings, fill values and big inputs. */
#define _GNU_SOURCE
#include "testutil.h"

#include <json-c/json.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tier/metrics.h"
#include "tier/snapshot.h"

static char *render(struct json_object *o)
{
	size_t len = 12345;
	char *t = tier_metrics_render(o, &len);
	assert_non_null(t);
	assert_int_equal(len, strlen(t));
	return t;
}

static struct json_object *parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);
	if (!o)
		fail_msg("bad JSON in the test: %s", text);
	return o;
}

/* Does text have this exact line? */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

static size_t count_prefix(const char *text, const char *prefix)
{
	size_t n = 0, pl = strlen(prefix);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += strncmp(p, prefix, pl) == 0;
	return n;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* The naming guide, on the table itself: prefix, characters, _total exactly
 * on counters, families contiguous (one HELP/TYPE each). */
static void test_table_names(void **state)
{
	(void)state;
	regex_t re;
	assert_int_equal(regcomp(&re, "^tierd_[a-z0-9_]*[a-z0-9]$", REG_EXTENDED | REG_NOSUB), 0);
	size_t n = tier_metrics_nr_defs();
	assert_true(n >= 60);
	for (size_t i = 0; i < n; i++) {
		const char *f = tier_metrics_def_family(i);
		enum tier_metric_type t = tier_metrics_def_type(i);
		if (regexec(&re, f, 0, NULL, 0) != 0)
			fail_msg("bad metric name %s", f);
		if ((t == TIER_METRIC_COUNTER) != ends_with(f, "_total"))
			fail_msg("%s: counters and only counters end in _total", f);
		if (ends_with(f, "_count") || ends_with(f, "_sum") || ends_with(f, "_bucket"))
			fail_msg("%s: reserved suffix", f);
		for (size_t j = 0; j + 1 < i; j++) {
			if (strcmp(tier_metrics_def_family(j), f) == 0 && strcmp(tier_metrics_def_family(i - 1), f) != 0)
				fail_msg("%s: its lines are not adjacent in the table", f);
		}
		if (i > 0 && strcmp(tier_metrics_def_family(i - 1), f) == 0)
			assert_int_equal(tier_metrics_def_type(i - 1), t);
	}
	regfree(&re);
}

/* Nothing to render: an empty string, never NULL, never a crash. */
static void test_empty_and_not_objects(void **state)
{
	(void)state;
	const char *inputs[] = { "{}", "[]", "\"status\"", "42", "null", "{\"daemon\": 7, \"nodes\": {}}" };
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct json_object *o = json_tokener_parse(inputs[i]);
		char *t = render(o);
		assert_string_equal(t, "");
		free(t);
		json_object_put(o);
	}
	char *t = render(NULL);
	assert_string_equal(t, "");
	free(t);
}

/* A real snapshot (the two-tier VM under pressure) through the status
 * schema: every per-node value equals the snapshot's, times the page size. */
static void test_fixture_nodes(void **state)
{
	(void)state;
	int fd = tu_open_fixture("vm-6.12-hmat-2tier-pressure");
	struct tier_snapshot *s;
	char err[256];
	if (tier_snapshot_acquire(fd, &s, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	close(fd);
	struct json_object *o = tier_snapshot_to_json(s);
	char *t = render(o);
	char line[256];
	for (int i = 0; i < s->nr_nodes; i++) {
		const struct tier_node *n = &s->nodes[i];
		if (!n->has_memory)
			continue;
		long long pg = (long long)s->page_size;
		snprintf(line, sizeof(line), "tierd_node_free_bytes{node=\"%d\",tier=\"%d\"} %lld", n->id, n->tier,
			 (long long)n->free_pages * pg);
		if (!has_line(t, line))
			fail_msg("missing: %s\n%s", line, t);
		snprintf(line, sizeof(line), "tierd_node_min_watermark_bytes{node=\"%d\",tier=\"%d\"} %lld", n->id,
			 n->tier, (long long)n->min_pages * pg);
		assert_true(has_line(t, line));
		snprintf(line, sizeof(line), "tierd_node_headroom_bytes{node=\"%d\",tier=\"%d\"} %lld", n->id, n->tier,
			 ((long long)n->free_pages - (long long)n->min_pages) * pg);
		if (!has_line(t, line))
			fail_msg("missing: %s", line);
	}
	/* node 1 is below min in this capture: a negative headroom */
	assert_non_null(strstr(t, "tierd_node_headroom_bytes{node=\"1\",tier=\"54\"} -"));
	assert_true(has_line(t, "tierd_node_demotion_target{node=\"0\",target=\"1\"} 1"));
	assert_int_equal(count_prefix(t, "tierd_node_demotion_target{"), 1);
	assert_true(has_line(t, "tierd_tier_nodes{tier=\"4\"} 1"));
	assert_true(has_line(t, "tierd_tier_nodes{tier=\"54\"} 1"));
	assert_true(has_line(t, "tierd_node_tier_id{node=\"1\"} 54"));
	assert_true(has_line(t, "tierd_demotion_enabled 1"));
	assert_true(has_line(t, "# TYPE tierd_node_free_bytes gauge"));
	assert_true(has_line(t, "# TYPE tierd_node_demoted_bytes_total counter"));
	/* pgdemote_proactive is null on 6.12: no sample, the others are there */
	assert_int_equal(count_prefix(t, "tierd_node_demoted_bytes_total{node=\"0\",by=\"proactive\"}"), 0);
	assert_int_equal(count_prefix(t, "tierd_node_demoted_bytes_total{node=\"0\",by=\"kswapd\"}"), 1);
	/* one HELP and one TYPE per family, the HELP first */
	assert_int_equal(count_prefix(t, "# HELP tierd_node_demoted_bytes_total "), 1);
	assert_int_equal(count_prefix(t, "# TYPE tierd_node_demoted_bytes_total "), 1);
	assert_true(strstr(t, "# HELP tierd_node_free_bytes ") < strstr(t, "# TYPE tierd_node_free_bytes "));
	/* no daemon object in a bare snapshot: no daemon metrics */
	assert_null(strstr(t, "tierd_build_info"));
	free(t);
	json_object_put(o);
	tier_snapshot_free(s);
}

/* The daemon part: conversions (usec -> s, booleans, presence), the
 * summary, info metrics with labels. */
static void test_daemon_values(void **state)
{
	(void)state;
	struct json_object *o = parse(
		"{\"page_size\": 4096,"
		" \"daemon\": {\"version\": \"0.1.0\", \"uptime_usec\": 1500000, \"paused\": true, \"dry_run\": false,"
		"   \"ticks\": 4, \"tick_cost_usec_sum\": 2500, \"tick_cost_usec_max\": 1200, \"config_generation\": 3,"
		"   \"reload_failures\": 2, \"acquire_error\": null,"
		"   \"jobs\": [{\"name\": \"relief\", \"runs\": 2, \"slices\": 5, \"total_usec\": 7000, \"max_slice_usec\": 4999}]},"
		" \"guard\": {\"mode\": \"auto\", \"trip_at\": \"low\", \"release_at\": \"high+1%\", \"state\": \"watching\","
		"   \"held\": false, \"trips\": 7, \"releases\": 6},"
		" \"warnings\": [\"a\", \"b\"], \"actions_total\": 9}");
	char *t = render(o);
	const char *want[] = {
		"tierd_build_info{version=\"0.1.0\"} 1",
		"tierd_uptime_seconds 1.5",
		"tierd_paused 1",
		"tierd_dry_run 0",
		"# TYPE tierd_tick_duration_seconds summary",
		"tierd_tick_duration_seconds_sum 0.0025",
		"tierd_tick_duration_seconds_count 4",
		"tierd_tick_duration_max_seconds 0.0012",
		"tierd_config_generation 3",
		"tierd_config_reload_failures_total 2",
		"tierd_acquire_failing 0",
		"tierd_warnings 2",
		"tierd_actions_total 9",
		"tierd_job_runs_total{job=\"relief\"} 2",
		"tierd_job_seconds_total{job=\"relief\"} 0.007",
		"tierd_guard_info{mode=\"auto\",trip_at=\"low\",release_at=\"high+1%\"} 1",
		"tierd_guard_state{state=\"watching\"} 1",
		"tierd_guard_tripped 0",
		"tierd_guard_trips_total 7",
		"tierd_guard_releases_total 6",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!has_line(t, want[i]))
			fail_msg("missing line: %s\n--- got:\n%s", want[i], t);
	/* the summary has one HELP/TYPE for both lines */
	assert_int_equal(count_prefix(t, "# TYPE tierd_tick_duration_seconds "), 1);
	/* absent: no sample (no made-up zeros) */
	assert_null(strstr(t, "tierd_guard_admin_overrides_total"));
	assert_null(strstr(t, "tierd_relief_"));
	assert_null(strstr(t, "tierd_fence_"));
	free(t);
	json_object_put(o);

	o = parse("{\"daemon\": {\"acquire_error\": \"zoneinfo: truncated\"}}");
	t = render(o);
	assert_true(has_line(t, "tierd_acquire_failing 1"));
	free(t);
	json_object_put(o);
}

/* Wrong types and hostile values: skipped, never a crash or a bogus sample. */
static void test_wrong_types(void **state)
{
	(void)state;
	struct json_object *o = parse(
		"{\"page_size\": \"4096\","
		" \"nodes\": [{\"id\": 0, \"tier\": 4, \"free_pages\": 100}, 17, null, [1, 2],"
		"            {\"id\": 1, \"tier\": null, \"headroom_bytes\": -5, \"demotion_targets\": \"1\"}],"
		" \"guard\": {\"trips\": \"many\", \"releases\": 1.5, \"held\": {}},"
		" \"daemon\": {\"uptime_usec\": 1e400, \"ticks\": true},"
		" \"relief\": {\"failures\": {\"busy\": 3, \"new_reason\": 4, \"odd\": \"x\"}, \"nodes\": [],"
		"             \"moved_bytes_total\": 9223372036854775807},"
		" \"tiers\": 5}");
	char *t = render(o);
	/* page_size is not a number: no byte values from pages */
	assert_null(strstr(t, "tierd_node_free_bytes"));
	/* a node without a tier: tier="" (same as no label for Prometheus) */
	assert_true(has_line(t, "tierd_node_headroom_bytes{node=\"1\",tier=\"\"} -5"));
	assert_null(strstr(t, "tierd_node_demotion_target{"));
	assert_null(strstr(t, "tierd_guard_trips_total"));
	assert_true(has_line(t, "tierd_guard_releases_total 1.5"));
	assert_null(strstr(t, "tierd_guard_tripped"));
	assert_null(strstr(t, "tierd_uptime_seconds"));
	assert_true(has_line(t, "tierd_ticks_total 1"));
	/* an object's keys become the label: a reason added later shows up */
	assert_true(has_line(t, "tierd_relief_failures_total{reason=\"busy\"} 3"));
	assert_true(has_line(t, "tierd_relief_failures_total{reason=\"new_reason\"} 4"));
	assert_null(strstr(t, "reason=\"odd\""));
	assert_true(has_line(t, "tierd_relief_moved_bytes_total 9223372036854775807"));
	free(t);
	json_object_put(o);

	/* pages times page size must not overflow into a bogus value */
	o = parse("{\"page_size\": 4096, \"nodes\": [{\"id\": 0, \"free_pages\": 9223372036854775807}]}");
	t = render(o);
	assert_null(strstr(t, "tierd_node_free_bytes"));
	free(t);
	json_object_put(o);
}

/* Label values from strings the daemon did not choose (job names, reasons,
 * states come from code today; grant names from the config): escaped, and
 * invalid UTF-8 replaced, so the exposition stays parseable. */
static void test_escaping(void **state)
{
	(void)state;
	struct json_object *o = json_object_new_object(), *d = json_object_new_object(),
			   *jobs = json_object_new_array(), *j = json_object_new_object();
	json_object_object_add(j, "name", json_object_new_string("a\"b\\c\nd\xff\xc3\xa9"));
	json_object_object_add(j, "runs", json_object_new_int(1));
	json_object_array_add(jobs, j);
	json_object_object_add(d, "jobs", jobs);
	json_object_object_add(o, "daemon", d);
	char *t = render(o);
	if (!has_line(t, "tierd_job_runs_total{job=\"a\\\"b\\\\c\\nd?\xc3\xa9\"} 1"))
		fail_msg("escaping:\n%s", t);
	free(t);
	json_object_put(o);
}

/* Every demotion reason tierd knows always has a sample once the reasons
 * list is there; an unknown one (a newer daemon) is rendered as well. */
static void test_demotion_reasons(void **state)
{
	(void)state;
	struct json_object *o = parse(
		"{\"demotion\": {\"held_by_tierd\": true, \"admin_overrides\": 1, \"reasons\": ["
		"  {\"reason\": \"guard\", \"overridden\": false}, {\"reason\": \"fence\", \"overridden\": true},"
		"  {\"reason\": \"future\", \"overridden\": false}]}}");
	char *t = render(o);
	const char *want[] = {
		"tierd_demotion_reason_active{reason=\"guard\"} 1",
		"tierd_demotion_reason_active{reason=\"fence\"} 0",
		"tierd_demotion_reason_active{reason=\"future\"} 1",
		"tierd_demotion_reason_active{reason=\"pause\"} 0",
		"tierd_demotion_reason_active{reason=\"admin\"} 0",
		"tierd_demotion_reason_overridden{reason=\"fence\"} 1",
		"tierd_demotion_reason_overridden{reason=\"guard\"} 0",
		"tierd_demotion_held_off 1",
		"tierd_demotion_admin_overrides_total 1",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!has_line(t, want[i]))
			fail_msg("missing line: %s\n--- got:\n%s", want[i], t);
	assert_int_equal(count_prefix(t, "tierd_demotion_reason_active{"), 5);
	free(t);
	json_object_put(o);

	/* no reasons list at all (an older status): no reason samples */
	o = parse("{\"demotion\": {\"held_by_tierd\": false}}");
	t = render(o);
	assert_null(strstr(t, "tierd_demotion_reason_active"));
	free(t);
	json_object_put(o);
}

/* 10,000 nodes with 64 demotion targets each: every sample rendered, in
 * bounded time (this is a test of completeness, not of speed). */
static void test_big(void **state)
{
	(void)state;
	struct json_object *o = json_object_new_object(), *nodes = json_object_new_array();
	json_object_object_add(o, "page_size", json_object_new_int(4096));
	for (int i = 0; i < 10000; i++) {
		struct json_object *n = json_object_new_object(), *tg = json_object_new_array();
		json_object_object_add(n, "id", json_object_new_int(i));
		json_object_object_add(n, "tier", json_object_new_int(4));
		json_object_object_add(n, "free_pages", json_object_new_int(i));
		for (int k = 0; k < 64; k++)
			json_object_array_add(tg, json_object_new_int(k));
		json_object_object_add(n, "demotion_targets", tg);
		json_object_array_add(nodes, n);
	}
	json_object_object_add(o, "nodes", nodes);
	char *t = render(o);
	assert_int_equal(count_prefix(t, "tierd_node_free_bytes{"), 10000);
	assert_int_equal(count_prefix(t, "tierd_node_demotion_target{"), 640000);
	assert_true(has_line(t, "tierd_node_free_bytes{node=\"9999\",tier=\"4\"} 40955904"));
	free(t);
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_names),
		cmocka_unit_test(test_empty_and_not_objects),
		cmocka_unit_test(test_fixture_nodes),
		cmocka_unit_test(test_daemon_values),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_demotion_reasons),
		cmocka_unit_test(test_big),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
