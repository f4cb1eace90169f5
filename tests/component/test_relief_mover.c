/* SPDX-License-Identifier: MIT */
/*
 * The relief glue (daemon/tierd-relief.c) against a scripted "kernel": a fake
 * ops table whose move_pages knows where every page of a fake process is and
 * answers queries and moves the way mm/migrate.c does, including the error
 * paths, and fake pidfds; the /proc and /sys files the locator reads are
 * generated into a temp root (--root semantics, rootfd): proc/PID/{stat,
 * status,cgroup,maps,smaps,pagemap}, proc/kpageflags, and the memory blocks
 * that map PFNs to nodes.  The fake kernel keeps pagemap and kpageflags true
 * after every move, as the real one does.  A regular file has no
 * PAGEMAP_SCAN, so this is the pagemap-read locator with PFNs; the
 * PAGEMAP_SCAN locator on a real process is test_relief_real.c.
 *
 * Checks: batching, one target per call, grouping by target when the first
 * target fills, no status query when pagemap knows the node, the sentinel,
 * each per-page and per-call status, the budget, dry-run, victim order and
 * skips, access order both ways, mlocked / unevictable / VM_LOCKED pages
 * left alone and counted, THP as units, private nodes, a PID that changes
 * owner, sparse VMAs without PAGEMAP_SCAN, memory cgroups with nothing on
 * the node.  Jobs run with tierd_jobs_run_all, as tierd --once does.
 */
#include "testutil.h"
#include "relief-testsnap.h"

#include <errno.h>
#include <fcntl.h>
#include <numaif.h>
#include <unistd.h>

#include <tier/pagemap.h>
#include <tier/relief.h>
#include "tierd.h"
#include "tierd-relief.h"

#define PAGE 4096ull
#define SEC 1000000ull
#define BLOCK_PAGES 32768ull    /* 128 MiB memory blocks: node n owns block n */

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
#define NPROC 4
struct fpage {
	uint64_t addr;
	int node;
	int forced;            /* 0, or the -errno a move of this page answers */
	bool moves_anyway;     /* with -EBUSY: THP tail, moved with its head */
	uint64_t kpf;          /* extra kpageflags bits (ACTIVE, MLOCKED, COMPOUND_*, THP) */
	bool dirty;            /* soft-dirty in pagemap */
	bool hole;             /* not present */
};

struct fcall {
	pid_t pid;
	unsigned long count;
	bool query;
	int target;            /* the one target of a move, -2 if mixed */
	int flags;
	bool sentinel_ok;      /* every status[] held the sentinel on entry */
	uint64_t first_addr;
	uint64_t addrs[8];     /* the first 8 addresses */
};

static struct {
	pid_t pid[NPROC];
	int nr_pids;
	struct fpage p[NPROC][MAXP];
	size_t n[NPROC];
	bool dead[NPROC];               /* its pidfd says gone */
	int eacces_node, enomem_node;   /* call-level errors for this target */
	int esrch_after_moves;          /* -1 never */
	pid_t esrch_pid;                /* the process that exits */
	unsigned untouched_tail;        /* leave the last k statuses, return k */
	struct fcall calls[512];
	unsigned nr_calls, moves, marks;
	int pidfd_of[NPROC];
	char *root;
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
		if (K.p[pi][i].addr == addr && !K.p[pi][i].hole)
			return &K.p[pi][i];
	return NULL;
}

static uint64_t pfn_of(int pi, size_t i, int node)
{
	return (uint64_t)node * BLOCK_PAGES + (uint64_t)pi * MAXP + i;
}

static void bin_put(const char *rel, uint64_t off, uint64_t val)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", K.root, rel);
	int fd = open(path, O_RDWR | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &val, 8, (off_t)off), 8);
	close(fd);
}

/* pagemap entry and kpageflags of page i of process pi, as they are now. */
static void sync_page(int pi, size_t i)
{
	struct fpage *p = &K.p[pi][i];
	char rel[64];
	snprintf(rel, sizeof(rel), "proc/%d/pagemap", (int)K.pid[pi]);
	uint64_t pfn = pfn_of(pi, i, p->node);
	uint64_t e = p->hole ? 0 : TIER_PM_PRESENT | TIER_PM_EXCLUSIVE | pfn | (p->dirty ? TIER_PM_SOFT_DIRTY : 0);
	bin_put(rel, p->addr / PAGE * 8, e);
	if (!p->hole)
		bin_put("proc/kpageflags", pfn * 8,
			(1ull << TIER_KPF_LRU) | (1ull << TIER_KPF_ANON) | (1ull << TIER_KPF_MMAP) | p->kpf);
}

static void sync_proc(int pi)
{
	for (size_t i = 0; i < K.n[pi]; i++)
		sync_page(pi, i);
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
	c->first_addr = count ? (uint64_t)(uintptr_t)pages[0] : 0;
	for (unsigned long i = 0; i < count; i++) {
		if (i < 8)
			c->addrs[i] = (uint64_t)(uintptr_t)pages[i];
		if (status[i] != TIERD_RELIEF_SENTINEL)
			c->sentinel_ok = false;
		if (nodes && nodes[i] != nodes[0])
			c->target = -2;
	}
	if (pi < 0 || K.dead[pi])
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
			continue;
		}
		size_t idx = (size_t)(p - K.p[pi]);
		if (p->forced) {
			status[i] = p->forced;
			if (p->moves_anyway)
				p->node = nodes[i];
		} else {
			/* A large folio moves whole: its tails follow the head. */
			p->node = nodes[i];
			status[i] = nodes[i];
			for (size_t j = idx + 1; j < K.n[pi] && (K.p[pi][j].kpf & (1ull << TIER_KPF_COMPOUND_TAIL)); j++)
				K.p[pi][j].node = nodes[i];
		}
		for (size_t j = idx; j < K.n[pi] && (j == idx || (K.p[pi][j].kpf & (1ull << TIER_KPF_COMPOUND_TAIL))); j++)
			sync_page(pi, j);
	}
	return (long)(count - todo);
}

/* Fake pidfds: real descriptors of /dev/null (so closing them is safe),
 * remembered per process. */
static int fake_pidfd_open(pid_t pid)
{
	int pi = kidx(pid);
	if (pi < 0 || K.dead[pi])
		return -ESRCH;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	K.pidfd_of[pi] = fd;
	return fd;
}

static int fake_pidfd_alive(int fd)
{
	for (int i = 0; i < K.nr_pids; i++)
		if (K.pidfd_of[i] == fd)
			return K.dead[i] ? -ESRCH : 0;
	return -ESRCH;
}

/* clear_refs "4": every page of the process reads clean afterwards. */
static int fake_clear_soft_dirty(int dirfd)
{
	char buf[64];
	int fd = openat(dirfd, "stat", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	int pi = kidx((pid_t)atoi(buf));
	if (pi < 0)
		return -ESRCH;
	K.marks++;
	for (size_t i = 0; i < K.n[pi]; i++)
		K.p[pi][i].dirty = false;
	sync_proc(pi);
	return 0;
}

/* Most tests: a kernel where relief does not mark (as without
 * CONFIG_MEM_SOFT_DIRTY), so pages move on the first tick. */
static const struct tierd_ops fake_ops = {
	.move_pages = fake_move_pages,
	.pidfd_open = fake_pidfd_open,
	.pidfd_alive = fake_pidfd_alive,
};
static const struct tierd_ops fake_ops_sd = {
	.move_pages = fake_move_pages,
	.pidfd_open = fake_pidfd_open,
	.pidfd_alive = fake_pidfd_alive,
	.clear_soft_dirty = fake_clear_soft_dirty,
};

/* ---- fixture: snapshot, config, proc tree ---- */

struct env {
	struct rsnap *b;
	struct tierd d;
	char *root;
};

#define VMA_BASE 0x100000000ull

static uint64_t base_of(int pi)
{
	return VMA_BASE + (uint64_t)pi * (1ull << 30);
}

static void write_status(struct env *e, int pi, const char *comm, bool kthread, uint64_t locked_kb)
{
	char rel[64], text[512];
	pid_t pid = K.pid[pi];
	snprintf(rel, sizeof(rel), "proc/%d/status", (int)pid);
	snprintf(text, sizeof(text),
		 "Name:\t%s\nState:\tS (sleeping)\nTgid:\t%d\n%s%s%s%sMems_allowed_list:\t0-3\n", comm, (int)pid,
		 kthread ? "Kthread:\t1\n" : "Kthread:\t0\n", kthread ? "" : "VmSize:\t 1000 kB\n",
		 kthread ? "" : "VmRSS:\t 400000 kB\n", "");
	if (!kthread && locked_kb) {
		char *at = strstr(text, "Mems_allowed_list");
		char tail[128];
		snprintf(tail, sizeof(tail), "%s", at);
		snprintf(at, sizeof(text) - (size_t)(at - text), "VmLck:\t %llu kB\n%s", (unsigned long long)locked_kb,
			 tail);
	}
	tu_write_file(e->root, rel, text);
}

/* Process pid (index pi) with n pages at base_of(pi), the first on_src of
 * them on node 1 and the rest on node 0. */
static int add_proc(struct env *e, pid_t pid, size_t n, size_t on_src, const char *comm, const char *cgroup,
		    bool kthread)
{
	int pi = K.nr_pids++;
	uint64_t base = base_of(pi);
	char rel[64], text[512];
	K.pid[pi] = pid;
	K.n[pi] = n;
	K.dead[pi] = false;
	K.pidfd_of[pi] = -1;
	for (size_t i = 0; i < n; i++)
		K.p[pi][i] = (struct fpage){ .addr = base + i * PAGE, .node = i < on_src ? 1 : 0, .dirty = true };
	write_status(e, pi, comm, kthread, 0);
	snprintf(rel, sizeof(rel), "proc/%d/stat", (int)pid);
	snprintf(text, sizeof(text), "%d (%s) S 1 %d %d 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 %d 1000 10\n",
		 (int)pid, comm, (int)pid, (int)pid, 1000 + pi);
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
	snprintf(rel, sizeof(rel), "proc/%d/pagemap", (int)pid);
	tu_write_file(e->root, rel, "");
	if (!kthread)
		sync_proc(pi);
	return pi;
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
	K.root = e->root;
	tu_write_file(e->root, "proc/.keep", "");
	tu_write_file(e->root, "proc/kpageflags", "");
	/* Memory blocks of 128 MiB; node n holds block n. */
	tu_write_file(e->root, "sys/devices/system/memory/block_size_bytes", "8000000\n");
	for (int n = 0; n < 4; n++) {
		char rel[96];
		snprintf(rel, sizeof(rel), "sys/devices/system/node/node%d/memory%d/online", n, n);
		tu_write_file(e->root, rel, "1\n");
	}
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
	tierd_jobs_free(&e->d);
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
		c += K.p[pi][i].node == node && !K.p[pi][i].hole;
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

static const char *status_str(struct env *e, const char *key, char *buf, size_t size)
{
	struct json_object *o = tierd_relief_status(&e->d), *v;
	assert_true(json_object_object_get_ex(o, key, &v));
	snprintf(buf, size, "%s", json_object_get_string(v));
	json_object_put(o);
	return buf;
}

/* One slow tick, then its jobs to completion (as tierd --once does). */
static void tick(struct env *e, uint64_t now)
{
	uint64_t next = 5 * SEC;
	tierd_relief_tick(&e->d, now, &next);
	tierd_jobs_run_all(&e->d, 100000);
}

static unsigned count_calls(bool query)
{
	unsigned n = 0;
	for (unsigned i = 0; i < K.nr_calls; i++)
		n += K.calls[i].query == query;
	return n;
}

/* Batches of batch_pages, one target per call, sibling until full, then
 * slower; the sentinel on every status; MPOL_MF_MOVE; pagemap knew where
 * every page was: no status query. */
static void batching_and_grouping(void **state)
{
	struct env *e = *state;
	add_proc(e, 4242, 3000, 3000, "hog", "/work.slice", false);
	tick(e, 10 * SEC);

	assert_int_equal(pages_on(0, 1), 0);
	assert_int_equal(pages_on(0, 2), 1500);
	assert_int_equal(pages_on(0, 3), 1500);
	unsigned moves = 0;
	uint64_t to2 = 0, to3 = 0;
	for (unsigned i = 0; i < K.nr_calls; i++) {
		struct fcall *c = &K.calls[i];
		assert_true(c->sentinel_ok);
		assert_int_equal(c->pid, 4242);
		assert_true(c->count <= 1024);
		assert_false(c->query);
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
	/* Batches of 1024 + 1024 + 952; the first fills node 2's room
	 * (1024), the second is split 476 -> 2 and 548 -> 3, the last 952 -> 3. */
	assert_int_equal(moves, 4);
	assert_int_equal(status_get(e, "query_calls"), 0);
	assert_int_equal(status_get(e, "nodes.1.moved_off_bytes"), 3000 * PAGE);
	assert_int_equal(status_get(e, "nodes.2.moved_on_bytes"), 1500 * PAGE);
	assert_int_equal(status_get(e, "nodes.3.moved_on_bytes"), 1500 * PAGE);
	assert_int_equal(status_get(e, "relieving_node"), 1);
	assert_int_equal(status_get(e, "moved_bytes_last_minute"), 3000 * PAGE);
	assert_int_equal(status_get(e, "achieved_bytes_per_sec_last_minute"), 3000 * PAGE / 60);
	/* One identity check right before every move_pages call. */
	assert_int_equal(status_get(e, "total.identity_checks"), moves);
	char buf[64];
	assert_string_equal(status_str(e, "locator", buf, sizeof(buf)), "pagemap-read+pfn");
	/* The run is over: its figures. */
	assert_int_equal(status_get(e, "last_run.moved_pages"), 3000);
	assert_int_equal(status_get(e, "last_run.move_calls"), 4);
	assert_int_equal(status_get(e, "last_run.moved_pages_by_heat.cold"), 3000);
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
	K.p[0][1].forced = -EBUSY;                 /* moved meanwhile (as a THP tail is) */
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

	/* A busy page is retried by the next run (after the rescan delay). */
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
	/* the victim order: the bigger one first (by VmRSS, equal here: then
	 * the lower pid) */
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

/* rate / tick budget: the job stops at the allowance and resumes at the
 * same address on the next tick. */
static void budget(void **state)
{
	struct env *e = *state;
	e->d.config->relief_tick_budget_bytes = 1 << 20;    /* 256 pages */
	e->d.config->relief_rate_bytes_per_sec = 1 << 20;   /* 256 pages/s */
	add_proc(e, 4242, 1000, 1000, "hog", "/", false);
	uint64_t next = 5 * SEC;
	tierd_relief_tick(&e->d, 10 * SEC, &next);
	tierd_jobs_run_all(&e->d, 100000);
	assert_int_equal(pages_on(0, 1), 1000 - 256);
	/* The first 256 pages moved, in address order. */
	for (int i = 0; i < 256; i++)
		assert_int_not_equal(K.p[0][i].node, 1);
	tick(e, 10 * SEC + 1);                             /* empty bucket: nothing */
	assert_int_equal(pages_on(0, 1), 1000 - 256);
	next = 5 * SEC;
	tierd_relief_tick(&e->d, 10 * SEC + SEC / 2, &next); /* half: 128 pages */
	tierd_jobs_run_all(&e->d, 100000);
	assert_int_equal(pages_on(0, 1), 1000 - 384);
	for (int i = 0; i < 384; i++)
		assert_int_not_equal(K.p[0][i].node, 1);
	/* It asks to come back when the bucket is full again (1 s). */
	assert_int_equal(next, SEC);
	assert_int_equal(status_get(e, "tick_budget_bytes"), 1 << 20);
}

/* Dry-run: plans, moves nothing; with PFNs it does not even ask the
 * kernel. */
static void dry_run(void **state)
{
	struct env *e = *state;
	e->d.cli_dry_run = true;
	add_proc(e, 4242, 2000, 2000, "hog", "/", false);
	tick(e, 10 * SEC);
	assert_int_equal(pages_on(0, 1), 2000);
	assert_int_equal(K.nr_calls, 0);
	assert_int_equal(K.marks, 0);              /* nothing written to the process either */
	assert_int_equal(status_get(e, "planned_bytes_total_dry_run"), 2000 * PAGE);
	assert_int_equal(status_get(e, "moved_bytes_total"), 0);
	assert_int_equal(nr_actions, 1);
	assert_non_null(strstr(actions[0], "would move 2000 pages"));
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

/* ---- order ---- */

/* Only the faster node has room: hot pages (ACTIVE in kpageflags) go
 * first, although they come last in the address order. */
static void hot_first_to_faster(void **state)
{
	struct env *e = *state;
	rs_set_free(e->b, 2, RS_LOW);              /* sibling full */
	rs_set_free(e->b, 3, RS_LOW);              /* slower full */
	e->d.config->relief_tick_budget_bytes = 100 * PAGE;
	int pi = add_proc(e, 4242, 400, 400, "db", "/", false);
	for (int i = 0; i < 400; i++)
		if (i % 4 == 3)
			K.p[pi][i].kpf |= 1ull << TIER_KPF_ACTIVE;  /* 100 hot pages, interleaved */
		else if (i % 4 == 2)
			K.p[pi][i].kpf |= 1ull << TIER_KPF_REFERENCED; /* 100 warm */
	sync_proc(pi);
	tick(e, 10 * SEC);
	/* The allowance (100 pages) went to exactly the hot ones. */
	for (int i = 0; i < 400; i++)
		assert_int_equal(K.p[pi][i].node, i % 4 == 3 ? 0 : 1);
	assert_int_equal(status_get(e, "total.moved_pages_by_heat.hot"), 100);
	assert_int_equal(status_get(e, "total.moved_pages_by_heat.cold"), 0);
	/* The next allowance: warm, then cold. */
	tick(e, 12 * SEC);
	for (int i = 0; i < 400; i++)
		if (i % 4 == 2)
			assert_int_equal(K.p[pi][i].node, 0);
	assert_int_equal(status_get(e, "total.moved_pages_by_heat.warm"), 100);
}

/* To a slower node: cold first; written pages (soft-dirty after relief
 * cleared the bits and the access window passed) are hot. */
static void cold_first_to_slower_soft_dirty(void **state)
{
	struct env *e = *state;
	e->d.ops = &fake_ops_sd;
	rs_set_free(e->b, 2, RS_LOW);              /* sibling full: slower (3) it is */
	e->d.config->relief_tick_budget_bytes = 100 * PAGE;
	int pi = add_proc(e, 4242, 200, 200, "db", "/", false);
	tick(e, 10 * SEC);                         /* scan, prepare: soft-dirty cleared, window starts */
	assert_int_equal(K.marks, 1);
	assert_int_equal(pages_on(pi, 1), 200);    /* nothing moved within the window */
	char buf[64];
	assert_string_equal(status_str(e, "phase", buf, sizeof(buf)), "move");
	/* The workload writes the even pages meanwhile. */
	for (int i = 0; i < 200; i += 2)
		K.p[pi][i].dirty = true;
	sync_proc(pi);
	tick(e, 10 * SEC + TIER_RELIEF_ACCESS_WINDOW_USEC);
	for (int i = 0; i < 200; i++)
		assert_int_equal(K.p[pi][i].node, i % 2 ? 3 : 1);
	assert_int_equal(status_get(e, "total.moved_pages_by_heat.cold"), 100);
	assert_int_equal(status_get(e, "total.moved_pages_by_heat.hot"), 0);
}

/* [relief] order = address: one pass in address order, nothing marked. */
static void address_order(void **state)
{
	struct env *e = *state;
	e->d.ops = &fake_ops_sd;                   /* would mark, if the order were access */
	e->d.config->relief_order = TIER_RELIEF_ORDER_ADDRESS;
	rs_set_free(e->b, 2, RS_LOW);
	rs_set_free(e->b, 3, RS_LOW);
	e->d.config->relief_tick_budget_bytes = 100 * PAGE;
	int pi = add_proc(e, 4242, 400, 400, "db", "/", false);
	for (int i = 0; i < 400; i += 4)
		K.p[pi][i + 3].kpf |= 1ull << TIER_KPF_ACTIVE;
	sync_proc(pi);
	tick(e, 10 * SEC);
	for (int i = 0; i < 400; i++)
		assert_int_equal(K.p[pi][i].node, i < 100 ? 0 : 1);
	assert_int_equal(K.marks, 0);
}

/* ---- pages never moved ---- */

static void mlocked_never_moved(void **state)
{
	struct env *e = *state;
	int pi = add_proc(e, 4242, 300, 300, "rt", "/", false);
	/* 0..99: PG_mlocked (kpageflags); 100..149 unevictable (SHM_LOCK);
	 * 200..299 in a VM_LOCKED VMA (smaps "lo") although not PG_mlocked. */
	for (int i = 0; i < 100; i++)
		K.p[pi][i].kpf |= (1ull << TIER_KPF_MLOCKED) | (1ull << TIER_KPF_UNEVICTABLE);
	for (int i = 100; i < 150; i++)
		K.p[pi][i].kpf |= 1ull << TIER_KPF_UNEVICTABLE;
	sync_proc(pi);
	write_status(e, pi, "rt", false, 100 * 4);
	char text[1024];
	uint64_t b = base_of(pi);
	snprintf(text, sizeof(text),
		 "%llx-%llx rw-p 00000000 00:00 0 \nSize: 800 kB\nRss: 800 kB\nVmFlags: rd wr mr mw me ac sd \n"
		 "%llx-%llx rw-p 00000000 00:00 0 \nSize: 400 kB\nLocked: 400 kB\nVmFlags: rd wr mr mw me lo ac sd \n",
		 (unsigned long long)b, (unsigned long long)(b + 200 * PAGE), (unsigned long long)(b + 200 * PAGE),
		 (unsigned long long)(b + 300 * PAGE));
	tu_write_file(e->root, "proc/4242/smaps", text);
	tick(e, 10 * SEC);
	for (int i = 0; i < 300; i++)
		assert_int_equal(K.p[pi][i].node == 1, i < 150 || i >= 200);
	assert_int_equal(status_get(e, "last_run.skipped_mlocked_pages"), 200);
	assert_int_equal(status_get(e, "last_run.skipped_unevictable_pages"), 50);
	assert_int_equal(status_get(e, "last_run.moved_pages"), 50);
	/* never handed to the kernel */
	for (unsigned c = 0; c < K.nr_calls; c++)
		for (unsigned k = 0; k < K.calls[c].count && k < 8; k++)
			assert_true(K.calls[c].addrs[k] >= b + 150 * PAGE && K.calls[c].addrs[k] < b + 200 * PAGE);
}

/* A THP (head + 511 tails, consecutive PFNs): one address in the call,
 * 512 pages moved, counted as one huge unit. */
static void thp_as_one_unit(void **state)
{
	struct env *e = *state;
	int pi = add_proc(e, 4242, 1024, 1024, "thp", "/", false);
	for (int i = 0; i < 512; i++)
		K.p[pi][i].kpf |= (1ull << TIER_KPF_THP) |
				   (i == 0 ? 1ull << TIER_KPF_COMPOUND_HEAD : 1ull << TIER_KPF_COMPOUND_TAIL);
	sync_proc(pi);
	tick(e, 10 * SEC);
	assert_int_equal(pages_on(pi, 1), 0);
	assert_int_equal(status_get(e, "last_run.moved_huge_units"), 1);
	assert_int_equal(status_get(e, "last_run.moved_huge_pages"), 512);
	assert_int_equal(status_get(e, "last_run.moved_pages"), 1024);
	/* One call: the THP's head address and the 512 small pages. */
	unsigned long addrs = 0;
	for (unsigned c = 0; c < K.nr_calls; c++)
		addrs += K.calls[c].count;
	assert_int_equal(addrs, 1 + 512);
	assert_int_equal(K.calls[0].first_addr, base_of(pi));
}

/* A PFN in a block linked under two nodes: the node is asked. */
static void mixed_block_asks(void **state)
{
	struct env *e = *state;
	/* Block 1 (node 1's) is also linked under node 0: mixed. */
	tu_write_file(e->root, "sys/devices/system/node/node0/memory1/online", "1\n");
	int pi = add_proc(e, 4242, 100, 100, "hog", "/", false);
	tick(e, 10 * SEC);
	assert_int_equal(pages_on(pi, 1), 0);
	assert_true(count_calls(true) >= 1);
	assert_int_equal(status_get(e, "host.pfn_map_mixed_blocks"), 1);
}

/* ---- private nodes (issue 13 item 2) ---- */

static void private_node_never_target(void **state)
{
	struct env *e = *state;
	/* node 2 (the sibling with room) is private; the victim is in the
	 * root cgroup, granted nothing */
	tier_bitmask_set(e->d.config->fence_private_nodes, 2);
	int pi = add_proc(e, 4242, 600, 600, "hog", "/", false);
	tick(e, 10 * SEC);
	assert_int_equal(pages_on(pi, 2), 0);
	assert_int_equal(pages_on(pi, 3), 600);
	/* node 3 (slower) private as well, node 0 (faster) full: nowhere to go */
	int p2 = add_proc(e, 4343, 300, 300, "two", "/", false);
	tier_bitmask_set(e->d.config->fence_private_nodes, 3);
	rs_set_free(e->b, 0, RS_HIGH);
	tick(e, 20 * SEC);
	assert_int_equal(pages_on(p2, 1), 300);
	char buf[256];
	assert_non_null(strstr(status_str(e, "state", buf, sizeof(buf)), "no target with room"));
}

/* ---- identity ---- */

/* After the victim was chosen, its PID comes to name another process:
 * no move_pages call for that PID any more, and status says so. */
static void pid_reuse(void **state)
{
	struct env *e = *state;
	e->d.config->relief_tick_budget_bytes = 100 * PAGE;
	int pi = add_proc(e, 4242, 1000, 1000, "victim", "/", false);
	tick(e, 10 * SEC);
	assert_int_equal(pages_on(pi, 1), 900);
	unsigned before = K.nr_calls;
	/* The victim exits and is reaped; a new process gets PID 4242 (same
	 * files at proc/4242, pages on node 1 again). */
	K.dead[pi] = true;
	int np = add_proc(e, 4242, 1000, 1000, "granted-db", "/", false);
	K.pid[pi] = -1;                            /* the old one is gone from the fake kernel */
	/* ... mapped where the old one was, so its pages are found there */
	char text[256];
	for (size_t i = 0; i < K.n[np]; i++)
		K.p[np][i].addr = base_of(pi) + i * PAGE;
	snprintf(text, sizeof(text), "%llx-%llx rw-p 00000000 00:00 0 \n", (unsigned long long)base_of(pi),
		 (unsigned long long)(base_of(pi) + 1000 * PAGE));
	tu_write_file(e->root, "proc/4242/maps", text);
	tu_write_file(e->root, "proc/4242/pagemap", "");
	sync_proc(np);
	tick(e, 11 * SEC);
	for (unsigned c = before; c < K.nr_calls; c++)
		assert_int_not_equal(K.calls[c].pid, 4242);
	assert_int_equal(pages_on(np, 1), 1000);
	assert_int_equal(status_get(e, "total.identity_lost"), 1);
	assert_int_equal(status_get(e, "failures.process_exited"), 1);
}

/* A seccomp filter that refuses pidfd_send_signal (EPERM): the identity
 * falls back to the start time, which the new process does not share. */
static int eperm_pidfd_alive(int fd)
{
	(void)fd;
	return -EPERM;
}
static const struct tierd_ops fake_ops_eperm = {
	.move_pages = fake_move_pages,
	.pidfd_open = fake_pidfd_open,
	.pidfd_alive = eperm_pidfd_alive,
};

static void pid_reuse_pidfd_refused(void **state)
{
	struct env *e = *state;
	e->d.ops = &fake_ops_eperm;
	e->d.config->relief_tick_budget_bytes = 100 * PAGE;
	int pi = add_proc(e, 4242, 1000, 1000, "victim", "/", false);
	tick(e, 10 * SEC);
	assert_int_equal(pages_on(pi, 1), 900);    /* it works without pidfd checks */
	unsigned before = K.nr_calls;
	K.dead[pi] = true;
	int np = add_proc(e, 4242, 1000, 1000, "other", "/", false);
	K.pid[pi] = -1;
	char text[256];
	for (size_t i = 0; i < K.n[np]; i++)
		K.p[np][i].addr = base_of(pi) + i * PAGE;
	snprintf(text, sizeof(text), "%llx-%llx rw-p 00000000 00:00 0 \n", (unsigned long long)base_of(pi),
		 (unsigned long long)(base_of(pi) + 1000 * PAGE));
	tu_write_file(e->root, "proc/4242/maps", text);
	tu_write_file(e->root, "proc/4242/pagemap", "");
	sync_proc(np);
	tick(e, 11 * SEC);
	for (unsigned c = before; c < K.nr_calls; c++)
		assert_int_not_equal(K.calls[c].pid, 4242);
	assert_int_equal(status_get(e, "total.identity_lost"), 1);
}

/* ---- sparse VMAs without PAGEMAP_SCAN, cheap signals ---- */

static void sparse_vma_skipped(void **state)
{
	struct env *e = *state;
	int pi = add_proc(e, 4242, 100, 100, "sparse", "/", false);
	/* A 16 TiB reservation after the real VMA; VmRSS is 400000 kB. */
	char text[512];
	uint64_t b = base_of(pi), big = b + (4ull << 30);
	snprintf(text, sizeof(text), "%llx-%llx rw-p 00000000 00:00 0 \n%llx-%llx rw-p 00000000 00:00 0 \n",
		 (unsigned long long)b, (unsigned long long)(b + 100 * PAGE), (unsigned long long)big,
		 (unsigned long long)(big + (16ull << 40)));
	tu_write_file(e->root, "proc/4242/maps", text);
	tick(e, 10 * SEC);
	assert_int_equal(pages_on(pi, 1), 0);
	/* once per run (the first pass counts skips; the others found no
	 * page of their heat there and did not walk) */
	assert_int_equal(status_get(e, "last_run.sparse_vmas_skipped"), 1);
	assert_int_equal(status_get(e, "last_run.sparse_bytes_skipped"), 16ll << 40);
	/* the reads were bounded by what was walked: 100 pages' span */
	assert_true(status_get(e, "last_run.pagemap_reads") <= 2);
}

/* A memory cgroup with nothing on the node: its processes are not walked. */
static void memcg_nothing_there(void **state)
{
	struct env *e = *state;
	add_proc(e, 4242, 100, 100, "a", "/a", false);
	add_proc(e, 4343, 100, 100, "b", "/b", false);
	tu_write_file(e->root, "sys/fs/cgroup/a/memory.numa_stat", "anon N0=409600 N1=0 N2=0 N3=0\nfile N0=0 N1=0 N2=0 N3=0\n");
	tu_write_file(e->root, "sys/fs/cgroup/b/memory.numa_stat", "anon N0=0 N1=409600 N2=0 N3=0\nfile N0=0 N1=0 N2=0 N3=0\n");
	tick(e, 10 * SEC);
	assert_int_equal(status_get(e, "victims_skipped.cgroup-has-nothing-there"), 1);
	for (unsigned c = 0; c < K.nr_calls; c++)
		assert_int_equal(K.calls[c].pid, 4343);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(batching_and_grouping), T(move_all_flag), T(per_page_status), T(per_page_enomem),
		T(call_level_errors),     T(process_exits), T(untouched_statuses), T(budget),
		T(dry_run),               T(victims_skipped), T(stops_when_recovered),
		T(only_what_is_needed),   T(hot_first_to_faster), T(cold_first_to_slower_soft_dirty),
		T(address_order),         T(mlocked_never_moved), T(thp_as_one_unit), T(mixed_block_asks),
		T(private_node_never_target), T(pid_reuse), T(pid_reuse_pidfd_refused), T(sparse_vma_skipped), T(memcg_nothing_there),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
