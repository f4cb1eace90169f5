/* SPDX-License-Identifier: MIT */
/* PFN -> node from the memory blocks: see tier/pfnmap.h. */
#include <tier/pfnmap.h>

#include <ctype.h>
#include <stdbool.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

void tier_pfn_map_free(struct tier_pfn_map *m)
{
	if (!m)
		return;
	free(m->runs);
	memset(m, 0, sizeof(*m));
}

static int cmp_block(const void *a, const void *b)
{
	const struct tier_mem_block *x = a, *y = b;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return (x->node > y->node) - (x->node < y->node);
}

int tier_pfn_map_build(uint64_t block_bytes, uint64_t page_size, const struct tier_mem_block *blocks, size_t n,
		       struct tier_pfn_map *out)
{
	memset(out, 0, sizeof(*out));
	if (page_size == 0 || block_bytes == 0 || block_bytes % page_size)
		return -EINVAL;
	uint64_t bp = block_bytes / page_size;
	out->block_pages = bp;
	if (n == 0)
		return 0;
	struct tier_mem_block *s = malloc(n * sizeof(*s));
	struct tier_pfn_run *runs = malloc(n * sizeof(*runs));
	if (!s || !runs) {
		free(s);
		free(runs);
		return -ENOMEM;
	}
	memcpy(s, blocks, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_block);
	size_t nr = 0;
	for (size_t i = 0; i < n;) {
		uint64_t id = s[i].id;
		int node = s[i].node;
		size_t j = i + 1;
		bool mixed = false;
		for (; j < n && s[j].id == id; j++)
			if (s[j].node != node)
				mixed = true;
		if (node < 0 || id > (UINT64_MAX / bp) - 1) {
			free(s);
			free(runs);
			memset(out, 0, sizeof(*out));
			return node < 0 ? -EINVAL : -ERANGE;
		}
		out->nr_blocks++;
		if (mixed) {
			out->nr_mixed++;
			node = TIER_PFN_NODE_MIXED;
		}
		uint64_t first = id * bp;
		if (nr && runs[nr - 1].end_pfn == first && runs[nr - 1].node == node)
			runs[nr - 1].end_pfn = first + bp;
		else
			runs[nr++] = (struct tier_pfn_run){ .first_pfn = first, .end_pfn = first + bp, .node = node };
		i = j;
	}
	free(s);
	out->runs = runs;
	out->nr_runs = nr;
	return 0;
}

int tier_pfn_map_node(const struct tier_pfn_map *m, uint64_t pfn)
{
	size_t lo = 0, hi = m->nr_runs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct tier_pfn_run *r = &m->runs[mid];
		if (pfn < r->first_pfn)
			hi = mid;
		else if (pfn >= r->end_pfn)
			lo = mid + 1;
		else
			return r->node;
	}
	return TIER_PFN_NODE_UNKNOWN;
}

/* "nodeN" / "memoryM" with a decimal N / M and nothing else. */
static int name_number(const char *name, const char *prefix, uint64_t *out)
{
	size_t pl = strlen(prefix);
	if (strncmp(name, prefix, pl) != 0 || !isdigit((unsigned char)name[pl]))
		return -EINVAL;
	return tier_parse_u64(name + pl, out);
}

static int hex_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		int d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)d) / 16)
			return -ERANGE;
		v = v * 16 + (uint64_t)d;
	}
	*out = v;
	return 0;
}

static int add_block(struct tier_mem_block **v, size_t *n, size_t *cap, uint64_t id, int node)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		struct tier_mem_block *nv = realloc(*v, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = (struct tier_mem_block){ .id = id, .node = node };
	return 0;
}

/* The memoryM entries of one node directory. */
static int read_node_blocks(int rootfd, const char *name, int node, struct tier_mem_block **v, size_t *n,
			    size_t *cap)
{
	char path[sizeof("sys/devices/system/node/") + 256]; /* d_name is at most 255 bytes */
	snprintf(path, sizeof(path), "sys/devices/system/node/%s", name);
	int fd = openat(rootfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno; /* the node went away meanwhile */
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return -e;
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		uint64_t id;
		if (name_number(de->d_name, "memory", &id) == 0)
			r = add_block(v, n, cap, id, node);
	}
	closedir(d);
	return r;
}

int tier_pfn_map_read(int rootfd, uint64_t page_size, struct tier_pfn_map *out, char *err, size_t errlen)
{
	char buf[64];
	uint64_t block_bytes;
	memset(out, 0, sizeof(*out));
	int r = tier_read_attr_at(rootfd, "sys/devices/system/memory/block_size_bytes", buf, sizeof(buf));
	if (r < 0) {
		tier_set_err(err, errlen, "sys/devices/system/memory/block_size_bytes: %s", strerror(-r));
		return r;
	}
	if (hex_u64(buf, &block_bytes) < 0 || block_bytes == 0 || page_size == 0 || block_bytes % page_size) {
		tier_set_err(err, errlen, "sys/devices/system/memory/block_size_bytes: not a block size: \"%s\"", buf);
		return -EINVAL;
	}
	int fd = openat(rootfd, "sys/devices/system/node", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		tier_set_err(err, errlen, "sys/devices/system/node: %s", strerror(-r));
		return r;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	struct tier_mem_block *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	r = 0;
	while (r == 0 && (de = readdir(d))) {
		uint64_t node;
		if (name_number(de->d_name, "node", &node) < 0)
			continue;
		if (node > INT32_MAX) {
			tier_set_err(err, errlen, "sys/devices/system/node/%s: node id out of range", de->d_name);
			r = -ERANGE;
			break;
		}
		r = read_node_blocks(rootfd, de->d_name, (int)node, &v, &n, &cap);
	}
	closedir(d);
	if (r == 0)
		r = tier_pfn_map_build(block_bytes, page_size, v, n, out);
	if (r < 0 && r != -ENOMEM)
		tier_set_err(err, errlen, "memory blocks: %s", strerror(-r));
	free(v);
	return r;
}
