/* SPDX-License-Identifier: MIT */
/*
 * interleave - the "numactl --interleave=all" workload of the fence VM
 * scenario (tests/vm/scenarios/fence.sh), as a static helper (the guest
 * has no numactl).
 *
 *   interleave MiB [HOLD_S]
 *
 * set_mempolicy(MPOL_INTERLEAVE, every node with memory), maps and touches
 * MiB of anonymous memory, then prints where its pages are
 * ("interleave: pid=P N0=x N1=y") once, and again every second while it
 * holds the memory HOLD_S seconds (default 0; -1 = until killed).  The kernel
 * intersects the policy with the task's cpuset.mems, so a fenced task gets
 * no page on a private node.  Raw syscalls, no libnuma: linked statically.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define MPOL_INTERLEAVE 3
#define MAX_NODES 64

static int parse_list(const char *s, unsigned long *mask)
{
	*mask = 0;
	while (*s && *s != '\n') {
		char *end;
		long a = strtol(s, &end, 10), b;
		if (end == s)
			return -1;
		b = a;
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		for (long i = a; i <= b && i < MAX_NODES; i++)
			*mask |= 1ul << i;
		s = *end == ',' ? end + 1 : end;
	}
	return 0;
}

static void report(char *buf, size_t len)
{
	size_t n = len / 4096;
	void **pages = malloc(n * sizeof(*pages));
	int *status = malloc(n * sizeof(*status));
	long count[MAX_NODES] = { 0 }, other = 0;
	if (!pages || !status)
		exit(2);
	for (size_t i = 0; i < n; i++) {
		pages[i] = buf + i * 4096;
		status[i] = -1;
	}
	/* move_pages with nodes == NULL: where each page is */
	if (syscall(SYS_move_pages, 0, n, pages, NULL, status, 0) < 0) {
		perror("move_pages");
		exit(2);
	}
	for (size_t i = 0; i < n; i++) {
		if (status[i] >= 0 && status[i] < MAX_NODES)
			count[status[i]]++;
		else
			other++;
	}
	printf("interleave: pid=%d", (int)getpid());
	for (int i = 0; i < MAX_NODES; i++)
		if (count[i])
			printf(" N%d=%ld", i, count[i]);
	printf(" N0pages=%ld N1pages=%ld other=%ld\n", count[0], count[1], other);
	fflush(stdout);
	free(pages);
	free(status);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: interleave MiB [HOLD_S]\n");
		return 2;
	}
	size_t len = strtoul(argv[1], NULL, 10) << 20;
	long hold = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
	char list[256] = "";
	FILE *f = fopen("/sys/devices/system/node/has_memory", "r");
	unsigned long mask;
	if (!f || !fgets(list, sizeof(list), f) || parse_list(list, &mask) < 0) {
		fprintf(stderr, "cannot read has_memory\n");
		return 2;
	}
	fclose(f);
	if (syscall(SYS_set_mempolicy, MPOL_INTERLEAVE, &mask, MAX_NODES + 1) < 0) {
		perror("set_mempolicy");
		return 2;
	}
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	for (size_t i = 0; i < len; i += 4096)
		buf[i] = 1;
	report(buf, len);
	for (long s = 0; hold < 0 || s < hold; s++) {
		sleep(1);
		report(buf, len);
	}
	return 0;
}
