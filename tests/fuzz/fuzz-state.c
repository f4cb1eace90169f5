/* SPDX-License-Identifier: MIT */
/*
 * The state file a crashed tierd left behind: tier_state_load_at() on the
 * input as /run/tierd/state.json, then the round trip the restart relies
 * on: what loaded saves (tier_state_save_at), and loading that file gives
 * the same entries, in the same order (abort() if not).  A failed load has
 * a message naming the file and returns no state.
 */
#include "fuzz.h"

#include <errno.h>
#include <string.h>

#include "tier/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int dirfd = fuzz_scratch_fd();
	fuzz_put(dirfd, "state.json", data, size);

	struct tier_state *st = NULL, *back = NULL;
	char err[512] = "";
	int r = tier_state_load_at(dirfd, "state.json", &st, err, sizeof(err));
	if (r < 0) {
		fuzz_note("  rejected: %s", err);
		FUZZ_CHECK(st == NULL);
		FUZZ_CHECK(strncmp(err, "state.json: ", 12) == 0);
		return 0;
	}
	FUZZ_CHECK(r == 0 && st != NULL && st->pid > 0);
	fuzz_note("  loaded: %zu entries, round trip checked", st->nr);

	FUZZ_CHECK(tier_state_save_at(dirfd, "saved.json", st) == 0);
	r = tier_state_load_at(dirfd, "saved.json", &back, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "reload of the saved state failed: %s\n", err);
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(back->nr == st->nr);
	for (size_t i = 0; i < st->nr; i++) {
		const struct tier_state_entry *a = &st->entries[i], *b = &back->entries[i];
		FUZZ_CHECK(a->kind == b->kind);
		FUZZ_CHECK(strcmp(a->key, b->key) == 0);
		FUZZ_CHECK(strcmp(a->original, b->original) == 0);
		FUZZ_CHECK(a->recorded_usec == b->recorded_usec);
		FUZZ_CHECK(tier_state_find(back, a->kind, a->key) == b);
	}
	tier_state_free(back);
	tier_state_free(st);
	return 0;
}
