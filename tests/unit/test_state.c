/* SPDX-License-Identifier: MIT */
/* The state file: record/forget semantics, restore order and failures, JSON
 * round trip, strict load, atomic save. */
/* O_PATH, scandir */
#define _GNU_SOURCE
#include "testutil.h"

#include <tier/state.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEMOTION "sys/kernel/mm/numa/demotion_enabled"
#define ROOT_SUBTREE "sys/fs/cgroup/cgroup.subtree_control"
#define DB_MEMS "sys/fs/cgroup/db.slice/cpuset.mems"
#define DB_CHILD_MEMS "sys/fs/cgroup/db.slice/pg.service/cpuset.mems"
#define UNIT_KEY "db.slice/AllowedMemoryNodes"

/* The n-th live entry in recording order (holes skipped). */
static const struct tier_state_entry *nth(const struct tier_state *st, size_t n)
{
	size_t cur = 0;
	const struct tier_state_entry *e;
	while ((e = tier_state_next(st, &cur)))
		if (n-- == 0)
			return e;
	fail_msg("no entry %zu", n);
	return NULL;
}

struct tmpdir {
	char path[64];
	int fd;
};

static void tmpdir_open(struct tmpdir *t)
{
	strcpy(t->path, "/tmp/tier-state-XXXXXX");
	assert_non_null(mkdtemp(t->path));
	t->fd = open(t->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(t->fd >= 0);
}

static void tmpdir_close(struct tmpdir *t)
{
	close(t->fd);
	tu_rm_rf(t->path);
}

/* Names in the directory, sorted, joined by ' ' ("" when empty). */
static char *list_dir(const char *path)
{
	struct dirent **names;
	int n = scandir(path, &names, NULL, alphasort);
	assert_true(n >= 0);
	char *out = calloc(1, 4096);
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
			if (*out)
				strcat(out, " ");
			strncat(out, names[i]->d_name, 4000 - strlen(out));
		}
		free(names[i]);
	}
	free(names);
	return out;
}

static void write_at(struct tmpdir *t, const char *name, const char *text)
{
	tu_write_file(t->path, name, text);
}

/* A state with one entry of each kind, in the order the daemon would change
 * them: enable cpuset at the root, fence a slice and its child, then the
 * knob and a unit property. */
static struct tier_state *sample_state(void)
{
	struct tier_state *st = tier_state_new();
	assert_non_null(st);
	assert_int_equal(tier_state_record(st, TIER_STATE_SUBTREE_CONTROL, ROOT_SUBTREE, "memory pids\n", 100), 1);
	assert_int_equal(tier_state_record(st, TIER_STATE_CPUSET_MEMS, DB_MEMS, "\n", 200), 1);
	assert_int_equal(tier_state_record(st, TIER_STATE_CPUSET_MEMS, DB_CHILD_MEMS, "0-1\n", 300), 1);
	assert_int_equal(tier_state_record(st, TIER_STATE_KNOB, DEMOTION, "true\n", 1700000000123456789ull), 1);
	assert_int_equal(tier_state_record(st, TIER_STATE_UNIT_PROPERTY, UNIT_KEY, "", UINT64_MAX), 1);
	return st;
}

/* ---- record / find / forget ---- */

static void test_record_strips_newline_keeps_rest(void **state)
{
	(void)state;
	struct tier_state *st = tier_state_new();
	assert_int_equal(tier_state_record(st, TIER_STATE_KNOB, DEMOTION, " true \n\n", 5), 1);
	const struct tier_state_entry *e = tier_state_find(st, TIER_STATE_KNOB, DEMOTION);
	assert_non_null(e);
	assert_string_equal(e->original, " true ");
	assert_int_equal(e->recorded_usec, 5);
	assert_int_equal(e->kind, TIER_STATE_KNOB);
	/* Same key, other kind: not the same entry. */
	assert_null(tier_state_find(st, TIER_STATE_CPUSET_MEMS, DEMOTION));
	assert_null(tier_state_find(st, TIER_STATE_KNOB, "sys/kernel/mm/numa/other"));
	tier_state_free(st);
}

static void test_first_original_wins(void **state)
{
	(void)state;
	struct tier_state *st = tier_state_new();
	assert_int_equal(tier_state_record(st, TIER_STATE_KNOB, DEMOTION, "true\n", 10), 1);
	/* tierd wrote "false"; a later change records "false" as "before":
	 * that must not replace the host's value. */
	assert_int_equal(tier_state_record(st, TIER_STATE_KNOB, DEMOTION, "false\n", 20), 0);
	assert_int_equal(st->nr, 1);
	const struct tier_state_entry *e = tier_state_find(st, TIER_STATE_KNOB, DEMOTION);
	assert_string_equal(e->original, "true");
	assert_int_equal(e->recorded_usec, 10);
	tier_state_free(st);
}

static void test_forget(void **state)
{
	(void)state;
	struct tier_state *st = sample_state();
	assert_int_equal(tier_state_forget(st, TIER_STATE_CPUSET_MEMS, DB_MEMS), 0);
	assert_int_equal(st->nr, 4);
	assert_null(tier_state_find(st, TIER_STATE_CPUSET_MEMS, DB_MEMS));
	/* Order of the others kept. */
	assert_string_equal(nth(st, 0)->key, ROOT_SUBTREE);
	assert_string_equal(nth(st, 1)->key, DB_CHILD_MEMS);
	assert_string_equal(nth(st, 2)->key, DEMOTION);
	assert_string_equal(nth(st, 3)->key, UNIT_KEY);
	assert_int_equal(tier_state_forget(st, TIER_STATE_CPUSET_MEMS, DB_MEMS), -ENOENT);
	/* Wrong kind does not match. */
	assert_int_equal(tier_state_forget(st, TIER_STATE_CPUSET_MEMS, DEMOTION), -ENOENT);
	/* Forget then record again: the new value is the original now. */
	assert_int_equal(tier_state_forget(st, TIER_STATE_KNOB, DEMOTION), 0);
	assert_int_equal(tier_state_record(st, TIER_STATE_KNOB, DEMOTION, "false", 7), 1);
	assert_string_equal(tier_state_find(st, TIER_STATE_KNOB, DEMOTION)->original, "false");
	assert_int_equal(st->nr, 4);
	assert_string_equal(nth(st, 3)->key, DEMOTION);
	tier_state_free(st);
}

static void test_key_validation(void **state)
{
	(void)state;
	assert_true(tier_state_key_valid(TIER_STATE_KNOB, DEMOTION));
	assert_true(tier_state_key_valid(TIER_STATE_KNOB, "proc/sys/kernel/numa_balancing"));
	assert_false(tier_state_key_valid(TIER_STATE_KNOB, "/" DEMOTION));
	assert_false(tier_state_key_valid(TIER_STATE_KNOB, "etc/passwd"));
	assert_false(tier_state_key_valid(TIER_STATE_KNOB, "sys/../etc/passwd"));
	assert_false(tier_state_key_valid(TIER_STATE_KNOB, "sys/kernel//mm"));
	assert_false(tier_state_key_valid(TIER_STATE_KNOB, "sys/kernel/mm/"));
	assert_false(tier_state_key_valid(TIER_STATE_KNOB, "sys/./kernel"));
	assert_false(tier_state_key_valid(TIER_STATE_KNOB, ""));
	assert_false(tier_state_key_valid(TIER_STATE_KNOB, NULL));
	assert_true(tier_state_key_valid(TIER_STATE_CPUSET_MEMS, DB_MEMS));
	assert_true(tier_state_key_valid(TIER_STATE_CPUSET_MEMS, "dev/cpuset/a/cpuset.mems"));
	assert_false(tier_state_key_valid(TIER_STATE_CPUSET_MEMS, "sys/fs/cgroup/db.slice/cpuset.cpus"));
	assert_false(tier_state_key_valid(TIER_STATE_CPUSET_MEMS, "sys/fs/cgroup/../../x/cpuset.mems"));
	assert_true(tier_state_key_valid(TIER_STATE_SUBTREE_CONTROL, ROOT_SUBTREE));
	assert_false(tier_state_key_valid(TIER_STATE_SUBTREE_CONTROL, DB_MEMS));
	assert_true(tier_state_key_valid(TIER_STATE_UNIT_PROPERTY, UNIT_KEY));
	assert_true(tier_state_key_valid(TIER_STATE_UNIT_PROPERTY, "system-getty.slice/AllowedMemoryNodes"));
	assert_false(tier_state_key_valid(TIER_STATE_UNIT_PROPERTY, "db.slice"));
	assert_false(tier_state_key_valid(TIER_STATE_UNIT_PROPERTY, "/AllowedMemoryNodes"));
	assert_false(tier_state_key_valid(TIER_STATE_UNIT_PROPERTY, "db.slice/"));
	assert_false(tier_state_key_valid(TIER_STATE_UNIT_PROPERTY, "a/b.slice/AllowedMemoryNodes"));
	assert_false(tier_state_key_valid(TIER_STATE_UNIT_PROPERTY, "db.slice/Allowed-Nodes"));
	assert_false(tier_state_key_valid(TIER_STATE_NR_KINDS, DEMOTION));

	struct tier_state *st = tier_state_new();
	assert_int_equal(tier_state_record(st, TIER_STATE_KNOB, "../etc/shadow", "x", 1), -EINVAL);
	assert_int_equal(tier_state_record(st, (enum tier_state_kind)17, DEMOTION, "x", 1), -EINVAL);
	assert_int_equal(tier_state_record(st, TIER_STATE_KNOB, DEMOTION, NULL, 1), -EINVAL);
	assert_int_equal(st->nr, 0);
	tier_state_free(st);

	char unit[32];
	const char *prop = NULL;
	assert_int_equal(tier_state_split_unit_key(UNIT_KEY, unit, sizeof(unit), &prop), 0);
	assert_string_equal(unit, "db.slice");
	assert_string_equal(prop, "AllowedMemoryNodes");
	assert_int_equal(tier_state_split_unit_key(UNIT_KEY, unit, 8, &prop), -ENAMETOOLONG);
	assert_int_equal(tier_state_split_unit_key("nounit", unit, sizeof(unit), &prop), -EINVAL);

	enum tier_state_kind k;
	for (unsigned i = 0; i < TIER_STATE_NR_KINDS; i++) {
		assert_int_equal(tier_state_kind_parse(tier_state_kind_name((enum tier_state_kind)i), &k), 0);
		assert_int_equal(k, i);
	}
	assert_int_equal(tier_state_kind_parse("Knob", &k), -EINVAL);
	assert_null(tier_state_kind_name(TIER_STATE_NR_KINDS));
}

/* ---- restore ---- */

struct fake {
	char calls[16][160];
	int nr_calls;
	char notes[16][160];
	int nr_notes;
	/* write result per key; 0 when not listed */
	const char *fail_key[4];
	int fail_err[4];
};

static int fake_write(void *ctx, enum tier_state_kind kind, const char *key, const char *value)
{
	struct fake *f = ctx;
	assert_true(f->nr_calls < 16);
	snprintf(f->calls[f->nr_calls++], 160, "%s %s=%s", tier_state_kind_name(kind), key, value);
	for (int i = 0; i < 4; i++)
		if (f->fail_key[i] && strcmp(f->fail_key[i], key) == 0)
			return f->fail_err[i];
	return 0;
}

static void fake_note(void *ctx, enum tier_state_kind kind, const char *key, int err)
{
	struct fake *f = ctx;
	assert_true(f->nr_notes < 16);
	snprintf(f->notes[f->nr_notes++], 160, "%s %s %d", tier_state_kind_name(kind), key, err);
}

static const struct tier_restore_ops fake_ops = { .write = fake_write, .note = fake_note };

static void test_restore_reverse_order(void **state)
{
	(void)state;
	struct tier_state *st = sample_state();
	/* Record twice after the fact: must not move the entry to the end. */
	assert_int_equal(tier_state_record(st, TIER_STATE_SUBTREE_CONTROL, ROOT_SUBTREE, "cpuset memory pids", 999), 0);
	struct fake f = { 0 };
	struct tier_state *left = tier_state_new();
	assert_int_equal(tier_state_restore(st, &fake_ops, &f, left), 0);
	assert_int_equal(f.nr_calls, 5);
	assert_string_equal(f.calls[0], "unit_property " UNIT_KEY "=");
	assert_string_equal(f.calls[1], "knob " DEMOTION "=true");
	assert_string_equal(f.calls[2], "cpuset_mems " DB_CHILD_MEMS "=0-1");
	assert_string_equal(f.calls[3], "cpuset_mems " DB_MEMS "=");
	assert_string_equal(f.calls[4], "subtree_control " ROOT_SUBTREE "=memory pids");
	assert_int_equal(f.nr_notes, 0);
	assert_int_equal(left->nr, 0);
	/* The source is not changed. */
	assert_int_equal(st->nr, 5);
	tier_state_free(left);
	tier_state_free(st);
}

static void test_restore_vanished_key(void **state)
{
	(void)state;
	struct tier_state *st = sample_state();
	struct fake f = { .fail_key = { DB_CHILD_MEMS }, .fail_err = { -ENOENT } };
	struct tier_state *left = tier_state_new();
	assert_int_equal(tier_state_restore(st, &fake_ops, &f, left), 0);
	/* Every entry was tried, the vanished one noted and dropped. */
	assert_int_equal(f.nr_calls, 5);
	assert_int_equal(f.nr_notes, 1);
	char want[160];
	snprintf(want, sizeof(want), "cpuset_mems %s %d", DB_CHILD_MEMS, -ENOENT);
	assert_string_equal(f.notes[0], want);
	assert_int_equal(left->nr, 0);
	tier_state_free(left);
	tier_state_free(st);
}

static void test_restore_failing_write_kept(void **state)
{
	(void)state;
	struct tier_state *st = sample_state();
	struct fake f = { .fail_key = { ROOT_SUBTREE, DEMOTION, DB_MEMS },
			  .fail_err = { -EBUSY, -EACCES, -ENOENT } };
	struct tier_state *left = tier_state_new();
	assert_int_equal(tier_state_restore(st, &fake_ops, &f, left), 2);
	assert_int_equal(f.nr_calls, 5);
	assert_int_equal(f.nr_notes, 3);
	/* Kept in recording order with the host's value and timestamp. */
	assert_int_equal(left->nr, 2);
	assert_int_equal(left->entries[0].kind, TIER_STATE_SUBTREE_CONTROL);
	assert_string_equal(left->entries[0].key, ROOT_SUBTREE);
	assert_string_equal(left->entries[0].original, "memory pids");
	assert_int_equal(left->entries[0].recorded_usec, 100);
	assert_string_equal(left->entries[1].key, DEMOTION);
	assert_string_equal(left->entries[1].original, "true");
	assert_int_equal(left->entries[1].recorded_usec, 1700000000123456789ull);

	/* Retry with everything working now: the remainder empties. */
	struct fake f2 = { 0 };
	struct tier_state *left2 = tier_state_new();
	assert_int_equal(tier_state_restore(left, &fake_ops, &f2, left2), 0);
	assert_int_equal(f2.nr_calls, 2);
	assert_string_equal(f2.calls[0], "knob " DEMOTION "=true");
	assert_int_equal(left2->nr, 0);

	/* A key already in `remaining` keeps remaining's value; NULL remaining
	 * only counts. */
	struct tier_state *pre = tier_state_new();
	assert_int_equal(tier_state_record(pre, TIER_STATE_KNOB, DEMOTION, "older", 1), 1);
	struct fake f3 = { .fail_key = { ROOT_SUBTREE, DEMOTION }, .fail_err = { -EIO, -EIO } };
	assert_int_equal(tier_state_restore(st, &fake_ops, &f3, pre), 2);
	assert_int_equal(pre->nr, 2);
	assert_string_equal(tier_state_find(pre, TIER_STATE_KNOB, DEMOTION)->original, "older");
	assert_string_equal(tier_state_find(pre, TIER_STATE_SUBTREE_CONTROL, ROOT_SUBTREE)->original, "memory pids");
	struct fake f4 = { .fail_key = { UNIT_KEY }, .fail_err = { -EIO } };
	assert_int_equal(tier_state_restore(st, &fake_ops, &f4, NULL), 1);
	/* remaining must not alias the source. */
	assert_int_equal(tier_state_restore(st, &fake_ops, &f4, st), -EINVAL);

	tier_state_free(pre);
	tier_state_free(left2);
	tier_state_free(left);
	tier_state_free(st);
}

static void test_restore_without_note(void **state)
{
	(void)state;
	struct tier_state *st = sample_state();
	struct fake f = { .fail_key = { DB_MEMS, UNIT_KEY }, .fail_err = { -ENOENT, -EPERM } };
	const struct tier_restore_ops ops = { .write = fake_write };
	struct tier_state *left = tier_state_new();
	assert_int_equal(tier_state_restore(st, &ops, &f, left), 1);
	assert_int_equal(left->nr, 1);
	assert_string_equal(left->entries[0].key, UNIT_KEY);
	tier_state_free(left);
	tier_state_free(st);
}

/* ---- file ---- */

static void test_round_trip(void **state)
{
	(void)state;
	struct tmpdir t;
	tmpdir_open(&t);
	struct tier_state *st = sample_state();
	/* Characters JSON must escape survive. */
	assert_int_equal(tier_state_record(st, TIER_STATE_KNOB, "proc/sys/kernel/numa_balancing",
					   "a \"q\" \\ \t/", 42), 1);
	assert_int_equal(tier_state_save_at(t.fd, "state.json", st), 0);

	char path[128];
	snprintf(path, sizeof(path), "%s/state.json", t.path);
	char *text = tu_read_file(path);
	assert_non_null(text);
	/* Readable for the admin: slashes not escaped, one entry per kind. */
	assert_non_null(strstr(text, "\"" DEMOTION "\""));
	assert_non_null(strstr(text, "\"version\": 1"));
	free(text);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	struct tier_state *back = NULL;
	char err[256] = "unchanged";
	assert_int_equal(tier_state_load_at(t.fd, "state.json", &back, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_non_null(back);
	assert_int_equal(back->pid, getpid());
	assert_int_equal(back->nr, st->nr);
	for (size_t i = 0; i < st->nr; i++) {
		assert_int_equal(back->entries[i].kind, st->entries[i].kind);
		assert_string_equal(back->entries[i].key, st->entries[i].key);
		assert_string_equal(back->entries[i].original, st->entries[i].original);
		assert_true(back->entries[i].recorded_usec == st->entries[i].recorded_usec);
	}
	assert_true(back->entries[4].recorded_usec == UINT64_MAX);
	assert_string_equal(back->entries[5].original, "a \"q\" \\ \t/");

	/* An empty state round-trips too. */
	struct tier_state *empty = tier_state_new();
	assert_int_equal(tier_state_save_at(t.fd, "empty.json", empty), 0);
	struct tier_state *eback = NULL;
	assert_int_equal(tier_state_load_at(t.fd, "empty.json", &eback, err, sizeof(err)), 0);
	assert_int_equal(eback->nr, 0);

	tier_state_free(eback);
	tier_state_free(empty);
	tier_state_free(back);
	tier_state_free(st);
	tmpdir_close(&t);
}

static void test_save_leaves_no_temp_files(void **state)
{
	(void)state;
	struct tmpdir t;
	tmpdir_open(&t);
	struct tier_state *st = sample_state();
	assert_int_equal(tier_state_save_at(t.fd, "state.json", st), 0);
	/* Overwrite in place with a changed state. */
	assert_int_equal(tier_state_forget(st, TIER_STATE_KNOB, DEMOTION), 0);
	assert_int_equal(tier_state_save_at(t.fd, "state.json", st), 0);
	char *names = list_dir(t.path);
	assert_string_equal(names, "state.json");
	free(names);
	struct tier_state *back = NULL;
	assert_int_equal(tier_state_load_at(t.fd, "state.json", &back, NULL, 0), 0);
	assert_int_equal(back->nr, 4);
	assert_null(tier_state_find(back, TIER_STATE_KNOB, DEMOTION));
	tier_state_free(back);

	/* A failing rename (a directory is in the way) removes the temp file. */
	assert_int_equal(mkdirat(t.fd, "blocked", 0755), 0);
	int r = tier_state_save_at(t.fd, "blocked", st);
	assert_true(r == -EISDIR || r == -ENOTEMPTY || r == -EEXIST);
	names = list_dir(t.path);
	assert_string_equal(names, "blocked state.json");
	free(names);

	/* An O_PATH directory fd works (the dir fsync reopens it). */
	int pfd = open(t.path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(pfd >= 0);
	assert_int_equal(tier_state_save_at(pfd, "viapath.json", st), 0);
	close(pfd);
	names = list_dir(t.path);
	assert_string_equal(names, "blocked state.json viapath.json");
	free(names);

	assert_int_equal(tier_state_save_at(t.fd, "a/b", st), -EINVAL);
	tier_state_free(st);
	tmpdir_close(&t);
}

static void test_absent_and_remove(void **state)
{
	(void)state;
	struct tmpdir t;
	tmpdir_open(&t);
	struct tier_state *back = (struct tier_state *)&back; /* must be reset to NULL */
	char err[256];
	assert_int_equal(tier_state_load_at(t.fd, "state.json", &back, err, sizeof(err)), -ENOENT);
	assert_null(back);
	assert_int_equal(tier_state_remove_at(t.fd, "state.json"), 0);

	struct tier_state *st = sample_state();
	assert_int_equal(tier_state_save_at(t.fd, "state.json", st), 0);
	assert_int_equal(tier_state_remove_at(t.fd, "state.json"), 0);
	char *names = list_dir(t.path);
	assert_string_equal(names, "");
	free(names);
	assert_int_equal(tier_state_load_at(t.fd, "state.json", &back, err, sizeof(err)), -ENOENT);
	tier_state_free(st);
	tmpdir_close(&t);
}

/* Load `text` as a state file: expect error r and a message containing
 * `needle` and the file name. */
static void expect_bad(struct tmpdir *t, const char *text, int r, const char *needle)
{
	write_at(t, "bad.json", text);
	struct tier_state *back = (struct tier_state *)&back;
	char err[256] = "";
	int got = tier_state_load_at(t->fd, "bad.json", &back, err, sizeof(err));
	if (got != r || !strstr(err, needle) || !strstr(err, "bad.json"))
		fail_msg("for %s\n got %d \"%s\", want %d containing \"%s\"", text, got, err, r, needle);
	assert_null(back);
}

#define ENTRY(kind, key) "{\"kind\":\"" kind "\",\"key\":\"" key "\",\"original\":\"x\",\"recorded_usec\":1}"
#define FILE_OF(entries) "{\"version\":1,\"pid\":12,\"entries\":[" entries "]}"

static void test_malformed_files(void **state)
{
	(void)state;
	struct tmpdir t;
	tmpdir_open(&t);

	/* Sanity: the builders make a valid file. */
	write_at(&t, "good.json", FILE_OF(ENTRY("knob", DEMOTION) "," ENTRY("cpuset_mems", DB_MEMS)));
	struct tier_state *good = NULL;
	assert_int_equal(tier_state_load_at(t.fd, "good.json", &good, NULL, 0), 0);
	assert_int_equal(good->nr, 2);
	assert_int_equal(good->pid, 12);
	tier_state_free(good);

	/* Truncated: a real saved file cut in half. */
	struct tier_state *st = sample_state();
	assert_int_equal(tier_state_save_at(t.fd, "full.json", st), 0);
	tier_state_free(st);
	char path[128];
	snprintf(path, sizeof(path), "%s/full.json", t.path);
	char *full = tu_read_file(path);
	full[strlen(full) / 2] = '\0';
	expect_bad(&t, full, -EINVAL, "truncated");
	free(full);

	expect_bad(&t, "", -EINVAL, "empty");
	expect_bad(&t, "{\"version\":2,\"pid\":1,\"entries\":[]}", -EPROTO, "version 2");
	expect_bad(&t, "{\"version\":2,\"pid\":1,\"entries\":[],\"new\":true}", -EPROTO, "version");
	expect_bad(&t, "{\"version\":\"1\",\"pid\":1,\"entries\":[]}", -EINVAL, "version");
	expect_bad(&t, "{\"pid\":1,\"entries\":[]}", -EINVAL, "version");
	expect_bad(&t, "[1,2]", -EINVAL, "not a JSON object");
	expect_bad(&t, "{\"version\":1,\"entries\":[]}", -EINVAL, "pid");
	expect_bad(&t, "{\"version\":1,\"pid\":-3,\"entries\":[]}", -EINVAL, "pid");
	expect_bad(&t, "{\"version\":1,\"pid\":1}", -EINVAL, "entries");
	expect_bad(&t, "{\"version\":1,\"pid\":1,\"entries\":{}}", -EINVAL, "entries");
	expect_bad(&t, "{\"version\":1,\"pid\":1,\"entries\":[],\"extra\":0}", -EINVAL, "unknown member \"extra\"");
	/* json-c's strict mode stops at the first byte after the object; the
	 * message points there (0-based). */
	char needle[64];
	snprintf(needle, sizeof(needle), "byte %zu: ", strlen(FILE_OF(ENTRY("knob", DEMOTION))));
	expect_bad(&t, FILE_OF(ENTRY("knob", DEMOTION)) "{}", -EINVAL, needle);
	expect_bad(&t, FILE_OF("3"), -EINVAL, "entry 0: not an object");
	expect_bad(&t, FILE_OF(ENTRY("knob", DEMOTION) "," ENTRY("bogus", DEMOTION)), -EINVAL,
		   "entry 1: unknown kind \"bogus\"");
	expect_bad(&t, FILE_OF(ENTRY("knob", "../../etc/shadow")), -EINVAL, "invalid key");
	expect_bad(&t, FILE_OF(ENTRY("cpuset_mems", "/sys/fs/cgroup/a/cpuset.mems")), -EINVAL, "invalid key");
	expect_bad(&t, FILE_OF(ENTRY("knob", DEMOTION) "," ENTRY("knob", DEMOTION)), -EINVAL, "duplicate");
	expect_bad(&t, FILE_OF("{\"kind\":\"knob\",\"key\":\"" DEMOTION "\",\"original\":1,\"recorded_usec\":1}"),
		   -EINVAL, "original");
	expect_bad(&t, FILE_OF("{\"kind\":\"knob\",\"key\":\"" DEMOTION "\",\"original\":\"x\"}"), -EINVAL,
		   "recorded_usec");
	expect_bad(&t, FILE_OF("{\"kind\":\"knob\",\"key\":\"" DEMOTION "\",\"original\":\"x\",\"recorded_usec\":-1}"),
		   -EINVAL, "negative");
	expect_bad(&t, FILE_OF("{\"kind\":\"knob\",\"key\":\"" DEMOTION "\",\"original\":\"x\",\"recorded_usec\":1,\"z\":1}"),
		   -EINVAL, "unknown member \"z\"");
	expect_bad(&t, FILE_OF("{\"kind\":\"knob\",\"key\":\"" DEMOTION "\",\"original\":\"a\\u0000b\",\"recorded_usec\":1}"),
		   -EINVAL, "NUL");
	/* Not JSON at all; a trailing comma (json-c accepts it unless strict). */
	expect_bad(&t, "version=1\n", -EINVAL, "bad.json: ");
	expect_bad(&t, FILE_OF(ENTRY("knob", DEMOTION) ","), -EINVAL, "bad.json: ");

	/* A directory where the file should be. */
	assert_int_equal(mkdirat(t.fd, "dir.json", 0755), 0);
	struct tier_state *back = NULL;
	char err[256] = "";
	assert_true(tier_state_load_at(t.fd, "dir.json", &back, err, sizeof(err)) < 0);
	assert_null(back);
	assert_non_null(strstr(err, "dir.json"));
	tmpdir_close(&t);
}


/* Many entries (a fence pass over 10,000 cgroups records one each): every
 * lookup finds its own entry, before and after forgetting some, and the
 * order of recording is kept. */
static void test_many_entries(void **state)
{
	(void)state;
	enum { N = 10000 };
	struct tier_state *st = tier_state_new();
	char key[128], val[32];
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "sys/fs/cgroup/a%d/b/cpuset.mems", i);
		snprintf(val, sizeof(val), "%d", i);
		assert_int_equal(tier_state_record(st, TIER_STATE_CPUSET_MEMS, key, val, (uint64_t)i), 1);
	}
	assert_int_equal(st->nr, N);
	/* a second record of a key keeps the first original */
	assert_int_equal(tier_state_record(st, TIER_STATE_CPUSET_MEMS, "sys/fs/cgroup/a7/b/cpuset.mems", "x", 0), 0);
	/* the same path under another kind is another entry */
	assert_null(tier_state_find(st, TIER_STATE_KNOB, "sys/fs/cgroup/a7/b/cpuset.mems"));
	for (int i = 0; i < N; i += 3) {
		snprintf(key, sizeof(key), "sys/fs/cgroup/a%d/b/cpuset.mems", i);
		assert_int_equal(tier_state_forget(st, TIER_STATE_CPUSET_MEMS, key), 0);
	}
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "sys/fs/cgroup/a%d/b/cpuset.mems", i);
		const struct tier_state_entry *e = tier_state_find(st, TIER_STATE_CPUSET_MEMS, key);
		if (i % 3 == 0) {
			assert_null(e);
		} else {
			assert_non_null(e);
			snprintf(val, sizeof(val), "%d", i);
			assert_string_equal(e->original, val);
		}
	}
	/* order of first recording survives the forgets */
	size_t cur = 0, seen = 0;
	uint64_t last = 0;
	for (const struct tier_state_entry *e; (e = tier_state_next(st, &cur)); seen++) {
		assert_true(seen == 0 || e->recorded_usec > last);
		last = e->recorded_usec;
	}
	assert_int_equal(seen, st->nr);
	tier_state_free(st);
}

/* issue 12: forget must not rebuild the index per call.  100,000 records
 * and then 100,000 forgets (in an order unrelated to the recording, and a
 * second round interleaved with new records) do O(n) work: counted in
 * index probes, rebuilds, re-inserted and moved entries, not in seconds. */
static void test_linear_record_forget(void **state)
{
	(void)state;
	enum { N = 100000 };
	struct tier_state *st = tier_state_new();
	char key[96];
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "sys/fs/cgroup/s%d/c%d/cpuset.mems", i % 97, i);
		assert_int_equal(tier_state_record(st, TIER_STATE_CPUSET_MEMS, key, "0-1", (uint64_t)i), 1);
	}
	uint64_t rebuilds_after_records = st->stats.rebuilds;
	/* growth doubles: about log2(N / 8) rebuilds */
	assert_true(rebuilds_after_records <= 20);
	for (int k = 0; k < N; k++) {
		int i = (int)(((uint64_t)k * 7919u) % N);   /* a permutation: 7919 is prime, N not a multiple */
		snprintf(key, sizeof(key), "sys/fs/cgroup/s%d/c%d/cpuset.mems", i % 97, i);
		assert_int_equal(tier_state_forget(st, TIER_STATE_CPUSET_MEMS, key), 0);
		if (k % 4 == 0) {   /* churn: new records between the forgets */
			snprintf(key, sizeof(key), "sys/fs/cgroup/new/n%d/cpuset.mems", k);
			assert_int_equal(tier_state_record(st, TIER_STATE_CPUSET_MEMS, key, "", 1), 1);
		}
	}
	assert_int_equal(st->nr, N / 4);
	uint64_t ops = 2u * N + N / 4;
	/* A rebuild per forget would be N rebuilds re-inserting O(N^2)
	 * entries (about 5e9): the bounds below are linear with room. */
	assert_true(st->stats.rebuilds <= rebuilds_after_records + 64);
	assert_true(st->stats.rehashed <= 8u * ops);
	assert_true(st->stats.moved <= 4u * ops);
	assert_true(st->stats.probes <= 8u * ops);
	assert_true(st->stats.compactions >= 1);        /* holes were squeezed out */
	assert_true(st->len <= 2 * st->nr + 33);         /* and stay bounded */
	/* every survivor is still found, every forgotten one is not */
	for (int k = 0; k < N; k += 4) {
		snprintf(key, sizeof(key), "sys/fs/cgroup/new/n%d/cpuset.mems", k);
		assert_non_null(tier_state_find(st, TIER_STATE_CPUSET_MEMS, key));
	}
	for (int i = 0; i < N; i += 1000) {
		snprintf(key, sizeof(key), "sys/fs/cgroup/s%d/c%d/cpuset.mems", i % 97, i);
		assert_null(tier_state_find(st, TIER_STATE_CPUSET_MEMS, key));
	}
	tier_state_free(st);
}

/* A record counts as saved only after a commit that came after it; a
 * failed commit saves nothing; commit of an empty state removes the file;
 * a loaded state is saved as a whole. */
static void test_saved_and_commit(void **state)
{
	(void)state;
	struct tmpdir t;
	tmpdir_open(&t);
	struct tier_state *st = tier_state_new();
	assert_false(st->dirty);
	assert_int_equal(tier_state_record(st, TIER_STATE_CPUSET_MEMS, DB_MEMS, "0-1", 1), 1);
	assert_true(st->dirty);
	assert_false(tier_state_saved(st, TIER_STATE_CPUSET_MEMS, DB_MEMS));
	assert_int_equal(tier_state_commit_at(t.fd, "state.json", st), 0);
	assert_int_equal(st->commits, 1);
	assert_false(st->dirty);
	assert_true(tier_state_saved(st, TIER_STATE_CPUSET_MEMS, DB_MEMS));
	assert_int_equal(tier_state_record(st, TIER_STATE_CPUSET_MEMS, DB_CHILD_MEMS, "", 2), 1);
	assert_false(tier_state_saved(st, TIER_STATE_CPUSET_MEMS, DB_CHILD_MEMS));
	assert_true(tier_state_saved(st, TIER_STATE_CPUSET_MEMS, DB_MEMS));
	/* a commit that fails (no such directory entry to write into) saves nothing */
	int bad = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(tier_state_commit_at(bad, "state.json", st) < 0);
	close(bad);
	assert_false(tier_state_saved(st, TIER_STATE_CPUSET_MEMS, DB_CHILD_MEMS));
	assert_int_equal(st->commits, 1);
	assert_int_equal(tier_state_commit_at(t.fd, "state.json", st), 0);
	assert_true(tier_state_saved(st, TIER_STATE_CPUSET_MEMS, DB_CHILD_MEMS));

	struct tier_state *back = NULL;
	char err[256];
	assert_int_equal(tier_state_load_at(t.fd, "state.json", &back, err, sizeof(err)), 0);
	assert_true(tier_state_saved(back, TIER_STATE_CPUSET_MEMS, DB_MEMS));
	assert_true(tier_state_saved(back, TIER_STATE_CPUSET_MEMS, DB_CHILD_MEMS));
	assert_false(back->dirty);
	tier_state_free(back);

	assert_int_equal(tier_state_forget(st, TIER_STATE_CPUSET_MEMS, DB_MEMS), 0);
	assert_int_equal(tier_state_forget(st, TIER_STATE_CPUSET_MEMS, DB_CHILD_MEMS), 0);
	assert_true(st->dirty);
	assert_int_equal(tier_state_commit_at(t.fd, "state.json", st), 0);
	assert_int_equal(faccessat(t.fd, "state.json", F_OK, 0), -1);   /* empty: removed */
	tier_state_free(st);
	tmpdir_close(&t);
}

static bool gone_if_x(void *ctx, const struct tier_state_entry *e)
{
	(*(int *)ctx)++;
	return strstr(e->key, "/x") != NULL;
}

/* prune forgets exactly the entries the callback calls gone, keeps the
 * order of the rest, also across the compaction it may cause. */
static void test_prune(void **state)
{
	(void)state;
	struct tier_state *st = tier_state_new();
	char key[64];
	for (int i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "sys/fs/cgroup/%s%d/cpuset.mems", i % 3 ? "x" : "k", i);
		assert_int_equal(tier_state_record(st, TIER_STATE_CPUSET_MEMS, key, "", (uint64_t)i), 1);
	}
	int calls = 0;
	assert_int_equal(tier_state_prune(st, gone_if_x, &calls), 200);
	assert_int_equal(st->nr, 100);
	assert_true(calls >= 300);
	size_t cur = 0;
	int want = 0;
	for (const struct tier_state_entry *e; (e = tier_state_next(st, &cur)); want += 3) {
		snprintf(key, sizeof(key), "sys/fs/cgroup/k%d/cpuset.mems", want);
		assert_string_equal(e->key, key);
		assert_non_null(tier_state_find(st, TIER_STATE_CPUSET_MEMS, key));
	}
	assert_int_equal(want, 300);
	calls = 0;
	assert_int_equal(tier_state_prune(st, gone_if_x, &calls), 0);
	assert_int_equal(calls, 100);
	tier_state_free(st);

	/* in steps of 7: the same result, never more than 7 looks a step */
	st = tier_state_new();
	for (int i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "sys/fs/cgroup/%s%d/cpuset.mems", i % 3 ? "x" : "k", i);
		assert_int_equal(tier_state_record(st, TIER_STATE_CPUSET_MEMS, key, "", (uint64_t)i), 1);
	}
	size_t cursor = 0, pruned = 0, steps = 0;
	for (;;) {
		calls = 0;
		bool done = tier_state_prune_some(st, gone_if_x, &calls, &cursor, 7, &pruned);
		assert_true(calls <= 7);
		steps++;
		if (done)
			break;
		assert_true(steps < 1000);
	}
	assert_int_equal(pruned, 200);
	assert_int_equal(st->nr, 100);
	tier_state_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_entries),
		cmocka_unit_test(test_linear_record_forget),
		cmocka_unit_test(test_saved_and_commit),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_record_strips_newline_keeps_rest),
		cmocka_unit_test(test_first_original_wins),
		cmocka_unit_test(test_forget),
		cmocka_unit_test(test_key_validation),
		cmocka_unit_test(test_restore_reverse_order),
		cmocka_unit_test(test_restore_vanished_key),
		cmocka_unit_test(test_restore_failing_write_kept),
		cmocka_unit_test(test_restore_without_note),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_save_leaves_no_temp_files),
		cmocka_unit_test(test_absent_and_remove),
		cmocka_unit_test(test_malformed_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
