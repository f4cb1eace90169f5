/* SPDX-License-Identifier: MIT */
/*
 * /proc/PID/status of any process: tier_proc_status_parse().  Properties:
 * a parsed status has a terminated name and a node mask; a failure is
 * -EINVAL and leaves the struct all zero (tier/procmaps.h), so no field is
 * copied from an unset variable or left half-parsed.
 */
#include "fuzz.h"

#include <errno.h>
#include <string.h>

#include "tier/procmaps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	static const struct tier_proc_status zero;
	struct tier_proc_status st;
	memset(&st, 0xa5, sizeof(st));
	int r = tier_proc_status_parse(text, &st);
	free(text);
	if (r < 0) {
		fuzz_note("  rejected: %d", r);
		FUZZ_CHECK(r == -EINVAL);
		FUZZ_CHECK(memcmp(&st, &zero, sizeof(st)) == 0);
		return 0;
	}
	fuzz_note("  parsed: %s, tgid %d", st.name, (int)st.tgid);
	FUZZ_CHECK(memchr(st.name, '\0', sizeof(st.name)) != NULL);
	FUZZ_CHECK(st.mems_allowed != NULL);
	FUZZ_CHECK(st.tgid >= 0);
	tier_proc_status_free(&st);
	return 0;
}
