/* SPDX-License-Identifier: MIT */
/*
 * Every typed value parser of /etc/tierd.conf (tier/config.h): bool, uint,
 * size, duration, nodelist, watermark expression, log level, cgroup path
 * and glob, each on the whole input as inih would hand it over.
 * Properties, from the header's contract: an error comes with a message and
 * stores nothing; what parses formats back (tier_*_format) to text that
 * parses to the same value; a path valid as a path is valid as a glob.
 */
#include "fuzz.h"

#include <errno.h>
#include <string.h>

#include "tier/config.h"
#include "tier/nodemask.h"

#define SENTINEL 0x5eed5eed5eed5eedull

static void bad_or_ok(int r, const char *msg)
{
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	FUZZ_CHECK(r == 0 ? msg[0] == '\0' : msg[0] != '\0');
}

static void sizes(const char *s)
{
	char msg[256], buf[64];
	uint64_t v = SENTINEL, back = 0;
	int r = tier_parse_size(s, &v, msg, sizeof(msg));
	bad_or_ok(r, msg);
	if (r < 0) {
		FUZZ_CHECK(v == SENTINEL);
		return;
	}
	FUZZ_CHECK(tier_size_format(v, buf, sizeof(buf)) < sizeof(buf));
	FUZZ_CHECK(tier_parse_size(buf, &back, msg, sizeof(msg)) == 0 && back == v);
}

static void durations(const char *s)
{
	char msg[256], buf[64];
	uint64_t v = SENTINEL, back = 0;
	int r = tier_parse_duration(s, &v, msg, sizeof(msg));
	bad_or_ok(r, msg);
	if (r < 0) {
		FUZZ_CHECK(v == SENTINEL);
		return;
	}
	FUZZ_CHECK(tier_duration_format(v, buf, sizeof(buf)) < sizeof(buf));
	FUZZ_CHECK(tier_parse_duration(buf, &back, msg, sizeof(msg)) == 0 && back == v);
}

static void watermarks(const char *s)
{
	char msg[256], buf[128];
	struct tier_wm_expr e = { .base = TIER_WM_HIGH, .plus_bytes = SENTINEL, .plus_permille = 7 }, back;
	int r = tier_parse_wm_expr(s, &e, msg, sizeof(msg));
	bad_or_ok(r, msg);
	if (r < 0) {
		FUZZ_CHECK(e.base == TIER_WM_HIGH && e.plus_bytes == SENTINEL && e.plus_permille == 7);
		return;
	}
	FUZZ_CHECK(tier_wm_expr_format(&e, buf, sizeof(buf)) < sizeof(buf));
	FUZZ_CHECK(tier_parse_wm_expr(buf, &back, msg, sizeof(msg)) == 0);
	FUZZ_CHECK(back.base == e.base && back.plus_bytes == e.plus_bytes && back.plus_permille == e.plus_permille);
}

static void nodelists(const char *s)
{
	static struct bitmask *bm, *back;
	char msg[256];
	if (!bm) {
		bm = tier_nodemask_alloc();
		back = tier_nodemask_alloc();
	}
	tier_bitmask_zero(bm);
	tier_bitmask_set(bm, 1023);   /* must survive an error */
	int r = tier_parse_nodelist(s, bm, msg, sizeof(msg));
	bad_or_ok(r, msg);
	if (r < 0) {
		FUZZ_CHECK(tier_bitmask_weight(bm) == 1 && tier_bitmask_isset(bm, 1023));
		return;
	}
	size_t need = tier_bitmask_format(bm, NULL, 0);
	char *buf = malloc(need + 1);
	if (!buf)
		abort();
	tier_bitmask_format(bm, buf, need + 1);
	FUZZ_CHECK(tier_parse_nodelist(buf, back, msg, sizeof(msg)) == 0);
	FUZZ_CHECK(tier_bitmask_equal(bm, back));
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	char msg[256];
	int r;

	bool b = true;
	r = tier_parse_bool(s, &b, msg, sizeof(msg));
	bad_or_ok(r, msg);
	FUZZ_CHECK(r == 0 || b);

	uint64_t u = SENTINEL;
	r = tier_parse_uint(s, 0, UINT64_MAX, &u, msg, sizeof(msg));
	bad_or_ok(r, msg);
	FUZZ_CHECK(r == 0 || u == SENTINEL);
	uint64_t u2 = SENTINEL;
	r = tier_parse_uint(s, 512, 65536, &u2, msg, sizeof(msg));   /* batch_pages' range */
	bad_or_ok(r, msg);
	FUZZ_CHECK(r == 0 ? u2 == u && u2 >= 512 && u2 <= 65536 : u2 == SENTINEL);

	sizes(s);
	durations(s);
	watermarks(s);
	nodelists(s);

	int lvl = -42;
	r = tier_parse_log_level(s, &lvl, msg, sizeof(msg));
	bad_or_ok(r, msg);
	if (r == 0) {
		int back = -1;
		FUZZ_CHECK(lvl >= 0 && lvl <= 7);
		FUZZ_CHECK(tier_parse_log_level(tier_log_level_name(lvl), &back, msg, sizeof(msg)) == 0 && back == lvl);
	} else {
		FUZZ_CHECK(lvl == -42);
	}

	int path = tier_parse_cgroup_path(s, false, msg, sizeof(msg));
	bad_or_ok(path, msg);
	int glob = tier_parse_cgroup_path(s, true, msg, sizeof(msg));
	bad_or_ok(glob, msg);
	FUZZ_CHECK(path < 0 || glob == 0);

	free(s);
	return 0;
}
