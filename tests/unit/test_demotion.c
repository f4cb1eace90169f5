/* SPDX-License-Identifier: MIT */
/* The owner of demotion_enabled (lib/demotion.c): one writer, many reasons. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <tier/demotion.h>

/* A fake knob: decide, then apply a WRITE the way the daemon does. */
struct knob {
	struct tier_demotion_state st;
	int value;            /* what the kernel file holds */
	int writes;           /* real writes */
	bool dry;
	struct tier_demotion_decision last;
};

static enum tier_demotion_action step(struct knob *k)
{
	tier_demotion_decide(&k->st, k->value, k->dry, &k->last);
	if (k->last.action == TIER_DEMOTION_WRITE) {
		if (k->last.real) {
			k->value = k->last.value;
			k->writes++;
		}
		tier_demotion_written(&k->st, &k->last);
	}
	return k->last.action;
}

static void knob_init(struct knob *k, int value)
{
	memset(k, 0, sizeof(*k));
	tier_demotion_init(&k->st);
	k->value = value;
}

static void test_first_look_learns_original(void **state)
{
	(void)state;
	struct knob k;
	knob_init(&k, 1);
	assert_int_equal(step(&k), TIER_DEMOTION_NONE);
	assert_int_equal(k.st.original, 1);
	assert_int_equal(k.st.written, -1);
	knob_init(&k, -1);
	assert_int_equal(step(&k), TIER_DEMOTION_NONE);
	assert_int_equal(k.st.original, -1);
}

/* Issue 13.1: the guard releases while fencing still needs demotion off:
 * the knob must never go true in between. */
static void test_two_reasons_no_window(void **state)
{
	(void)state;
	struct knob k;
	knob_init(&k, 1);
	step(&k);
	assert_true(tier_demotion_set(&k.st, TIER_DEMOTION_GUARD, true, "node 1 near min", 10));
	assert_int_equal(step(&k), TIER_DEMOTION_WRITE);
	assert_int_equal(k.last.value, 0);
	assert_true(k.last.first_write);
	assert_int_equal(k.value, 0);
	assert_non_null(strstr(k.last.reason, "guard"));

	assert_true(tier_demotion_set(&k.st, TIER_DEMOTION_FENCE, true, "node 0 demotes into private node 1", 20));
	assert_int_equal(step(&k), TIER_DEMOTION_NONE);    /* already off */
	/* The guard lets go: fencing still holds, nothing is written. */
	assert_true(tier_demotion_set(&k.st, TIER_DEMOTION_GUARD, false, NULL, 30));
	assert_int_equal(step(&k), TIER_DEMOTION_NONE);
	assert_int_equal(k.value, 0);
	assert_int_equal(tier_demotion_effective(&k.st), 1u << TIER_DEMOTION_FENCE);
	/* Fencing lets go: back to the original, once. */
	assert_true(tier_demotion_set(&k.st, TIER_DEMOTION_FENCE, false, NULL, 40));
	assert_int_equal(step(&k), TIER_DEMOTION_WRITE);
	assert_int_equal(k.last.value, 1);
	assert_int_equal(k.value, 1);
	assert_int_equal(k.st.written, -1);
	assert_int_equal(step(&k), TIER_DEMOTION_NONE);
	assert_int_equal(k.writes, 2);
}

static void test_set_reports_changes(void **state)
{
	(void)state;
	struct tier_demotion_state st;
	tier_demotion_init(&st);
	assert_true(tier_demotion_set(&st, TIER_DEMOTION_FENCE, true, "a", 1));
	assert_false(tier_demotion_set(&st, TIER_DEMOTION_FENCE, true, "a", 2));
	assert_int_equal(st.since_usec[TIER_DEMOTION_FENCE], 1);
	assert_true(tier_demotion_set(&st, TIER_DEMOTION_FENCE, true, "b", 3));
	assert_string_equal(st.why[TIER_DEMOTION_FENCE], "b");
	assert_true(tier_demotion_set(&st, TIER_DEMOTION_FENCE, false, NULL, 4));
	assert_false(tier_demotion_set(&st, TIER_DEMOTION_FENCE, false, NULL, 5));
	assert_false(tier_demotion_set(&st, TIER_DEMOTION_NR_REASONS, true, "x", 6));
	assert_string_equal(tier_demotion_reason_name(TIER_DEMOTION_PAUSE), "pause");
	assert_string_equal(tier_demotion_reason_name(TIER_DEMOTION_NR_REASONS), "admin");
}

/* The admin writes true while tierd holds demotion off: adopted, and the
 * reasons held then stand down until their policy drops them. */
static void test_admin_turns_it_on(void **state)
{
	(void)state;
	struct knob k;
	knob_init(&k, 1);
	step(&k);
	tier_demotion_set(&k.st, TIER_DEMOTION_GUARD, true, "trip", 1);
	step(&k);
	assert_int_equal(k.value, 0);
	k.value = 1;   /* the admin */
	assert_int_equal(step(&k), TIER_DEMOTION_ADOPT);
	assert_int_equal(k.last.value, 1);
	assert_int_equal(k.last.overridden_now, 1u << TIER_DEMOTION_GUARD);
	assert_non_null(strstr(k.last.reason, "guard stands down"));
	assert_int_equal(k.st.original, 1);
	assert_int_equal(k.st.written, -1);
	assert_int_equal(k.st.admin_overrides, 1);
	/* No fight: nothing is written while the overridden reason holds. */
	assert_int_equal(step(&k), TIER_DEMOTION_NONE);
	assert_int_equal(k.value, 1);
	/* A reason the admin has not seen yet still counts. */
	tier_demotion_set(&k.st, TIER_DEMOTION_FENCE, true, "conflict", 2);
	assert_int_equal(step(&k), TIER_DEMOTION_WRITE);
	assert_int_equal(k.value, 0);
	tier_demotion_set(&k.st, TIER_DEMOTION_FENCE, false, NULL, 3);
	assert_int_equal(step(&k), TIER_DEMOTION_WRITE);
	assert_int_equal(k.value, 1);
	/* The guard's episode ends and a new one starts: it counts again. */
	tier_demotion_set(&k.st, TIER_DEMOTION_GUARD, false, NULL, 4);
	tier_demotion_set(&k.st, TIER_DEMOTION_GUARD, true, "trip 2", 5);
	assert_int_equal(step(&k), TIER_DEMOTION_WRITE);
	assert_int_equal(k.value, 0);
}

/* The admin writes false while tierd holds nothing: the new original; no
 * reason is overridden, and tierd never writes true over it. */
static void test_admin_turns_it_off(void **state)
{
	(void)state;
	struct knob k;
	knob_init(&k, 1);
	step(&k);
	k.value = 0;
	assert_int_equal(step(&k), TIER_DEMOTION_ADOPT);
	assert_int_equal(k.last.overridden_now, 0);
	assert_int_equal(k.st.original, 0);
	tier_demotion_set(&k.st, TIER_DEMOTION_GUARD, true, "trip", 1);
	assert_int_equal(step(&k), TIER_DEMOTION_NONE);   /* off already */
	tier_demotion_set(&k.st, TIER_DEMOTION_GUARD, false, NULL, 2);
	assert_int_equal(step(&k), TIER_DEMOTION_NONE);
	assert_int_equal(k.value, 0);
	assert_int_equal(k.writes, 0);
	/* The admin writes false while tierd holds it off: same value as
	 * tierd's, invisible, and the original stays what it was. */
	knob_init(&k, 1);
	step(&k);
	tier_demotion_set(&k.st, TIER_DEMOTION_FENCE, true, "c", 1);
	step(&k);
	k.value = 0;
	assert_int_equal(step(&k), TIER_DEMOTION_NONE);
	assert_int_equal(k.st.original, 1);
}

static void test_dry_run(void **state)
{
	(void)state;
	struct knob k;
	knob_init(&k, 1);
	k.dry = true;
	step(&k);
	tier_demotion_set(&k.st, TIER_DEMOTION_GUARD, true, "trip", 1);
	assert_int_equal(step(&k), TIER_DEMOTION_WRITE);
	assert_false(k.last.real);
	assert_int_equal(k.value, 1);
	/* Told once, not every look. */
	assert_int_equal(step(&k), TIER_DEMOTION_NONE);
	assert_int_equal(step(&k), TIER_DEMOTION_NONE);
	/* Nothing was written: the knob still reading true is no override. */
	assert_int_equal(k.st.admin_overrides, 0);
	tier_demotion_set(&k.st, TIER_DEMOTION_GUARD, false, NULL, 2);
	assert_int_equal(step(&k), TIER_DEMOTION_WRITE);
	assert_false(k.last.real);
	assert_int_equal(k.last.value, 1);
	assert_int_equal(step(&k), TIER_DEMOTION_NONE);
	assert_int_equal(k.writes, 0);
}

/* Issue 13.4: dry-run -> live by reload must really write. */
static void test_dry_to_live(void **state)
{
	(void)state;
	struct knob k;
	knob_init(&k, 1);
	k.dry = true;
	step(&k);
	tier_demotion_set(&k.st, TIER_DEMOTION_GUARD, true, "trip", 1);
	step(&k);
	assert_int_equal(k.value, 1);
	k.dry = false;
	assert_int_equal(step(&k), TIER_DEMOTION_WRITE);
	assert_true(k.last.real);
	assert_true(k.last.first_write);
	assert_int_equal(k.value, 0);
	/* And a dry-run pretend that ends after the switch leaves nothing
	 * to give back. */
	knob_init(&k, 1);
	k.dry = true;
	step(&k);
	tier_demotion_set(&k.st, TIER_DEMOTION_GUARD, true, "trip", 1);
	step(&k);
	tier_demotion_set(&k.st, TIER_DEMOTION_GUARD, false, NULL, 2);
	k.dry = false;
	assert_int_equal(step(&k), TIER_DEMOTION_NONE);
	assert_int_equal(k.st.written, -1);
	assert_int_equal(k.writes, 0);
}

/* live -> dry-run while holding: the hold stays while reasons hold, and the
 * give-back is real. */
static void test_live_to_dry(void **state)
{
	(void)state;
	struct knob k;
	knob_init(&k, 1);
	step(&k);
	tier_demotion_set(&k.st, TIER_DEMOTION_FENCE, true, "c", 1);
	step(&k);
	assert_int_equal(k.value, 0);
	k.dry = true;
	assert_int_equal(step(&k), TIER_DEMOTION_NONE);
	tier_demotion_set(&k.st, TIER_DEMOTION_FENCE, false, NULL, 2);
	assert_int_equal(step(&k), TIER_DEMOTION_WRITE);
	assert_true(k.last.real);
	assert_int_equal(k.value, 1);
	assert_int_equal(k.st.written, -1);
}

static void test_unreadable(void **state)
{
	(void)state;
	struct knob k;
	knob_init(&k, 1);
	step(&k);
	tier_demotion_set(&k.st, TIER_DEMOTION_GUARD, true, "trip", 1);
	k.value = -1;
	assert_int_equal(step(&k), TIER_DEMOTION_NONE);
	assert_non_null(strstr(k.last.reason, "unreadable"));
	k.value = 1;
	assert_int_equal(step(&k), TIER_DEMOTION_WRITE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_look_learns_original),
		cmocka_unit_test(test_two_reasons_no_window),
		cmocka_unit_test(test_set_reports_changes),
		cmocka_unit_test(test_admin_turns_it_on),
		cmocka_unit_test(test_admin_turns_it_off),
		cmocka_unit_test(test_dry_run),
		cmocka_unit_test(test_dry_to_live),
		cmocka_unit_test(test_live_to_dry),
		cmocka_unit_test(test_unreadable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
