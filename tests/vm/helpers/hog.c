/* SPDX-License-Identifier: MIT */
/*
 * hog - a memory hog for the VM tests.
 *
 *   hog [-f] MiB [HOLD_S] [NODE]
 *
 * Maps and touches MiB of private anonymous memory 16 MiB at a time (bound to
 * NODE with mbind(MPOL_BIND) when given), prints progress every 128 MiB and
 * "hog: reached N MiB" at the end, then holds the memory HOLD_S seconds
 * (default 0; -1 = until killed).  With -f it stops early, printing
 * "hog: memory full at N MiB", as soon as memory is full as stallwatch defines
 * it (every zone with >= 64 MiB managed at or below its low watermark; checked
 * every 2 MiB): the machine is left under pressure without pushing it into
 * the demotion stall.  Exit 0 when MiB (or full) was reached, 2 on errors.
 * Raw syscalls, no libnuma: the helper is linked statically.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/syscall.h>
#include "vmutil.h"

#define MPOL_BIND 2
#define STEP_MIB 16UL
#define CHECK_PAGES 512 /* 2 MiB */

static bool memory_full(void)
{
	static char text[1 << 18];
	static struct vm_zone z[VM_MAX_ZONES];
	int n, big = 0;

	if (vm_read_file("/proc/zoneinfo", text, sizeof(text)) < 0)
		return false;
	n = vm_parse_zoneinfo(text, z, VM_MAX_ZONES);
	for (int i = 0; i < n; i++) {
		if (z[i].managed_pages < 16384)
			continue;
		big++;
		if (z[i].free_pages > z[i].low_pages)
			return false;
	}
	return big > 0;
}

int main(int argc, char **argv)
{
	bool stop_when_full = argc > 1 && strcmp(argv[1], "-f") == 0;
	unsigned long max_mib = 0, done;
	long hold_s;
	int node;
	double t0 = vm_now_s();

	if (stop_when_full) {
		argv++;
		argc--;
	}
	hold_s = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
	node = argc > 3 ? atoi(argv[3]) : -1;
	if (argc < 2 || argc > 4 || (max_mib = strtoul(argv[1], NULL, 10)) == 0 || node >= VM_MAX_NODES) {
		fprintf(stderr, "usage: hog [-f] MiB [HOLD_S|-1] [NODE]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (done = 0; done < max_mib; done += STEP_MIB) {
		size_t len = STEP_MIB << 20;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			perror("hog: mmap");
			return 2;
		}
		if (node >= 0) {
			unsigned long mask = 1UL << node;

			if (syscall(SYS_mbind, p, len, MPOL_BIND, &mask, VM_MAX_NODES + 1, 0) != 0) {
				perror("hog: mbind");
				return 2;
			}
		}
		for (size_t i = 0; i < len; i += 4096) {
			p[i] = (char)((i >> 12) | 1);
			if (stop_when_full && (i >> 12) % CHECK_PAGES == CHECK_PAGES - 1 && memory_full()) {
				printf("hog: memory full at %lu MiB t=%.1fs\n", done + ((i + 4096) >> 20),
				       vm_now_s() - t0);
				goto hold;
			}
		}
		if ((done + STEP_MIB) % 128 == 0)
			printf("hog: %lu MiB t=%.1fs\n", done + STEP_MIB, vm_now_s() - t0);
	}
	printf("hog: reached %lu MiB t=%.1fs\n", max_mib, vm_now_s() - t0);
hold:
	if (hold_s < 0)
		for (;;)
			pause();
	if (hold_s > 0)
		sleep((unsigned int)hold_s);
	return 0;
}
