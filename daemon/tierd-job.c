/* SPDX-License-Identifier: MIT */
/*
 * The slice scheduler (see tierd-job.h for the model): one sd-event defer
 * source at the idle priority runs one slice of the job at the head of a
 * round-robin queue per loop iteration, and re-arms itself while the queue
 * is not empty.  sd-event dispatches one source per iteration, highest
 * priority first, so every event that became ready during a slice is served
 * before the next slice.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tierd.h"
#include "tierd-job.h"
#include "tierd-log.h"

struct tierd_jobs {
	sd_event_source *source;
	struct tierd_job *head, *tail;
	struct tierd_job **known;
	size_t nr_known, cap_known;
};

static uint64_t mono_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t cpu_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void tierd_budget_init(struct tierd_budget *b, uint64_t max_units)
{
	b->deadline_usec = mono_usec() + TIERD_SLICE_USEC;
	b->units = 0;
	b->max_units = max_units;
	b->exhausted = false;
}

void tierd_budget_use(struct tierd_budget *b, uint64_t units)
{
	b->units += units;
}

bool tierd_budget_left(struct tierd_budget *b)
{
	if (b->exhausted)
		return false;
	if ((b->max_units && b->units >= b->max_units) || mono_usec() >= b->deadline_usec)
		b->exhausted = true;
	return !b->exhausted;
}

static struct tierd_jobs *jobs_get(struct tierd *d)
{
	if (!d->jobs)
		d->jobs = calloc(1, sizeof(struct tierd_jobs));
	return d->jobs;
}

void tierd_job_register(struct tierd *d, struct tierd_job *j)
{
	struct tierd_jobs *J = jobs_get(d);
	if (!J)
		return;
	for (size_t i = 0; i < J->nr_known; i++)
		if (J->known[i] == j)
			return;
	if (J->nr_known == J->cap_known) {
		size_t nc = J->cap_known ? 2 * J->cap_known : 8;
		struct tierd_job **n = realloc(J->known, nc * sizeof(*n));
		if (!n)
			return;   /* only status misses it */
		J->known = n;
		J->cap_known = nc;
	}
	J->known[J->nr_known++] = j;
}

static void arm(struct tierd_jobs *J)
{
	if (J->source && J->head)
		(void)sd_event_source_set_enabled(J->source, SD_EVENT_ONESHOT);
}

static struct tierd_job *pop(struct tierd_jobs *J)
{
	struct tierd_job *j = J->head;
	if (j) {
		J->head = j->next;
		if (!J->head)
			J->tail = NULL;
		j->next = NULL;
		j->queued = false;
	}
	return j;
}

static void push(struct tierd_jobs *J, struct tierd_job *j)
{
	j->next = NULL;
	j->queued = true;
	if (J->tail)
		J->tail->next = j;
	else
		J->head = j;
	J->tail = j;
}

/* One slice of the job at the head; requeued at the tail if it wants more. */
static void run_slice(struct tierd *d, struct tierd_jobs *J)
{
	struct tierd_job *j = pop(J);
	struct tierd_budget b;
	if (!j)
		return;
	if (!j->run_usec && !j->slices_in_run)
		j->started_mono_usec = mono_usec();
	tierd_budget_init(&b, j->max_units);
	uint64_t t0 = mono_usec(), c0 = cpu_usec();
	enum tierd_job_status st = j->step(d, &b, j->ctx);
	uint64_t cost = mono_usec() - t0, cpu = cpu_usec() - c0;
	if (cpu > j->max_slice_cpu_usec)
		j->max_slice_cpu_usec = cpu;
	j->slices++;
	j->slices_in_run++;
	j->total_usec += cost;
	j->run_usec += cost;
	j->last_slice_usec = cost;
	if (cost > j->max_slice_usec)
		j->max_slice_usec = cost;
	/* A step may have cancelled and restarted itself (or been started by
	 * something it called): then it is queued already. */
	if (st == TIERD_JOB_MORE) {
		if (!j->queued)
			push(J, j);
	} else if (!j->queued) {
		j->runs++;
		j->last_run_usec = j->run_usec;
		j->last_run_slices = j->slices_in_run;
		j->run_usec = 0;
		j->slices_in_run = 0;
		j->finished_mono_usec = mono_usec();
	}
}

static int on_slice(sd_event_source *s, void *userdata)
{
	struct tierd *d = userdata;
	struct tierd_jobs *J = d->jobs;
	(void)s;
	run_slice(d, J);
	arm(J);
	return 0;
}

int tierd_jobs_init(struct tierd *d)
{
	struct tierd_jobs *J = jobs_get(d);
	if (!J)
		return -ENOMEM;
	if (J->source || !d->event)
		return 0;
	int r = sd_event_add_defer(d->event, &J->source, on_slice, d);
	if (r < 0)
		return r;
	sd_event_source_set_description(J->source, "slow-jobs");
	/* Below everything else: timers, IO, signals and the control socket
	 * all go first. */
	sd_event_source_set_priority(J->source, SD_EVENT_PRIORITY_IDLE);
	sd_event_source_set_enabled(J->source, SD_EVENT_OFF);
	arm(J);
	return 0;
}

void tierd_jobs_free(struct tierd *d)
{
	struct tierd_jobs *J = d->jobs;
	if (!J)
		return;
	while (pop(J))
		;
	sd_event_source_disable_unref(J->source);
	free(J->known);
	free(J);
	d->jobs = NULL;
}

void tierd_job_start(struct tierd *d, struct tierd_job *j)
{
	struct tierd_jobs *J = jobs_get(d);
	if (!J || j->queued)
		return;
	tierd_job_register(d, j);
	push(J, j);
	arm(J);
}

void tierd_job_cancel(struct tierd *d, struct tierd_job *j)
{
	struct tierd_jobs *J = d->jobs;
	if (!J || !j->queued)
		return;
	struct tierd_job **pp = &J->head, *prev = NULL;
	while (*pp && *pp != j) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (*pp) {
		*pp = j->next;
		if (J->tail == j)
			J->tail = prev;
	}
	j->next = NULL;
	j->queued = false;
	j->run_usec = 0;
	j->slices_in_run = 0;
}

void tierd_job_forget(struct tierd *d, struct tierd_job *j)
{
	struct tierd_jobs *J = d->jobs;
	tierd_job_cancel(d, j);
	if (!J)
		return;
	for (size_t i = 0; i < J->nr_known; i++)
		if (J->known[i] == j) {
			memmove(&J->known[i], &J->known[i + 1], (J->nr_known - i - 1) * sizeof(*J->known));
			J->nr_known--;
			return;
		}
}

void tierd_jobs_run_all(struct tierd *d, uint64_t max_slices)
{
	struct tierd_jobs *J = d->jobs;
	for (uint64_t n = 0; J && J->head && (!max_slices || n < max_slices); n++)
		run_slice(d, J);
}

struct json_object *tierd_jobs_status(struct tierd *d)
{
	struct tierd_jobs *J = d->jobs;
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; J && i < J->nr_known; i++) {
		const struct tierd_job *j = J->known[i];
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(j->name));
		json_object_object_add(o, "queued", json_object_new_boolean(j->queued));
		json_object_object_add(o, "runs", json_object_new_int64((int64_t)j->runs));
		json_object_object_add(o, "slices", json_object_new_int64((int64_t)j->slices));
		json_object_object_add(o, "total_usec", json_object_new_int64((int64_t)j->total_usec));
		json_object_object_add(o, "max_slice_usec", json_object_new_int64((int64_t)j->max_slice_usec));
		json_object_object_add(o, "max_slice_cpu_usec", json_object_new_int64((int64_t)j->max_slice_cpu_usec));
		json_object_object_add(o, "last_slice_usec", json_object_new_int64((int64_t)j->last_slice_usec));
		json_object_object_add(o, "last_run_usec", json_object_new_int64((int64_t)j->last_run_usec));
		json_object_object_add(o, "last_run_slices", json_object_new_int64((int64_t)j->last_run_slices));
		json_object_array_add(arr, o);
	}
	return arr;
}
