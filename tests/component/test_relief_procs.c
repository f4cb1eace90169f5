/* SPDX-License-Identifier: MIT */
/*
 * Relief's mover (daemon/tierd-relief.c) on real processes of this host:
 * the real /proc/PID/{maps,pagemap,smaps,stat}, PAGEMAP_SCAN, /proc/kpageflags,
 * the real memory blocks and real pidfds, with a fake move_pages(2) in the
 * ops table that records every call and "moves" pages (this host has one
 * node).  Needs root (PFNs, kpageflags, clone3 with set_tid); skips (77)
 * otherwise.
 *
 *  - A process that maps 16 TiB with MAP_NORESERVE and touches its first and
 *    last page is relieved of its two pages with the same number of kernel
 *    calls as one whose mapping is 1 GiB (issue 12): with PFNs, without
 *    PFNs, and for the whole process; without PAGEMAP_SCAN the 16 TiB VMA is
 *    skipped as too sparse, counted, and the reads stay bounded.
 *  - A victim replaced by another process with the same PID (clone3 with
 *    set_tid) is not touched: no move_pages call with that PID, with pidfds
 *    and without.
 *  - Mlocked pages (PG_mlocked and VM_LOCKED) are never handed to the kernel.
 *  - A process with 60,000 VMAs is walked in calls of at most 4096 VMAs.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tier/pfnmap.h>
#include "tierd.h"
#include "tierd-relief.h"

/* ---- stubs of the daemon functions tierd-relief.c calls ---- */
void tierd_record_action(struct tierd *d, const char *kind, const char *target, const char *value,
			 const char *reason, int result)
{
	(void)d, (void)kind, (void)target, (void)value, (void)reason, (void)result;
}
bool tierd_dry_run(const struct tierd *d)
{
	(void)d;
	return false;
}
uint64_t tierd_now_mono_usec(void)
{
	return 0;
}

/* ---- the fake move_pages ---- */

static struct {
	unsigned calls, moves, queries;
	pid_t last_pid;
	unsigned calls_for_pid;   /* calls naming watch_pid */
	pid_t watch_pid;
	uint64_t pages_moved;
	uint64_t first_addr[16];
} F;

static long fake_move_pages(pid_t pid, unsigned long count, void **pages, const int *nodes, int *status, int flags)
{
	(void)flags;
	F.calls++;
	F.last_pid = pid;
	if (pid == F.watch_pid)
		F.calls_for_pid++;
	if (F.moves < 16 && nodes)
		F.first_addr[F.moves] = (uint64_t)(uintptr_t)pages[0];
	if (nodes) {
		F.moves++;
		F.pages_moved += count;
	} else {
		F.queries++;
	}
	for (unsigned long i = 0; i < count; i++)
		status[i] = nodes ? nodes[i] : 0;   /* every page is on node 0 here */
	return 0;
}

static int real_pidfd_open(pid_t pid)
{
	long fd = syscall(SYS_pidfd_open, pid, 0);
	return fd < 0 ? -errno : (int)fd;
}

static int real_pidfd_alive(int fd)
{
	return syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) < 0 ? -errno : 0;
}

static const struct tierd_ops ops = {
	.move_pages = fake_move_pages, .pidfd_open = real_pidfd_open, .pidfd_alive = real_pidfd_alive,
};
static const struct tierd_ops ops_no_pidfd = { .move_pages = fake_move_pages };

static int choose_one(void *ctx, int src, const struct bitmask *avoid, uint64_t *room)
{
	(void)ctx, (void)src, (void)avoid;
	*room = UINT64_MAX / 4;
	return 1;
}
static void moved_cb(void *ctx, int src, int dst, uint64_t pages, bool dry)
{
	(void)ctx, (void)src, (void)dst, (void)pages, (void)dry;
}
static void enomem_cb(void *ctx, int node)
{
	(void)ctx, (void)node;
}

static struct tier_pfn_map pfn_map;
static int kpf_fd = -1, rootfd = -1;

static int group_setup(void **state)
{
	(void)state;
	char err[256];
	if (geteuid() != 0) {
		print_message("SKIP: needs root (pagemap PFNs, kpageflags, clone3 set_tid)\n");
		exit(77);
	}
	rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	kpf_fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (tier_pfn_map_read(rootfd, 4096, &pfn_map, err, sizeof(err)) < 0)
		print_message("note: no memory blocks (%s): nodes by query\n", err);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	tier_pfn_map_free(&pfn_map);
	close(kpf_fd);
	close(rootfd);
	return 0;
}

static void mover_init(struct tierd_mover *m, const struct tierd_ops *o)
{
	memset(m, 0, sizeof(*m));
	m->ops = o;
	m->rootfd = rootfd;
	m->page_size = 4096;
	m->pmd_bytes = 2u << 20;
	m->batch_pages = 1024;
	m->flags = 2; /* MPOL_MF_MOVE */
	m->choose = choose_one;
	m->moved = moved_cb;
	m->enomem = enomem_cb;
	m->kpageflags_fd = kpf_fd;
	m->pfn_map = pfn_map.nr_runs ? &pfn_map : NULL;
}

/* A child that maps `size` bytes (MAP_NORESERVE), touches its first and last
 * page and waits; the mapping's address comes back through a pipe. */
struct child {
	pid_t pid;
	uint64_t base, size;
	int wake;                 /* write a byte: the child exits */
};

static void child_start(struct child *c, uint64_t size, size_t mlock_pages)
{
	int a[2], b[2];
	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	c->size = size;
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		close(a[0]);
		close(b[1]);
		char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			_exit(2);
		madvise(p, size, MADV_NOHUGEPAGE);
		p[0] = 1;
		p[size - 1] = 1;
		if (mlock_pages) {
			/* a second mapping: mlock_pages locked, as many not */
			char *q = mmap(NULL, 2 * mlock_pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				       -1, 0);
			if (q == MAP_FAILED)
				_exit(2);
			madvise(q, 2 * mlock_pages * 4096, MADV_NOHUGEPAGE);
			memset(q, 1, 2 * mlock_pages * 4096);
			/* the raw syscall: AddressSanitizer's mlock() is a no-op */
			if (syscall(SYS_mlock, q, mlock_pages * 4096) < 0)
				_exit(3);
			p = q;
		}
		uint64_t addr = (uint64_t)(uintptr_t)p;
		if (write(a[1], &addr, sizeof(addr)) != sizeof(addr))
			_exit(4);
		char x;
		(void)!read(b[0], &x, 1);
		_exit(0);
	}
	close(a[1]);
	close(b[0]);
	assert_int_equal(read(a[0], &c->base, sizeof(c->base)), (ssize_t)sizeof(c->base));
	close(a[0]);
	c->wake = b[1];
}

static void child_stop(struct child *c)
{
	(void)!write(c->wake, "x", 1);
	close(c->wake);
	waitpid(c->pid, NULL, 0);
}

struct calls {
	uint64_t kernel;          /* every syscall the mover makes on the process's behalf */
	uint64_t moved, found, sparse;
	uint64_t pagemap_reads;
};

/* Every pass (cold, warm, hot) over the child, as the relief job does. */
static struct calls relieve(struct child *c, bool range, bool no_pfn, bool no_scan)
{
	struct tierd_mover m;
	struct tierd_mover_proc p;
	struct bitmask *avoid = tier_nodemask_alloc();
	mover_init(&m, &ops);
	m.no_pfn = no_pfn;
	m.no_pagemap_scan = no_scan;
	if (range) {
		m.range_start = c->base;
		m.range_end = c->base + c->size;
	}
	memset(&F, 0, sizeof(F));
	assert_int_equal(tierd_mover_proc_open(&m, &p, c->pid), 0);
	for (int h = 0; h < TIER_HEAT_NR; h++) {
		struct tierd_mover_result res;
		int r;
		do {
			struct tierd_budget b;
			tierd_budget_init(&b, 16);
			m.count_skips = h == 0;
			r = tierd_mover_pass(&m, &p, 0, (enum tier_page_heat)h, UINT64_MAX / 4, &b, avoid, &res);
		} while (r == 1);
		assert_int_equal(r, 0);
		assert_int_equal(tierd_mover_proc_rewind(&p), 0);
	}
	const struct tierd_mover_stats *s = &m.stats;
	struct calls k = {
		.kernel = s->move_calls + s->query_calls + s->scan_calls + s->pagemap_reads + s->kpageflags_reads +
			  s->maps_reads + s->smaps_reads + s->identity_checks,
		.moved = s->moved_pages, .found = s->found_pages, .sparse = s->sparse_vmas_skipped,
		.pagemap_reads = s->pagemap_reads,
	};
	print_message("  size %llu GiB range=%d no_pfn=%d no_scan=%d: %llu kernel calls (%llu moves, %llu queries, "
		      "%llu scans, %llu pagemap reads, %llu kpageflags reads, %llu maps reads), moved %llu, sparse %llu, locator %s\n",
		      (unsigned long long)(c->size >> 30), range, no_pfn, no_scan, (unsigned long long)k.kernel,
		      (unsigned long long)s->move_calls, (unsigned long long)s->query_calls,
		      (unsigned long long)s->scan_calls, (unsigned long long)s->pagemap_reads,
		      (unsigned long long)s->kpageflags_reads, (unsigned long long)s->maps_reads,
		      (unsigned long long)k.moved, (unsigned long long)k.sparse, tierd_locator_name(p.locator));
	tierd_mover_proc_close(&p);
	tierd_mover_free(&m);
	tier_bitmask_free(avoid);
	return k;
}

static void sparse_16tib(void **state)
{
	(void)state;
	struct child small, big;
	child_start(&small, 1ull << 30, 0);
	child_start(&big, 16ull << 40, 0);
	for (int mode = 0; mode < 2; mode++) {
		bool no_pfn = mode == 1;
		/* the mapping alone: exactly its two pages */
		struct calls a = relieve(&small, true, no_pfn, false), b = relieve(&big, true, no_pfn, false);
		assert_int_equal(a.moved, 2);
		assert_int_equal(b.moved, 2);
		assert_int_equal(a.kernel, b.kernel);
		/* the whole process (libc, stack...: alike in both, but not
		 * always identical: a sanitizer's allocator maps differently):
		 * 16 TiB instead of 1 GiB adds nothing that grows with the
		 * mapping (per-address querying made 4 M calls of it) */
		a = relieve(&small, false, no_pfn, false);
		b = relieve(&big, false, no_pfn, false);
		assert_true(b.moved >= 2);
		assert_true(b.kernel <= a.kernel + 16 && a.kernel <= b.kernel + 16);
	}
	/* Without PAGEMAP_SCAN: the 16 TiB VMA is too sparse to read (a few
	 * pages resident), counted once a run; the 1 GiB one is read, in
	 * bounded reads (RELIEF_READ_SPAN_PAGES = 128 MiB of span per read). */
	struct calls a = relieve(&small, true, false, true), b = relieve(&big, true, false, true);
	assert_int_equal(a.moved, 2);
	assert_int_equal(a.sparse, 0);
	assert_true(a.pagemap_reads <= 3 * ((1ull << 30) / (128ull << 20)) + 3);
	assert_int_equal(b.moved, 0);
	assert_int_equal(b.sparse, 1);
	assert_true(b.pagemap_reads == 0);
	child_stop(&small);
	child_stop(&big);
}

/* ---- PID reuse ---- */

static pid_t clone3_with_pid(pid_t want)
{
	struct clone_args args;
	pid_t tid = want;
	memset(&args, 0, sizeof(args));
	args.exit_signal = SIGCHLD;
	args.set_tid = (uint64_t)(uintptr_t)&tid;
	args.set_tid_size = 1;
	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

static void pid_reuse_with(const struct tierd_ops *o, const char *what)
{
	struct tierd_mover m;
	struct tierd_mover_proc p;
	struct bitmask *avoid = tier_nodemask_alloc();
	struct child a;
	child_start(&a, 64ull << 20, 0);
	mover_init(&m, o);
	m.range_start = a.base;
	m.range_end = a.base + a.size;
	/* relief chooses A (identity taken), moves some of it */
	assert_int_equal(tierd_mover_proc_open(&m, &p, a.pid), 0);
	struct tierd_mover_result res;
	memset(&F, 0, sizeof(F));
	assert_int_equal(tierd_mover_pass(&m, &p, 0, TIER_HEAT_NR, 1, NULL, avoid, &res), 1);
	assert_int_equal(F.moves, 1);
	assert_int_equal(tierd_mover_proc_rewind(&p), 0);
	/* A exits and is reaped; B gets A's PID (clone3 set_tid, as root) and
	 * has pages at the same address. */
	pid_t pid = a.pid;
	child_stop(&a);
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL);         /* a different start time (clock ticks) */
	int go[2];
	assert_int_equal(pipe(go), 0);
	pid_t b = clone3_with_pid(pid);
	if (b < 0 && (errno == ENOSYS || errno == EPERM || errno == EEXIST || errno == EINVAL)) {
		print_message("SKIP (%s): clone3 set_tid failed: %s\n", what, strerror(errno));
		tierd_mover_proc_close(&p);
		tierd_mover_free(&m);
		tier_bitmask_free(avoid);
		skip();
	}
	assert_true(b >= 0);
	if (b == 0) {
		char *q = mmap((void *)(uintptr_t)m.range_start, 64ull << 20, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (q != MAP_FAILED)
			memset(q, 2, 1 << 20);
		char x;
		close(go[1]);
		(void)!read(go[0], &x, 1);
		_exit(0);
	}
	assert_int_equal(b, pid);
	close(go[0]);
	/* relief resumes its victim: not a single call names that PID */
	memset(&F, 0, sizeof(F));
	F.watch_pid = pid;
	int r = tierd_mover_pass(&m, &p, 0, TIER_HEAT_NR, UINT64_MAX / 4, NULL, avoid, &res);
	print_message("  %s: pass after reuse returned %d, %u calls naming pid %d, identity lost %llu\n", what, r,
		      F.calls_for_pid, (int)pid, (unsigned long long)m.stats.identity_lost);
	assert_int_equal(r, -ESRCH);
	assert_int_equal(F.calls_for_pid, 0);
	assert_int_equal(res.moved_pages, 0);
	/* and a fresh check says the same */
	assert_int_equal(tierd_mover_proc_check(&m, &p), -ESRCH);
	close(go[1]);
	waitpid(b, NULL, 0);
	tierd_mover_proc_close(&p);
	tierd_mover_free(&m);
	tier_bitmask_free(avoid);
}

static void pid_reuse(void **state)
{
	(void)state;
	pid_reuse_with(&ops, "pidfd");
	/* Without pidfds (a kernel before 5.3): the start time, read through
	 * the /proc/PID directory opened for the first process. */
	pid_reuse_with(&ops_no_pidfd, "start time");
}

/* ---- mlocked pages ---- */

static void mlocked(void **state)
{
	(void)state;
	struct child c;
	child_start(&c, 4096, 64);    /* base = the mlock mapping: 64 locked, 64 not */
	c.size = 128 * 4096;
	struct tierd_mover m;
	struct tierd_mover_proc p;
	struct bitmask *avoid = tier_nodemask_alloc();
	mover_init(&m, &ops);
	m.range_start = c.base;
	m.range_end = c.base + c.size;
	memset(&F, 0, sizeof(F));
	assert_int_equal(tierd_mover_proc_open(&m, &p, c.pid), 0);
	assert_true(p.locked_bytes >= 64 * 4096);
	assert_int_equal(tierd_mover_proc_read_locked(&m, &p, NULL), 0);
	assert_true(p.nr_locked >= 1);
	struct tierd_mover_result res;
	m.count_skips = true;
	assert_int_equal(tierd_mover_pass(&m, &p, 0, TIER_HEAT_NR, UINT64_MAX / 4, NULL, avoid, &res), 0);
	assert_int_equal(m.stats.moved_pages, 64);
	assert_int_equal(m.stats.skipped_mlocked_pages, 64);
	for (unsigned i = 0; i < F.moves && i < 16; i++)
		assert_true(F.first_addr[i] >= c.base + 64 * 4096);
	tierd_mover_proc_close(&p);
	tierd_mover_free(&m);
	tier_bitmask_free(avoid);
	child_stop(&c);
}

/* ---- a process with 60,000 VMAs ---- */

static void many_vmas(void **state)
{
	(void)state;
	enum { NVMA = 60000 };
	int a[2], b[2];
	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	pid_t pid = fork();
	if (pid == 0) {
		/* one page each, alternating rw-p / r--p so that none merge;
		 * the writable ones written */
		char *base = mmap(NULL, (size_t)NVMA * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (base == MAP_FAILED)
			_exit(2);
		for (size_t i = 0; i < NVMA; i++) {
			char *q = mmap(base + i * 4096, 4096, i % 2 ? PROT_READ : PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			if (q == MAP_FAILED)
				_exit(3);
			if (i % 2 == 0)
				q[0] = 1;
		}
		uint64_t addr = (uint64_t)(uintptr_t)base;
		if (write(a[1], &addr, 8) != 8)
			_exit(4);
		char x;
		(void)!read(b[0], &x, 1);
		_exit(0);
	}
	close(a[1]);
	close(b[0]);
	uint64_t base;
	if (read(a[0], &base, 8) != 8) {
		int st;
		waitpid(pid, &st, 0);
		print_message("SKIP: the child could not map %d VMAs (vm.max_map_count?)\n", NVMA);
		skip();
	}
	struct tierd_mover m;
	struct tierd_mover_proc p;
	struct bitmask *avoid = tier_nodemask_alloc();
	mover_init(&m, &ops);
	memset(&F, 0, sizeof(F));
	assert_int_equal(tierd_mover_proc_open(&m, &p, pid), 0);
	unsigned calls = 0;
	uint64_t max_lines = 0;
	int r;
	struct tierd_mover_result res;
	do {
		struct tierd_budget bud;
		tierd_budget_init(&bud, 16);
		r = tierd_mover_pass(&m, &p, 0, TIER_HEAT_NR, UINT64_MAX / 4, &bud, avoid, &res);
		calls++;
		if (m.lines_this_call > max_lines)
			max_lines = m.lines_this_call;
	} while (r == 1);
	print_message("  %d VMAs: %u pass calls, at most %llu maps lines per call, %llu pages moved, %llu PAGEMAP_SCAN calls\n",
		      NVMA, calls, (unsigned long long)max_lines, (unsigned long long)m.stats.moved_pages,
		      (unsigned long long)m.stats.scan_calls);
	assert_int_equal(r, 0);
	/* the walk was cut into calls of at most 4096 VMAs */
	assert_true(max_lines <= 4096);
	assert_true(calls >= NVMA / 4096);
	assert_true(m.stats.maps_lines >= NVMA);
	/* every written page was found */
	assert_true(m.stats.moved_pages >= NVMA / 2);
	tierd_mover_proc_close(&p);
	tierd_mover_free(&m);
	tier_bitmask_free(avoid);
	(void)!write(b[1], "x", 1);
	close(b[1]);
	close(a[0]);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sparse_16tib),
		cmocka_unit_test(pid_reuse),
		cmocka_unit_test(mlocked),
		cmocka_unit_test(many_vmas),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
