/* SPDX-License-Identifier: MIT */
/*
 * Undoing changes (restore at stop and after a crash) and the actions ring
 * kept for status.  Every change tierd makes goes: read the current value ->
 * record it in a state file (saved BEFORE the write, so a crash right after
 * the write still knows the original) -> write through the ops table -> log
 * and keep an action.  demotion_enabled is written only by its owner
 * (tierd-demotion.c, on the guard thread, with its own knobs.json); cgroup
 * files by fencing (tierd-fence.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tierd.h"
#include "tierd-log.h"
#include "tierd-fence.h"

#define TIERD_UNIT_TIMEOUT_USEC (2u * 1000000u)   /* = TIERD_BUS_TIMEOUT_USEC */

static int restore_write(void *ctx, enum tier_state_kind kind, const char *key, const char *value);

void tierd_record_action(struct tierd *d, const char *kind, const char *target, const char *value,
			 const char *reason, int result)
{
	pthread_mutex_lock(&d->actions_lock);
	if (!d->actions || d->actions_cap == 0) {
		pthread_mutex_unlock(&d->actions_lock);
		return;
	}
	unsigned idx = (d->actions_head + d->actions_len) % d->actions_cap;
	if (d->actions_len == d->actions_cap)
		d->actions_head = (d->actions_head + 1) % d->actions_cap;
	else
		d->actions_len++;
	struct tierd_action *a = &d->actions[idx];
	memset(a, 0, sizeof(*a));
	a->mono_usec = tierd_now_mono_usec();
	a->real_usec = tierd_now_real_usec();
	snprintf(a->kind, sizeof(a->kind), "%s", kind);
	snprintf(a->target, sizeof(a->target), "%s", target ? target : "");
	snprintf(a->value, sizeof(a->value), "%s", value ? value : "");
	snprintf(a->reason, sizeof(a->reason), "%s", reason ? reason : "");
	a->result = result;
	/* Not tierd_dry_run(): the guard thread may be here, and d->config
	 * belongs to the main thread. */
	a->dry_run = d->actions_dry_run;
	d->actions_total++;
	pthread_mutex_unlock(&d->actions_lock);
}

static int save_state(struct tierd *d)
{
	int r = tier_state_commit_at(d->statefd, TIERD_STATE_FILE, d->state);
	if (r < 0)
		log_error("cannot write the state file %s/%s: %s", d->state_dir, TIERD_STATE_FILE, strerror(-r));
	return r;
}

/* subtree_control cannot be written back verbatim: disable what is enabled
 * now and was not before. */
static int restore_subtree_control(struct tierd *d, const char *key, const char *original)
{
	char now[512];
	int r = d->ops->read_attr(d->rootfd, key, now, sizeof(now));
	if (r < 0)
		return r;
	char *save = NULL;
	for (char *tok = strtok_r(now, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char padded[600], want[80];
		snprintf(padded, sizeof(padded), " %s ", original);
		snprintf(want, sizeof(want), " %s ", tok);
		if (strstr(padded, want))
			continue;
		char cmd[80];
		snprintf(cmd, sizeof(cmd), "-%s", tok);
		r = d->ops->write_attr(d->rootfd, key, cmd);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The restore of a unit property: the bus is asynchronous, but a restore
 * (at stop, or after a crash before the loop runs) has nothing else to do
 * and must know the result: queue the call and wait for its answer, at most
 * a few bus timeouts. */
struct unit_wait {
	bool done;
	int result;
};

static void unit_restored(void *userdata, int result, const char *value)
{
	struct unit_wait *w = userdata;
	(void)value;
	w->done = true;
	w->result = result;
}

static int restore_unit_property(struct tierd *d, const char *unit, const char *prop, const char *value)
{
	struct unit_wait *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	int r = d->ops->unit_set_property(unit, prop, value, unit_restored, w);
	if (r < 0) {
		free(w);
		return r;
	}
	d->ops->unit_flush(3u * TIERD_UNIT_TIMEOUT_USEC);
	if (!w->done) {
		/* Not answered: the call may still complete later, into memory
		 * that must stay valid, so this one small struct is left. */
		return -ETIMEDOUT;
	}
	r = w->result;
	free(w);
	return r;
}

int tierd_restore_one(struct tierd *d, enum tier_state_kind kind, const char *key, const char *value)
{
	return restore_write(d, kind, key, value);
}

static int restore_write(void *ctx, enum tier_state_kind kind, const char *key, const char *value)
{
	struct tierd *d = ctx;
	struct tierd_field f[2];
	int r;

	switch (kind) {
	case TIER_STATE_KNOB:
		r = d->ops->write_attr(d->rootfd, key, value);
		break;
	case TIER_STATE_CPUSET_MEMS:
		r = tierd_fence_restore_mems(d, key, value);
		break;
	case TIER_STATE_SUBTREE_CONTROL:
		r = restore_subtree_control(d, key, value);
		break;
	case TIER_STATE_UNIT_PROPERTY: {
		char unit[256];
		const char *prop;
		r = tier_state_split_unit_key(key, unit, sizeof(unit), &prop);
		if (r == 0)
			r = restore_unit_property(d, unit, prop, value);
		break;
	}
	default:
		r = -EOPNOTSUPP;
		break;
	}
	if (r == 0) {
		tierd_field_set(&f[0], "TIERD_KEY", "%s", key);
		tierd_field_set(&f[1], "TIERD_VALUE", "%s", value);
		tierd_event(LOG_NOTICE, TIERD_MID_RESTORE, f, 2, "restored %s to '%s'", key, value);
		tierd_record_action(d, "restore", key, value, "restore original", 0);
	}
	return r;
}

static void restore_note(void *ctx, enum tier_state_kind kind, const char *key, int err)
{
	(void)ctx;
	if (err == -ENOENT)
		log_info("%s %s vanished; nothing to restore", tier_state_kind_name(kind), key);
	else
		log_error("cannot restore %s %s: %s", tier_state_kind_name(kind), key, strerror(-err));
}

int tierd_restore_all(struct tierd *d, const char *why)
{
	static const struct tier_restore_ops ops = { .write = restore_write, .note = restore_note };
	if (!d->state || d->state->nr == 0) {
		if (d->statefd >= 0)
			tier_state_remove_at(d->statefd, TIERD_STATE_FILE);
		return 0;
	}
	log_info("%s: restoring %zu setting(s)", why, d->state->nr);
	struct tier_state *left = tier_state_new();
	if (!left)
		return -ENOMEM;
	int failed = tier_state_restore(d->state, &ops, d, left);
	tier_state_free(d->state);
	d->state = left;
	save_state(d);
	return failed < 0 ? (int)left->nr + 1 : failed;
}
