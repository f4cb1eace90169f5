/* SPDX-License-Identifier: MIT */
#include "tierctl-render.h"

#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static bool is_null(struct json_object *v)
{
	return v == NULL || json_object_is_type(v, json_type_null);
}

/* The daemon's reply is input: any member may have any type.  json-c's
 * array functions assert() the type (and abort tierctl) and the object
 * iterator dereferences NULL on a non-object, so arrays and objects are
 * only ever reached through these.  A member of the wrong type reads as
 * empty. */
static size_t arr_len(struct json_object *a)
{
	return a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

/* json_object_get_string(NULL) is NULL, which printf's %s must not get. */
static const char *get_or(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

static struct json_object *arr_get(struct json_object *a, size_t i)
{
	return i < arr_len(a) ? json_object_array_get_idx(a, i) : NULL;
}

static long long get_ll(struct json_object *o, const char *key, long long dflt)
{
	struct json_object *v = get(o, key);
	return is_null(v) ? dflt : (long long)json_object_get_int64(v);
}

/* A string, or a scalar's text; an object or array where a string belongs
 * (a broken or hostile daemon) is dflt, never its whole serialization. */
static const char *get_str(struct json_object *o, const char *key, const char *dflt)
{
	struct json_object *v = get(o, key);
	if (is_null(v) || json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
		return dflt;
	return json_object_get_string(v);
}

/* Arrays and objects only of their type: json-c's array calls assert on
 * anything else, and object iteration dereferences NULL. */
static struct json_object *get_arr(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);
	return v && json_object_is_type(v, json_type_array) ? v : NULL;
}

const char *tierctl_fmt_bytes(char *buf, size_t size, long long bytes)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	bool neg = bytes < 0;
	double v = neg ? -(double)bytes : (double)bytes;
	unsigned u = 0;
	while (v >= 1024.0 && u < 5) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%s%.0f %s", neg ? "-" : "", v, unit[u]);
	else
		snprintf(buf, size, "%s%.1f %s", neg ? "-" : "", v, unit[u]);
	return buf;
}

/* [1,2,5] -> "1-2,5" */
static void fmt_idlist(struct json_object *arr, char *buf, size_t size)
{
	size_t n = arr_len(arr);
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && off < size; i++) {
		long long a = json_object_get_int64(arr_get(arr, i)), b = a;
		while (i + 1 < n && b < LLONG_MAX && json_object_get_int64(arr_get(arr, i + 1)) == b + 1) {
			b++;
			i++;
		}
		int w = a == b ? snprintf(buf + off, size - off, "%s%lld", off ? "," : "", a)
			       : snprintf(buf + off, size - off, "%s%lld-%lld", off ? "," : "", a, b);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

static const char *balancing_name(long long mode)
{
	switch (mode) {
	case 0: return "disabled";
	case 1: return "normal (NUMA locality)";
	case 2: return "memory tiering (promotion)";
	case 3: return "normal + memory tiering";
	default: return "unknown";
	}
}

/* pages * page_size as text; "?" when the product does not fit in 64 bits
 * (a hostile or broken daemon can send any numbers: a wrapped product would
 * show a wrong size, and a signed overflow is undefined behaviour). */
static void fmt_pages(char *buf, size_t size, long long pages, long long page_size)
{
	long long bytes;
	if (__builtin_mul_overflow(pages, page_size, &bytes))
		snprintf(buf, size, "?");
	else
		tierctl_fmt_bytes(buf, size, bytes);
}

static void render_node_row(FILE *f, struct json_object *node, long long page_size)
{
	char total[32], free_[32], mn[32], lo[32], hi[32], head[32], tgt[64], fb[64];
	long long fp = get_ll(node, "free_pages", -1);
	bool zones_known = fp >= 0 && get_ll(node, "managed_pages", 0) > 0;

	fmt_idlist(get(node, "demotion_targets"), tgt, sizeof(tgt));
	fmt_idlist(get(node, "demotion_fallback"), fb, sizeof(fb));
	/* FREE comes from the zones when known, so it compares with the
	 * watermarks beside it (nodeN/meminfo is read at another instant). */
	long long tb = get_ll(node, "mem_total_bytes", -1);
	long long fbytes = get_ll(node, "mem_free_bytes", -1);
	if (tb >= 0)
		tierctl_fmt_bytes(total, sizeof(total), tb);
	else
		snprintf(total, sizeof(total), "?");
	if (zones_known)
		fmt_pages(free_, sizeof(free_), fp, page_size);
	else if (fbytes >= 0)
		tierctl_fmt_bytes(free_, sizeof(free_), fbytes);
	else
		snprintf(free_, sizeof(free_), "?");
	if (zones_known) {
		fmt_pages(mn, sizeof(mn), get_ll(node, "min_pages", 0), page_size);
		fmt_pages(lo, sizeof(lo), get_ll(node, "low_pages", 0), page_size);
		fmt_pages(hi, sizeof(hi), get_ll(node, "high_pages", 0), page_size);
		fmt_pages(head, sizeof(head), get_ll(node, "headroom_pages", 0), page_size);
	} else {
		snprintf(mn, sizeof(mn), "-");
		snprintf(lo, sizeof(lo), "-");
		snprintf(hi, sizeof(hi), "-");
		snprintf(head, sizeof(head), "-");
	}
	const char *cpus = get_str(node, "cpus", "");
	char demotes[140];
	if (tgt[0] && fb[0] && strcmp(tgt, fb) != 0)
		snprintf(demotes, sizeof(demotes), "%s (fallback %s)", tgt, fb);
	else
		snprintf(demotes, sizeof(demotes), "%s", tgt[0] ? tgt : "-");
	fprintf(f, "  %-5lld %-9s %10s %10s %10s %10s %10s %11s  %s\n", get_ll(node, "id", -1),
		cpus[0] ? cpus : "-", total, free_, mn, lo, hi, head, demotes);
}

static void render_header(FILE *f)
{
	fprintf(f, "  %-5s %-9s %10s %10s %10s %10s %10s %11s  %s\n", "NODE", "CPUS", "TOTAL", "FREE", "MIN",
		"LOW", "HIGH", "HEADROOM", "DEMOTES TO");
}

void tierctl_render_topology(FILE *f, struct json_object *topo)
{
	struct json_object *tiers = get_arr(topo, "tiers"), *nodes = get_arr(topo, "nodes");
	long long page_size = get_ll(topo, "page_size", 4096);
	size_t ntiers = arr_len(tiers);
	size_t nnodes = arr_len(nodes);

	if (ntiers == 0) {
		fprintf(f, "No memory tiers reported by the kernel%s.\n",
			get(topo, "has_tiering") && json_object_get_boolean(get(topo, "has_tiering"))
				? ""
				: " (no /sys/devices/virtual/memory_tiering: kernel older than 6.1 or CONFIG_NUMA off)");
	}
	for (size_t t = 0; t < ntiers; t++) {
		struct json_object *tier = arr_get(tiers, t);
		char list[128];
		fmt_idlist(get(tier, "nodes"), list, sizeof(list));
		fprintf(f, "%sTier %lld%s: nodes %s\n", t ? "\n" : "", get_ll(tier, "id", -1),
			ntiers == 1 ? " (only tier)" : t == 0 ? " (fastest)" : t + 1 == ntiers ? " (slowest)" : "",
			list);
		render_header(f);
		for (size_t i = 0; i < nnodes; i++) {
			struct json_object *node = arr_get(nodes, i);
			if (get_ll(node, "tier", -1) == get_ll(tier, "id", -2))
				render_node_row(f, node, page_size);
		}
	}
	/* Nodes outside any tier: memoryless CPU nodes, or no tiering at all. */
	bool header = false;
	for (size_t i = 0; i < nnodes; i++) {
		struct json_object *node = arr_get(nodes, i);
		if (!is_null(get(node, "tier")))
			continue;
		if (!header) {
			fprintf(f, "%sNodes outside any memory tier:\n", ntiers ? "\n" : "");
			render_header(f);
			header = true;
		}
		render_node_row(f, node, page_size);
	}

	struct json_object *de = get(topo, "demotion_enabled");
	long long nb = get_ll(topo, "numa_balancing", -1);
	fprintf(f, "\ndemotion_enabled: %s\n",
		is_null(de) ? "unknown (no /sys/kernel/mm/numa/demotion_enabled)"
			    : json_object_get_boolean(de) ? "true" : "false");
	if (nb >= 0)
		fprintf(f, "numa_balancing:   %lld, %s\n", nb, balancing_name(nb));
	else
		fprintf(f, "numa_balancing:   unknown\n");
}

static void fmt_duration(char *buf, size_t size, long long usec)
{
	long long s = usec / 1000000;
	if (usec < 0)
		snprintf(buf, size, "?");
	else if (s < 1)
		snprintf(buf, size, "%lldms", usec / 1000);
	else if (s < 120)
		snprintf(buf, size, "%llds", s);
	else if (s < 7200)
		snprintf(buf, size, "%lldm%02llds", s / 60, s % 60);
	else
		snprintf(buf, size, "%lldh%02lldm", s / 3600, (s / 60) % 60);
}

static bool get_bool(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);
	return !is_null(v) && json_object_get_boolean(v);
}

/* Every reason that holds demotion off, one line each. */
static void render_demotion(FILE *f, struct json_object *dm)
{
	struct json_object *rs = get(dm, "reasons");
	size_t n = rs && json_object_is_type(rs, json_type_array) ? json_object_array_length(rs) : 0;
	if (is_null(dm))
		return;
	if (n == 0) {
		fprintf(f, "demotion held off by: nothing\n");
		return;
	}
	fprintf(f, "demotion held off by:\n");
	for (size_t i = 0; i < n; i++) {
		struct json_object *r = json_object_array_get_idx(rs, i);
		char age[32] = "";
		if (!is_null(get(r, "age_usec")))
			fmt_duration(age, sizeof(age), get_ll(r, "age_usec", -1));
		fprintf(f, "  %-6s %s%s%s%s\n", get_str(r, "reason", "?"), get_bool(r, "overridden") ? "(overridden by the admin) " : "",
			get_str(r, "why", ""), age[0] ? ", for " : "", age);
	}
}

static void render_guard(FILE *f, struct json_object *g)
{
	char ival[32], ago[32];
	if (is_null(g))
		return;
	fprintf(f, "\nGuard (mode %s, trip at %s, release at %s): %s\n", get_str(g, "mode", "?"),
		get_str(g, "trip_at", "?"), get_str(g, "release_at", "?"), get_str(g, "state", "?"));
	if (get_str(g, "why", NULL))
		fprintf(f, "  %s\n", get_str(g, "why", ""));
	fmt_duration(ival, sizeof(ival), get_ll(g, "next_interval_usec", -1));
	fprintf(f, "  trips %lld, releases %lld, admin overrides %lld; next look in %s; kernel %s%s\n",
		get_ll(g, "trips", 0), get_ll(g, "releases", 0), get_ll(g, "admin_overrides", 0), ival,
		get_str(g, "kernel_release", "?"), get_bool(g, "kernel_has_fix") ? " (has the upstream fix)" : "");
	if (get_str(g, "thread", NULL))
		fprintf(f, "  guard thread %s: %lld looks, cost %.2f ms avg / %.2f ms max%s\n", get_str(g, "thread", "?"),
			get_ll(g, "looks", 0), (double)get_ll(g, "look_cost_usec_avg", 0) / 1000.0,
			(double)get_ll(g, "look_cost_usec_max", 0) / 1000.0,
			get_ll(g, "main_loop_lag_usec", 0) > 10000000 ? "; the main loop is stalled" : "");
	if (get_str(g, "last_change", NULL)) {
		fmt_duration(ago, sizeof(ago), get_ll(g, "last_change_age_usec", -1));
		fprintf(f, "  last change %s ago: %s\n", ago, get_str(g, "last_change", ""));
	}
}

static void render_fence(FILE *f, struct json_object *fe)
{
	char b[32];
	if (is_null(fe))
		return;
	const char *state = get_str(fe, "state", "?");
	if (strcmp(state, "off") == 0) {
		fprintf(f, "\nFencing: off (%s)\n", get_str(fe, "problem", "no private nodes configured"));
		return;
	}
	fprintf(f, "\nFencing (backend %s, private nodes %s): %s\n", get_str(fe, "backend", "?"),
		get_str(fe, "private_nodes", "-"), state);
	if (get_str(fe, "problem", NULL) && get_str(fe, "problem", "")[0])
		fprintf(f, "  problem: %s\n", get_str(fe, "problem", ""));
	fprintf(f, "  cgroups %lld: %lld fenced, %lld unfenced; writes %lld (%lld failed); full pass %.1f ms\n",
		get_ll(fe, "cgroups", 0), get_ll(fe, "fenced", 0), get_ll(fe, "unfenced", 0), get_ll(fe, "writes", 0),
		get_ll(fe, "write_failures", 0), (double)get_ll(fe, "full_pass_usec_last", 0) / 1000.0);
	fprintf(f, "  tasks in the root cgroup (cannot be fenced): %lld; intruders on private nodes: %s",
		get_ll(fe, "root_tasks", 0), tierctl_fmt_bytes(b, sizeof(b), get_ll(fe, "intruder_bytes", 0)));
	fprintf(f, " (%lld evicted)\n", get_ll(fe, "evictions", 0));
	struct json_object *dm = get(fe, "demotion");
	if (!is_null(dm))
		fprintf(f, "  demotion vs fence: %s (answer: %s)\n", get_str(dm, "action", "?"), get_str(dm, "answer", "?"));
	struct json_object *grants = get(fe, "grants");
	for (size_t i = 0; i < arr_len(grants); i++)
		fprintf(f, "  grant %s\n", json_object_to_json_string_ext(arr_get(grants, i),
									  JSON_C_TO_STRING_PLAIN));
}

static void render_relief(FILE *f, struct json_object *r)
{
	char rate[32], budget[32], tot[32], min[32], ach[32];
	if (is_null(r))
		return;
	if (!get_bool(r, "enabled")) {
		fprintf(f, "\nRelief: disabled\n");
		return;
	}
	tierctl_fmt_bytes(rate, sizeof(rate), get_ll(r, "rate_bytes_per_sec", 0));
	tierctl_fmt_bytes(budget, sizeof(budget), get_ll(r, "tick_budget_bytes", 0));
	fprintf(f, "\nRelief (start at %s, stop at %s, targets %s, %s/s, %s per tick): %s\n",
		get_str(r, "start_at", "?"), get_str(r, "stop_at", "?"), get_str(r, "targets", "?"), rate, budget,
		get_str(r, "state", "?"));
	tierctl_fmt_bytes(tot, sizeof(tot), get_ll(r, "moved_bytes_total", 0));
	tierctl_fmt_bytes(min, sizeof(min), get_ll(r, "moved_bytes_last_minute", 0));
	tierctl_fmt_bytes(ach, sizeof(ach), get_ll(r, "achieved_bytes_per_sec_last_minute", 0));
	struct json_object *cv = get(r, "current_victim");
	char victim[64] = "-";
	if (!is_null(cv))
		snprintf(victim, sizeof(victim), "%lld (%s)", get_ll(cv, "pid", 0), get_str(cv, "comm", "?"));
	fprintf(f, "  moved %s in all, %s in the last minute (%s/s); current victim %s\n", tot, min, ach, victim);
	/* How pages are found and ordered, and what the last run moved. */
	fprintf(f, "  locator %s; order %s\n", get_str(r, "locator", "?"), get_str(r, "page_order", "?"));
	struct json_object *lr = get(r, "last_run");
	if (!is_null(lr)) {
		struct json_object *mix = get(lr, "moved_pages_by_heat");
		char mv[32], hot[32], warm[32], cold[32], ml[32], ue[32];
		long long ps = get_ll(lr, "moved_pages", 0) ? get_ll(lr, "moved_bytes", 0) / get_ll(lr, "moved_pages", 1) : 4096;
		tierctl_fmt_bytes(mv, sizeof(mv), get_ll(lr, "moved_bytes", 0));
		tierctl_fmt_bytes(hot, sizeof(hot), get_ll(mix, "hot", 0) * ps);
		tierctl_fmt_bytes(warm, sizeof(warm), get_ll(mix, "warm", 0) * ps);
		tierctl_fmt_bytes(cold, sizeof(cold), get_ll(mix, "cold", 0) * ps);
		tierctl_fmt_bytes(ml, sizeof(ml), get_ll(lr, "skipped_mlocked_pages", 0) * ps);
		tierctl_fmt_bytes(ue, sizeof(ue), get_ll(lr, "skipped_unevictable_pages", 0) * ps);
		fprintf(f, "  last run: moved %s (hot %s, warm %s, cold %s; %lld huge units), skipped %s mlocked, %s unevictable;"
			   " %lld move + %lld query calls\n",
			mv, hot, warm, cold, get_ll(lr, "moved_huge_units", 0), ml, ue, get_ll(lr, "move_calls", 0),
			get_ll(lr, "query_calls", 0));
	}
	struct json_object *fails = get(r, "failures");
	bool any = false;
	if (fails && json_object_is_type(fails, json_type_object)) {
		json_object_object_foreach(fails, key, val)
		{
			if (json_object_get_int64(val) == 0)
				continue;
			fprintf(f, "%s%s %lld", any ? ", " : "  failures: ", key, (long long)json_object_get_int64(val));
			any = true;
		}
	}
	if (any)
		fprintf(f, "\n");
}

static void render_topology_changes(FILE *f, struct json_object *t)
{
	char ago[32];
	if (is_null(t))
		return;
	fprintf(f, "\nTopology: generation %lld, following changes by %s", get_ll(t, "generation", 0),
		get_str(t, "mode", "?"));
	if (get_str(t, "last_change", NULL) && get_str(t, "last_change", "")[0]) {
		fmt_duration(ago, sizeof(ago), get_ll(t, "last_change_age_usec", -1));
		fprintf(f, "; last change %s ago: %s", ago, get_str(t, "last_change", ""));
	}
	fprintf(f, "\n");
}

void tierctl_render_status(FILE *f, struct json_object *st)
{
	struct json_object *d = get(st, "daemon");
	char up[32], cost[32], maxcost[32];
	fmt_duration(up, sizeof(up), get_ll(d, "uptime_usec", -1));
	const char *state = get(d, "paused") && json_object_get_boolean(get(d, "paused")) ? "paused" : "running";
	bool dry = get(d, "dry_run") && json_object_get_boolean(get(d, "dry_run"));

	fprintf(f, "tierd %s, pid %lld, %s%s, up %s\n", get_str(d, "version", "?"), get_ll(d, "pid", -1), state,
		dry ? " (dry-run: acting on nothing)" : "", up);
	fprintf(f, "config:  %s, generation %lld", get_str(d, "config_path", "?"), get_ll(d, "config_generation", 0));
	const char *rl = get_str(d, "last_reload", NULL);
	if (rl)
		fprintf(f, ", last reload: %s", rl);
	fprintf(f, "\n");
	snprintf(cost, sizeof(cost), "%.2f ms", (double)get_ll(d, "tick_cost_usec_avg", 0) / 1000.0);
	snprintf(maxcost, sizeof(maxcost), "%.2f ms", (double)get_ll(d, "tick_cost_usec_max", 0) / 1000.0);
	char ival[32];
	fmt_duration(ival, sizeof(ival), get_ll(d, "interval_usec", -1));
	fprintf(f, "ticks:   %lld, interval %s, cost %s avg / %s max\n", get_ll(d, "ticks", 0), ival, cost, maxcost);
	struct json_object *warn = get(st, "warnings");
	for (size_t i = 0; i < arr_len(warn); i++)
		fprintf(f, "warning: %s\n", get_or(json_object_get_string(arr_get(warn, i)), "null"));

	struct json_object *de_orig = get(st, "demotion_enabled_original");
	fprintf(f, "\n");
	tierctl_render_topology(f, st);
	if (!is_null(de_orig))
		fprintf(f, "demotion_enabled before tierd: %s\n", json_object_get_boolean(de_orig) ? "true" : "false");
	render_demotion(f, get(st, "demotion"));

	render_guard(f, get(st, "guard"));
	render_fence(f, get(st, "fence"));
	render_relief(f, get(st, "relief"));
	render_topology_changes(f, get(st, "topology"));

	struct json_object *acts = get(st, "actions");
	size_t na = arr_len(acts);
	fprintf(f, "\nLast actions%s:\n", na ? " (newest first)" : "");
	if (na == 0)
		fprintf(f, "  none\n");
	for (size_t i = na; i-- > 0;) {
		struct json_object *a = arr_get(acts, i);
		char ago[32];
		fmt_duration(ago, sizeof(ago), get_ll(a, "age_usec", -1));
		const char *res = get_str(a, "result", "ok");
		fprintf(f, "  %8s ago  %-8s %s%s%s\n", ago, get_str(a, "kind", "?"), get_str(a, "reason", ""),
			strcmp(res, "ok") ? " -> " : "", strcmp(res, "ok") ? res : "");
	}
}
