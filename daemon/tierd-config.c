/* SPDX-License-Identifier: MIT */
/* Reload: parse into a fresh config, validate, swap.  A failed reload keeps
 * the running config and says why everywhere an admin looks (journal,
 * STATUS=, tierctl status). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tierd.h"
#include "tierd-log.h"
#include "tierd-guard.h"
#include "tierd-notify.h"
#include "tierd-metrics.h"

int tierd_reload(struct tierd *d, const char *origin)
{
	struct tier_config_errors errs = { 0 };
	struct tierd_field f[2];

	tierd_notify("RELOADING=1");
	struct tier_config *c = tier_config_load(d->config_path, d->dropin_dir, !d->config_explicit, &errs);
	if (!c) {
		for (unsigned i = 0; i < errs.nr; i++)
			log_error("%s", errs.msgs[i]);
		d->reload_failures++;
		snprintf(d->last_reload, sizeof(d->last_reload), "reload failed: %s%s",
			 errs.nr ? errs.msgs[0] : "unknown error",
			 errs.nr > 1 ? " (and more, see the journal)" : "");
		tierd_field_set(&f[0], "TIERD_CONFIG_GENERATION", "%llu", (unsigned long long)d->config_generation);
		tierd_field_set(&f[1], "TIERD_RELOAD_ORIGIN", "%s", origin);
		tierd_event(LOG_ERR, TIERD_MID_RELOAD, f, 2, "%s; keeping configuration generation %llu",
			    d->last_reload, (unsigned long long)d->config_generation);
		tierd_record_action(d, "reload", d->config_path, NULL, d->last_reload, -EINVAL);
		tier_config_errors_clear(&errs);
		tierd_notify("READY=1");
		tierd_notify_status(d);
		return -EINVAL;
	}

	/* dry_run = no by reload needs what a live start has: the state
	 * directory, the lock, and a previous run's state restored (a dry start
	 * does none of the restoring: it changes nothing). */
	bool go_live = tierd_dry_run(d) && !(c->dry_run || d->cli_dry_run);
	if (go_live && (d->statefd < 0 || d->lockfd < 0 || d->crash_restore_pending)) {
		snprintf(d->last_reload, sizeof(d->last_reload),
			 "reload failed: %s: dry_run = no cannot take effect by reload: %s; restart tierd instead",
			 d->config_path, d->crash_restore_pending ? "a previous run's state file is not restored yet"
								  : "this dry run has no state directory and lock");
		tierd_event(LOG_ERR, TIERD_MID_RELOAD, NULL, 0, "%s; keeping configuration generation %llu", d->last_reload,
			    (unsigned long long)d->config_generation);
		tierd_record_action(d, "reload", d->config_path, NULL, d->last_reload, -EINVAL);
		d->reload_failures++;
		tier_config_free(c);
		tierd_notify("READY=1");
		tierd_notify_status(d);
		return -EINVAL;
	}
	if (go_live)
		log_notice("dry_run = no: tierd changes the host from now on");

	/* The ring of actions keeps its content up to the new size. */
	pthread_mutex_lock(&d->actions_lock);
	if (c->actions_kept != d->actions_cap) {
		struct tierd_action *na = calloc(c->actions_kept, sizeof(*na));
		if (na) {
			unsigned keep = d->actions_len < c->actions_kept ? d->actions_len : c->actions_kept;
			for (unsigned i = 0; i < keep; i++)
				na[i] = d->actions[(d->actions_head + d->actions_len - keep + i) % d->actions_cap];
			free(d->actions);
			d->actions = na;
			d->actions_cap = c->actions_kept;
			d->actions_head = 0;
			d->actions_len = keep;
		}
	}
	pthread_mutex_unlock(&d->actions_lock);
	c->dry_run = c->dry_run || d->cli_dry_run;
	tier_config_free(d->config);
	d->config = c;
	d->config_generation++;
	tierd_dry_run_changed(d);
	tierd_guard_config(d);
	if (d->cli_log_level < 0)
		tierd_log_set_level(c->log_level);
	snprintf(d->last_reload, sizeof(d->last_reload), "ok");
	tierd_field_set(&f[0], "TIERD_CONFIG_GENERATION", "%llu", (unsigned long long)d->config_generation);
	tierd_field_set(&f[1], "TIERD_RELOAD_ORIGIN", "%s", origin);
	tierd_event(LOG_INFO, TIERD_MID_RELOAD, f, 2, "configuration reloaded (%s): generation %llu", origin,
		    (unsigned long long)d->config_generation);
	tierd_record_action(d, "reload", d->config_path, NULL, "configuration reloaded", 0);
	tierd_metrics_reload(d);
	/* Re-run the policies right away with the new lines. */
	tierd_schedule_tick(d, 0);
	tierd_notify("READY=1");
	tierd_notify_status(d);
	return 0;
}
