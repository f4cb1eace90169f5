/* SPDX-License-Identifier: MIT */
/*
 * pagecheck - where do pages live?  A move_pages(2) status query (nodes = NULL)
 * over a process's memory, per node counts, optional expectation and move.
 *
 *   pagecheck -p PID [-e NODES]        every resident page of PID's private writable
 *                                      mappings (from /proc/PID/maps)
 *   pagecheck -s MiB [-b NODE] [-m NODE] [-e NODES]
 *                                      self test: fault MiB (bound to -b NODE), move it
 *                                      to -m NODE with move_pages(MPOL_MF_MOVE), check
 *                                      the contents survived
 *
 * Prints "pagecheck: node0=N node1=M ... absent=K errors=E" (absent: not faulted in,
 * -ENOENT; errors: any other negative status).  With -e, exit 1 unless every present
 * page is on one of NODES ("1" or "0-2,4").  Exit 2 on usage or syscall errors.
 * Raw syscalls, no libnuma: the helper is linked statically.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include "vmutil.h"

#define MPOL_BIND 2
#define MPOL_MF_MOVE (1 << 1)
#define BATCH 4096

struct histo {
	long on[VM_MAX_NODES], absent, errors;
	int first_error;
};

static long page_size;

/* Query (nodes == NULL) or move a batch and add the resulting statuses. */
static int status_batch(pid_t pid, void **pages, unsigned long n, const int *nodes, struct histo *h)
{
	static int st[BATCH];
	long r;

	for (unsigned long i = 0; i < n; i++)
		st[i] = -EINVAL - 1000; /* sentinel: the kernel must overwrite every entry */
	r = syscall(SYS_move_pages, pid, n, pages, nodes, st, nodes ? MPOL_MF_MOVE : 0);
	if (r < 0) {
		fprintf(stderr, "pagecheck: move_pages(%s): %s\n", nodes ? "move" : "query", strerror(errno));
		return -1;
	}
	if (!h)
		return 0;
	for (unsigned long i = 0; i < n; i++) {
		if (st[i] >= 0 && st[i] < VM_MAX_NODES)
			h->on[st[i]]++;
		else if (st[i] == -ENOENT)
			h->absent++;
		else if (!h->errors++)
			h->first_error = st[i];
	}
	return 0;
}

static int scan_range(pid_t pid, unsigned long start, unsigned long end, struct histo *h)
{
	static void *pages[BATCH];
	unsigned long n = 0;

	for (unsigned long a = start; a < end; a += (unsigned long)page_size) {
		pages[n++] = (void *)a;
		if (n == BATCH) {
			if (status_batch(pid, pages, n, NULL, h) < 0)
				return -1;
			n = 0;
		}
	}
	return n ? status_batch(pid, pages, n, NULL, h) : 0;
}

static int scan_pid(pid_t pid, struct histo *h)
{
	char path[64], line[512];
	FILE *f;
	int rc = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f) {
		perror(path);
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		char perms[8];

		/* private writable mappings: heap, stacks, anonymous memory, data */
		if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) == 3 && perms[1] == 'w' && perms[3] == 'p' &&
		    !strstr(line, "[vsyscall]"))
			rc = scan_range(pid, s, e, h);
	}
	fclose(f);
	return rc;
}

static void print_histo(const char *tag, const struct histo *h)
{
	printf("pagecheck: %s", tag);
	for (int i = 0; i < VM_MAX_NODES; i++)
		if (h->on[i])
			printf(" node%d=%ld", i, h->on[i]);
	printf(" absent=%ld errors=%ld", h->absent, h->errors);
	if (h->errors)
		printf(" (first: %s)", strerror(-h->first_error));
	printf("\n");
}

static int self_test(unsigned long mib, int bind, int move_to, struct histo *h)
{
	unsigned long n = (mib << 20) / (unsigned long)page_size;
	char *buf = mmap(NULL, n * (size_t)page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static void *pages[BATCH];
	static int nodes[BATCH];

	if (buf == MAP_FAILED) {
		perror("pagecheck: mmap");
		return -1;
	}
	madvise(buf, n * (size_t)page_size, MADV_NOHUGEPAGE);
	if (bind >= 0) {
		unsigned long mask = 1UL << bind;

		if (syscall(SYS_mbind, buf, n * (size_t)page_size, MPOL_BIND, &mask, VM_MAX_NODES + 1, 0)) {
			perror("pagecheck: mbind");
			return -1;
		}
	}
	for (unsigned long i = 0; i < n * (unsigned long)page_size; i += 64)
		buf[i] = (char)(i / 64 % 251);
	if (move_to >= 0) {
		struct histo before = { 0 };

		scan_range(0, (unsigned long)buf, (unsigned long)buf + n * (unsigned long)page_size, &before);
		print_histo("before:", &before);
		for (unsigned long i = 0; i < n; i += BATCH) {
			unsigned long cnt = n - i < BATCH ? n - i : BATCH;

			for (unsigned long j = 0; j < cnt; j++) {
				pages[j] = buf + (i + j) * (unsigned long)page_size;
				nodes[j] = move_to;
			}
			if (status_batch(0, pages, cnt, nodes, NULL) < 0)
				return -1;
		}
	}
	for (unsigned long i = 0; i < n * (unsigned long)page_size; i += 64)
		if (buf[i] != (char)(i / 64 % 251)) {
			printf("pagecheck: DATA CORRUPTION at +%lu\n", i);
			return -1;
		}
	return scan_range(0, (unsigned long)buf, (unsigned long)buf + n * (unsigned long)page_size, h);
}

int main(int argc, char **argv)
{
	long pid = -1, mib = 0;
	int bind = -1, move_to = -1, opt, rc;
	uint64_t expect = 0;
	bool have_expect = false;
	struct histo h = { 0 };

	page_size = sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "p:s:b:m:e:")) != -1) {
		switch (opt) {
		case 'p': pid = strtol(optarg, NULL, 10); break;
		case 's': mib = strtol(optarg, NULL, 10); break;
		case 'b': bind = atoi(optarg); break;
		case 'm': move_to = atoi(optarg); break;
		case 'e':
			if (!vm_parse_nodelist(optarg, &expect)) {
				fprintf(stderr, "pagecheck: bad node list '%s'\n", optarg);
				return 2;
			}
			have_expect = true;
			break;
		default: goto usage;
		}
	}
	if ((pid > 0) == (mib > 0) || bind >= VM_MAX_NODES || move_to >= VM_MAX_NODES)
		goto usage;
	rc = pid > 0 ? scan_pid((pid_t)pid, &h) : self_test((unsigned long)mib, bind, move_to, &h);
	if (rc < 0)
		return 2;
	print_histo(pid > 0 ? "pid:" : "self:", &h);
	if (have_expect) {
		long outside = 0;
		char buf[128];

		for (int i = 0; i < VM_MAX_NODES; i++)
			if (!(expect >> i & 1))
				outside += h.on[i];
		printf("pagecheck: %ld page(s) outside %s\n", outside, vm_fmt_nodes(expect, buf, sizeof(buf)));
		return outside || h.errors ? 1 : 0;
	}
	return 0;
usage:
	fprintf(stderr, "usage: pagecheck -p PID [-e NODES] | -s MiB [-b NODE] [-m NODE] [-e NODES]\n");
	return 2;
}
