/* SPDX-License-Identifier: MIT */
/* The slow tick (main thread): acquire a full snapshot -> topology diff ->
 * hand the guard thread a new shape if it changed -> fencing and relief
 * start their slow jobs -> sleep for the interval they ask for.  The guard
 * does not run here: it has its own thread and timer (tierd-guard.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tierd.h"
#include "tierd-log.h"
#include "tierd-relief.h"
#include "tierd-fence.h"
#include "tierd-topology.h"
#include "tierd-guard.h"

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	(void)s;
	(void)usec;
	tierd_tick(userdata);
	return 0;
}

int tierd_schedule_tick(struct tierd *d, uint64_t usec)
{
	int r;
	/* Accuracy: a tenth of the interval, at most 50 ms, so the kernel can
	 * coalesce idle wakeups without blurring fast polling near a trip. */
	uint64_t acc = usec / 10 < 50000 ? usec / 10 : 50000;
	if (acc < 1000)
		acc = 1000;
	d->interval_usec = usec;
	if (!d->event)
		return 0;
	if (!d->tick_source) {
		r = sd_event_add_time_relative(d->event, &d->tick_source, CLOCK_MONOTONIC, usec, acc, on_tick, d);
		if (r < 0)
			return r;
		sd_event_source_set_description(d->tick_source, "tick");
		return 0;
	}
	r = sd_event_source_set_time_relative(d->tick_source, usec);
	if (r >= 0)
		r = sd_event_source_set_time_accuracy(d->tick_source, acc);
	if (r >= 0)
		r = sd_event_source_set_enabled(d->tick_source, SD_EVENT_ONESHOT);
	return r;
}

int tierd_tick(struct tierd *d)
{
	uint64_t t0 = tierd_now_mono_usec();
	uint64_t next = d->config->interval_usec;
	struct tier_snapshot *s = NULL;
	char err[sizeof(d->acquire_error)] = "";
	int r = tier_snapshot_acquire(d->rootfd, &s, err, sizeof(err));

	if (r < 0) {
		/* Keep the last good snapshot and say so once per distinct error:
		 * a reader failing every 10 ms must not flood the journal. */
		if (strcmp(err, d->acquire_error) != 0)
			log_error("reading the topology failed: %s (keeping the last good snapshot; acting on nothing)",
				  err[0] ? err : strerror(-r));
		snprintf(d->acquire_error, sizeof(d->acquire_error), "%s", err[0] ? err : strerror(-r));
	} else {
		if (d->acquire_error[0])
			log_notice("reading the topology works again");
		d->acquire_error[0] = '\0';
		struct tier_snapshot *prev = d->snap;
		d->snap = s;
		/* Before the policies: they see the new topology generation. */
		tierd_topology_tick(d, t0);
		tierd_guard_topology(d);
		if (!d->paused)
			tierd_fence_tick(d, t0, &next);
		if (!d->paused)
			tierd_relief_tick(d, t0, &next);
		if (prev)
			tier_snapshot_free(prev);
	}

	tierd_guard_heartbeat(d);
	uint64_t cost = tierd_now_mono_usec() - t0;
	d->ticks++;
	d->tick_cost_last_usec = cost;
	d->tick_cost_sum_usec += cost;
	if (cost > d->tick_cost_max_usec)
		d->tick_cost_max_usec = cost;

	if (next < d->config->min_interval_usec)
		next = d->config->min_interval_usec;
	int sr = tierd_schedule_tick(d, next);
	if (sr < 0)
		log_error("cannot schedule the next tick: %s", strerror(-sr));
	tierd_notify_status(d);
	return r;
}
