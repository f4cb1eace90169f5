/* SPDX-License-Identifier: MIT */
/*
 * /proc/PID/cgroup of any process: tier_proc_cgroups_parse() and the path
 * shown for the task (tier_proc_cgroups_main()).  Properties: every line
 * has a path starting with '/'; the main path is one of them, NULL only
 * when there are no lines.
 */
#include "fuzz.h"

#include <errno.h>
#include <string.h>

#include "tier/procmaps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	struct tier_proc_cgroups c;
	int r = tier_proc_cgroups_parse(text, &c);
	free(text);
	if (r < 0) {
		fuzz_note("  rejected: %d", r);
		FUZZ_CHECK(r == -EINVAL || r == -ENOMEM);
		FUZZ_CHECK(c.nr == 0 && c.v == NULL);
		return 0;
	}
	fuzz_note("  parsed: %zu lines", c.nr);
	bool found = false;
	const char *main_path = tier_proc_cgroups_main(&c);
	for (size_t i = 0; i < c.nr; i++) {
		FUZZ_CHECK(c.v[i].path[0] == '/');
		FUZZ_CHECK(c.v[i].hierarchy >= 0 && c.v[i].controllers != NULL);
		found = found || main_path == c.v[i].path;
	}
	FUZZ_CHECK(c.nr == 0 ? main_path == NULL : found);
	tier_proc_cgroups_free(&c);
	return 0;
}
