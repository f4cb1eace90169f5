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

/* Decide and write now (interim: from the main thread). */
void tierd_demotion_apply(struct tierd *d);

/* The "demotion" object of the status: the knob, the original, every
 * reason that holds (with why and since when), overrides. */
struct json_object *tierd_demotion_status(struct tierd *d);
