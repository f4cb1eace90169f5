/* SPDX-License-Identifier: MIT */
/* /proc/zoneinfo parser (lib/zoneinfo.h) on real captures and hand-written text. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zoneinfo.h"

static char *fixture_text(const char *fixture)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s/proc/zoneinfo", TIER_FIXTURES, fixture);
	char *t = tu_read_file(path);
	assert_non_null(t);
	return t;
}

static const struct tier_zoneinfo_zone *find(const struct tier_zoneinfo *zi, int node, const char *name)
{
	for (int i = 0; i < zi->nr_zones; i++)
		if (zi->zones[i].node == node && strcmp(zi->zones[i].zone.name, name) == 0)
			return &zi->zones[i];
	fail_msg("zone %d %s not found", node, name);
	return NULL;
}

static void test_real_6_1(void **state)
{
	(void)state;
	char *t = fixture_text("vm-6.1-nvdimm-2tier");
	struct tier_zoneinfo zi;
	char err[256] = "";
	assert_int_equal(tier_zoneinfo_parse(t, "proc/zoneinfo", &zi, err, sizeof(err)), 0);
	assert_int_equal(zi.nr_zones, 10);   /* 2 nodes x DMA DMA32 Normal Movable Device */
	assert_int_equal(zi.zones[0].node, 0);
	assert_string_equal(zi.zones[0].zone.name, "DMA");
	assert_int_equal(zi.zones[9].node, 1);
	assert_string_equal(zi.zones[9].zone.name, "Device");

	/* "Node 1, zone  Movable": per-node stats block, then the watermarks. */
	const struct tier_zone *mv = &find(&zi, 1, "Movable")->zone;
	assert_true(mv->populated);
	assert_int_equal(mv->free_pages, 262144);
	assert_int_equal(mv->min_pages, 6015);
	assert_int_equal(mv->low_pages, 7518);
	assert_int_equal(mv->high_pages, 9021);
	assert_int_equal(mv->spanned_pages, 262144);
	assert_int_equal(mv->present_pages, 262144);
	assert_int_equal(mv->managed_pages, 262144);
	assert_int_equal(mv->boost_pages, 0);
	assert_int_equal(mv->cma_pages, 0);
	assert_int_equal(mv->promo_pages, TIER_UNKNOWN);   /* 6.1 has no promo line */

	/* "Node 0, zone   Device" (the NVDIMM's ZONE_DEVICE): spanned 294912,
	 * present 0 -> unpopulated. */
	const struct tier_zone *d0 = &find(&zi, 0, "Device")->zone;
	assert_false(d0->populated);
	assert_int_equal(d0->spanned_pages, 294912);
	assert_int_equal(d0->present_pages, 0);
	assert_false(find(&zi, 0, "Movable")->zone.populated);

	const struct tier_zone *dma = &find(&zi, 0, "DMA")->zone;
	assert_int_equal(dma->free_pages, 3808);
	assert_int_equal(dma->nr_protection, 5);
	static const uint64_t prot[5] = { 0, 878, 878, 878, 878 };
	for (int i = 0; i < 5; i++)
		assert_int_equal(dma->protection_pages[i], prot[i]);
	tier_zoneinfo_free(&zi);
	assert_null(zi.zones);
	free(t);
}

static void test_real_6_18(void **state)
{
	(void)state;
	char *t = fixture_text("host-1node-6.18");
	struct tier_zoneinfo zi;
	char err[256] = "";
	assert_int_equal(tier_zoneinfo_parse(t, "proc/zoneinfo", &zi, err, sizeof(err)), 0);
	assert_int_equal(zi.nr_zones, 5);
	const struct tier_zone *n = &find(&zi, 0, "Normal")->zone;
	assert_int_equal(n->free_pages, 499613);
	assert_int_equal(n->promo_pages, 13527);
	assert_int_equal(n->managed_pages, 655360);
	const struct tier_zone *mv = &find(&zi, 0, "Movable")->zone;
	assert_false(mv->populated);
	assert_int_equal(mv->promo_pages, 32);
	tier_zoneinfo_free(&zi);
	free(t);
}

/* Every prefix of a real file: truncated mid-line is always an error; any
 * prefix either parses or fails with a message naming file and line; never a
 * crash (run under ASan). */
static void test_every_truncation(void **state)
{
	(void)state;
	static const char *const fx[] = { "vm-6.12-hmat-2tier-normal", "vm-6.1-nvdimm-2tier" };
	for (size_t f = 0; f < 2; f++) {
		/* Both have 2 nodes x 5 zones: a prefix parses only when it ends
		 * right after a complete zone. */
		const int nr_zones = 10;
		char *t = fixture_text(fx[f]);
		size_t len = strlen(t);
		int ok = 0, failed = 0;
		for (size_t cut = 0; cut < len; cut++) {
			char *p = strndup(t, cut);
			struct tier_zoneinfo zi;
			char err[256] = "";
			int rc = tier_zoneinfo_parse(p, "proc/zoneinfo", &zi, err, sizeof(err));
			if (rc == 0) {
				assert_true(cut > 0 && t[cut - 1] == '\n');
				ok++;
				tier_zoneinfo_free(&zi);
			} else {
				assert_int_equal(rc, -EINVAL);
				assert_null(zi.zones);
				if (strncmp(err, "proc/zoneinfo: ", 15) != 0)
					fail_msg("cut %zu: message '%s'", cut, err);
				failed++;
			}
			free(p);
		}
		print_message("%s: %d parsable prefixes, %d errors\n", fx[f], ok, failed);
		assert_int_equal(ok, nr_zones - 1);   /* the full text (cut == len) is not tried */
		assert_int_equal(failed, (int)len - ok);
		free(t);
	}
}

static void test_truncated_messages(void **state)
{
	(void)state;
	struct tier_zoneinfo zi;
	char err[256];
	/* Cut at a line boundary after "min". */
	const char *t1 = "Node 0, zone      DMA\n"
			 "  pages free     3776\n"
			 "        boost    0\n"
			 "        min      129\n";
	assert_int_equal(tier_zoneinfo_parse(t1, "proc/zoneinfo", &zi, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "proc/zoneinfo: line 4: file ends inside zone Node 0 DMA: no 'low' line (truncated?)");

	/* A populated last zone cut after its pagesets. */
	const char *t2 = "Node 0, zone      DMA\n"
			 "  pages free     1\n        min 1\n        low 1\n        high 1\n"
			 "        spanned 1\n        present 1\n        managed 1\n        protection: (0, 0)\n"
			 "  pagesets\n  node_unreclaimable:  0\n  start_pfn:           1\n"
			 "Node 0, zone    DMA32\n"
			 "  pages free     1\n        min 1\n        low 1\n        high 1\n"
			 "        spanned 1\n        present 1\n        managed 1\n        protection: (0, 0)\n"
			 "  pagesets\n    cpu: 0\n";
	assert_int_equal(tier_zoneinfo_parse(t2, "proc/zoneinfo", &zi, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "start_pfn"));
	assert_non_null(strstr(err, "line 23"));

	/* Mid-line. */
	assert_int_equal(tier_zoneinfo_parse("Node 0, zone      DMA\n  pages fr", "proc/zoneinfo", &zi, err,
					     sizeof(err)), -EINVAL);
	assert_string_equal(err, "proc/zoneinfo: line 2: last line has no newline: file is truncated");

	assert_int_equal(tier_zoneinfo_parse("", "proc/zoneinfo", &zi, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "proc/zoneinfo: empty file");

	/* A zone cut short and followed by the next header. */
	const char *t3 = "Node 0, zone      DMA\n  pages free     1\n        min 1\n"
			 "Node 0, zone    DMA32\n";
	assert_int_equal(tier_zoneinfo_parse(t3, "proc/zoneinfo", &zi, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line 4: zone Node 0 DMA before this line has no 'low' line"));
}

/* Formats of other kernels: no boost/promo/cma (4.x without CONFIG_CMA), and
 * unknown new keys. */
static void test_other_formats(void **state)
{
	(void)state;
	const char *t = "Node 3, zone   Normal\n"
			"  per-node stats\n"
			"      nr_inactive_anon 5\n"
			"  pages free     1000\n"
			"        min      10\n"
			"        low      12\n"
			"        high     14\n"
			"        spanned  4096\n"
			"        present  4096\n"
			"        managed  4000\n"
			"        future_key 7\n"
			"        protection: (0, 0, 0, 0)\n"
			"      nr_free_pages 1000\n"
			"  pagesets\n"
			"    cpu: 0\n"
			"              count: 0\n"
			"              high:  99999\n"
			"              batch: 1\n"
			"  vm stats threshold: 4\n"
			"  node_unreclaimable:  0\n"
			"  start_pfn:           1\n"
			"Node 3, zone  Movable\n"
			"  pages free     0\n"
			"        min      0\n"
			"        low      0\n"
			"        high     0\n"
			"        spanned  0\n"
			"        present  0\n"
			"        managed  0\n"
			"        protection: (0, 0, 0, 0)\n";
	struct tier_zoneinfo zi;
	char err[256] = "";
	assert_int_equal(tier_zoneinfo_parse(t, "proc/zoneinfo", &zi, err, sizeof(err)), 0);
	assert_int_equal(zi.nr_zones, 2);
	const struct tier_zone *z = &zi.zones[0].zone;
	assert_int_equal(zi.zones[0].node, 3);
	assert_true(z->populated);
	assert_int_equal(z->high_pages, 14);   /* not the pageset's "high:  99999" */
	assert_int_equal(z->boost_pages, TIER_UNKNOWN);
	assert_int_equal(z->promo_pages, TIER_UNKNOWN);
	assert_int_equal(z->cma_pages, TIER_UNKNOWN);
	assert_int_equal(z->nr_protection, 4);
	assert_false(zi.zones[1].zone.populated);
	tier_zoneinfo_free(&zi);
}

/* The largest protection value that fits is kept exactly. */
static void test_protection_max(void **state)
{
	(void)state;
	const char *t = "Node 0, zone   Normal\n"
			"  pages free     1\n        min 1\n        low 1\n        high 1\n"
			"        spanned 0\n        present 0\n        managed 0\n"
			"        protection: (18446744073709551615, 0)\n";
	struct tier_zoneinfo zi;
	char err[256] = "";
	assert_int_equal(tier_zoneinfo_parse(t, "proc/zoneinfo", &zi, err, sizeof(err)), 0);
	assert_int_equal(zi.zones[0].zone.nr_protection, 2);
	assert_true(zi.zones[0].zone.protection_pages[0] == UINT64_MAX);
	tier_zoneinfo_free(&zi);
}

static void test_malformed(void **state)
{
	(void)state;
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "garbage\n", "line 1: expected 'Node N, zone NAME'" },
		{ "Node x, zone DMA\n", "line 1: expected 'Node N, zone NAME'" },
		{ "Node 0 zone DMA\n", "line 1: expected 'Node N, zone NAME'" },
		{ "Node 0, zone \n", "line 1: expected 'Node N, zone NAME'" },
		{ "Node 0, zone a b\n", "line 1: bad zone name" },
		{ "Node 0, zone ABCDEFGHIJKLMNOPQRSTUVWXYZ\n", "line 1: bad zone name" },
		{ "Node 0, zone DMA\n  pages free x\n", "line 2: expected a number after 'pages free'" },
		{ "Node 0, zone DMA\n  pages free 1\n        min -1\n", "line 3: expected a number after 'min'" },
		{ "Node 0, zone DMA\n  pages free 1\n        min 1\n        min 2\n", "line 4: duplicate 'min'" },
		{ "Node 0, zone DMA\n  nr_free 1\n", "line 2: expected 'pages free' or 'per-node stats'" },
		{ "Node 0, zone DMA\n  pages free 1\n        protection: (0, x)\n",
		  "line 3: expected a number in 'protection:'" },
		{ "Node 0, zone DMA\n  pages free 1\n        protection: (0, 1\n",
		  "line 3: expected ',' or ')' in 'protection:'" },
		/* 2^64: used to wrap silently to 0 (issue 15, fuzz corpus
		 * regress-zoneinfo-protection-wraps). */
		{ "Node 0, zone DMA\n  pages free 1\n        protection: (0, 18446744073709551616)\n",
		  "line 3: number too large in 'protection:'" },
		{ "Node 0, zone DMA\n  pages free 1\n        protection: (99999999999999999999999, 0)\n",
		  "line 3: number too large in 'protection:'" },
		{ "Node 0, zone DMA\n  pages free 1\n  pages free 1\n", "line 3: 'pages free' out of place" },
		{ "Node 0, zone DMA\n  pages free 0\n min 0\n low 0\n high 0\n spanned 0\n present 0\n managed 0\n"
		  " protection: (0)\nNode 0, zone DMA\n", "line 10: duplicate zone DMA" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tier_zoneinfo zi;
		char err[256] = "";
		assert_int_equal(tier_zoneinfo_parse(cases[i].text, "x/zoneinfo", &zi, err, sizeof(err)), -EINVAL);
		if (strncmp(err, "x/zoneinfo: ", 12) != 0 || !strstr(err, cases[i].want))
			fail_msg("case %zu: got '%s', want '%s'", i, err, cases[i].want);
		assert_int_equal(zi.nr_zones, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_6_1),
		cmocka_unit_test(test_real_6_18),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_truncated_messages),
		cmocka_unit_test(test_other_formats),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_protection_max),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
