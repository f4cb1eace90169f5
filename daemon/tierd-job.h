/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Slow jobs on the main loop, in bounded, resumable slices.
 *
 * tierd has two threads (the model is explained once, here):
 *
 *  - The guard thread (tierd-guard.c) owns demotion_enabled.  It reads
 *    /proc/zoneinfo, the knob and the vmstat counters through file
 *    descriptors it opened at start (pread at offset 0: no open() per look,
 *    so EMFILE cannot blind it), decides with the pure policy (lib/guard.c,
 *    lib/demotion.c), writes the knob and pings the systemd watchdog.  It
 *    never takes a lock that the main thread holds for longer than a copy
 *    of a few hundred bytes, never waits for the main thread, and never
 *    allocates after setup.
 *
 *  - The main thread runs one sd-event loop: the control socket, inotify,
 *    uevents, D-Bus replies, the slow tick (full snapshot, topology diff)
 *    and the slow jobs below: relief, victim scans, fence passes and audits.
 *    What these cost is set by the host and by other (possibly hostile)
 *    processes, so none of them may run unbounded: each is a job that does
 *    one slice of work per call.
 *
 * The two share snapshots, never mutable structs: the main thread hands the
 * guard an immutable copy of the topology when it changes, plus the config
 * fields the guard reads, and the reasons other policies hold demotion off
 * for (tierd_demotion_hold); the guard publishes a status copy.
 *
 * A job is a state machine whose step function does at most one slice: it
 * stops when tierd_budget_left() says so (TIERD_SLICE_USEC of CPU time or the
 * job's own cap on work units, whichever comes first) and returns
 * TIERD_JOB_MORE to be called again or TIERD_JOB_DONE.  Between two slices
 * the loop serves every other event source first (the slice source has the
 * lowest priority), so a job of any size delays a status request, an
 * inotify event or a uevent by at most one slice.  Queued jobs run round
 * robin.  A job keeps its own cursor; cancelling it (topology or config
 * change) only dequeues it, and its owner resets the cursor.
 *
 * All of this is main-thread only.
 */
#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

struct tierd;

/* Time budget of one slice.  A few ms: short against the 50 ms the guard
 * promises (the guard does not wait for it anyway, it has its own thread)
 * and against a status request, long against the cost of one unit of work
 * (one move_pages call of 512 pages, one cgroup write, one /proc/PID read). */
#define TIERD_SLICE_USEC 5000u

struct tierd_budget {
	uint64_t deadline_usec;   /* CLOCK_MONOTONIC */
	uint64_t units, max_units;
	bool exhausted;           /* sticky once spent */
};

/* A budget of TIERD_SLICE_USEC from now and max_units (0: no unit cap). */
void tierd_budget_init(struct tierd_budget *b, uint64_t max_units);
/* Count units of work done. */
void tierd_budget_use(struct tierd_budget *b, uint64_t units);
/* True while time and units remain.  Reads the clock (a vDSO call, ~20 ns). */
bool tierd_budget_left(struct tierd_budget *b);

enum tierd_job_status {
	TIERD_JOB_DONE,           /* finished: dequeued until started again */
	TIERD_JOB_MORE,           /* call again (after other events) */
};

struct tierd_job {
	/* set by the owner */
	const char *name;         /* "relief", "fence-pass", "fence-audit", ... */
	enum tierd_job_status (*step)(struct tierd *d, struct tierd_budget *b, void *ctx);
	void *ctx;
	uint64_t max_units;       /* per slice; 0: time only */

	/* private to tierd-job.c */
	struct tierd_job *next;
	bool queued;

	/* statistics, for status (read freely) */
	uint64_t runs;            /* starts that reached DONE */
	uint64_t slices, total_usec, max_slice_usec, last_slice_usec;
	/* CPU time of the thread in the costliest slice: wall time also counts
	 * being preempted or blocked in the kernel (a busy host, cgroup_mutex) */
	uint64_t max_slice_cpu_usec;
	uint64_t last_run_usec;   /* slices-summed cost of the last finished run */
	uint64_t last_run_slices;
	uint64_t run_usec;        /* ... of the run in progress */
	uint64_t slices_in_run;
	uint64_t started_mono_usec, finished_mono_usec;
};

/* Create the slice source on d->event (call once, after sd_event_default). */
int tierd_jobs_init(struct tierd *d);
void tierd_jobs_free(struct tierd *d);
/* Queue j (no-op when it is queued already).  Without an event loop
 * (--once) nothing runs until tierd_jobs_run_all(). */
void tierd_job_start(struct tierd *d, struct tierd_job *j);
/* Dequeue j (no-op when not queued).  The owner resets its cursor. */
void tierd_job_cancel(struct tierd *d, struct tierd_job *j);
static inline bool tierd_job_queued(const struct tierd_job *j)
{
	return j->queued;
}
/* Run every queued job to completion, slice by slice, now (--once, tests).
 * Gives up after max_slices slices in all (0: no limit). */
void tierd_jobs_run_all(struct tierd *d, uint64_t max_slices);
/* Statistics of every job that ever ran: [{"name":..., "slices":...}]. */
struct json_object *tierd_jobs_status(struct tierd *d);
/* Register a job so that status lists it even before it first runs
 * (tierd_job_start registers too).  A job whose memory is freed while tierd
 * runs must be forgotten first (cancel + unregister). */
void tierd_job_register(struct tierd *d, struct tierd_job *j);
void tierd_job_forget(struct tierd *d, struct tierd_job *j);
