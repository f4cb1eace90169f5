/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * The status JSON (what `tierctl status --json` prints) rendered as the
 * Prometheus text exposition format, version 0.0.4 (what node_exporter's
 * textfile collector and every Prometheus server read).  One renderer for
 * both users: `tierctl metrics` renders the status it fetched from the
 * daemon, and the daemon renders its own status object for the textfile
 * ([daemon] metrics_textfile).  There is no second source of truth: every
 * sample is a field of the status object.
 *
 * Contract:
 *  - Pure: no I/O, no clock, no logging.  status may be NULL or any JSON
 *    value; nothing in it is trusted.
 *  - Table-driven (lib/metrics.c): one line per metric family or labelled
 *    sample source.  A field that is absent, null or of an unexpected type
 *    gives no sample (never a crash, never a made-up 0); a family without
 *    samples gives no # HELP / # TYPE either.
 *  - Names and types follow Prometheus' naming guide: prefix tierd_, base
 *    units (bytes, seconds), counters end in _total, labels node, tier,
 *    target, reason, ... .  Label values are escaped (\\, \", \n) and bytes
 *    that are not valid UTF-8 become '?', so hostile strings (cgroup and
 *    process names end up in status) cannot break the exposition.
 *  - Every family's samples are contiguous, HELP and TYPE come first, once.
 *  - No timestamps: node_exporter refuses them in textfiles.
 */
#include <stddef.h>
#include <json-c/json.h>

enum tier_metric_type {
	TIER_METRIC_GAUGE,
	TIER_METRIC_COUNTER,
	TIER_METRIC_SUMMARY,
};

/* Render status into a new NUL-terminated string (caller frees); *len (may
 * be NULL) gets its length.  NULL only when memory runs out. */
char *tier_metrics_render(struct json_object *status, size_t *len);

/* The table, for tests and documentation: family names in table order
 * (repeated for families with several sources), and their types. */
size_t tier_metrics_nr_defs(void);
const char *tier_metrics_def_family(size_t i);
enum tier_metric_type tier_metrics_def_type(size_t i);
