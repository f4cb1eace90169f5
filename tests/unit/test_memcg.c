/* SPDX-License-Identifier: MIT */
/* tier/memcg.h: memory.numa_stat, v1 (pages) and v2 (bytes). */
#include "testutil.h"

#include <errno.h>
#include <string.h>

#include <tier/memcg.h>

static void test_v1(void **state)
{
	(void)state;
	/* the layout of this host's /sys/fs/cgroup/memory/memory.numa_stat */
	const char *text = "total=4802 N0=4000 N1=802\nfile=391 N0=391\nanon=374 N0=374\nunevictable=0 N0=0\n"
			   "hierarchical_total=999999 N0=999999 N1=5\n";
	uint64_t p[2];
	assert_int_equal(tier_memcg_numa_stat_parse(text, 1, 4096, p, 2), 0);
	assert_int_equal(p[0], 4000);    /* the cgroup's own total, not the hierarchy's */
	assert_int_equal(p[1], 802);
	assert_int_equal(tier_memcg_numa_stat_parse("file=1 N0=1\n", 1, 4096, p, 2), -EINVAL);
	assert_int_equal(tier_memcg_numa_stat_parse("total=1 N0=x\n", 1, 4096, p, 2), -EINVAL);
	assert_int_equal(p[0], 0);
	/* nodes beyond max are dropped */
	assert_int_equal(tier_memcg_numa_stat_parse("total=3 N5=3\n", 1, 4096, p, 2), 0);
	assert_int_equal(p[0] + p[1], 0);
}

static void test_v2(void **state)
{
	(void)state;
	const char *text = "anon 1052672 N0=1048576 N1=4096\nfile 8192 N0=0 N1=8192\nkernel_stack N0=16384 N1=0\n"
			   "shmem N0=0 N1=0\n";
	uint64_t p[3];
	assert_int_equal(tier_memcg_numa_stat_parse(text, 2, 4096, p, 3), 0);
	assert_int_equal(p[0], 256);
	assert_int_equal(p[1], 3);       /* anon + file, kernel stacks do not move */
	assert_int_equal(p[2], 0);
	assert_int_equal(tier_memcg_numa_stat_parse("anon N0=1\n", 2, 4096, p, 3), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1),
		cmocka_unit_test(test_v2),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
