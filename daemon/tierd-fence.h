/* SPDX-License-Identifier: MIT */
#pragma once
/* Private-node fencing in the daemon (tierd-fence.c; policy in lib/fence.c). */
#include <stdint.h>
#include <json-c/json.h>

struct tierd;

/* Once, after the control socket is open: the inotify watch for new
 * cgroups.  Without it (error, --once) new cgroups wait for the full pass. */
int tierd_fence_start(struct tierd *d);
/* Each tick after the guard, when not paused: discovery, full passes,
 * demotion conflict, audit.  Does not shorten the interval. */
void tierd_fence_tick(struct tierd *d, uint64_t now_usec, uint64_t *next_interval_usec);
/* The "fence" status section (new reference). */
struct json_object *tierd_fence_status(struct tierd *d);
void tierd_fence_free(struct tierd *d);
/* restore_write for TIER_STATE_CPUSET_MEMS: writes value back ("" as
 * "\n": a zero-length write never reaches kernfs); a v1 cpuset that was
 * empty and has tasks (or children with nodes) now cannot be emptied: it
 * gets its parent's current nodes instead, or is left as is (0). */
int tierd_fence_restore_mems(struct tierd *d, const char *key, const char *value);

