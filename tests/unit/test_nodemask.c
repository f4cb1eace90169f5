/* SPDX-License-Identifier: MIT */
/* tier/nodemask.h: list parser, formatter and set operations. */
#include "testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tier/nodemask.h"

static void roundtrip(const char *in, const char *want)
{
	struct bitmask *bm = tier_nodemask_alloc();
	char buf[256];
	assert_int_equal(tier_bitmask_parse_list(in, bm), 0);
	size_t n = tier_bitmask_format(bm, buf, sizeof(buf));
	assert_int_equal(n, strlen(want));
	assert_string_equal(buf, want);
	tier_bitmask_free(bm);
}

static void test_parse_format(void **state)
{
	(void)state;
	roundtrip("", "");
	roundtrip("\n", "");
	roundtrip("0\n", "0");
	roundtrip("0-3,8,10-11\n", "0-3,8,10-11");
	roundtrip("0,1,2", "0-2");          /* the kernel prints runs as ranges */
	roundtrip("5,0,2", "0,2,5");
	roundtrip("63-65", "63-65");        /* across a word boundary */
	roundtrip("0,70", "0,70");
	roundtrip("1023", "1023");
	roundtrip("  3-3 \n", "3");
}

static void test_parse_errors(void **state)
{
	(void)state;
	struct bitmask *bm = tier_nodemask_alloc();
	static const char *const bad[] = { "-1", "1-", "3-1", "a", "1,,2", "1,", ",1", "0-7:2/4", "1 2", "0x1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tier_bitmask_set(bm, 9);
		if (tier_bitmask_parse_list(bad[i], bm) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
		assert_true(tier_bitmask_empty(bm));   /* cleared on failure */
	}
	assert_int_equal(tier_bitmask_parse_list("1024", bm), -ERANGE);
	assert_int_equal(tier_bitmask_parse_list("0-5000", bm), -ERANGE);
	assert_int_equal(tier_bitmask_parse_list("99999999999999999999999", bm), -ERANGE);
	assert_int_equal(tier_bitmask_parse_list(NULL, bm), -EINVAL);
	tier_bitmask_free(bm);

	/* A small mask: the range check uses its own size. */
	struct bitmask *small = tier_bitmask_alloc(64);
	assert_int_equal(tier_bitmask_parse_list("63", small), 0);
	assert_int_equal(tier_bitmask_parse_list("64", small), -ERANGE);
	tier_bitmask_free(small);
	tier_bitmask_free(NULL);   /* accepted */
}

static void test_format_truncation(void **state)
{
	(void)state;
	struct bitmask *bm = tier_nodemask_alloc();
	assert_int_equal(tier_bitmask_parse_list("0-3,8,100", bm), 0);
	char buf[6];
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(tier_bitmask_format(bm, buf, sizeof(buf)), strlen("0-3,8,100"));
	assert_string_equal(buf, "0-3,8");
	assert_int_equal(tier_bitmask_format(bm, NULL, 0), 9);
	char one[1] = { 'x' };
	tier_bitmask_format(bm, one, 1);
	assert_int_equal(one[0], '\0');
	tier_bitmask_free(bm);
}

/* issue 13 item 8: a long sparse set (every other id of 0..1023 and the
 * worst case of two-id ranges) is never cut: the allocating formatter
 * returns all of it and parses back to the same set; the checked formatter
 * refuses a buffer that is one byte short instead of cutting the list. */
static void test_format_sparse_1024(void **state)
{
	(void)state;
	struct bitmask *bm = tier_nodemask_alloc(), *back = tier_nodemask_alloc();
	for (int i = 0; i < (int)TIER_MAX_NODES; i += 2)
		assert_true(tier_bitmask_set(bm, i));
	char *s = tier_bitmask_format_alloc(bm);
	assert_non_null(s);
	size_t len = strlen(s);
	assert_true(len > 512);                          /* the old 512-byte buffers */
	assert_int_equal(len, tier_bitmask_format(bm, NULL, 0));
	assert_true(len + 1 <= TIER_NODELIST_MAX);
	assert_int_equal(strncmp(s, "0,2,4,", 6), 0);
	assert_string_equal(s + len - 9, "1020,1022");
	assert_int_equal(tier_bitmask_parse_list(s, back), 0);
	assert_true(tier_bitmask_equal(bm, back));

	char *buf = malloc(len + 1);
	assert_int_equal(tier_bitmask_format_checked(bm, buf, len + 1), 0);
	assert_string_equal(buf, s);
	memset(buf, 'x', len + 1);
	assert_int_equal(tier_bitmask_format_checked(bm, buf, len), -ENOBUFS);
	assert_string_equal(buf, "");                    /* never a prefix */
	char small[512];
	assert_int_equal(tier_bitmask_format_checked(bm, small, sizeof(small)), -ENOBUFS);
	assert_string_equal(small, "");
	free(buf);
	free(s);

	/* two-id runs "1000-1001," are the longest per id: the bound holds */
	tier_bitmask_zero(bm);
	for (int i = 0; i + 1 < (int)TIER_MAX_NODES; i += 3) {
		tier_bitmask_set(bm, i);
		tier_bitmask_set(bm, i + 1);
	}
	s = tier_bitmask_format_alloc(bm);
	assert_non_null(s);
	assert_true(strlen(s) + 1 <= TIER_NODELIST_MAX);
	assert_int_equal(tier_bitmask_parse_list(s, back), 0);
	assert_true(tier_bitmask_equal(bm, back));
	free(s);
	tier_bitmask_zero(bm);
	s = tier_bitmask_format_alloc(bm);
	assert_string_equal(s, "");
	free(s);
	tier_bitmask_free(bm);
	tier_bitmask_free(back);
}

static void test_ops(void **state)
{
	(void)state;
	struct bitmask *a = tier_nodemask_alloc(), *b = tier_bitmask_alloc(64), *c = tier_nodemask_alloc();
	char buf[128];
	assert_int_equal(tier_bitmask_parse_list("0-2,70,1000", a), 0);
	assert_int_equal(tier_bitmask_weight(a), 5);
	assert_int_equal(tier_bitmask_next(a, 0), 0);
	assert_int_equal(tier_bitmask_next(a, 3), 70);
	assert_int_equal(tier_bitmask_next(a, 71), 1000);
	assert_int_equal(tier_bitmask_next(a, 1001), -1);
	assert_int_equal(tier_bitmask_next(a, 5000), -1);
	assert_true(tier_bitmask_isset(a, 70));
	assert_false(tier_bitmask_isset(a, 69));
	assert_false(tier_bitmask_isset(a, -1));
	assert_false(tier_bitmask_isset(a, 5000));

	int seen = 0, sum = 0;
	tier_bitmask_foreach(n, a) {
		seen++;
		sum += n;
	}
	assert_int_equal(seen, 5);
	assert_int_equal(sum, 0 + 1 + 2 + 70 + 1000);

	/* Different sizes: b has 64 bits. */
	assert_int_equal(tier_bitmask_parse_list("1,5,63", b), 0);
	tier_bitmask_copy(c, a);
	assert_true(tier_bitmask_equal(a, c));
	tier_bitmask_andnot(c, b);             /* bits past 63 of b read as 0 */
	tier_bitmask_format(c, buf, sizeof(buf));
	assert_string_equal(buf, "0,2,70,1000");
	tier_bitmask_or(c, b);
	tier_bitmask_format(c, buf, sizeof(buf));
	assert_string_equal(buf, "0-2,5,63,70,1000");
	tier_bitmask_and(c, b);                /* dst bits beyond b are cleared */
	tier_bitmask_format(c, buf, sizeof(buf));
	assert_string_equal(buf, "1,5,63");
	assert_true(tier_bitmask_equal(c, b));
	assert_true(tier_bitmask_equal(b, c));
	tier_bitmask_copy(b, a);               /* dst narrower: bits >= 64 dropped */
	tier_bitmask_format(b, buf, sizeof(buf));
	assert_string_equal(buf, "0-2");
	assert_false(tier_bitmask_equal(a, b));

	assert_false(tier_bitmask_set(b, 64));
	assert_true(tier_bitmask_set(b, 40));
	assert_true(tier_bitmask_isset(b, 40));
	tier_bitmask_clear(b, 40);
	tier_bitmask_clear(b, 4000);           /* ignored */
	assert_false(tier_bitmask_isset(b, 40));
	tier_bitmask_zero(a);
	assert_true(tier_bitmask_empty(a));
	assert_int_equal(tier_bitmask_weight(a), 0);
	assert_int_equal(a->size >= TIER_MAX_NODES, 1);
	tier_bitmask_free(a);
	tier_bitmask_free(b);
	tier_bitmask_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_format_truncation),
		cmocka_unit_test(test_format_sparse_1024),
		cmocka_unit_test(test_ops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
