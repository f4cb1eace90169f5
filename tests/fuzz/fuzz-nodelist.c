/* SPDX-License-Identifier: MIT */
/*
 * Node and CPU lists ("0-3,8", sysfs and cpuset syntax):
 * tier_bitmask_parse_list() into a node mask (TIER_MAX_NODES bits) and a CPU
 * mask (TIER_MAX_CPUS bits).  Properties: a failed parse leaves the mask
 * empty; a parsed mask formats (tier_bitmask_format) to a list that parses
 * back to the same set, and its weight is the number of bits iterated.
 */
#include "fuzz.h"

#include <errno.h>

#include "tier/nodemask.h"

static void check(const char *text, struct bitmask *bm, struct bitmask *back)
{
	int r = tier_bitmask_parse_list(text, bm);
	if (r < 0) {
		FUZZ_CHECK(r == -EINVAL || r == -ERANGE);
		FUZZ_CHECK(tier_bitmask_empty(bm));
		return;
	}
	FUZZ_CHECK(r == 0);
	size_t need = tier_bitmask_format(bm, NULL, 0);
	char *buf = malloc(need + 1);
	if (!buf)
		abort();
	FUZZ_CHECK(tier_bitmask_format(bm, buf, need + 1) == need);
	FUZZ_CHECK(tier_bitmask_parse_list(buf, back) == 0);
	FUZZ_CHECK(tier_bitmask_equal(bm, back));
	free(buf);
	unsigned w = 0;
	tier_bitmask_foreach(bit, bm)
		w++;
	FUZZ_CHECK(w == tier_bitmask_weight(bm));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bitmask *nodes, *nodes2, *cpus, *cpus2;
	if (!nodes) {
		nodes = tier_nodemask_alloc();
		nodes2 = tier_nodemask_alloc();
		cpus = tier_bitmask_alloc(TIER_MAX_CPUS);
		cpus2 = tier_bitmask_alloc(TIER_MAX_CPUS);
	}
	char *text = fuzz_cstr(data, size);
	check(text, nodes, nodes2);
	check(text, cpus, cpus2);
	free(text);
	return 0;
}
