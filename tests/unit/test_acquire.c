/* SPDX-License-Identifier: MIT */
/*
 * tier_snapshot_acquire() on every fixture tree (real captures and hand-made
 * edge cases).  Expected values were taken from the fixture files themselves
 * (grep/awk over meminfo, vmstat, zoneinfo, ...), not from the parser.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tier/nodemask.h"
#include "tier/snapshot.h"

#define U TIER_UNKNOWN
#define KB(x) ((uint64_t)(x) * 1024)

struct exp_node {
	int id, tier;
	bool has_cpu, has_memory, has_normal;
	const char *cpulist;
	const char *distance;   /* "0:10 1:20", ids with a distance */
	uint64_t kb[4];         /* MemTotal, MemFree, FilePages, Inactive(file) in kB */
	bool hmat_present;
	uint64_t hmat[4];       /* read/write latency ns, read/write bandwidth MB/s */
	uint64_t ctr[6];        /* pgdemote k/d/khugepaged/proactive, pgpromote success/candidate */
	/* "NAME:free/min/low/high/managed/present/spanned" or "NAME-" (unpopulated) */
	const char *zones;
};

struct exp_fixture {
	const char *name;
	const char *node_ids;
	const char *tiers;      /* "4:0 54:1" */
	bool has_tiering;
	int demotion, numa_balancing;
	const char *lists[5];   /* possible online has_cpu has_memory has_normal_memory */
	uint64_t ctr[TIER_NR_COUNTERS];
	int nr_nodes;
	struct exp_node nodes[3];
};

#define HM(a, b, c, d) true, { a, b, c, d }
#define NOHM false, { U, U, U, U }

static const struct exp_fixture fixtures[] = {
	{ "host-1node-6.18", "0", "4:0", true, 0, 0, { "0", "0", "0", "0", "0" },
	  { 0, 0, 0, 0, 0, 0, 0 }, 1, {
		{ 0, 4, true, true, true, "0-1", "0:10", { 5728460, 5106580, 433984, 279760 }, NOHM,
		  { 0, 0, 0, 0, 0, 0 },
		  "DMA:3840/45/56/67/3840/3998/4095 DMA32:772789/9118/11397/13676/772915/782336/1044480 "
		  "Normal:499613/7731/9663/11595/655360/5505024/5505024 Movable- Device-" },
	} },
	{ "vm-6.1-nvdimm-2tier", "0-1", "4:0 22:1", true, 0, 0, { "0-1", "0-1", "0", "0-1", "0" },
	  /* 6.1: pgdemote_kswapd/direct only global, no khugepaged/proactive */
	  { 0, 0, U, U, 0, 0, 0 }, 2, {
		{ 0, 4, true, true, true, "0-1", "0:10 1:20", { 914996, 837580, 15064, 0 }, NOHM,
		  { U, U, U, U, 0, 0 },
		  "DMA:3808/88/110/132/3840/3998/4095 DMA32:205775/5160/6450/7740/224909/258015/258015 "
		  "Normal- Movable- Device-" },
		{ 1, 22, false, true, false, "", "0:20 1:10", { 1048576, 1048576, 0, 0 }, NOHM,
		  { U, U, U, U, 0, 0 },
		  "DMA- DMA32- Normal- Movable:262144/6015/7518/9021/262144/262144/262144 Device-" },
	} },
	{ "vm-6.12-hmat-2tier", "0-1", "4:0 54:1", true, 0, 1, { "0-1", "0-1", "0", "0-1", "0-1" },
	  { 0, 0, 0, U, 0, 0, 0 }, 2, {
		{ 0, 4, true, true, true, "0-1", "0:10 1:20", { 992232, 944880, 15360, 0 },
		  HM(100, 100, 20480, 20480), { 0, 0, 0, U, 0, 0 },
		  "DMA:3776/129/161/193/3840/3998/4095 DMA32:232513/8160/10200/12240/244218/258048/258048 "
		  "Normal- Movable- Device-" },
		{ 1, 54, false, true, true, "", "0:20 1:10", { 1029816, 1007624, 0, 0 },
		  HM(300, 300, 5120, 5120), { 0, 0, 0, U, 0, 0 },
		  "DMA- DMA32:251780/8606/10757/12908/257454/262112/262112 Normal- Movable- Device-" },
	} },
	{ "vm-6.12-hmat-2tier-normal", "0-1", "4:0 54:1", true, 0, 1, { "0-1", "0-1", "0", "0-1", "0-1" },
	  { 0, 0, 0, U, 0, 0, 0 }, 2, {
		{ 0, 4, true, true, true, "0-1", "0:10 1:20", { 926568, 866916, 15360, 0 },
		  HM(100, 100, 20480, 20480), { 0, 0, 0, U, 0, 0 },
		  "DMA:3776/178/222/266/3840/3998/4095 DMA32:43731/2011/2513/3015/45024/61408/1044480 "
		  "Normal:169276/8400/10500/12600/182778/196608/196608 Movable- Device-" },
		{ 1, 54, false, true, true, "", "0:20 1:10", { 1029176, 1010464, 0, 0 },
		  HM(300, 300, 5120, 5120), { 0, 0, 0, U, 0, 0 },
		  "DMA- DMA32- Normal:252616/11937/14921/17905/257294/262144/262144 Movable- Device-" },
	} },
	{ "vm-6.12-hmat-2tier-pressure", "0-1", "4:0 54:1", true, 1, 1, { "0-1", "0-1", "0", "0-1", "0-1" },
	  { 5725, 64, 0, U, 0, 0, 0 }, 2, {
		{ 0, 4, true, true, true, "0-1", "0:10 1:20", { 992232, 957520, 2276, 0 },
		  HM(100, 100, 20480, 20480), { 5725, 99, 0, U, 0, 0 },
		  "DMA:1058/129/161/193/3840/3998/4095 DMA32:10886/8160/10200/12240/244218/258048/258048 "
		  "Normal- Movable- Device-" },
		{ 1, 54, false, true, true, "", "0:20 1:10", { 1029816, 983900, 13084, 0 },
		  HM(300, 300, 5120, 5120), { 0, 0, 0, U, 0, 0 },
		  "DMA- DMA32:6732/8606/10757/12908/257454/262112/262112 Normal- Movable- Device-" },
	} },
	{ "vm-6.12-hmat-3tier", "0-2", "4:0 54:1 270:2", true, 0, 1, { "0-2", "0-2", "0", "0-2", "0-2" },
	  { 0, 0, 0, U, 0, 0, 0 }, 3, {
		{ 0, 4, true, true, true, "0-1", "0:10 1:20 2:30", { 1030452, 990772, 15360, 0 },
		  HM(100, 100, 20480, 20480), { 0, 0, 0, U, 0, 0 },
		  "DMA:3712/137/171/205/3840/3998/4095 DMA32:244474/9058/11322/13586/253773/258048/258048 "
		  "Normal- Movable- Device-" },
		{ 1, 54, false, true, true, "", "0:20 1:10 2:20", { 993800, 968220, 0, 0 },
		  HM(300, 300, 5120, 5120), { 0, 0, 0, U, 0, 0 },
		  "DMA- DMA32:242055/8807/11008/13209/248450/262144/262144 Normal- Movable- Device-" },
		{ 2, 270, false, true, true, "", "0:30 1:20 2:10", { 513716, 497748, 0, 0 },
		  HM(600, 600, 2048, 2048), { 0, 0, 0, U, 0, 0 },
		  "DMA- DMA32:124406/4524/5655/6786/128429/131040/131040 Normal- Movable- Device-" },
	} },
	{ "edge-sparse-ids", "0,2,5", "4:0,2 54:5", true, 0, 1, { "0-7", "0,2,5", "0,2", "0,2,5", "0,2,5" },
	  { 0, 0, 0, U, 0, 0, 0 }, 3, {
		{ 0, 4, true, true, true, "0-1", "0:10 2:21 5:30", { 1030452, 990772, 15360, 0 },
		  HM(100, 100, 20480, 20480), { 0, 0, 0, U, 0, 0 },
		  "DMA:3776/129/161/193/3840/3998/4095 DMA32:230000/8160/10200/12240/244224/258048/258048 "
		  "Normal- Movable- Device-" },
		{ 2, 4, true, true, true, "2-3", "0:21 2:10 5:30", { 1048576, 1000000, 2048, 1024 },
		  HM(110, 110, 19000, 19000), { 0, 0, 0, U, 0, 0 },
		  "DMA- DMA32- Normal:250000/8000/10000/12000/257000/262144/262144 Movable- Device-" },
		{ 5, 54, false, true, true, "", "0:30 2:30 5:10", { 1048576, 1040000, 0, 0 },
		  HM(300, 300, 5120, 5120), { 0, 0, 0, U, 0, 0 },
		  "DMA- DMA32- Normal:259000/8500/10625/12750/258000/262144/262144 Movable- Device-" },
	} },
	{ "edge-cpuless-node", "0-1", "4:0-1", true, 0, 1, { "0-1", "0-1", "0", "0-1", "0-1" },
	  { 0, 0, 0, U, 0, 0, 0 }, 2, {
		{ 0, 4, true, true, true, "0-3", "0:10 1:12", { 1030452, 990772, 15360, 0 }, NOHM,
		  { 0, 0, 0, U, 0, 0 },
		  "DMA:3776/129/161/193/3840/3998/4095 DMA32:230000/8160/10200/12240/244224/258048/258048 "
		  "Normal- Movable- Device-" },
		{ 1, 4, false, true, true, "", "0:12 1:10", { 1048576, 1040000, 0, 0 }, NOHM,
		  { 0, 0, 0, U, 0, 0 },
		  "DMA- DMA32- Normal:258000/8400/10500/12600/257294/262144/262144 Movable- Device-" },
	} },
	{ "edge-memoryless-cpu-node", "0-2", "4:0 54:2", true, 1, 1, { "0-2", "0-2", "0-1", "0,2", "0,2" },
	  { 0, 0, 0, U, 0, 0, 0 }, 3, {
		{ 0, 4, true, true, true, "0-1", "0:10 1:11 2:20", { 1030452, 990772, 15360, 0 },
		  HM(100, 100, 20480, 20480), { 0, 0, 0, U, 0, 0 },
		  "DMA:3776/129/161/193/3840/3998/4095 DMA32:230000/8160/10200/12240/244224/258048/258048 "
		  "Normal- Movable- Device-" },
		{ 1, -1, true, false, false, "2-3", "0:11 1:10 2:20", { 0, 0, 0, 0 }, NOHM,
		  { 0, 0, 0, U, 0, 0 }, "DMA- DMA32- Normal- Movable- Device-" },
		{ 2, 54, false, true, true, "", "0:20 1:20 2:10", { 1048576, 1040000, 0, 0 },
		  HM(300, 300, 5120, 5120), { 0, 0, 0, U, 0, 0 },
		  "DMA- DMA32- Normal:252616/11937/14921/17905/257294/262144/262144 Movable- Device-" },
	} },
	{ "edge-movable-only", "0-1", "4:0 22:1", true, 0, 1, { "0-1", "0-1", "0", "0-1", "0" },
	  { 0, 0, 0, U, 0, 0, 0 }, 2, {
		{ 0, 4, true, true, true, "0-1", "0:10 1:20", { 1030452, 990772, 15360, 0 }, NOHM,
		  { 0, 0, 0, U, 0, 0 },
		  "DMA:3776/129/161/193/3840/3998/4095 DMA32:230000/8160/10200/12240/244224/258048/258048 "
		  "Normal- Movable- Device-" },
		{ 1, 22, false, true, false, "", "0:20 1:10", { 1048576, 1048576, 0, 0 }, NOHM,
		  { 0, 0, 0, U, 0, 0 },
		  "DMA- DMA32- Normal- Movable:262144/6015/7518/9022/262144/262144/262144 Device-" },
	} },
	{ "edge-no-tiering", "0-1", "", false, -1, -1, { "0-1", "0-1", "0-1", "0-1", "0-1" },
	  { U, U, U, U, U, U, 3 }, 2, {
		{ 0, -1, true, true, true, "0-1", "0:10 1:21", { 1030452, 990772, 15360, 0 }, NOHM,
		  { U, U, U, U, U, U },
		  "DMA:3776/129/161/193/3840/3998/4095 DMA32:230000/8160/10200/12240/244224/258048/258048 "
		  "Normal- Movable- Device-" },
		{ 1, -1, true, true, true, "2-3", "0:21 1:10", { 1048576, 1000000, 2048, 1024 }, NOHM,
		  { U, U, U, U, U, U },
		  "DMA- DMA32- Normal:250000/8000/10000/12000/257000/262144/262144 Movable- Device-" },
	} },
	{ "edge-node-above-64", "0,70", "4:0 22:70", true, 1, 1, { "0-127", "0,70", "0", "0,70", "0,70" },
	  { 0, 0, 0, U, 0, 0, 0 }, 2, {
		{ 0, 4, true, true, true, "0-1", "0:10 70:20", { 1030452, 990772, 15360, 0 }, NOHM,
		  { 0, 0, 0, U, 0, 0 },
		  "DMA:3776/129/161/193/3840/3998/4095 DMA32:230000/8160/10200/12240/244224/258048/258048 "
		  "Normal- Movable- Device-" },
		{ 70, 22, false, true, true, "", "0:20 70:10", { 1048576, 1040000, 0, 0 }, NOHM,
		  { 0, 0, 0, U, 0, 0 },
		  "DMA- DMA32- Normal:258000/8400/10500/12600/257294/262144/262144 Movable- Device-" },
	} },
};

static void append(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

static void fmt_mask(const struct bitmask *bm, char *buf, size_t size)
{
	size_t need = tier_bitmask_format(bm, buf, size);
	assert_true(need < size);
}

static void check_node(const struct tier_node *nd, const struct exp_node *e)
{
	char buf[1024];
	assert_int_equal(nd->id, e->id);
	assert_int_equal(nd->tier, e->tier);
	assert_true(nd->online);
	assert_int_equal(nd->has_cpu, e->has_cpu);
	assert_int_equal(nd->has_memory, e->has_memory);
	assert_int_equal(nd->has_normal_memory, e->has_normal);
	assert_string_equal(nd->cpulist, e->cpulist);
	fmt_mask(nd->cpus, buf, sizeof(buf));
	assert_string_equal(buf, e->cpulist);

	buf[0] = '\0';
	for (int i = 0; i < nd->nr_distance; i++)
		if (nd->distance[i] >= 0)
			append(buf, sizeof(buf), "%s%d:%d", buf[0] ? " " : "", i, nd->distance[i]);
	assert_string_equal(buf, e->distance);

	assert_int_equal(nd->mem_total_bytes, KB(e->kb[0]));
	assert_int_equal(nd->mem_free_bytes, KB(e->kb[1]));
	assert_int_equal(nd->file_pages_bytes, KB(e->kb[2]));
	assert_int_equal(nd->inactive_file_bytes, KB(e->kb[3]));

	assert_int_equal(nd->hmat.present, e->hmat_present);
	assert_int_equal(nd->hmat.read_latency_ns, e->hmat[0]);
	assert_int_equal(nd->hmat.write_latency_ns, e->hmat[1]);
	assert_int_equal(nd->hmat.read_bandwidth_mbps, e->hmat[2]);
	assert_int_equal(nd->hmat.write_bandwidth_mbps, e->hmat[3]);

	for (int c = 0; c < 6; c++) {
		if (nd->counters[c] != e->ctr[c])
			fail_msg("node %d %s: got %ju want %ju", nd->id, tier_counter_name((enum tier_counter)c),
				 (uintmax_t)nd->counters[c], (uintmax_t)e->ctr[c]);
	}
	assert_int_equal(nd->counters[TIER_OOM_KILL], U);

	buf[0] = '\0';
	for (int z = 0; z < nd->nr_zones; z++) {
		const struct tier_zone *zn = &nd->zones[z];
		if (zn->populated)
			append(buf, sizeof(buf), "%s%s:%ju/%ju/%ju/%ju/%ju/%ju/%ju", buf[0] ? " " : "", zn->name,
			       (uintmax_t)zn->free_pages, (uintmax_t)zn->min_pages, (uintmax_t)zn->low_pages,
			       (uintmax_t)zn->high_pages, (uintmax_t)zn->managed_pages,
			       (uintmax_t)zn->present_pages, (uintmax_t)zn->spanned_pages);
		else
			append(buf, sizeof(buf), "%s%s-", buf[0] ? " " : "", zn->name);
		assert_int_equal(zn->populated, zn->present_pages > 0);
	}
	assert_string_equal(buf, e->zones);
}

static void check_fixture(const struct exp_fixture *e)
{
	int fd = tu_open_fixture(e->name);
	struct tier_snapshot *s = NULL;
	char err[256] = "";
	int rc = tier_snapshot_acquire(fd, &s, err, sizeof(err));
	close(fd);
	if (rc != 0)
		fail_msg("%s: rc %d: %s", e->name, rc, err);
	assert_non_null(s);

	assert_int_equal(s->page_size, (uint64_t)sysconf(_SC_PAGESIZE));
	assert_int_equal(s->has_tiering, e->has_tiering);
	assert_int_equal(s->demotion_enabled, e->demotion);
	assert_int_equal(s->numa_balancing, e->numa_balancing);
	for (int c = 0; c < TIER_NR_COUNTERS; c++) {
		if (s->counters[c] != e->ctr[c])
			fail_msg("%s global %s: got %ju want %ju", e->name, tier_counter_name((enum tier_counter)c),
				 (uintmax_t)s->counters[c], (uintmax_t)e->ctr[c]);
	}

	char buf[512];
	const struct bitmask *lists[5] = { s->possible, s->online, s->with_cpu, s->with_memory,
					   s->with_normal_memory };
	for (int i = 0; i < 5; i++) {
		fmt_mask(lists[i], buf, sizeof(buf));
		assert_string_equal(buf, e->lists[i]);
	}

	struct bitmask *ids = tier_nodemask_alloc();
	for (int i = 0; i < s->nr_nodes; i++)
		tier_bitmask_set(ids, s->nodes[i].id);
	fmt_mask(ids, buf, sizeof(buf));
	tier_bitmask_free(ids);
	assert_string_equal(buf, e->node_ids);

	buf[0] = '\0';
	for (int i = 0; i < s->nr_tiers; i++) {
		char nl[128];
		fmt_mask(s->tiers[i].nodes, nl, sizeof(nl));
		append(buf, sizeof(buf), "%s%d:%s", i ? " " : "", s->tiers[i].id, nl);
		assert_int_equal(tier_snapshot_tier_index(s, s->tiers[i].id), i);
		assert_ptr_equal(tier_snapshot_tier(s, s->tiers[i].id), &s->tiers[i]);
	}
	assert_string_equal(buf, e->tiers);

	assert_int_equal(s->nr_nodes, e->nr_nodes);
	for (int i = 0; i < e->nr_nodes; i++) {
		const struct tier_node *nd = tier_snapshot_node(s, e->nodes[i].id);
		assert_non_null(nd);
		assert_ptr_equal(nd, &s->nodes[i]);
		check_node(nd, &e->nodes[i]);
	}
	assert_null(tier_snapshot_node(s, 3));
	assert_null(tier_snapshot_tier(s, 5));
	tier_snapshot_free(s);
}

static void test_all_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		print_message("fixture %s\n", fixtures[i].name);
		check_fixture(&fixtures[i]);
	}
}

/* Real captures also carry the optional zone lines: spot-check them. */
static void test_zone_extras(void **state)
{
	(void)state;
	int fd = tu_open_fixture("vm-6.12-hmat-2tier");
	struct tier_snapshot *s;
	char err[256];
	assert_int_equal(tier_snapshot_acquire(fd, &s, err, sizeof(err)), 0);
	close(fd);
	const struct tier_zone *dma = &tier_snapshot_node(s, 0)->zones[0];
	assert_string_equal(dma->name, "DMA");
	/* "promo    225", "protection: (0, 947, 947, 947, 947)" */
	assert_int_equal(dma->promo_pages, 225);
	assert_int_equal(dma->boost_pages, 0);
	assert_int_equal(dma->cma_pages, 0);
	assert_int_equal(dma->nr_protection, 5);
	assert_int_equal(dma->protection_pages[0], 0);
	assert_int_equal(dma->protection_pages[1], 947);
	tier_snapshot_free(s);

	/* 6.1 prints no promo line. */
	fd = tu_open_fixture("vm-6.1-nvdimm-2tier");
	assert_int_equal(tier_snapshot_acquire(fd, &s, err, sizeof(err)), 0);
	close(fd);
	assert_int_equal(tier_snapshot_node(s, 0)->zones[0].promo_pages, U);
	assert_int_equal(tier_snapshot_node(s, 0)->zones[0].protection_pages[1], 878);
	tier_snapshot_free(s);
}

static void test_truncated_zoneinfo(void **state)
{
	(void)state;
	int fd = tu_open_fixture("edge-truncated-zoneinfo");
	struct tier_snapshot *s = (struct tier_snapshot *)1;
	char err[256] = "";
	int rc = tier_snapshot_acquire(fd, &s, err, sizeof(err));
	close(fd);
	assert_int_equal(rc, -EINVAL);
	assert_null(s);
	print_message("error: %s\n", err);
	assert_non_null(strstr(err, "proc/zoneinfo"));
	assert_non_null(strstr(err, "line 235"));
	assert_non_null(strstr(err, "truncated"));
}

/* Writable copy of a fixture, changed by the test. */
static int acquire_modified(const char *fixture, const char *rel, const char *text, char *err,
			    size_t errlen, struct tier_snapshot **s)
{
	char *dir = tu_copy_fixture(fixture);
	if (text)
		tu_write_file(dir, rel, text);
	else {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, rel);
		tu_rm_rf(path);
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	err[0] = '\0';
	int rc = tier_snapshot_acquire(fd, s, err, errlen);
	close(fd);
	tu_rm_rf(dir);
	free(dir);
	return rc;
}

static void test_malformed_files(void **state)
{
	(void)state;
	static const struct {
		const char *rel, *text, *want;
	} cases[] = {
		{ "sys/kernel/mm/numa/demotion_enabled", "maybe\n", "sys/kernel/mm/numa/demotion_enabled" },
		{ "proc/sys/kernel/numa_balancing", "x\n", "proc/sys/kernel/numa_balancing" },
		{ "sys/devices/system/node/online", "0-\n", "sys/devices/system/node/online" },
		{ "sys/devices/system/node/node1/distance", "20 10 30\n", "node1/distance" },
		{ "sys/devices/system/node/node1/distance", "20\n", "node1/distance" },
		{ "sys/devices/system/node/node0/meminfo", "Node 0 MemTotal: lots kB\n", "node0/meminfo" },
		{ "sys/devices/system/node/node0/vmstat", "pgdemote_kswapd 12x\n", "node0/vmstat" },
		{ "proc/vmstat", "oom_kill -1\n", "proc/vmstat" },
		{ "sys/devices/system/node/node1/access0/initiators/read_latency", "fast\n", "read_latency" },
		{ "sys/devices/virtual/memory_tiering/memory_tier54/nodelist", "0-1\n", "memory_tier54/nodelist" },
		{ "sys/devices/system/node/node0/cpulist", "0-1,\n", "node0/cpulist" },
		{ "proc/zoneinfo", "Node 0, zone DMA\n  pages free 1\n", "proc/zoneinfo" },
		{ "proc/zoneinfo", "Node 5, zone DMA\n  pages free 1\n min 1\n low 1\n high 1\n spanned 1\n"
				   " present 0\n managed 0\n protection: (0)\n", "node 5" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tier_snapshot *s = (struct tier_snapshot *)1;
		char err[256];
		int rc = acquire_modified("vm-6.12-hmat-2tier", cases[i].rel, cases[i].text, err, sizeof(err), &s);
		print_message("%s: rc %d: %s\n", cases[i].rel, rc, err);
		assert_true(rc < 0);
		assert_null(s);
		if (!strstr(err, cases[i].want))
			fail_msg("case %zu: error '%s' does not name '%s'", i, err, cases[i].want);
	}
}

static void test_absent_optional_files(void **state)
{
	(void)state;
	/* Removing optional files never fails and gives unknowns. */
	struct tier_snapshot *s;
	char err[256];
	assert_int_equal(acquire_modified("vm-6.12-hmat-2tier", "sys/devices/system/node/node1/access0/initiators/write_bandwidth",
					  NULL, err, sizeof(err), &s), 0);
	assert_true(tier_snapshot_node(s, 1)->hmat.present);
	assert_int_equal(tier_snapshot_node(s, 1)->hmat.read_bandwidth_mbps, 5120);
	assert_int_equal(tier_snapshot_node(s, 1)->hmat.write_bandwidth_mbps, U);
	tier_snapshot_free(s);

	assert_int_equal(acquire_modified("vm-6.12-hmat-2tier", "sys/devices/system/node/node0/meminfo",
					  NULL, err, sizeof(err), &s), 0);
	assert_int_equal(tier_snapshot_node(s, 0)->mem_total_bytes, U);
	assert_int_equal(tier_snapshot_node(s, 1)->mem_total_bytes, KB(1029816));
	tier_snapshot_free(s);

	assert_int_equal(acquire_modified("vm-6.12-hmat-2tier", "proc/vmstat", NULL, err, sizeof(err), &s), 0);
	for (int c = 0; c < TIER_NR_COUNTERS; c++)
		assert_int_equal(s->counters[c], U);
	tier_snapshot_free(s);

	/* Mandatory: zoneinfo and the node directory. */
	assert_int_equal(acquire_modified("vm-6.12-hmat-2tier", "proc/zoneinfo", NULL, err, sizeof(err), &s),
			 -ENOENT);
	assert_non_null(strstr(err, "proc/zoneinfo"));
	assert_int_equal(acquire_modified("vm-6.12-hmat-2tier", "sys/devices/system/node", NULL, err,
					  sizeof(err), &s), -ENOENT);
	assert_non_null(strstr(err, "sys/devices/system/node"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_fixtures),
		cmocka_unit_test(test_zone_extras),
		cmocka_unit_test(test_truncated_zoneinfo),
		cmocka_unit_test(test_malformed_files),
		cmocka_unit_test(test_absent_optional_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
