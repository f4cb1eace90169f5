/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * The Prometheus textfile ([daemon] metrics_textfile, metrics_interval).
 *
 * On its own sd-event timer on the main loop (main thread only): every
 * metrics_interval it renders tierd_status_json() with tier_metrics_render()
 * (the text `tierctl metrics` prints) and replaces the file atomically:
 * the text goes to ".NAME.tmp" in the same directory (created fresh with
 * O_EXCL|O_NOFOLLOW after removing a leftover, mode 0644 whatever the
 * unit's UMask=, so node_exporter's user can read it), then rename(2) over
 * NAME.  A few KiB to a local file: microseconds, well within a slice.
 *
 * A failed write is logged once per episode (the first failure, as a
 * warning with a hint for the unit's sandboxing; "works again" when it
 * recovers) and retried at the next interval; status shows the last error.
 * Reload re-reads both keys (a new path: the old file is removed, the new
 * one written at once).  A clean stop removes the file, so the series of a
 * stopped tierd disappear rather than going stale.
 */
#include <json-c/json.h>

struct tierd;

/* Start (after sd_event_default; nothing happens while the key is empty). */
int tierd_metrics_start(struct tierd *d);
/* The config was swapped: follow metrics_textfile / metrics_interval. */
void tierd_metrics_reload(struct tierd *d);
/* Clean stop: remove the file tierd wrote. */
void tierd_metrics_stop(struct tierd *d);
void tierd_metrics_free(struct tierd *d);
/* {"textfile": PATH|null, "interval_usec", "writes", "write_failures",
 *  "last_error": TEXT|null, "last_write_usec": duration of the last write} */
struct json_object *tierd_metrics_status(struct tierd *d);
/* Write now (tests, and the timer). 0 or -errno. */
int tierd_metrics_write(struct tierd *d);
