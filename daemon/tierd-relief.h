/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Pressure relief in the daemon (decisions in lib/relief.c): per tick, when a
 * lower-tier node is at its [relief] start_at line, pick victim processes by
 * their pages on that node and move those pages elsewhere with move_pages(2)
 * through the ops table.
 *
 * The mover (struct tierd_mover) is exposed so the benchmark and the tests
 * can drive it without a whole daemon.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>
#include <numa.h>

#include <tier/procmaps.h>
#include "tierd-ops.h"

struct tierd;

#define TIERD_MID_RELIEF "d3cbe49d37cd40d7a4eed0c89199a6a3" /* relief started / stopped / moved */

/* status[] is pre-filled with this before every move_pages call: the kernel
 * writes a node id (>= 0) or a -errno (> -4096) for each page it got to, and
 * leaves untouched the pages it did not (a chunk whose migration failed
 * partway returns a positive count without storing statuses, mm/migrate.c
 * move_pages_and_store_status(); a fatal error stops the walk).  A page still
 * holding the sentinel afterwards was not handled and is retried later. */
#define TIERD_RELIEF_SENTINEL (-0x7ffffff0)

/* Why pages were not moved (status "failures"). */
enum tierd_relief_fail {
	TIERD_RF_BUSY,        /* -EBUSY: page in use or being migrated; retried on a later tick */
	TIERD_RF_NOMEM,       /* -ENOMEM: target full; the target is dropped for a while */
	TIERD_RF_CPUSET,      /* call failed with EACCES: target outside the task's cpuset */
	TIERD_RF_SHARED,      /* page -EACCES: mapped by several processes, needs MPOL_MF_MOVE_ALL */
	TIERD_RF_FAULT,       /* -EFAULT: not a movable page (special mapping, zero page...) */
	TIERD_RF_NOENT,       /* -ENOENT: not present (swapped out or unmapped meanwhile) */
	TIERD_RF_UNTRIED,     /* sentinel left: the kernel did not get to the page */
	TIERD_RF_ELSEWHERE,   /* page on another node than asked (moved meanwhile) */
	TIERD_RF_EXITED,      /* ESRCH: the process exited (normal) */
	TIERD_RF_PERM,        /* EPERM: not allowed to move that process's pages */
	TIERD_RF_OTHER,
	TIERD_RF_NR,
};
const char *tierd_relief_fail_name(enum tierd_relief_fail f);

struct tierd_mover {
	/* set by the caller */
	const struct tierd_ops *ops;
	int rootfd;               /* for proc/PID/{numa_maps,maps} */
	uint64_t page_size;
	unsigned batch_pages;     /* addresses per move_pages call (and per status query) */
	int flags;                /* MPOL_MF_MOVE or MPOL_MF_MOVE_ALL */
	bool dry_run;             /* query and plan, move nothing */
	/* Only pages in [range_start, range_end) (the benchmark's buffer);
	 * 0, 0: the whole process. */
	uint64_t range_start, range_end;
	/* Where pages of src go: a node and its room in base pages, or -1. */
	int (*choose)(void *ctx, int src, const struct bitmask *avoid, uint64_t *room_pages);
	/* pages (base pages) moved (or, in dry-run, planned) src -> dst. */
	void (*moved)(void *ctx, int src, int dst, uint64_t pages, bool dry);
	void (*enomem)(void *ctx, int node);
	void *ctx;

	/* counters (cumulative) */
	uint64_t fail[TIERD_RF_NR];
	uint64_t move_calls, query_calls, move_usec, moved_pages, busy_rechecked;

	/* scratch, grown on demand */
	void **pages, **qpages;
	int *nodes, *status, *qstatus;
	uint32_t *weight;
	size_t cap;
};

/* Result of one tierd_mover_run. */
struct tierd_mover_result {
	uint64_t found_pages;     /* base pages located on src */
	uint64_t attempted_pages; /* handed to move_pages (or planned in dry-run) */
	uint64_t moved_pages;     /* now on a target (planned, in dry-run) */
	int last_target;          /* -1 none */
};

/*
 * Move up to max_pages base pages of process pid off node src, in address
 * order from *cursor (0: from the start; updated so a later call resumes).
 * avoid: nodes not to use for this process (updated: a target refused with
 * EACCES is added).  Returns:
 *   0        the process has no more pages on src past the cursor (done);
 *   1        stopped at max_pages (call again later);
 *   -ENOSPC  no target with room (pages left where they were);
 *   -ESRCH   the process is gone (normal);
 *   -EPERM   not allowed; other -errno (procfs read errors).
 */
int tierd_mover_run(struct tierd_mover *m, pid_t pid, int src, uint64_t max_pages, uint64_t *cursor,
		    struct bitmask *avoid, struct tierd_mover_result *res);
void tierd_mover_free(struct tierd_mover *m);

/* tier_fence_task_granted() (tier/fence.h) says which tasks relief must
 * leave alone: those in cgroups granted private nodes. */

/* Daemon glue (called from tierd-tick.c, tierd-status.c, tierd.c). */
void tierd_relief_tick(struct tierd *d, uint64_t now_usec, uint64_t *next_interval_usec);
struct json_object *tierd_relief_status(struct tierd *d);
void tierd_relief_free(struct tierd *d);
