/* SPDX-License-Identifier: MIT */
/*
 * tierctl's renderer (daemon/tierctl-render.c) on replies a hostile or
 * broken daemon could send: the regression inputs of the fuzz corpus
 * (tests/fuzz/corpus/tierctl-reply/regress-*), rendered into memory, with
 * the text a user would see checked.  Issue 15: products that overflowed
 * (a wrong HEADROOM, undefined behaviour) and members of the wrong type
 * (json-c assert()s in its array functions: tierctl aborted).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "tierctl-render.h"

static struct json_object *reply_data(const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/tierctl-reply/%s", TIER_SOURCE_DIR, name);
	/* A protocol 2 frame: a 4-byte length, then the JSON. */
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static char text[1 << 20];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	assert_true(n > 4);
	text[n] = '\0';
	struct json_object *o = json_tokener_parse(text + 4), *d = NULL;
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "data", &d));
	json_object_get(d);
	json_object_put(o);
	return d;
}

/* Render with fn into a string (malloc'd). */
static char *render(void (*fn)(FILE *, struct json_object *), struct json_object *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	fn(f, d);
	fclose(f);
	return buf;
}

/* The line of the topology table for node 0. */
static char *node0_row(char *text)
{
	for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n"))
		if (strncmp(l, "  0 ", 4) == 0)
			return l;
	fail_msg("no row for node 0");
	return NULL;
}

static void test_headroom_overflow(void **state)
{
	(void)state;
	struct json_object *d = reply_data("regress-render-headroom-overflow");
	char *out = render(tierctl_render_topology, d);
	char *row = node0_row(out);
	/* free and headroom pages of INT64_MAX times 4096 bytes do not fit: "?",
	 * where the wrapped product used to print a small or negative size.
	 * The other columns are the exact products. */
	char cpus[16], total[16], totu[8], free_[16], mn[16], mnu[8], lo[16], lou[8], hi[16], hiu[8], head[16], dem[8];
	int id;
	assert_int_equal(sscanf(row, "%d %15s %15s %7s %15s %15s %7s %15s %7s %15s %7s %15s %7s", &id, cpus, total,
				totu, free_, mn, mnu, lo, lou, hi, hiu, head, dem),
			 13);
	assert_string_equal(free_, "?");
	assert_string_equal(head, "?");
	assert_string_equal(mn, "32.4");   /* 8306 pages */
	assert_string_equal(mnu, "MiB");
	assert_string_equal(total, "969.0");
	free(out);
	json_object_put(d);

	d = reply_data("regress-render-page-size-overflow");
	out = render(tierctl_render_topology, d);
	row = node0_row(out);
	/* A page size of INT64_MAX: every product overflows but 0 and 1 pages. */
	assert_non_null(strstr(row, "?"));
	assert_null(strstr(row, "EiB"));
	free(out);
	json_object_put(d);
}

static void test_wrong_types(void **state)
{
	(void)state;
	struct json_object *d = reply_data("regress-render-wrong-types");
	char *out = render(tierctl_render_status, d);
	/* "tiers": 5 and "nodes": {...} read as no tiers and no nodes. */
	assert_non_null(strstr(out, "No memory tiers reported by the kernel"));
	assert_null(strstr(out, "NODE"));
	/* A null warning prints as null, not as printf's "(null)". */
	assert_non_null(strstr(out, "warning: null\nwarning: 3\n"));
	/* "failures": [...] is not an object: no failures line. */
	assert_null(strstr(out, "failures:"));
	assert_non_null(strstr(out, "Last actions:\n  none\n"));
	free(out);
	json_object_put(d);
}

static void test_idlist_edges(void **state)
{
	(void)state;
	struct json_object *d = reply_data("regress-render-idlist-edges");
	char *out = render(tierctl_render_topology, d);
	/* A run ending at LLONG_MAX: no b + 1 overflow; non-object entries of
	 * "tiers" and "nodes" are skipped. */
	assert_non_null(strstr(out, "Tier 4 (fastest): nodes 9223372036854775806-9223372036854775807\n"));
	char *row = node0_row(out);
	assert_non_null(strstr(row, "  9223372036854775807"));
	free(out);
	json_object_put(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headroom_overflow),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_idlist_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
