/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tier/coexist.h>

static int open_dir(const char *p)
{
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void test_nothing_running(void **state)
{
	(void)state;
	/* A real capture: no proc/[pid] dirs, numa_balancing=1. */
	int fd = tu_open_fixture("vm-6.12-hmat-2tier");
	struct tier_coexist c;
	char msgs[4][256];
	assert_int_equal(tier_coexist_scan(fd, &c), 0);
	assert_false(c.balancing_tiering);
	assert_int_equal(c.numad_pid, 0);
	assert_int_equal(c.memtierd_pid, 0);
	assert_int_equal(c.damon_migrate_kdamonds, 0);
	assert_int_equal(tier_coexist_warnings(&c, msgs, 4), 0);
	close(fd);
}

static void test_everything_running(void **state)
{
	(void)state;
	char *root = tu_copy_fixture("vm-6.12-hmat-2tier");
	tu_write_file(root, "proc/sys/kernel/numa_balancing", "2\n");
	tu_write_file(root, "proc/412/comm", "numad\n");
	tu_write_file(root, "proc/977/comm", "memtierd\n");
	tu_write_file(root, "proc/1000/comm", "bash\n");
	tu_write_file(root, "proc/self/comm", "numad\n"); /* not a pid: ignored */
	const char *k = "sys/kernel/mm/damon/admin/kdamonds";
	char p[256];
	snprintf(p, sizeof(p), "%s/nr_kdamonds", k);
	tu_write_file(root, p, "2\n");
	/* kdamond 0: on, second scheme migrates; kdamond 1: off with a migrate scheme */
	for (int kd = 0; kd < 2; kd++) {
		snprintf(p, sizeof(p), "%s/%d/state", k, kd);
		tu_write_file(root, p, kd == 0 ? "on\n" : "off\n");
		snprintf(p, sizeof(p), "%s/%d/contexts/nr_contexts", k, kd);
		tu_write_file(root, p, "1\n");
		snprintf(p, sizeof(p), "%s/%d/contexts/0/schemes/nr_schemes", k, kd);
		tu_write_file(root, p, "2\n");
		snprintf(p, sizeof(p), "%s/%d/contexts/0/schemes/0/action", k, kd);
		tu_write_file(root, p, "pageout\n");
		snprintf(p, sizeof(p), "%s/%d/contexts/0/schemes/1/action", k, kd);
		tu_write_file(root, p, "migrate_cold\n");
	}
	int fd = open_dir(root);
	struct tier_coexist c;
	char msgs[4][256];
	assert_int_equal(tier_coexist_scan(fd, &c), 0);
	assert_true(c.balancing_tiering);
	assert_int_equal(c.numad_pid, 412);
	assert_int_equal(c.memtierd_pid, 977);
	assert_int_equal(c.damon_migrate_kdamonds, 1);
	assert_int_equal(tier_coexist_warnings(&c, msgs, 4), 4);
	assert_non_null(strstr(msgs[0], "memory-tiering mode"));
	assert_non_null(strstr(msgs[1], "numad is running (pid 412)"));
	assert_non_null(strstr(msgs[2], "memtierd is running (pid 977)"));
	assert_non_null(strstr(msgs[3], "1 DAMON kdamond"));
	/* Only as many messages as there is room for. */
	assert_int_equal(tier_coexist_warnings(&c, msgs, 2), 2);
	close(fd);
	tu_rm_rf(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_running),
		cmocka_unit_test(test_everything_running),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
