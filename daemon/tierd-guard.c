/* SPDX-License-Identifier: MIT */
/*
 * The demotion guard in the daemon: feeds snapshots to the pure policy
 * (lib/guard.c) and applies its decisions to demotion_enabled.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <tier/guard.h>
#include "tierd.h"
#include "tierd-log.h"
#include "tierd-demotion.h"

struct tierd_guard {
	struct tier_guard_state st;
	struct tier_guard_decision last;
	bool kernel_fixed;
	char release[65];
	uint64_t trips, releases;
	uint64_t last_change_mono_usec;
	char last_change[TIER_GUARD_REASON_MAX];
};

static struct tierd_guard *guard_get(struct tierd *d)
{
	if (!d->guard) {
		struct tierd_guard *g = calloc(1, sizeof(*g));
		struct utsname u;
		if (!g)
			return NULL;
		tier_guard_state_init(&g->st);
		/* The kernel release is only read from the real host: a fixture
		 * root says nothing about the kernel that runs. */
		if (uname(&u) == 0)
			snprintf(g->release, sizeof(g->release), "%s", u.release);
		g->kernel_fixed = tier_kernel_has_demotion_fix(g->release);
		d->guard = g;
	}
	return d->guard;
}

void tierd_guard_free(struct tierd *d)
{
	free(d->guard);
	d->guard = NULL;
}

static void guard_event(const struct tier_guard_decision *dec, bool dry_run, const char *msg)
{
	struct tierd_field f[5];
	size_t n = 0;
	tierd_field_set(&f[n++], "TIERD_GUARD_ACTION", "%s", tier_guard_action_name(dec->action));
	if (dec->upper_node >= 0)
		tierd_field_set(&f[n++], "TIERD_NODE", "%d", dec->upper_node);
	if (dec->target_node >= 0) {
		tierd_field_set(&f[n++], "TIERD_TARGET_NODE", "%d", dec->target_node);
		tierd_field_set(&f[n++], "TIERD_FREE_PAGES", "%llu", (unsigned long long)dec->free_pages);
		tierd_field_set(&f[n++], "TIERD_LINE_PAGES", "%llu", (unsigned long long)dec->line_pages);
	}
	tierd_event(LOG_WARNING, TIERD_MID_GUARD, f, n, "%sguard %s: %s", dry_run ? "dry-run: " : "",
		    tier_guard_action_name(dec->action), msg);
}

void tierd_guard_stand_down(struct tierd *d)
{
	struct tierd_guard *g = guard_get(d);
	if (g)
		tier_guard_stand_down(&g->st);
	/* Called by the owner while it decides: drop the reason without
	 * asking it to decide again. */
	tier_demotion_set(&d->demotion, TIER_DEMOTION_GUARD, false, NULL, tierd_now_mono_usec());
}

void tierd_guard_tick(struct tierd *d, const struct tier_snapshot *prev, uint64_t now_usec,
		      uint64_t *next_interval_usec)
{
	struct tierd_guard *g = guard_get(d);
	struct tier_guard_decision dec;
	(void)prev; /* the policy keeps its own history */

	if (!g)
		return;
	/* The owner looks first: it learns the host's value or notices an
	 * admin's write; the guard decides on the host's value. */
	tierd_demotion_apply(d);
	int seen = d->snap->demotion_enabled;
	if (d->demotion.original >= 0)
		d->snap->demotion_enabled = d->demotion.original;
	tier_guard_decide(d->snap, d->config, &g->st, now_usec, g->kernel_fixed, &g->st, &dec);
	d->snap->demotion_enabled = seen;

	switch (dec.action) {
	case TIER_GUARD_ACT_NONE:
		break;
	case TIER_GUARD_ACT_TRIP:
		g->trips++;
		tierd_demotion_hold(d, TIER_DEMOTION_GUARD, true, dec.reason);
		break;
	case TIER_GUARD_ACT_RELEASE:
		g->releases++;
		tierd_demotion_hold(d, TIER_DEMOTION_GUARD, false, NULL);
		break;
	}
	if (dec.action != TIER_GUARD_ACT_NONE) {
		guard_event(&dec, tierd_dry_run(d), dec.reason);
		g->last_change_mono_usec = now_usec;
		snprintf(g->last_change, sizeof(g->last_change), "%s", dec.reason);
	}
	g->last = dec;
	/* The guard owns the polling interval (adaptive: short near a trip). */
	if (dec.next_interval_usec)
		*next_interval_usec = dec.next_interval_usec;
}

static const char *mode_name(enum tier_guard_mode m)
{
	return m == TIER_GUARD_ON ? "on" : m == TIER_GUARD_OFF ? "off" : "auto";
}

struct json_object *tierd_guard_status(struct tierd *d)
{
	struct tierd_guard *g = d->guard;
	struct json_object *o = json_object_new_object();
	char buf[64];

	json_object_object_add(o, "mode", json_object_new_string(mode_name(d->config->guard_mode)));
	tier_wm_expr_format(&d->config->guard_trip_at, buf, sizeof(buf));
	json_object_object_add(o, "trip_at", json_object_new_string(buf));
	tier_wm_expr_format(&d->config->guard_release_at, buf, sizeof(buf));
	json_object_object_add(o, "release_at", json_object_new_string(buf));
	if (!g) {
		json_object_object_add(o, "state", json_object_new_string(d->paused ? "paused" : "starting"));
		return o;
	}
	const char *state = d->paused ? "paused"
			    : g->st.held ? (tierd_dry_run(d) ? "tripped (dry-run)" : "tripped: demotion held off")
			    : g->last.quiet_reason[0] ? "quiet"
						      : "watching";
	json_object_object_add(o, "state", json_object_new_string(state));
	json_object_object_add(o, "why", json_object_new_string(g->last.quiet_reason[0] ? g->last.quiet_reason
											 : g->last.reason));
	json_object_object_add(o, "held", json_object_new_boolean(g->st.held));
	json_object_object_add(o, "kernel_release", json_object_new_string(g->release));
	json_object_object_add(o, "kernel_has_fix", json_object_new_boolean(g->kernel_fixed));
	json_object_object_add(o, "trips", json_object_new_int64((int64_t)g->trips));
	json_object_object_add(o, "releases", json_object_new_int64((int64_t)g->releases));
	json_object_object_add(o, "admin_overrides", json_object_new_int64((int64_t)d->demotion.admin_overrides));
	json_object_object_add(o, "next_interval_usec", json_object_new_int64((int64_t)g->last.next_interval_usec));
	if (g->last_change[0]) {
		json_object_object_add(o, "last_change", json_object_new_string(g->last_change));
		json_object_object_add(o, "last_change_age_usec",
				       json_object_new_int64((int64_t)(tierd_now_mono_usec() - g->last_change_mono_usec)));
	}
	if (g->last.predicted && g->last.eta_usec != TIER_UNKNOWN)
		json_object_object_add(o, "predicted_eta_usec", json_object_new_int64((int64_t)g->last.eta_usec));
	return o;
}
