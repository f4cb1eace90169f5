/* SPDX-License-Identifier: MIT */
/*
 * Whole configuration loads: tier_config_load() on a main file plus
 * drop-ins.  The input is split at "%%" lines (fuzz.h): the first part is
 * tierd.conf, each further part (at most MAX_DROPINS) a drop-in
 * tierd.conf.d/NN.conf, read in that order.  Files are rewritten in one
 * scratch directory per input; drop-ins of a previous input are removed.
 * Properties (tier/config.h): a failed load returns at least one error,
 * each "FILE:LINE: message" naming one of our files (or the built-in
 * defaults); a successful one returns none.
 */
#include "fuzz.h"

#include <string.h>

#include "tier/config.h"

#define MAX_DROPINS 8

static void check_errors(const struct tier_config_errors *e, const char *dir)
{
	size_t dl = strlen(dir);
	for (unsigned i = 0; i < e->nr; i++) {
		const char *m = e->msgs[i];
		FUZZ_CHECK(m && m[0]);
		FUZZ_CHECK(strncmp(m, dir, dl) == 0 || strncmp(m, "(built-in defaults): ", 21) == 0 ||
			   strcmp(m, "too many errors, the rest are not shown") == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int dirfd = -1, last_dropins;
	static char main_path[4096], dropin_dir[4096];
	if (dirfd < 0) {
		dirfd = fuzz_scratch_fd();
		snprintf(main_path, sizeof(main_path), "%s/tierd.conf", fuzz_scratch_path());
		snprintf(dropin_dir, sizeof(dropin_dir), "%s/tierd.conf.d", fuzz_scratch_path());
		fuzz_put(dirfd, "tierd.conf.d/.keep", "", 0);   /* the directory */
	}
	struct fuzz_part parts[1 + MAX_DROPINS];
	int n = (int)fuzz_split(data, size, parts, 1 + MAX_DROPINS);
	char rel[64];
	fuzz_put(dirfd, "tierd.conf", parts[0].data, parts[0].size);
	for (int i = 1; i < n; i++) {
		snprintf(rel, sizeof(rel), "tierd.conf.d/%02d.conf", i);
		fuzz_put(dirfd, rel, parts[i].data, parts[i].size);
	}
	for (int i = n; i <= last_dropins; i++) {
		snprintf(rel, sizeof(rel), "tierd.conf.d/%02d.conf", i);
		fuzz_remove(dirfd, rel);
	}
	last_dropins = n - 1;

	struct tier_config_errors errs = { 0 };
	struct tier_config *c = tier_config_load(main_path, dropin_dir, false, &errs);
	if (c) {
		fuzz_note("  loaded: %d file(s)", n);
		FUZZ_CHECK(errs.nr == 0);
		tier_config_free(c);
	} else {
		FUZZ_CHECK(errs.nr >= 1);
		fuzz_note("  rejected: %u error(s), first: %s", errs.nr, errs.msgs[0]);
		check_errors(&errs, fuzz_scratch_path());
	}
	tier_config_errors_clear(&errs);
	return 0;
}
