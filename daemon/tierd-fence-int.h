/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Fencing's internal state, shared by tierd-fence.c (passes, inotify,
 * writes, give-back, status) and tierd-fence-audit.c (root tasks,
 * intruders, eviction).  Main thread only.
 */
#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include <tier/fence.h>
#include "tierd-cgroup.h"
#include "tierd-job.h"

struct tierd;
struct tier_map;
struct fence_audit;
struct creation;

#define FENCE_MAX_LAST 8

struct tierd_fence {
	struct tierd_cgroup_hier h;
	bool have_hier;
	uint64_t last_discover_mono;
	char problem[256];        /* why nothing is fenced; "" when fencing works */
	bool use_systemd;

	/* Inputs, owned copies (a reload frees the config under a job that
	 * spans slices): N, P and the grants as of config_generation. */
	struct bitmask *priv, *with_memory;
	struct tier_grant *grants;
	unsigned nr_grants;
	struct tier_fence_input in;
	uint64_t config_generation;

	/* The live cache of the hierarchy and the last plan made on it (a
	 * consistent pair: plan indices are tree indices). */
	struct tier_fence_tree *tree;
	struct tier_fence_plan *plan;
	size_t fenced, unfenced;
	bool counts_dirty;        /* recount (O(tree)) when status asks */

	/* Full passes (a slow job, see tierd-fence.c). */
	struct fence_pass *pass;
	uint64_t last_full_mono, full_pass_cost_usec, full_pass_max_usec, full_passes;
	uint64_t full_pass_slices_last, full_pass_wall_usec_last;
	bool full_pass_wanted;

	/* Giving back every restriction when no node is private any more. */
	struct fence_giveback *giveback;
	uint64_t given_back, give_back_failures, last_giveback_mono;

	/* inotify: watch descriptor -> cgroup path (a hash table: the kernel
	 * hands descriptors out cyclically). */
	int ifd;
	sd_event_source *io;
	struct tier_map *watches;     /* wd -> path */
	struct tier_map *watch_paths; /* path -> wd (for IN_DELETE of a child) */
	bool watch_error_logged;
	uint64_t creations, removals, last_create_usec, max_create_usec, inotify_batches;
	struct creation *pend;        /* reported, not fenced yet (a burst is fenced in bounded batches) */
	size_t pend_head, nr_pend, cap_pend;
	sd_event_source *pend_src;    /* fences the rest of a burst in the next loop iteration */

	/* Writes and the state file. */
	uint64_t writes, write_failures, pending_dry_run;
	uint64_t state_saves;         /* commits of the state file made by fencing */
	uint64_t state_unsaved_writes;/* invariant: writes whose record was not saved (must stay 0) */
	uint64_t state_pruned;

	/* systemd units: AllowedMemoryNodes in flight, and what PID 1 said
	 * last (read or written), so a value is read at most once. */
	struct tier_map *unit_cache;  /* unit -> char * value */
	struct tier_map *unit_ops;    /* unit -> struct unit_op * in flight */
	struct unit_op *unit_list;
	struct tierd_job unit_job;
	uint64_t unit_reads, unit_sets, unit_failures;

	/* The audit (tierd-fence-audit.c). */
	struct fence_audit *audit;
	uint64_t last_audit_mono, audits;

	/* demotion */
	struct tier_fence_conflict conflict;
	bool holds_demotion, warned_allow;
	char demotion_action[200];

	char last[FENCE_MAX_LAST][220];
	unsigned last_head, last_len;
};

void tierd_fence_last_action(struct tierd_fence *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- the audit (tierd-fence-audit.c) ---- */

/* Start an audit run (no-op while one runs).  evict: migrate intruders'
 * pages off the private nodes; why: the reason logged with it. */
void tierd_fence_audit_start(struct tierd *d, struct tierd_fence *f, bool evict, const char *why);
/* Cancel a run in progress (config or topology changed). */
void tierd_fence_audit_cancel(struct tierd *d, struct tierd_fence *f);
bool tierd_fence_audit_running(const struct tierd_fence *f);
/* Add the audit's keys to the fence status object. */
void tierd_fence_audit_status(struct tierd_fence *f, struct json_object *o);
void tierd_fence_audit_free(struct tierd *d, struct tierd_fence *f);
