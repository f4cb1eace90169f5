/* SPDX-License-Identifier: MIT */
/*
 * hotcold [-n NODE] [-c CHUNK_KB] [-l MLOCK_MB] HOT_MB COLD_MB
 *
 * The relief order scenario's workload: one anonymous VMA of HOT_MB + COLD_MB
 * of 4 KiB pages (MADV_NOHUGEPAGE) faulted on NODE (mbind, then the policy
 * is dropped), hot and cold chunks of CHUNK_KB (default 4: page by page)
 * interleaved, so that the address order cannot pass for the access order.
 * The hot chunks are written continuously (one byte per page, a pass every
 * 20 ms); the cold ones are never touched again after the fault.  With -l,
 * a second VMA of MLOCK_MB on NODE is mlock()ed.
 *
 * Prints "hotcold: pid=P hot_pages=H cold_pages=C mlock_pages=L" when ready,
 * and on every SIGUSR1 one line with where the pages are (a move_pages(2)
 * status query of itself, which touches nothing):
 *   "hotcold: hot N0=.. N1=.. cold N0=.. N1=.. mlock N0=.. N1=.."
 * Exits on SIGTERM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAXN 8
#ifndef MPOL_BIND
#define MPOL_BIND 2
#endif
#ifndef MPOL_DEFAULT
#define MPOL_DEFAULT 0
#endif

static volatile sig_atomic_t want_report, want_exit;

static void on_usr1(int s)
{
	(void)s;
	want_report = 1;
}

static void on_term(int s)
{
	(void)s;
	want_exit = 1;
}

static void bind_to(void *p, size_t len, int node)
{
	unsigned long mask[16] = { 0 };
	mask[node / 64] = 1ul << (node % 64);
	if (syscall(SYS_mbind, p, len, MPOL_BIND, mask, 1024ul, 0) < 0) {
		perror("hotcold: mbind");
		exit(1);
	}
}

static void unbind(void *p, size_t len)
{
	(void)syscall(SYS_mbind, p, len, MPOL_DEFAULT, NULL, 0ul, 0);
}

/* Per-node counts of n pages starting at base, every stride-th chunk. */
static void where(char *base, size_t pages, size_t chunk, int parity, long counts[MAXN + 1])
{
	size_t cap = 65536;
	void **addr = malloc(cap * sizeof(*addr));
	int *st = malloc(cap * sizeof(*st));
	memset(counts, 0, (MAXN + 1) * sizeof(long));
	size_t k = 0;
	for (size_t i = 0; i <= pages; i++) {
		if (i < pages && (parity < 0 || (int)((i / chunk) % 2) == parity))
			addr[k++] = base + i * 4096;
		if (k == cap || (i == pages && k)) {
			if (syscall(SYS_move_pages, 0, k, addr, NULL, st, 0) < 0) {
				perror("hotcold: move_pages");
				break;
			}
			for (size_t j = 0; j < k; j++)
				counts[st[j] >= 0 && st[j] < MAXN ? st[j] : MAXN]++;
			k = 0;
		}
	}
	free(addr);
	free(st);
}

static void print_counts(const char *name, const long c[MAXN + 1])
{
	printf(" %s", name);
	for (int n = 0; n < MAXN; n++)
		if (c[n])
			printf(" N%d=%ld", n, c[n]);
	if (c[MAXN])
		printf(" other=%ld", c[MAXN]);
}

int main(int argc, char **argv)
{
	int node = 0, opt;
	size_t chunk_kb = 4, mlock_mb = 0;
	while ((opt = getopt(argc, argv, "n:c:l:")) != -1) {
		if (opt == 'n')
			node = atoi(optarg);
		else if (opt == 'c')
			chunk_kb = (size_t)atol(optarg);
		else if (opt == 'l')
			mlock_mb = (size_t)atol(optarg);
		else
			return 2;
	}
	if (optind + 2 != argc || chunk_kb < 4 || chunk_kb % 4 || node < 0 || node >= MAXN) {
		fprintf(stderr, "usage: hotcold [-n NODE] [-c CHUNK_KB] [-l MLOCK_MB] HOT_MB COLD_MB\n");
		return 2;
	}
	size_t hot_mb = (size_t)atol(argv[optind]), cold_mb = (size_t)atol(argv[optind + 1]);
	/* hot and cold chunks alternate, so both must hold the same count */
	if (hot_mb != cold_mb) {
		fprintf(stderr, "hotcold: HOT_MB and COLD_MB must be equal (interleaved chunk by chunk)\n");
		return 2;
	}
	size_t len = (hot_mb + cold_mb) << 20, pages = len / 4096, chunk = chunk_kb / 4;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("hotcold: mmap");
		return 1;
	}
	madvise(p, len, MADV_NOHUGEPAGE);
	bind_to(p, len, node);
	for (size_t i = 0; i < pages; i++)
		p[i * 4096] = 1;
	unbind(p, len);
	char *l = NULL;
	size_t lpages = (mlock_mb << 20) / 4096;
	if (mlock_mb) {
		l = mmap(NULL, mlock_mb << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (l == MAP_FAILED) {
			perror("hotcold: mmap");
			return 1;
		}
		madvise(l, mlock_mb << 20, MADV_NOHUGEPAGE);
		bind_to(l, mlock_mb << 20, node);
		if (mlock(l, mlock_mb << 20) < 0) {
			perror("hotcold: mlock");
			return 1;
		}
		unbind(l, mlock_mb << 20);
	}
	signal(SIGUSR1, on_usr1);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	printf("hotcold: pid=%d base=%p hot_pages=%zu cold_pages=%zu mlock_pages=%zu chunk_pages=%zu\n", (int)getpid(),
	       (void *)p, pages / 2, pages / 2, lpages, chunk);
	fflush(stdout);
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	uint8_t gen = 1;
	while (!want_exit) {
		/* hot = even chunks */
		for (size_t i = 0; i < pages && !want_exit; i++)
			if ((i / chunk) % 2 == 0)
				p[i * 4096] = (char)gen;
		gen++;
		if (want_report) {
			want_report = 0;
			long hot[MAXN + 1], cold[MAXN + 1], lk[MAXN + 1];
			where(p, pages, chunk, 0, hot);
			where(p, pages, chunk, 1, cold);
			if (l)
				where(l, lpages, 1, -1, lk);
			printf("hotcold:");
			print_counts("hot", hot);
			print_counts("cold", cold);
			if (l)
				print_counts("mlock", lk);
			printf("\n");
			fflush(stdout);
		}
		nanosleep(&nap, NULL);
	}
	return 0;
}
