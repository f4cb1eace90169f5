/* SPDX-License-Identifier: MIT */
/* Pressure relief decisions (pure): see tier/relief.h for the contract. */
#include <tier/relief.h>
#include <tier/pagemap.h>

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

void tier_relief_state_init(struct tier_relief_state *st)
{
	memset(st, 0, sizeof(*st));
}

const char *tier_relief_target_name(enum tier_relief_target t)
{
	switch (t) {
	case TIER_RELIEF_SIBLING:
		return "sibling";
	case TIER_RELIEF_SLOWER:
		return "slower";
	case TIER_RELIEF_FASTER:
		return "faster";
	}
	return "?";
}

void tier_relief_lines(const struct tier_config *c, const struct tier_node *n, uint64_t page_size,
		       uint64_t *start_pages, uint64_t *stop_pages)
{
	uint64_t start = tier_wm_expr_pages(&c->relief_start_at, n, page_size);
	uint64_t stop = tier_wm_expr_pages(&c->relief_stop_at, n, page_size);
	if (stop <= start)
		stop = start == UINT64_MAX ? start : start + 1;
	*start_pages = start;
	*stop_pages = stop;
}

static bool usable_node(const struct tier_node *n)
{
	return n->online && n->has_memory && n->tier >= 0 && n->free_pages != TIER_UNKNOWN &&
	       n->id >= 0 && (unsigned)n->id < TIER_RELIEF_MAX_NODES;
}

bool tier_relief_is_lower_node(const struct tier_snapshot *s, const struct tier_node *n)
{
	if (!s->has_tiering || s->nr_tiers < 2 || !usable_node(n))
		return false;
	return tier_snapshot_tier_index(s, n->tier) > 0;
}

int tier_relief_update(const struct tier_snapshot *s, const struct tier_config *c, struct tier_relief_state *st,
		       struct bitmask *started, struct bitmask *stopped)
{
	bool seen[TIER_RELIEF_MAX_NODES] = { false };
	int best = -1;
	int64_t best_margin = 0;

	if (started)
		tier_bitmask_zero(started);
	if (stopped)
		tier_bitmask_zero(stopped);
	for (int i = 0; i < s->nr_nodes; i++) {
		const struct tier_node *n = &s->nodes[i];
		if (n->id < 0 || (unsigned)n->id >= TIER_RELIEF_MAX_NODES)
			continue;
		seen[n->id] = true;
		bool was = st->active[n->id], now = false;
		if (c->relief_enabled && tier_relief_is_lower_node(s, n)) {
			uint64_t start, stop;
			tier_relief_lines(c, n, s->page_size, &start, &stop);
			now = was ? n->free_pages <= stop : n->free_pages <= start;
			if (now) {
				/* free - start, clamped into int64 */
				int64_t margin = n->free_pages >= start
							 ? (int64_t)(n->free_pages - start > INT64_MAX ? INT64_MAX
												 : n->free_pages - start)
							 : -(int64_t)(start - n->free_pages > INT64_MAX ? INT64_MAX
												  : start - n->free_pages);
				if (best < 0 || margin < best_margin) {
					best = n->id;
					best_margin = margin;
				}
			}
		}
		st->active[n->id] = now;
		if (now && !was && started)
			tier_bitmask_set(started, n->id);
		if (!now && was && stopped)
			tier_bitmask_set(stopped, n->id);
	}
	for (unsigned id = 0; id < TIER_RELIEF_MAX_NODES; id++)
		if (!seen[id] && st->active[id]) {
			st->active[id] = false;
			if (stopped)
				tier_bitmask_set(stopped, (int)id);
		}
	return best;
}

uint64_t tier_relief_room(const struct tier_snapshot *s, const struct tier_config *c, const struct tier_node *t,
			  enum tier_relief_target kind)
{
	uint64_t floor;
	if (!usable_node(t))
		return 0;
	if (kind == TIER_RELIEF_FASTER) {
		uint64_t margin = 0;
		if (t->managed_pages != TIER_UNKNOWN) {
			unsigned __int128 m = (unsigned __int128)t->managed_pages * TIER_RELIEF_FASTER_MARGIN_PERMILLE;
			m = m / 1000 + (m % 1000 != 0);
			margin = m > UINT64_MAX ? UINT64_MAX : (uint64_t)m;
		}
		floor = t->high_pages + margin < t->high_pages ? UINT64_MAX : t->high_pages + margin;
	} else {
		uint64_t start, stop;
		tier_relief_lines(c, t, s->page_size, &start, &stop);
		floor = start > t->low_pages ? start : t->low_pages;
		floor = floor == UINT64_MAX ? floor : floor + 1;
	}
	return t->free_pages > floor ? t->free_pages - floor : 0;
}

static bool flow_live(const struct tier_relief_flow *f, uint64_t now_usec)
{
	return f->until_usec > now_usec;
}

bool tier_relief_flow_blocked(const struct tier_relief_state *st, int from, int to, uint64_t now_usec)
{
	for (unsigned i = 0; i < st->nr_flows; i++)
		if (st->flows[i].from == to && st->flows[i].to == from && flow_live(&st->flows[i], now_usec))
			return true;
	return false;
}

void tier_relief_note_moved(struct tier_relief_state *st, int from, int to, uint64_t now_usec,
			    uint64_t cooldown_usec)
{
	uint64_t until = now_usec + cooldown_usec < now_usec ? UINT64_MAX : now_usec + cooldown_usec;
	unsigned w = 0;
	/* Drop expired flows first, keeping the order. */
	for (unsigned i = 0; i < st->nr_flows; i++)
		if (flow_live(&st->flows[i], now_usec))
			st->flows[w++] = st->flows[i];
	st->nr_flows = w;
	if (cooldown_usec == 0)
		return;
	for (unsigned i = 0; i < st->nr_flows; i++)
		if (st->flows[i].from == from && st->flows[i].to == to) {
			if (until > st->flows[i].until_usec)
				st->flows[i].until_usec = until;
			return;
		}
	unsigned slot = st->nr_flows;
	if (slot == TIER_RELIEF_MAX_FLOWS) {
		slot = 0;
		for (unsigned i = 1; i < st->nr_flows; i++)
			if (st->flows[i].until_usec < st->flows[slot].until_usec)
				slot = i;
	} else {
		st->nr_flows++;
	}
	st->flows[slot] = (struct tier_relief_flow){ .from = from, .to = to, .until_usec = until };
}

void tier_relief_note_enomem(struct tier_relief_state *st, int node, uint64_t now_usec)
{
	if (node < 0 || (unsigned)node >= TIER_RELIEF_MAX_NODES)
		return;
	st->enomem_until_usec[node] = now_usec + TIER_RELIEF_ENOMEM_BACKOFF_USEC;
}

static int distance(const struct tier_node *a, int b)
{
	if (b >= 0 && b < a->nr_distance && a->distance[b] >= 0)
		return a->distance[b];
	return 255; /* unknown: as far as a node can be */
}

int tier_relief_choose_target(const struct tier_snapshot *s, const struct tier_config *c,
			      const struct tier_relief_state *st, int src, const struct bitmask *avoid,
			      const struct bitmask *private_nodes, const struct bitmask *granted,
			      const uint64_t *planned_pages, unsigned nr_planned, uint64_t now_usec,
			      struct tier_relief_choice *out)
{
	const struct tier_node *sn = tier_snapshot_node(s, src);
	out->node = -1;
	out->kind = TIER_RELIEF_SIBLING;
	out->room_pages = 0;
	if (!sn || sn->tier < 0)
		return -ENOSPC;
	int si = tier_snapshot_tier_index(s, sn->tier);
	if (si < 0)
		return -ENOSPC;

	for (unsigned k = 0; k < c->relief_nr_targets; k++) {
		enum tier_relief_target kind = c->relief_targets[k];
		const struct tier_node *best = NULL;
		uint64_t best_room = 0;
		int best_near = 0, best_dist = 0;
		for (int i = 0; i < s->nr_nodes; i++) {
			const struct tier_node *t = &s->nodes[i];
			if (t->id == src || !usable_node(t))
				continue;
			int ti = tier_snapshot_tier_index(s, t->tier);
			if (ti < 0)
				continue;
			/* near: how many tiers away (smaller is nearer). */
			int near;
			if (kind == TIER_RELIEF_SIBLING && ti == si)
				near = 0;
			else if (kind == TIER_RELIEF_SLOWER && ti > si)
				near = ti - si;
			else if (kind == TIER_RELIEF_FASTER && ti < si)
				near = si - ti;
			else
				continue;
			if (avoid && tier_bitmask_isset(avoid, t->id))
				continue;
			if (private_nodes && tier_bitmask_isset(private_nodes, t->id) &&
			    !(granted && tier_bitmask_isset(granted, t->id)))
				continue;
			if (st->enomem_until_usec[t->id] > now_usec)
				continue;
			if (tier_relief_flow_blocked(st, src, t->id, now_usec))
				continue;
			uint64_t room = tier_relief_room(s, c, t, kind);
			uint64_t planned = planned_pages && (unsigned)t->id < nr_planned ? planned_pages[t->id] : 0;
			room = room > planned ? room - planned : 0;
			if (room == 0)
				continue;
			int dist = distance(sn, t->id);
			bool better = !best || near < best_near ||
				      (near == best_near &&
				       (room > best_room || (room == best_room && (dist < best_dist ||
										   (dist == best_dist && t->id < best->id)))));
			if (better) {
				best = t;
				best_room = room;
				best_near = near;
				best_dist = dist;
			}
		}
		if (best) {
			out->node = best->id;
			out->kind = kind;
			out->room_pages = best_room;
			return 0;
		}
	}
	return -ENOSPC;
}

/* ---- victims ---- */

static int cmp_victim(const void *a, const void *b)
{
	const struct tier_relief_victim *x = a, *y = b;
	if (x->pages != y->pages)
		return x->pages > y->pages ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

void tier_relief_sort_victims(struct tier_relief_victim *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_victim);
}

const char *tier_relief_skip_name(enum tier_relief_skip s)
{
	switch (s) {
	case TIER_RELIEF_SKIP_NONE:
		return "none";
	case TIER_RELIEF_SKIP_KTHREAD:
		return "kernel-thread";
	case TIER_RELIEF_SKIP_SELF:
		return "self";
	case TIER_RELIEF_SKIP_EXCLUDED:
		return "excluded";
	case TIER_RELIEF_SKIP_FENCED:
		return "fenced";
	}
	return "?";
}

/* path or one of its ancestors matches glob. */
static bool path_matches(const char *glob, const char *path)
{
	size_t len = strlen(path);
	char *p = malloc(len + 1);
	bool hit = false;
	if (!p)
		return false;
	memcpy(p, path, len + 1);
	/* Strip a trailing slash ("/" stays "/"). */
	while (len > 1 && p[len - 1] == '/')
		p[--len] = '\0';
	for (;;) {
		if (fnmatch(glob, p, FNM_PATHNAME) == 0) {
			hit = true;
			break;
		}
		char *slash = strrchr(p, '/');
		if (!slash || slash == p)
			break;
		*slash = '\0';
	}
	free(p);
	return hit;
}

bool tier_relief_cgroup_excluded(const struct tier_proc_cgroups *cg, char *const *globs, const char **matched)
{
	if (!cg || !globs)
		return false;
	for (char *const *g = globs; *g; g++)
		for (size_t i = 0; i < cg->nr; i++)
			if (path_matches(*g, cg->v[i].path)) {
				if (matched)
					*matched = *g;
				return true;
			}
	return false;
}

enum tier_relief_skip tier_relief_victim_skip(pid_t pid, pid_t self, const struct tier_proc_status *st,
					      const struct tier_proc_cgroups *cg, char *const *exclude_globs,
					      bool fenced)
{
	if (pid == self || (st && st->tgid == self))
		return TIER_RELIEF_SKIP_SELF;
	if (st && (st->kthread || !st->has_mm))
		return TIER_RELIEF_SKIP_KTHREAD;
	if (tier_relief_cgroup_excluded(cg, exclude_globs, NULL))
		return TIER_RELIEF_SKIP_EXCLUDED;
	if (fenced)
		return TIER_RELIEF_SKIP_FENCED;
	return TIER_RELIEF_SKIP_NONE;
}

/* ---- rate ---- */

void tier_bucket_init(struct tier_token_bucket *b, uint64_t rate_bytes_per_sec, uint64_t burst_bytes)
{
	b->rate_bytes_per_sec = rate_bytes_per_sec;
	b->burst_bytes = burst_bytes;
	if (b->tokens_bytes > burst_bytes)
		b->tokens_bytes = burst_bytes;
}

void tier_bucket_refill(struct tier_token_bucket *b, uint64_t now_usec)
{
	if (!b->started) {
		b->started = true;
		b->tokens_bytes = b->burst_bytes;
		b->last_usec = now_usec;
		return;
	}
	if (now_usec <= b->last_usec)
		return;
	uint64_t dt = now_usec - b->last_usec;
	/* Exact: rate * dt in millionths of a byte, the remainder carried. */
	unsigned __int128 total = (unsigned __int128)b->rate_bytes_per_sec * dt + b->rem;
	unsigned __int128 add = total / 1000000u;
	b->rem = (uint64_t)(total % 1000000u);
	b->last_usec = now_usec;
	unsigned __int128 t = (unsigned __int128)b->tokens_bytes + add;
	if (t >= b->burst_bytes) {
		b->tokens_bytes = b->burst_bytes;
		b->rem = 0; /* full: nothing accrues while full */
	} else {
		b->tokens_bytes = (uint64_t)t;
	}
}

uint64_t tier_bucket_allowance(const struct tier_token_bucket *b, uint64_t tick_budget_bytes)
{
	return b->tokens_bytes < tick_budget_bytes ? b->tokens_bytes : tick_budget_bytes;
}

void tier_bucket_take(struct tier_token_bucket *b, uint64_t bytes)
{
	b->tokens_bytes = bytes > b->tokens_bytes ? 0 : b->tokens_bytes - bytes;
}

uint64_t tier_bucket_wait_usec(const struct tier_token_bucket *b, uint64_t want_bytes)
{
	if (want_bytes > b->burst_bytes)
		want_bytes = b->burst_bytes;
	if (b->tokens_bytes >= want_bytes)
		return 0;
	if (b->rate_bytes_per_sec == 0)
		return UINT64_MAX;
	unsigned __int128 need = want_bytes - b->tokens_bytes;
	unsigned __int128 us = (need * 1000000u + b->rate_bytes_per_sec - 1) / b->rate_bytes_per_sec;
	return us > UINT64_MAX ? UINT64_MAX : (uint64_t)us;
}

void tier_rate_window_add(struct tier_rate_window *w, uint64_t now_usec, uint64_t bytes)
{
	uint64_t sec = now_usec / 1000000u;
	unsigned slot = (unsigned)(sec % TIER_RATE_WINDOW_SEC);
	/* sec + 1 is stored so that a zeroed window means "empty". */
	if (w->sec[slot] != sec + 1) {
		w->sec[slot] = sec + 1;
		w->bytes[slot] = 0;
	}
	w->bytes[slot] = w->bytes[slot] + bytes < w->bytes[slot] ? UINT64_MAX : w->bytes[slot] + bytes;
}

uint64_t tier_rate_window_sum(const struct tier_rate_window *w, uint64_t now_usec)
{
	uint64_t sec = now_usec / 1000000u, sum = 0;
	for (unsigned i = 0; i < TIER_RATE_WINDOW_SEC; i++) {
		if (w->sec[i] == 0)
			continue;
		uint64_t s = w->sec[i] - 1;
		if (s <= sec && sec - s < TIER_RATE_WINDOW_SEC)
			sum += w->bytes[i];
	}
	return sum;
}

/* ---- page order ---- */

const char *tier_page_heat_name(enum tier_page_heat h)
{
	switch (h) {
	case TIER_HEAT_COLD:
		return "cold";
	case TIER_HEAT_WARM:
		return "warm";
	case TIER_HEAT_HOT:
		return "hot";
	case TIER_HEAT_NR:
		break;
	}
	return "?";
}

enum tier_page_heat tier_relief_page_heat(const struct tier_page_signals *s)
{
	if (s->have_written && s->written)
		return TIER_HEAT_HOT;
	if (s->have_kpf) {
		if (tier_kpf_has(s->kpf, TIER_KPF_ACTIVE))
			return TIER_HEAT_HOT;
		if (tier_kpf_has(s->kpf, TIER_KPF_IDLE))
			return TIER_HEAT_COLD;
		if (tier_kpf_has(s->kpf, TIER_KPF_REFERENCED))
			return TIER_HEAT_WARM;
	}
	return TIER_HEAT_COLD;
}

enum tier_page_skip tier_relief_page_skip(uint64_t kpf)
{
	if (tier_kpf_has(kpf, TIER_KPF_NOPAGE) || tier_kpf_has(kpf, TIER_KPF_ZERO_PAGE) ||
	    tier_kpf_has(kpf, TIER_KPF_HWPOISON) || tier_kpf_has(kpf, TIER_KPF_OFFLINE) ||
	    tier_kpf_has(kpf, TIER_KPF_SLAB) || tier_kpf_has(kpf, TIER_KPF_BUDDY))
		return TIER_PAGE_SKIP_UNMOVABLE;
	if (tier_kpf_has(kpf, TIER_KPF_MLOCKED))
		return TIER_PAGE_SKIP_MLOCKED;
	if (tier_kpf_has(kpf, TIER_KPF_UNEVICTABLE))
		return TIER_PAGE_SKIP_UNEVICTABLE;
	return TIER_PAGE_SKIP_NONE;
}

void tier_relief_heat_order(enum tier_relief_target kind, enum tier_page_heat order[TIER_HEAT_NR])
{
	bool up = kind == TIER_RELIEF_FASTER;
	order[0] = up ? TIER_HEAT_HOT : TIER_HEAT_COLD;
	order[1] = TIER_HEAT_WARM;
	order[2] = up ? TIER_HEAT_COLD : TIER_HEAT_HOT;
}

bool tier_relief_span_walkable(uint64_t vma_bytes, uint64_t rss_bytes)
{
	unsigned __int128 lim = (unsigned __int128)rss_bytes * TIER_RELIEF_SPARSE_RSS_FACTOR;
	if (lim < TIER_RELIEF_SPARSE_MIN_SPAN_BYTES)
		lim = TIER_RELIEF_SPARSE_MIN_SPAN_BYTES;
	return vma_bytes <= lim;
}

uint64_t tier_relief_victim_estimate(uint64_t rss_pages, uint64_t cg_on_node_bytes, uint64_t cg_total_bytes)
{
	if (cg_total_bytes == 0)
		return rss_pages;
	if (cg_on_node_bytes >= cg_total_bytes)
		return rss_pages;
	unsigned __int128 e = (unsigned __int128)rss_pages * cg_on_node_bytes / cg_total_bytes;
	/* Some of it is there: at least one page, so it stays a candidate. */
	return e == 0 && cg_on_node_bytes ? 1 : (uint64_t)e;
}

static bool victim_before(const struct tier_relief_victim *x, const struct tier_relief_victim *y)
{
	return x->pages != y->pages ? x->pages > y->pages : x->pid < y->pid;
}

void tier_relief_victims_offer(struct tier_relief_victim *v, size_t *n, size_t cap,
			       const struct tier_relief_victim *cand)
{
	if (cap == 0)
		return;
	size_t pos = *n;
	if (*n == cap) {
		if (!victim_before(cand, &v[cap - 1]))
			return;
		pos = cap - 1;    /* drop the last one */
	} else {
		(*n)++;
	}
	while (pos > 0 && victim_before(cand, &v[pos - 1])) {
		v[pos] = v[pos - 1];
		pos--;
	}
	v[pos] = *cand;
}
