/* SPDX-License-Identifier: MIT */
/*
 * The owner of demotion_enabled (see tierd-demotion.h; decisions in
 * lib/demotion.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <tier/guard.h>
#include "tierd.h"
#include "tierd-demotion.h"
#include "tierd-log.h"

static int read_knob(struct tierd *d)
{
	char buf[32];
	if (d->ops->read_attr(d->rootfd, TIERD_KNOB_DEMOTION, buf, sizeof(buf)) < 0)
		return -1;
	if (!strcmp(buf, "true") || !strcmp(buf, "1") || !strcmp(buf, "y"))
		return 1;
	if (!strcmp(buf, "false") || !strcmp(buf, "0") || !strcmp(buf, "n"))
		return 0;
	return -1;
}

void tierd_demotion_apply(struct tierd *d)
{
	struct tier_demotion_decision dec;
	int knob = read_knob(d);
	tier_demotion_decide(&d->demotion, knob, tierd_dry_run(d), &dec);
	switch (dec.action) {
	case TIER_DEMOTION_NONE:
		return;
	case TIER_DEMOTION_ADOPT: {
		/* The admin's value is the new original and already in place:
		 * nothing is owed to the host any more. */
		if (tier_state_forget(d->state, TIER_STATE_KNOB, TIERD_KNOB_DEMOTION) == 0) {
			if (d->state->nr)
				tier_state_save_at(d->statefd, TIERD_STATE_FILE, d->state);
			else
				tier_state_remove_at(d->statefd, TIERD_STATE_FILE);
		}
		if (dec.overridden_now & (1u << TIER_DEMOTION_GUARD))
			tierd_guard_stand_down(d);
		struct tierd_field f[1];
		tierd_field_set(&f[0], "TIERD_VALUE", "%s", dec.value ? "true" : "false");
		tierd_event(LOG_NOTICE, TIERD_MID_KNOB, f, 1, "%s", dec.reason);
		tierd_record_action(d, "demotion", TIERD_KNOB_DEMOTION, NULL, dec.reason, 0);
		return;
	}
	case TIER_DEMOTION_WRITE:
		break;
	}
	const char *value = dec.value ? "true" : "false";
	if (!dec.real) {
		/* Logged once per change of what tierd would do, not per look. */
		struct tierd_field f[2];
		tierd_field_set(&f[0], "TIERD_KNOB", "%s", TIERD_KNOB_DEMOTION);
		tierd_field_set(&f[1], "TIERD_VALUE", "%s", value);
		tierd_event(LOG_NOTICE, TIERD_MID_KNOB, f, 2, "dry-run: would write %s to /%s: %s", value,
			    TIERD_KNOB_DEMOTION, dec.reason);
		tierd_record_action(d, "demotion", TIERD_KNOB_DEMOTION, value, dec.reason, 0);
		tier_demotion_written(&d->demotion, &dec);
		return;
	}
	if (tierd_set_knob(d, TIERD_KNOB_DEMOTION, value, "demotion", dec.reason) == 0)
		tier_demotion_written(&d->demotion, &dec);
}

void tierd_demotion_hold(struct tierd *d, enum tier_demotion_reason r, bool holds, const char *why)
{
	if (tier_demotion_set(&d->demotion, r, holds, why, tierd_now_mono_usec()))
		tierd_demotion_apply(d);
}

struct json_object *tierd_demotion_status(struct tierd *d)
{
	const struct tier_demotion_state *st = &d->demotion;
	struct json_object *o = json_object_new_object();
	uint64_t now = tierd_now_mono_usec();
	json_object_object_add(o, "original", st->original < 0 ? NULL : json_object_new_boolean(st->original));
	json_object_object_add(o, "held_by_tierd", json_object_new_boolean(st->written >= 0 && !st->written_dry));
	json_object_object_add(o, "written", st->written < 0 ? NULL : json_object_new_boolean(st->written));
	json_object_object_add(o, "written_dry_run", json_object_new_boolean(st->written_dry));
	struct json_object *reasons = json_object_new_array();
	unsigned eff = tier_demotion_effective(st);
	for (int r = 0; r < TIER_DEMOTION_NR_REASONS; r++) {
		if (!(st->held & (1u << r)))
			continue;
		struct json_object *ro = json_object_new_object();
		json_object_object_add(ro, "reason",
				       json_object_new_string(tier_demotion_reason_name((enum tier_demotion_reason)r)));
		json_object_object_add(ro, "why", json_object_new_string(st->why[r]));
		json_object_object_add(ro, "since_usec", json_object_new_int64((int64_t)(now - st->since_usec[r])));
		json_object_object_add(ro, "overridden", json_object_new_boolean(!(eff & (1u << r))));
		json_object_array_add(reasons, ro);
	}
	if (st->original == 0) {
		struct json_object *ro = json_object_new_object();
		json_object_object_add(ro, "reason", json_object_new_string("admin"));
		json_object_object_add(ro, "why", json_object_new_string("demotion_enabled is false by the admin's choice"));
		json_object_object_add(ro, "overridden", json_object_new_boolean(false));
		json_object_array_add(reasons, ro);
	}
	json_object_object_add(o, "reasons", reasons);
	json_object_object_add(o, "admin_overrides", json_object_new_int64((int64_t)st->admin_overrides));
	return o;
}
