/* SPDX-License-Identifier: MIT */
/*
 * hostile MODE ...: the processes an unprivileged user can run beside tierd
 * to make its slow jobs expensive (issue 12).  Each mode sets itself up,
 * prints "ready <what>" on stdout and then holds until killed (or for
 * HOLD_S seconds when given).
 *
 *   hostile sparse TIB [NODE [HOLD_S]]
 *       mmap TIB TiB with MAP_NORESERVE, touch its first and last page (on
 *       NODE with mbind when NODE >= 0): two resident pages in a mapping of
 *       2^(40)*TIB bytes.
 *   hostile maps COUNT [HOLD_S]
 *       COUNT separate one-page anonymous mappings that cannot merge (a
 *       hole between neighbours), none of them touched: numa_maps prints a
 *       line for each, without a kernelpagesize_kB token.  (vm.max_map_count,
 *       65530 by default, is the limit for an unprivileged user.)
 *   hostile resident MIB NODE [HOLD_S]
 *       MIB MiB of anonymous memory bound to NODE (mbind), touched once,
 *       then left alone: a big victim for relief.
 *
 * Built static for the VM (run-vm.sh builds every helper) and for the
 * host by tests/bench/CMakeLists.txt.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MPOL_BIND
#define MPOL_BIND 2
#endif

static long page;

static int bind_node(void *addr, size_t len, int node)
{
	unsigned long mask[1024 / (8 * sizeof(unsigned long))] = { 0 };
	if (node < 0)
		return 0;
	if (node >= 1024) {
		errno = EINVAL;
		return -1;
	}
	mask[node / (8 * sizeof(unsigned long))] |= 1ul << (node % (8 * sizeof(unsigned long)));
	return (int)syscall(SYS_mbind, addr, len, MPOL_BIND, mask, 1024ul, 0u);
}

static void hold(long secs)
{
	if (secs > 0)
		sleep((unsigned)secs);
	else
		for (;;)
			pause();
}

static int sparse(long tib, int node, long secs)
{
	size_t len = (size_t)tib << 40;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		perror("hostile sparse: mmap");
		return 1;
	}
	if (bind_node(p, (size_t)page, node) < 0 || bind_node(p + len - (size_t)page, (size_t)page, node) < 0) {
		perror("hostile sparse: mbind");
		return 1;
	}
	p[0] = 1;
	p[len - 1] = 1;
	printf("ready sparse %ld TiB at %p, 2 pages touched%s%d\n", tib, (void *)p, node >= 0 ? " on node " : "",
	       node);
	fflush(stdout);
	hold(secs);
	return 0;
}

static int maps(long count, long secs)
{
	/* Reserve the whole range first, map every other page over it and
	 * unmap the pages between: one VMA per mapping, none can merge. */
	size_t len = (size_t)count * 2 * (size_t)page;
	char *base = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED) {
		perror("hostile maps: mmap");
		return 1;
	}
	long made = 0;
	for (long i = 0; i < count; i++) {
		void *a = base + (size_t)i * 2 * (size_t)page;
		if (mmap(a, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) ==
		    MAP_FAILED) {
			if (errno == ENOMEM)
				break;   /* vm.max_map_count */
			perror("hostile maps: mmap");
			return 1;
		}
		munmap(base + ((size_t)i * 2 + 1) * (size_t)page, (size_t)page);
		made++;
	}
	printf("ready maps %ld mappings\n", made);
	fflush(stdout);
	hold(secs);
	return 0;
}

static int resident(long mib, int node, long secs)
{
	size_t len = (size_t)mib << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("hostile resident: mmap");
		return 1;
	}
	if (bind_node(p, len, node) < 0) {
		perror("hostile resident: mbind");
		return 1;
	}
	for (size_t off = 0; off < len; off += (size_t)page)
		p[off] = (char)off;
	printf("ready resident %ld MiB on node %d\n", mib, node);
	fflush(stdout);
	hold(secs);
	return 0;
}

int main(int argc, char **argv)
{
	page = sysconf(_SC_PAGESIZE);
	signal(SIGTERM, SIG_DFL);
	if (argc >= 3 && !strcmp(argv[1], "sparse"))
		return sparse(strtol(argv[2], NULL, 10), argc > 3 ? atoi(argv[3]) : -1,
			      argc > 4 ? strtol(argv[4], NULL, 10) : -1);
	if (argc >= 3 && !strcmp(argv[1], "maps"))
		return maps(strtol(argv[2], NULL, 10), argc > 3 ? strtol(argv[3], NULL, 10) : -1);
	if (argc >= 4 && !strcmp(argv[1], "resident"))
		return resident(strtol(argv[2], NULL, 10), atoi(argv[3]), argc > 4 ? strtol(argv[4], NULL, 10) : -1);
	fprintf(stderr, "usage: hostile sparse TIB [NODE [HOLD_S]] | maps COUNT [HOLD_S] | resident MIB NODE [HOLD_S]\n");
	return 2;
}
