/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * The demotion guard: the pure decision of when tierd writes `false` to
 * /sys/kernel/mm/numa/demotion_enabled and when it writes the original value
 * back.  No I/O, no clock reads, no logging, no globals: everything the
 * decision needs is an argument, and the history it keeps between ticks is
 * the caller-owned struct tier_guard_state.
 *
 * Why: with two or more memory tiers and demotion on, reclaim "frees" an
 * upper node by demoting into a lower tier even when every node of that tier
 * is below its min watermark; allocations then never reach the OOM killer and
 * the host hangs.  Fixed upstream only in 2026 ("mm/vmscan: don't demote if
 * there is not enough free memory in the lower memory tier").
 *
 * Definitions (the contract of tier_guard_decide):
 *
 * - Upper node: an online node with memory whose demotion targets (below) are
 *   not empty.
 * - Demotion targets of a node: its demotion_fallback set from the snapshot
 *   (every node the kernel may demote to; demotion_preferred is a subset).
 *   A target that is absent from the snapshot, offline, without memory or
 *   with unknown free pages is ignored (the mask may still name a node that
 *   was just unplugged).  A node whose targets are all ignored has none, and a node
 *   without targets never trips the guard.
 * - Free / watermarks of a node: the snapshot's derived sums over its
 *   populated zones (free_pages, min/low/high_pages).  The trip and release
 *   lines are [guard] trip_at / release_at resolved per node with
 *   tier_wm_expr_pages().  If a node's release line is not above its trip
 *   line (a config that would flap), the release line is taken as trip + 1.
 * - Under reclaim pressure: an upper node whose free pages are at or below
 *   its high watermark (kswapd reclaims up to high, so it is reclaiming or
 *   about to), OR whose pgdemote_* counters (kswapd + direct + khugepaged +
 *   proactive, nodeN/vmstat) moved since the previous snapshot.  The kernel
 *   counts pgdemote on the node being reclaimed, the source.  When the node
 *   has no per-node counters (older kernels), the global /proc/vmstat ones
 *   are used, which marks every upper node as demoting when any does (the
 *   conservative side).
 * - Trip: some upper node under reclaim pressure has EVERY one of its
 *   targets at or below its trip line (free <= line).  While one target is
 *   above the line, the kernel's fallback can still demote there, so the
 *   guard does not act.  Upper nodes are examined in ascending id; the first
 *   that trips is reported, with its best target (most free pages over the
 *   line) as target_node.
 * - Release: every target of every upper node is above its release line
 *   (free > line), and guard_min_hold_usec has passed since the trip.
 *   Release drops the guard's reason (the owner then restores the host's
 *   value if no other reason holds).
 *   Hysteresis: trip at `low`, release above `high+1%` (defaults) means a
 *   target hovering around one line cannot flap the knob.
 * - Prediction (only with guard_predict): from the previous sample, the
 *   drain rate of an upper node's targets is the larger of (a) the net fall
 *   of their free pages per second and (b) the node's pgdemote rate.  With
 *   H = the sum over the targets of their free pages above the trip line
 *   (the pages left before ALL are at the line, since fallback demotion
 *   fills whichever still has room), the line is reached in H / rate.  If
 *   that is within the next polling interval and the node is under reclaim
 *   pressure, the guard trips now (predicted = true, eta_usec set) instead
 *   of one tick after the crossing.
 * - Adaptive polling: for each upper node, the time until it could trip is
 *   max(time for the node itself to reach its high watermark (0 when under
 *   pressure), time for its targets to reach their trip lines), each at the
 *   larger of the observed rate and TIER_GUARD_FILL_BYTES_PER_SEC (an
 *   assumed worst-case fill speed, earlyoom's idea).  The interval is the
 *   smallest such time over upper nodes, clamped to [min_interval_usec,
 *   max_interval_usec], and grows by at most 2x per tick so that it comes
 *   back gradually after a dip.  So: polling is fast only when a trip is
 *   near, and an idle host whose slow tier is full by design (nothing is
 *   demoting) still polls slowly.  The rates are always used for the
 *   interval; guard_predict only gates the early trip.  While the guard
 *   holds its reason, or is quiet, the interval is interval_usec (while
 *   holding, shortened to wake when guard_min_hold_usec ends, not below
 *   min_interval_usec).  The look that releases uses the watching interval
 *   (the targets are just above the release line: the next trip may be
 *   near).
 *
 * Modes: off -> never trips (and releases a hold it still has); on -> always
 * guards; auto -> guards unless kernel_fixed (the caller decides that, e.g.
 * with tier_kernel_has_demotion_fix(uname.release)); a hold left from before
 * is released.
 *
 * Quiet (no action, quiet_reason says why): mode off, auto on a fixed
 * kernel, fewer than two memory tiers, no node with a demotion target,
 * demotion_enabled unreadable, demotion off by the admin's choice, or the
 * guard stood down after an admin override (below).  If the guard holds when
 * one of the first four becomes true, it releases instead.
 *
 * The knob: the guard does not write demotion_enabled and does not look at
 * what tierd wrote there.  TRIP means "the guard holds a reason for demotion
 * to be off", RELEASE "it no longer does"; the knob's one owner (the daemon,
 * lib/demotion.c) writes the knob from the reasons of every policy.  So
 * s->demotion_enabled must be the host's own value, the owner's "original"
 * (what the knob would read without tierd), not the value the knob reads
 * while tierd holds it off: the guard only guards a host that wants
 * demotion.  When the owner sees an admin write `true` while the guard's
 * reason held, it calls tier_guard_stand_down(): the guard stops holding and
 * stays quiet (no re-trip) until every target is back above its release
 * line once; then it re-arms.  So an admin who re-enables demotion during a
 * trip wins for the rest of that episode instead of fighting tierd.  A failed
 * knob write is the owner's business: it retries; the guard's hold stands.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tier/config.h>
#include <tier/nodemask.h>
#include <tier/snapshot.h>

/* Nodes with id >= this have no slope history (still guarded). */
#define TIER_GUARD_MAX_NODES TIER_MAX_NODES

/* Assumed worst-case speed at which free memory of a node can fall, for the
 * polling interval: a little above what one socket's page allocator and the
 * kernel's migration path sustain (earlyoom assumes 6000 MiB/s for RAM). */
#define TIER_GUARD_FILL_BYTES_PER_SEC (6ull << 30)

/*
 * First upstream release carrying "mm/vmscan: don't demote if there is not
 * enough free memory in the lower memory tier", as "MAJOR.MINOR", or NULL
 * when none is known.  NULL today: the patch was seen in akpm's mm tree
 * (mm-unstable / mm-new, January 2026) but we could not confirm the first
 * mainline release that carries it, so mode=auto always guards.  Set it once
 * confirmed.  Stable and distro backports are invisible to a version check:
 * use mode=off on such kernels.
 */
#define TIER_DEMOTION_FIX_FIRST_RELEASE NULL

/*
 * True if the kernel release string (uname -r: "6.12.0-1-amd64",
 * "7.1.3", "6.18-rc2") is at least version "MAJOR.MINOR[.PATCH]".
 * Compares the leading numbers only; false for an unparsable release or
 * version, or version NULL.  Release candidates of that version count as
 * that version.
 */
bool tier_kernel_release_at_least(const char *release, const char *version);

/* tier_kernel_release_at_least(release, TIER_DEMOTION_FIX_FIRST_RELEASE):
 * always false while no fixed release is known. */
bool tier_kernel_has_demotion_fix(const char *release);

/*
 * History between ticks.  Initialise with tier_guard_state_init(); then feed
 * each tick the `next` of the previous one as `prev`.  Plain data: copy it
 * freely (it is about 16 KiB, keep it off small stacks in the daemon).
 */
struct tier_guard_state {
	/* The hold. */
	bool held;                 /* the guard holds its reason for demotion off */
	uint64_t held_since_usec;  /* now_usec of the trip */
	bool stood_down;           /* admin override: quiet until targets recover */

	/* Polling. */
	uint64_t last_interval_usec;   /* 0 before the first tick */

	/* The previous sample, for rates. */
	bool have_sample;
	uint64_t sample_usec;
	uint64_t demoted_global;                    /* TIER_UNKNOWN if unread */
	uint64_t free_pages[TIER_GUARD_MAX_NODES];  /* TIER_UNKNOWN if absent */
	uint64_t demoted_pages[TIER_GUARD_MAX_NODES];
};

void tier_guard_state_init(struct tier_guard_state *st);

/* The admin overrode the guard's hold (see the contract above). */
void tier_guard_stand_down(struct tier_guard_state *st);

enum tier_guard_action {
	TIER_GUARD_ACT_NONE,
	TIER_GUARD_ACT_TRIP,           /* hold the guard's reason for demotion off */
	TIER_GUARD_ACT_RELEASE,        /* drop it */
};

/* "none", "trip", "release". */
const char *tier_guard_action_name(enum tier_guard_action a);

#define TIER_GUARD_REASON_MAX 320

struct tier_guard_decision {
	enum tier_guard_action action;
	/* Always set: why this action, or what the guard is watching/holding.
	 * "node 1 (tier 54) free 31 MiB <= low 34 MiB, ...; demotion off". */
	char reason[TIER_GUARD_REASON_MAX];
	/* Non-empty iff the guard is quiet (not watching anything). */
	char quiet_reason[TIER_GUARD_REASON_MAX];
	/* The node pair the reason is about; -1 / 0 when none. */
	int upper_node;
	int target_node;
	uint64_t free_pages;       /* of target_node */
	uint64_t line_pages;       /* the trip line (or release line on RELEASE) */
	bool predicted;            /* TRIP from the slope, before the crossing */
	uint64_t eta_usec;         /* predicted time to the line; TIER_UNKNOWN */
	uint64_t next_interval_usec;   /* when to look again */
};

/*
 * Decide one tick.  Pure.  s and c must not be NULL; prev may be NULL (first
 * tick, same as an initialised state).  now_usec is a monotonic clock.
 * next receives the history for the next tick (next may alias prev).
 */
void tier_guard_decide(const struct tier_snapshot *s, const struct tier_config *c,
		       const struct tier_guard_state *prev, uint64_t now_usec, bool kernel_fixed,
		       struct tier_guard_state *next, struct tier_guard_decision *out);
