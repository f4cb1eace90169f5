/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * The guard thread: the demotion guard's fast path and the one owner of
 * demotion_enabled (model: tierd-job.h).
 *
 * What it owns, and nobody else touches: its file descriptors (opened at
 * start: /proc/zoneinfo, /proc/vmstat, nodeN/vmstat, demotion_enabled, the
 * knobs.json state file, the notify socket is shared), its private copy of
 * the snapshot (zones and counters updated in place every look), the guard
 * policy's history, the owner's state (tier_demotion_state) and the
 * knobs.json file.  It reads with pread at offset 0, parses without
 * allocating (tier_zoneinfo_parse_fixed), decides with the pure policies,
 * writes the knob, pings the watchdog, and sleeps on its own timer.
 *
 * What crosses between the threads, always as copies under one mutex that
 * is held for no more than a memcpy:
 *   main -> guard: a new topology (tier_snapshot_dup of the main snapshot,
 *                  when the shape changes), the config's scalar fields and
 *                  dry-run, pause, the reasons other policies hold
 *                  (tierd_demotion_hold), stop;
 *   guard -> main: a status copy (decision, counters, the owner's state,
 *                  errors), "my topology is stale" (a zone it does not know).
 * Every post wakes the guard through an eventfd; the guard never waits for
 * the main thread.
 *
 * The watchdog ping (WATCHDOG=1) is sent by the guard after each look, so it
 * means "the guard is alive and looking".  A main loop that stalls is logged
 * and shown in status (main_loop_lag_usec) but does not stop the pings: the
 * guard keeping demotion off is worth more than a restart that would put it
 * back on in the middle of the pressure.
 */
#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

struct tierd;

/* Open the files and start the thread (after crash restore and the first
 * snapshot).  leftover_original: the demotion_enabled original of a
 * knobs.json entry that crash restore could not put back (-1: none); the
 * owner then owes it.  Returns 0 or -errno (the daemon cannot guard). */
int tierd_guard_start(struct tierd *d, int leftover_original);
/* --once: the same setup and exactly one look, on the calling thread. */
int tierd_guard_once(struct tierd *d, int leftover_original);
/* Stop and join the thread; then give demotion_enabled back if tierd holds
 * it and remove knobs.json (kept, with the entry, when the write fails).
 * Returns the number of settings that could not be restored (0 or 1). */
int tierd_guard_stop(struct tierd *d, const char *why);
void tierd_guard_free(struct tierd *d);

/* Main thread, from the slow tick: hand over the topology when its shape
 * changed (or when the guard asked); cheap otherwise. */
void tierd_guard_topology(struct tierd *d);
/* Main thread: the config changed (reload) or dry-run did. */
void tierd_guard_config(struct tierd *d);
/* Main thread: tierctl pause / resume. */
void tierd_guard_pause(struct tierd *d, bool paused);
/* Main thread: the main loop is alive (once per slow tick). */
void tierd_guard_heartbeat(struct tierd *d);

/* tierd-debug.c only: the guard thread blocks forever at its next wake-up
 * (the watchdog test). */
void tierd_guard_debug_hang(struct tierd *d);

/* Status objects built from the guard's published copy (main thread). */
struct json_object *tierd_guard_status(struct tierd *d);
/* The guard's state word for STATUS= ("watching", "tripped: ..."). */
void tierd_guard_state_word(struct tierd *d, char *buf, size_t size);
