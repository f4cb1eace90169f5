/* SPDX-License-Identifier: MIT */
/* tier/hashmap.h: get/put/del, replacement frees, iteration, and a table
 * whose size follows the live keys under churn (the inotify table: the
 * kernel hands out watch descriptors cyclically). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tier/hashmap.h>

static int freed;
static void count_free(void *v)
{
	freed++;
	free(v);
}

static void test_basics(void **state)
{
	(void)state;
	struct tier_map *m = tier_map_new(count_free);
	freed = 0;
	assert_null(tier_map_get_str(m, "a"));
	assert_int_equal(tier_map_put_str(m, "a", strdup("1")), 0);
	assert_int_equal(tier_map_put_str(m, "b", strdup("2")), 0);
	assert_string_equal(tier_map_get_str(m, "a"), "1");
	assert_int_equal(tier_map_put_str(m, "a", strdup("3")), 0);   /* replaces, frees "1" */
	assert_int_equal(freed, 1);
	assert_string_equal(tier_map_get_str(m, "a"), "3");
	assert_int_equal(tier_map_count(m), 2);
	int k = 7;
	assert_int_equal(tier_map_put(m, &k, sizeof(k), strdup("seven")), 0);
	assert_string_equal(tier_map_get(m, &k, sizeof(k)), "seven");
	assert_true(tier_map_del_str(m, "b"));
	assert_false(tier_map_del_str(m, "b"));
	assert_int_equal(freed, 2);
	size_t cur = 0, n = 0;
	const void *key;
	size_t len;
	void *v;
	while (tier_map_next(m, &cur, &key, &len, &v))
		n++;
	assert_int_equal(n, 2);
	tier_map_free(m);
	assert_int_equal(freed, 4);
}

/* 1,000,000 inserts of cyclically growing keys with at most 100 alive:
 * every live key is found after each step's deletes, every deleted one is
 * not, and the table never holds more than a few hundred slots. */
static void test_churn_bounded(void **state)
{
	(void)state;
	struct tier_map *m = tier_map_new(NULL);
	size_t max_slots = 0;
	for (int wd = 1; wd <= 1000000; wd++) {
		assert_int_equal(tier_map_put(m, &wd, sizeof(wd), (void *)(intptr_t)wd), 0);
		int old = wd - 100;
		if (old > 0)
			assert_true(tier_map_del(m, &old, sizeof(old)));
		if (tier_map_slots(m) > max_slots)
			max_slots = tier_map_slots(m);
		if (wd % 9973 == 0) {
			for (int j = wd; j > wd - 100 && j > 0; j--)
				assert_int_equal((intptr_t)tier_map_get(m, &j, sizeof(j)), j);
			int gone = wd - 150;
			assert_null(tier_map_get(m, &gone, sizeof(gone)));
		}
	}
	assert_int_equal(tier_map_count(m), 100);
	assert_true(max_slots <= 512);
	/* everything deleted: back to a small table */
	for (int wd = 1000000 - 99; wd <= 1000000; wd++)
		assert_true(tier_map_del(m, &wd, sizeof(wd)));
	assert_int_equal(tier_map_count(m), 0);
	assert_true(tier_map_slots(m) <= 32);
	tier_map_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basics),
		cmocka_unit_test(test_churn_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
