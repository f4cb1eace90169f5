/* SPDX-License-Identifier: MIT */
/*
 * The status JSON as the Prometheus text exposition (tier/metrics.h).
 *
 * The table below is the whole mapping: a metric family is one or more
 * adjacent lines with the same name.  Each line says where its samples come
 * from (a path in the status object, optionally iterated over an array or an
 * object, optionally nested once), how the JSON value becomes a sample value
 * (conv) and where each label's value comes from.  Adding a metric is one
 * line; a field another part of tierd has not published (yet) just gives no
 * sample.
 *
 * Label sources ("from"):
 *   "=text"     a constant
 *   "0:PATH"    a field of the status object (dots separate keys)
 *   "1:PATH"    a field of the element being iterated ("each")
 *   "2:PATH"    a field of the nested element ("each2"); "2:." is the
 *               element itself (an array of numbers)
 *   "1:$key"    the key of the element, when "each" is an object
 * The value path is relative to the innermost element ("." for itself).
 */
#include "tier/metrics.h"
#include "tier/demotion.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum conv {
	NUM,      /* a number (or a boolean as 0/1) */
	BOOL,     /* a boolean (or a number: != 0) as 0/1 */
	NOT,      /* the negation of BOOL */
	PAGES,    /* pages times the status' page_size: bytes */
	USEC,     /* microseconds: seconds */
	ONE,      /* 1 when the value is there and not null (info-style metrics) */
	PRESENT,  /* 1 when there and not null, 0 when null (an error text) */
	LEN,      /* the length of an array or the number of keys of an object */
};

#define MAX_LABELS 3

struct label {
	const char *name, *from;
};

struct def {
	const char *family, *suffix;   /* suffix: "_sum", "_count" of a summary */
	enum tier_metric_type type;
	const char *help;              /* NULL: the family's first line has it */
	const char *each, *each2;      /* iterate (an array or an object), NULL: no */
	const char *value;
	enum conv conv;
	struct label labels[MAX_LABELS];
	/* Values of labels[0] that always get a sample (0 when the status does
	 * not list them), e.g. every demotion reason tierd knows. */
	const char *(*fill)(unsigned i);
};

#define G TIER_METRIC_GAUGE
#define C TIER_METRIC_COUNTER
#define S TIER_METRIC_SUMMARY
#define NODE_TIER { { "node", "1:id" }, { "tier", "1:tier" } }

static const char *demotion_reasons(unsigned i)
{
	/* "guard", "fence", "pause", then "admin" at NR; NULL after. */
	return i <= TIER_DEMOTION_NR_REASONS ? tier_demotion_reason_name((enum tier_demotion_reason)i) : NULL;
}

static const struct def defs[] = {
	/* ---- the daemon */
	{ .family = "tierd_build_info", .type = G, .help = "tierd's version (value 1)", .value = "daemon.version",
	  .conv = ONE, .labels = { { "version", "0:daemon.version" } } },
	{ .family = "tierd_uptime_seconds", .type = G, .help = "Time since tierd started",
	  .value = "daemon.uptime_usec", .conv = USEC },
	{ .family = "tierd_paused", .type = G, .help = "1 while tierctl pause holds tierd from acting",
	  .value = "daemon.paused", .conv = BOOL },
	{ .family = "tierd_dry_run", .type = G, .help = "1 when tierd only logs what it would do",
	  .value = "daemon.dry_run", .conv = BOOL },
	{ .family = "tierd_ticks_total", .type = C, .help = "Ticks (acquire, decide, apply) run",
	  .value = "daemon.ticks", .conv = NUM },
	{ .family = "tierd_tick_duration_seconds", .suffix = "_sum", .type = S, .help = "Time spent in ticks",
	  .value = "daemon.tick_cost_usec_sum", .conv = USEC },
	{ .family = "tierd_tick_duration_seconds", .suffix = "_count", .type = S, .value = "daemon.ticks",
	  .conv = NUM },
	{ .family = "tierd_tick_duration_max_seconds", .type = G, .help = "Longest tick since start",
	  .value = "daemon.tick_cost_usec_max", .conv = USEC },
	{ .family = "tierd_tick_interval_seconds", .type = G,
	  .help = "Interval until the next tick (adaptive polling)", .value = "daemon.interval_usec", .conv = USEC },
	{ .family = "tierd_config_generation", .type = G,
	  .help = "Configuration generation: 1 at start, +1 per successful reload",
	  .value = "daemon.config_generation", .conv = NUM },
	{ .family = "tierd_config_reload_failures_total", .type = C,
	  .help = "Reloads rejected (the running configuration was kept)", .value = "daemon.reload_failures",
	  .conv = NUM },
	{ .family = "tierd_settings_held", .type = G,
	  .help = "Host settings tierd changed and will restore on stop (state file entries)",
	  .value = "daemon.settings_held", .conv = NUM },
	{ .family = "tierd_acquire_failing", .type = G,
	  .help = "1 while reading the topology fails (tierd keeps the last good snapshot)",
	  .value = "daemon.acquire_error", .conv = PRESENT },
	{ .family = "tierd_warnings", .type = G, .help = "Startup warnings shown by tierctl status",
	  .value = "warnings", .conv = LEN },
	{ .family = "tierd_actions_total", .type = C, .help = "Actions tierd took (or, in dry-run, would have taken)",
	  .value = "actions_total", .conv = NUM },
	{ .family = "tierd_job_runs_total", .type = C, .help = "Slow-job runs finished", .each = "daemon.jobs",
	  .value = "runs", .conv = NUM, .labels = { { "job", "1:name" } } },
	{ .family = "tierd_job_slices_total", .type = C, .help = "Slow-job slices run", .each = "daemon.jobs",
	  .value = "slices", .conv = NUM, .labels = { { "job", "1:name" } } },
	{ .family = "tierd_job_seconds_total", .type = C, .help = "Time spent in slow-job slices",
	  .each = "daemon.jobs", .value = "total_usec", .conv = USEC, .labels = { { "job", "1:name" } } },
	{ .family = "tierd_job_slice_max_seconds", .type = G, .help = "Longest slow-job slice", .each = "daemon.jobs",
	  .value = "max_slice_usec", .conv = USEC, .labels = { { "job", "1:name" } } },

	/* ---- topology: tiers and nodes */
	{ .family = "tierd_demotion_enabled", .type = G,
	  .help = "/sys/kernel/mm/numa/demotion_enabled as tierd last read it", .value = "demotion_enabled",
	  .conv = BOOL },
	{ .family = "tierd_numa_balancing", .type = G, .help = "/proc/sys/kernel/numa_balancing",
	  .value = "numa_balancing", .conv = NUM },
	{ .family = "tierd_tier_nodes", .type = G, .help = "Nodes in the memory tier", .each = "tiers",
	  .value = "nodes", .conv = LEN, .labels = { { "tier", "1:id" } } },
	{ .family = "tierd_node_tier_id", .type = G, .help = "Memory tier of the node (a larger id is a slower tier)",
	  .each = "nodes", .value = "tier", .conv = NUM, .labels = { { "node", "1:id" } } },
	{ .family = "tierd_node_free_bytes", .type = G,
	  .help = "Free memory of the node (sum over its zones, /proc/zoneinfo)", .each = "nodes",
	  .value = "free_pages", .conv = PAGES, .labels = NODE_TIER },
	{ .family = "tierd_node_min_watermark_bytes", .type = G,
	  .help = "Min watermark of the node (sum over its zones)", .each = "nodes", .value = "min_pages",
	  .conv = PAGES, .labels = NODE_TIER },
	{ .family = "tierd_node_low_watermark_bytes", .type = G,
	  .help = "Low watermark of the node (sum over its zones)", .each = "nodes", .value = "low_pages",
	  .conv = PAGES, .labels = NODE_TIER },
	{ .family = "tierd_node_high_watermark_bytes", .type = G,
	  .help = "High watermark of the node (sum over its zones)", .each = "nodes", .value = "high_pages",
	  .conv = PAGES, .labels = NODE_TIER },
	{ .family = "tierd_node_headroom_bytes", .type = G, .help = "Free minus min watermark (negative below min)",
	  .each = "nodes", .value = "headroom_bytes", .conv = NUM, .labels = NODE_TIER },
	{ .family = "tierd_node_managed_bytes", .type = G, .help = "Memory the page allocator manages on the node",
	  .each = "nodes", .value = "managed_pages", .conv = PAGES, .labels = NODE_TIER },
	{ .family = "tierd_node_demotion_target", .type = G,
	  .help = "1 for each preferred demotion target of a node (mm/memory-tiers.c)", .each = "nodes",
	  .each2 = "demotion_targets", .value = ".", .conv = ONE,
	  .labels = { { "node", "1:id" }, { "target", "2:." } } },
	{ .family = "tierd_node_demoted_bytes_total", .type = C,
	  .help = "Memory demoted from the node (/sys/.../nodeN/vmstat pgdemote_*)", .each = "nodes",
	  .value = "counters.pgdemote_kswapd", .conv = PAGES, .labels = { { "node", "1:id" }, { "by", "=kswapd" } } },
	{ .family = "tierd_node_demoted_bytes_total", .type = C, .each = "nodes", .value = "counters.pgdemote_direct",
	  .conv = PAGES, .labels = { { "node", "1:id" }, { "by", "=direct" } } },
	{ .family = "tierd_node_demoted_bytes_total", .type = C, .each = "nodes",
	  .value = "counters.pgdemote_khugepaged", .conv = PAGES,
	  .labels = { { "node", "1:id" }, { "by", "=khugepaged" } } },
	{ .family = "tierd_node_demoted_bytes_total", .type = C, .each = "nodes",
	  .value = "counters.pgdemote_proactive", .conv = PAGES,
	  .labels = { { "node", "1:id" }, { "by", "=proactive" } } },
	{ .family = "tierd_node_promoted_bytes_total", .type = C,
	  .help = "Memory promoted to the node (pgpromote_success)", .each = "nodes",
	  .value = "counters.pgpromote_success", .conv = PAGES, .labels = { { "node", "1:id" } } },
	{ .family = "tierd_topology_generation", .type = G,
	  .help = "Topology generation: +1 per significant change of tiers or nodes", .value = "topology.generation",
	  .conv = NUM },
	{ .family = "tierd_topology_changes_total", .type = C, .help = "Topology changes seen (hotplug)",
	  .value = "topology.changes", .conv = NUM },
	{ .family = "tierd_topology_uevents_total", .type = C, .help = "Memory and node uevents received",
	  .value = "topology.uevents", .conv = NUM },
	{ .family = "tierd_topology_uevent_overruns_total", .type = C,
	  .help = "uevent socket overruns (a rescan followed)", .value = "topology.uevent_overruns", .conv = NUM },
	{ .family = "tierd_topology_reaction_max_seconds", .type = G,
	  .help = "Longest time from a uevent to the new topology", .value = "topology.max_reaction_usec",
	  .conv = USEC },

	/* ---- demotion_enabled's owner */
	{ .family = "tierd_demotion_enabled_original", .type = G,
	  .help = "The host's own demotion_enabled (restored on stop)", .value = "demotion_enabled_original",
	  .conv = BOOL },
	{ .family = "tierd_demotion_held_off", .type = G, .help = "1 while tierd holds demotion_enabled off",
	  .value = "demotion.held_by_tierd", .conv = BOOL },
	{ .family = "tierd_demotion_reason_active", .type = G,
	  .help = "1 while this reason holds demotion off (held and not overridden by the admin)",
	  .each = "demotion.reasons", .value = "overridden", .conv = NOT, .labels = { { "reason", "1:reason" } },
	  .fill = demotion_reasons },
	{ .family = "tierd_demotion_reason_overridden", .type = G,
	  .help = "1 while the admin overrode this held reason", .each = "demotion.reasons", .value = "overridden",
	  .conv = BOOL, .labels = { { "reason", "1:reason" } }, .fill = demotion_reasons },
	{ .family = "tierd_demotion_admin_overrides_total", .type = C,
	  .help = "Times the admin wrote demotion_enabled behind tierd's back", .value = "demotion.admin_overrides",
	  .conv = NUM },

	/* ---- guard */
	{ .family = "tierd_guard_info", .type = G, .help = "The guard's configuration (value 1)",
	  .value = "guard.mode", .conv = ONE,
	  .labels = { { "mode", "0:guard.mode" }, { "trip_at", "0:guard.trip_at" }, { "release_at", "0:guard.release_at" } } },
	{ .family = "tierd_guard_state", .type = G, .help = "The guard's state (value 1, the state as a label)",
	  .value = "guard.state", .conv = ONE, .labels = { { "state", "0:guard.state" } } },
	{ .family = "tierd_guard_tripped", .type = G, .help = "1 while the guard holds demotion off",
	  .value = "guard.held", .conv = BOOL },
	{ .family = "tierd_guard_trips_total", .type = C, .help = "Guard trips (demotion turned off)",
	  .value = "guard.trips", .conv = NUM },
	{ .family = "tierd_guard_releases_total", .type = C, .help = "Guard releases (demotion given back)",
	  .value = "guard.releases", .conv = NUM },
	{ .family = "tierd_guard_admin_overrides_total", .type = C, .help = "Times the admin overrode the guard",
	  .value = "guard.admin_overrides", .conv = NUM },
	{ .family = "tierd_guard_next_check_seconds", .type = G, .help = "Interval until the guard's next look",
	  .value = "guard.next_interval_usec", .conv = USEC },
	{ .family = "tierd_guard_kernel_has_fix", .type = G, .help = "1 when the kernel has the upstream demotion fix",
	  .value = "guard.kernel_has_fix", .conv = BOOL },

	/* ---- relief */
	{ .family = "tierd_relief_enabled", .type = G, .help = "1 when [relief] is enabled", .value = "relief.enabled",
	  .conv = BOOL },
	{ .family = "tierd_relief_moved_bytes_total", .type = C, .help = "Memory relief moved with move_pages(2)",
	  .value = "relief.moved_bytes_total", .conv = NUM },
	{ .family = "tierd_relief_moved_off_node_bytes_total", .type = C,
	  .help = "Memory relief moved off the node (source)", .each = "relief.nodes", .value = "moved_off_bytes",
	  .conv = NUM, .labels = { { "node", "1:$key" } } },
	{ .family = "tierd_relief_moved_onto_node_bytes_total", .type = C,
	  .help = "Memory relief moved onto the node (target)", .each = "relief.nodes", .value = "moved_on_bytes",
	  .conv = NUM, .labels = { { "node", "1:$key" } } },
	{ .family = "tierd_relief_node_relieving", .type = G, .help = "1 while relief moves pages off the node",
	  .each = "relief.nodes", .value = "relieving", .conv = BOOL, .labels = { { "node", "1:$key" } } },
	{ .family = "tierd_relief_planned_bytes_total", .type = C, .help = "Memory a dry run would have moved",
	  .value = "relief.planned_bytes_total_dry_run", .conv = NUM },
	{ .family = "tierd_relief_rate_bytes_per_second", .type = G,
	  .help = "Relief's achieved rate over the last minute", .value = "relief.achieved_bytes_per_sec_last_minute",
	  .conv = NUM },
	{ .family = "tierd_relief_mover_rate_bytes_per_second", .type = G,
	  .help = "Rate of move_pages(2) while it runs", .value = "relief.mover_bytes_per_sec", .conv = NUM },
	{ .family = "tierd_relief_rate_limit_bytes_per_second", .type = G, .help = "[relief] rate",
	  .value = "relief.rate_bytes_per_sec", .conv = NUM },
	{ .family = "tierd_relief_episodes_total", .type = C, .help = "Relief episodes started",
	  .value = "relief.episodes", .conv = NUM },
	{ .family = "tierd_relief_move_calls_total", .type = C, .help = "move_pages(2) calls that moved",
	  .value = "relief.move_calls", .conv = NUM },
	{ .family = "tierd_relief_failures_total", .type = C,
	  .help = "Pages (or calls) relief could not move, by reason", .each = "relief.failures", .value = ".",
	  .conv = NUM, .labels = { { "reason", "1:$key" } } },
	{ .family = "tierd_relief_victims_skipped_total", .type = C, .help = "Processes relief left alone, by reason",
	  .each = "relief.victims_skipped", .value = ".", .conv = NUM, .labels = { { "reason", "1:$key" } } },

	/* ---- fencing */
	{ .family = "tierd_fence_state", .type = G, .help = "Fencing's state (value 1, the state as a label)",
	  .value = "fence.state", .conv = ONE,
	  .labels = { { "state", "0:fence.state" }, { "backend", "0:fence.backend" } } },
	{ .family = "tierd_fence_cgroups", .type = G, .help = "Cgroups fencing manages", .value = "fence.cgroups",
	  .conv = NUM },
	{ .family = "tierd_fence_fenced_cgroups", .type = G, .help = "Cgroups whose cpuset.mems is as planned",
	  .value = "fence.fenced", .conv = NUM },
	{ .family = "tierd_fence_unfenced_cgroups", .type = G, .help = "Cgroups not (yet) fenced as planned",
	  .value = "fence.unfenced", .conv = NUM },
	{ .family = "tierd_fence_grant_cgroups", .type = G, .help = "Cgroups a [grant] matches",
	  .each = "fence.grants", .value = "cgroups", .conv = NUM, .labels = { { "grant", "1:name" } } },
	{ .family = "tierd_fence_writes_total", .type = C, .help = "cpuset.mems (or AllowedMemoryNodes=) writes",
	  .value = "fence.writes", .conv = NUM },
	{ .family = "tierd_fence_write_failures_total", .type = C, .help = "Fencing writes that failed",
	  .value = "fence.write_failures", .conv = NUM },
	{ .family = "tierd_fence_full_passes_total", .type = C, .help = "Full passes over the cgroup tree",
	  .value = "fence.full_passes", .conv = NUM },
	{ .family = "tierd_fence_full_pass_last_seconds", .type = G, .help = "Cost of the last full pass",
	  .value = "fence.full_pass_usec_last", .conv = USEC },
	{ .family = "tierd_fence_new_cgroups_fenced_total", .type = C, .help = "Cgroups fenced on creation (inotify)",
	  .value = "fence.new_cgroups_fenced", .conv = NUM },
	{ .family = "tierd_fence_root_tasks", .type = G, .help = "Tasks in the root cgroup (cannot be fenced)",
	  .value = "fence.root_tasks", .conv = NUM },
	{ .family = "tierd_fence_intruders", .type = G,
	  .help = "Non-granted tasks with pages on private nodes (last audit)", .value = "fence.intruders_total",
	  .conv = NUM },
	{ .family = "tierd_fence_intruder_bytes", .type = G,
	  .help = "Memory of non-granted tasks on private nodes (last audit)", .value = "fence.intruder_bytes",
	  .conv = NUM },
	{ .family = "tierd_fence_evictions_total", .type = C, .help = "Intruders evicted from private nodes",
	  .value = "fence.evictions", .conv = NUM },
	{ .family = "tierd_fence_evicted_bytes_total", .type = C, .help = "Memory evicted from private nodes",
	  .value = "fence.evicted_bytes", .conv = NUM },
	{ .family = "tierd_fence_eviction_failures_total", .type = C, .help = "Evictions that failed",
	  .value = "fence.eviction_failures", .conv = NUM },
	{ .family = "tierd_metrics_textfile_writes_total", .type = C, .help = "Writes of [daemon] metrics_textfile",
	  .value = "metrics.writes", .conv = NUM },
	{ .family = "tierd_metrics_textfile_write_failures_total", .type = C,
	  .help = "Failed writes of [daemon] metrics_textfile", .value = "metrics.write_failures", .conv = NUM },
	{ .family = "tierd_fence_holds_demotion_off", .type = G,
	  .help = "1 while fencing holds demotion off (private demotion targets)",
	  .value = "fence.demotion.holds_demotion_off", .conv = BOOL },
};

#define NDEFS (sizeof(defs) / sizeof(defs[0]))

size_t tier_metrics_nr_defs(void)
{
	return NDEFS;
}

const char *tier_metrics_def_family(size_t i)
{
	return i < NDEFS ? defs[i].family : NULL;
}

enum tier_metric_type tier_metrics_def_type(size_t i)
{
	return i < NDEFS ? defs[i].type : TIER_METRIC_GAUGE;
}

/* ---------------------------------------------------------------- output */

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void putf(struct buf *b, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* Escape for a label value (quote true) or a HELP text (quote false):
 * backslash and newline always, the double quote in label values.  Other
 * control characters are valid UTF-8 and allowed by the format, but a
 * textfile or a scrape is read by line-oriented tools: they become '?'
 * (found by tests/fuzz/fuzz-metrics). */
static void put_escaped(struct buf *b, const char *s, bool quote)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	while (n) {
		size_t l = utf8_len(p, n);
		if (l == 0) {
			puts_(b, "?");
			l = 1;
		} else if ((*p < 0x20 && *p != '\n') || *p == 0x7f) {
			puts_(b, "?");
		} else if (*p == '\\') {
			puts_(b, "\\\\");
		} else if (*p == '\n') {
			puts_(b, "\\n");
		} else if (*p == '"' && quote) {
			puts_(b, "\\\"");
		} else {
			put(b, (const char *)p, l);
		}
		p += l;
		n -= l;
	}
}

/* ---------------------------------------------------------------- lookup */

/* obj at PATH (dot-separated keys); "." or "" is obj itself.  NULL when a
 * key is missing, the value is null, or something on the way is not an
 * object; *found (may be NULL) says whether the last key was there at all
 * (a null value counts as there). */
static struct json_object *lookup_found(struct json_object *obj, const char *path, bool *found)
{
	if (found)
		*found = obj != NULL;
	if (!path || !path[0] || strcmp(path, ".") == 0)
		return obj;
	const char *p = path;
	while (obj && *p) {
		char key[64];
		size_t n = strcspn(p, ".");
		if (n >= sizeof(key) || !json_object_is_type(obj, json_type_object))
			break;
		memcpy(key, p, n);
		key[n] = '\0';
		struct json_object *next = NULL;
		if (!json_object_object_get_ex(obj, key, &next))
			break;
		p += n;
		if (*p == '.')
			p++;
		if (!*p) {
			/* the last key: there, possibly null */
			return next;
		}
		obj = next;
	}
	if (found)
		*found = false;
	return NULL;
}

static struct json_object *lookup(struct json_object *obj, const char *path)
{
	return lookup_found(obj, path, NULL);
}

struct ctx {
	struct json_object *root;
	int64_t page_size;
	struct json_object *el[3];     /* [0] root, [1] each, [2] each2 */
	const char *key[3];            /* object keys of el[1], el[2] (NULL: array) */
	int depth;                     /* 0, 1 or 2 */
};

struct value {
	bool is_int;
	int64_t i;
	double d;
};

static bool number_of(struct json_object *v, struct value *out)
{
	switch (v ? json_object_get_type(v) : json_type_null) {
	case json_type_int:
		out->is_int = true;
		out->i = json_object_get_int64(v);
		return true;
	case json_type_double:
		out->is_int = false;
		out->d = json_object_get_double(v);
		return isfinite(out->d);
	case json_type_boolean:
		out->is_int = true;
		out->i = json_object_get_boolean(v) ? 1 : 0;
		return true;
	default:
		return false;
	}
}

static bool convert(const struct ctx *c, const struct def *d, struct json_object *v, bool found,
		    struct value *out)
{
	switch (d->conv) {
	case PRESENT:
		if (!found)
			return false;
		out->is_int = true, out->i = v != NULL;
		return true;
	case ONE:
		if (!v)
			return false;
		out->is_int = true, out->i = 1;
		return true;
	case LEN:
		if (v && json_object_is_type(v, json_type_array))
			out->is_int = true, out->i = (int64_t)json_object_array_length(v);
		else if (v && json_object_is_type(v, json_type_object))
			out->is_int = true, out->i = json_object_object_length(v);
		else
			return false;
		return true;
	case BOOL:
	case NOT:
		if (!number_of(v, out))
			return false;
		{
			bool t = out->is_int ? out->i != 0 : out->d != 0;
			out->is_int = true;
			out->i = (d->conv == NOT) != t;
		}
		return true;
	case NUM:
		return number_of(v, out);
	case USEC:
		if (!number_of(v, out))
			return false;
		out->d = (out->is_int ? (double)out->i : out->d) / 1e6;
		out->is_int = false;
		return true;
	case PAGES:
		if (!number_of(v, out) || !out->is_int || c->page_size <= 0)
			return false;
		if (__builtin_mul_overflow(out->i, c->page_size, &out->i))
			return false;
		return true;
	}
	return false;
}

/* A label's value as text into tmp; NULL when there is none (""). */
static const char *label_text(const struct ctx *c, const char *from, char *tmp, size_t size)
{
	if (from[0] == '=')
		return from + 1;
	int level = from[0] - '0';
	if (level < 0 || level > c->depth || from[1] != ':')
		return NULL;
	const char *path = from + 2;
	if (strcmp(path, "$key") == 0)
		return c->key[level];
	struct json_object *v = lookup(c->el[level], path);
	switch (v ? json_object_get_type(v) : json_type_null) {
	case json_type_string:
		return json_object_get_string(v);
	case json_type_int:
		snprintf(tmp, size, "%" PRId64, json_object_get_int64(v));
		return tmp;
	case json_type_double:
		snprintf(tmp, size, "%.15g", json_object_get_double(v));
		return tmp;
	case json_type_boolean:
		return json_object_get_boolean(v) ? "true" : "false";
	default:
		return NULL;
	}
}

struct family {
	const char *name, *help;
	enum tier_metric_type type;
	bool header_done;
};

static void header(struct buf *b, struct family *f)
{
	static const char *const types[] = { "gauge", "counter", "summary" };
	if (f->header_done)
		return;
	f->header_done = true;
	puts_(b, "# HELP ");
	puts_(b, f->name);
	puts_(b, " ");
	put_escaped(b, f->help ? f->help : "", false);
	puts_(b, "\n# TYPE ");
	puts_(b, f->name);
	puts_(b, " ");
	puts_(b, types[f->type]);
	puts_(b, "\n");
}

static void sample(struct buf *b, struct family *f, const struct def *d, const struct ctx *c, const struct value *v,
		   const char *label0_override)
{
	header(b, f);
	puts_(b, d->family);
	if (d->suffix)
		puts_(b, d->suffix);
	bool any = false;
	for (int i = 0; i < MAX_LABELS && d->labels[i].name; i++) {
		char tmp[64];
		const char *t = i == 0 && label0_override ? label0_override
							  : label_text(c, d->labels[i].from, tmp, sizeof(tmp));
		puts_(b, any ? "," : "{");
		any = true;
		puts_(b, d->labels[i].name);
		puts_(b, "=\"");
		put_escaped(b, t ? t : "", true);
		puts_(b, "\"");
	}
	if (any)
		puts_(b, "}");
	if (v->is_int)
		putf(b, " %" PRId64 "\n", v->i);
	else
		putf(b, " %.15g\n", v->d);
}

/* Fill values already seen (a small set: the demotion reasons). */
#define MAX_FILL 16

static void emit_one(struct buf *b, struct family *f, const struct def *d, struct ctx *c, bool *seen)
{
	bool found;
	struct json_object *v = lookup_found(c->el[c->depth], d->value, &found);
	struct value val;
	if (!convert(c, d, v, found, &val))
		return;
	if (d->fill) {
		char tmp[64];
		const char *l0 = label_text(c, d->labels[0].from, tmp, sizeof(tmp));
		for (unsigned i = 0; l0 && i < MAX_FILL && d->fill(i); i++)
			if (strcmp(d->fill(i), l0) == 0)
				seen[i] = true;
	}
	sample(b, f, d, c, &val, NULL);
}

/* Iterate the container at level depth+1 (an array or an object). */
static void iterate(struct buf *b, struct family *f, const struct def *d, struct ctx *c, struct json_object *box,
		    bool *seen)
{
	int lv = c->depth + 1;
	const char *inner = lv == 1 ? d->each2 : NULL;
	if (!box)
		return;
	if (json_object_is_type(box, json_type_array)) {
		size_t n = json_object_array_length(box);
		for (size_t i = 0; i < n; i++) {
			c->el[lv] = json_object_array_get_idx(box, i);
			c->key[lv] = NULL;
			c->depth = lv;
			if (inner)
				iterate(b, f, d, c, lookup(c->el[lv], inner), seen);
			else
				emit_one(b, f, d, c, seen);
			c->depth = lv - 1;
		}
	} else if (json_object_is_type(box, json_type_object)) {
		json_object_object_foreach(box, k, val) {
			c->el[lv] = val;
			c->key[lv] = k;
			c->depth = lv;
			if (inner)
				iterate(b, f, d, c, lookup(val, inner), seen);
			else
				emit_one(b, f, d, c, seen);
			c->depth = lv - 1;
		}
	}
}

static void render_def(struct buf *b, struct family *f, const struct def *d, struct ctx *c)
{
	bool seen[MAX_FILL] = { false };
	c->depth = 0;
	if (!d->each) {
		emit_one(b, f, d, c, seen);
		return;
	}
	/* The fill values appear only if the container itself is there: an
	 * older tierd without it says nothing rather than "0". */
	struct json_object *box = lookup(c->root, d->each);
	iterate(b, f, d, c, box, seen);
	if (!d->fill || !box)
		return;
	for (unsigned i = 0; i < MAX_FILL && d->fill(i); i++) {
		if (seen[i])
			continue;
		struct value zero = { .is_int = true, .i = 0 };
		sample(b, f, d, c, &zero, d->fill(i));
	}
}

char *tier_metrics_render(struct json_object *status, size_t *len)
{
	struct buf b = { 0 };
	struct ctx c = { .root = status };
	struct family f = { 0 };
	struct value ps;

	if (status && !json_object_is_type(status, json_type_object))
		status = c.root = NULL;
	c.el[0] = status;
	if (number_of(lookup(status, "page_size"), &ps) && ps.is_int)
		c.page_size = ps.i;
	puts_(&b, "");   /* an empty string, not NULL, for an empty status */
	for (size_t i = 0; status && i < NDEFS; i++) {
		const struct def *d = &defs[i];
		if (!f.name || strcmp(f.name, d->family) != 0) {
			f = (struct family){ .name = d->family, .help = d->help, .type = d->type };
		}
		render_def(&b, &f, d, &c);
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	if (len)
		*len = b.len;
	return b.p;
}
