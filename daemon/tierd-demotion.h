/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * The one owner of /sys/kernel/mm/numa/demotion_enabled.
 *
 * No policy writes the knob.  Each holds or drops a *reason* for demotion to
 * be off; the owner writes `false` while any reason holds and writes the
 * host's own value back only when none does.  The owner alone records the
 * host's original value in the state file (before its first write), notices
 * an admin who writes the knob behind tierd's back (that value becomes the
 * new original, and the reasons held at that moment stand down until their
 * policy drops them), and shows every reason that holds in status.
 *
 * The owner lives in the guard thread (tierd-guard.c), so a reason held from
 * the main thread takes effect within one guard wake-up (the call wakes the
 * guard), not one slow tick later.  The decisions are pure (lib/demotion.c,
 * tier/demotion.h).
 */
#include <stdbool.h>
#include <tier/demotion.h>

struct tierd;

/* Hold (holds = true) or drop a reason, from the main thread.  why says what
 * the reason is about ("node 0 demotes into private node 1"); it is shown in
 * status and logged when the knob changes because of it.  Cheap: copies a
 * few hundred bytes under a mutex and wakes the guard.  A hold that does not
 * change anything (same reason, same why) does not wake the guard. */
void tierd_demotion_hold(struct tierd *d, enum tier_demotion_reason r, bool holds, const char *why);

/* The "demotion" object of the status: the knob, the original, every
 * reason that holds (with why and since when), overrides. */
struct json_object *tierd_demotion_status(struct tierd *d);

/* ---- private to the guard thread (tierd-guard.c) --------------------------
 *
 * The owner's side effects: the knob (pre-opened, pread/pwrite) and the
 * knobs.json state file, a fixed-size record rewritten in place with one
 * pwrite (no temp file: no new fd ever needed; /run is a tmpfs, and a
 * single small pwrite cannot be seen half-done by a later reader of the file
 * after tierd dies).  The record is padded with blanks to a fixed length, so
 * it never needs truncating.  Format: the state file's own (tier/state.h),
 * read back by crash restore with tier_state_load_at().
 */
#include "fsutil.h"

#define TIERD_KNOB_STATE_FILE "knobs.json"

struct tierd_owner {
	struct tier_demotion_state st;
	struct tier_attr_fd knob;     /* demotion_enabled; read-only when not writable */
	bool knob_writable;
	/* --root other than "/": a fixture's files are replaced by rename, so
	 * every look checks (fstatat) that the open files are still the ones
	 * the paths name (the guard thread's files too).  On the host, /proc
	 * and /sys files never change identity: no check. */
	bool follow_renames;
	int file_fd;                  /* knobs.json, -1 without a state dir */
	char recorded[8];             /* the original in the file: "true"/"false", "" none */
	uint64_t recorded_usec;
	int last_errno;               /* last write failure, logged once per distinct one */
	uint64_t writes, write_failures;
};

/* Open the knob and knobs.json (statefd -1: none).  leftover_original: an
 * original crash restore could not put back (1/0, -1 none): then it is owed. */
int tierd_owner_open(struct tierd_owner *o, struct tierd *d, int leftover_original);
/* What the knob reads now: 1, 0, -1 (absent, unreadable, garbage). */
int tierd_owner_read(struct tierd_owner *o, struct tierd *d);
/* Decide with knob and apply (record, write, log, action).  Returns the
 * reasons the admin overrode in this call (the guard stands down if its own
 * is among them). */
unsigned tierd_owner_settle(struct tierd_owner *o, struct tierd *d, int knob, bool dry_run);
/* At stop: give back what tierd owes; removes knobs.json on success.
 * Returns 0, or 1 when the write failed (knobs.json keeps the entry). */
int tierd_owner_restore(struct tierd_owner *o, struct tierd *d, const char *why);
void tierd_owner_close(struct tierd_owner *o);
