/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Text views for tierctl.  Both render from the same JSON the daemon and
 * `--json` produce, so the text and JSON views never disagree.
 */
#include <stdio.h>
#include <json-c/json.h>

/* The tier-aware `numactl -H`: tiers fast to slow, nodes, watermarks,
 * headroom, demotion targets, knobs.  topo is tier_snapshot_to_json(). */
void tierctl_render_topology(FILE *f, struct json_object *topo);

/* The dashboard for `tierctl status`: daemon, topology, guard, fencing,
 * relief, last actions.  status is the daemon's "data" object. */
void tierctl_render_status(FILE *f, struct json_object *status);

/* "1.5 GiB", "512 KiB", "17 B"; negative values keep their sign. */
const char *tierctl_fmt_bytes(char *buf, size_t size, long long bytes);
