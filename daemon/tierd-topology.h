/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Dynamic topology: follow memory/node hotplug and tier changes at run time.
 *
 * Every tick diffs the new snapshot's shape (lib/topodiff.c) against the
 * shape of the last significant change; a significant change bumps
 * d->topology_generation, logs TIERD_MID_TOPOLOGY "topology changed: before
 * → after" and records a "topology" action.  Policies that keep per-node or
 * per-plan state compare d->topology_generation with the value they saw
 * last and re-plan when it differs (the guard needs nothing: it decides on
 * every snapshot and ignores vanished targets).
 *
 * Uevents only make it faster: the first memory/node/memory_tiering uevent
 * of each kind in a burst runs a tick at once; the rest of a burst (a DIMM
 * emits one event per 128 MiB block) is debounced into one more tick.  Without them (containers, no netlink), the periodic tick's diff
 * still notices every change, one interval later.
 */
#include <json-c/json.h>

struct tierd;

/* Open the uevent source (udev monitor, raw kernel netlink, or none) on
 * d->event and log which mode is used.  Never fails: without uevents tierd
 * polls.  Call once, after the event loop exists. */
void tierd_topology_start(struct tierd *d);
/* From tierd_tick(), right after d->snap is replaced and BEFORE the
 * policies run, so they see the new generation. */
void tierd_topology_tick(struct tierd *d, uint64_t now_usec);
/* The "topology" object of the status. */
struct json_object *tierd_topology_status(struct tierd *d);
void tierd_topology_free(struct tierd *d);
