/* SPDX-License-Identifier: MIT */
/*
 * /proc/PID parsers (lib/procmaps.c) on real captures from the 6.18 dev host
 * (tests/fixtures/procmaps/host-6.18: pid 460 is a python3 with 64 MiB of
 * anon memory, an 8 MiB shared /dev/zero mapping and 2 hugetlb pages; pid
 * 708 is sleep(1); pid 2 is kthreadd), plus small inline texts for the
 * shapes one node cannot produce (several N<node>= tokens).
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <tier/procmaps.h>
#include <tier/nodemask.h>

static int open_root(void)
{
	int fd = open(TIER_FIXTURES "/procmaps/host-6.18", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void numa_maps_real(void **state)
{
	(void)state;
	int root = open_root();
	struct tier_numa_maps m;
	assert_int_equal(tier_proc_read_numa_maps(root, 460, 4096, &m), 0);
	assert_int_equal(m.nr_vmas, 112);
	/* Sum over the file, hugetlb counted in base pages (python's recount:
	 * 22858). */
	assert_int_equal(tier_numa_maps_node_pages(&m, 0), 22858);
	assert_int_equal(tier_numa_maps_node_pages(&m, 1), 0);
	/* The hugetlb VMA: "huge ... N0=2 kernelpagesize_kB=2048". */
	bool found_huge = false, found_anon = false;
	for (size_t i = 0; i < m.nr_vmas; i++) {
		const struct tier_numa_maps_vma *v = &m.vmas[i];
		if (v->start == 0x7f9e85800000ull) {
			found_huge = true;
			assert_true(v->huge);
			assert_int_equal(v->kpage_bytes, 2u << 20);
			assert_int_equal(tier_numa_maps_vma_node_pages(v, 0), 1024);
		}
		if (v->start == 0x7f9e86548000ull) {
			found_anon = true;
			assert_false(v->huge);
			assert_int_equal(v->kpage_bytes, 4096);
			assert_int_equal(v->nr_nodes, 1);
			assert_int_equal(tier_numa_maps_vma_node_pages(v, 0), 16580);
		}
	}
	assert_true(found_huge);
	assert_true(found_anon);
	tier_numa_maps_free(&m);

	uint64_t sums[4];
	assert_int_equal(tier_proc_read_numa_sums(root, 708, 4096, sums, 4), 0);
	assert_int_equal(sums[0], 453);
	assert_int_equal(sums[1], 0);
	/* A kernel thread: numa_maps is empty. */
	assert_int_equal(tier_proc_read_numa_sums(root, 2, 4096, sums, 4), 0);
	assert_int_equal(sums[0], 0);
	/* Gone: ENOENT. */
	assert_int_equal(tier_proc_read_numa_sums(root, 99999, 4096, sums, 4), -ENOENT);
	close(root);
}

static void numa_maps_multi_node(void **state)
{
	(void)state;
	/* The shape of a 2-tier VM's numa_maps (format from the captures). */
	const char *text =
		"55d0c0a00000 default file=/usr/bin/hog mapped=2 N0=2 kernelpagesize_kB=4\n"
		"7f0000000000 bind:1 anon=262144 dirty=262144 active=0 N0=12 N1=262132 kernelpagesize_kB=4\n"
		"7f1000000000 interleave:0-1 anon=10 dirty=10 N1=6 N0=4 kernelpagesize_kB=4\n"
		"7f2000000000 default\n"
		"7f3000000000 prefer:1 file=/hugetlb huge dirty=3 N1=3 kernelpagesize_kB=2048\n";
	struct tier_numa_maps m;
	assert_int_equal(tier_numa_maps_parse(text, 4096, &m), 0);
	assert_int_equal(m.nr_vmas, 5);
	assert_int_equal(m.vmas[3].nr_nodes, 0);
	assert_int_equal(tier_numa_maps_node_pages(&m, 0), 2 + 12 + 4);
	assert_int_equal(tier_numa_maps_node_pages(&m, 1), 262132 + 6 + 3 * 512);
	assert_int_equal(tier_numa_maps_vma_node_pages(&m.vmas[1], 1), 262132);
	tier_numa_maps_free(&m);

	uint64_t sums[2];
	assert_int_equal(tier_numa_maps_sum(text, 4096, sums, 2), 0);
	assert_int_equal(sums[0], 18);
	assert_int_equal(sums[1], 262132 + 6 + 1536);
	/* Nodes beyond the array are dropped by the sum, not an error. */
	assert_int_equal(tier_numa_maps_sum("1000 default N5=7\n", 4096, sums, 2), 0);
	assert_int_equal(sums[0] + sums[1], 0);
}

/* The streamed parser gives the sums of the whole-text parser whatever the
 * chunking (every split point of a text, including inside tokens and right
 * at '\n'), and a last line without '\n' counts once end() is called. */
static void numa_maps_stream_chunks(void **state)
{
	(void)state;
	const char *text =
		"55d0c0a00000 default file=/usr/bin/cat mapped=2 N0=2 kernelpagesize_kB=4\n"
		"7f0000000000 interleave:0-1 anon=300 dirty=300 N0=150 N1=150 kernelpagesize_kB=4\n"
		"7f1000000000 bind:1 anon=2 dirty=2 N1=2 kernelpagesize_kB=2048\n"
		"7f2000000000 default\n"
		"\n"
		"7ffd00000000 default stack anon=3 dirty=3 N0=3";
	uint64_t want[3], got[3];
	assert_int_equal(tier_numa_maps_sum(text, 4096, want, 3), 0);
	assert_int_equal(want[0], 2 + 150 + 3);
	assert_int_equal(want[1], 150 + 2 * 512);
	size_t len = strlen(text);
	for (size_t cut1 = 0; cut1 <= len; cut1++) {
		for (size_t cut2 = cut1; cut2 <= len; cut2 += 7) {
			struct tier_numa_maps_stream st;
			tier_numa_maps_stream_init(&st, 4096, got, 3);
			assert_true(tier_numa_maps_stream_feed(&st, text, cut1) >= 0);
			assert_true(tier_numa_maps_stream_feed(&st, text + cut1, cut2 - cut1) >= 0);
			assert_true(tier_numa_maps_stream_feed(&st, text + cut2, len - cut2) >= 0);
			assert_int_equal(tier_numa_maps_stream_end(&st), 0);
			assert_memory_equal(got, want, sizeof(want));
			assert_int_equal(st.lines, 5);      /* the blank line is no VMA */
			assert_int_equal(st.bytes, len);
			tier_numa_maps_stream_free(&st);
		}
	}
	/* errors are sticky and zero nothing already summed; a too-long line
	 * is -E2BIG, not a silent cut */
	struct tier_numa_maps_stream st;
	tier_numa_maps_stream_init(&st, 4096, got, 3);
	assert_int_equal(tier_numa_maps_stream_feed(&st, "1000 default N0=1\nzz default\n", 29), -EINVAL);
	assert_int_equal(tier_numa_maps_stream_feed(&st, "1000 default N0=1\n", 18), -EINVAL);
	assert_int_equal(tier_numa_maps_stream_end(&st), -EINVAL);
	tier_numa_maps_stream_free(&st);
	char *big = malloc(TIER_NUMA_MAPS_LINE_MAX + 2);
	memset(big, 'a', TIER_NUMA_MAPS_LINE_MAX + 1);
	tier_numa_maps_stream_init(&st, 4096, got, 3);
	assert_int_equal(tier_numa_maps_stream_feed(&st, big, TIER_NUMA_MAPS_LINE_MAX + 1), -E2BIG);
	tier_numa_maps_stream_free(&st);
	free(big);
}

/* The hostile shape from issue 12: 65,530 mappings without pages (no N=
 * and no kernelpagesize_kB token) and one resident one at the end, fed in
 * the 64 KiB chunks the audit reads: every line is parsed once (the line
 * count equals the lines fed, each chunk completes at most chunk/min-line
 * lines), and the resident VMA's pages are found. */
static void numa_maps_stream_hostile(void **state)
{
	(void)state;
	enum { N = 65530 };
	size_t cap = (size_t)N * 32 + 256, len = 0;
	char *text = malloc(cap);
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(text + len, cap - len, "%llx default\n", 0x7f0000000000ull + (unsigned long long)i * 8192);
	len += (size_t)snprintf(text + len, cap - len, "7fff00000000 default anon=9 dirty=9 N1=9 kernelpagesize_kB=4\n");
	uint64_t pages[2];
	struct tier_numa_maps_stream st;
	tier_numa_maps_stream_init(&st, 4096, pages, 2);
	const size_t chunk = 64u << 10;
	uint64_t max_lines = 0, chunks = 0;
	for (size_t off = 0; off < len; off += chunk, chunks++) {
		size_t n = len - off < chunk ? len - off : chunk;
		ssize_t lines = tier_numa_maps_stream_feed(&st, text + off, n);
		assert_true(lines >= 0);
		if ((uint64_t)lines > max_lines)
			max_lines = (uint64_t)lines;
	}
	assert_int_equal(tier_numa_maps_stream_end(&st), 0);
	assert_int_equal(st.lines, N + 1);
	assert_true(max_lines <= chunk / strlen("7f0000000000 default\n") + 1);
	assert_true(chunks >= len / chunk);
	assert_int_equal(pages[0], 0);
	assert_int_equal(pages[1], 9);
	tier_numa_maps_stream_free(&st);
	free(text);
}

/* The VM: a process whose pages relief split over two nodes. */
static void numa_maps_vm(void **state)
{
	(void)state;
	int root = open(TIER_FIXTURES "/procmaps/vm-6.12", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(root >= 0);
	struct tier_numa_maps m;
	struct tier_maps maps;
	struct tier_proc_status st;
	assert_int_equal(tier_proc_read_numa_maps(root, 165, 4096, &m), 0);
	assert_int_equal(tier_proc_read_maps(root, 165, &maps), 0);
	assert_int_equal(m.nr_vmas, 70);
	const struct tier_numa_maps_vma *big = NULL;
	for (size_t i = 0; i < m.nr_vmas; i++)
		if (m.vmas[i].start == 0x7f01786ca000ull)
			big = &m.vmas[i];
	assert_non_null(big);
	assert_int_equal(tier_numa_maps_vma_node_pages(big, 0), 16384);
	assert_int_equal(tier_numa_maps_vma_node_pages(big, 1), 213533);
	const struct tier_vma *v = tier_maps_find(&maps, big->start);
	assert_non_null(v);
	assert_int_equal((v->end - v->start) / 4096, 229917);
	assert_string_equal(v->perms, "rw-p");
	assert_int_equal(tier_proc_read_status(root, 165, &st), 0);
	assert_string_equal(st.name, "relief-bench");
	assert_int_equal(tier_bitmask_weight(st.mems_allowed), 2);
	tier_proc_status_free(&st);
	tier_numa_maps_free(&m);
	tier_maps_free(&maps);
	close(root);
}

static void numa_maps_malformed(void **state)
{
	(void)state;
	struct tier_numa_maps m;
	assert_int_equal(tier_numa_maps_parse("zz default N0=1\n", 4096, &m), -EINVAL);
	assert_int_equal(tier_numa_maps_parse("1000\n", 4096, &m), -EINVAL);
	assert_int_equal(tier_numa_maps_parse("1000 default N0=x\n", 4096, &m), -EINVAL);
	assert_int_equal(tier_numa_maps_parse("1000 default N0=\n", 4096, &m), -EINVAL);
	assert_int_equal(tier_numa_maps_parse("1000 default N99999=1\n", 4096, &m), -ERANGE);
	assert_int_equal(tier_numa_maps_parse("1000 default N0=99999999999999999999\n", 4096, &m), -ERANGE);
	assert_int_equal(m.nr_vmas, 0);
	/* Unknown tokens are fine; so is a last line without a newline. */
	assert_int_equal(tier_numa_maps_parse("1000 default future=1 N0=5 Nodd", 4096, &m), 0);
	assert_int_equal(tier_numa_maps_node_pages(&m, 0), 5);
	tier_numa_maps_free(&m);
}

static void maps_real(void **state)
{
	(void)state;
	int root = open_root();
	struct tier_maps m;
	assert_int_equal(tier_proc_read_maps(root, 708, &m), 0);
	assert_int_equal(m.nr, 37);
	assert_int_equal(m.vmas[0].start, 0x55fa36deb000ull);
	assert_int_equal(m.vmas[0].end, 0x55fa36ded000ull);
	assert_string_equal(m.vmas[0].perms, "r--p");
	const struct tier_vma *last = &m.vmas[m.nr - 1];
	assert_string_equal(last->path, "[vsyscall]");
	assert_true(tier_vma_unmovable(last));
	/* Sorted; every numa_maps VMA is found in maps by its start. */
	for (size_t i = 1; i < m.nr; i++)
		assert_true(m.vmas[i - 1].end <= m.vmas[i].start);
	struct tier_numa_maps nm;
	assert_int_equal(tier_proc_read_numa_maps(root, 708, 4096, &nm), 0);
	for (size_t i = 0; i < nm.nr_vmas; i++)
		assert_non_null(tier_maps_find(&m, nm.vmas[i].start));
	assert_null(tier_maps_find(&m, 0x1000));
	tier_numa_maps_free(&nm);

	const struct tier_vma *stack = tier_maps_find(&m, 0x7ffedc52f000ull);
	assert_non_null(stack);
	assert_string_equal(stack->path, "[stack]");
	assert_false(tier_vma_unmovable(stack));
	const struct tier_vma *ld = tier_maps_find(&m, 0x7f3edfe4f000ull);
	assert_non_null(ld);
	assert_string_equal(ld->path, "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
	assert_int_equal(ld->dev_major, 0xfe);
	assert_int_equal(ld->dev_minor, 0);
	assert_int_equal(ld->inode, 332383);
	assert_int_equal(ld->offset, 0x33000);
	size_t special = 0;
	for (size_t i = 0; i < m.nr; i++)
		if (tier_vma_unmovable(&m.vmas[i]))
			special++;
	/* [vvar], [vvar_vclock], [vdso], [vsyscall] */
	assert_int_equal(special, 4);
	tier_maps_free(&m);

	assert_int_equal(tier_proc_read_maps(root, 460, &m), 0);
	assert_int_equal(m.nr, 113);
	/* A path with spaces and " (deleted)" is kept whole. */
	const struct tier_vma *z = tier_maps_find(&m, 0x7f9e85d48000ull);
	assert_non_null(z);
	assert_string_equal(z->path, "/dev/zero (deleted)");
	assert_int_equal(z->end - z->start, 8u << 20);
	tier_maps_free(&m);
	close(root);
}

static void maps_shapes(void **state)
{
	(void)state;
	struct tier_maps m;
	const char *text = "00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/my prog\n"
			   "7f00-8f00 rw-p 00000000 00:00 0 \n"
			   "9000-a000 ---p 00000000 00:00 0\n"
			   "a000-b000 rw-p 00000000 00:00 0                          [anon:tierd test]\n";
	assert_int_equal(tier_maps_parse(text, &m), 0);
	assert_int_equal(m.nr, 4);
	assert_string_equal(m.vmas[0].path, "/usr/bin/my prog");
	assert_string_equal(m.vmas[1].path, "");
	assert_true(tier_vma_unmovable(&m.vmas[2]));
	assert_false(tier_vma_unmovable(&m.vmas[3]));
	assert_string_equal(m.vmas[3].path, "[anon:tierd test]");
	tier_maps_free(&m);
	assert_int_equal(tier_maps_parse("2000-1000 rw-p 0 00:00 0\n", &m), -EINVAL);
	assert_int_equal(tier_maps_parse("1000-2000 rw 0 00:00 0\n", &m), -EINVAL);
	assert_int_equal(tier_maps_parse("1000 rw-p 0 00:00 0\n", &m), -EINVAL);
	assert_int_equal(tier_maps_parse("1000-2000 rw-p 0 0000 0\n", &m), -EINVAL);
}

static void status_real(void **state)
{
	(void)state;
	int root = open_root();
	struct tier_proc_status st;
	assert_int_equal(tier_proc_read_status(root, 460, &st), 0);
	assert_string_equal(st.name, "python3");
	assert_int_equal(st.tgid, 460);
	assert_true(st.has_mm);
	assert_false(st.kthread);
	assert_int_equal(st.state, 'R');
	assert_int_equal(st.vm_rss_bytes, 87364ull * 1024);
	assert_int_equal(st.vm_locked_bytes, 0);
	assert_int_equal(tier_bitmask_weight(st.mems_allowed), 1);
	assert_true(tier_bitmask_isset(st.mems_allowed, 0));
	tier_proc_status_free(&st);

	assert_int_equal(tier_proc_read_status(root, 2, &st), 0);
	assert_string_equal(st.name, "kthreadd");
	assert_false(st.has_mm);
	assert_true(st.kthread);
	tier_proc_status_free(&st);
	assert_int_equal(tier_proc_read_status(root, 99999, &st), -ENOENT);
	close(root);
}

static void status_shapes(void **state)
{
	(void)state;
	struct tier_proc_status st;
	/* An older kernel: no Kthread: line; no Vm* lines means no mm. */
	assert_int_equal(tier_proc_status_parse("Name:\tkworker/0:1\nState:\tI (idle)\nTgid:\t9\n", &st), 0);
	assert_true(st.kthread);
	assert_false(st.has_mm);
	tier_proc_status_free(&st);
	/* A zombie has no mm either, but is not a kernel thread. */
	assert_int_equal(tier_proc_status_parse("Name:\tdefunct\nState:\tZ (zombie)\nTgid:\t10\n", &st), 0);
	assert_false(st.kthread);
	assert_false(st.has_mm);
	tier_proc_status_free(&st);
	assert_int_equal(tier_proc_status_parse("Name:\tdb\nTgid:\t11\nVmSize:\t 100 kB\nVmLck:\t  8 kB\n"
						"Mems_allowed_list:\t0,2-3\n",
						&st),
			 0);
	assert_true(st.has_mm);
	assert_int_equal(st.vm_locked_bytes, 8192);
	assert_int_equal(tier_bitmask_weight(st.mems_allowed), 3);
	assert_false(tier_bitmask_isset(st.mems_allowed, 1));
	tier_proc_status_free(&st);
	assert_int_equal(tier_proc_status_parse("Tgid:\t11\n", &st), -EINVAL);
	assert_int_equal(tier_proc_status_parse("Name:\tx\nTgid:\tabc\n", &st), -EINVAL);
	assert_int_equal(tier_proc_status_parse("Name:\tx\nMems_allowed_list:\t0-\n", &st), -EINVAL);
}

/* A failed parse leaves *st all zero: the Tgid: value is never copied from an
 * unset variable (issue 15; fuzz corpus regress-status-tgid-*), and nothing
 * half-parsed (name, state, tgid) survives an error later in the file. */
static void status_failure_leaves_nothing(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"Name:\tx\nState:\tS (sleeping)\nTgid:\tabc\n",
		"Name:\tx\nTgid:\t-5\n",
		"Name:\tx\nTgid:\t99999999999\n",
		"Name:\tdb\nTgid:\t42\nVmRSS:\t12 MB\n",
		"State:\tR (running)\nTgid:\t42\n",
	};
	static const struct tier_proc_status zero;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tier_proc_status st;
		memset(&st, 0xa5, sizeof(st));
		assert_int_equal(tier_proc_status_parse(bad[i], &st), -EINVAL);
		if (memcmp(&st, &zero, sizeof(st)) != 0)
			fail_msg("case %zu: status not zeroed (tgid %d, name '%.8s')", i, (int)st.tgid, st.name);
	}
}

static void cgroup_real(void **state)
{
	(void)state;
	int root = open_root();
	struct tier_proc_cgroups c;
	assert_int_equal(tier_proc_read_cgroups(root, 460, &c), 0);
	/* The dev host is hybrid: 9 v1 hierarchies + the v2 "0::" line. */
	assert_int_equal(c.nr, 10);
	assert_int_equal(c.v[0].hierarchy, 9);
	assert_string_equal(c.v[0].controllers, "name=systemd");
	assert_int_equal(c.v[9].hierarchy, 0);
	assert_string_equal(c.v[9].controllers, "");
	assert_string_equal(c.v[9].path, "/");
	assert_string_equal(c.v[5].controllers, "memory");
	assert_string_equal(c.v[5].path, "/process_api/40a71608f6539ba1b63d0a0e24471895");
	/* Hybrid with v2 at "/": the name=systemd path names the place. */
	assert_string_equal(tier_proc_cgroups_main(&c), "/");
	assert_ptr_equal(tier_proc_cgroups_main(&c), c.v[0].path);
	tier_proc_cgroups_free(&c);
	close(root);
}

static void cgroup_shapes(void **state)
{
	(void)state;
	struct tier_proc_cgroups c;
	assert_int_equal(tier_proc_cgroups_parse("0::/system.slice/db.service\n", &c), 0);
	assert_int_equal(c.nr, 1);
	assert_string_equal(tier_proc_cgroups_main(&c), "/system.slice/db.service");
	tier_proc_cgroups_free(&c);
	assert_int_equal(tier_proc_cgroups_parse("3:cpuset:/a\n2:cpu,cpuacct:/b\n0::/\n", &c), 0);
	assert_string_equal(tier_proc_cgroups_main(&c), "/a");
	tier_proc_cgroups_free(&c);
	/* A colon inside the path belongs to the path. */
	assert_int_equal(tier_proc_cgroups_parse("0::/x:y\n", &c), 0);
	assert_string_equal(c.v[0].path, "/x:y");
	tier_proc_cgroups_free(&c);
	assert_int_equal(tier_proc_cgroups_parse("garbage\n", &c), -EINVAL);
	assert_int_equal(tier_proc_cgroups_parse("x::/\n", &c), -EINVAL);
	assert_int_equal(tier_proc_cgroups_parse("0::relative\n", &c), -EINVAL);
}

static void list_pids(void **state)
{
	(void)state;
	int root = open_root();
	pid_t *p;
	int n = tier_proc_list_pids(root, &p);
	assert_int_equal(n, 3);
	assert_int_equal(p[0], 2);
	assert_int_equal(p[1], 460);
	assert_int_equal(p[2], 708);
	free(p);
	close(root);
	/* The live /proc has us. */
	root = open("/", O_RDONLY | O_DIRECTORY);
	n = tier_proc_list_pids(root, &p);
	assert_true(n > 0);
	bool self = false;
	for (int i = 0; i < n; i++)
		self |= p[i] == getpid();
	assert_true(self);
	free(p);
	close(root);
}

/* The live host: our own numa_maps parses and its VMAs are in maps.  The two
 * files are read at different moments, so a VMA may change in between (the
 * allocator of a sanitizer build maps memory all the time): require the VMA
 * of a buffer we hold, not every one. */
static void live_self(void **state)
{
	(void)state;
	int root = open("/", O_RDONLY | O_DIRECTORY);
	struct tier_numa_maps nm;
	struct tier_maps m;
	size_t size = 8 << 20;
	char *buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(buf != MAP_FAILED);
	memset(buf, 1, size);
	assert_int_equal(tier_proc_read_maps(root, getpid(), &m), 0);
	int r = tier_proc_read_numa_maps(root, getpid(), (uint64_t)sysconf(_SC_PAGESIZE), &nm);
	if (r == -ENOENT) {
		tier_maps_free(&m);
		munmap(buf, size);
		close(root);
		skip(); /* kernel without CONFIG_NUMA */
	}
	assert_int_equal(r, 0);
	assert_true(nm.nr_vmas > 0);
	const struct tier_vma *mine = NULL;
	for (size_t i = 0; i < m.nr; i++)
		if (m.vmas[i].start <= (uintptr_t)buf && (uintptr_t)buf < m.vmas[i].end)
			mine = &m.vmas[i];
	assert_non_null(mine);
	size_t found = 0;
	uint64_t mine_pages = 0;
	for (size_t i = 0; i < nm.nr_vmas; i++) {
		found += tier_maps_find(&m, nm.vmas[i].start) != NULL;
		if (nm.vmas[i].start == mine->start)
			for (unsigned k = 0; k < nm.vmas[i].nr_nodes; k++)
				mine_pages += nm.vmas[i].nodes[k].pages;
	}
	assert_true(found * 2 > nm.nr_vmas);
	/* At least the 8 MiB we just touched. */
	assert_true(mine_pages >= 2048);
	tier_numa_maps_free(&nm);
	tier_maps_free(&m);
	munmap(buf, size);
	close(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(numa_maps_real),  cmocka_unit_test(numa_maps_multi_node),
		cmocka_unit_test(numa_maps_malformed), cmocka_unit_test(maps_real),
		cmocka_unit_test(numa_maps_vm),
		cmocka_unit_test(numa_maps_stream_chunks), cmocka_unit_test(numa_maps_stream_hostile),
		cmocka_unit_test(maps_shapes),     cmocka_unit_test(status_real),
		cmocka_unit_test(status_shapes),
		cmocka_unit_test(status_failure_leaves_nothing),
		cmocka_unit_test(cgroup_real),
		cmocka_unit_test(cgroup_shapes),   cmocka_unit_test(list_pids),
		cmocka_unit_test(live_self),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
