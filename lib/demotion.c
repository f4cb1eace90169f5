/* SPDX-License-Identifier: MIT */
/* The owner's decision for demotion_enabled (contract in tier/demotion.h). */
#include <stdio.h>
#include <string.h>

#include <tier/demotion.h>

const char *tier_demotion_reason_name(enum tier_demotion_reason r)
{
	switch (r) {
	case TIER_DEMOTION_GUARD: return "guard";
	case TIER_DEMOTION_FENCE: return "fence";
	case TIER_DEMOTION_PAUSE: return "pause";
	case TIER_DEMOTION_NR_REASONS: return "admin";
	}
	return NULL;
}

void tier_demotion_init(struct tier_demotion_state *st)
{
	memset(st, 0, sizeof(*st));
	st->original = -1;
	st->written = -1;
}

unsigned tier_demotion_effective(const struct tier_demotion_state *st)
{
	return st->held & ~st->overridden;
}

bool tier_demotion_set(struct tier_demotion_state *st, enum tier_demotion_reason r, bool holds, const char *why,
		       uint64_t now_usec)
{
	if ((unsigned)r >= TIER_DEMOTION_NR_REASONS)
		return false;
	unsigned bit = 1u << r, before = tier_demotion_effective(st);
	bool changed;
	if (holds) {
		changed = !(st->held & bit) || strcmp(st->why[r], why ? why : "") != 0;
		if (!(st->held & bit))
			st->since_usec[r] = now_usec;
		st->held |= bit;
		snprintf(st->why[r], sizeof(st->why[r]), "%s", why ? why : "");
	} else {
		changed = (st->held & bit) != 0;
		/* Dropping a reason ends its override too: the next hold is a
		 * new episode the admin has not seen. */
		st->held &= ~bit;
		st->overridden &= ~bit;
		st->why[r][0] = '\0';
		st->since_usec[r] = 0;
	}
	return changed || before != tier_demotion_effective(st);
}

/* Names of the reasons in set, "guard, fence". */
static void names(unsigned set, char *buf, size_t size)
{
	size_t off = 0;
	buf[0] = '\0';
	for (int r = 0; r < TIER_DEMOTION_NR_REASONS && off < size; r++)
		if (set & (1u << r))
			off += (size_t)snprintf(buf + off, size - off, "%s%s", off ? ", " : "",
						tier_demotion_reason_name((enum tier_demotion_reason)r));
}

void tier_demotion_decide(struct tier_demotion_state *st, int knob, bool dry_run,
			  struct tier_demotion_decision *out)
{
	memset(out, 0, sizeof(*out));
	out->action = TIER_DEMOTION_NONE;
	out->value = -1;
	if (knob < 0) {
		snprintf(out->reason, sizeof(out->reason), "demotion_enabled is unreadable");
		return;
	}
	if (st->original < 0)
		st->original = knob;

	/* A real write that tierd owes the host (a dry run's pretend writes
	 * owe nothing), and what the knob must read if nobody but tierd wrote
	 * it. */
	bool owed = st->written >= 0 && !st->written_dry;
	int expected = owed ? st->written : st->original;
	if (knob != expected) {
		unsigned eff = tier_demotion_effective(st);
		out->action = TIER_DEMOTION_ADOPT;
		out->value = knob;
		if (knob) {
			out->overridden_now = eff;
			st->overridden |= eff;
		}
		char held[64];
		names(out->overridden_now, held, sizeof(held));
		int n = __builtin_popcount(out->overridden_now);
		if (n)
			snprintf(out->reason, sizeof(out->reason),
				 "demotion_enabled changed to %s by someone else (tierd expected %s): the admin's value "
				 "is the new original; %s stand%s down until %s", knob ? "true" : "false",
				 expected ? "true" : "false", held, n > 1 ? "" : "s", n > 1 ? "they clear" : "it clears");
		else
			snprintf(out->reason, sizeof(out->reason),
				 "demotion_enabled changed to %s by someone else (tierd expected %s): the admin's value "
				 "is the new original", knob ? "true" : "false", expected ? "true" : "false");
		st->original = knob;
		st->written = -1;
		st->written_dry = false;
		st->admin_overrides++;
		return;
	}

	unsigned eff = tier_demotion_effective(st);
	/* What the knob is as far as tierd is concerned: in a dry run it never
	 * changes, so compare with what tierd would have made of it. */
	int now = owed || (dry_run && st->written >= 0) ? st->written : knob;
	if (eff) {
		if (now != 0) {
			char held[64];
			names(eff, held, sizeof(held));
			out->action = TIER_DEMOTION_WRITE;
			out->value = 0;
			out->first_write = !owed;
			out->real = !dry_run;
			snprintf(out->reason, sizeof(out->reason), "demotion off (%s): %s", held,
				 st->why[__builtin_ctz(eff)]);
		}
		return;
	}
	if (owed || (dry_run && st->written >= 0)) {
		out->action = TIER_DEMOTION_WRITE;
		out->value = st->original;
		/* Giving back what a live run wrote is no new change: done for
		 * real even after a switch to dry-run. */
		out->real = owed;
		snprintf(out->reason, sizeof(out->reason), "no reason holds demotion off any more: back to %s",
			 st->original ? "true" : "false");
	} else if (st->written >= 0) {
		/* A dry run's pretend write, and the run is live now: the knob
		 * never changed, nothing to give back. */
		st->written = -1;
		st->written_dry = false;
	}
}

void tier_demotion_written(struct tier_demotion_state *st, const struct tier_demotion_decision *dec)
{
	if (dec->action != TIER_DEMOTION_WRITE)
		return;
	if (dec->value == st->original) {
		st->written = -1;
		st->written_dry = false;
	} else {
		st->written = dec->value;
		st->written_dry = !dec->real;
	}
}
