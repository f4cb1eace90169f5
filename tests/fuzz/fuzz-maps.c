/* SPDX-License-Identifier: MIT */
/*
 * /proc/PID/maps of any process: tier_maps_parse(), then what relief does
 * with the result (tier_maps_find() for every VMA start, and
 * tier_vma_unmovable()).  Properties (tier/procmaps.h): every VMA has
 * start <= end, 4 permission characters and a path; a sorted list finds
 * each of its starts.
 */
#include "fuzz.h"

#include <errno.h>
#include <string.h>

#include "tier/procmaps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	struct tier_maps m;
	int r = tier_maps_parse(text, &m);
	free(text);
	if (r < 0) {
		fuzz_note("  rejected: %d", r);
		FUZZ_CHECK(r == -EINVAL || r == -ENOMEM);
		FUZZ_CHECK(m.nr == 0 && m.vmas == NULL);
		return 0;
	}
	fuzz_note("  parsed: %zu VMAs", m.nr);
	bool sorted = true;
	for (size_t i = 0; i < m.nr; i++) {
		const struct tier_vma *v = &m.vmas[i];
		FUZZ_CHECK(v->start <= v->end);
		FUZZ_CHECK(strlen(v->perms) == 4);
		FUZZ_CHECK(v->path != NULL);
		(void)tier_vma_unmovable(v);
		if (i > 0 && m.vmas[i - 1].start >= v->start)
			sorted = false;
	}
	for (size_t i = 0; sorted && i < m.nr; i++)
		FUZZ_CHECK(tier_maps_find(&m, m.vmas[i].start) == &m.vmas[i]);
	tier_maps_free(&m);
	return 0;
}
