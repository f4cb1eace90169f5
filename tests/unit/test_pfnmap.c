/* SPDX-License-Identifier: MIT */
/*
 * The PFN -> node map (lib/pfnmap.c): sparse blocks, hotplugged blocks,
 * node ids above 64, blocks of two nodes, the sysfs reader on fixture trees
 * (captured layouts in tests/fixtures/pagemap-*, hand-made ones here).
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tier/pfnmap.h>

#define BLK (128ull << 20)     /* 128 MiB: 32768 pages of 4 KiB */
#define BP 32768ull

static void sparse_blocks(void **state)
{
	(void)state;
	/* node 0: blocks 0-1, a hole (2-4: never populated), node 0: 5,
	 * node 1: 6-7, node 0 again: 100 */
	const struct tier_mem_block b[] = { { 7, 1 }, { 0, 0 }, { 5, 0 }, { 1, 0 }, { 6, 1 }, { 100, 0 } };
	struct tier_pfn_map m;
	assert_int_equal(tier_pfn_map_build(BLK, 4096, b, 6, &m), 0);
	assert_int_equal(m.block_pages, BP);
	assert_int_equal(m.nr_blocks, 6);
	assert_int_equal(m.nr_runs, 4);            /* 0-1, 5, 6-7, 100 */
	assert_int_equal(tier_pfn_map_node(&m, 0), 0);
	assert_int_equal(tier_pfn_map_node(&m, 2 * BP - 1), 0);
	assert_int_equal(tier_pfn_map_node(&m, 2 * BP), TIER_PFN_NODE_UNKNOWN);
	assert_int_equal(tier_pfn_map_node(&m, 5 * BP - 1), TIER_PFN_NODE_UNKNOWN);
	assert_int_equal(tier_pfn_map_node(&m, 5 * BP), 0);
	assert_int_equal(tier_pfn_map_node(&m, 6 * BP), 1);
	assert_int_equal(tier_pfn_map_node(&m, 8 * BP - 1), 1);
	assert_int_equal(tier_pfn_map_node(&m, 8 * BP), TIER_PFN_NODE_UNKNOWN);
	assert_int_equal(tier_pfn_map_node(&m, 100 * BP + 17), 0);
	assert_int_equal(tier_pfn_map_node(&m, UINT64_MAX), TIER_PFN_NODE_UNKNOWN);
	tier_pfn_map_free(&m);
	/* nothing at all */
	assert_int_equal(tier_pfn_map_build(BLK, 4096, NULL, 0, &m), 0);
	assert_int_equal(tier_pfn_map_node(&m, 0), TIER_PFN_NODE_UNKNOWN);
	tier_pfn_map_free(&m);
}

/* Memory hot-added to a new node (dax/kmem, CXL): a rebuild sees it; a
 * block hot-removed is gone. */
static void hotplugged_blocks(void **state)
{
	(void)state;
	struct tier_mem_block b[8] = { { 0, 0 }, { 1, 0 }, { 2, 0 } };
	struct tier_pfn_map m;
	assert_int_equal(tier_pfn_map_build(BLK, 4096, b, 3, &m), 0);
	assert_int_equal(tier_pfn_map_node(&m, 40 * BP), TIER_PFN_NODE_UNKNOWN);
	tier_pfn_map_free(&m);
	/* kmem onlines blocks 40-42 as node 1 */
	b[3] = (struct tier_mem_block){ 40, 1 };
	b[4] = (struct tier_mem_block){ 41, 1 };
	b[5] = (struct tier_mem_block){ 42, 1 };
	assert_int_equal(tier_pfn_map_build(BLK, 4096, b, 6, &m), 0);
	assert_int_equal(tier_pfn_map_node(&m, 40 * BP), 1);
	assert_int_equal(tier_pfn_map_node(&m, 43 * BP - 1), 1);
	assert_int_equal(m.nr_runs, 2);
	tier_pfn_map_free(&m);
	/* block 41 removed again */
	b[4] = b[5];
	assert_int_equal(tier_pfn_map_build(BLK, 4096, b, 5, &m), 0);
	assert_int_equal(tier_pfn_map_node(&m, 41 * BP), TIER_PFN_NODE_UNKNOWN);
	assert_int_equal(tier_pfn_map_node(&m, 42 * BP), 1);
	tier_pfn_map_free(&m);
}

static void nodes_above_64(void **state)
{
	(void)state;
	const struct tier_mem_block b[] = { { 0, 0 }, { 1, 70 }, { 2, 1023 }, { 3, 64 } };
	struct tier_pfn_map m;
	assert_int_equal(tier_pfn_map_build(BLK, 4096, b, 4, &m), 0);
	assert_int_equal(tier_pfn_map_node(&m, BP), 70);
	assert_int_equal(tier_pfn_map_node(&m, 2 * BP + 5), 1023);
	assert_int_equal(tier_pfn_map_node(&m, 3 * BP), 64);
	tier_pfn_map_free(&m);
}

/* A boot block across a node boundary is linked under both: mixed. */
static void mixed_blocks(void **state)
{
	(void)state;
	const struct tier_mem_block b[] = { { 0, 0 }, { 1, 0 }, { 1, 1 }, { 1, 1 }, { 2, 1 }, { 2, 1 } };
	struct tier_pfn_map m;
	assert_int_equal(tier_pfn_map_build(BLK, 4096, b, 6, &m), 0);
	assert_int_equal(m.nr_blocks, 3);
	assert_int_equal(m.nr_mixed, 1);
	assert_int_equal(tier_pfn_map_node(&m, BP), TIER_PFN_NODE_MIXED);
	assert_int_equal(tier_pfn_map_node(&m, 2 * BP), 1);   /* listed twice under one node: not mixed */
	tier_pfn_map_free(&m);
}

static void bad_input(void **state)
{
	(void)state;
	const struct tier_mem_block b[] = { { 0, 0 } }, neg[] = { { 0, -3 } }, huge[] = { { UINT64_MAX / 2, 0 } };
	struct tier_pfn_map m;
	assert_int_equal(tier_pfn_map_build(BLK + 1, 4096, b, 1, &m), -EINVAL);
	assert_int_equal(tier_pfn_map_build(0, 4096, b, 1, &m), -EINVAL);
	assert_int_equal(tier_pfn_map_build(BLK, 0, b, 1, &m), -EINVAL);
	assert_int_equal(tier_pfn_map_build(BLK, 4096, neg, 1, &m), -EINVAL);
	assert_int_equal(tier_pfn_map_build(BLK, 4096, huge, 1, &m), -ERANGE);
	assert_int_equal(m.nr_runs, 0);
	/* 2 GiB blocks, 64 KiB pages */
	assert_int_equal(tier_pfn_map_build(2ull << 30, 65536, b, 1, &m), 0);
	assert_int_equal(m.block_pages, 32768);
	tier_pfn_map_free(&m);
}

static int open_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void reader(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/pfnmap-XXXXXX", err[256];
	char *root = mkdtemp(tmpl);
	struct tier_pfn_map m;
	int fd = open_dir(root);
	/* no memory blocks in this kernel (no CONFIG_MEMORY_HOTPLUG) */
	assert_int_equal(tier_pfn_map_read(fd, 4096, &m, err, sizeof(err)), -ENOENT);
	tu_write_file(root, "sys/devices/system/memory/block_size_bytes", "8000000\n");
	tu_write_file(root, "sys/devices/system/node/node0/memory0/.keep", "");
	tu_write_file(root, "sys/devices/system/node/node0/memory1/.keep", "");
	tu_write_file(root, "sys/devices/system/node/node70/memory33/.keep", "");
	tu_write_file(root, "sys/devices/system/node/node70/cpulist", "\n");      /* not a block */
	tu_write_file(root, "sys/devices/system/node/node70/memory_failure/.keep", ""); /* not a block either */
	tu_write_file(root, "sys/devices/system/node/possible", "0,70\n");
	assert_int_equal(tier_pfn_map_read(fd, 4096, &m, err, sizeof(err)), 0);
	assert_int_equal(m.nr_blocks, 3);
	assert_int_equal(tier_pfn_map_node(&m, 33 * BP), 70);
	assert_int_equal(tier_pfn_map_node(&m, 2 * BP), TIER_PFN_NODE_UNKNOWN);
	tier_pfn_map_free(&m);
	/* "0x" prefix accepted; garbage refused with a message */
	tu_write_file(root, "sys/devices/system/memory/block_size_bytes", "0x8000000\n");
	assert_int_equal(tier_pfn_map_read(fd, 4096, &m, err, sizeof(err)), 0);
	tier_pfn_map_free(&m);
	tu_write_file(root, "sys/devices/system/memory/block_size_bytes", "lots\n");
	assert_int_equal(tier_pfn_map_read(fd, 4096, &m, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "block_size_bytes"));
	close(fd);
	tu_rm_rf(root);
}

/* The captured layouts: the 6.1 NVDIMM one has node 1 hot-added by kmem
 * (its blocks follow every block of node 0). */
static void captured(void **state)
{
	(void)state;
	const char *names[] = { "pagemap-host-6.18", "pagemap-vm-6.12", "pagemap-vm-6.1-nvdimm" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[512], err[256];
		snprintf(path, sizeof(path), "%s/%s", TIER_FIXTURES, names[i]);
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct tier_pfn_map m;
		assert_int_equal(tier_pfn_map_read(fd, 4096, &m, err, sizeof(err)), 0);
		close(fd);
		print_message("%s: %zu blocks, %zu runs, %zu mixed\n", names[i], m.nr_blocks, m.nr_runs, m.nr_mixed);
		assert_true(m.nr_blocks > 0);
		/* runs sorted and disjoint */
		for (size_t r = 1; r < m.nr_runs; r++)
			assert_true(m.runs[r - 1].end_pfn <= m.runs[r].first_pfn);
		if (strstr(names[i], "nvdimm")) {
			/* node 1's blocks come after node 0's */
			uint64_t last0 = 0, first1 = UINT64_MAX;
			for (size_t r = 0; r < m.nr_runs; r++) {
				if (m.runs[r].node == 0 && m.runs[r].end_pfn > last0)
					last0 = m.runs[r].end_pfn;
				if (m.runs[r].node == 1 && m.runs[r].first_pfn < first1)
					first1 = m.runs[r].first_pfn;
			}
			assert_true(first1 != UINT64_MAX && first1 >= last0);
		}
		tier_pfn_map_free(&m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sparse_blocks), cmocka_unit_test(hotplugged_blocks), cmocka_unit_test(nodes_above_64),
		cmocka_unit_test(mixed_blocks),  cmocka_unit_test(bad_input),         cmocka_unit_test(reader),
		cmocka_unit_test(captured),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
