/* SPDX-License-Identifier: MIT */
/*
 * relief-bench: move the same set of pages of a child process from node FROM
 * to node TO with
 *   (a) tierd's mover (daemon/tierd-relief.c: status query + batched
 *       move_pages grouped by target, the code the daemon runs),
 *   (b) migratepages(8) from numactl (the kernel's migrate_pages(2)),
 *   (c) move_pages(2) with one page per call,
 * and print pages/s for each and the ratios: per run, then the medians over
 * --runs (the median rate of each mover, and the median of the per-run
 * ratios).  Between movers the pages are put back on FROM (not timed).
 * --thp backs the set with transparent huge pages (MADV_HUGEPAGE; the
 * AnonHugePages actually obtained is printed).  The child's memory is checksummed before and
 * after: a move must never change content.
 *
 * With FROM == TO (a one-node host) nothing migrates: the kernel answers
 * "already there" for every page, so the figures are the cost of the calls
 * (page-table walks, isolation checks), not of copying memory.
 *
 *   relief-bench [--size BYTES] [--batch PAGES] [--runs N] [--check] [--thp] FROM TO
 *
 * --check: test mode for tests/component/test_relief_real.sh: run only (a)
 * and assert the mover's report (every page found on FROM, every page
 * reported on TO afterwards, no failure, content intact); exit 0 / 1.
 *
 * --no-scan, --no-pfn: tierd's mover as without PAGEMAP_SCAN (before 6.7) /
 * without CAP_SYS_ADMIN (no PFNs: a status query per batch).
 * --skip-onepage: no (c) (it takes minutes under TCG; for batch-size trials).
 *
 * --hold: the VM scenario's known process: fault SIZE on FROM (mbind, then
 * the policy is dropped), print "hold: pid=P pages=N checksum=X", then on
 * each SIGUSR1 print "hold: checksum=X" again; exit on SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <numa.h>
#include <numaif.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tierd.h"
#include "tierd-relief.h"

/* ---- what tierd-relief.c needs from the rest of the daemon ---- */
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
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static long sys_move_pages(pid_t pid, unsigned long count, void **pages, const int *nodes, int *status, int flags)
{
	long r = numa_move_pages(pid, count, pages, nodes, status, flags);
	return r < 0 ? -errno : r;
}
static int sys_pidfd_open(pid_t pid)
{
	long fd = syscall(SYS_pidfd_open, pid, 0);
	return fd < 0 ? -errno : (int)fd;
}
static int sys_pidfd_alive(int pidfd)
{
	return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0 ? -errno : 0;
}
static const struct tierd_ops bench_ops = {
	.move_pages = sys_move_pages, .pidfd_open = sys_pidfd_open, .pidfd_alive = sys_pidfd_alive,
};

/* ---- the child: known pages, checksum on request ---- */

static uint64_t checksum(const uint64_t *w, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ w[i]) * 1099511628211ull;
	return h;
}

struct child {
	pid_t pid;
	int cmd, ans;             /* pipes: parent -> child, child -> parent */
	uint64_t base, size;
	uint64_t sum_before;
};

static void child_main(int cmd, int ans, size_t size, int from, bool thp)
{
	uint64_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(2);
	madvise(p, size, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	struct bitmask *bm = numa_allocate_nodemask();
	numa_bitmask_setbit(bm, (unsigned)from);
	/* Fault the pages in on FROM, then drop the policy so that nothing
	 * but the movers decides where they live. */
	if (mbind(p, size, MPOL_BIND, bm->maskp, bm->size + 1, 0) < 0)
		_exit(3);
	for (size_t i = 0; i < size / 8; i++)
		p[i] = i * 0x9e3779b97f4a7c15ull;
	mbind(p, size, MPOL_DEFAULT, NULL, 0, 0);
	uint64_t msg[2] = { (uint64_t)(uintptr_t)p, checksum(p, size / 8) };
	if (write(ans, msg, sizeof(msg)) != sizeof(msg))
		_exit(4);
	char c;
	while (read(cmd, &c, 1) == 1) {
		if (c == 'c') {
			uint64_t s = checksum(p, size / 8);
			if (write(ans, &s, sizeof(s)) != sizeof(s))
				_exit(4);
		} else {
			break;
		}
	}
	_exit(0);
}

static int child_start(struct child *ch, size_t size, int from, bool thp)
{
	int a[2], b[2];
	if (pipe(a) < 0 || pipe(b) < 0)
		return -errno;
	ch->pid = fork();
	if (ch->pid == 0) {
		close(a[1]);
		close(b[0]);
		child_main(a[0], b[1], size, from, thp);
	}
	close(a[0]);
	close(b[1]);
	ch->cmd = a[1];
	ch->ans = b[0];
	ch->size = size;
	uint64_t msg[2];
	if (read(ch->ans, msg, sizeof(msg)) != sizeof(msg))
		return -EIO;
	ch->base = msg[0];
	ch->sum_before = msg[1];
	return 0;
}

static uint64_t child_sum(struct child *ch)
{
	uint64_t s = 0;
	if (write(ch->cmd, "c", 1) != 1 || read(ch->ans, &s, sizeof(s)) != sizeof(s))
		return 0;
	return s;
}

static void child_stop(struct child *ch)
{
	if (write(ch->cmd, "q", 1) != 1)
		kill(ch->pid, SIGKILL);
	waitpid(ch->pid, NULL, 0);
}

/* ---- helpers ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median of n values (sorted in place). */
static double median(double *v, unsigned n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* AnonHugePages of the child (smaps_rollup): how much of the set really
 * is THP (the kernel falls back to 4 KiB pages when it finds no free 2 MiB
 * block on the node). */
static uint64_t child_thp_kb(const struct child *ch)
{
	char path[64], line[256];
	uint64_t kb = 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)ch->pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %" SCNu64, &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Pages of the child's buffer on node (a bulk status query). */
static size_t count_on(const struct child *ch, int node, size_t *other)
{
	size_t n = ch->size / 4096, on = 0, chunk = 65536;
	void **pages = malloc(chunk * sizeof(*pages));
	int *st = malloc(chunk * sizeof(*st));
	*other = 0;
	for (size_t off = 0; off < n; off += chunk) {
		size_t k = n - off < chunk ? n - off : chunk;
		for (size_t i = 0; i < k; i++)
			pages[i] = (void *)(uintptr_t)(ch->base + (off + i) * 4096);
		if (numa_move_pages(ch->pid, k, pages, NULL, st, 0) < 0)
			break;
		for (size_t i = 0; i < k; i++)
			if (st[i] == node)
				on++;
			else
				(*other)++;
	}
	free(pages);
	free(st);
	return on;
}

/* Put every page back on node (bulk move_pages, not timed). */
static void reset_to(const struct child *ch, int node)
{
	size_t n = ch->size / 4096, chunk = 65536;
	void **pages = malloc(chunk * sizeof(*pages));
	int *st = malloc(chunk * sizeof(*st)), *nodes = malloc(chunk * sizeof(*nodes));
	for (size_t off = 0; off < n; off += chunk) {
		size_t k = n - off < chunk ? n - off : chunk;
		for (size_t i = 0; i < k; i++) {
			pages[i] = (void *)(uintptr_t)(ch->base + (off + i) * 4096);
			nodes[i] = node;
		}
		numa_move_pages(ch->pid, k, pages, nodes, st, MPOL_MF_MOVE);
	}
	free(pages);
	free(st);
	free(nodes);
}

static int fixed_target;
static int choose_fixed(void *ctx, int src, const struct bitmask *avoid, uint64_t *room)
{
	(void)ctx, (void)src;
	if (tier_bitmask_isset(avoid, fixed_target)) {
		*room = 0;
		return -1;
	}
	*room = UINT64_MAX / 2;
	return fixed_target;
}
static void moved_cb(void *ctx, int src, int dst, uint64_t pages, bool dry)
{
	(void)ctx, (void)src, (void)dst, (void)pages, (void)dry;
}
static bool enomem_seen;
static void enomem_cb(void *ctx, int node)
{
	(void)ctx;
	if (node == fixed_target)
		enomem_seen = true;
}
static int choose_fixed_nomem(void *ctx, int src, const struct bitmask *avoid, uint64_t *room)
{
	if (enomem_seen) {
		*room = 0;
		return -1;
	}
	return choose_fixed(ctx, src, avoid, room);
}

struct run {
	double sec;
	uint64_t pages;   /* reported moved / on target */
};

/* Flags for how tierd's mover runs (--no-scan, --no-pfn: as on a kernel
 * without PAGEMAP_SCAN, as without CAP_SYS_ADMIN). */
static bool opt_no_scan, opt_no_pfn, opt_skip_onepage;
static struct tier_pfn_map bench_pfn_map;
static int bench_kpf_fd = -1;
static uint64_t slices_last;

/* tierd's mover as the daemon's relief job runs it: the process opened with
 * its identity, its VM_LOCKED ranges read, then one pass per heat (cold,
 * warm, hot) over it, each in slices of TIERD_SLICE_USEC and at most 16
 * move_pages calls (the job's caps), until the pass reaches the end.  The
 * pages here are not marked (no clear_refs): they all have one heat, so two
 * of the passes locate every page and move none, as they would in tierd. */
static int run_tierd(const struct child *ch, int from, int to, unsigned batch, struct run *out,
		     struct tierd_mover *m, struct tierd_mover_result *res)
{
	int rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct bitmask *avoid = tier_nodemask_alloc();
	struct tierd_mover_proc p;
	memset(m, 0, sizeof(*m));
	m->ops = &bench_ops;
	m->rootfd = rootfd;
	m->page_size = 4096;
	m->batch_pages = batch;
	m->flags = MPOL_MF_MOVE;
	m->choose = choose_fixed_nomem;
	m->moved = moved_cb;
	m->enomem = enomem_cb;
	m->range_start = ch->base;
	m->range_end = ch->base + ch->size;
	m->no_pagemap_scan = opt_no_scan;
	m->no_pfn = opt_no_pfn;
	m->kpageflags_fd = bench_kpf_fd;
	m->pfn_map = bench_pfn_map.nr_runs ? &bench_pfn_map : NULL;
	fixed_target = to;
	enomem_seen = false;
	memset(res, 0, sizeof(*res));
	slices_last = 0;
	double t0 = now_sec();
	int r = tierd_mover_proc_open(m, &p, ch->pid);
	while (r == 0 && (r = tierd_mover_proc_read_locked(m, &p, NULL)) == 1)
		;
	for (int h = 0; r == 0 && h < TIER_HEAT_NR; h++) {
		struct tierd_mover_result pr;
		do {
			struct tierd_budget b;
			tierd_budget_init(&b, 16);
			m->count_skips = h == 0;
			r = tierd_mover_pass(m, &p, from, (enum tier_page_heat)h, UINT64_MAX / 2, &b, avoid, &pr);
			slices_last++;
			res->found_pages += pr.found_pages;
			res->attempted_pages += pr.attempted_pages;
			res->moved_pages += pr.moved_pages;
		} while (r == 1);
		if (r == 0)
			r = tierd_mover_proc_rewind(&p);
	}
	out->sec = now_sec() - t0;
	out->pages = res->moved_pages;
	tierd_mover_proc_close(&p);
	tier_bitmask_free(avoid);
	close(rootfd);
	return r;
}

/* CAP_SYS_ADMIN (21) in our effective set: pagemap shows PFNs. */
static bool have_cap_sys_admin(void)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	if (f)
		fclose(f);
	return (eff >> 21) & 1;
}

static const char *locator_of(const struct tierd_mover_stats *s)
{
	int best = 0;
	for (int i = 1; i < TIERD_LOC_NR; i++)
		if (s->locator_pages[i] > s->locator_pages[best])
			best = i;
	return tierd_locator_name((enum tierd_locator)best);
}

static uint64_t fails_of(const struct tierd_mover *m)
{
	uint64_t n = 0;
	for (int f = 0; f < TIERD_RF_NR; f++)
		n += m->stats.fail[f];
	return n;
}

/* migratepages(8) is a thin wrapper around migrate_pages(2); when the
 * binary is not there (the VM's initramfs), call the syscall through libnuma
 * directly, which is what it would do. */
static const char *migrate_how = "migratepages(8)";
static int run_migratepages(const struct child *ch, int from, int to, struct run *out)
{
	char cmd[128];
	int r;
	double t0;
	if (system("command -v migratepages >/dev/null 2>&1") == 0) {
		snprintf(cmd, sizeof(cmd), "migratepages %d %d %d", (int)ch->pid, from, to);
		t0 = now_sec();
		r = system(cmd);
	} else {
		struct bitmask *f = numa_allocate_nodemask(), *t = numa_allocate_nodemask();
		numa_bitmask_setbit(f, (unsigned)from);
		numa_bitmask_setbit(t, (unsigned)to);
		migrate_how = "migrate_pages(2) via libnuma (no migratepages binary)";
		t0 = now_sec();
		r = numa_migrate_pages(ch->pid, f, t) < 0 ? -1 : 0;
		numa_bitmask_free(f);
		numa_bitmask_free(t);
	}
	out->sec = now_sec() - t0;
	size_t other;
	out->pages = count_on(ch, to, &other);
	return r == 0 ? 0 : -1;
}

static int run_one_by_one(const struct child *ch, int to, struct run *out)
{
	size_t n = ch->size / 4096;
	uint64_t ok = 0;
	double t0 = now_sec();
	for (size_t i = 0; i < n; i++) {
		void *pg = (void *)(uintptr_t)(ch->base + i * 4096);
		int st = -1;
		if (numa_move_pages(ch->pid, 1, &pg, &to, &st, MPOL_MF_MOVE) == 0 && st == to)
			ok++;
	}
	out->sec = now_sec() - t0;
	out->pages = ok;
	return 0;
}

static int hold(uint64_t size, int node, bool thp)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	uint64_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 2;
	madvise(p, size, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	struct bitmask *bm = numa_allocate_nodemask();
	numa_bitmask_setbit(bm, (unsigned)node);
	if (mbind(p, size, MPOL_BIND, bm->maskp, bm->size + 1, 0) < 0)
		return 2;
	for (size_t i = 0; i < size / 8; i++)
		p[i] = i * 0x9e3779b97f4a7c15ull;
	mbind(p, size, MPOL_DEFAULT, NULL, 0, 0);
	printf("hold: pid=%d base=%#" PRIx64 " pages=%" PRIu64 " checksum=%016" PRIx64 "\n", (int)getpid(),
	       (uint64_t)(uintptr_t)p, size / 4096, checksum(p, size / 8));
	fflush(stdout);
	for (;;) {
		int sig;
		if (sigwait(&set, &sig) != 0 || sig != SIGUSR1)
			break;
		printf("hold: checksum=%016" PRIx64 "\n", checksum(p, size / 8));
		fflush(stdout);
	}
	return 0;
}

static uint64_t parse_size(const char *s)
{
	char *e;
	uint64_t v = strtoull(s, &e, 10);
	switch (*e) {
	case 'G': case 'g': return v << 30;
	case 'M': case 'm': return v << 20;
	case 'K': case 'k': return v << 10;
	default: return v;
	}
}

int main(int argc, char **argv)
{
	uint64_t size = 1ull << 30;
	unsigned batch = TIERD_RELIEF_BATCH_DEFAULT, runs = 1;
	bool check = false, thp = false, holdmode = false;
	int i;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--size") && i + 1 < argc)
			size = parse_size(argv[++i]);
		else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
			batch = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--check"))
			check = true;
		else if (!strcmp(argv[i], "--hold"))
			holdmode = true;
		else if (!strcmp(argv[i], "--thp"))
			thp = true;
		else if (!strcmp(argv[i], "--no-scan"))
			opt_no_scan = true;
		else if (!strcmp(argv[i], "--no-pfn"))
			opt_no_pfn = true;
		else if (!strcmp(argv[i], "--skip-onepage"))
			opt_skip_onepage = true;
		else {
			fprintf(stderr, "usage: relief-bench [--size BYTES] [--batch PAGES] [--runs N] [--check] [--thp] [--no-scan] [--no-pfn] [--skip-onepage] FROM TO\n");
			return 2;
		}
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: relief-bench [--size BYTES] [--batch PAGES] [--runs N] [--check] [--thp] [--no-scan] [--no-pfn] [--skip-onepage] FROM TO\n");
		return 2;
	}
	int from = atoi(argv[i]), to = atoi(argv[i + 1]);
	if (numa_available() < 0) {
		printf("SKIP: no NUMA support in this kernel\n");
		return 77;
	}
	if (from > numa_max_node() || to > numa_max_node()) {
		printf("SKIP: node %d or %d does not exist (max node %d)\n", from, to, numa_max_node());
		return 77;
	}
	size &= ~4095ull;
	{
		char err[256];
		int rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (tier_pfn_map_read(rootfd, 4096, &bench_pfn_map, err, sizeof(err)) < 0)
			printf("note: no PFN -> node map (%s): nodes by status query\n", err);
		close(rootfd);
		bench_kpf_fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	}
	if (holdmode)
		return hold(size, from, thp);
	const uint64_t npages = size / 4096;
	struct child ch;
	if (child_start(&ch, size, from, thp) < 0) {
		fprintf(stderr, "cannot start the child\n");
		return 1;
	}
	size_t other;
	size_t on_from = count_on(&ch, from, &other);
	printf("relief-bench: pid=%d pages=%" PRIu64 " size_mib=%" PRIu64 " from=%d to=%d batch=%u on_from=%zu%s\n",
	       (int)ch.pid, npages, size >> 20, from, to, batch, on_from,
	       from == to ? " (same node: nothing migrates, this measures call overhead only)" : "");
	int fails = 0;

	if (check) {
		struct tierd_mover m;
		struct tierd_mover_result res;
		struct run a;
		int r = run_tierd(&ch, from, to, batch, &a, &m, &res);
		uint64_t sum_after = child_sum(&ch);
		size_t on_to = count_on(&ch, to, &other);
		uint64_t failures = fails_of(&m);
		const struct tierd_mover_stats *S = &m.stats;
		uint64_t units = S->moved_huge_units + (S->moved_pages - S->moved_huge_pages);
		printf("check: r=%d found=%" PRIu64 " attempted=%" PRIu64 " moved=%" PRIu64 " move_calls=%" PRIu64
		       " query_calls=%" PRIu64 " scan_calls=%" PRIu64 " pagemap_reads=%" PRIu64 " kpageflags_reads=%" PRIu64
		       " huge_units=%" PRIu64 " huge_pages=%" PRIu64 " identity_checks=%" PRIu64 " locator=%s"
		       " failures=%" PRIu64 " on_to=%zu checksum_%s\n",
		       r, res.found_pages, res.attempted_pages, res.moved_pages, S->move_calls, S->query_calls,
		       S->scan_calls, S->pagemap_reads, S->kpageflags_reads, S->moved_huge_units, S->moved_huge_pages,
		       S->identity_checks, locator_of(S), failures, on_to, sum_after == ch.sum_before ? "ok" : "CHANGED");
#define CHECK(cond)                                                   \
	do {                                                          \
		if (!(cond)) {                                        \
			printf("FAIL: %s\n", #cond);                  \
			fails++;                                      \
		}                                                     \
	} while (0)
		CHECK(r == 0);
		CHECK(on_from == npages);
		CHECK(res.found_pages == npages);
		CHECK(res.moved_pages == npages);
		CHECK(on_to == npages);
		CHECK(failures == 0);
		/* Full batches: every call but the last carries batch_pages
		 * (a THP unit is never split: its calls may carry a unit more). */
		CHECK(S->move_calls == (npages + batch - 1) / batch ||
		      (thp && S->move_calls <= (npages + batch - 1) / batch + 1));
		/* One identity check right before every move_pages call. */
		CHECK(S->identity_checks == S->move_calls + S->query_calls);
		/* The status query only when pagemap does not say the node. */
		CHECK(strstr(locator_of(S), "+query") ? S->query_calls > 0 : S->query_calls == 0);
		/* PFNs are used whenever this process may see them. */
		CHECK(opt_no_pfn || bench_kpf_fd < 0 || !bench_pfn_map.nr_runs || !strstr(locator_of(S), "+query") ||
		      !have_cap_sys_admin());
		CHECK(!thp || opt_no_pfn || !bench_pfn_map.nr_runs || S->moved_huge_units > 0);
		(void)units;
		CHECK(sum_after == ch.sum_before);
		tierd_mover_free(&m);
		child_stop(&ch);
		printf("%s\n", fails ? "check failed" : "check passed");
		return fails ? 1 : 0;
	}

	/* Per run: pages/s of each mover.  TCG (and a busy host) makes single
	 * runs noisy, so the figures are medians over the runs: the median
	 * rate of each mover, and the median of the per-run ratios (paired:
	 * the three movers of one run see the same machine state). */
	double *pps = calloc((size_t)runs * 3, sizeof(*pps));
	double *ratio_mp = calloc(runs, sizeof(*ratio_mp)), *ratio_one = calloc(runs, sizeof(*ratio_one));
	uint64_t moved[3] = { 0, 0, 0 };
	if (!pps || !ratio_mp || !ratio_one)
		return 1;
	for (unsigned k = 0; k < runs; k++) {
		struct run a, b, c;
		struct tierd_mover m;
		struct tierd_mover_result res;
		reset_to(&ch, from);
		int r = run_tierd(&ch, from, to, batch, &a, &m, &res);
		printf("run %u (a) tierd mover: %.3f s, %" PRIu64 " pages on target, %" PRIu64 " move calls, %" PRIu64
		       " query calls, %" PRIu64 " huge units, %" PRIu64 " slices, locator %s, r=%d\n",
		       k, a.sec, a.pages, m.stats.move_calls, m.stats.query_calls, m.stats.moved_huge_units, slices_last,
		       locator_of(&m.stats), r);
		tierd_mover_free(&m);
		reset_to(&ch, from);
		if (run_migratepages(&ch, from, to, &b) < 0)
			printf("run %u (b) %s failed\n", k, migrate_how);
		printf("run %u (b) %s: %.3f s, %" PRIu64 " pages on target\n", k, migrate_how, b.sec, b.pages);
		if (opt_skip_onepage) {
			c.sec = 0;
			c.pages = 0;
		} else {
			reset_to(&ch, from);
			run_one_by_one(&ch, to, &c);
			printf("run %u (c) move_pages 1/call: %.3f s, %" PRIu64 " pages on target\n", k, c.sec, c.pages);
		}
		struct run *rr[3] = { &a, &b, &c };
		for (int x = 0; x < 3; x++) {
			pps[x * runs + k] = rr[x]->sec > 0 ? (double)npages / rr[x]->sec : 0;
			moved[x] = rr[x]->pages;
		}
		ratio_mp[k] = pps[runs + k] > 0 ? pps[k] / pps[runs + k] : 0;
		ratio_one[k] = pps[2 * runs + k] > 0 ? pps[k] / pps[2 * runs + k] : 0;
		printf("run %u ratios: tierd/migratepages=%.2f tierd/onepage=%.2f\n", k, ratio_mp[k], ratio_one[k]);
	}
	uint64_t sum_after = child_sum(&ch);
	uint64_t thp_kb = child_thp_kb(&ch);
	child_stop(&ch);
	double med[3];
	for (int x = 0; x < 3; x++)
		med[x] = median(pps + x * runs, runs);
	printf("runs=%u thp=%s anon_huge_kb=%" PRIu64 "\n", runs, thp ? "yes" : "no", thp_kb);
	printf("tierd_pages_per_sec=%.0f\nmigratepages_pages_per_sec=%.0f\nonepage_pages_per_sec=%.0f\n", med[0],
	       med[1], med[2]);
	printf("tierd_vs_migratepages=%.2f\ntierd_vs_onepage=%.2f\n", med[1] > 0 ? med[0] / med[1] : 0,
	       med[2] > 0 ? med[0] / med[2] : 0);
	printf("tierd_vs_migratepages_paired_median=%.2f\ntierd_vs_onepage_paired_median=%.2f\n", median(ratio_mp, runs),
	       median(ratio_one, runs));
	/* Best of the runs: a busy host (TCG on shared cores) only ever adds
	 * time, so the fastest run of each mover is the least disturbed. */
	double best[3] = { 0, 0, 0 };
	for (int x = 0; x < 3; x++)
		for (unsigned k = 0; k < runs; k++)
			if (pps[x * runs + k] > best[x])
				best[x] = pps[x * runs + k];
	printf("tierd_vs_migratepages_best=%.2f\ntierd_vs_onepage_best=%.2f\n", best[1] > 0 ? best[0] / best[1] : 0,
	       best[2] > 0 ? best[0] / best[2] : 0);
	printf("pages_on_target=%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n", moved[0], moved[1], moved[2]);
	printf("checksum=%s\n", sum_after == ch.sum_before ? "ok" : "CHANGED");
	if (from == to)
		printf("note=same node: nothing migrated; figures are call overhead only\n");
	free(pps);
	free(ratio_mp);
	free(ratio_one);
	return sum_after == ch.sum_before ? 0 : 1;
}
