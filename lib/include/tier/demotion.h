/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * demotion_enabled has one owner (the daemon's guard thread); this is its
 * pure decision.  No I/O, no clock, no logging.
 *
 * Reasons: each policy that wants kernel demotion off holds a reason:
 *   GUARD   the demotion guard tripped (a lower tier nears min);
 *   FENCE   fencing: a private node is a demotion target of a non-private
 *           node and [fence] demotion = disable (demotion ignores
 *           cpuset.mems);
 *   PAUSE   tierctl pause while tierd held demotion off: paused means "change
 *           nothing", so the knob stays off until resume.
 * Policies set and clear their reasons with tier_demotion_set(); the owner
 * calls tier_demotion_decide() with the value the knob reads now.
 *
 * Values: original is the host's own value (what demotion_enabled would be
 * without tierd): learnt on the first look, replaced when the admin writes
 * the knob.  written is what tierd wrote and expects to read back, -1 when
 * the knob holds the host's value (tierd owes nothing).
 *
 * The decision:
 *  - knob unreadable (-1): nothing.
 *  - first look: original = knob.
 *  - the knob reads something else than expected (written when tierd holds
 *    it; in dry-run, and when tierd holds nothing, the original): the admin
 *    wrote it.  ADOPT: that value becomes the original, tierd owes nothing
 *    any more, and if the admin turned demotion ON, every reason held at that
 *    moment is overridden: it stops counting until its policy drops it
 *    (the guard's episode ends, the conflict goes away).  "ADMIN" is shown
 *    as a reason while the original is false.
 *  - effective reasons = held and not overridden.  If any and the knob is
 *    not false: WRITE false.  If none and tierd holds the knob: WRITE the
 *    original.  Otherwise nothing.
 *  - dry-run: the same decisions with real = false: the caller writes
 *    nothing, logs what it would write, and calls tier_demotion_written()
 *    all the same; the state remembers that the write was not real, so the
 *    knob is still expected to hold the original and nothing is owed.  One
 *    exception: giving back a value a live run wrote (the config switched to
 *    dry-run meanwhile) is real, since undoing is no new change.
 *
 * After a successful WRITE, the caller calls tier_demotion_written(); after
 * a failed one it calls nothing (the next decision tries again).
 */
#include <stdbool.h>
#include <stdint.h>

enum tier_demotion_reason {
	TIER_DEMOTION_GUARD,
	TIER_DEMOTION_FENCE,
	TIER_DEMOTION_PAUSE,
	TIER_DEMOTION_NR_REASONS,
};

/* "guard", "fence", "pause"; "admin" for TIER_DEMOTION_NR_REASONS (the
 * original is false); NULL for anything else. */
const char *tier_demotion_reason_name(enum tier_demotion_reason r);

#define TIER_DEMOTION_WHY_MAX 320

struct tier_demotion_state {
	int original;             /* 1, 0, -1 unknown (no look yet) */
	int written;              /* what tierd wrote (0 or 1), -1: nothing owed */
	bool written_dry;         /* written is only what a dry run would have written */
	unsigned held;            /* 1u << reason, set by the policies */
	unsigned overridden;      /* held reasons the admin overrode */
	char why[TIER_DEMOTION_NR_REASONS][TIER_DEMOTION_WHY_MAX];
	uint64_t since_usec[TIER_DEMOTION_NR_REASONS];
	uint64_t admin_overrides; /* ADOPT decisions so far */
};

void tier_demotion_init(struct tier_demotion_state *st);

/* A policy holds (or drops) its reason at now_usec.  Returns true when this
 * changes the effective set or the text (the owner should decide now). */
bool tier_demotion_set(struct tier_demotion_state *st, enum tier_demotion_reason r, bool holds, const char *why,
		       uint64_t now_usec);

/* Reasons that count now (held and not overridden), as a bit set. */
unsigned tier_demotion_effective(const struct tier_demotion_state *st);

enum tier_demotion_action {
	TIER_DEMOTION_NONE,
	TIER_DEMOTION_WRITE,      /* write value (0: off; else the original) */
	TIER_DEMOTION_ADOPT,      /* nothing to write; the admin's value is the original */
};

struct tier_demotion_decision {
	enum tier_demotion_action action;
	int value;                /* WRITE: 0 or 1; ADOPT: the admin's value */
	bool real;                /* WRITE: really write (false: dry-run, log only) */
	bool first_write;         /* WRITE 0 with nothing owed before: record the original first */
	unsigned overridden_now;  /* ADOPT: the reasons that stand down */
	char reason[TIER_DEMOTION_WHY_MAX + 128];
};

/* Decide, and on NONE/ADOPT update st (ADOPT applies the adoption).  knob is
 * what demotion_enabled reads now (1, 0, -1 unreadable). */
void tier_demotion_decide(struct tier_demotion_state *st, int knob, bool dry_run,
			  struct tier_demotion_decision *out);

/* The WRITE of the last decision happened (or, with real false, would have). */
void tier_demotion_written(struct tier_demotion_state *st, const struct tier_demotion_decision *dec);
