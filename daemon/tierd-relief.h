/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Pressure relief in the daemon (decisions in lib/relief.c): when a
 * lower-tier node is at its [relief] start_at line, pick victim processes
 * and move their pages on that node elsewhere with move_pages(2) through the
 * ops table, in access order, as a slow job in bounded slices.
 *
 * The mover (struct tierd_mover) locates and moves the pages of one process;
 * it is exposed so the benchmark and the tests can drive it without a whole
 * daemon.  See tierd-relief.c for the locator.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>
#include <numa.h>

#include <tier/pagemap.h>
#include <tier/pfnmap.h>
#include <tier/procmaps.h>
#include <tier/procstream.h>
#include <tier/relief.h>
#include "tierd-job.h"
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

/* batch_pages when the caller sets none: [relief] batch_pages' default. */
#define TIERD_RELIEF_BATCH_DEFAULT 4096u

/* Why pages were not moved (status "failures"). */
enum tierd_relief_fail {
	TIERD_RF_BUSY,        /* -EBUSY: page in use or being migrated; retried on a later pass */
	TIERD_RF_NOMEM,       /* -ENOMEM: target full; the target is dropped for a while */
	TIERD_RF_CPUSET,      /* call failed with EACCES: target outside the task's cpuset */
	TIERD_RF_SHARED,      /* page -EACCES: mapped by several processes, needs MPOL_MF_MOVE_ALL */
	TIERD_RF_FAULT,       /* -EFAULT: not a movable page (special mapping, zero page...) */
	TIERD_RF_NOENT,       /* -ENOENT: not present (swapped out or unmapped meanwhile) */
	TIERD_RF_UNTRIED,     /* sentinel left: the kernel did not get to the page */
	TIERD_RF_ELSEWHERE,   /* page on another node than asked (moved meanwhile) */
	TIERD_RF_EXITED,      /* ESRCH: the process exited, or its PID now names another one */
	TIERD_RF_PERM,        /* EPERM: not allowed to move that process's pages */
	TIERD_RF_OTHER,
	TIERD_RF_NR,
};
const char *tierd_relief_fail_name(enum tierd_relief_fail f);

/* How the pages of a process were found (status "locator"). */
enum tierd_locator {
	TIERD_LOC_NONE,
	TIERD_LOC_SCAN_PFN,     /* PAGEMAP_SCAN for present ranges, PFN -> node and kpageflags */
	TIERD_LOC_SCAN_QUERY,   /* PAGEMAP_SCAN, node by a move_pages status query of the present pages */
	TIERD_LOC_READ_PFN,     /* pagemap reads (no PAGEMAP_SCAN: before 6.7), PFN -> node, kpageflags */
	TIERD_LOC_READ_QUERY,   /* pagemap reads, status query of the present pages */
	TIERD_LOC_NR,
};
const char *tierd_locator_name(enum tierd_locator l);

/* Counters of what the mover did.  A page found and moved is counted in the
 * pass of its own heat, a page skipped in the pass that counts skips (the
 * first of a run), so each is counted once however many passes ran. */
struct tierd_mover_stats {
	uint64_t move_calls, query_calls;          /* move_pages(2) with and without nodes */
	uint64_t scan_calls, pagemap_reads, kpageflags_reads, maps_reads, smaps_reads;
	uint64_t maps_lines;                       /* VMAs looked at */
	uint64_t identity_checks, identity_lost;   /* pidfd checks; victims whose PID changed owner */
	uint64_t move_usec;
	uint64_t found_pages;                      /* present on src, movable */
	uint64_t moved_pages, moved_heat_pages[TIER_HEAT_NR];
	uint64_t moved_huge_units, moved_huge_pages; /* THP / hugetlb moved as one unit */
	uint64_t skipped_mlocked_pages, skipped_unevictable_pages, skipped_unmovable_pages;
	uint64_t sparse_vmas_skipped, sparse_bytes_skipped;
	uint64_t busy_rechecked;
	uint64_t locator_pages[TIERD_LOC_NR];      /* pages located, by locator */
	uint64_t fail[TIERD_RF_NR];
};
void tierd_mover_stats_add(struct tierd_mover_stats *into, const struct tierd_mover_stats *s);

/* One process as the mover sees it: its identity and the walk's cursor. */
struct tierd_mover_proc {
	pid_t pid;
	int pidfd;                /* -1: no pidfds (identity by start time only) */
	int dirfd;                /* rootfd/proc/PID, opened while the identity held */
	int pagemap_fd;           /* opened through dirfd; -1 until first used */
	uint64_t start_time;      /* /proc/PID/stat field 22 */
	uint64_t rss_bytes, locked_bytes;   /* VmRSS, VmLck when opened */

	/* VM_LOCKED ranges (smaps "lo"), read once when locked_bytes > 0. */
	struct { uint64_t start, end; } *locked;
	size_t nr_locked, cap_locked;
	bool locked_done;
	struct tier_line_stream smaps;
	bool smaps_open;
	struct tier_smaps_locked smaps_state;

	/* Soft-dirty bits cleared at marked_usec; written_valid once the
	 * access window has passed: soft-dirty then means "written since". */
	uint64_t marked_usec;
	bool marked, written_valid;

	/* The walk: maps read as a stream, the VMA being walked, the address. */
	struct tier_line_stream maps;
	bool maps_open, vma_valid, walk_done;
	uint64_t vma_start, vma_end, cursor;
	bool vma_skip_sparse;
	uint64_t last_unit_end;   /* address just after the last located large folio */
	bool scan_unsupported;    /* PAGEMAP_SCAN answered ENOTTY / EINVAL */
	int pfn_visible;          /* -1 not known yet, 0 pagemap hides PFNs, 1 shows them */
	/* Pages of each heat the first pass of the run located (on src, or
	 * not known), once it reached the end: later passes skip empty heats. */
	uint64_t heat_pages[TIER_HEAT_NR];
	bool heat_seen;
	enum tierd_locator locator;
};

struct tierd_mover {
	/* set by the caller */
	const struct tierd_ops *ops;
	int rootfd;               /* proc/PID/..., proc/kpageflags */
	uint64_t page_size;
	uint64_t pmd_bytes;       /* PMD-sized THP (0: 2 MiB) */
	unsigned batch_pages;     /* base pages per move_pages call */
	int flags;                /* MPOL_MF_MOVE or MPOL_MF_MOVE_ALL */
	bool dry_run;             /* locate and plan, move nothing */
	bool no_pagemap_scan;     /* tests, bench: force the pagemap-read locator */
	bool no_pfn;              /* tests, bench: behave as without CAP_SYS_ADMIN */
	/* Count pages that are never moved (mlocked, unevictable...) whatever
	 * their heat: set for the first pass of a run only, so each is counted
	 * once (and even when a later pass never runs). */
	bool count_skips;
	/* Only pages in [range_start, range_end) (the benchmark's buffer);
	 * 0, 0: the whole process. */
	uint64_t range_start, range_end;
	const struct tier_pfn_map *pfn_map;   /* NULL or empty: nodes by query */
	int kpageflags_fd;        /* -1: no flags (then no PFN use either) */
	/* Where pages of src go: a node and its room in base pages, or -1. */
	int (*choose)(void *ctx, int src, const struct bitmask *avoid, uint64_t *room_pages);
	/* pages (base pages) moved (or, in dry-run, planned) src -> dst. */
	void (*moved)(void *ctx, int src, int dst, uint64_t pages, bool dry);
	void (*enomem)(void *ctx, int node);
	void *ctx;

	struct tierd_mover_stats stats;   /* cumulative; callers snapshot it per run */
	uint64_t lines_this_call;         /* maps lines in this tierd_mover_pass call */
	/* A batch carried from a call that stopped at its budget to the next
	 * call on the same process and pass (see tierd_mover_pass).  Clear
	 * carry_owner before freeing the process it points to. */
	const struct tierd_mover_proc *carry_owner;
	enum tier_page_heat carry_heat;
	size_t carry_npend, carry_ncand;
	uint64_t carry_pend_pages, carry_cand_pages;
	bool line_capped;                 /* the call stopped at its maps-line cap */

	/* scratch, allocated on first use */
	struct tierd_unit *units;
	size_t nr_units, cap_units;
	uint64_t *entries, *kpf, *pfn_sorted, *ranges;
	struct tier_page_region *regions;
	void **pages, **qpages;
	int *nodes, *status, *qstatus;
	uint32_t *weight, *qweight;
	uint8_t *uflags;
	struct tierd_unit *cand;
	size_t cap;
};

/* Result of one tierd_mover_pass. */
struct tierd_mover_result {
	uint64_t found_pages;     /* base pages of the pass's heat located on src */
	uint64_t attempted_pages; /* handed to move_pages (or planned in dry-run) */
	uint64_t moved_pages;     /* now on a target (planned, in dry-run) */
	int last_target;          /* -1 none */
};

/*
 * Identity: pidfd_open(pid), open proc/PID, read its stat and status, then
 * check the pidfd is still alive (see tier/procid.h).  Returns 0, -ESRCH
 * (gone or replaced during the open), another -errno.
 */
int tierd_mover_proc_open(struct tierd_mover *m, struct tierd_mover_proc *p, pid_t pid);
void tierd_mover_proc_close(struct tierd_mover_proc *p);
/* Still the same process?  pidfd alive (or, without one, an unchanged start
 * time).  0 or -ESRCH.  Counted in stats.identity_checks. */
int tierd_mover_proc_check(struct tierd_mover *m, struct tierd_mover_proc *p);
/* Read the VM_LOCKED ranges from smaps (only when locked_bytes > 0), a
 * chunk per call while the budget lasts (b NULL: all of it).  1 more to
 * read, 0 done, -ESRCH, another -errno. */
int tierd_mover_proc_read_locked(struct tierd_mover *m, struct tierd_mover_proc *p, struct tierd_budget *b);
/* Clear the process's soft-dirty bits now (ops->clear_soft_dirty) and note
 * the time; its writes count as "hot" once TIER_RELIEF_ACCESS_WINDOW_USEC
 * has passed (tierd_mover_proc_window).  0 or -errno. */
int tierd_mover_proc_mark(struct tierd_mover *m, struct tierd_mover_proc *p, uint64_t now_usec);
/* Sets written_valid when the window has passed; returns the microseconds
 * still to wait (0: now). */
uint64_t tierd_mover_proc_window(struct tierd_mover_proc *p, uint64_t now_usec);
/* Back to the start of the process for a new pass. */
int tierd_mover_proc_rewind(struct tierd_mover_proc *p);

/*
 * One pass over p's pages on src whose heat is heat (TIER_HEAT_NR: any),
 * from p's cursor, moving at most max_pages base pages and stopping when b
 * (may be NULL) is spent.  avoid: nodes not to use for this process
 * (updated: a target refused with EACCES is added).  Right before every
 * move_pages call (moves and status queries) the identity is checked.
 * Returns:
 *   0        the pass reached the end of the process (rewind for another);
 *   1        stopped at max_pages, the budget, or after 4096 maps lines (call
 *            again: it resumes; pages located but short of a full batch when
 *            the budget ran out are carried to that next call, so that every
 *            move_pages call but the last of a pass carries batch_pages);
 *   -ENOSPC  no target with room (pages left where they were);
 *   -ESRCH   the process is gone, or its PID names another process now;
 *   -EPERM   not allowed; other -errno (procfs errors).
 */
int tierd_mover_pass(struct tierd_mover *m, struct tierd_mover_proc *p, int src, enum tier_page_heat heat,
		     uint64_t max_pages, struct tierd_budget *b, struct bitmask *avoid,
		     struct tierd_mover_result *res);
void tierd_mover_free(struct tierd_mover *m);

/* Daemon glue (called from tierd-tick.c, tierd-status.c, tierd.c). */
void tierd_relief_tick(struct tierd *d, uint64_t now_usec, uint64_t *next_interval_usec);
struct json_object *tierd_relief_status(struct tierd *d);
void tierd_relief_free(struct tierd *d);
