/* SPDX-License-Identifier: MIT */
/* memory.numa_stat, v1 and v2 (lib/memcgstat.c). */
#include "testutil.h"

#include <errno.h>

#include <tier/memcgstat.h>

static void v2(void **state)
{
	(void)state;
	/* shaped as 6.12's cgroup v2 file (bytes) */
	const char *t = "anon N0=1052672 N1=8192\n"
			"file N0=4096 N1=0\n"
			"kernel_stack N0=16384 N1=0\n"
			"pagetables N0=69632 N1=0\n"
			"shmem N0=0 N1=0\n";
	uint64_t on, total;
	assert_int_equal(tier_memcg_numa_stat_parse(t, 4096, 1, &on, &total), 0);
	assert_int_equal(on, 8192);
	assert_int_equal(total, 1052672 + 8192 + 4096);
	assert_int_equal(tier_memcg_numa_stat_parse(t, 4096, 0, &on, &total), 0);
	assert_int_equal(on, 1052672 + 4096);
	assert_int_equal(tier_memcg_numa_stat_parse(t, 4096, 70, &on, &total), 0);
	assert_int_equal(on, 0);
}

static void v1(void **state)
{
	(void)state;
	/* cgroup v1 memory.numa_stat (pages), as on this host's hybrid tree */
	const char *t = "total=316 N0=300 N1=16\n"
			"file=100 N0=100 N1=0\n"
			"anon=216 N0=200 N1=16\n"
			"unevictable=0 N0=0 N1=0\n"
			"hierarchical_total=9000 N0=8000 N1=1000\n";
	uint64_t on, total;
	assert_int_equal(tier_memcg_numa_stat_parse(t, 4096, 1, &on, &total), 0);
	assert_int_equal(on, 16 * 4096);
	assert_int_equal(total, 316 * 4096);
}

static void bad(void **state)
{
	(void)state;
	uint64_t on, total;
	assert_int_equal(tier_memcg_numa_stat_parse("", 4096, 0, &on, &total), -ENOENT);
	assert_int_equal(tier_memcg_numa_stat_parse("kernel_stack N0=1\n", 4096, 0, &on, &total), -ENOENT);
	assert_int_equal(tier_memcg_numa_stat_parse("anon N0=x\n", 4096, 0, &on, &total), -EINVAL);
	assert_int_equal(tier_memcg_numa_stat_parse("anon M0=1\n", 4096, 0, &on, &total), -EINVAL);
	assert_int_equal(tier_memcg_numa_stat_parse("total=x N0=1\n", 4096, 0, &on, &total), -EINVAL);
	/* saturates, never wraps */
	assert_int_equal(tier_memcg_numa_stat_parse("total=18446744073709551615 N0=18446744073709551615\n", 4096, 0, &on,
						    &total),
			 0);
	assert_int_equal(on, UINT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(v2), cmocka_unit_test(v1), cmocka_unit_test(bad) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
