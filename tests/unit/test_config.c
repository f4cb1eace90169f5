/* SPDX-License-Identifier: MIT */
/* /etc/tierd.conf loading: defaults, conf/tierd.conf, drop-ins, errors,
 * and the corpus of malformed configs in tests/unit/config-corpus/. */
#define _GNU_SOURCE  /* asprintf */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <tier/config.h>
#include <tier/nodemask.h>

#define MS 1000ull
#define SEC (1000ull * MS)
#define MiB (1ull << 20)

static const char *const all_keys[] = {
	"interval", "min_interval", "max_interval", "dry_run", "log_level", "socket_group", "actions_kept",
	"metrics_textfile", "metrics_interval",
	"max_clients", "mode", "trip_at", "release_at", "min_hold", "predict",
	"enabled", "start_at", "stop_at", "rate", "tick_budget", "batch_pages", "targets", "cooldown",
	"move_all", "exclude", "order",
	"private_nodes", "private_slower_than", "backend", "demotion", "evict", "full_pass",
};
#define NR_KEYS (sizeof(all_keys) / sizeof(all_keys[0]))

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/tier-config-XXXXXX";
	if (!mkdtemp(tmpl))
		fail_msg("mkdtemp: %s", strerror(errno));
	return strdup(tmpl);
}

static char *path_in(const char *dir, const char *rel)
{
	char *p;
	if (asprintf(&p, "%s/%s", dir, rel) < 0)
		abort();
	return p;
}

static void print_errors(const struct tier_config_errors *e)
{
	for (unsigned i = 0; i < e->nr; i++)
		print_message("  error: %s\n", e->msgs[i]);
}

/* Load and expect success. */
static struct tier_config *load_ok(const char *path, const char *dropins)
{
	struct tier_config_errors e = { 0 };
	struct tier_config *c = tier_config_load(path, dropins, false, &e);
	if (!c) {
		print_errors(&e);
		tier_config_errors_clear(&e);
		fail_msg("%s did not load", path);
	}
	assert_int_equal(e.nr, 0);
	return c;
}

/* Is there an error starting with "prefix" and containing "sub"? */
static bool has_error(const struct tier_config_errors *e, const char *prefix, const char *sub)
{
	for (unsigned i = 0; i < e->nr; i++) {
		if (strncmp(e->msgs[i], prefix, strlen(prefix)) == 0 &&
		    strstr(e->msgs[i] + strlen(prefix), sub))
			return true;
	}
	return false;
}

static void assert_wm_equal(const struct tier_wm_expr *a, const struct tier_wm_expr *b)
{
	assert_int_equal(a->base, b->base);
	assert_true(a->plus_bytes == b->plus_bytes);
	assert_int_equal(a->plus_permille, b->plus_permille);
}

static void assert_str_equal_or_null(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

/* Field by field, so a new field without a comparison is noticed in review
 * of this function next to struct tier_config. */
static void assert_config_equal(const struct tier_config *a, const struct tier_config *b)
{
	assert_true(a->interval_usec == b->interval_usec);
	assert_true(a->min_interval_usec == b->min_interval_usec);
	assert_true(a->max_interval_usec == b->max_interval_usec);
	assert_int_equal(a->dry_run, b->dry_run);
	assert_int_equal(a->log_level, b->log_level);
	assert_str_equal_or_null(a->socket_group, b->socket_group);
	assert_int_equal(a->actions_kept, b->actions_kept);
	assert_str_equal_or_null(a->metrics_textfile, b->metrics_textfile);
	assert_true(a->metrics_interval_usec == b->metrics_interval_usec);
	assert_int_equal(a->max_clients, b->max_clients);

	assert_int_equal(a->guard_mode, b->guard_mode);
	assert_wm_equal(&a->guard_trip_at, &b->guard_trip_at);
	assert_wm_equal(&a->guard_release_at, &b->guard_release_at);
	assert_true(a->guard_min_hold_usec == b->guard_min_hold_usec);
	assert_int_equal(a->guard_predict, b->guard_predict);

	assert_int_equal(a->relief_enabled, b->relief_enabled);
	assert_wm_equal(&a->relief_start_at, &b->relief_start_at);
	assert_wm_equal(&a->relief_stop_at, &b->relief_stop_at);
	assert_true(a->relief_rate_bytes_per_sec == b->relief_rate_bytes_per_sec);
	assert_true(a->relief_tick_budget_bytes == b->relief_tick_budget_bytes);
	assert_int_equal(a->relief_batch_pages, b->relief_batch_pages);
	assert_int_equal(a->relief_nr_targets, b->relief_nr_targets);
	for (unsigned i = 0; i < a->relief_nr_targets; i++)
		assert_int_equal(a->relief_targets[i], b->relief_targets[i]);
	assert_true(a->relief_cooldown_usec == b->relief_cooldown_usec);
	assert_int_equal(a->relief_move_all, b->relief_move_all);
	assert_int_equal(a->relief_order, b->relief_order);
	assert_non_null(a->relief_exclude);
	assert_non_null(b->relief_exclude);
	size_t i = 0;
	for (; a->relief_exclude[i] && b->relief_exclude[i]; i++)
		assert_string_equal(a->relief_exclude[i], b->relief_exclude[i]);
	assert_null(a->relief_exclude[i]);
	assert_null(b->relief_exclude[i]);

	assert_true(tier_bitmask_equal(a->fence_private_nodes, b->fence_private_nodes));
	assert_int_equal(a->fence_private_slower_than, b->fence_private_slower_than);
	assert_int_equal(a->fence_backend, b->fence_backend);
	assert_int_equal(a->fence_demotion, b->fence_demotion);
	assert_int_equal(a->fence_evict, b->fence_evict);
	assert_true(a->fence_full_pass_usec == b->fence_full_pass_usec);

	assert_int_equal(a->nr_grants, b->nr_grants);
	for (unsigned g = 0; g < a->nr_grants; g++) {
		assert_string_equal(a->grants[g].name, b->grants[g].name);
		assert_string_equal(a->grants[g].cgroup, b->grants[g].cgroup);
		assert_true(tier_bitmask_equal(a->grants[g].nodes, b->grants[g].nodes));
	}
}

/* The defaults are the ones the issue specifies, value by value. */
static void test_defaults(void **state)
{
	(void)state;
	struct tier_config *c = tier_config_new_default();
	assert_true(c->interval_usec == 1 * SEC);
	assert_true(c->min_interval_usec == 10 * MS);
	assert_true(c->max_interval_usec == 5 * SEC);
	assert_false(c->dry_run);
	assert_int_equal(c->log_level, LOG_INFO);
	assert_null(c->socket_group);
	assert_int_equal(c->actions_kept, 32);
	assert_null(c->metrics_textfile);
	assert_true(c->metrics_interval_usec == 15 * SEC);
	assert_int_equal(c->max_clients, 64);

	assert_int_equal(c->guard_mode, TIER_GUARD_AUTO);
	assert_int_equal(c->guard_trip_at.base, TIER_WM_LOW);
	assert_true(c->guard_trip_at.plus_bytes == 0);
	assert_int_equal(c->guard_trip_at.plus_permille, 0);
	assert_int_equal(c->guard_release_at.base, TIER_WM_HIGH);
	assert_int_equal(c->guard_release_at.plus_permille, 10);
	assert_true(c->guard_release_at.plus_bytes == 0);
	assert_true(c->guard_min_hold_usec == 5 * SEC);
	assert_true(c->guard_predict);

	assert_true(c->relief_enabled);
	assert_int_equal(c->relief_start_at.base, TIER_WM_LOW);
	assert_int_equal(c->relief_stop_at.base, TIER_WM_HIGH);
	assert_int_equal(c->relief_stop_at.plus_permille, 10);
	assert_true(c->relief_rate_bytes_per_sec == 256 * MiB);
	assert_true(c->relief_tick_budget_bytes == 64 * MiB);
	assert_int_equal(c->relief_batch_pages, 4096);
	assert_int_equal(c->relief_nr_targets, 3);
	assert_int_equal(c->relief_targets[0], TIER_RELIEF_SIBLING);
	assert_int_equal(c->relief_targets[1], TIER_RELIEF_SLOWER);
	assert_int_equal(c->relief_targets[2], TIER_RELIEF_FASTER);
	assert_true(c->relief_cooldown_usec == 60 * SEC);
	assert_false(c->relief_move_all);
	assert_int_equal(c->relief_order, TIER_RELIEF_ORDER_ACCESS);
	assert_non_null(c->relief_exclude);
	assert_null(c->relief_exclude[0]);

	assert_non_null(c->fence_private_nodes);
	assert_true(tier_bitmask_empty(c->fence_private_nodes));
	assert_int_equal(c->fence_private_slower_than, -1);
	assert_int_equal(c->fence_backend, TIER_FENCE_AUTO);
	assert_int_equal(c->fence_demotion, TIER_FENCE_DEMOTION_DISABLE);
	assert_false(c->fence_evict);
	assert_true(c->fence_full_pass_usec == 60 * SEC);
	assert_int_equal(c->nr_grants, 0);
	assert_null(c->grants);
	tier_config_free(c);
}

/* conf/tierd.conf as shipped (everything commented) gives the defaults. */
static void test_shipped_conf(void **state)
{
	(void)state;
	struct tier_config *d = tier_config_new_default();
	struct tier_config *c = load_ok(TIER_SOURCE_DIR "/conf/tierd.conf", NULL);
	assert_config_equal(c, d);
	tier_config_free(c);
	tier_config_free(d);
}

/*
 * The documented defaults are the real ones: uncomment every "#key = value"
 * line of conf/tierd.conf, and the result must still be exactly the defaults;
 * and every key must be written out once.
 */
static void test_shipped_conf_uncommented(void **state)
{
	(void)state;
	char *text = tu_read_file(TIER_SOURCE_DIR "/conf/tierd.conf");
	assert_non_null(text);
	size_t len = strlen(text);
	char *out = malloc(len + 1);
	size_t o = 0;
	unsigned seen[NR_KEYS] = { 0 };
	unsigned uncommented = 0;
	for (char *line = text; *line;) {
		char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) + 1 : strlen(line);
		const char *body = line;
		size_t bn = n;
		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z') {
			size_t k = 1;
			while ((line[k] >= 'a' && line[k] <= 'z') || line[k] == '_')
				k++;
			if (strncmp(line + k, " =", 2) == 0) {
				body = line + 1;
				bn = n - 1;
				uncommented++;
				for (size_t i = 0; i < NR_KEYS; i++) {
					if (strlen(all_keys[i]) == k - 1 && strncmp(all_keys[i], line + 1, k - 1) == 0)
						seen[i]++;
				}
			}
		}
		memcpy(out + o, body, bn);
		o += bn;
		line += n;
	}
	out[o] = '\0';
	for (size_t i = 0; i < NR_KEYS; i++) {
		if (seen[i] != 1)
			fail_msg("key %s is written out %u times in conf/tierd.conf", all_keys[i], seen[i]);
	}
	assert_int_equal(uncommented, NR_KEYS);

	char *dir = make_tmpdir();
	tu_write_file(dir, "tierd.conf", out);
	char *p = path_in(dir, "tierd.conf");
	struct tier_config *c = load_ok(p, NULL);
	struct tier_config *d = tier_config_new_default();
	assert_config_equal(c, d);
	tier_config_free(c);
	tier_config_free(d);
	tu_rm_rf(dir);
	free(p);
	free(dir);
	free(out);
	free(text);
}

static void test_every_key(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	tu_write_file(dir, "tierd.conf",
		      "[daemon]\n"
		      "interval = 2s\nmin_interval = 1ms\nmax_interval = 1.5min\ndry_run = on\nlog_level = 7\n"
		      "socket_group = tierd-users\nactions_kept = 1024\nmax_clients = 1024\n"
		      "metrics_textfile = /var/lib/prometheus/node-exporter/tierd.prom\nmetrics_interval = 1h\n"
		      "[guard]\nmode = off\ntrip_at = min+64M\nrelease_at = low+0.5%\nmin_hold = 0\npredict = false\n"
		      "[relief]\nenabled = no\nstart_at = min\nstop_at = low\nrate = 1G\ntick_budget = 1M\n"
		      "batch_pages = 65536\ntargets = faster slower\ncooldown = 1h\nmove_all = yes\n"
		      "exclude = /system.slice/*.service  /user.slice\norder = address\n"
		      "[fence]\nprivate_nodes = 2-3,8\nprivate_slower_than = 10000\nbackend = systemd\n"
		      "demotion = evict\nevict = 1\nfull_pass = 1s\n"
		      "[grant db]\ncgroup = /db.slice\nnodes = 2\n"
		      "[grant batch-1]\nnodes = 3,8\ncgroup = /batch/*\n");
	char *p = path_in(dir, "tierd.conf");
	struct tier_config *c = load_ok(p, NULL);
	assert_true(c->interval_usec == 2 * SEC);
	assert_true(c->min_interval_usec == 1 * MS);
	assert_true(c->max_interval_usec == 90 * SEC);
	assert_true(c->dry_run);
	assert_int_equal(c->log_level, LOG_DEBUG);
	assert_string_equal(c->socket_group, "tierd-users");
	assert_int_equal(c->actions_kept, 1024);
	assert_string_equal(c->metrics_textfile, "/var/lib/prometheus/node-exporter/tierd.prom");
	assert_true(c->metrics_interval_usec == 3600 * SEC);
	assert_int_equal(c->max_clients, 1024);
	assert_int_equal(c->guard_mode, TIER_GUARD_OFF);
	assert_int_equal(c->guard_trip_at.base, TIER_WM_MIN);
	assert_true(c->guard_trip_at.plus_bytes == 64 * MiB);
	assert_int_equal(c->guard_release_at.base, TIER_WM_LOW);
	assert_int_equal(c->guard_release_at.plus_permille, 5);
	assert_true(c->guard_min_hold_usec == 0);
	assert_false(c->guard_predict);
	assert_false(c->relief_enabled);
	assert_int_equal(c->relief_start_at.base, TIER_WM_MIN);
	assert_int_equal(c->relief_stop_at.base, TIER_WM_LOW);
	assert_true(c->relief_rate_bytes_per_sec == 1024 * MiB);
	assert_true(c->relief_tick_budget_bytes == MiB);
	assert_int_equal(c->relief_batch_pages, 65536);
	assert_int_equal(c->relief_nr_targets, 2);
	assert_int_equal(c->relief_targets[0], TIER_RELIEF_FASTER);
	assert_int_equal(c->relief_targets[1], TIER_RELIEF_SLOWER);
	assert_true(c->relief_cooldown_usec == 3600 * SEC);
	assert_true(c->relief_move_all);
	assert_int_equal(c->relief_order, TIER_RELIEF_ORDER_ADDRESS);
	assert_string_equal(c->relief_exclude[0], "/system.slice/*.service");
	assert_string_equal(c->relief_exclude[1], "/user.slice");
	assert_null(c->relief_exclude[2]);
	char buf[64];
	tier_bitmask_format(c->fence_private_nodes, buf, sizeof(buf));
	assert_string_equal(buf, "2-3,8");
	assert_int_equal(c->fence_private_slower_than, 10000);
	assert_int_equal(c->fence_backend, TIER_FENCE_SYSTEMD);
	assert_int_equal(c->fence_demotion, TIER_FENCE_DEMOTION_EVICT);
	assert_true(c->fence_evict);
	assert_true(c->fence_full_pass_usec == SEC);
	assert_int_equal(c->nr_grants, 2);
	assert_string_equal(c->grants[0].name, "db");
	assert_string_equal(c->grants[0].cgroup, "/db.slice");
	tier_bitmask_format(c->grants[0].nodes, buf, sizeof(buf));
	assert_string_equal(buf, "2");
	char where[4200];
	snprintf(where, sizeof(where), "%s:37", p);
	assert_string_equal(c->grants[0].where, where);
	assert_string_equal(c->grants[1].name, "batch-1");
	assert_string_equal(c->grants[1].cgroup, "/batch/*");
	tier_bitmask_format(c->grants[1].nodes, buf, sizeof(buf));
	assert_string_equal(buf, "3,8");
	snprintf(where, sizeof(where), "%s:40", p);
	assert_string_equal(c->grants[1].where, where);
	tier_config_free(c);
	tu_rm_rf(dir);
	free(p);
	free(dir);
}

/* Drop-ins: lexical order, later wins, only *.conf, no dot files. */
static void test_dropin_order(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	tu_write_file(dir, "tierd.conf",
		      "[daemon]\ninterval = 2s\nactions_kept = 10\n"
		      "[relief]\nexclude = /a /b\n"
		      "[fence]\nprivate_nodes = 1-3\n"
		      "[grant db]\ncgroup = /db.slice\nnodes = 1\n");
	tu_write_file(dir, "tierd.conf.d/20-b.conf", "[daemon]\ninterval = 4s\n[relief]\nexclude = /c\n");
	tu_write_file(dir, "tierd.conf.d/10-a.conf", "[daemon]\ninterval = 3s\nlog_level = debug\n");
	tu_write_file(dir, "tierd.conf.d/05-first.conf", "[daemon]\nlog_level = err\nactions_kept = 11\n");
	/* "B" sorts before "a" bytewise, whatever the locale says. */
	tu_write_file(dir, "tierd.conf.d/B.conf", "[daemon]\nactions_kept = 12\n");
	tu_write_file(dir, "tierd.conf.d/a.conf", "[daemon]\nactions_kept = 13\n"
						  "[grant db]\nnodes = 2-3\n"
						  "[grant extra]\ncgroup = /x\nnodes = 3\n");
	/* Ignored: not *.conf, hidden, or just ".conf". */
	tu_write_file(dir, "tierd.conf.d/notes.txt", "garbage\n");
	tu_write_file(dir, "tierd.conf.d/.hidden.conf", "garbage\n");
	tu_write_file(dir, "tierd.conf.d/.conf", "garbage\n");
	tu_write_file(dir, "tierd.conf.d/x.conf.bak", "garbage\n");
	char *p = path_in(dir, "tierd.conf");
	char *d = path_in(dir, "tierd.conf.d");
	struct tier_config *c = load_ok(p, d);
	assert_true(c->interval_usec == 4 * SEC);       /* 20-b after 10-a after main */
	assert_int_equal(c->log_level, LOG_DEBUG);       /* 10-a after 05-first */
	assert_int_equal(c->actions_kept, 13);           /* a.conf is last */
	assert_string_equal(c->relief_exclude[0], "/c");  /* replaced, not appended */
	assert_null(c->relief_exclude[1]);
	assert_int_equal(c->nr_grants, 2);
	assert_string_equal(c->grants[0].name, "db");
	assert_string_equal(c->grants[0].cgroup, "/db.slice");   /* kept from main */
	char buf[64];
	tier_bitmask_format(c->grants[0].nodes, buf, sizeof(buf));
	assert_string_equal(buf, "2-3");                          /* overridden by a.conf */
	char where[4200];
	snprintf(where, sizeof(where), "%s:8", p);
	assert_string_equal(c->grants[0].where, where);          /* first definition */
	snprintf(where, sizeof(where), "%s/tierd.conf.d/a.conf:5", dir);
	assert_string_equal(c->grants[1].where, where);
	tier_config_free(c);

	/* A drop-in may not repeat a key within itself, and its errors name
	 * the drop-in. */
	tu_write_file(dir, "tierd.conf.d/30-dup.conf", "[daemon]\ninterval = 1s\n\ninterval = 2s\n");
	struct tier_config_errors e = { 0 };
	assert_null(tier_config_load(p, d, false, &e));
	char prefix[4200];
	snprintf(prefix, sizeof(prefix), "%s/tierd.conf.d/30-dup.conf:4: ", dir);
	assert_true(has_error(&e, prefix, "[daemon] interval: duplicate key (already set at line 2)"));
	assert_int_equal(e.nr, 1);
	tier_config_errors_clear(&e);

	/* A cross-field error between files names both. */
	char *dup = path_in(dir, "tierd.conf.d/30-dup.conf");
	assert_int_equal(unlink(dup), 0);
	free(dup);
	tu_write_file(dir, "tierd.conf.d/30-cross.conf", "[daemon]\n\nmin_interval = 10s\n");
	assert_null(tier_config_load(p, d, false, &e));
	snprintf(prefix, sizeof(prefix), "%s/tierd.conf.d/30-cross.conf:3: ", dir);
	char sub[4200];
	snprintf(sub, sizeof(sub), "min_interval = 10s (line 3) must not exceed "
		 "interval = 4s (%s/tierd.conf.d/20-b.conf:2)", dir);
	if (!has_error(&e, prefix, sub)) {
		print_errors(&e);
		fail_msg("missing cross-file error");
	}
	tier_config_errors_clear(&e);

	tu_rm_rf(dir);
	free(p);
	free(d);
	free(dir);
}

static void test_missing(void **state)
{
	(void)state;
	struct tier_config_errors e = { 0 };
	struct tier_config *c = tier_config_load("/nonexistent/tierd.conf", "/nonexistent/tierd.conf.d", true, &e);
	assert_non_null(c);
	assert_int_equal(e.nr, 0);
	struct tier_config *d = tier_config_new_default();
	assert_config_equal(c, d);
	tier_config_free(c);
	tier_config_free(d);

	assert_null(tier_config_load("/nonexistent/tierd.conf", NULL, false, &e));
	assert_int_equal(e.nr, 1);
	assert_string_equal(e.msgs[0], "/nonexistent/tierd.conf: cannot open: No such file or directory");
	tier_config_errors_clear(&e);
	assert_int_equal(e.nr, 0);
	assert_null(e.msgs);

	/* A directory is not a config file, nor a file a drop-in directory. */
	char *dir = make_tmpdir();
	tu_write_file(dir, "f.conf", "[daemon]\n");
	char *f = path_in(dir, "f.conf");
	assert_null(tier_config_load(dir, NULL, true, &e));
	assert_true(has_error(&e, dir, "not a regular file"));
	tier_config_errors_clear(&e);
	assert_null(tier_config_load(f, f, false, &e));
	assert_true(has_error(&e, f, "cannot open drop-in directory"));
	tier_config_errors_clear(&e);
	/* errs may be NULL. */
	assert_null(tier_config_load(dir, NULL, false, NULL));
	/* No main file at all: defaults plus drop-ins. */
	c = tier_config_load(NULL, dir, false, &e);
	assert_non_null(c);
	tier_config_free(c);
	tu_rm_rf(dir);
	free(f);
	free(dir);
}

/* Syntax details: BOM, CRLF, indentation, inline comments, spaces in
 * headers, line length boundary. */
static void test_syntax(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	char longc[300], longk[300];
	memset(longc, 'x', sizeof(longc));
	longc[0] = '#';
	longc[197] = '\0';      /* exactly TIER_CONFIG_MAX_LINE characters */
	char text[2048];
	snprintf(text, sizeof(text),
		 "\xEF\xBB\xBF[daemon]\r\n"
		 "  interval = 2s ; why\r\n"
		 "\tdry_run=yes # really\n"
		 "   log_level = debug\n"
		 "%s\n"
		 "[ guard ]\n"
		 "; comment\n"
		 "  # comment\n"
		 "mode = on\n"
		 "[grant   db]\n"
		 "cgroup = /db;x.slice\n"   /* ';' not after a blank is data */
		 "nodes = 1\n"
		 "[relief]\n"
		 "exclude = /a#b", longc);
	tu_write_file(dir, "t.conf", text);
	char *p = path_in(dir, "t.conf");
	struct tier_config *c = load_ok(p, NULL);
	assert_true(c->interval_usec == 2 * SEC);
	assert_true(c->dry_run);
	assert_int_equal(c->log_level, LOG_DEBUG);
	assert_int_equal(c->guard_mode, TIER_GUARD_ON);
	assert_int_equal(c->nr_grants, 1);
	assert_string_equal(c->grants[0].name, "db");
	assert_string_equal(c->grants[0].cgroup, "/db;x.slice");
	assert_string_equal(c->relief_exclude[0], "/a#b");   /* last line without '\n' */
	tier_config_free(c);

	/* One more character is too long; a key line too. */
	memset(longk, 'x', sizeof(longk));
	memcpy(longk, "exclude = /", 11);
	longk[198] = '\0';
	longc[197] = 'x';
	longc[198] = '\0';
	snprintf(text, sizeof(text), "[relief]\n%s\n%s\n", longc, longk);
	tu_write_file(dir, "t.conf", text);
	struct tier_config_errors e = { 0 };
	assert_null(tier_config_load(p, NULL, false, &e));
	char prefix[4200];
	snprintf(prefix, sizeof(prefix), "%s:2: ", p);
	assert_true(has_error(&e, prefix, "line too long (198 characters, at most 197)"));
	snprintf(prefix, sizeof(prefix), "%s:3: ", p);
	assert_true(has_error(&e, prefix, "line too long (198 characters, at most 197)"));
	assert_int_equal(e.nr, 2);
	tier_config_errors_clear(&e);

	/* An overlong section header does not file its keys elsewhere. */
	longc[0] = '[';
	snprintf(text, sizeof(text), "[relief]\n%s\nbogus = 1\n", longc);
	tu_write_file(dir, "t.conf", text);
	assert_null(tier_config_load(p, NULL, false, &e));
	assert_int_equal(e.nr, 1);
	tier_config_errors_clear(&e);

	/* The inih multi-line trap: an indented line after a key is a key of
	 * its own, not a continuation of the previous value. */
	tu_write_file(dir, "t.conf", "[daemon]\ninterval = 1s\n\n    dry_run = yes\n");
	c = load_ok(p, NULL);
	assert_true(c->interval_usec == SEC);
	assert_true(c->dry_run);
	tier_config_free(c);

	/* An empty file and a file of comments give the defaults. */
	tu_write_file(dir, "t.conf", "");
	c = load_ok(p, NULL);
	struct tier_config *d = tier_config_new_default();
	assert_config_equal(c, d);
	tier_config_free(c);
	tier_config_free(d);
	tu_rm_rf(dir);
	free(p);
	free(dir);
}

static void test_cross_field_ok(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	char *p = path_in(dir, "t.conf");
	/* Boundaries that are allowed: equal intervals; watermarks that cannot
	 * be compared statically (different kinds of margin) are accepted;
	 * grant nodes outside private_nodes are fine when private_slower_than
	 * adds run-time private nodes. */
	tu_write_file(dir, "t.conf",
		      "[daemon]\ninterval = 10ms\nmin_interval = 10ms\nmax_interval = 10ms\n"
		      "[guard]\ntrip_at = high+64M\nrelease_at = high+1%\n"
		      "[relief]\nstart_at = low+1%\nstop_at = min+2%\n"
		      "[fence]\nprivate_nodes = 2\nprivate_slower_than = 5\n"
		      "[grant a]\ncgroup = /a\nnodes = 3\n");
	struct tier_config *c = load_ok(p, NULL);
	tier_config_free(c);

	tu_write_file(dir, "t.conf",
		      "[guard]\ntrip_at = high+1%\n"      /* release_at default high+1%: equal */
		      "[relief]\nstop_at = low\n");       /* start_at default low: equal */
	struct tier_config_errors e = { 0 };
	assert_null(tier_config_load(p, NULL, false, &e));
	char prefix[4200];
	snprintf(prefix, sizeof(prefix), "%s:2: ", p);
	char sub[4200];
	snprintf(sub, sizeof(sub), "[guard] release_at: release_at = high+1%% (default) must be above "
		 "trip_at = high+1%% (line 2)");
	assert_true(has_error(&e, prefix, sub));
	snprintf(prefix, sizeof(prefix), "%s:4: ", p);
	snprintf(sub, sizeof(sub), "[relief] stop_at: stop_at = low (line 4) must be above start_at = low (default)");
	assert_true(has_error(&e, prefix, sub));
	if (e.nr != 2)
		print_errors(&e);
	assert_int_equal(e.nr, 2);
	tier_config_errors_clear(&e);
	tu_rm_rf(dir);
	free(p);
	free(dir);
}

/* Several errors of every kind in one file: all reported, in order. */
static void test_all_errors_reported(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	char *p = path_in(dir, "t.conf");
	tu_write_file(dir, "t.conf",
		      "stray = 1\n"                      /* 1 */
		      "[daemon]\n"                       /* 2 */
		      "interval = 1s\n"                  /* 3 */
		      "interval = 2s\n"                  /* 4 duplicate */
		      "max_interval = 100ms\n"           /* 5 below interval (cross) */
		      "[guard]\n"                        /* 6 */
		      "trip_at = lo\n"                   /* 7 */
		      "nonsense\n"                       /* 8 */
		      "[nope]\n"                         /* 9 */
		      "ignored = 1\n"                    /* 10 (in unknown section) */
		      "[relief]\n"                       /* 11 */
		      "rate = 0\n"                       /* 12 */
		      "[fence]\n"                        /* 13 */
		      "private_nodes = 1\n"              /* 14 */
		      "[grant g]\n"                      /* 15 missing cgroup */
		      "nodes = 1-2\n");                  /* 16 not private */
	struct tier_config_errors e = { 0 };
	assert_null(tier_config_load(p, NULL, false, &e));
	static const struct {
		int line;
		const char *sub;
	} want[] = {
		{ 1, "stray: key outside of any section" },
		{ 4, "[daemon] interval: duplicate key (already set at line 3)" },
		{ 7, "[guard] trip_at: expected min, low or high" },
		{ 8, "expected 'key = value'" },
		{ 9, "[nope]: unknown section" },
		{ 12, "[relief] rate: expected a size from 1M to 100G, got '0'" },
		{ 5, "[daemon] max_interval: max_interval = 100ms" },
		{ 15, "[grant g]: missing required key cgroup" },
		{ 16, "[grant g] nodes: 2 not in [fence] private_nodes = 1 (line 14)" },
	};
	size_t n = sizeof(want) / sizeof(want[0]);
	if (e.nr != n)
		print_errors(&e);
	assert_int_equal(e.nr, n);
	for (size_t i = 0; i < n; i++) {
		char prefix[4200];
		snprintf(prefix, sizeof(prefix), "%s:%d: ", p, want[i].line);
		if (strncmp(e.msgs[i], prefix, strlen(prefix)) != 0 || !strstr(e.msgs[i], want[i].sub)) {
			print_errors(&e);
			fail_msg("error %zu: want %s%s", i, prefix, want[i].sub);
		}
	}
	tier_config_errors_clear(&e);
	tu_rm_rf(dir);
	free(p);
	free(dir);
}

static void test_error_cap(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	char *p = path_in(dir, "t.conf");
	size_t cap = 300 * 16 + 16;
	char *text = malloc(cap);
	size_t o = (size_t)snprintf(text, cap, "[daemon]\n");
	for (int i = 0; i < 300; i++)
		o += (size_t)snprintf(text + o, cap - o, "bogus%d = 1\n", i);
	tu_write_file(dir, "t.conf", text);
	struct tier_config_errors e = { 0 };
	assert_null(tier_config_load(p, NULL, false, &e));
	assert_int_equal(e.nr, TIER_CONFIG_MAX_ERRORS + 1);
	assert_string_equal(e.msgs[TIER_CONFIG_MAX_ERRORS], "too many errors, the rest are not shown");
	tier_config_errors_clear(&e);
	free(text);
	tu_rm_rf(dir);
	free(p);
	free(dir);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Every tests/unit/config-corpus/NN-name.conf starts with one or more
 * "# expect: LINE: SUBSTRING" lines; loading it must fail with exactly those
 * errors, each "PATH:LINE: ..." containing its substring.
 */
static void test_corpus(void **state)
{
	(void)state;
	const char *cdir = TIER_SOURCE_DIR "/tests/unit/config-corpus";
	DIR *d = opendir(cdir);
	assert_non_null(d);
	char *names[512];
	size_t nn = 0;
	struct dirent *de;
	while ((de = readdir(d)) && nn < 512) {
		size_t l = strlen(de->d_name);
		if (l > 5 && strcmp(de->d_name + l - 5, ".conf") == 0)
			names[nn++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, nn, sizeof(char *), cmp_names);
	assert_true(nn >= 30);

	unsigned failures = 0;
	for (size_t f = 0; f < nn; f++) {
		char *path = path_in(cdir, names[f]);
		char *text = tu_read_file(path);
		assert_non_null(text);
		struct tier_config_errors e = { 0 };
		struct tier_config *c = tier_config_load(path, NULL, false, &e);
		unsigned nexpect = 0;
		bool ok = c == NULL;
		for (char *line = text; strncmp(line, "# expect: ", 10) == 0;) {
			char *nl = strchr(line, '\n');
			assert_non_null(nl);
			*nl = '\0';
			char *colon = NULL;
			long ln = strtol(line + 10, &colon, 10);
			assert_true(ln > 0 && colon[0] == ':' && colon[1] == ' ');
			char prefix[4200];
			snprintf(prefix, sizeof(prefix), "%s:%ld: ", path, ln);
			if (!has_error(&e, prefix, colon + 2)) {
				print_message("%s: missing expected error '%s%s'\n", names[f], prefix, colon + 2);
				ok = false;
			}
			nexpect++;
			line = nl + 1;
		}
		if (nexpect == 0) {
			print_message("%s: no '# expect: LINE: TEXT' line\n", names[f]);
			ok = false;
		}
		if (e.nr != nexpect) {
			print_message("%s: %u errors, expected %u\n", names[f], e.nr, nexpect);
			ok = false;
		}
		if (!ok) {
			print_errors(&e);
			failures++;
		}
		tier_config_free(c);
		tier_config_errors_clear(&e);
		free(text);
		free(path);
		free(names[f]);
	}
	if (failures)
		fail_msg("%u corpus file(s) failed", failures);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_shipped_conf),
		cmocka_unit_test(test_shipped_conf_uncommented),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_dropin_order),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_cross_field_ok),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
