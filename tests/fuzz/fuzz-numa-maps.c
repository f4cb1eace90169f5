/* SPDX-License-Identifier: MIT */
/*
 * /proc/PID/numa_maps of any process (a hostile one included):
 * tier_numa_maps_parse() and the victim scan's tier_numa_maps_sum().
 * Properties: both accept and reject the same text with the same error;
 * the sums are the per-node totals of the parsed VMAs, saturated at
 * UINT64_MAX; every node id is below TIER_MAX_NODES.
 */
#include "fuzz.h"

#include <errno.h>
#include <string.h>

#include "tier/nodemask.h"
#include "tier/procmaps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t sums[TIER_MAX_NODES], want[TIER_MAX_NODES];
	char *text = fuzz_cstr(data, size);
	struct tier_numa_maps m;
	int r = tier_numa_maps_parse(text, 4096, &m);
	int rs = tier_numa_maps_sum(text, 4096, sums, TIER_MAX_NODES);
	free(text);
	FUZZ_CHECK(r == rs);
	if (r < 0) {
		fuzz_note("  rejected: %d", r);
		FUZZ_CHECK(r == -EINVAL || r == -ERANGE || r == -ENOMEM);
		FUZZ_CHECK(m.nr_vmas == 0 && m.vmas == NULL);
		return 0;
	}
	fuzz_note("  parsed: %zu VMAs", m.nr_vmas);
	memset(want, 0, sizeof(want));
	for (size_t i = 0; i < m.nr_vmas; i++) {
		const struct tier_numa_maps_vma *v = &m.vmas[i];
		FUZZ_CHECK(v->kpage_bytes > 0);
		for (unsigned k = 0; k < v->nr_nodes; k++) {
			int node = v->nodes[k].node;
			FUZZ_CHECK(node >= 0 && (unsigned)node < TIER_MAX_NODES);
			if (__builtin_add_overflow(want[node], v->nodes[k].pages, &want[node]))
				want[node] = UINT64_MAX;
		}
		(void)tier_numa_maps_vma_node_pages(v, 0);
	}
	FUZZ_CHECK(memcmp(want, sums, sizeof(sums)) == 0);
	tier_numa_maps_free(&m);
	return 0;
}
