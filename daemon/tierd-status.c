/* SPDX-License-Identifier: MIT */
/* What the daemon shows: the JSON for `tierctl status` and systemd's STATUS=.
 * It only reads the daemon's state; it never acts. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>

#include "tierd.h"
#include "tierd-log.h"
#include "tierd-relief.h"
#include "tierd-fence.h"
#include "tierd-topology.h"
#include "tierd-demotion.h"
#include "tierd-job.h"
#include "tierd-guard.h"
#include "tierd-notify.h"
#include "tierd-metrics.h"

static struct json_object *daemon_json(struct tierd *d)
{
	struct json_object *o = json_object_new_object();
	uint64_t now = tierd_now_mono_usec();
	json_object_object_add(o, "version", json_object_new_string(TIERD_VERSION));
	json_object_object_add(o, "pid", json_object_new_int((int)getpid()));
	json_object_object_add(o, "dry_run", json_object_new_boolean(tierd_dry_run(d)));
	json_object_object_add(o, "paused", json_object_new_boolean(d->paused));
	json_object_object_add(o, "config_path", json_object_new_string(d->config_path));
	json_object_object_add(o, "config_generation", json_object_new_int64((int64_t)d->config_generation));
	json_object_object_add(o, "last_reload", d->last_reload[0] ? json_object_new_string(d->last_reload) : NULL);
	json_object_object_add(o, "reload_failures", json_object_new_int64((int64_t)d->reload_failures));
	json_object_object_add(o, "root", json_object_new_string(d->root));
	json_object_object_add(o, "state_dir", json_object_new_string(d->state_dir));
	json_object_object_add(o, "uptime_usec", json_object_new_int64((int64_t)(now - d->started_mono_usec)));
	json_object_object_add(o, "ticks", json_object_new_int64((int64_t)d->ticks));
	json_object_object_add(o, "interval_usec", json_object_new_int64((int64_t)d->interval_usec));
	json_object_object_add(o, "tick_cost_usec_last", json_object_new_int64((int64_t)d->tick_cost_last_usec));
	json_object_object_add(o, "tick_cost_usec_max", json_object_new_int64((int64_t)d->tick_cost_max_usec));
	json_object_object_add(o, "tick_cost_usec_avg",
			       json_object_new_int64(d->ticks ? (int64_t)(d->tick_cost_sum_usec / d->ticks) : 0));
	/* With ticks, the sum and count of a Prometheus summary. */
	json_object_object_add(o, "tick_cost_usec_sum", json_object_new_int64((int64_t)d->tick_cost_sum_usec));
	json_object_object_add(o, "acquire_error",
			       d->acquire_error[0] ? json_object_new_string(d->acquire_error) : NULL);
	json_object_object_add(o, "settings_held", json_object_new_int64(d->state ? (int64_t)d->state->nr : 0));
	json_object_object_add(o, "previous_run_unrestored", json_object_new_int64((int64_t)d->restore_pending));
	json_object_object_add(o, "previous_run_state_not_restored", json_object_new_boolean(d->crash_restore_pending));
	json_object_object_add(o, "jobs", tierd_jobs_status(d));
	json_object_object_add(o, "control", tierd_ctl_status(d));
	return o;
}

static struct json_object *actions_json(struct tierd *d)
{
	struct json_object *arr = json_object_new_array();
	uint64_t now = tierd_now_mono_usec();
	/* Copied out under the lock (a memcpy), serialized without it. */
	pthread_mutex_lock(&d->actions_lock);
	unsigned n = d->actions_len;
	struct tierd_action *copy = n ? malloc(n * sizeof(*copy)) : NULL;
	for (unsigned i = 0; copy && i < n; i++)
		copy[i] = d->actions[(d->actions_head + i) % d->actions_cap];
	pthread_mutex_unlock(&d->actions_lock);
	if (!copy)
		n = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct tierd_action *a = &copy[i];
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "kind", json_object_new_string(a->kind));
		json_object_object_add(o, "target", json_object_new_string(a->target));
		json_object_object_add(o, "value", a->value[0] ? json_object_new_string(a->value) : NULL);
		json_object_object_add(o, "reason", json_object_new_string(a->reason));
		json_object_object_add(o, "result", json_object_new_string(a->result ? strerror(-a->result) : "ok"));
		json_object_object_add(o, "dry_run", json_object_new_boolean(a->dry_run));
		json_object_object_add(o, "age_usec", json_object_new_int64((int64_t)(now - a->mono_usec)));
		json_object_object_add(o, "realtime_usec", json_object_new_int64((int64_t)a->real_usec));
		json_object_array_add(arr, o);
	}
	free(copy);
	return arr;
}

struct json_object *tierd_status_json(struct tierd *d)
{
	/* The topology keys come first, exactly as `tierctl topology --json`
	 * prints them, so tools can read either. */
	struct json_object *o = d->snap ? tier_snapshot_to_json(d->snap) : json_object_new_object();
	json_object_object_add(o, "daemon", daemon_json(d));
	struct json_object *w = json_object_new_array();
	for (unsigned i = 0; i < d->nr_warnings; i++)
		json_object_array_add(w, json_object_new_string(d->warnings[i]));
	json_object_object_add(o, "warnings", w);
	struct json_object *dm = tierd_demotion_status(d), *orig = NULL;
	json_object_object_get_ex(dm, "original", &orig);
	json_object_object_add(o, "demotion_enabled_original", json_object_get(orig));
	json_object_object_add(o, "demotion", dm);
	json_object_object_add(o, "topology", tierd_topology_status(d));
	json_object_object_add(o, "guard", tierd_guard_status(d));
	json_object_object_add(o, "relief", tierd_relief_status(d));
	json_object_object_add(o, "fence", tierd_fence_status(d));
	json_object_object_add(o, "metrics", tierd_metrics_status(d));
	json_object_object_add(o, "actions", actions_json(d));
	pthread_mutex_lock(&d->actions_lock);
	uint64_t total = d->actions_total;
	pthread_mutex_unlock(&d->actions_lock);
	json_object_object_add(o, "actions_total", json_object_new_int64((int64_t)total));
	return o;
}

void tierd_notify_status(struct tierd *d)
{
	char line[sizeof(d->status_line)];
	char tiers[96] = "";
	size_t off = 0;
	for (int i = 0; d->snap && i < d->snap->nr_tiers && off < sizeof(tiers); i++) {
		/* a one-line summary: a list that does not fit is "...", never a
		 * shorter list (which would name other nodes) */
		char nodes[48];
		if (tier_bitmask_format_checked(d->snap->tiers[i].nodes, nodes, sizeof(nodes)) < 0)
			snprintf(nodes, sizeof(nodes), "...");
		int w = snprintf(tiers + off, sizeof(tiers) - off, "%s%d:%s", i ? " " : "", d->snap->tiers[i].id, nodes);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	char state[64], last[96] = "none";
	tierd_guard_state_word(d, state, sizeof(state));
	pthread_mutex_lock(&d->actions_lock);
	if (d->actions_len)
		snprintf(last, sizeof(last), "%.80s",
			 d->actions[(d->actions_head + d->actions_len - 1) % d->actions_cap].reason);
	pthread_mutex_unlock(&d->actions_lock);
	if (strncmp(d->last_reload, "reload failed", 13) == 0)
		snprintf(line, sizeof(line), "%.200s", d->last_reload);
	else
		snprintf(line, sizeof(line), "tiers %.60s; guard %.40s%s%s; last action: %.80s", tiers[0] ? tiers : "none",
			 state, d->paused ? "; paused" : "", tierd_dry_run(d) ? "; dry-run" : "", last);
	/* STATUS= only when it changes: ticks can come every 10 ms. */
	if (strcmp(line, d->status_line) != 0) {
		char msg[sizeof(line) + 8];
		snprintf(d->status_line, sizeof(d->status_line), "%s", line);
		snprintf(msg, sizeof(msg), "STATUS=%s", line);
		tierd_notify(msg);
	}
}
