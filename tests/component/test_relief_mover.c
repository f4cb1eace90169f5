/* SPDX-License-Identifier: MIT */
/*
 * The relief glue (daemon/tierd-relief.c) against a scripted "kernel": a fake
 * ops table whose move_pages knows where every page of a fake process is and
 * answers queries and moves the way mm/migrate.c does, including the error
 * paths; /proc/PID files are generated into a temp root that the daemon
 * reads through --root semantics (rootfd).  Checks batching, one target per
 * call, grouping by target when the first target fills, the sentinel, each
 * per-page and per-call status, the budget, dry-run, victim order and skips.
 */
#include "testutil.h"
#include "relief-testsnap.h"

#include <errno.h>
#include <fcntl.h>
#include <numaif.h>
#include <unistd.h>

#include <tier/relief.h>
#include "tierd.h"
#include "tierd-relief.h"

#define PAGE 4096ull
#define SEC 1000000ull

/* ---- stubs of the daemon functions tierd-relief.c calls ---- */

static char actions[32][512];
static unsigned nr_actions;

void tierd_record_action(struct tierd *d, const char *kind, const char *target, const char *value,
			 const char *reason, int result)
{
	(void)d;
	if (nr_actions < 32)
		snprintf(actions[nr_actions++], sizeof(actions[0]), "%s|%s|%s|%s|%d", kind, target, value ? value : "",
			 reason, result);
}

bool tierd_dry_run(const struct tierd *d)
{
	return d->cli_dry_run;
}

uint64_t tierd_now_mono_usec(void)
{
	return 0;
}

/* ---- the scripted kernel ---- */

#define MAXP 8192
struct fpage {
	uint64_t addr;
	int node;
	int forced;            /* 0, or the -errno a move of this page answers */
	bool moves_anyway;     /* with -EBUSY: THP tail, moved with its head */
};

struct fcall {
	pid_t pid;
	unsigned long count;
	bool query;
	int target;            /* the one target of a move, -2 if mixed */
	int flags;
	bool sentinel_ok;      /* every status[] held the sentinel on entry */
};

static struct {
	pid_t pid[4];
	int nr_pids;
	struct fpage p[4][MAXP];
	size_t n[4];
	int eacces_node, enomem_node;   /* call-level errors for this target */
	int esrch_after_moves;          /* -1 never */
	pid_t esrch_pid;                /* the process that exits */
	unsigned untouched_tail;        /* leave the last k statuses, return k */
	struct fcall calls[512];
	unsigned nr_calls, moves;
} K;

static int kidx(pid_t pid)
{
	for (int i = 0; i < K.nr_pids; i++)
		if (K.pid[i] == pid)
			return i;
	return -1;
}

static struct fpage *kfind(int pi, uint64_t addr)
{
	for (size_t i = 0; i < K.n[pi]; i++)
		if (K.p[pi][i].addr == addr)
			return &K.p[pi][i];
	return NULL;
}

static long fake_move_pages(pid_t pid, unsigned long count, void **pages, const int *nodes, int *status, int flags)
{
	struct fcall *c = K.nr_calls < 512 ? &K.calls[K.nr_calls++] : &K.calls[511];
	int pi = kidx(pid);
	c->pid = pid;
	c->count = count;
	c->query = nodes == NULL;
	c->flags = flags;
	c->target = nodes ? nodes[0] : -1;
	c->sentinel_ok = true;
	for (unsigned long i = 0; i < count; i++) {
		if (status[i] != TIERD_RELIEF_SENTINEL)
			c->sentinel_ok = false;
		if (nodes && nodes[i] != nodes[0])
			c->target = -2;
	}
	if (pi < 0)
		return -ESRCH;
	if (!nodes) {
		for (unsigned long i = 0; i < count; i++) {
			struct fpage *p = kfind(pi, (uint64_t)(uintptr_t)pages[i]);
			status[i] = p ? p->node : -ENOENT;
		}
		return 0;
	}
	if (pid == K.esrch_pid && K.esrch_after_moves >= 0 && K.moves >= (unsigned)K.esrch_after_moves)
		return -ESRCH;
	K.moves++;
	if (nodes[0] == K.eacces_node)
		return -EACCES;
	if (nodes[0] == K.enomem_node)
		return -ENOMEM;
	unsigned long todo = count > K.untouched_tail ? count - K.untouched_tail : 0;
	for (unsigned long i = 0; i < todo; i++) {
		struct fpage *p = kfind(pi, (uint64_t)(uintptr_t)pages[i]);
		if (!p) {
			status[i] = -ENOENT;
		} else if (p->forced) {
			status[i] = p->forced;
			if (p->moves_anyway)
				p->node = nodes[i];
		} else {
			p->node = nodes[i];
			status[i] = nodes[i];
		}
	}
	return (long)(count - todo);
}

static const struct tierd_ops fake_ops = { .move_pages = fake_move_pages };

/* ---- fixture: snapshot, config, proc tree ---- */

struct env {
	struct rsnap *b;
	struct tierd d;
	char *root;
};

#define VMA_BASE 0x7f0000000000ull

/* Process pid (index pi) with n pages at VMA_BASE + pi * 1 GiB, the first
 * on_src of them on node 1 and the rest on node 0. */
static void add_proc(struct env *e, pid_t pid, size_t n, size_t on_src, const char *comm, const char *cgroup,
		     bool kthread)
{
	int pi = K.nr_pids++;
	uint64_t base = VMA_BASE + (uint64_t)pi * (1ull << 30);
	char rel[64], text[512];
	K.pid[pi] = pid;
	K.n[pi] = n;
	for (size_t i = 0; i < n; i++)
		K.p[pi][i] = (struct fpage){ .addr = base + i * PAGE, .node = i < on_src ? 1 : 0 };
	snprintf(rel, sizeof(rel), "proc/%d/status", (int)pid);
	snprintf(text, sizeof(text), "Name:\t%s\nState:\tS (sleeping)\nTgid:\t%d\n%s%sMems_allowed_list:\t0-3\n", comm,
		 (int)pid, kthread ? "Kthread:\t1\n" : "Kthread:\t0\n", kthread ? "" : "VmSize:\t 1000 kB\n");
	tu_write_file(e->root, rel, text);
	snprintf(rel, sizeof(rel), "proc/%d/cgroup", (int)pid);
	snprintf(text, sizeof(text), "0::%s\n", cgroup);
	tu_write_file(e->root, rel, text);
	snprintf(rel, sizeof(rel), "proc/%d/maps", (int)pid);
	snprintf(text, sizeof(text),
		 "%llx-%llx rw-p 00000000 00:00 0 \n"
		 "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n",
		 (unsigned long long)base, (unsigned long long)(base + n * PAGE));
	tu_write_file(e->root, rel, kthread ? "" : text);
	snprintf(rel, sizeof(rel), "proc/%d/numa_maps", (int)pid);
	snprintf(text, sizeof(text), "%llx default anon=%zu dirty=%zu N0=%zu N1=%zu kernelpagesize_kB=4\n",
		 (unsigned long long)base, n, n, n - on_src, on_src);
	tu_write_file(e->root, rel, kthread ? "" : text);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char tmpl[] = "/tmp/relief-mover-XXXXXX";
	memset(&K, 0, sizeof(K));
	K.eacces_node = K.enomem_node = -1;
	K.esrch_after_moves = -1;
	nr_actions = 0;
	e->root = strdup(mkdtemp(tmpl));
	tu_write_file(e->root, "proc/.keep", "");
	e->b = rs_new();
	rs_node(e->b, 0, 4, 100000);            /* DRAM, well above high */
	rs_node(e->b, 1, 54, RS_LOW - 100);     /* pressured */
	rs_node(e->b, 2, 54, RS_LOW + 1 + 1500);/* sibling: room for 1500 pages */
	rs_node(e->b, 3, 270, 60000);           /* slower: lots of room */
	e->d.config = tier_config_new_default();
	e->d.config->relief_tick_budget_bytes = 64ull << 20;
	e->d.config->relief_rate_bytes_per_sec = 256ull << 20;
	e->d.config->relief_batch_pages = 1024;
	e->d.snap = &e->b->s;
	e->d.ops = &fake_ops;
	e->d.rootfd = open(e->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(e->d.rootfd >= 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	tierd_relief_free(&e->d);
	tier_config_free(e->d.config);
	close(e->d.rootfd);
	rs_free(e->b);
	tu_rm_rf(e->root);
	free(e->root);
	free(e);
	return 0;
}

static size_t pages_on(int pi, int node)
{
	size_t c = 0;
	for (size_t i = 0; i < K.n[pi]; i++)
		c += K.p[pi][i].node == node;
	return c;
}

static int64_t jget(struct json_object *o, const char *path)
{
	/* "a.b.c" */
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", path);
	struct json_object *cur = o;
	for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(cur, tok, &cur))
			fail_msg("no %s in status (at %s): %s", path, tok, json_object_to_json_string(o));
	return json_object_get_int64(cur);
}

static int64_t status_get(struct env *e, const char *path)
{
	struct json_object *o = tierd_relief_status(&e->d);
	int64_t v = jget(o, path);
	json_object_put(o);
	return v;
}

static void tick(struct env *e, uint64_t now)
{
	uint64_t next = 5 * SEC;
	tierd_relief_tick(&e->d, now, &next);
}

/* Batches of batch_pages, one target per call, sibling until full, then
 * slower; the sentinel on every status; MPOL_MF_MOVE. */
static void batching_and_grouping(void **state)
{
	struct env *e = *state;
	add_proc(e, 4242, 3000, 3000, "hog", "/work.slice", false);
	tick(e, 10 * SEC);

	assert_int_equal(pages_on(0, 1), 0);
	assert_int_equal(pages_on(0, 2), 1500);
	assert_int_equal(pages_on(0, 3), 1500);
	unsigned moves = 0, queries = 0;
	uint64_t to2 = 0, to3 = 0;
	for (unsigned i = 0; i < K.nr_calls; i++) {
		struct fcall *c = &K.calls[i];
		assert_true(c->sentinel_ok);
		assert_int_equal(c->pid, 4242);
		assert_true(c->count <= 1024);
		if (c->query) {
			queries++;
			continue;
		}
		moves++;
		assert_int_equal(c->flags, MPOL_MF_MOVE);
		assert_true(c->target == 2 || c->target == 3); /* never mixed (-2) */
		if (c->target == 2)
			to2 += c->count;
		else
			to3 += c->count;
	}
	assert_int_equal(to2, 1500);
	assert_int_equal(to3, 1500);
	/* Batches: 1024 + 1024 + 952 found; the first fills node 2's room
	 * (1024), the second is split 476 -> 2 and 548 -> 3, the last 952 -> 3. */
	assert_int_equal(moves, 4);
	assert_int_equal(queries, 3);
	assert_int_equal(status_get(e, "nodes.1.moved_off_bytes"), 3000 * PAGE);
	assert_int_equal(status_get(e, "nodes.2.moved_on_bytes"), 1500 * PAGE);
	assert_int_equal(status_get(e, "nodes.3.moved_on_bytes"), 1500 * PAGE);
	assert_int_equal(status_get(e, "relieving_node"), 1);
	assert_int_equal(status_get(e, "moved_bytes_last_minute"), 3000 * PAGE);
	assert_int_equal(status_get(e, "achieved_bytes_per_sec_last_minute"), 3000 * PAGE / 60);
	/* The victim is done: one action. */
	assert_int_equal(nr_actions, 1);
	assert_non_null(strstr(actions[0], "relief|pid 4242 (hog)|3000 pages|"));
}

static void move_all_flag(void **state)
{
	struct env *e = *state;
	e->d.config->relief_move_all = true;
	add_proc(e, 4242, 100, 100, "hog", "/", false);
	tick(e, 10 * SEC);
	bool seen = false;
	for (unsigned i = 0; i < K.nr_calls; i++)
		if (!K.calls[i].query) {
			assert_int_equal(K.calls[i].flags, MPOL_MF_MOVE_ALL);
			seen = true;
		}
	assert_true(seen);
}

/* Each per-page status. */
static void per_page_status(void **state)
{
	struct env *e = *state;
	add_proc(e, 4242, 20, 20, "hog", "/", false);
	K.p[0][0].forced = -EBUSY;                 /* truly busy: stays */
	K.p[0][1].forced = -EBUSY;                 /* THP tail: moved with its head */
	K.p[0][1].moves_anyway = true;
	K.p[0][2].forced = -EFAULT;
	K.p[0][3].forced = -ENOENT;
	K.p[0][4].forced = -EACCES;                /* shared page without MOVE_ALL */
	K.p[0][5].forced = -EIO;
	tick(e, 10 * SEC);
	assert_int_equal(pages_on(0, 1), 5);       /* 0, 2, 3, 4, 5 */
	assert_int_equal(pages_on(0, 2), 15);
	assert_int_equal(status_get(e, "failures.busy"), 1);
	assert_int_equal(status_get(e, "busy_rechecked_moved_pages"), 1);
	assert_int_equal(status_get(e, "failures.fault"), 1);
	assert_int_equal(status_get(e, "failures.not_present"), 1);
	assert_int_equal(status_get(e, "failures.shared_page"), 1);
	assert_int_equal(status_get(e, "failures.other"), 1);
	assert_int_equal(status_get(e, "nodes.2.moved_on_bytes"), 15 * PAGE);

	/* A busy page is retried on a later tick (after the rescan delay). */
	K.p[0][0].forced = 0;
	tick(e, 20 * SEC);
	assert_int_equal(pages_on(0, 1), 4);
}

static void per_page_enomem(void **state)
{
	struct env *e = *state;
	add_proc(e, 4242, 10, 10, "hog", "/", false);
	K.p[0][3].forced = -ENOMEM;
	tick(e, 10 * SEC);
	assert_int_equal(status_get(e, "failures.target_full"), 1);
	/* node 2 is backing off now */
	assert_true(status_get(e, "nodes.2.target_backoff_usec") > 0);
	K.p[0][3].forced = 0;
	tick(e, 20 * SEC);                         /* the last page goes to node 3 */
	assert_int_equal(K.p[0][3].node, 3);
}

/* Call-level EACCES (target outside the task's cpuset): another target in
 * the same tick.  Call-level ENOMEM: the target is dropped for a while. */
static void call_level_errors(void **state)
{
	struct env *e = *state;
	add_proc(e, 4242, 600, 600, "hog", "/", false);
	K.eacces_node = 2;
	tick(e, 10 * SEC);
	assert_int_equal(pages_on(0, 1), 0);
	assert_int_equal(pages_on(0, 3), 600);
	assert_int_equal(status_get(e, "failures.not_in_cpuset"), 1);
	assert_int_equal(status_get(e, "failures.not_attempted"), 0);

	/* ENOMEM from node 3 (the only one left with room) */
	add_proc(e, 4343, 300, 300, "two", "/", false);
	K.eacces_node = -1;
	K.enomem_node = 3;
	rs_set_free(e->b, 2, RS_LOW);              /* node 2 full now */
	tick(e, 20 * SEC);
	assert_int_equal(status_get(e, "failures.target_full"), 1);
	/* 3 backs off; with node 0 well above high, the same tick sends the
	 * pages up (faster). */
	assert_int_equal(pages_on(1, 0), 300);
	assert_true(status_get(e, "nodes.3.target_backoff_usec") > 0);
}

/* The process exits mid-run: a normal event, the next victim goes on. */
static void process_exits(void **state)
{
	struct env *e = *state;
	add_proc(e, 4242, 3000, 3000, "big", "/", false);
	add_proc(e, 4343, 500, 500, "small", "/", false);
	K.esrch_after_moves = 1;
	K.esrch_pid = 4242;
	tick(e, 10 * SEC);
	assert_int_equal(pages_on(0, 1), 3000 - 1024);
	assert_int_equal(status_get(e, "failures.process_exited"), 1);
	/* the victim order: the bigger one first */
	assert_int_equal(K.calls[0].pid, 4242);
	assert_non_null(strstr(actions[0], "pid 4242 (big)"));
	assert_non_null(strstr(actions[0], "the process exited"));
	assert_non_null(strstr(actions[0], "|0")); /* not an error */
	assert_int_equal(pages_on(1, 1), 0);       /* the next victim went on */
	assert_non_null(strstr(actions[1], "pid 4343 (small)|500 pages"));
}

/* The kernel returns a positive count and leaves statuses: not attempted,
 * retried later. */
static void untouched_statuses(void **state)
{
	struct env *e = *state;
	add_proc(e, 4242, 100, 100, "hog", "/", false);
	K.untouched_tail = 10;
	tick(e, 10 * SEC);
	assert_int_equal(pages_on(0, 1), 10);
	assert_int_equal(status_get(e, "failures.not_attempted"), 10);
}

/* rate / tick budget */
static void budget(void **state)
{
	struct env *e = *state;
	e->d.config->relief_tick_budget_bytes = 1 << 20;    /* 256 pages */
	e->d.config->relief_rate_bytes_per_sec = 1 << 20;   /* 256 pages/s */
	add_proc(e, 4242, 1000, 1000, "hog", "/", false);
	uint64_t next = 5 * SEC;
	tierd_relief_tick(&e->d, 10 * SEC, &next);
	assert_int_equal(pages_on(0, 1), 1000 - 256);
	/* It asks to come back when the bucket is full again (1 s). */
	assert_int_equal(next, SEC);
	tick(e, 10 * SEC + 1);                             /* empty bucket: nothing */
	assert_int_equal(pages_on(0, 1), 1000 - 256);
	tick(e, 10 * SEC + SEC / 2);                       /* half: 128 pages */
	assert_int_equal(pages_on(0, 1), 1000 - 384);
	assert_int_equal(status_get(e, "tick_budget_bytes"), 1 << 20);
}

static void dry_run(void **state)
{
	struct env *e = *state;
	e->d.cli_dry_run = true;
	add_proc(e, 4242, 2000, 2000, "hog", "/", false);
	tick(e, 10 * SEC);
	assert_int_equal(pages_on(0, 1), 2000);
	for (unsigned i = 0; i < K.nr_calls; i++)
		assert_true(K.calls[i].query);
	assert_true(K.nr_calls > 0);
	assert_int_equal(status_get(e, "planned_bytes_total_dry_run"), 2000 * PAGE);
	assert_int_equal(status_get(e, "moved_bytes_total"), 0);
	assert_int_equal(nr_actions, 1);
	assert_non_null(strstr(actions[0], "would move 2000 of 2000"));
}

static void victims_skipped(void **state)
{
	struct env *e = *state;
	char **ex = calloc(2, sizeof(char *));
	ex[0] = strdup("/batch/*");
	for (char **p = e->d.config->relief_exclude; p && *p; p++)
		free(*p);
	free(e->d.config->relief_exclude);
	e->d.config->relief_exclude = ex;
	add_proc(e, 2, 0, 0, "kthreadd", "/", true);
	add_proc(e, 4242, 500, 500, "batchjob", "/batch/j1", false);
	add_proc(e, 4343, 100, 100, "web", "/web", false);
	add_proc(e, getpid(), 900, 900, "tierd", "/", false);
	tick(e, 10 * SEC);
	assert_int_equal(pages_on(1, 1), 500);     /* excluded */
	assert_int_equal(pages_on(2, 1), 0);       /* moved */
	assert_int_equal(pages_on(3, 1), 900);     /* self */
	assert_int_equal(status_get(e, "victims_skipped.kernel-thread"), 1);
	assert_int_equal(status_get(e, "victims_skipped.excluded"), 1);
	assert_int_equal(status_get(e, "victims_skipped.self"), 1);
}

/* Hysteresis end to end: the node recovers above stop_at -> idle. */
static void stops_when_recovered(void **state)
{
	struct env *e = *state;
	add_proc(e, 4242, 100, 100, "hog", "/", false);
	tick(e, 10 * SEC);
	assert_int_equal(status_get(e, "relieving_node"), 1);
	rs_set_free(e->b, 1, RS_STOP + 1);
	tick(e, 11 * SEC);
	struct json_object *o = tierd_relief_status(&e->d), *v;
	assert_true(json_object_object_get_ex(o, "state", &v));
	assert_string_equal(json_object_get_string(v), "idle");
	assert_true(json_object_object_get_ex(o, "relieving_node", &v));
	assert_null(v);
	json_object_put(o);
}

/* No more than the node needs to get above stop_at in one tick. */
static void only_what_is_needed(void **state)
{
	struct env *e = *state;
	add_proc(e, 4242, 100, 100, "first", "/", false);
	tick(e, 10 * SEC);                         /* starts relief, moves these 100 */
	add_proc(e, 4343, 5000, 5000, "second", "/", false);
	rs_set_free(e->b, 1, RS_STOP - 100);       /* between the lines: still relieving */
	tick(e, 20 * SEC);
	assert_int_equal(pages_on(1, 1), 5000 - 101);
	assert_int_equal(status_get(e, "last_tick_moved_bytes"), 101 * PAGE);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(batching_and_grouping), T(move_all_flag), T(per_page_status), T(per_page_enomem),
		T(call_level_errors),     T(process_exits), T(untouched_statuses), T(budget),
		T(dry_run),               T(victims_skipped), T(stops_when_recovered),
		T(only_what_is_needed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
