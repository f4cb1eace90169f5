/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * /etc/tierd.conf: a strict INI file (inih).  Every key, its type, default and
 * range is defined in lib/config.c and documented in conf/tierd.conf and
 * tierd.conf(5).
 *
 * Contract: tier_config_load() parses the main file and then every drop-in
 * (the *.conf files of DIR, lexical order) into a fresh struct, validates
 * across fields and only then hands it out.  Unknown sections and keys, duplicate keys (within
 * one file; a drop-in may override a key of the main file), bad values, values
 * out of range and overlong lines are errors, each reported as
 * "file:line: message".  A failed load leaves the caller's running config
 * untouched.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <numa.h>

/* A watermark expression: "min", "low", "high", optionally "+SIZE" or "+N%"
 * ("high+64M", "low+2%": percent of the node's managed memory). */
enum tier_wm_base { TIER_WM_MIN, TIER_WM_LOW, TIER_WM_HIGH };
struct tier_wm_expr {
	enum tier_wm_base base;
	uint64_t plus_bytes;      /* absolute margin, 0 if none */
	unsigned plus_permille;   /* margin as permille of managed memory, 0 if none */
};

enum tier_guard_mode { TIER_GUARD_AUTO, TIER_GUARD_ON, TIER_GUARD_OFF };
enum tier_fence_backend { TIER_FENCE_AUTO, TIER_FENCE_CGROUPFS, TIER_FENCE_SYSTEMD };
enum tier_fence_demotion { TIER_FENCE_DEMOTION_DISABLE, TIER_FENCE_DEMOTION_EVICT, TIER_FENCE_DEMOTION_ALLOW };
/* Relief target kinds, tried in the configured order. */
enum tier_relief_target { TIER_RELIEF_SIBLING, TIER_RELIEF_SLOWER, TIER_RELIEF_FASTER };
/* [relief] order: access (tier/relief.h "page order") or address (VMA order, no soft-dirty marking). */
enum tier_relief_order { TIER_RELIEF_ORDER_ACCESS, TIER_RELIEF_ORDER_ADDRESS };
#define TIER_RELIEF_NR_TARGETS 3

struct tier_grant {
	char *name;               /* the NAME of [grant NAME] */
	char *cgroup;             /* a cgroup path or fnmatch(3) glob, starts with '/' */
	struct bitmask *nodes;    /* private nodes it may use */
	char *where;              /* "file:line" of the section, for messages */
};

struct tier_config {
	/* [daemon] */
	uint64_t interval_usec;       /* base tick interval */
	uint64_t min_interval_usec;   /* adaptive polling floor */
	uint64_t max_interval_usec;   /* adaptive polling ceiling */
	bool dry_run;
	int log_level;                /* syslog priority, LOG_EMERG (0)..LOG_DEBUG (7) */
	char *socket_group;           /* group allowed to read status; NULL: root only */
	unsigned actions_kept;        /* last N actions kept for status */
	char *metrics_textfile;       /* Prometheus textfile to write; NULL: off */
	uint64_t metrics_interval_usec;   /* at most one write per interval */
	unsigned max_clients;         /* control-socket connections at once (tier/ctl_admit.h) */

	/* [guard] */
	enum tier_guard_mode guard_mode;
	struct tier_wm_expr guard_trip_at;
	struct tier_wm_expr guard_release_at;
	uint64_t guard_min_hold_usec;
	bool guard_predict;

	/* [relief] */
	bool relief_enabled;
	struct tier_wm_expr relief_start_at;
	struct tier_wm_expr relief_stop_at;
	uint64_t relief_rate_bytes_per_sec;
	uint64_t relief_tick_budget_bytes;
	unsigned relief_batch_pages;
	enum tier_relief_target relief_targets[TIER_RELIEF_NR_TARGETS];
	unsigned relief_nr_targets;
	uint64_t relief_cooldown_usec;
	bool relief_move_all;
	enum tier_relief_order relief_order;
	char **relief_exclude;        /* NULL-terminated cgroup globs; never NULL (empty: {NULL}) */

	/* [fence] */
	struct bitmask *fence_private_nodes;   /* never NULL; empty when unset */
	int fence_private_slower_than;    /* tier id; nodes in slower tiers are private; -1 off */
	enum tier_fence_backend fence_backend;
	enum tier_fence_demotion fence_demotion;
	bool fence_evict;
	uint64_t fence_full_pass_usec;

	struct tier_grant *grants;
	unsigned nr_grants;
};

/* One error: "file:line: message".  Errors are collected, not printed.
 * Start from a zeroed struct; tier_config_load() appends (at most
 * TIER_CONFIG_MAX_ERRORS, then one "too many errors" line). */
#define TIER_CONFIG_MAX_ERRORS 200
struct tier_config_errors {
	char **msgs;
	unsigned nr;
};
void tier_config_errors_clear(struct tier_config_errors *e);

/* Defaults only (what an empty file gives). */
struct tier_config *tier_config_new_default(void);

/*
 * Load path (may be absent only if allow_missing) plus the *.conf files of
 * dropin_dir (dropin_dir may be NULL or absent).  Returns a new config, or NULL with
 * errors in *errs (at least one; errs may be NULL to discard them).
 * path may be NULL: defaults plus drop-ins.
 *
 * Drop-ins are the regular files named *.conf (not starting with '.') in
 * dropin_dir, read in byte-wise lexical order (strcmp, not the locale) after
 * the main file.  A key set in a later file replaces the earlier value
 * (lists such as [relief] exclude are replaced, not appended); [grant NAME]
 * in a later file adds keys to, or overrides keys of, the grant of that name.
 * Within one file a key may appear once, and a [grant NAME] header once.
 * Cross-field checks run once, on the merged result.
 *
 * Lines: longer than TIER_CONFIG_MAX_LINE characters (without the line end)
 * is an error (Debian's inih splits longer lines silently); a BOM is allowed
 * on line 1; comments are lines starting with '#' or ';', and inline
 * comments start at a '#' or ';' preceded by whitespace; "key: value" and
 * indented continuation lines (inih's multi-line values) are not accepted.
 */
#define TIER_CONFIG_MAX_LINE 197
struct tier_config *tier_config_load(const char *path, const char *dropin_dir,
				     bool allow_missing, struct tier_config_errors *errs);

void tier_config_free(struct tier_config *c);

/* Typed value parsers, exposed for tests and for tierctl.  Each returns 0 or
 * -EINVAL/-ERANGE and, on error, a short message in msg (no file:line; msg
 * may be NULL).  Nothing is stored on error.  Syntax (tierd.conf(5)):
 *  bool      yes/no/true/false/on/off/1/0, case-insensitive
 *  uint      decimal digits only, lo..hi inclusive
 *  size      bytes, optional K/M/G/T (KiB.., k/m/g/t, B), binary units,
 *            fractions only if they give whole bytes ("1.5G")
 *  duration  number + us/ms/s/min/h (unit required except for "0"; "m" is
 *            rejected as ambiguous), fractions only if they give whole
 *            microseconds ("1.5s" yes, "1.5us" no)
 *  nodelist  kernel list syntax "0-3,8", syntax only: nodes absent on this
 *            host are accepted (not numa_parse_nodestring_all(), see
 *            lib/config_types.c for why); out is replaced
 *  wm_expr   min|low|high, optionally +SIZE or +N% (N 0..100, one decimal)
 *  log_level emerg..debug (also error, warn) or 0..7 */
int tier_parse_bool(const char *s, bool *out, char *msg, size_t msglen);
int tier_parse_uint(const char *s, uint64_t lo, uint64_t hi, uint64_t *out, char *msg, size_t msglen);
int tier_parse_size(const char *s, uint64_t *out_bytes, char *msg, size_t msglen);
int tier_parse_duration(const char *s, uint64_t *out_usec, char *msg, size_t msglen);
int tier_parse_nodelist(const char *s, struct bitmask *out, char *msg, size_t msglen);
int tier_parse_wm_expr(const char *s, struct tier_wm_expr *out, char *msg, size_t msglen);
int tier_parse_log_level(const char *s, int *out, char *msg, size_t msglen);
/* A cgroup path: starts with '/', no empty, "." or ".." components, no
 * whitespace or control characters; with glob, fnmatch(3) characters are
 * allowed (checked only syntactically). */
int tier_parse_cgroup_path(const char *s, bool glob, char *msg, size_t msglen);
/* A node_exporter textfile: an absolute path (on the real file system, not
 * under tierd --root) to a file whose name ends in ".prom" (the textfile
 * collector reads only those) and does not start with '.' (tierd's temp
 * file is ".NAME.tmp" beside it); no "." or ".." components, no control
 * characters. */
int tier_parse_textfile_path(const char *s, char *msg, size_t msglen);

/* "emerg".."debug", "?" when out of range. */
const char *tier_log_level_name(int level);
/* Exact values with the largest unit that divides them: "64M", "1536K",
 * "0"; "1500ms", "5s", "2min", "0".  Return the length needed (snprintf). */
size_t tier_size_format(uint64_t bytes, char *buf, size_t size);
size_t tier_duration_format(uint64_t usec, char *buf, size_t size);

/* Resolve a watermark expression for a node: sums of its zones' watermark
 * plus the margin, in pages.  Pure. */
struct tier_node;
uint64_t tier_wm_expr_pages(const struct tier_wm_expr *e, const struct tier_node *n, uint64_t page_size);
/* "high+64M" etc. into buf. */
size_t tier_wm_expr_format(const struct tier_wm_expr *e, char *buf, size_t size);
