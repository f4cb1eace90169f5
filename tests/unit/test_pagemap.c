/* SPDX-License-Identifier: MIT */
/*
 * pagemap and kpageflags decoding (lib/pagemap.c), the PFN -> node map on
 * real memory-block layouts, and relief's page order (lib/relief.c) on bytes
 * captured from real kernels: tests/fixtures/pagemap-* (made by
 * tests/vm/helpers/pagecapture.c: a THP part, a 4 KiB part with an mlocked
 * and a written-after-clear_refs range; see that file).
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tier/pagemap.h>
#include <tier/pfnmap.h>
#include <tier/relief.h>

#define KPF(b) (1ull << (b))

static void decode(void **state)
{
	(void)state;
	/* present, exclusive, PFN 0x1c5200 (captured on the 6.18 host) */
	struct tier_pm_entry e = tier_pm_decode(0x81000000001c5200ull);
	assert_true(e.present);
	assert_true(e.exclusive);
	assert_false(e.swapped);
	assert_false(e.soft_dirty);
	assert_int_equal(e.pfn, 0x1c5200);
	/* soft-dirty, file */
	e = tier_pm_decode(TIER_PM_PRESENT | TIER_PM_SOFT_DIRTY | TIER_PM_FILE | 42);
	assert_true(e.soft_dirty && e.file && e.present);
	assert_int_equal(e.pfn, 42);
	/* present with the PFN hidden (no CAP_SYS_ADMIN) */
	e = tier_pm_decode(TIER_PM_PRESENT | TIER_PM_EXCLUSIVE);
	assert_true(e.present);
	assert_int_equal(e.pfn, 0);
	/* swapped: the low bits are swap type/offset, not a PFN */
	e = tier_pm_decode(TIER_PM_SWAPPED | 0x1234);
	assert_false(e.present);
	assert_true(e.swapped);
	assert_int_equal(e.pfn, 0);
	/* a hole */
	e = tier_pm_decode(0);
	assert_false(e.present || e.swapped || e.soft_dirty);
}

static void kpf_plan(void **state)
{
	(void)state;
	const uint64_t pfns[] = { 10, 11, 12, 40, 200, 201, 1000000 };
	uint64_t r[2 * 8];
	size_t nr;
	/* gap 64: 10..40 merge (a gap of 27), 200..201, 1000000 alone */
	assert_int_equal(tier_kpf_plan_reads(pfns, 7, 64, r, 8, &nr), 7);
	assert_int_equal(nr, 3);
	assert_int_equal(r[0], 10);
	assert_int_equal(r[1], 40);
	assert_int_equal(r[2], 200);
	assert_int_equal(r[3], 201);
	assert_int_equal(r[4], 1000000);
	assert_int_equal(r[5], 1000000);
	/* gap 0: only neighbours merge: 10-12, 40, 200-201, 1000000 */
	assert_int_equal(tier_kpf_plan_reads(pfns, 7, 0, r, 8, &nr), 7);
	assert_int_equal(nr, 4);
	assert_int_equal(r[1], 12);
	/* room for 2 ranges: a prefix is covered */
	assert_int_equal(tier_kpf_plan_reads(pfns, 7, 0, r, 2, &nr), 4);
	assert_int_equal(nr, 2);
	/* duplicates are one read */
	const uint64_t dup[] = { 5, 5, 5 };
	assert_int_equal(tier_kpf_plan_reads(dup, 3, 0, r, 8, &nr), 3);
	assert_int_equal(nr, 1);
	assert_int_equal(tier_kpf_plan_reads(NULL, 0, 0, r, 8, &nr), 0);
	assert_int_equal(nr, 0);
}

/* ---- the captures ---- */

struct capture {
	char dir[512];
	uint64_t thp_start, thp_end, small_start, small_end, lock_start, lock_end, wr_start, wr_end;
	int thp_node, small_node;
	bool soft_dirty;
	uint64_t *pm;
	size_t npages;
	uint64_t (*kpf)[2];
	size_t nkpf;
};

static void *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	off_t n = lseek(fd, 0, SEEK_END);
	void *buf = malloc((size_t)n + 1);
	assert_int_equal(pread(fd, buf, (size_t)n, 0), n);
	close(fd);
	*len = (size_t)n;
	return buf;
}

static void load(struct capture *c, const char *name)
{
	char path[600], line[128], key[32];
	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "%s/%s", TIER_FIXTURES, name);
	snprintf(path, sizeof(path), "%s/layout", c->dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a = 0, b = 0;
		int n = sscanf(line, "%31s %llx %llx", key, &a, &b);
		if (!strcmp(key, "thp") && n == 3)
			c->thp_start = a, c->thp_end = b;
		else if (!strcmp(key, "small") && n == 3)
			c->small_start = a, c->small_end = b;
		else if (!strcmp(key, "mlocked") && n == 3)
			c->lock_start = a, c->lock_end = b;
		else if (!strcmp(key, "written") && n == 3)
			c->wr_start = a, c->wr_end = b;
		else if (!strcmp(key, "thp_node"))
			c->thp_node = atoi(line + 9);
		else if (!strcmp(key, "small_node"))
			c->small_node = atoi(line + 11);
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/kernel", c->dir);
	char *k = tu_read_file(path);
	assert_non_null(k);
	c->soft_dirty = strstr(k, "soft_dirty yes") != NULL;
	free(k);
	size_t len;
	snprintf(path, sizeof(path), "%s/pagemap.bin", c->dir);
	c->pm = slurp(path, &len);
	c->npages = len / 8;
	assert_int_equal(c->npages, (c->small_end - c->thp_start) / 4096);
	snprintf(path, sizeof(path), "%s/kpageflags.bin", c->dir);
	c->kpf = slurp(path, &len);
	c->nkpf = len / 16;
}

static uint64_t flags_of(const struct capture *c, uint64_t pfn)
{
	for (size_t i = 0; i < c->nkpf; i++)
		if (c->kpf[i][0] == pfn)
			return c->kpf[i][1];
	fail_msg("%s: no kpageflags for PFN %#llx", c->dir, (unsigned long long)pfn);
	return 0;
}

static void check_capture(const char *name)
{
	struct capture c;
	load(&c, name);
	struct tier_pfn_map map;
	char err[256];
	int root = open(c.dir, O_RDONLY | O_DIRECTORY);
	assert_true(root >= 0);
	assert_int_equal(tier_pfn_map_read(root, 4096, &map, err, sizeof(err)), 0);
	close(root);
	assert_true(map.nr_blocks > 0);

	size_t heads = 0;
	enum tier_page_heat heat[4096];
	assert_true(c.npages <= 4096);
	for (size_t i = 0; i < c.npages; i++) {
		uint64_t addr = c.thp_start + i * 4096;
		struct tier_pm_entry e = tier_pm_decode(c.pm[i]);
		assert_true(e.present);
		assert_true(e.pfn != 0);
		uint64_t kpf = flags_of(&c, e.pfn);
		int node = tier_pfn_map_node(&map, e.pfn);
		struct tier_page_signals sig = {
			.have_kpf = true, .kpf = kpf, .have_written = c.soft_dirty, .written = e.soft_dirty,
		};
		heat[i] = tier_relief_page_heat(&sig);
		if (addr < c.thp_end) {
			/* THP: head at every 2 MiB, 511 tails with consecutive PFNs */
			assert_true(tier_kpf_has(kpf, TIER_KPF_THP));
			if ((addr - c.thp_start) % (2u << 20) == 0) {
				assert_true(tier_kpf_has(kpf, TIER_KPF_COMPOUND_HEAD));
				heads++;
			} else {
				assert_true(tier_kpf_has(kpf, TIER_KPF_COMPOUND_TAIL));
				assert_int_equal(e.pfn, tier_pm_decode(c.pm[i - 1]).pfn + 1);
			}
			if (c.thp_node >= 0)
				assert_int_equal(node, c.thp_node);
			assert_int_equal(tier_relief_page_skip(kpf), TIER_PAGE_SKIP_NONE);
		} else {
			assert_false(tier_kpf_has(kpf, TIER_KPF_THP));
			assert_false(tier_kpf_has(kpf, TIER_KPF_COMPOUND_HEAD) || tier_kpf_has(kpf, TIER_KPF_COMPOUND_TAIL));
			if (c.small_node >= 0)
				assert_int_equal(node, c.small_node);
			bool locked = addr >= c.lock_start && addr < c.lock_end;
			assert_int_equal(tier_relief_page_skip(kpf), locked ? TIER_PAGE_SKIP_MLOCKED : TIER_PAGE_SKIP_NONE);
			if (c.soft_dirty) {
				bool written = addr >= c.wr_start && addr < c.wr_end;
				assert_int_equal(e.soft_dirty, written);
				if (written)
					assert_int_equal(heat[i], TIER_HEAT_HOT);
			}
		}
	}
	assert_int_equal(heads, (c.thp_end - c.thp_start) / (2u << 20));
	/* The order to a slower node puts every written page after the pages
	 * not written since the mark (cold first), and the reverse to a faster
	 * one. */
	if (c.soft_dirty) {
		for (int dir = 0; dir < 2; dir++) {
			enum tier_page_heat o[TIER_HEAT_NR];
			tier_relief_heat_order(dir ? TIER_RELIEF_FASTER : TIER_RELIEF_SLOWER, o);
			/* the sequence relief's passes follow: heat by heat,
			 * addresses ascending within one */
			size_t seq[4096], n = 0;
			for (int k = 0; k < TIER_HEAT_NR; k++)
				for (size_t i = 0; i < c.npages; i++)
					if (heat[i] == o[k])
						seq[n++] = i;
			assert_int_equal(n, c.npages);
			size_t first_written = SIZE_MAX, last_unwritten = 0, first_unwritten = SIZE_MAX, last_written = 0;
			for (size_t pos = 0; pos < n; pos++) {
				uint64_t addr = c.thp_start + seq[pos] * 4096;
				if (addr < c.small_start)
					continue;
				bool w = addr >= c.wr_start && addr < c.wr_end;
				if (w) {
					first_written = pos < first_written ? pos : first_written;
					last_written = pos;
				} else if (heat[seq[pos]] != TIER_HEAT_HOT) {
					first_unwritten = pos < first_unwritten ? pos : first_unwritten;
					last_unwritten = pos;
				}
			}
			if (dir == 0)
				assert_true(first_written > last_unwritten);  /* cold first */
			else
				assert_true(last_written < first_unwritten);  /* hot first */
		}
	}
	tier_pfn_map_free(&map);
	free(c.pm);
	free(c.kpf);
}

static void captures(void **state)
{
	(void)state;
	DIR *d = opendir(TIER_FIXTURES);
	assert_non_null(d);
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "pagemap-", 8)) {
			print_message("capture %s\n", de->d_name);
			check_capture(de->d_name);
			n++;
		}
	closedir(d);
	assert_true(n >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decode),
		cmocka_unit_test(kpf_plan),
		cmocka_unit_test(captures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
