/* SPDX-License-Identifier: MIT */
/* Typed value parsers of /etc/tierd.conf (lib/config_types.c). */
#include "testutil.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <tier/config.h>
#include <tier/nodemask.h>
#include <tier/snapshot.h>

static char msg[512];

static void test_bool(void **state)
{
	(void)state;
	static const char *const yes[] = { "yes", "true", "on", "1", "YES", "True" };
	static const char *const no[] = { "no", "false", "off", "0", "No", "OFF" };
	for (size_t i = 0; i < 6; i++) {
		bool b = false;
		assert_int_equal(tier_parse_bool(yes[i], &b, msg, sizeof(msg)), 0);
		assert_true(b);
		b = true;
		assert_int_equal(tier_parse_bool(no[i], &b, msg, sizeof(msg)), 0);
		assert_false(b);
	}
	static const char *const bad[] = { "", "y", "n", "2", "yes ", "enable", "-1", "01" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bool b = true;
		assert_int_equal(tier_parse_bool(bad[i], &b, msg, sizeof(msg)), -EINVAL);
		assert_true(b);  /* untouched */
		assert_non_null(strstr(msg, "expected yes, no"));
	}
	tier_parse_bool("maybe", &(bool){ 0 }, msg, sizeof(msg));
	assert_string_equal(msg, "expected yes, no, true, false, on, off, 1 or 0, got 'maybe'");
}

static void test_uint(void **state)
{
	(void)state;
	uint64_t v = 0;
	assert_int_equal(tier_parse_uint("1", 1, 1024, &v, msg, sizeof(msg)), 0);
	assert_int_equal(v, 1);
	assert_int_equal(tier_parse_uint("1024", 1, 1024, &v, msg, sizeof(msg)), 0);
	assert_int_equal(v, 1024);
	assert_int_equal(tier_parse_uint("0", 1, 1024, &v, msg, sizeof(msg)), -ERANGE);
	assert_string_equal(msg, "expected an integer from 1 to 1024, got '0'");
	assert_int_equal(tier_parse_uint("1025", 1, 1024, &v, msg, sizeof(msg)), -ERANGE);
	assert_int_equal(tier_parse_uint("18446744073709551615", 0, UINT64_MAX, &v, msg, sizeof(msg)), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(tier_parse_uint("18446744073709551616", 0, UINT64_MAX, &v, msg, sizeof(msg)), -ERANGE);
	static const char *const bad[] = { "", "-1", "+1", " 1", "1 ", "0x10", "1.0", "1k", "abc" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 77;
		assert_int_equal(tier_parse_uint(bad[i], 0, 1000, &v, msg, sizeof(msg)), -EINVAL);
		assert_int_equal(v, 77);
	}
	/* Leading zeros are plain decimal, not octal. */
	assert_int_equal(tier_parse_uint("010", 0, 1000, &v, msg, sizeof(msg)), 0);
	assert_int_equal(v, 10);
}

static void test_size(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		uint64_t bytes;
	} good[] = {
		{ "0", 0 }, { "1", 1 }, { "512B", 512 }, { "1K", 1024 }, { "1k", 1024 }, { "4KiB", 4096 },
		{ "64M", 64ull << 20 }, { "64MiB", 64ull << 20 }, { "256m", 256ull << 20 },
		{ "1G", 1ull << 30 }, { "1.5G", 3ull << 29 }, { "0.5K", 512 }, { "2T", 2ull << 40 },
		{ "16777215T", 16777215ull << 40 },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint64_t v = 0;
		int rc = tier_parse_size(good[i].s, &v, msg, sizeof(msg));
		if (rc != 0)
			fail_msg("'%s': %s", good[i].s, msg);
		assert_true(v == good[i].bytes);
		assert_string_equal(msg, "");
	}
	static const char *const bad[] = {
		"", "M", "-1M", "+1M", "1 M", "1MB", "1KB", "1Mi", "1P", "1.M", ".5M", "1.0.0K",
		"0.3K" /* 307.2 bytes */, "1.0000000001G" /* > 9 fraction digits */, "1e3", "64 M",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 42;
		int rc = tier_parse_size(bad[i], &v, msg, sizeof(msg));
		if (rc != -EINVAL)
			fail_msg("'%s' gave %d (%s)", bad[i], rc, msg);
		assert_int_equal(v, 42);
	}
	uint64_t v;
	assert_int_equal(tier_parse_size("16777216T", &v, msg, sizeof(msg)), -ERANGE);  /* 2^64 */
	assert_int_equal(tier_parse_size("99999999999999999999", &v, msg, sizeof(msg)), -ERANGE);
	assert_int_equal(tier_parse_size("64X", &v, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "got '64X'"));
}

static void test_duration(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		uint64_t usec;
	} good[] = {
		{ "0", 0 }, { "0s", 0 }, { "1us", 1 }, { "100ms", 100000 }, { "1s", 1000000 },
		{ "1.5s", 1500000 }, { "0.25ms", 250 }, { "2min", 120000000 }, { "1h", 3600000000ull },
		{ "1.5h", 5400000000ull }, { "0.000001s", 1 }, { "60s", 60000000 }, { "10ms", 10000 },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint64_t v = 99;
		int rc = tier_parse_duration(good[i].s, &v, msg, sizeof(msg));
		if (rc != 0)
			fail_msg("'%s': %s", good[i].s, msg);
		assert_true(v == good[i].usec);
	}
	static const char *const bad[] = {
		"", "1", "10", "s", "1 s", "1sec", "1S", "1m", "5M", "1.5us", "0.0000001s", "-1s", "+1s",
		"1min30s", "1.s", ".5s", "1d", "1ns", "1s ",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 99;
		int rc = tier_parse_duration(bad[i], &v, msg, sizeof(msg));
		if (rc != -EINVAL)
			fail_msg("'%s' gave %d (%s)", bad[i], rc, msg);
		assert_int_equal(v, 99);
	}
	uint64_t v;
	tier_parse_duration("5", &v, msg, sizeof(msg));
	assert_non_null(strstr(msg, "unit is required"));
	tier_parse_duration("5m", &v, msg, sizeof(msg));
	assert_non_null(strstr(msg, "'m' is ambiguous"));
	assert_int_equal(tier_parse_duration("99999999999999h", &v, msg, sizeof(msg)), -ERANGE);
}

static void test_nodelist(void **state)
{
	(void)state;
	struct bitmask *bm = tier_nodemask_alloc();
	char buf[128];

	assert_int_equal(tier_parse_nodelist("0-3,8", bm, msg, sizeof(msg)), 0);
	tier_bitmask_format(bm, buf, sizeof(buf));
	assert_string_equal(buf, "0-3,8");
	assert_int_equal(tier_bitmask_weight(bm), 5);

	/* Nodes that do not exist on this (1-node) host are fine: syntax only. */
	assert_int_equal(tier_parse_nodelist("1023", bm, msg, sizeof(msg)), 0);
	assert_true(tier_bitmask_isset(bm, 1023));
	assert_int_equal(tier_bitmask_weight(bm), 1);

	assert_int_equal(tier_parse_nodelist("", bm, msg, sizeof(msg)), 0);
	assert_true(tier_bitmask_empty(bm));
	assert_int_equal(tier_parse_nodelist("5,2,2", bm, msg, sizeof(msg)), 0);
	tier_bitmask_format(bm, buf, sizeof(buf));
	assert_string_equal(buf, "2,5");

	static const char *const bad[] = {
		"0-", "-1", "3-1", "0,,1", "0,", ",0", "0 ,1", " 0", "0\n", "all", "+0", "!0", "a", "0-3:2",
	};
	assert_int_equal(tier_parse_nodelist("7", bm, msg, sizeof(msg)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = tier_parse_nodelist(bad[i], bm, msg, sizeof(msg));
		if (rc != -EINVAL)
			fail_msg("'%s' gave %d", bad[i], rc);
		assert_non_null(strstr(msg, "expected a node list like 0-3,8"));
		/* Untouched on error. */
		assert_int_equal(tier_bitmask_weight(bm), 1);
		assert_true(tier_bitmask_isset(bm, 7));
	}
	assert_int_equal(tier_parse_nodelist("1024", bm, msg, sizeof(msg)), -ERANGE);
	assert_true(tier_bitmask_isset(bm, 7));
	assert_non_null(strstr(msg, "from 0 to 1023"));
	assert_int_equal(tier_parse_nodelist("0-99999999999999999999", bm, msg, sizeof(msg)) < 0, 1);
	tier_bitmask_free(bm);
}

static void test_wm_expr(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		enum tier_wm_base base;
		uint64_t bytes;
		unsigned permille;
	} good[] = {
		{ "min", TIER_WM_MIN, 0, 0 }, { "low", TIER_WM_LOW, 0, 0 }, { "high", TIER_WM_HIGH, 0, 0 },
		{ "high+1%", TIER_WM_HIGH, 0, 10 }, { "low+0.5%", TIER_WM_LOW, 0, 5 },
		{ "min+100%", TIER_WM_MIN, 0, 1000 }, { "min+0%", TIER_WM_MIN, 0, 0 },
		{ "high+64M", TIER_WM_HIGH, 64ull << 20, 0 }, { "low+4096", TIER_WM_LOW, 4096, 0 },
		{ "high+1.5G", TIER_WM_HIGH, 3ull << 29, 0 },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct tier_wm_expr e = { TIER_WM_HIGH, 7, 7 };
		int rc = tier_parse_wm_expr(good[i].s, &e, msg, sizeof(msg));
		if (rc != 0)
			fail_msg("'%s': %s", good[i].s, msg);
		assert_int_equal(e.base, good[i].base);
		assert_true(e.plus_bytes == good[i].bytes);
		assert_int_equal(e.plus_permille, good[i].permille);
	}
	static const char *const bad[] = {
		"", "lo", "LOW", "medium", "high+", "high-1%", "high +1%", "high+ 1%", "high+1 %",
		"high+%", "high+0.05%", "high+1%%", "high+64MB", "high+1%+64M", "+1%", "lowx", "min+-1M",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tier_wm_expr e = { TIER_WM_LOW, 5, 5 };
		int rc = tier_parse_wm_expr(bad[i], &e, msg, sizeof(msg));
		if (rc != -EINVAL)
			fail_msg("'%s' gave %d (%s)", bad[i], rc, msg);
		assert_int_equal(e.plus_bytes, 5);
		assert_non_null(strstr(msg, "expected min, low or high, optionally +SIZE or +N%"));
	}
	struct tier_wm_expr e;
	assert_int_equal(tier_parse_wm_expr("high+100.1%", &e, msg, sizeof(msg)), -ERANGE);
	assert_int_equal(tier_parse_wm_expr("high+101%", &e, msg, sizeof(msg)), -ERANGE);
	tier_parse_wm_expr("lo", &e, msg, sizeof(msg));
	assert_string_equal(msg, "expected min, low or high, optionally +SIZE or +N%, got 'lo'");
}

static void test_wm_format(void **state)
{
	(void)state;
	static const char *const round[] = { "min", "low", "high", "high+1%", "low+0.5%", "high+64M",
					     "min+1536K", "low+100%", "high+4097" };
	for (size_t i = 0; i < sizeof(round) / sizeof(round[0]); i++) {
		struct tier_wm_expr e;
		char buf[64];
		assert_int_equal(tier_parse_wm_expr(round[i], &e, msg, sizeof(msg)), 0);
		size_t n = tier_wm_expr_format(&e, buf, sizeof(buf));
		assert_string_equal(buf, round[i]);
		assert_int_equal(n, strlen(round[i]));
	}
	/* "1.5G" is printed exactly, in the largest unit that divides it. */
	struct tier_wm_expr e = { TIER_WM_HIGH, 3ull << 29, 0 };
	char buf[64];
	tier_wm_expr_format(&e, buf, sizeof(buf));
	assert_string_equal(buf, "high+1536M");
	/* Truncation still terminates and reports the needed length. */
	char small[5];
	assert_int_equal(tier_wm_expr_format(&e, small, sizeof(small)), strlen("high+1536M"));
	assert_string_equal(small, "high");
}

static void test_wm_pages(void **state)
{
	(void)state;
	struct tier_node n = { 0 };
	n.min_pages = 100;
	n.low_pages = 125;
	n.high_pages = 150;
	n.managed_pages = 1000000;
	struct tier_wm_expr e = { TIER_WM_MIN, 0, 0 };
	assert_int_equal(tier_wm_expr_pages(&e, &n, 4096), 100);
	e.base = TIER_WM_LOW;
	assert_int_equal(tier_wm_expr_pages(&e, &n, 4096), 125);
	e.base = TIER_WM_HIGH;
	assert_int_equal(tier_wm_expr_pages(&e, &n, 4096), 150);
	e.plus_permille = 10;   /* 1% of 1000000 pages */
	assert_int_equal(tier_wm_expr_pages(&e, &n, 4096), 150 + 10000);
	e.plus_permille = 0;
	e.plus_bytes = 64ull << 20;
	assert_int_equal(tier_wm_expr_pages(&e, &n, 4096), 150 + 16384);
	assert_int_equal(tier_wm_expr_pages(&e, &n, 65536), 150 + 1024);
	/* Margins round up to whole pages. */
	e.plus_bytes = 4097;
	assert_int_equal(tier_wm_expr_pages(&e, &n, 4096), 152);
	e.plus_bytes = 0;
	e.plus_permille = 1;
	n.managed_pages = 1001;   /* 1.001 pages -> 2 */
	assert_int_equal(tier_wm_expr_pages(&e, &n, 4096), 152);
	/* Saturates instead of wrapping. */
	e.plus_bytes = UINT64_MAX;
	assert_true(tier_wm_expr_pages(&e, &n, 1) == UINT64_MAX);
}

static void test_log_level(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int level;
	} good[] = {
		{ "emerg", LOG_EMERG }, { "alert", LOG_ALERT }, { "crit", LOG_CRIT }, { "err", LOG_ERR },
		{ "error", LOG_ERR }, { "warning", LOG_WARNING }, { "warn", LOG_WARNING },
		{ "notice", LOG_NOTICE }, { "info", LOG_INFO }, { "debug", LOG_DEBUG }, { "0", 0 }, { "7", 7 },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int l = -5;
		assert_int_equal(tier_parse_log_level(good[i].s, &l, msg, sizeof(msg)), 0);
		assert_int_equal(l, good[i].level);
	}
	static const char *const bad[] = { "", "8", "-1", "07", "INFO", "verbose", "10" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int l = -5;
		assert_int_equal(tier_parse_log_level(bad[i], &l, msg, sizeof(msg)), -EINVAL);
		assert_int_equal(l, -5);
	}
	assert_string_equal(tier_log_level_name(LOG_INFO), "info");
	assert_string_equal(tier_log_level_name(8), "?");
}

static void test_cgroup_path(void **state)
{
	(void)state;
	static const char *const good[] = { "/", "/system.slice", "/system.slice/db.service", "/a/b-c_d/e.f@1",
					    "/.hidden" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(tier_parse_cgroup_path(good[i], false, msg, sizeof(msg)), 0);
		assert_int_equal(tier_parse_cgroup_path(good[i], true, msg, sizeof(msg)), 0);
	}
	static const char *const globs[] = { "/*", "/user.slice/user-*.slice", "/batch/job-[0-9]?" };
	for (size_t i = 0; i < sizeof(globs) / sizeof(globs[0]); i++) {
		assert_int_equal(tier_parse_cgroup_path(globs[i], true, msg, sizeof(msg)), 0);
		assert_int_equal(tier_parse_cgroup_path(globs[i], false, msg, sizeof(msg)), -EINVAL);
	}
	static const char *const bad[] = { "", "a", "system.slice", "/a/../b", "/..", "/a/./b", "/a//b", "/a/",
					   "/a b", "/a\tb", "*" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = tier_parse_cgroup_path(bad[i], true, msg, sizeof(msg));
		if (rc != -EINVAL)
			fail_msg("'%s' gave %d", bad[i], rc);
	}
}

static void test_formatters(void **state)
{
	(void)state;
	char buf[32];
	static const struct {
		uint64_t v;
		const char *s;
	} sizes[] = { { 0, "0" }, { 1, "1" }, { 1023, "1023" }, { 1024, "1K" }, { 1536, "1536" },
		      { 1536 * 1024, "1536K" }, { 64ull << 20, "64M" }, { 100ull << 30, "100G" },
		      { 1ull << 40, "1T" } };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		tier_size_format(sizes[i].v, buf, sizeof(buf));
		assert_string_equal(buf, sizes[i].s);
		uint64_t back;
		assert_int_equal(tier_parse_size(buf, &back, msg, sizeof(msg)), 0);
		assert_true(back == sizes[i].v);
	}
	static const struct {
		uint64_t v;
		const char *s;
	} durs[] = { { 0, "0" }, { 1, "1us" }, { 1500, "1500us" }, { 10000, "10ms" }, { 1500000, "1500ms" },
		     { 5000000, "5s" }, { 60000000, "1min" }, { 90000000, "90s" }, { 3600000000ull, "1h" } };
	for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
		tier_duration_format(durs[i].v, buf, sizeof(buf));
		assert_string_equal(buf, durs[i].s);
		uint64_t back;
		assert_int_equal(tier_parse_duration(buf, &back, msg, sizeof(msg)), 0);
		assert_true(back == durs[i].v);
	}
}

/* msg may be NULL / 0: parsers must not write through it. */
static void test_null_msg(void **state)
{
	(void)state;
	bool b;
	uint64_t v;
	struct tier_wm_expr e;
	assert_int_equal(tier_parse_bool("x", &b, NULL, 0), -EINVAL);
	assert_int_equal(tier_parse_size("x", &v, NULL, 0), -EINVAL);
	assert_int_equal(tier_parse_duration("1", &v, NULL, 0), -EINVAL);
	assert_int_equal(tier_parse_wm_expr("x", &e, NULL, 0), -EINVAL);
	assert_int_equal(tier_parse_uint("5", 0, 3, &v, NULL, 0), -ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_nodelist),
		cmocka_unit_test(test_wm_expr),
		cmocka_unit_test(test_wm_format),
		cmocka_unit_test(test_wm_pages),
		cmocka_unit_test(test_log_level),
		cmocka_unit_test(test_cgroup_path),
		cmocka_unit_test(test_formatters),
		cmocka_unit_test(test_null_msg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
