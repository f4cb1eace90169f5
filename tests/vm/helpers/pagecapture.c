/* SPDX-License-Identifier: MIT */
/*
 * pagecapture [-n THP_NODE] [-s SMALL_NODE] OUTDIR
 *
 * Capture what relief's locator reads, for a known layout of this process,
 * into a fixture folder (tests/fixtures/pagemap-*; the unit tests decode
 * it):
 *   one anonymous mapping, in this order:
 *     thp      4 MiB, MADV_HUGEPAGE, faulted on THP_NODE (mbind)
 *     small    256 KiB of 4 KiB pages (MADV_NOHUGEPAGE) on SMALL_NODE; its
 *              first 64 KiB mlock()ed, its second 64 KiB written after this
 *              process cleared its own soft-dirty bits (clear_refs "4")
 *   layout          the ranges, one "NAME START END" line each (hex)
 *   pagemap.bin     the raw pagemap entries of the whole mapping
 *   kpageflags.bin  (pfn, flags) pairs, little-endian u64, for each present page
 *   kernel          uname -r, and "soft_dirty yes|no" (this kernel keeps them?)
 *   sys/devices/system/memory/block_size_bytes, and an empty
 *   sys/devices/system/node/nodeN/memoryM/ folder (with a .keep file) for
 *   every memory block link: the PFN -> node map of this machine.
 * Run as root (PFNs and kpageflags).  Exit 0, or 1 with a message.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#define KB 1024ul
#define MB (1024ul * 1024ul)
#ifndef MPOL_BIND
#define MPOL_BIND 2
#endif
#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE (1 << 1)
#endif

static const char *out;

static void die(const char *what)
{
	fprintf(stderr, "pagecapture: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void mkdirs(const char *rel)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", out, rel);
	for (char *p = path + strlen(out) + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	mkdir(path, 0755);
}

static FILE *create(const char *rel)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", out, rel);
	FILE *f = fopen(path, "w");
	if (!f)
		die(path);
	return f;
}

static void bind_to(void *p, size_t len, int node)
{
	unsigned long mask[16] = { 0 };
	if (node < 0)
		return;
	mask[node / 64] = 1ul << (node % 64);
	if (syscall(SYS_mbind, p, len, MPOL_BIND, mask, 1024ul, 0) < 0)
		die("mbind");
}

static void touch(char *p, size_t len)
{
	for (size_t i = 0; i < len; i += 4096)
		p[i] = (char)(i / 4096 + 1);
}

/* Copy the memory block links of every node as empty folders. */
static void capture_blocks(void)
{
	char buf[64] = "";
	int fd = open("/sys/devices/system/memory/block_size_bytes", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		die("block_size_bytes");
	buf[n] = '\0';
	mkdirs("sys/devices/system/memory");
	FILE *f = create("sys/devices/system/memory/block_size_bytes");
	fputs(buf, f);
	fclose(f);
	DIR *d = opendir("/sys/devices/system/node");
	if (!d)
		die("/sys/devices/system/node");
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "node", 4) || de->d_name[4] < '0' || de->d_name[4] > '9')
			continue;
		char path[300];
		snprintf(path, sizeof(path), "/sys/devices/system/node/%s", de->d_name);
		DIR *nd = opendir(path);
		if (!nd)
			continue;
		struct dirent *me;
		while ((me = readdir(nd))) {
			if (strncmp(me->d_name, "memory", 6) || me->d_name[6] < '0' || me->d_name[6] > '9')
				continue;
			char rel[600];
			snprintf(rel, sizeof(rel), "sys/devices/system/node/%s/%s", de->d_name, me->d_name);
			mkdirs(rel);
			snprintf(rel, sizeof(rel), "sys/devices/system/node/%s/%s/.keep", de->d_name, me->d_name);
			fclose(create(rel));
		}
		closedir(nd);
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	int thp_node = -1, small_node = -1, c;
	while ((c = getopt(argc, argv, "n:s:")) != -1) {
		if (c == 'n')
			thp_node = atoi(optarg);
		else if (c == 's')
			small_node = atoi(optarg);
		else
			return 2;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: pagecapture [-n THP_NODE] [-s SMALL_NODE] OUTDIR\n");
		return 2;
	}
	out = argv[optind];
	mkdirs("");

	/* One mapping: 2 MiB of slack to align the THP part, then the parts. */
	const size_t thp_len = 4 * MB, small_len = 256 * KB;
	size_t len = 2 * MB + thp_len + small_len;
	char *raw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		die("mmap");
	char *thp = (char *)(((uintptr_t)raw + 2 * MB - 1) & ~(uintptr_t)(2 * MB - 1));
	char *small = thp + thp_len;
	char *lock = small, *written = small + 64 * KB;
	madvise(thp, thp_len, MADV_HUGEPAGE);
	madvise(small, small_len, MADV_NOHUGEPAGE);
	bind_to(thp, thp_len, thp_node);
	bind_to(small, small_len, small_node);
	touch(thp, thp_len);
	touch(small, small_len);
	if (mlock(lock, 64 * KB) < 0)
		die("mlock");
	/* clear our soft-dirty bits, then write the "written" part */
	int cr = open("/proc/self/clear_refs", O_WRONLY);
	if (cr < 0 || write(cr, "4", 1) != 1)
		die("clear_refs");
	close(cr);
	touch(written, 64 * KB);

	FILE *f = create("layout");
	fprintf(f, "thp %lx %lx\n", (unsigned long)thp, (unsigned long)(thp + thp_len));
	fprintf(f, "small %lx %lx\n", (unsigned long)small, (unsigned long)(small + small_len));
	fprintf(f, "mlocked %lx %lx\n", (unsigned long)lock, (unsigned long)(lock + 64 * KB));
	fprintf(f, "written %lx %lx\n", (unsigned long)written, (unsigned long)(written + 64 * KB));
	fprintf(f, "thp_node %d\nsmall_node %d\n", thp_node, small_node);
	fclose(f);

	size_t npages = (thp_len + small_len) / 4096;
	uint64_t *e = calloc(npages, 8);
	int pm = open("/proc/self/pagemap", O_RDONLY);
	if (!e || pm < 0 || pread(pm, e, npages * 8, (off_t)((uintptr_t)thp / 4096 * 8)) != (ssize_t)(npages * 8))
		die("pagemap");
	close(pm);
	f = create("pagemap.bin");
	fwrite(e, 8, npages, f);
	fclose(f);

	int kf = open("/proc/kpageflags", O_RDONLY);
	if (kf < 0)
		die("/proc/kpageflags");
	f = create("kpageflags.bin");
	size_t thp_pages = 0;
	for (size_t i = 0; i < npages; i++) {
		if (!(e[i] >> 63))
			continue;
		uint64_t pfn = e[i] & ((1ull << 55) - 1), flags = 0;
		if (pfn == 0) {
			fprintf(stderr, "pagecapture: pagemap hides PFNs (not CAP_SYS_ADMIN?)\n");
			return 1;
		}
		if (pread(kf, &flags, 8, (off_t)(pfn * 8)) != 8)
			die("kpageflags");
		if (i < thp_len / 4096 && (flags >> 22 & 1))
			thp_pages++;
		uint64_t pair[2] = { pfn, flags };
		fwrite(pair, 8, 2, f);
	}
	fclose(f);
	close(kf);
	if (thp_pages != thp_len / 4096) {
		fprintf(stderr, "pagecapture: only %zu of %zu pages of the THP part are THP\n", thp_pages, thp_len / 4096);
		return 1;
	}

	/* Does this kernel keep soft-dirty bits at all?  A page written after
	 * the clear must read soft-dirty (bit 55), one not written must not. */
	uint64_t w = e[(size_t)(written - thp) / 4096], nw = e[(size_t)(small + 128 * KB - thp) / 4096];
	struct utsname u;
	uname(&u);
	f = create("kernel");
	fprintf(f, "%s\nsoft_dirty %s\n", u.release, (w >> 55 & 1) && !(nw >> 55 & 1) ? "yes" : "no");
	fclose(f);
	capture_blocks();
	printf("pagecapture: %s: %zu pages, thp on %d, small on %d\n", out, npages, thp_node, small_node);
	return 0;
}
