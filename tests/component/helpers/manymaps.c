/* SPDX-License-Identifier: MIT */
/*
 * manymaps N [TOUCH]: a hostile process for the fence audit (issue 12): N
 * separate mappings without a resident page (one region of N pages whose
 * protections alternate, so the kernel cannot merge them; their numa_maps
 * lines have no N<node>= and no kernelpagesize_kB token), plus TOUCH pages
 * (default 1) of the last one touched so the process has memory on a node.
 * Prints "ready N" when set up, then sleeps until killed.  Unprivileged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: manymaps N [TOUCH]\n");
		return 2;
	}
	long n = atol(argv[1]), touch = argc > 2 ? atol(argv[2]) : 1;
	long page = sysconf(_SC_PAGESIZE);
	if (n < 1 || touch < 0) {
		fprintf(stderr, "manymaps: bad numbers\n");
		return 2;
	}
	/* one more page for the touched tail */
	char *base = mmap(NULL, (size_t)(n + touch) * (size_t)page, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED) {
		fprintf(stderr, "manymaps: mmap: %s\n", strerror(errno));
		return 1;
	}
	for (long i = 1; i < n; i += 2)
		if (mprotect(base + i * page, (size_t)page, PROT_READ) < 0) {
			fprintf(stderr, "manymaps: mprotect %ld: %s (vm.max_map_count?)\n", i, strerror(errno));
			return 1;
		}
	for (long i = 0; i < touch; i++)
		base[(n + i) * page] = 1;
	printf("ready %ld\n", n);
	fflush(stdout);
	for (;;)
		pause();
}
