/* SPDX-License-Identifier: MIT */
/*
 * Relief's page locator: the PFN -> node map (tier/pfnmap.h), pagemap entry
 * decoding and the kpageflags read plan (tier/pagemap.h).
 *
 * The input is split at "%%" lines (fuzz.h) into two parts:
 *  1. the text of sys/devices/system/memory/block_size_bytes, read by
 *     tier_pfn_map_read() from a tmpfs tree whose blocks are fixed:
 *     node0/memory0, node0/memory1, node1/memory1 (a mixed block),
 *     node1/memory2.  Property: a size is accepted only as a non-zero
 *     multiple of the page, and then block 0 is node 0, block 1 mixed,
 *     block 2 node 1, block 3 unknown.
 *  2. binary: a block size (8 bytes, little endian), a block count (1 byte),
 *     that many (block id: 4 bytes, node: 1 byte) pairs for
 *     tier_pfn_map_build(), then raw 64-bit pagemap entries.  Properties:
 *     the runs are sorted and disjoint; every listed block's PFNs map to its
 *     node (or mixed when listed under two); a decoded PFN is 0 unless the
 *     page is present and not swapped, and never exceeds the PFN mask; the
 *     kpageflags plan over the sorted PFNs covers every PFN it claims, with
 *     ranges in order.
 */
#include "fuzz.h"

#include <errno.h>
#include <string.h>

#include "tier/pagemap.h"
#include "tier/pfnmap.h"

#define MEM "sys/devices/system/memory/block_size_bytes"
#define NODE "sys/devices/system/node/"
#define MAX_BLOCKS 64
#define MAX_ENTRIES 512
#define PAGE 4096u

static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void read_part(int root, const struct fuzz_part *p)
{
	fuzz_put(root, MEM, p->data, p->size);
	struct tier_pfn_map m;
	char err[256] = "";
	int r = tier_pfn_map_read(root, PAGE, &m, err, sizeof(err));
	if (r < 0) {
		fuzz_note("  block size rejected: %s", err);
		FUZZ_CHECK(m.runs == NULL && m.nr_runs == 0);
		return;
	}
	FUZZ_CHECK(m.block_pages > 0);
	FUZZ_CHECK(m.nr_blocks == 3 && m.nr_mixed == 1);
	uint64_t bp = m.block_pages;
	fuzz_note("  block of %llu pages", (unsigned long long)bp);
	FUZZ_CHECK(tier_pfn_map_node(&m, 0) == 0);
	FUZZ_CHECK(tier_pfn_map_node(&m, bp - 1) == 0);
	if (bp <= UINT64_MAX / 4) {
		FUZZ_CHECK(tier_pfn_map_node(&m, bp) == TIER_PFN_NODE_MIXED);
		FUZZ_CHECK(tier_pfn_map_node(&m, 2 * bp) == 1);
		FUZZ_CHECK(tier_pfn_map_node(&m, 3 * bp) == TIER_PFN_NODE_UNKNOWN);
	}
	tier_pfn_map_free(&m);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void binary_part(const uint8_t *d, size_t size)
{
	static struct tier_mem_block blocks[MAX_BLOCKS];
	static uint64_t pfns[MAX_ENTRIES], ranges[2 * 8];
	if (size < 9)
		return;
	uint64_t block_bytes = le(d, 8);
	size_t nb = d[8] % (MAX_BLOCKS + 1);
	d += 9;
	size -= 9;
	if (size < nb * 5)
		nb = size / 5;
	for (size_t i = 0; i < nb; i++) {
		blocks[i].id = le(d + 5 * i, 4);
		blocks[i].node = d[5 * i + 4] % 8;
	}
	d += nb * 5;
	size -= nb * 5;

	struct tier_pfn_map m;
	int r = tier_pfn_map_build(block_bytes, PAGE, blocks, nb, &m);
	if (r < 0) {
		FUZZ_CHECK(r == -EINVAL || r == -ERANGE || r == -ENOMEM);
		FUZZ_CHECK(m.runs == NULL && m.nr_runs == 0);
	} else {
		FUZZ_CHECK(m.block_pages == block_bytes / PAGE);
		for (size_t i = 0; i < m.nr_runs; i++) {
			FUZZ_CHECK(m.runs[i].first_pfn < m.runs[i].end_pfn);
			FUZZ_CHECK(i == 0 || m.runs[i - 1].end_pfn <= m.runs[i].first_pfn);
			FUZZ_CHECK(m.runs[i].node >= 0 || m.runs[i].node == TIER_PFN_NODE_MIXED);
		}
		for (size_t i = 0; i < nb; i++) {
			uint64_t first = blocks[i].id * m.block_pages;
			int got = tier_pfn_map_node(&m, first), want = blocks[i].node;
			for (size_t k = 0; k < nb; k++)
				if (blocks[k].id == blocks[i].id && blocks[k].node != blocks[i].node)
					want = TIER_PFN_NODE_MIXED;
			FUZZ_CHECK(got == want);
			FUZZ_CHECK(tier_pfn_map_node(&m, first + m.block_pages - 1) == want);
		}
		fuzz_note("  %zu blocks in %zu runs", m.nr_blocks, m.nr_runs);
	}

	size_t n = 0;
	for (size_t off = 0; off + 8 <= size && n < MAX_ENTRIES; off += 8) {
		uint64_t raw = le(d + off, 8);
		struct tier_pm_entry e = tier_pm_decode(raw);
		FUZZ_CHECK(e.present == !!(raw & TIER_PM_PRESENT));
		FUZZ_CHECK(e.pfn <= TIER_PM_PFN_MASK);
		FUZZ_CHECK(e.pfn == 0 || (e.present && !e.swapped));
		if (e.pfn) {
			pfns[n++] = e.pfn;
			if (r == 0) {
				int node = tier_pfn_map_node(&m, e.pfn);
				FUZZ_CHECK(node >= 0 || node == TIER_PFN_NODE_MIXED || node == TIER_PFN_NODE_UNKNOWN);
			}
		}
	}
	if (r == 0)
		tier_pfn_map_free(&m);
	qsort(pfns, n, sizeof(pfns[0]), cmp_u64);
	uint64_t max_gap = size ? d[0] : 0;
	size_t nr = 0, covered = tier_kpf_plan_reads(pfns, n, max_gap, ranges, 8, &nr);
	FUZZ_CHECK(covered <= n && nr <= 8);
	FUZZ_CHECK(n == 0 || covered > 0);
	for (size_t k = 0; k < nr; k++) {
		FUZZ_CHECK(ranges[2 * k] <= ranges[2 * k + 1]);
		FUZZ_CHECK(k == 0 || ranges[2 * k - 1] < ranges[2 * k]);
	}
	for (size_t i = 0, k = 0; i < covered; i++) {
		while (k < nr && ranges[2 * k + 1] < pfns[i])
			k++;
		FUZZ_CHECK(k < nr && ranges[2 * k] <= pfns[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int root = -1;
	if (root < 0) {
		root = fuzz_scratch_fd();
		fuzz_put(root, NODE "node0/memory0/online", "1\n", 2);
		fuzz_put(root, NODE "node0/memory1/online", "1\n", 2);
		fuzz_put(root, NODE "node1/memory1/online", "1\n", 2);
		fuzz_put(root, NODE "node1/memory2/online", "1\n", 2);
	}
	struct fuzz_part parts[2];
	size_t n = fuzz_split(data, size, parts, 2);
	read_part(root, &parts[0]);
	if (n > 1)
		binary_part(parts[1].data, parts[1].size);
	return 0;
}
