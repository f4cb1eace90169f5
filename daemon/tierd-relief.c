/* SPDX-License-Identifier: MIT */
/*
 * Pressure relief in the daemon: the policy is lib/relief.c (when, where to,
 * which processes first, how fast); this file finds the pages and moves
 * them with move_pages(2) through the ops table.
 *
 * Page order: by VMA, in address order.  Cold pages first would be better,
 * but the kernel's cheap signal for that (idle page tracking,
 * /sys/kernel/mm/page_idle/bitmap) needs CONFIG_IDLE_PAGE_TRACKING, PFNs from
 * /proc/PID/pagemap and a marking pass one interval earlier; it is not used
 * (yet), and status says so.
 */
#include <errno.h>
#include <inttypes.h>
#include <numaif.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tier/relief.h>
#include "tierd.h"
#include "tierd-log.h"
#include <tier/fence.h>
#include "tierd-relief.h"

/* Victims are rescanned (a walk over every /proc/PID/numa_maps, which walks
 * page tables: not free) at most this often while a node stays pressured;
 * in dry-run, where nothing changes, much less often. */
#define RELIEF_RESCAN_USEC (2ull * 1000000ull)
#define RELIEF_RESCAN_DRY_USEC (60ull * 1000000ull)
#define RELIEF_MAX_VICTIMS 64

const char *tierd_relief_fail_name(enum tierd_relief_fail f)
{
	static const char *const names[TIERD_RF_NR] = {
		[TIERD_RF_BUSY] = "busy",         [TIERD_RF_NOMEM] = "target_full",
		[TIERD_RF_CPUSET] = "not_in_cpuset", [TIERD_RF_SHARED] = "shared_page",
		[TIERD_RF_FAULT] = "fault",       [TIERD_RF_NOENT] = "not_present",
		[TIERD_RF_UNTRIED] = "not_attempted", [TIERD_RF_ELSEWHERE] = "elsewhere",
		[TIERD_RF_EXITED] = "process_exited", [TIERD_RF_PERM] = "permission",
		[TIERD_RF_OTHER] = "other",
	};
	return (unsigned)f < TIERD_RF_NR ? names[f] : "?";
}

/* ---- the mover ---- */

static int mover_grow(struct tierd_mover *m, size_t n)
{
	if (n <= m->cap)
		return 0;
	void **p = realloc(m->pages, n * sizeof(*p));
	if (p)
		m->pages = p;
	void **q = realloc(m->qpages, n * sizeof(*q));
	if (q)
		m->qpages = q;
	int *a = realloc(m->nodes, n * sizeof(*a));
	if (a)
		m->nodes = a;
	int *b = realloc(m->status, n * sizeof(*b));
	if (b)
		m->status = b;
	int *c = realloc(m->qstatus, n * sizeof(*c));
	if (c)
		m->qstatus = c;
	uint32_t *w = realloc(m->weight, n * sizeof(*w));
	if (w)
		m->weight = w;
	if (!p || !q || !a || !b || !c || !w)
		return -ENOMEM;
	m->cap = n;
	return 0;
}

void tierd_mover_free(struct tierd_mover *m)
{
	free(m->pages);
	free(m->qpages);
	free(m->nodes);
	free(m->status);
	free(m->qstatus);
	free(m->weight);
	m->pages = m->qpages = NULL;
	m->nodes = m->status = m->qstatus = NULL;
	m->weight = NULL;
	m->cap = 0;
}

static uint64_t mono_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Pages still -EBUSY after a move: a THP is migrated whole when its first
 * subpage is queued, and the kernel answers -EBUSY for the other subpages
 * (already isolated).  Ask where they are now, so they count as moved, not
 * as busy.  Returns the weight found on target. */
static uint64_t recheck_busy(struct tierd_mover *m, pid_t pid, void **pages, const int *status,
			     const uint32_t *weight, size_t n, int target)
{
	size_t k = 0;
	uint64_t moved = 0;
	for (size_t i = 0; i < n && k < m->cap; i++)
		if (status[i] == -EBUSY) {
			m->qpages[k] = pages[i];
			m->qstatus[k] = TIERD_RELIEF_SENTINEL;
			/* weights of the rechecked pages, kept in nodes[] (free now) */
			m->nodes[k] = (int)weight[i];
			k++;
		}
	if (k == 0)
		return 0;
	m->query_calls++;
	if (m->ops->move_pages(pid, k, m->qpages, NULL, m->qstatus, 0) < 0)
		return 0;
	for (size_t i = 0; i < k; i++)
		if (m->qstatus[i] == target)
			moved += (uint64_t)m->nodes[i];
	m->busy_rechecked += moved;
	return moved;
}

/*
 * Move pending pages [0, n) (addresses in m->pages, weights in m->weight),
 * one move_pages call per target.  Returns 0 when all were handed to the
 * kernel, or -ENOSPC (no target with room), -ESRCH, -EPERM, another -errno;
 * *done is how many of the n were handled either way.
 */
static int mover_flush(struct tierd_mover *m, pid_t pid, int src, size_t n, struct bitmask *avoid,
		       struct tierd_mover_result *res, size_t *done)
{
	size_t off = 0;
	*done = 0;
	while (off < n) {
		uint64_t room = 0;
		int t = m->choose(m->ctx, src, avoid, &room);
		if (t < 0 || room == 0)
			return -ENOSPC;
		/* The pages that fit the target's room. */
		size_t cnt = 0;
		uint64_t w = 0;
		while (off + cnt < n && w + m->weight[off + cnt] <= room) {
			w += m->weight[off + cnt];
			cnt++;
		}
		if (cnt == 0)
			return -ENOSPC;
		res->last_target = t;
		if (m->dry_run) {
			res->attempted_pages += w;
			res->moved_pages += w;
			m->moved(m->ctx, src, t, w, true);
			off += cnt;
			*done = off;
			continue;
		}
		void **pages = m->pages + off;
		int *status = m->status + off;
		uint32_t *weight = m->weight + off;
		/* One target per call: a call-level error (EACCES, ENOMEM) is then
		 * about that target, without guessing from the statuses. */
		for (size_t i = 0; i < cnt; i++) {
			m->nodes[i] = t;
			status[i] = TIERD_RELIEF_SENTINEL;
		}
		uint64_t t0 = mono_usec();
		long r = m->ops->move_pages(pid, cnt, pages, m->nodes, status, m->flags);
		m->move_usec += mono_usec() - t0;
		m->move_calls++;
		if (r == -ESRCH || r == -EPERM)
			return (int)r;
		bool retry = false;
		if (r == -EACCES) {
			/* The target is outside the task's cpuset.mems (checked
			 * per page before queueing it): another target for this
			 * process.  Pages before the failing one were moved (the
			 * kernel flushes what it had queued). */
			m->fail[TIERD_RF_CPUSET]++;
			tier_bitmask_set(avoid, t);
			retry = true;
		} else if (r == -ENOMEM) {
			m->fail[TIERD_RF_NOMEM]++;
			m->enomem(m->ctx, t);
			retry = true;
		} else if (r < 0 && r != -EBUSY && r != -EAGAIN) {
			return (int)r;
		}
		uint64_t moved = 0, busy = 0, again_w = 0;
		bool nomem = false;
		size_t again = 0;
		for (size_t i = 0; i < cnt; i++) {
			int s = status[i];
			enum tierd_relief_fail f;
			if (s == t) {
				moved += weight[i];
				continue;
			}
			if (s == TIERD_RELIEF_SENTINEL && retry) {
				/* Not reached before the call failed: to another
				 * target, now (compacted to the front). */
				pages[again] = pages[i];
				weight[again] = weight[i];
				again++;
				again_w += weight[i];
				continue;
			}
			if (s == TIERD_RELIEF_SENTINEL)
				f = TIERD_RF_UNTRIED;
			else if (s >= 0)
				f = TIERD_RF_ELSEWHERE;
			else if (s == -EBUSY) {
				busy += weight[i];
				continue;
			} else if (s == -ENOMEM) {
				f = TIERD_RF_NOMEM;
				nomem = true;
			} else if (s == -EACCES)
				f = TIERD_RF_SHARED;
			else if (s == -EFAULT)
				f = TIERD_RF_FAULT;
			else if (s == -ENOENT)
				f = TIERD_RF_NOENT;
			else
				f = TIERD_RF_OTHER;
			m->fail[f] += weight[i];
		}
		if (busy) {
			/* retry-compaction above only rewrote entries that are
			 * not -EBUSY at indexes < again: the busy ones are intact
			 * when no retry happened, and rechecked only then. */
			uint64_t b = retry ? 0 : recheck_busy(m, pid, pages, status, weight, cnt, t);
			moved += b;
			m->fail[TIERD_RF_BUSY] += busy - b;
		}
		if (nomem && r != -ENOMEM)
			m->enomem(m->ctx, t);
		res->attempted_pages += w - again_w;
		if (moved) {
			res->moved_pages += moved;
			m->moved_pages += moved;
			m->moved(m->ctx, src, t, moved, false);
		}
		if (again) {
			/* Put the retried pages right before off + cnt and go on
			 * from there with another target. */
			memmove(pages + (cnt - again), pages, again * sizeof(*pages));
			memmove(weight + (cnt - again), weight, again * sizeof(*weight));
			off += cnt - again;
		} else {
			off += cnt;
		}
		*done = off;
	}
	return 0;
}

int tierd_mover_run(struct tierd_mover *m, pid_t pid, int src, uint64_t max_pages, uint64_t *cursor,
		    struct bitmask *avoid, struct tierd_mover_result *res)
{
	struct tier_numa_maps nm;
	struct tier_maps maps;
	size_t batch = m->batch_pages ? m->batch_pages : 512;
	int r;

	memset(res, 0, sizeof(*res));
	res->last_target = -1;
	if (mover_grow(m, batch) < 0)
		return -ENOMEM;
	r = tier_proc_read_numa_maps(m->rootfd, pid, m->page_size, &nm);
	if (r == -ENOENT || r == -ESRCH)
		return -ESRCH;
	if (r < 0)
		return r;
	r = tier_proc_read_maps(m->rootfd, pid, &maps);
	if (r < 0) {
		tier_numa_maps_free(&nm);
		return r == -ENOENT ? -ESRCH : r;
	}

	size_t pending = 0;
	bool budget_hit = false;
	r = 0;
	for (size_t vi = 0; vi < nm.nr_vmas && !budget_hit && r == 0; vi++) {
		const struct tier_numa_maps_vma *nv = &nm.vmas[vi];
		if (tier_numa_maps_vma_node_pages(nv, src) == 0)
			continue;
		const struct tier_vma *v = tier_maps_find(&maps, nv->start);
		if (!v || tier_vma_unmovable(v) || v->end <= *cursor)
			continue;
		uint64_t vend = v->end, lo = *cursor;
		if (m->range_end) {
			if (v->end <= m->range_start || v->start >= m->range_end)
				continue;
			if (vend > m->range_end)
				vend = m->range_end;
			if (lo < m->range_start)
				lo = m->range_start;
		}
		uint64_t step = nv->kpage_bytes >= m->page_size ? nv->kpage_bytes : m->page_size;
		uint32_t wgt = (uint32_t)(step / m->page_size);
		uint64_t a = v->start > lo ? v->start : lo;
		a = v->start + (a - v->start + step - 1) / step * step;
		while (a < vend && r == 0 && !budget_hit) {
			/* Query a chunk of addresses: where are they? */
			size_t q = 0;
			uint64_t qa = a;
			while (q < batch && qa < vend) {
				m->qpages[q] = (void *)(uintptr_t)qa;
				m->qstatus[q] = TIERD_RELIEF_SENTINEL;
				q++;
				qa += step;
			}
			m->query_calls++;
			long qr = m->ops->move_pages(pid, q, m->qpages, NULL, m->qstatus, 0);
			if (qr < 0) {
				r = qr == -ESRCH ? -ESRCH : qr == -EPERM ? -EPERM : (int)qr;
				break;
			}
			size_t i;
			for (i = 0; i < q; i++) {
				if (m->qstatus[i] != src)
					continue;
				/* (one page always fits: a huge page larger than
				 * a small budget must still make progress) */
				if (res->found_pages > 0 && res->found_pages + wgt > max_pages) {
					budget_hit = true;
					break;
				}
				m->pages[pending] = m->qpages[i];
				m->weight[pending] = wgt;
				pending++;
				res->found_pages += wgt;
				if (pending == batch) {
					size_t done;
					r = mover_flush(m, pid, src, pending, avoid, res, &done);
					if (r < 0) {
						/* resume at the first page not handled */
						*cursor = done < pending ? (uint64_t)(uintptr_t)m->pages[done]
									 : (uint64_t)(uintptr_t)m->qpages[i] + step;
						pending = 0;
						break;
					}
					pending = 0;
				}
			}
			if (r < 0)
				break;
			/* Next address to look at. */
			a = budget_hit ? (uint64_t)(uintptr_t)m->qpages[i] : qa;
			*cursor = a;
		}
	}
	if (r == 0 && pending) {
		size_t done;
		r = mover_flush(m, pid, src, pending, avoid, res, &done);
		if (r < 0 && done < pending)
			*cursor = (uint64_t)(uintptr_t)m->pages[done];
	}
	if (r == -ESRCH)
		m->fail[TIERD_RF_EXITED]++;
	if (r == -EPERM)
		m->fail[TIERD_RF_PERM]++;
	tier_numa_maps_free(&nm);
	tier_maps_free(&maps);
	if (r < 0)
		return r;
	if (budget_hit)
		return 1;
	return 0;
}

/* ---- the daemon glue ---- */

struct relief_victim {
	pid_t pid;
	uint64_t pages;          /* on the node at scan time */
	uint64_t moved_pages;
	char comm[16];
};

struct tierd_relief {
	struct tier_relief_state st;
	struct tier_token_bucket bucket;
	struct tier_rate_window window;
	struct tierd_mover mover;

	int src;                 /* node relieved now, -1 */
	struct relief_victim *victims;
	size_t nr_victims, cur;
	uint64_t cursor;         /* address to resume at in the current victim */
	struct bitmask *avoid;   /* of the current victim */
	uint64_t scanned_usec;
	bool scanned;
	uint64_t skipped[5];     /* by enum tier_relief_skip */

	uint64_t planned[TIER_RELIEF_MAX_NODES];   /* this tick */
	uint64_t moved_off_bytes[TIER_RELIEF_MAX_NODES], moved_on_bytes[TIER_RELIEF_MAX_NODES];
	uint64_t now_usec;
	struct tierd *d;

	uint64_t episodes, moved_bytes_total, planned_bytes_total;
	uint64_t last_tick_allowance_bytes, last_tick_moved_bytes;
	char state[128];
	char last[256];
	bool no_target;
};

static int relief_choose(void *ctx, int src, const struct bitmask *avoid, uint64_t *room)
{
	struct tierd_relief *R = ctx;
	struct tier_relief_choice ch;
	if (tier_relief_choose_target(R->d->snap, R->d->config, &R->st, src, avoid, R->planned,
				      TIER_RELIEF_MAX_NODES, R->now_usec, &ch) < 0) {
		*room = 0;
		return -1;
	}
	*room = ch.room_pages;
	return ch.node;
}

static void relief_moved(void *ctx, int src, int dst, uint64_t pages, bool dry)
{
	struct tierd_relief *R = ctx;
	uint64_t bytes = pages * R->mover.page_size;
	if (dst >= 0 && (unsigned)dst < TIER_RELIEF_MAX_NODES)
		R->planned[dst] += pages;
	if (dry) {
		R->planned_bytes_total += bytes;
		return;
	}
	tier_relief_note_moved(&R->st, src, dst, R->now_usec, R->d->config->relief_cooldown_usec);
	if ((unsigned)src < TIER_RELIEF_MAX_NODES)
		R->moved_off_bytes[src] += bytes;
	if ((unsigned)dst < TIER_RELIEF_MAX_NODES)
		R->moved_on_bytes[dst] += bytes;
	R->moved_bytes_total += bytes;
	R->last_tick_moved_bytes += bytes;
	tier_rate_window_add(&R->window, R->now_usec, bytes);
}

static void relief_enomem(void *ctx, int node)
{
	struct tierd_relief *R = ctx;
	log_notice("relief: node %d answered ENOMEM; not using it as a target for %llus", node,
		   (unsigned long long)(TIER_RELIEF_ENOMEM_BACKOFF_USEC / 1000000));
	tier_relief_note_enomem(&R->st, node, R->now_usec);
}

static struct tierd_relief *relief_get(struct tierd *d)
{
	if (!d->relief) {
		struct tierd_relief *R = calloc(1, sizeof(*R));
		if (!R)
			return NULL;
		tier_relief_state_init(&R->st);
		R->src = -1;
		R->d = d;
		R->avoid = tier_nodemask_alloc();
		R->mover.choose = relief_choose;
		R->mover.moved = relief_moved;
		R->mover.enomem = relief_enomem;
		R->mover.ctx = R;
		snprintf(R->state, sizeof(R->state), "idle");
		d->relief = R;
	}
	return d->relief;
}

void tierd_relief_free(struct tierd *d)
{
	struct tierd_relief *R = d->relief;
	if (!R)
		return;
	tierd_mover_free(&R->mover);
	tier_bitmask_free(R->avoid);
	free(R->victims);
	free(R);
	d->relief = NULL;
}

static void relief_event(int prio, int node, pid_t pid, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void relief_event(int prio, int node, pid_t pid, const char *fmt, ...)
{
	struct tierd_field f[2];
	size_t n = 0;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (node >= 0)
		tierd_field_set(&f[n++], "TIERD_NODE", "%d", node);
	if (pid > 0)
		tierd_field_set(&f[n++], "TIERD_PID", "%d", (int)pid);
	tierd_event(prio, TIERD_MID_RELIEF, f, n, "relief: %s", msg);
}

static void drop_victims(struct tierd_relief *R)
{
	free(R->victims);
	R->victims = NULL;
	R->nr_victims = R->cur = 0;
	R->cursor = 0;
	R->scanned = false;
}

/* Processes with pages on src, most first (lib/relief.c orders and skips). */
static void scan_victims(struct tierd *d, struct tierd_relief *R, int src)
{
	pid_t *pids = NULL;
	int n = tier_proc_list_pids(d->rootfd, &pids);
	pid_t self = getpid();
	struct tier_relief_victim *v = NULL;
	size_t nv = 0, cap = 0;
	uint64_t *sums = calloc((size_t)src + 1, sizeof(*sums));

	drop_victims(R);
	R->scanned = true;
	R->scanned_usec = R->now_usec;
	memset(R->skipped, 0, sizeof(R->skipped));
	if (n < 0 || !sums) {
		log_warning("relief: cannot list processes: %s", strerror(n < 0 ? -n : ENOMEM));
		free(sums);
		free(pids);
		return;
	}
	for (int i = 0; i < n; i++) {
		struct tier_proc_status st;
		struct tier_proc_cgroups cg;
		pid_t pid = pids[i];
		if (pid == self) {
			R->skipped[TIER_RELIEF_SKIP_SELF]++;
			continue;
		}
		if (tier_proc_read_status(d->rootfd, pid, &st) < 0)
			continue; /* gone, or unreadable */
		bool have_cg = tier_proc_read_cgroups(d->rootfd, pid, &cg) == 0;
		bool fenced = tier_fence_task_granted(d->config, have_cg ? &cg : NULL);
		enum tier_relief_skip sk = tier_relief_victim_skip(pid, self, &st, have_cg ? &cg : NULL,
								   d->config->relief_exclude, fenced);
		if (have_cg)
			tier_proc_cgroups_free(&cg);
		if (sk != TIER_RELIEF_SKIP_NONE) {
			R->skipped[sk]++;
			tier_proc_status_free(&st);
			continue;
		}
		if (tier_proc_read_numa_sums(d->rootfd, pid, R->mover.page_size, sums, (unsigned)src + 1) == 0 &&
		    sums[src] > 0) {
			if (nv == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct tier_relief_victim *nvv = realloc(v, ncap * sizeof(*nvv));
				if (!nvv) {
					tier_proc_status_free(&st);
					break;
				}
				v = nvv;
				cap = ncap;
			}
			v[nv].pid = pid;
			v[nv].pages = sums[src];
			snprintf(v[nv].comm, sizeof(v[nv].comm), "%.15s", st.name);
			nv++;
		}
		tier_proc_status_free(&st);
	}
	tier_relief_sort_victims(v, nv);
	if (nv > RELIEF_MAX_VICTIMS)
		nv = RELIEF_MAX_VICTIMS;
	R->victims = nv ? calloc(nv, sizeof(*R->victims)) : NULL;
	for (size_t i = 0; R->victims && i < nv; i++) {
		R->victims[i].pid = v[i].pid;
		R->victims[i].pages = v[i].pages;
		memcpy(R->victims[i].comm, v[i].comm, sizeof(R->victims[i].comm));
	}
	R->nr_victims = R->victims ? nv : 0;
	free(v);
	free(sums);
	free(pids);
}

/* The nodes outside the victim's cpuset are avoided from the start (the
 * kernel would answer EACCES for them). */
static void victim_avoid(struct tierd *d, struct tierd_relief *R, pid_t pid)
{
	struct tier_proc_status st;
	tier_bitmask_zero(R->avoid);
	if (tier_proc_read_status(d->rootfd, pid, &st) < 0)
		return;
	if (!tier_bitmask_empty(st.mems_allowed))
		for (int i = 0; i < d->snap->nr_nodes; i++)
			if (!tier_bitmask_isset(st.mems_allowed, d->snap->nodes[i].id))
				tier_bitmask_set(R->avoid, d->snap->nodes[i].id);
	tier_proc_status_free(&st);
}

static void victim_done(struct tierd *d, struct tierd_relief *R, const char *how, int result)
{
	struct relief_victim *v = &R->victims[R->cur];
	char target[160], value[64], reason[256];
	bool dry = tierd_dry_run(d);
	snprintf(target, sizeof(target), "pid %d (%s)", (int)v->pid, v->comm);
	snprintf(value, sizeof(value), "%" PRIu64 " pages", v->moved_pages);
	snprintf(reason, sizeof(reason), "node %d under pressure: %s %" PRIu64 " of %" PRIu64 " pages off it; %s", R->src,
		 dry ? "would move" : "moved", v->moved_pages, v->pages, how);
	if (v->moved_pages || result < 0) {
		tierd_record_action(d, "relief", target, value, reason, result == -ESRCH ? 0 : result);
		relief_event(v->moved_pages ? LOG_INFO : LOG_NOTICE, R->src, v->pid, "%s%s: %s", dry ? "dry-run: " : "",
			     target, reason);
	}
	R->cur++;
	R->cursor = 0;
}

void tierd_relief_tick(struct tierd *d, uint64_t now_usec, uint64_t *next_interval_usec)
{
	struct tierd_relief *R = relief_get(d);
	const struct tier_config *c = d->config;
	if (!R || !d->snap)
		return;
	R->now_usec = now_usec;
	R->last_tick_moved_bytes = 0;
	R->last_tick_allowance_bytes = 0;
	if (!d->ops->move_pages) {
		snprintf(R->state, sizeof(R->state), "unavailable: no move_pages in the ops table");
		return;
	}

	struct bitmask *on = tier_nodemask_alloc(), *off = tier_nodemask_alloc();
	int src = tier_relief_update(d->snap, c, &R->st, on, off);
	tier_bitmask_foreach(n, on)
	{
		const struct tier_node *node = tier_snapshot_node(d->snap, n);
		uint64_t start, stop;
		tier_relief_lines(c, node, d->snap->page_size, &start, &stop);
		relief_event(LOG_NOTICE, n, 0, "node %d free %" PRIu64 " pages <= start line %" PRIu64 "; relieving until above %" PRIu64,
			     n, node->free_pages, start, stop);
		R->episodes++;
	}
	tier_bitmask_foreach(n, off)
		relief_event(LOG_NOTICE, n, 0, "node %d recovered (or left the lower tiers); relief stopped", n);
	tier_bitmask_free(on);
	tier_bitmask_free(off);

	if (!c->relief_enabled) {
		snprintf(R->state, sizeof(R->state), "disabled");
		drop_victims(R);
		R->src = -1;
		return;
	}
	if (src < 0) {
		snprintf(R->state, sizeof(R->state), "idle");
		if (R->src >= 0)
			drop_victims(R);
		R->src = -1;
		return;
	}
	if (src != R->src) {
		drop_victims(R);
		R->src = src;
	}

	bool dry = tierd_dry_run(d);
	R->mover.ops = d->ops;
	R->mover.rootfd = d->rootfd;
	R->mover.page_size = d->snap->page_size ? d->snap->page_size : 4096;
	R->mover.batch_pages = c->relief_batch_pages;
	R->mover.flags = c->relief_move_all ? MPOL_MF_MOVE_ALL : MPOL_MF_MOVE;
	R->mover.dry_run = dry;
	memset(R->planned, 0, sizeof(R->planned));

	tier_bucket_init(&R->bucket, c->relief_rate_bytes_per_sec, c->relief_tick_budget_bytes);
	tier_bucket_refill(&R->bucket, now_usec);
	uint64_t allowance = tier_bucket_allowance(&R->bucket, c->relief_tick_budget_bytes);
	R->last_tick_allowance_bytes = allowance;
	uint64_t budget_pages = allowance / R->mover.page_size;
	/* Move no more than the node needs to get above its stop line: the
	 * rest of the budget would only cost the workload. */
	const struct tier_node *srcn = tier_snapshot_node(d->snap, src);
	if (srcn) {
		uint64_t start, stop;
		tier_relief_lines(c, srcn, d->snap->page_size, &start, &stop);
		uint64_t need = srcn->free_pages <= stop ? stop - srcn->free_pages + 1 : 0;
		if (need < budget_pages)
			budget_pages = need;
	}

	uint64_t rescan = dry ? RELIEF_RESCAN_DRY_USEC : RELIEF_RESCAN_USEC;
	if (!R->scanned || (R->cur >= R->nr_victims && now_usec - R->scanned_usec >= rescan))
		scan_victims(d, R, src);

	uint64_t used_pages = 0;
	R->no_target = false;
	while (budget_pages > used_pages && R->cur < R->nr_victims) {
		struct relief_victim *v = &R->victims[R->cur];
		struct tierd_mover_result res;
		if (R->cursor == 0)
			victim_avoid(d, R, v->pid);
		int r = tierd_mover_run(&R->mover, v->pid, src, budget_pages - used_pages, &R->cursor, R->avoid, &res);
		used_pages += res.attempted_pages;
		v->moved_pages += res.moved_pages;
		if (r == 1)
			break;
		if (r == -ENOSPC) {
			/* Pages stay where they are; the cursor points at them. */
			R->no_target = true;
			break;
		}
		if (r == 0)
			victim_done(d, R, "done", 0);
		else if (r == -ESRCH)
			victim_done(d, R, "the process exited", -ESRCH);
		else
			victim_done(d, R, strerror(-r), r);
	}
	tier_bucket_take(&R->bucket, used_pages * R->mover.page_size);

	const struct tier_node *sn = srcn;
	if (R->no_target)
		snprintf(R->state, sizeof(R->state), "relieving node %d: no target with room", src);
	else if (R->nr_victims == 0)
		snprintf(R->state, sizeof(R->state), "relieving node %d: no movable process has pages there", src);
	else
		snprintf(R->state, sizeof(R->state), "%srelieving node %d (free %" PRIu64 " pages)",
			 dry ? "dry-run: planning, " : "", src, sn ? sn->free_pages : 0);

	/* Come back when the bucket holds the next tick's budget: that is how
	 * the configured rate is reached (the guard may ask for sooner). */
	if (!dry && !R->no_target && R->last_tick_moved_bytes > 0) {
		uint64_t want = tier_bucket_wait_usec(&R->bucket, c->relief_tick_budget_bytes);
		if (want < c->min_interval_usec)
			want = c->min_interval_usec;
		if (want < *next_interval_usec)
			*next_interval_usec = want;
	}
}

/* ---- status ---- */

static struct json_object *u64(uint64_t v)
{
	return json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

struct json_object *tierd_relief_status(struct tierd *d)
{
	struct tierd_relief *R = d->relief;
	const struct tier_config *c = d->config;
	struct json_object *o = json_object_new_object();
	char buf[64];

	json_object_object_add(o, "enabled", json_object_new_boolean(c->relief_enabled));
	json_object_object_add(o, "state", json_object_new_string(d->paused ? "paused" : R ? R->state : "starting"));
	tier_wm_expr_format(&c->relief_start_at, buf, sizeof(buf));
	json_object_object_add(o, "start_at", json_object_new_string(buf));
	tier_wm_expr_format(&c->relief_stop_at, buf, sizeof(buf));
	json_object_object_add(o, "stop_at", json_object_new_string(buf));
	size_t off = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < c->relief_nr_targets && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? "," : "",
					tier_relief_target_name(c->relief_targets[i]));
	json_object_object_add(o, "targets", json_object_new_string(buf));
	json_object_object_add(o, "move_flag", json_object_new_string(c->relief_move_all ? "MPOL_MF_MOVE_ALL"
										       : "MPOL_MF_MOVE"));
	json_object_object_add(o, "rate_bytes_per_sec", u64(c->relief_rate_bytes_per_sec));
	json_object_object_add(o, "tick_budget_bytes", u64(c->relief_tick_budget_bytes));
	json_object_object_add(o, "page_order", json_object_new_string("by VMA (idle page tracking not used)"));
	if (!R)
		return o;

	uint64_t now = R->now_usec;
	uint64_t minute = tier_rate_window_sum(&R->window, now);
	json_object_object_add(o, "tokens_bytes", u64(R->bucket.tokens_bytes));
	json_object_object_add(o, "last_tick_allowance_bytes", u64(R->last_tick_allowance_bytes));
	json_object_object_add(o, "last_tick_moved_bytes", u64(R->last_tick_moved_bytes));
	json_object_object_add(o, "moved_bytes_last_minute", u64(minute));
	json_object_object_add(o, "achieved_bytes_per_sec_last_minute", u64(minute / TIER_RATE_WINDOW_SEC));
	json_object_object_add(o, "mover_bytes_per_sec",
			       u64(R->mover.move_usec ? R->moved_bytes_total * 1000000u / R->mover.move_usec : 0));
	json_object_object_add(o, "moved_bytes_total", u64(R->moved_bytes_total));
	json_object_object_add(o, "planned_bytes_total_dry_run", u64(R->planned_bytes_total));
	json_object_object_add(o, "episodes", u64(R->episodes));
	json_object_object_add(o, "move_calls", u64(R->mover.move_calls));
	json_object_object_add(o, "query_calls", u64(R->mover.query_calls));
	json_object_object_add(o, "relieving_node", R->src >= 0 ? json_object_new_int(R->src) : NULL);

	struct bitmask *act = tier_nodemask_alloc();
	for (unsigned i = 0; i < TIER_RELIEF_MAX_NODES; i++)
		if (R->st.active[i])
			tier_bitmask_set(act, (int)i);
	char list[128];
	tier_bitmask_format(act, list, sizeof(list));
	tier_bitmask_free(act);
	json_object_object_add(o, "active_nodes", json_object_new_string(list));

	if (R->src >= 0 && R->cur < R->nr_victims) {
		const struct relief_victim *v = &R->victims[R->cur];
		struct json_object *cv = json_object_new_object();
		json_object_object_add(cv, "pid", json_object_new_int((int)v->pid));
		json_object_object_add(cv, "comm", json_object_new_string(v->comm));
		json_object_object_add(cv, "pages_on_node_at_scan", u64(v->pages));
		json_object_object_add(cv, "moved_pages", u64(v->moved_pages));
		json_object_object_add(o, "current_victim", cv);
	} else {
		json_object_object_add(o, "current_victim", NULL);
	}
	json_object_object_add(o, "victims_queued", u64(R->nr_victims > R->cur ? R->nr_victims - R->cur : 0));

	struct json_object *sk = json_object_new_object();
	for (int i = 1; i < 5; i++)
		json_object_object_add(sk, tier_relief_skip_name((enum tier_relief_skip)i), u64(R->skipped[i]));
	json_object_object_add(o, "victims_skipped", sk);

	struct json_object *fl = json_object_new_object();
	for (int i = 0; i < TIERD_RF_NR; i++)
		json_object_object_add(fl, tierd_relief_fail_name((enum tierd_relief_fail)i), u64(R->mover.fail[i]));
	json_object_object_add(o, "failures", fl);
	json_object_object_add(o, "busy_rechecked_moved_pages", u64(R->mover.busy_rechecked));

	struct json_object *nodes = json_object_new_object();
	for (unsigned i = 0; i < TIER_RELIEF_MAX_NODES; i++) {
		if (!R->moved_off_bytes[i] && !R->moved_on_bytes[i] && !R->st.active[i] &&
		    R->st.enomem_until_usec[i] <= now)
			continue;
		struct json_object *n = json_object_new_object();
		char key[16];
		json_object_object_add(n, "relieving", json_object_new_boolean(R->st.active[i]));
		json_object_object_add(n, "moved_off_bytes", u64(R->moved_off_bytes[i]));
		json_object_object_add(n, "moved_on_bytes", u64(R->moved_on_bytes[i]));
		json_object_object_add(n, "target_backoff_usec",
				       u64(R->st.enomem_until_usec[i] > now ? R->st.enomem_until_usec[i] - now : 0));
		snprintf(key, sizeof(key), "%u", i);
		json_object_object_add(nodes, key, n);
	}
	json_object_object_add(o, "nodes", nodes);
	return o;
}
