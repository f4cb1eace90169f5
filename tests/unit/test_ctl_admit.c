/* SPDX-License-Identifier: MIT */
/* Control-socket admission (lib/ctl_admit.c): the shares of max_clients. */
#include "testutil.h"

#include <stdbool.h>

#include <tier/ctl_admit.h>

static void test_shares(void **state)
{
	(void)state;
	struct tier_ctl_limits l;
	tier_ctl_limits_for(64, &l); /* the default */
	assert_int_equal(l.max_clients, 64);
	assert_int_equal(l.root_reserve, 8);
	assert_int_equal(l.per_user, 28);
	tier_ctl_limits_for(4, &l); /* the config's minimum */
	assert_int_equal(l.root_reserve, 1);
	assert_int_equal(l.per_user, 1);
	tier_ctl_limits_for(8, &l);
	assert_int_equal(l.root_reserve, 1);
	assert_int_equal(l.per_user, 3);
	tier_ctl_limits_for(1024, &l); /* the maximum */
	assert_int_equal(l.root_reserve, 128);
	assert_int_equal(l.per_user, 448);
	tier_ctl_limits_for(1, &l); /* below the config's range: root only */
	assert_int_equal(l.root_reserve, 1);
	assert_int_equal(l.per_user, 0);
	tier_ctl_limits_for(0, &l);
	assert_int_equal(l.max_clients, 1);
}

/* Fill the socket the way a hostile group member would, then check every
 * rule at its edge. */
static void test_admit(void **state)
{
	(void)state;
	struct tier_ctl_limits l;
	tier_ctl_limits_for(64, &l);
	struct tier_ctl_load load = { 0 };

	/* One user: admitted up to its share, then refused. */
	for (unsigned i = 0; i < 28; i++) {
		load.same_uid = load.non_root = load.total = i;
		assert_int_equal(tier_ctl_admit(&l, &load, false), TIER_CTL_ADMIT);
	}
	load.same_uid = load.non_root = load.total = 28;
	assert_int_equal(tier_ctl_admit(&l, &load, false), TIER_CTL_REFUSE_PER_USER);
	/* ... while another user still gets in ... */
	load.same_uid = 0;
	assert_int_equal(tier_ctl_admit(&l, &load, false), TIER_CTL_ADMIT);
	/* ... up to the non-root share (56 = 64 - 8) ... */
	load.non_root = load.total = 56;
	load.same_uid = 0;
	assert_int_equal(tier_ctl_admit(&l, &load, false), TIER_CTL_REFUSE_NON_ROOT);
	/* ... and root still has its 8. */
	assert_int_equal(tier_ctl_admit(&l, &load, true), TIER_CTL_ADMIT);
	load.total = 63;
	assert_int_equal(tier_ctl_admit(&l, &load, true), TIER_CTL_ADMIT);
	load.total = 64;
	assert_int_equal(tier_ctl_admit(&l, &load, true), TIER_CTL_REFUSE_FULL);
	/* Root alone may use every connection, never more. */
	load = (struct tier_ctl_load){ .total = 63 };
	assert_int_equal(tier_ctl_admit(&l, &load, true), TIER_CTL_ADMIT);
	load.total = 64;
	assert_int_equal(tier_ctl_admit(&l, &load, true), TIER_CTL_REFUSE_FULL);
	/* A full socket refuses everyone, whatever the shares say. */
	assert_int_equal(tier_ctl_admit(&l, &load, false), TIER_CTL_REFUSE_FULL);
	/* Counts above the limits (max_clients lowered by a reload while
	 * connected) refuse, never wrap. */
	load = (struct tier_ctl_load){ .total = 100, .non_root = 100, .same_uid = 100 };
	assert_int_equal(tier_ctl_admit(&l, &load, false), TIER_CTL_REFUSE_FULL);
	assert_int_equal(tier_ctl_admit(&l, &load, true), TIER_CTL_REFUSE_FULL);
}

static void test_minimum(void **state)
{
	(void)state;
	struct tier_ctl_limits l;
	tier_ctl_limits_for(4, &l);
	struct tier_ctl_load load = { 0 };
	assert_int_equal(tier_ctl_admit(&l, &load, false), TIER_CTL_ADMIT);
	load = (struct tier_ctl_load){ .total = 1, .non_root = 1, .same_uid = 1 };
	assert_int_equal(tier_ctl_admit(&l, &load, false), TIER_CTL_REFUSE_PER_USER);
	load.same_uid = 0;
	assert_int_equal(tier_ctl_admit(&l, &load, false), TIER_CTL_ADMIT);
	load = (struct tier_ctl_load){ .total = 3, .non_root = 3 };
	assert_int_equal(tier_ctl_admit(&l, &load, false), TIER_CTL_REFUSE_NON_ROOT);
	assert_int_equal(tier_ctl_admit(&l, &load, true), TIER_CTL_ADMIT);
	/* max_clients 1 (not configurable, but defined): root only */
	tier_ctl_limits_for(1, &l);
	load = (struct tier_ctl_load){ 0 };
	assert_int_equal(tier_ctl_admit(&l, &load, false), TIER_CTL_REFUSE_NON_ROOT);
	assert_int_equal(tier_ctl_admit(&l, &load, true), TIER_CTL_ADMIT);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(tier_ctl_admit_name(TIER_CTL_ADMIT), "admitted");
	assert_string_equal(tier_ctl_admit_name(TIER_CTL_REFUSE_FULL), "max_clients reached");
	assert_non_null(tier_ctl_admit_name(TIER_CTL_REFUSE_NON_ROOT));
	assert_non_null(tier_ctl_admit_name(TIER_CTL_REFUSE_PER_USER));
	assert_string_equal(tier_ctl_admit_name((enum tier_ctl_admit)99), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shares),
		cmocka_unit_test(test_admit),
		cmocka_unit_test(test_minimum),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
