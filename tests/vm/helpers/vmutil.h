/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Small shared pieces of the in-guest VM test helpers (tests/vm/helpers).
 * Header-only on purpose: every helper is one static binary built with a
 * single gcc call by run-vm.sh, without the project's libraries.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <time.h>

#define VM_MAX_NODES 64
#define VM_MAX_ZONES 64

/* One "Node N, zone NAME" block of /proc/zoneinfo, in pages. */
struct vm_zone {
	int node;
	char name[16];
	long free_pages, min_pages, low_pages, high_pages, present_pages, managed_pages;
};

static inline double vm_now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/*
 * Read a whole (proc/sys) file into buf with pread(0) on an already open fd,
 * so a monitor under memory pressure does not open/close files per sample.
 * seq_file restarts from the top on a read at offset 0.  Returns bytes read
 * or -1.
 */
static inline ssize_t vm_pread_all(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		ssize_t r = pread(fd, buf + n, size - 1 - n, (off_t)n);

		if (r < 0)
			return -1;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

static inline ssize_t vm_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = vm_pread_all(fd, buf, size);
	close(fd);
	return n;
}

/* Value of "key N" at the start of a line of a /proc/vmstat-style text; -1 if absent. */
static inline long vm_kv(const char *text, const char *key)
{
	size_t kl = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, key, kl) == 0 && p[kl] == ' ')
			return strtol(p + kl + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

/*
 * Parse /proc/zoneinfo text into zones[] (at most max).  Only the first token
 * of each line matters: "Node", "pages" (free), "min", "low", "high",
 * "present", "managed"; the per-node stats lines start with nr_* and are
 * skipped.  Returns the number of zones.
 */
static inline int vm_parse_zoneinfo(char *text, struct vm_zone *zones, int max)
{
	int n = -1;
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char w1[16], w2[32];
		long v;
		int node;

		if (sscanf(line, "Node %d, zone %15s", &node, w1) == 2) {
			if (n + 1 >= max)
				break;
			n++;
			memset(&zones[n], 0, sizeof(zones[n]));
			zones[n].node = node;
			snprintf(zones[n].name, sizeof(zones[n].name), "%s", w1);
			continue;
		}
		if (n < 0)
			continue;
		if (sscanf(line, " pages free %ld", &v) == 1) {
			zones[n].free_pages = v;
			continue;
		}
		if (sscanf(line, " %31s %ld", w2, &v) != 2)
			continue;
		if (strcmp(w2, "min") == 0)
			zones[n].min_pages = v;
		else if (strcmp(w2, "low") == 0)
			zones[n].low_pages = v;
		else if (strcmp(w2, "high") == 0)
			zones[n].high_pages = v;
		else if (strcmp(w2, "present") == 0)
			zones[n].present_pages = v;
		else if (strcmp(w2, "managed") == 0)
			zones[n].managed_pages = v;
	}
	return n + 1;
}

/*
 * Parse a kernel node list ("0-2,5", "" or "\n" for none) into a bit set of
 * VM_MAX_NODES.  Returns false on a malformed list or a node out of range.
 */
static inline bool vm_parse_nodelist(const char *s, uint64_t *set)
{
	*set = 0;
	while (*s == ' ')
		s++;
	while (*s && *s != '\n') {
		char *end;
		long a = strtol(s, &end, 10), b;

		if (end == s || a < 0 || a >= VM_MAX_NODES)
			return false;
		b = a;
		s = end;
		if (*s == '-') {
			b = strtol(s + 1, &end, 10);
			if (end == s + 1 || b < a || b >= VM_MAX_NODES)
				return false;
			s = end;
		}
		for (long i = a; i <= b; i++)
			*set |= 1ULL << i;
		if (*s == ',')
			s++;
		else if (*s && *s != '\n' && *s != ' ')
			return false;
	}
	return true;
}

/* "0-2,5" for a set, "none" for the empty set. */
static inline const char *vm_fmt_nodes(uint64_t set, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i < VM_MAX_NODES; i++) {
		int j = i;

		if (!(set >> i & 1))
			continue;
		while (j + 1 < VM_MAX_NODES && (set >> (j + 1) & 1))
			j++;
		if (j > i)
			len += (size_t)snprintf(buf + len, size - len, "%s%d-%d", len ? "," : "", i, j);
		else
			len += (size_t)snprintf(buf + len, size - len, "%s%d", len ? "," : "", i);
		if (len >= size)
			break;
		i = j;
	}
	return len ? buf : "none";
}
