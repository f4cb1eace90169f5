/* SPDX-License-Identifier: MIT */
/* /proc/PID/stat and the proc/PID directory (lib/procid.c). */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tier/procid.h>

static void parse(void **state)
{
	(void)state;
	struct tier_proc_stat s;
	/* a 6.18 line (bash) */
	assert_int_equal(tier_proc_stat_parse("4242 (bash) S 4200 4242 4242 34816 4300 4194304 1800 7000 0 2 3 1 9 4 "
					      "20 0 1 0 123456789 9175040 1200 18446744073709551615 1 1 0 0 0 0 "
					      "65536 3670020 1266777851 0 0 0 17 1 0 0 0 0 0\n",
					      &s),
			 0);
	assert_int_equal(s.pid, 4242);
	assert_string_equal(s.comm, "bash");
	assert_int_equal(s.state, 'S');
	assert_int_equal(s.ppid, 4200);
	assert_int_equal(s.start_time, 123456789);
	/* A comm chosen to confuse: spaces and parentheses (it ends at the
	 * last ')'). */
	assert_int_equal(tier_proc_stat_parse("77 (a) S 1 ((x) Z 9 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 555 1 1\n", &s), 0);
	assert_int_equal(s.pid, 77);
	assert_string_equal(s.comm, "a) S 1 ((x");
	assert_int_equal(s.state, 'Z');
	assert_int_equal(s.ppid, 9);
	assert_int_equal(s.start_time, 555);
	/* too short, bad numbers, no parentheses */
	assert_int_equal(tier_proc_stat_parse("1 (init) S 0 1 1 0 -1\n", &s), -EINVAL);
	assert_int_equal(tier_proc_stat_parse("x (init) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 1 1\n", &s), -EINVAL);
	assert_int_equal(tier_proc_stat_parse("1 init S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 1 1\n", &s), -EINVAL);
	assert_int_equal(tier_proc_stat_parse("1 (init) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -5 1 1\n", &s), -EINVAL);
}

/* The reader on this very process. */
static void self(void **state)
{
	(void)state;
	int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int dir = tier_proc_open_dir(root, getpid());
	assert_true(dir >= 0);
	struct tier_proc_stat s, again;
	assert_int_equal(tier_proc_read_stat_at(dir, &s), 0);
	assert_int_equal(s.pid, getpid());
	assert_true(s.start_time > 0);
	assert_int_equal(tier_proc_read_stat_at(dir, &again), 0);
	assert_int_equal(again.start_time, s.start_time);
	close(dir);
	/* a PID that does not exist (above any pid_max) */
	assert_int_equal(tier_proc_open_dir(root, 0x7ffffff0), -ESRCH);
	close(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(parse), cmocka_unit_test(self) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
