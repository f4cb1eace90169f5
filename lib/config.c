/* SPDX-License-Identifier: MIT */
/*
 * /etc/tierd.conf: sections, keys, defaults, validation, load + drop-ins.
 *
 * The key table below is the single source of truth: tier_config_new_default()
 * applies each key's default string through the same parser a config file
 * goes through, so a default can never be something a user could not write,
 * and tests/unit/test_config.c checks that conf/tierd.conf (every key written
 * out with its default) parses to exactly tier_config_new_default().
 *
 * Parsing uses inih's ini_parse_stream() with our own reader.  The reader sees
 * every physical line first, and:
 *  - counts lines (inih's handler gets no line number in Debian's build,
 *    INI_HANDLER_LINENO is 0);
 *  - rejects overlong lines: Debian's libinih is built with INI_MAX_LINE 200
 *    and fgets-style readers would hand inih the rest of an overlong line as
 *    a new line, silently (e.g. a long exclude list turning into a bogus
 *    key);
 *  - validates the line shape itself and hands inih a normalized line.  inih
 *    stops reporting after the first malformed line per call (it returns one
 *    line number) and never calls the handler for section headers, and it
 *    accepts things a strict config should not: "[daemon] junk" (text after
 *    ']' ignored), "key: value", and indented lines after a key, which it
 *    appends to the previous key as a multi-line value (so an indented
 *    "dry_run = yes" after "interval = 1s" would become a second value of
 *    interval).  Normalized lines have no leading whitespace, so multi-line
 *    values never trigger; malformed lines reach inih as blank lines after an
 *    error is recorded, so every error is collected with its own line.
 * The handler then only sees "key=value" lines with names and values already
 * trimmed, inside a section the reader has already validated.
 */
#define _GNU_SOURCE  /* vasprintf */
#include "tier/config.h"
#include "tier/nodemask.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MSEC 1000ull
#define SEC (1000ull * MSEC)
#define MIN (60ull * SEC)
#define HOUR (60ull * MIN)
#define MiB (1ull << 20)
#define GiB (1ull << 30)

/* A config file is a few KiB; anything this big is a mistake (a binary, a
 * log file) and is not read into memory. */
#define MAX_FILE_BYTES (1u << 20)

enum sec { SEC_NONE, SEC_DAEMON, SEC_GUARD, SEC_RELIEF, SEC_FENCE, SEC_GRANT, SEC_BAD };

static const char *const sec_names[] = {
	[SEC_NONE] = "", [SEC_DAEMON] = "daemon", [SEC_GUARD] = "guard",
	[SEC_RELIEF] = "relief", [SEC_FENCE] = "fence", [SEC_GRANT] = "grant", [SEC_BAD] = "?",
};

enum ktype {
	K_BOOL,
	K_UINT,         /* unsigned, lo..hi */
	K_SIZE,         /* uint64_t bytes, lo..hi */
	K_DURATION,     /* uint64_t usec, lo..hi */
	K_WM,           /* struct tier_wm_expr */
	K_LOGLEVEL,     /* int */
	K_GROUP,        /* char *, NULL when empty */
	K_ENUM,         /* an enum, index into choices */
	K_TARGETS,      /* relief_targets + relief_nr_targets */
	K_GLOBS,        /* char ** NULL-terminated */
	K_NODES,        /* struct bitmask *; lo = 1: must not be empty */
	K_TIER_OR_NONE, /* int, -1 for none, else lo..hi */
	K_CGROUP,       /* char *, path or glob */
	K_TEXTFILE,     /* char *, NULL when empty: an absolute path ending in .prom */
};

struct keydef {
	enum sec sec;
	const char *name;
	enum ktype type;
	size_t off;          /* in struct tier_config, or struct tier_grant for SEC_GRANT */
	uint64_t lo, hi;
	const char *const *choices;   /* K_ENUM: NULL-terminated */
	const char *def;     /* the default as written in conf/tierd.conf; NULL: required */
};

enum key_id {
	KEY_INTERVAL, KEY_MIN_INTERVAL, KEY_MAX_INTERVAL, KEY_DRY_RUN, KEY_LOG_LEVEL,
	KEY_SOCKET_GROUP, KEY_ACTIONS_KEPT, KEY_METRICS_TEXTFILE, KEY_METRICS_INTERVAL, KEY_MAX_CLIENTS,
	KEY_GUARD_MODE, KEY_TRIP_AT, KEY_RELEASE_AT, KEY_MIN_HOLD, KEY_PREDICT,
	KEY_RELIEF_ENABLED, KEY_START_AT, KEY_STOP_AT, KEY_RATE, KEY_TICK_BUDGET, KEY_BATCH_PAGES,
	KEY_TARGETS, KEY_COOLDOWN, KEY_MOVE_ALL, KEY_EXCLUDE, KEY_RELIEF_ORDER,
	KEY_PRIVATE_NODES, KEY_PRIVATE_SLOWER_THAN, KEY_BACKEND, KEY_DEMOTION, KEY_EVICT, KEY_FULL_PASS,
	KEY_GRANT_CGROUP, KEY_GRANT_NODES,
	NKEYS
};

static const char *const guard_modes[] = { "auto", "on", "off", NULL };
static const char *const fence_backends[] = { "auto", "cgroupfs", "systemd", NULL };
static const char *const fence_demotions[] = { "disable", "evict", "allow", NULL };
static const char *const target_names[] = { "sibling", "slower", "faster", NULL };
static const char *const relief_orders[] = { "access", "address", NULL };

_Static_assert(sizeof(enum tier_guard_mode) == sizeof(unsigned), "enum size");
_Static_assert(sizeof(enum tier_fence_backend) == sizeof(unsigned), "enum size");
_Static_assert(sizeof(enum tier_fence_demotion) == sizeof(unsigned), "enum size");
_Static_assert(sizeof(enum tier_relief_order) == sizeof(unsigned), "enum size");

#define CO(f) offsetof(struct tier_config, f)
#define GO(f) offsetof(struct tier_grant, f)

static const struct keydef keys[NKEYS] = {
	[KEY_INTERVAL] = { SEC_DAEMON, "interval", K_DURATION, CO(interval_usec), 10 * MSEC, HOUR, NULL, "1s" },
	[KEY_MIN_INTERVAL] = { SEC_DAEMON, "min_interval", K_DURATION, CO(min_interval_usec), MSEC, HOUR, NULL, "10ms" },
	[KEY_MAX_INTERVAL] = { SEC_DAEMON, "max_interval", K_DURATION, CO(max_interval_usec), 10 * MSEC, 24 * HOUR, NULL, "5s" },
	[KEY_DRY_RUN] = { SEC_DAEMON, "dry_run", K_BOOL, CO(dry_run), 0, 0, NULL, "no" },
	[KEY_LOG_LEVEL] = { SEC_DAEMON, "log_level", K_LOGLEVEL, CO(log_level), 0, 7, NULL, "info" },
	[KEY_SOCKET_GROUP] = { SEC_DAEMON, "socket_group", K_GROUP, CO(socket_group), 0, 0, NULL, "" },
	[KEY_ACTIONS_KEPT] = { SEC_DAEMON, "actions_kept", K_UINT, CO(actions_kept), 1, 1024, NULL, "32" },
	[KEY_METRICS_TEXTFILE] = { SEC_DAEMON, "metrics_textfile", K_TEXTFILE, CO(metrics_textfile), 0, 0, NULL, "" },
	[KEY_METRICS_INTERVAL] = { SEC_DAEMON, "metrics_interval", K_DURATION, CO(metrics_interval_usec), SEC, HOUR, NULL, "15s" },
	[KEY_MAX_CLIENTS] = { SEC_DAEMON, "max_clients", K_UINT, CO(max_clients), 4, 1024, NULL, "64" },

	[KEY_GUARD_MODE] = { SEC_GUARD, "mode", K_ENUM, CO(guard_mode), 0, 0, guard_modes, "auto" },
	[KEY_TRIP_AT] = { SEC_GUARD, "trip_at", K_WM, CO(guard_trip_at), 0, 0, NULL, "low" },
	[KEY_RELEASE_AT] = { SEC_GUARD, "release_at", K_WM, CO(guard_release_at), 0, 0, NULL, "high+1%" },
	[KEY_MIN_HOLD] = { SEC_GUARD, "min_hold", K_DURATION, CO(guard_min_hold_usec), 0, HOUR, NULL, "5s" },
	[KEY_PREDICT] = { SEC_GUARD, "predict", K_BOOL, CO(guard_predict), 0, 0, NULL, "yes" },

	[KEY_RELIEF_ENABLED] = { SEC_RELIEF, "enabled", K_BOOL, CO(relief_enabled), 0, 0, NULL, "yes" },
	[KEY_START_AT] = { SEC_RELIEF, "start_at", K_WM, CO(relief_start_at), 0, 0, NULL, "low" },
	[KEY_STOP_AT] = { SEC_RELIEF, "stop_at", K_WM, CO(relief_stop_at), 0, 0, NULL, "high+1%" },
	[KEY_RATE] = { SEC_RELIEF, "rate", K_SIZE, CO(relief_rate_bytes_per_sec), MiB, 100 * GiB, NULL, "256M" },
	[KEY_TICK_BUDGET] = { SEC_RELIEF, "tick_budget", K_SIZE, CO(relief_tick_budget_bytes), MiB, 100 * GiB, NULL, "64M" },
	[KEY_BATCH_PAGES] = { SEC_RELIEF, "batch_pages", K_UINT, CO(relief_batch_pages), 512, 65536, NULL, "4096" },
	[KEY_TARGETS] = { SEC_RELIEF, "targets", K_TARGETS, CO(relief_targets), 0, 0, target_names, "sibling,slower,faster" },
	[KEY_COOLDOWN] = { SEC_RELIEF, "cooldown", K_DURATION, CO(relief_cooldown_usec), 0, 24 * HOUR, NULL, "60s" },
	[KEY_MOVE_ALL] = { SEC_RELIEF, "move_all", K_BOOL, CO(relief_move_all), 0, 0, NULL, "no" },
	[KEY_EXCLUDE] = { SEC_RELIEF, "exclude", K_GLOBS, CO(relief_exclude), 0, 0, NULL, "" },
	[KEY_RELIEF_ORDER] = { SEC_RELIEF, "order", K_ENUM, CO(relief_order), 0, 0, relief_orders, "access" },

	[KEY_PRIVATE_NODES] = { SEC_FENCE, "private_nodes", K_NODES, CO(fence_private_nodes), 0, 0, NULL, "" },
	[KEY_PRIVATE_SLOWER_THAN] = { SEC_FENCE, "private_slower_than", K_TIER_OR_NONE, CO(fence_private_slower_than), 0, 10000, NULL, "none" },
	[KEY_BACKEND] = { SEC_FENCE, "backend", K_ENUM, CO(fence_backend), 0, 0, fence_backends, "auto" },
	[KEY_DEMOTION] = { SEC_FENCE, "demotion", K_ENUM, CO(fence_demotion), 0, 0, fence_demotions, "disable" },
	[KEY_EVICT] = { SEC_FENCE, "evict", K_BOOL, CO(fence_evict), 0, 0, NULL, "no" },
	[KEY_FULL_PASS] = { SEC_FENCE, "full_pass", K_DURATION, CO(fence_full_pass_usec), SEC, 24 * HOUR, NULL, "60s" },

	[KEY_GRANT_CGROUP] = { SEC_GRANT, "cgroup", K_CGROUP, GO(cgroup), 0, 0, NULL, NULL },
	[KEY_GRANT_NODES] = { SEC_GRANT, "nodes", K_NODES, GO(nodes), 1, 0, NULL, NULL },
};

/* ---------------------------------------------------------------- memory */

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();  /* as libnuma does on OOM; see nodemask.h */
	return p;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		abort();
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		abort();
	return p;
}

__attribute__((format(printf, 1, 2)))
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	return s;
}

static void free_strv(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

void tier_config_errors_clear(struct tier_config_errors *e)
{
	if (!e)
		return;
	for (unsigned i = 0; i < e->nr; i++)
		free(e->msgs[i]);
	free(e->msgs);
	e->msgs = NULL;
	e->nr = 0;
}

static void grant_free(struct tier_grant *g)
{
	free(g->name);
	free(g->cgroup);
	tier_bitmask_free(g->nodes);
	free(g->where);
}

void tier_config_free(struct tier_config *c)
{
	if (!c)
		return;
	free(c->socket_group);
	free(c->metrics_textfile);
	free_strv(c->relief_exclude);
	tier_bitmask_free(c->fence_private_nodes);
	for (unsigned i = 0; i < c->nr_grants; i++)
		grant_free(&c->grants[i]);
	free(c->grants);
	free(c);
}

/* ---------------------------------------------------------- typed values */

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Split on commas and/or blanks; returns a NULL-terminated vector of
 * non-empty tokens. */
static char **split_list(const char *s, bool commas)
{
	size_t cap = 4, n = 0;
	char **v = xmalloc(cap * sizeof(*v));
	const char *p = s;
	for (;;) {
		while (is_space(*p) || (commas && *p == ','))
			p++;
		if (!*p)
			break;
		const char *start = p;
		while (*p && !is_space(*p) && !(commas && *p == ','))
			p++;
		if (n + 2 > cap) {
			cap *= 2;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = strndup(start, (size_t)(p - start));
		if (!v[n - 1])
			abort();
	}
	v[n] = NULL;
	return v;
}

static bool valid_group_name(const char *s)
{
	/* Syntax only (the group may not exist yet when the config is
	 * written): what useradd/groupadd accept in their relaxed mode. */
	size_t n = strlen(s);
	if (n == 0 || n > 32)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '_' || c == '-' || c == '.' || (c == '$' && i == n - 1);
		if (!ok)
			return false;
	}
	return true;
}

static void choices_text(const char *const *choices, char *buf, size_t size)
{
	size_t len = 0, n = 0;
	while (choices[n])
		n++;
	buf[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++) {
		const char *sep = i == 0 ? "" : (i + 1 == n ? " or " : ", ");
		len += (size_t)snprintf(buf + len, size - len, "%s%s", sep, choices[i]);
	}
}

static int parse_enum(const char *s, const char *const *choices, char *msg, size_t msglen)
{
	for (int i = 0; choices[i]; i++) {
		if (strcmp(s, choices[i]) == 0)
			return i;
	}
	char buf[128];
	choices_text(choices, buf, sizeof(buf));
	snprintf(msg, msglen, "expected %s, got '%s'", buf, s);
	return -EINVAL;
}

/*
 * Parse value for key k and store it at base + k->off.  Nothing is stored on
 * error.  Pointer fields are replaced (the old value freed).
 */
static int set_value(const struct keydef *k, void *base, const char *value, char *msg, size_t msglen)
{
	void *field = (char *)base + k->off;
	char lo[32], hi[32];
	int rc;
	msg[0] = '\0';

	switch (k->type) {
	case K_BOOL:
		return tier_parse_bool(value, (bool *)field, msg, msglen);
	case K_UINT: {
		uint64_t v;
		rc = tier_parse_uint(value, k->lo, k->hi, &v, msg, msglen);
		if (rc == 0)
			*(unsigned *)field = (unsigned)v;
		return rc;
	}
	case K_SIZE: {
		uint64_t v;
		rc = tier_parse_size(value, &v, msg, msglen);
		if (rc < 0)
			return rc;
		if (v < k->lo || v > k->hi) {
			tier_size_format(k->lo, lo, sizeof(lo));
			tier_size_format(k->hi, hi, sizeof(hi));
			snprintf(msg, msglen, "expected a size from %s to %s, got '%s'", lo, hi, value);
			return -ERANGE;
		}
		*(uint64_t *)field = v;
		return 0;
	}
	case K_DURATION: {
		uint64_t v;
		rc = tier_parse_duration(value, &v, msg, msglen);
		if (rc < 0)
			return rc;
		if (v < k->lo || v > k->hi) {
			tier_duration_format(k->lo, lo, sizeof(lo));
			tier_duration_format(k->hi, hi, sizeof(hi));
			snprintf(msg, msglen, "expected a duration from %s to %s, got '%s'", lo, hi, value);
			return -ERANGE;
		}
		*(uint64_t *)field = v;
		return 0;
	}
	case K_WM:
		return tier_parse_wm_expr(value, (struct tier_wm_expr *)field, msg, msglen);
	case K_LOGLEVEL:
		return tier_parse_log_level(value, (int *)field, msg, msglen);
	case K_GROUP: {
		char **p = field;
		if (value[0] && !valid_group_name(value)) {
			snprintf(msg, msglen, "expected a group name (letters, digits, '_', '-', '.'; "
				 "at most 32) or nothing for root only, got '%s'", value);
			return -EINVAL;
		}
		free(*p);
		*p = value[0] ? xstrdup(value) : NULL;
		return 0;
	}
	case K_ENUM:
		rc = parse_enum(value, k->choices, msg, msglen);
		if (rc < 0)
			return rc;
		*(unsigned *)field = (unsigned)rc;
		return 0;
	case K_TARGETS: {
		struct tier_config *c = base;
		enum tier_relief_target t[TIER_RELIEF_NR_TARGETS];
		unsigned n = 0;
		char **v = split_list(value, true);
		rc = 0;
		if (!v[0]) {
			snprintf(msg, msglen, "expected a list of sibling, slower, faster, got '%s'", value);
			rc = -EINVAL;
		}
		for (char **p = v; *p && rc == 0; p++) {
			char sub[128];
			int idx = parse_enum(*p, target_names, sub, sizeof(sub));
			if (idx < 0) {
				snprintf(msg, msglen, "expected a list of sibling, slower, faster, got '%s'", value);
				rc = -EINVAL;
				break;
			}
			for (unsigned i = 0; i < n; i++) {
				if (t[i] == (enum tier_relief_target)idx) {
					snprintf(msg, msglen, "target '%s' listed twice, got '%s'", *p, value);
					rc = -EINVAL;
				}
			}
			if (rc == 0)
				t[n++] = (enum tier_relief_target)idx;
		}
		free_strv(v);
		if (rc == 0) {
			memcpy(c->relief_targets, t, n * sizeof(t[0]));
			c->relief_nr_targets = n;
		}
		return rc;
	}
	case K_GLOBS: {
		char ***p = field;
		char **v = split_list(value, false);
		for (char **g = v; *g; g++) {
			rc = tier_parse_cgroup_path(*g, true, msg, msglen);
			if (rc < 0) {
				free_strv(v);
				return rc;
			}
		}
		free_strv(*p);
		*p = v;
		return 0;
	}
	case K_NODES: {
		struct bitmask **p = field;
		struct bitmask *tmp = tier_nodemask_alloc();
		rc = tier_parse_nodelist(value, tmp, msg, msglen);
		if (rc == 0 && k->lo && tier_bitmask_empty(tmp)) {
			snprintf(msg, msglen, "expected a non-empty node list like 0-3,8, got '%s'", value);
			rc = -EINVAL;
		}
		if (rc == 0)
			tier_bitmask_copy(*p, tmp);
		tier_bitmask_free(tmp);
		return rc;
	}
	case K_TIER_OR_NONE: {
		uint64_t v;
		if (strcmp(value, "none") == 0) {
			*(int *)field = -1;
			return 0;
		}
		rc = tier_parse_uint(value, k->lo, k->hi, &v, msg, msglen);
		if (rc < 0) {
			snprintf(msg, msglen, "expected a memory tier id from %llu to %llu or none, got '%s'",
				 (unsigned long long)k->lo, (unsigned long long)k->hi, value);
			return rc;
		}
		*(int *)field = (int)v;
		return 0;
	}
	case K_TEXTFILE: {
		char **p = field;
		rc = value[0] ? tier_parse_textfile_path(value, msg, msglen) : 0;
		if (rc < 0)
			return rc;
		free(*p);
		*p = value[0] ? xstrdup(value) : NULL;
		return 0;
	}
	case K_CGROUP: {
		char **p = field;
		rc = tier_parse_cgroup_path(value, true, msg, msglen);
		if (rc < 0)
			return rc;
		free(*p);
		*p = xstrdup(value);
		return 0;
	}
	}
	snprintf(msg, msglen, "internal error: unknown key type");
	return -EINVAL;
}

struct tier_config *tier_config_new_default(void)
{
	struct tier_config *c = xcalloc(1, sizeof(*c));
	c->fence_private_nodes = tier_nodemask_alloc();
	c->relief_exclude = xcalloc(1, sizeof(char *));
	for (int i = 0; i < NKEYS; i++) {
		char msg[256];
		if (keys[i].sec == SEC_GRANT)
			continue;
		if (set_value(&keys[i], c, keys[i].def, msg, sizeof(msg)) < 0) {
			/* A bad built-in default is a bug caught by every test run. */
			fprintf(stderr, "tierd: bad built-in default for %s: %s\n", keys[i].name, msg);
			abort();
		}
	}
	return c;
}

/* --------------------------------------------------------------- parsing */

/* Where a key got its value.  file == NULL: the built-in default. */
struct loc {
	const char *file;
	unsigned line;
	unsigned gen;        /* file generation (1, 2, ...) for duplicate checks */
	bool bad;            /* set but the value was rejected: skip cross checks */
};

struct grant_meta {
	struct loc header;   /* the first [grant NAME] line */
	unsigned header_gen_last; /* generation of the last header seen */
	unsigned header_line_last;
	struct loc key[NKEYS];
};

struct ctx {
	struct tier_config *c;
	struct tier_config_errors *errs;
	unsigned nerr;        /* errors of this load, including the ones not kept */

	char **files;         /* every file name seen, owned; locs point here */
	unsigned nfiles;

	/* The file being parsed. */
	const char *file;
	unsigned gen;
	const char *buf;
	size_t len, pos;
	unsigned lineno;

	/* The section being parsed. */
	enum sec sec;
	unsigned grant;       /* SEC_GRANT: index into c->grants / gm */

	struct loc key[NKEYS];
	struct grant_meta *gm;
};

static void add_error_str(struct ctx *x, char *s)
{
	/* Counted per load, so errs may already hold messages of the caller. */
	x->nerr++;
	if (x->nerr > TIER_CONFIG_MAX_ERRORS + 1) {
		free(s);
		return;
	}
	if (x->nerr == TIER_CONFIG_MAX_ERRORS + 1) {
		free(s);
		s = xasprintf("too many errors, the rest are not shown");
	}
	x->errs->msgs = xrealloc(x->errs->msgs, (x->errs->nr + 1) * sizeof(char *));
	x->errs->msgs[x->errs->nr++] = s;
}

__attribute__((format(printf, 4, 5)))
static void add_error(struct ctx *x, const char *file, unsigned line, const char *fmt, ...)
{
	char *m, *s;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (!file)
		s = xasprintf("(built-in defaults): %s", m);
	else if (line)
		s = xasprintf("%s:%u: %s", file, line, m);
	else
		s = xasprintf("%s: %s", file, m);
	free(m);
	add_error_str(x, s);
}

/* "[daemon]" or "[grant db]" of the current section. */
static void sec_label(const struct ctx *x, enum sec sec, unsigned grant, char *buf, size_t size)
{
	if (sec == SEC_GRANT)
		snprintf(buf, size, "[grant %s]", x->c->grants[grant].name);
	else
		snprintf(buf, size, "[%s]", sec_names[sec]);
}

/* Where l was set, as seen from an error reported in file at: "line 12"
 * (same file), "/etc/tierd.conf.d/x.conf:12" or "default". */
static char *loc_text(const struct loc *l, const char *at)
{
	if (!l->file)
		return xstrdup("default");
	if (at && strcmp(at, l->file) == 0)
		return xasprintf("line %u", l->line);
	return xasprintf("%s:%u", l->file, l->line);
}

static bool valid_grant_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.' || c == '@'))
			return false;
	}
	return true;
}

static void begin_section(struct ctx *x, const char *name)
{
	unsigned line = x->lineno;
	for (enum sec s = SEC_DAEMON; s <= SEC_FENCE; s++) {
		if (strcmp(name, sec_names[s]) == 0) {
			x->sec = s;
			return;
		}
	}
	if (strncmp(name, "grant", 5) == 0 && (name[5] == '\0' || is_space(name[5]))) {
		const char *g = name + 5;
		while (is_space(*g))
			g++;
		x->sec = SEC_BAD;
		if (!*g) {
			add_error(x, x->file, line, "[grant]: a grant needs a name: [grant NAME]");
			return;
		}
		if (!valid_grant_name(g)) {
			add_error(x, x->file, line, "[grant %s]: expected a grant name of letters, digits, "
				  "'_', '-', '.', '@'", g);
			return;
		}
		struct tier_config *c = x->c;
		for (unsigned i = 0; i < c->nr_grants; i++) {
			if (strcmp(c->grants[i].name, g) != 0)
				continue;
			if (x->gm[i].header_gen_last == x->gen) {
				add_error(x, x->file, line, "[grant %s]: defined twice in this file (first at line %u)",
					  g, x->gm[i].header_line_last);
				return;
			}
			/* A drop-in adding to or overriding a grant of an
			 * earlier file. */
			x->gm[i].header_gen_last = x->gen;
			x->gm[i].header_line_last = line;
			x->sec = SEC_GRANT;
			x->grant = i;
			return;
		}
		c->grants = xrealloc(c->grants, (c->nr_grants + 1) * sizeof(*c->grants));
		x->gm = xrealloc(x->gm, (c->nr_grants + 1) * sizeof(*x->gm));
		struct tier_grant *gr = &c->grants[c->nr_grants];
		struct grant_meta *m = &x->gm[c->nr_grants];
		memset(gr, 0, sizeof(*gr));
		memset(m, 0, sizeof(*m));
		gr->name = xstrdup(g);
		gr->nodes = tier_nodemask_alloc();
		gr->where = xasprintf("%s:%u", x->file, line);
		m->header = (struct loc){ .file = x->file, .line = line, .gen = x->gen };
		m->header_gen_last = x->gen;
		m->header_line_last = line;
		x->sec = SEC_GRANT;
		x->grant = c->nr_grants++;
		return;
	}
	x->sec = SEC_BAD;
	add_error(x, x->file, line,
		  "[%s]: unknown section (expected [daemon], [guard], [relief], [fence] or [grant NAME])", name);
}

static void known_keys(enum sec sec, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (int i = 0; i < NKEYS && len < size; i++) {
		if (keys[i].sec == sec)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "", keys[i].name);
	}
}

/* inih handler: called for every "key=value" line the reader let through. */
static int handle_key(void *user, const char *section, const char *name, const char *value)
{
	struct ctx *x = user;
	unsigned line = x->lineno;
	(void)section;  /* x->sec is the validated version of it */

	if (x->sec == SEC_BAD)
		return 1;   /* the section header was reported already */
	if (x->sec == SEC_NONE) {
		add_error(x, x->file, line, "%s: key outside of any section (put it under [daemon], "
			  "[guard], [relief], [fence] or [grant NAME])", name);
		return 1;
	}

	char label[256];
	sec_label(x, x->sec, x->grant, label, sizeof(label));
	int id = -1;
	for (int i = 0; i < NKEYS; i++) {
		if (keys[i].sec == x->sec && strcmp(keys[i].name, name) == 0) {
			id = i;
			break;
		}
	}
	if (id < 0) {
		char known[400];
		known_keys(x->sec, known, sizeof(known));
		add_error(x, x->file, line, "%s %s: unknown key (expected one of: %s)", label, name, known);
		return 1;
	}

	struct loc *l = x->sec == SEC_GRANT ? &x->gm[x->grant].key[id] : &x->key[id];
	if (l->gen == x->gen) {
		add_error(x, x->file, line, "%s %s: duplicate key (already set at line %u)", label, name, l->line);
		return 1;
	}
	void *base = x->sec == SEC_GRANT ? (void *)&x->c->grants[x->grant] : (void *)x->c;
	char msg[512];
	int rc = set_value(&keys[id], base, value, msg, sizeof(msg));
	*l = (struct loc){ .file = x->file, .line = line, .gen = x->gen, .bad = rc < 0 };
	if (rc < 0)
		add_error(x, x->file, line, "%s %s: %s", label, name, msg);
	return 1;
}

/* A short, printable excerpt of a bad line for messages. */
static void excerpt(const char *s, size_t n, char *buf, size_t size)
{
	size_t max = size - 4;
	if (n > 40)
		n = 40;
	if (n > max)
		n = max;
	memcpy(buf, s, n);
	buf[n] = '\0';
}

/*
 * inih reader: one physical line per call, validated and normalized into
 * out (which has room for num bytes).  See the comment at the top.
 */
static char *read_line(char *out, int num, void *stream)
{
	struct ctx *x = stream;
	if (x->pos >= x->len)
		return NULL;
	const char *s = x->buf + x->pos;
	const char *nl = memchr(s, '\n', x->len - x->pos);
	size_t n = nl ? (size_t)(nl - s) : x->len - x->pos;
	x->pos += n + (nl ? 1 : 0);
	x->lineno++;
	unsigned line = x->lineno;
	out[0] = '\n';
	out[1] = '\0';

	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
		s += 3;
		n -= 3;
	}
	size_t max = num > 3 ? (size_t)num - 3 : 0;
	if (max > TIER_CONFIG_MAX_LINE)
		max = TIER_CONFIG_MAX_LINE;
	if (n > max) {
		add_error(x, x->file, line, "line too long (%zu characters, at most %zu)", n, max);
		/* A lost section header: do not file its keys under the
		 * previous section. */
		size_t i = 0;
		while (i < n && is_space(s[i]))
			i++;
		if (i < n && s[i] == '[')
			x->sec = SEC_BAD;
		return out;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch < ' ' && ch != '\t') || ch == 0x7f) {
			add_error(x, x->file, line, "control character 0x%02x in column %zu", ch, i + 1);
			return out;
		}
	}
	/* Trim, and cut an inline comment: '#' or ';' after whitespace. */
	while (n > 0 && is_space(*s)) {
		s++;
		n--;
	}
	if (n == 0 || *s == '#' || *s == ';')
		return out;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] == '#' || s[i] == ';') && is_space(s[i - 1])) {
			n = i;
			break;
		}
	}
	while (n > 0 && is_space(s[n - 1]))
		n--;

	char ex[48];
	if (*s == '[') {
		if (s[n - 1] != ']' || n < 2) {
			excerpt(s, n, ex, sizeof(ex));
			add_error(x, x->file, line, "expected a section header like [daemon], got '%s'", ex);
			x->sec = SEC_BAD;
			return out;
		}
		char name[TIER_CONFIG_MAX_LINE + 1];
		const char *a = s + 1, *b = s + n - 1;
		while (a < b && is_space(*a))
			a++;
		while (b > a && is_space(b[-1]))
			b--;
		memcpy(name, a, (size_t)(b - a));
		name[b - a] = '\0';
		if (strpbrk(name, "[]")) {
			excerpt(s, n, ex, sizeof(ex));
			add_error(x, x->file, line, "expected a section header like [daemon], got '%s'", ex);
			x->sec = SEC_BAD;
			return out;
		}
		begin_section(x, name);
		snprintf(out, (size_t)num, "[%s]\n", name);
		return out;
	}

	const char *eq = memchr(s, '=', n);
	if (!eq) {
		excerpt(s, n, ex, sizeof(ex));
		add_error(x, x->file, line, "expected 'key = value', '[section]' or a comment, got '%s'", ex);
		return out;
	}
	size_t kn = (size_t)(eq - s);
	while (kn > 0 && is_space(s[kn - 1]))
		kn--;
	bool ok = kn > 0;
	for (size_t i = 0; i < kn; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			ok = false;
	}
	if (!ok) {
		excerpt(s, kn, ex, sizeof(ex));
		add_error(x, x->file, line, "expected a key name (letters, digits, '_') before '=', got '%s'", ex);
		return out;
	}
	const char *v = eq + 1;
	size_t vn = n - (size_t)(v - s);
	while (vn > 0 && is_space(*v)) {
		v++;
		vn--;
	}
	/* kn + vn + "=\n\0" <= n + 2 < num: always fits. */
	snprintf(out, (size_t)num, "%.*s=%.*s\n", (int)kn, s, (int)vn, v);
	return out;
}

static const char *remember_file(struct ctx *x, const char *path)
{
	x->files = xrealloc(x->files, (x->nfiles + 1) * sizeof(char *));
	x->files[x->nfiles] = xstrdup(path);
	return x->files[x->nfiles++];
}

/* Returns false if the file could not be read (error recorded unless it is
 * missing and that is allowed). */
static void parse_file(struct ctx *x, const char *path, bool allow_missing)
{
	const char *file = remember_file(x, path);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (!(errno == ENOENT && allow_missing))
			add_error(x, file, 0, "cannot open: %s", strerror(errno));
		return;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		add_error(x, file, 0, "cannot stat: %s", strerror(errno));
		close(fd);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		add_error(x, file, 0, "not a regular file");
		close(fd);
		return;
	}
	size_t cap = (size_t)st.st_size + 1, len = 0;
	if (cap > MAX_FILE_BYTES + 1)
		cap = MAX_FILE_BYTES + 1;
	char *buf = xmalloc(cap);
	for (;;) {
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			add_error(x, file, 0, "cannot read: %s", strerror(errno));
			free(buf);
			close(fd);
			return;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > MAX_FILE_BYTES) {
			add_error(x, file, 0, "file too large (more than %u bytes)", MAX_FILE_BYTES);
			free(buf);
			close(fd);
			return;
		}
		if (len == cap) {
			cap = cap * 2 > MAX_FILE_BYTES + 1 ? MAX_FILE_BYTES + 1 : cap * 2;
			buf = xrealloc(buf, cap);
		}
	}
	close(fd);

	x->file = file;
	x->gen++;
	x->buf = buf;
	x->len = len;
	x->pos = 0;
	x->lineno = 0;
	x->sec = SEC_NONE;
	int rc = ini_parse_stream(read_line, x, handle_key, x);
	if (rc != 0)
		add_error(x, file, rc > 0 ? (unsigned)rc : 0, "internal error: inih returned %d", rc);
	free(buf);
	x->buf = NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void parse_dropins(struct ctx *x, const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		if (errno != ENOENT)
			add_error(x, remember_file(x, dir), 0, "cannot open drop-in directory: %s", strerror(errno));
		return;
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		names = xrealloc(names, (n + 1) * sizeof(char *));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		parse_file(x, path, false);
		free(path);
		free(names[i]);
	}
	free(names);
}

/* ------------------------------------------------------------ validation */

static const struct loc *pick_loc(const struct loc *a, const struct loc *b)
{
	return a->file ? a : b;
}

/* Both sides of a cross-field error: "min_interval = 2s (line 4)",
 * "... (/etc/tierd.conf.d/x.conf:4)" or "... (default)". */
static char *side_text(const char *name, const char *value, const struct loc *l, const char *at)
{
	char *w = loc_text(l, at);
	char *s = xasprintf("%s = %s (%s)", name, value, w);
	free(w);
	return s;
}

/* A node list of any length (up to TIER_MAX_NODES nodes). */
static char *mask_text(const struct bitmask *bm)
{
	size_t n = tier_bitmask_format(bm, NULL, 0) + 1;
	char *s = xmalloc(n);
	tier_bitmask_format(bm, s, n);
	return s;
}

static void check_intervals(struct ctx *x)
{
	const struct tier_config *c = x->c;
	const struct loc *li = &x->key[KEY_INTERVAL], *lmin = &x->key[KEY_MIN_INTERVAL],
			 *lmax = &x->key[KEY_MAX_INTERVAL];
	char v[32];
	if (li->bad)
		return;
	tier_duration_format(c->interval_usec, v, sizeof(v));
	if (!lmin->bad && c->min_interval_usec > c->interval_usec) {
		const struct loc *at = pick_loc(lmin, li);
		char m[32];
		tier_duration_format(c->min_interval_usec, m, sizeof(m));
		char *a = side_text("min_interval", m, lmin, at->file);
		char *b = side_text("interval", v, li, at->file);
		add_error(x, at->file, at->line, "[daemon] min_interval: %s must not exceed %s", a, b);
		free(a);
		free(b);
	}
	if (!lmax->bad && c->max_interval_usec < c->interval_usec) {
		const struct loc *at = pick_loc(lmax, li);
		char m[32];
		tier_duration_format(c->max_interval_usec, m, sizeof(m));
		char *a = side_text("max_interval", m, lmax, at->file);
		char *b = side_text("interval", v, li, at->file);
		add_error(x, at->file, at->line, "[daemon] max_interval: %s must not be below %s", a, b);
		free(a);
		free(b);
	}
}

/*
 * Is hi certainly not above lo?  Only decidable when both margins are of
 * comparable kinds: same base (compare the margins), or hi on a lower base
 * without any margin (the kernel keeps min < low < high).  Mixed cases
 * ("low+64M" vs "min+2%") depend on the node and are accepted.
 */
static bool wm_not_above(const struct tier_wm_expr *lo, const struct tier_wm_expr *hi)
{
	if (hi->base == lo->base)
		return hi->plus_bytes <= lo->plus_bytes && hi->plus_permille <= lo->plus_permille;
	if (hi->base < lo->base)
		return hi->plus_bytes == 0 && hi->plus_permille == 0;
	return false;
}

static void check_wm_pair(struct ctx *x, enum key_id klo, enum key_id khi)
{
	const struct loc *llo = &x->key[klo], *lhi = &x->key[khi];
	if (llo->bad || lhi->bad)
		return;
	const struct tier_wm_expr *lo = (const void *)((const char *)x->c + keys[klo].off);
	const struct tier_wm_expr *hi = (const void *)((const char *)x->c + keys[khi].off);
	if (!wm_not_above(lo, hi))
		return;
	char va[96], vb[96];
	const struct loc *at = pick_loc(lhi, llo);
	tier_wm_expr_format(hi, va, sizeof(va));
	tier_wm_expr_format(lo, vb, sizeof(vb));
	char *a = side_text(keys[khi].name, va, lhi, at->file);
	char *b = side_text(keys[klo].name, vb, llo, at->file);
	add_error(x, at->file, at->line, "[%s] %s: %s must be above %s", sec_names[keys[khi].sec],
		  keys[khi].name, a, b);
	free(a);
	free(b);
}

static void check_grants(struct ctx *x)
{
	const struct tier_config *c = x->c;
	const struct loc *lp = &x->key[KEY_PRIVATE_NODES];
	/* With private_slower_than, nodes of slower tiers are private too and
	 * only known at run time: the subset check needs private_nodes alone. */
	bool check_subset = !lp->bad && !tier_bitmask_empty(c->fence_private_nodes) &&
			    c->fence_private_slower_than < 0 && !x->key[KEY_PRIVATE_SLOWER_THAN].bad;
	for (unsigned i = 0; i < c->nr_grants; i++) {
		const struct tier_grant *g = &c->grants[i];
		const struct grant_meta *m = &x->gm[i];
		for (int k = KEY_GRANT_CGROUP; k <= KEY_GRANT_NODES; k++) {
			if (!m->key[k].file)
				add_error(x, m->header.file, m->header.line, "[grant %s]: missing required key %s",
					  g->name, keys[k].name);
		}
		if (!check_subset || !m->key[KEY_GRANT_NODES].file || m->key[KEY_GRANT_NODES].bad)
			continue;
		struct bitmask *extra = tier_nodemask_alloc();
		tier_bitmask_copy(extra, g->nodes);
		tier_bitmask_andnot(extra, c->fence_private_nodes);
		if (!tier_bitmask_empty(extra)) {
			const struct loc *ln = &m->key[KEY_GRANT_NODES];
			char *e = mask_text(extra);
			char *p = mask_text(c->fence_private_nodes);
			char *w = loc_text(lp, ln->file);
			add_error(x, ln->file, ln->line,
				  "[grant %s] nodes: %s not in [fence] private_nodes = %s (%s); a grant may "
				  "only give private nodes", g->name, e, p, w);
			free(e);
			free(p);
			free(w);
		}
		tier_bitmask_free(extra);
	}
}

static void validate(struct ctx *x)
{
	check_intervals(x);
	check_wm_pair(x, KEY_TRIP_AT, KEY_RELEASE_AT);
	check_wm_pair(x, KEY_START_AT, KEY_STOP_AT);
	check_grants(x);
}

struct tier_config *tier_config_load(const char *path, const char *dropin_dir,
				     bool allow_missing, struct tier_config_errors *errs)
{
	struct tier_config_errors discard = { 0 };
	struct ctx x = { 0 };
	x.errs = errs ? errs : &discard;
	x.c = tier_config_new_default();

	if (path)
		parse_file(&x, path, allow_missing);
	if (dropin_dir)
		parse_dropins(&x, dropin_dir);
	validate(&x);

	for (unsigned i = 0; i < x.nfiles; i++)
		free(x.files[i]);
	free(x.files);
	free(x.gm);
	tier_config_errors_clear(&discard);
	if (x.nerr) {
		tier_config_free(x.c);
		return NULL;
	}
	return x.c;
}
