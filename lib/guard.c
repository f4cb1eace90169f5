/* SPDX-License-Identifier: MIT */
/*
 * The demotion guard decision (see tier/guard.h for the contract).  Pure: no
 * I/O, no clock, no logging, no globals.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tier/guard.h>

/* ---- kernel release ---------------------------------------------------- */

/* Up to three leading dot-separated numbers; the first two are required. */
static bool parse_version(const char *s, unsigned long v[3])
{
	v[0] = v[1] = v[2] = 0;
	if (!s)
		return false;
	for (int i = 0; i < 3; i++) {
		if (!isdigit((unsigned char)*s))
			return i >= 2;
		char *end;
		v[i] = strtoul(s, &end, 10);
		s = end;
		if (*s != '.')
			return i >= 1;
		s++;
	}
	return true;
}

bool tier_kernel_release_at_least(const char *release, const char *version)
{
	unsigned long r[3], v[3];
	if (!parse_version(release, r) || !parse_version(version, v))
		return false;
	for (int i = 0; i < 3; i++) {
		if (r[i] != v[i])
			return r[i] > v[i];
	}
	return true;
}

bool tier_kernel_has_demotion_fix(const char *release)
{
	const char *first = TIER_DEMOTION_FIX_FIRST_RELEASE;
	return first ? tier_kernel_release_at_least(release, first) : false;
}

/* ---- state ------------------------------------------------------------- */

void tier_guard_state_init(struct tier_guard_state *st)
{
	memset(st, 0, sizeof(*st));
	st->demoted_global = TIER_UNKNOWN;
	for (unsigned i = 0; i < TIER_GUARD_MAX_NODES; i++) {
		st->free_pages[i] = TIER_UNKNOWN;
		st->demoted_pages[i] = TIER_UNKNOWN;
	}
}

void tier_guard_stand_down(struct tier_guard_state *st)
{
	st->held = false;
	st->held_since_usec = 0;
	st->stood_down = true;
}

const char *tier_guard_action_name(enum tier_guard_action a)
{
	switch (a) {
	case TIER_GUARD_ACT_NONE:
		return "none";
	case TIER_GUARD_ACT_TRIP:
		return "trip";
	case TIER_GUARD_ACT_RELEASE:
		return "release";
	}
	return "?";
}

/* ---- formatting -------------------------------------------------------- */

struct sz {
	char s[32];
};

static struct sz fmt_pages(uint64_t pages, uint64_t page_size)
{
	struct sz r;
	if (pages == TIER_UNKNOWN) {
		snprintf(r.s, sizeof(r.s), "?");
		return r;
	}
	unsigned __int128 b = (unsigned __int128)pages * page_size;
	if (b < (1u << 20))
		snprintf(r.s, sizeof(r.s), "%" PRIu64 " KiB", (uint64_t)(b >> 10));
	else if (b < (1u << 30))
		snprintf(r.s, sizeof(r.s), "%" PRIu64 " MiB", (uint64_t)(b >> 20));
	else
		snprintf(r.s, sizeof(r.s), "%.1f GiB", (double)b / (double)(1u << 30));
	return r;
}

static struct sz fmt_rate(double pages_per_sec, uint64_t page_size)
{
	struct sz r;
	double b = pages_per_sec * (double)page_size;
	if (b < (double)(1u << 30))
		snprintf(r.s, sizeof(r.s), "%.0f MiB/s", b / (double)(1u << 20));
	else
		snprintf(r.s, sizeof(r.s), "%.1f GiB/s", b / (double)(1u << 30));
	return r;
}

static struct sz fmt_usec(uint64_t usec)
{
	struct sz r;
	if (usec < 1000)
		snprintf(r.s, sizeof(r.s), "%" PRIu64 " us", usec);
	else if (usec < 10 * 1000000ull)
		snprintf(r.s, sizeof(r.s), "%" PRIu64 " ms", usec / 1000);
	else
		snprintf(r.s, sizeof(r.s), "%.1f s", (double)usec / 1e6);
	return r;
}

static struct sz fmt_wm(const struct tier_wm_expr *e)
{
	struct sz r;
	tier_wm_expr_format(e, r.s, sizeof(r.s));
	return r;
}

static struct sz fmt_tier(const struct tier_node *n)
{
	struct sz r;
	if (n->tier >= 0)
		snprintf(r.s, sizeof(r.s), "tier %d", n->tier);
	else
		snprintf(r.s, sizeof(r.s), "no tier");
	return r;
}

/* ---- evaluation -------------------------------------------------------- */

static const enum tier_counter demote_counters[] = {
	TIER_PGDEMOTE_KSWAPD, TIER_PGDEMOTE_DIRECT, TIER_PGDEMOTE_KHUGEPAGED, TIER_PGDEMOTE_PROACTIVE,
};

/* Sum of the pgdemote_* counters that are known; TIER_UNKNOWN if none is. */
static uint64_t demoted_sum(const uint64_t counters[TIER_NR_COUNTERS])
{
	uint64_t sum = 0;
	bool any = false;
	for (size_t i = 0; i < sizeof(demote_counters) / sizeof(demote_counters[0]); i++) {
		uint64_t v = counters[demote_counters[i]];
		if (v == TIER_UNKNOWN)
			continue;
		sum += v;
		any = true;
	}
	return any ? sum : TIER_UNKNOWN;
}

/* A node the guard can reason about: present, online, with memory and a
 * known free count. */
static bool node_usable(const struct tier_node *n)
{
	return n && n->online && n->has_memory && n->free_pages != TIER_UNKNOWN;
}

static bool id_in_history(int id)
{
	return id >= 0 && (unsigned)id < TIER_GUARD_MAX_NODES;
}

struct upper_eval {
	const struct tier_node *node;
	int ntargets;
	bool pressure;
	char pressure_why[96];

	/* trip */
	bool all_at_trip;           /* every target free <= trip line */
	const struct tier_node *best;   /* most free pages over the trip line */
	uint64_t best_trip_pages;
	int64_t best_over_trip;
	uint64_t over_trip_pages;   /* H: sum over targets of max(0, free - trip) */

	/* release */
	bool all_above_release;
	const struct tier_node *closest_rel;   /* least margin over the release line */
	uint64_t closest_rel_pages;
	int64_t closest_over_rel;

	/* rates (pages/s) and times (usec) */
	double drain_obs;           /* observed, 0 if unknown or not draining */
	double eta_obs_usec;        /* H / drain_obs, HUGE_VAL if no drain */
	double ttl_usec;            /* time until it could trip, worst case */
};

struct ctx {
	const struct tier_snapshot *s;
	const struct tier_config *c;
	const struct tier_guard_state *prev;
	uint64_t page_size;
	double dt_sec;              /* 0 when no usable previous sample */
	uint64_t demoted_global;
};

static uint64_t trip_line(const struct ctx *x, const struct tier_node *t)
{
	return tier_wm_expr_pages(&x->c->guard_trip_at, t, x->page_size);
}

static uint64_t release_line(const struct ctx *x, const struct tier_node *t)
{
	uint64_t trip = trip_line(x, t);
	uint64_t rel = tier_wm_expr_pages(&x->c->guard_release_at, t, x->page_size);
	/* A release line at or below the trip line would flap. */
	if (rel <= trip)
		rel = trip == UINT64_MAX ? trip : trip + 1;
	return rel;
}

static int64_t over(uint64_t free_pages, uint64_t line)
{
	if (line == TIER_UNKNOWN)
		return INT64_MIN;
	return (int64_t)free_pages - (int64_t)line;
}

/* Did node u demote since the previous sample? */
static bool demote_moved(const struct ctx *x, const struct tier_node *u, uint64_t *delta)
{
	*delta = 0;
	if (x->dt_sec <= 0)
		return false;
	uint64_t cur = demoted_sum(u->counters);
	uint64_t old = id_in_history(u->id) ? x->prev->demoted_pages[u->id] : TIER_UNKNOWN;
	if (cur == TIER_UNKNOWN) {
		/* No per-node counters on this kernel: fall back to the global
		 * ones, which cannot say which node demoted. */
		cur = x->demoted_global;
		old = x->prev->demoted_global;
	}
	if (cur == TIER_UNKNOWN || old == TIER_UNKNOWN || cur < old)
		return false;
	*delta = cur - old;
	return cur > old;
}

/* Returns false if u has no usable demotion targets. */
static bool eval_upper(const struct ctx *x, const struct tier_node *u, struct upper_eval *e)
{
	memset(e, 0, sizeof(*e));
	e->node = u;
	e->all_at_trip = true;
	e->all_above_release = true;
	e->best_over_trip = INT64_MIN;
	e->closest_over_rel = INT64_MAX;
	if (!node_usable(u) || !u->demotion_fallback)
		return false;

	int64_t net_fall = 0;
	bool have_fall = false;
	tier_bitmask_foreach(tid, u->demotion_fallback) {
		if (tid == u->id)
			continue;
		const struct tier_node *t = tier_snapshot_node(x->s, tid);
		if (!node_usable(t))
			continue;       /* offline or absent targets are ignored */
		e->ntargets++;
		uint64_t trip = trip_line(x, t);
		uint64_t rel = release_line(x, t);
		int64_t ot = over(t->free_pages, trip);
		int64_t orl = over(t->free_pages, rel);
		if (ot > 0) {
			e->all_at_trip = false;
			e->over_trip_pages += (uint64_t)ot;
		}
		if (!e->best || ot > e->best_over_trip) {
			e->best = t;
			e->best_trip_pages = trip;
			e->best_over_trip = ot;
		}
		if (orl <= 0)
			e->all_above_release = false;
		if (!e->closest_rel || orl < e->closest_over_rel) {
			e->closest_rel = t;
			e->closest_rel_pages = rel;
			e->closest_over_rel = orl;
		}
		if (x->dt_sec > 0 && id_in_history(tid) && x->prev->free_pages[tid] != TIER_UNKNOWN) {
			net_fall += (int64_t)x->prev->free_pages[tid] - (int64_t)t->free_pages;
			have_fall = true;
		}
	}
	if (e->ntargets == 0)
		return false;

	/* Pressure on the upper node itself. */
	struct sz f = fmt_pages(u->free_pages, x->page_size);
	uint64_t dem = 0;
	if (u->high_pages != TIER_UNKNOWN && u->free_pages <= u->high_pages) {
		struct sz h = fmt_pages(u->high_pages, x->page_size);
		e->pressure = true;
		snprintf(e->pressure_why, sizeof(e->pressure_why), "free %s <= high %s", f.s, h.s);
	} else if (demote_moved(x, u, &dem)) {
		e->pressure = true;
		snprintf(e->pressure_why, sizeof(e->pressure_why), "%" PRIu64 " pages demoted since the last check", dem);
	}

	/* Rates. */
	double drain = 0;
	if (have_fall && net_fall > 0)
		drain = (double)net_fall / x->dt_sec;
	if (x->dt_sec > 0) {
		uint64_t d = 0;
		demote_moved(x, u, &d);
		double dr = (double)d / x->dt_sec;
		if (dr > drain)
			drain = dr;
	}
	e->drain_obs = drain;
	e->eta_obs_usec = drain > 0 ? (double)e->over_trip_pages / drain * 1e6 : HUGE_VAL;

	double worst = (double)TIER_GUARD_FILL_BYTES_PER_SEC / (double)x->page_size;
	double ttl_targets = (double)e->over_trip_pages / (drain > worst ? drain : worst) * 1e6;
	double ttl_upper = 0;
	if (!e->pressure && u->high_pages != TIER_UNKNOWN) {
		double fall = worst;
		if (x->dt_sec > 0 && id_in_history(u->id) && x->prev->free_pages[u->id] != TIER_UNKNOWN &&
		    x->prev->free_pages[u->id] > u->free_pages) {
			double obs = (double)(x->prev->free_pages[u->id] - u->free_pages) / x->dt_sec;
			if (obs > fall)
				fall = obs;
		}
		ttl_upper = (double)(u->free_pages - u->high_pages) / fall * 1e6;
	}
	e->ttl_usec = ttl_targets > ttl_upper ? ttl_targets : ttl_upper;
	return true;
}

/* ---- the decision ------------------------------------------------------ */

static void clear_out(struct tier_guard_decision *out)
{
	memset(out, 0, sizeof(*out));
	out->action = TIER_GUARD_ACT_NONE;
	out->upper_node = -1;
	out->target_node = -1;
	out->eta_usec = TIER_UNKNOWN;
}

__attribute__((format(printf, 2, 3)))
static void set_reason(struct tier_guard_decision *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

static void set_quiet(struct tier_guard_decision *out, const char *why)
{
	snprintf(out->quiet_reason, sizeof(out->quiet_reason), "%s", why);
	snprintf(out->reason, sizeof(out->reason), "%s", why);
}

static void take_sample(const struct tier_snapshot *s, uint64_t now_usec, struct tier_guard_state *st)
{
	st->have_sample = true;
	st->sample_usec = now_usec;
	st->demoted_global = demoted_sum(s->counters);
	for (unsigned i = 0; i < TIER_GUARD_MAX_NODES; i++) {
		st->free_pages[i] = TIER_UNKNOWN;
		st->demoted_pages[i] = TIER_UNKNOWN;
	}
	for (int i = 0; i < s->nr_nodes; i++) {
		const struct tier_node *n = &s->nodes[i];
		if (!id_in_history(n->id))
			continue;
		st->free_pages[n->id] = node_usable(n) ? n->free_pages : TIER_UNKNOWN;
		st->demoted_pages[n->id] = demoted_sum(n->counters);
	}
}

static uint64_t clamp_u64(double v, uint64_t lo, uint64_t hi)
{
	if (hi < lo)
		hi = lo;
	if (!(v >= (double)lo))   /* also NaN */
		return lo;
	if (v >= (double)hi)
		return hi;
	return (uint64_t)v;
}

/* The guard's own reason for not guarding at all, or NULL. */
static const char *why_nothing_to_guard(const struct tier_snapshot *s, int nr_upper)
{
	if (s->has_tiering && s->nr_tiers < 2)
		return s->nr_tiers == 1 ? "one memory tier: nothing to guard"
					: "no memory tiers: nothing to guard";
	if (nr_upper == 0)
		return "no node has a demotion target: nothing to guard";
	return NULL;
}

static void release(struct tier_guard_state *st, struct tier_guard_decision *out, const char *why)
{
	out->action = TIER_GUARD_ACT_RELEASE;
	set_reason(out, "%s; the guard no longer holds demotion off", why);
	st->held = false;
	st->stood_down = false;
}

static void set_pair(struct tier_guard_decision *out, const struct tier_node *u, const struct tier_node *t,
		     uint64_t line)
{
	out->upper_node = u->id;
	out->target_node = t->id;
	out->free_pages = t->free_pages;
	out->line_pages = line;
}

/* Decide while tierd holds the knob. */
static void decide_held(const struct ctx *x, const char *nothing, bool all_above_release,
			const struct upper_eval *cr, uint64_t now_usec, bool kernel_fixed,
			struct tier_guard_state *st, struct tier_guard_decision *out)
{
	const struct tier_config *c = x->c;
	struct sz rl = fmt_wm(&c->guard_release_at);

	if (c->guard_mode == TIER_GUARD_OFF) {
		release(st, out, "guard mode is off");
		return;
	}
	if (c->guard_mode == TIER_GUARD_AUTO && kernel_fixed) {
		release(st, out, "the kernel carries the demotion fix (mode auto)");
		return;
	}
	if (nothing) {
		release(st, out, nothing);
		return;
	}

	uint64_t held_for = now_usec >= st->held_since_usec ? now_usec - st->held_since_usec : 0;
	uint64_t left = held_for < c->guard_min_hold_usec ? c->guard_min_hold_usec - held_for : 0;
	const struct tier_node *t = cr->closest_rel;
	struct sz hf = fmt_usec(held_for);
	struct sz tf = fmt_pages(t->free_pages, x->page_size);
	struct sz tl = fmt_pages(cr->closest_rel_pages, x->page_size);
	struct sz tt = fmt_tier(t);
	set_pair(out, cr->node, t, cr->closest_rel_pages);

	if (all_above_release && !left) {
		char why[TIER_GUARD_REASON_MAX];
		snprintf(why, sizeof(why), "node %d (%s) free %s > %s %s: every demotion target is above "
			 "the release line (held %s)", t->id, tt.s, tf.s, rl.s, tl.s, hf.s);
		release(st, out, why);
		return;
	}
	if (all_above_release) {
		struct sz lf = fmt_usec(left);
		set_reason(out, "holding demotion off for %s: every demotion target is above %s, "
			   "minimum hold ends in %s", hf.s, rl.s, lf.s);
	} else {
		set_reason(out, "holding demotion off for %s: node %d (%s) free %s <= %s %s",
			   hf.s, t->id, tt.s, tf.s, rl.s, tl.s);
	}
	/* Wake up when the minimum hold ends rather than a full interval later. */
	if (left && left < out->next_interval_usec)
		out->next_interval_usec = left > c->min_interval_usec ? left : c->min_interval_usec;
}

static void trip(const struct ctx *x, const struct upper_eval *e, struct tier_guard_decision *out)
{
	const struct tier_node *t = e->best;
	struct sz tf = fmt_pages(t->free_pages, x->page_size);
	struct sz tl = fmt_pages(e->best_trip_pages, x->page_size);
	struct sz wl = fmt_wm(&x->c->guard_trip_at);
	struct sz tt = fmt_tier(t);
	out->action = TIER_GUARD_ACT_TRIP;
	set_pair(out, e->node, t, e->best_trip_pages);
	if (e->ntargets == 1)
		set_reason(out, "node %d (%s) free %s <= %s %s: the only demotion target of node %d, "
			   "which is under reclaim (%s); demotion off", t->id, tt.s, tf.s, wl.s, tl.s,
			   e->node->id, e->pressure_why);
	else
		set_reason(out, "node %d (%s) free %s <= %s %s: no demotion target of node %d has room "
			   "(%d targets, this one has the most) and node %d is under reclaim (%s); "
			   "demotion off", t->id, tt.s, tf.s, wl.s, tl.s, e->node->id, e->ntargets,
			   e->node->id, e->pressure_why);
}

static void trip_predicted(const struct ctx *x, const struct upper_eval *e, uint64_t interval,
			   struct tier_guard_decision *out)
{
	const struct tier_node *t = e->best;
	struct sz tf = fmt_pages(t->free_pages, x->page_size);
	struct sz tl = fmt_pages(e->best_trip_pages, x->page_size);
	struct sz wl = fmt_wm(&x->c->guard_trip_at);
	struct sz tt = fmt_tier(t);
	struct sz rate = fmt_rate(e->drain_obs, x->page_size);
	uint64_t eta = (uint64_t)e->eta_obs_usec;
	struct sz ef = fmt_usec(eta);
	struct sz nf = fmt_usec(interval);
	out->action = TIER_GUARD_ACT_TRIP;
	out->predicted = true;
	out->eta_usec = eta;
	set_pair(out, e->node, t, e->best_trip_pages);
	set_reason(out, "predicted: node %d (%s) free %s, %s %s: the demotion targets of node %d lose %s "
		   "and reach the line in ~%s, before the next check in %s; node %d is under reclaim "
		   "(%s); demotion off", t->id, tt.s, tf.s, wl.s, tl.s, e->node->id, rate.s, ef.s, nf.s,
		   e->node->id, e->pressure_why);
}

void tier_guard_decide(const struct tier_snapshot *s, const struct tier_config *c,
		       const struct tier_guard_state *prev, uint64_t now_usec, bool kernel_fixed,
		       struct tier_guard_state *next, struct tier_guard_decision *out)
{
	/*
	 * next may alias prev.  That is safe because everything below reads
	 * prev's sample (free_pages, demoted_*, sample_usec, last_interval)
	 * before take_sample() overwrites it at the end, and the hold fields
	 * are only read from and written to `st`.
	 */
	struct tier_guard_state *st = next;
	if (!prev)
		tier_guard_state_init(st);
	else if (prev != next)
		memcpy(st, prev, sizeof(*st));
	prev = st;

	clear_out(out);
	struct ctx x = {
		.s = s,
		.c = c,
		.prev = prev,
		.page_size = s->page_size ? s->page_size : 4096,
		.demoted_global = demoted_sum(s->counters),
	};
	if (prev->have_sample && now_usec > prev->sample_usec)
		x.dt_sec = (double)(now_usec - prev->sample_usec) / 1e6;
	uint64_t prev_interval = prev->last_interval_usec;

	/* One pass over the upper nodes (ascending id: the snapshot is
	 * sorted), keeping only the evaluations the decision needs. */
	int nr_upper = 0;
	bool all_above_release = true;
	struct upper_eval e = { 0 }, closest_rel = { 0 }, first_trip = { 0 }, watch = { 0 };
	bool have_trip = false;
	for (int i = 0; i < s->nr_nodes; i++) {
		if (!eval_upper(&x, &s->nodes[i], &e))
			continue;
		if (!e.all_above_release)
			all_above_release = false;
		if (!nr_upper || e.closest_over_rel < closest_rel.closest_over_rel)
			closest_rel = e;
		if (!nr_upper || e.ttl_usec < watch.ttl_usec)
			watch = e;
		if (!have_trip && e.pressure && e.all_at_trip) {
			first_trip = e;
			have_trip = true;
		}
		nr_upper++;
	}
	const char *nothing = why_nothing_to_guard(s, nr_upper);
	out->next_interval_usec = c->interval_usec;

	if (st->held) {
		decide_held(&x, nothing, all_above_release, &closest_rel, now_usec, kernel_fixed, st, out);
		/* Just released: the targets are right above the release line,
		 * and the next trip may be one fill away.  Poll as a watcher
		 * would, not a whole interval later. */
		if (out->action == TIER_GUARD_ACT_RELEASE && !nothing && nr_upper)
			out->next_interval_usec = clamp_u64(watch.ttl_usec, c->min_interval_usec, c->max_interval_usec);
		goto done;
	}

	/* Not holding: reasons to stay quiet. */
	if (c->guard_mode == TIER_GUARD_OFF) {
		set_quiet(out, "guard mode is off");
		goto done;
	}
	if (c->guard_mode == TIER_GUARD_AUTO && kernel_fixed) {
		set_quiet(out, "the kernel carries the demotion fix (mode auto)");
		goto done;
	}
	if (nothing) {
		set_quiet(out, nothing);
		goto done;
	}
	if (s->demotion_enabled < 0) {
		set_quiet(out, "demotion_enabled is unreadable: nothing to guard");
		goto done;
	}
	if (s->demotion_enabled == 0) {
		set_quiet(out, "demotion is off by the admin's choice (demotion_enabled=false without tierd)");
		goto done;
	}
	if (st->stood_down) {
		if (!all_above_release) {
			struct sz rl = fmt_wm(&c->guard_release_at);
			char why[TIER_GUARD_REASON_MAX];
			snprintf(why, sizeof(why), "stood down: the admin re-enabled demotion while the guard held it off; "
				 "the guard re-arms when every demotion target is above %s", rl.s);
			set_quiet(out, why);
			goto done;
		}
		st->stood_down = false;    /* the episode is over: re-arm */
	}

	/* Polling interval: the soonest any upper node could trip, growing
	 * back at most 2x per tick after a dip. */
	uint64_t interval = clamp_u64(watch.ttl_usec, c->min_interval_usec, c->max_interval_usec);
	if (prev_interval && interval / 2 > prev_interval) {
		interval = 2 * prev_interval;
		if (interval < c->min_interval_usec)
			interval = c->min_interval_usec;
	}

	if (have_trip) {
		trip(&x, &first_trip, out);
	} else if (c->guard_predict) {
		/* Second pass: the first upper node whose observed slope
		 * reaches the line before the next check. */
		for (int i = 0; i < s->nr_nodes; i++) {
			if (!eval_upper(&x, &s->nodes[i], &e))
				continue;
			if (e.pressure && !e.all_at_trip && e.eta_obs_usec <= (double)interval) {
				trip_predicted(&x, &e, interval, out);
				break;
			}
		}
	}

	if (out->action == TIER_GUARD_ACT_TRIP) {
		st->held = true;
		st->held_since_usec = now_usec;
		out->next_interval_usec = c->interval_usec;
	} else {
		const struct tier_node *t = watch.best;
		struct sz tf = fmt_pages(t->free_pages, x.page_size);
		struct sz tl = fmt_pages(watch.best_trip_pages, x.page_size);
		struct sz wl = fmt_wm(&c->guard_trip_at);
		struct sz tt = fmt_tier(t);
		struct sz nf = fmt_usec(interval);
		set_pair(out, watch.node, t, watch.best_trip_pages);
		out->next_interval_usec = interval;
		set_reason(out, "watching: node %d (%s) free %s, %s %s, best demotion target of node %d (%s); "
			   "next check in %s", t->id, tt.s, tf.s, wl.s, tl.s, watch.node->id,
			   watch.pressure ? watch.pressure_why : "not under reclaim", nf.s);
	}

done:
	st->last_interval_usec = out->next_interval_usec;
	take_sample(s, now_usec, st);
}
