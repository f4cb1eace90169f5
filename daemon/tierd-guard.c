/* SPDX-License-Identifier: MIT */
/*
 * The guard thread (see tierd-guard.h for what it owns and what crosses
 * between the threads; the policies are lib/guard.c and lib/demotion.c).
 *
 * One look: pread /proc/zoneinfo, /proc/vmstat, nodeN/vmstat and
 * demotion_enabled into buffers allocated at setup, parse in place into the
 * private snapshot, let the owner settle what the admin or other policies
 * changed, decide the guard's reason, let the owner write, publish a status
 * copy, ping the watchdog, sleep until the policy's next interval or a post.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <tier/guard.h>
#include "tierd.h"
#include "tierd-demotion.h"
#include "tierd-guard.h"
#include "tierd-log.h"
#include "tierd-notify.h"
#include "zoneinfo.h"

/* The main loop counts as stalled when its slow tick is this late. */
#define MAIN_LAG_WARN_USEC (10ull * 1000000ull)
/* Buffers grow (at most to this) when a file outgrows them. */
#define BUF_MAX_BYTES (64u << 20)

struct reason_post {
	bool pending, holds;
	char why[TIER_DEMOTION_WHY_MAX];
};

/* main -> guard, under lock */
struct guard_in {
	struct tier_snapshot *topo;       /* to adopt (owned), or NULL */
	struct tier_config cfg;           /* scalars only (see cfg_copy) */
	bool dry_run, paused, stop, debug_hang;
	struct reason_post reason[TIER_DEMOTION_NR_REASONS];
	uint64_t heartbeat_usec;
};

/* guard -> main, under lock: what status shows */
struct guard_pub {
	bool started, running;
	struct tier_guard_decision last;
	bool held, stood_down, paused, dry_run;
	uint64_t trips, releases, looks, look_failures;
	uint64_t last_change_mono_usec;
	char last_change[TIER_GUARD_REASON_MAX];
	struct tier_demotion_state own;
	int knob;
	bool knob_writable;
	uint64_t knob_writes, knob_write_failures;
	char error[256];
	uint64_t look_cost_last_usec, look_cost_max_usec, look_cost_sum_usec;
	uint64_t last_look_mono_usec, next_interval_usec;
	uint64_t main_lag_usec;
	bool topology_stale;
	uint64_t watchdog_usec, watchdog_pings;
	unsigned nodes_with_counters, nr_nodes;
	char kernel_release[65];
	bool kernel_fixed;
};

struct node_fd {
	char relpath[64];
	struct tier_attr_fd fd;
};

struct tierd_guard {
	struct tierd *d;
	pthread_mutex_t lock;
	pthread_t thread;
	bool thread_started;
	int efd, tfd;
	struct guard_in in;               /* under lock */
	struct guard_pub pub;             /* under lock */

	/* guard thread only (or the main thread before start / after join) */
	struct tier_config cfg;
	bool dry, paused;
	struct tier_snapshot *snap;
	struct tier_guard_state *st;
	struct tierd_owner own;
	struct tier_attr_fd zoneinfo, vmstat;
	struct node_fd *nodes;
	int nr_nodes;
	char *buf;
	size_t buf_size;
	struct tier_zoneinfo_zone *zones;
	int zones_cap;
	bool kernel_fixed;
	char release[65];
	uint64_t watchdog_usec, last_ping_usec, watchdog_pings;
	uint64_t trips, releases, looks, look_failures;
	uint64_t look_cost_max_usec, look_cost_sum_usec;
	uint64_t last_change_mono_usec;
	char last_change[TIER_GUARD_REASON_MAX];
	struct tier_guard_decision last;
	char error[256];
	bool stale, lag_warned;
	uint64_t heartbeat_usec;

	/* main thread only */
	struct tier_snapshot *posted;     /* the shape last handed over */
	bool posted_stale_seen;
	struct reason_post sent[TIER_DEMOTION_NR_REASONS];
};

static uint64_t mono_usec(void)
{
	return tierd_now_mono_usec();
}

static void lock(struct tierd_guard *g)
{
	pthread_mutex_lock(&g->lock);
}

static void unlock(struct tierd_guard *g)
{
	pthread_mutex_unlock(&g->lock);
}

static void wake(struct tierd_guard *g)
{
	uint64_t one = 1;
	if (g->efd >= 0)
		(void)!write(g->efd, &one, sizeof(one));
}

/* The guard reads only scalar fields of the config: pointer members are
 * cleared so a copy never points into a config that a reload freed. */
static void cfg_copy(struct tier_config *dst, const struct tier_config *src)
{
	*dst = *src;
	dst->socket_group = NULL;
	dst->relief_exclude = NULL;
	dst->fence_private_nodes = NULL;
	dst->grants = NULL;
	dst->nr_grants = 0;
}

static struct tierd_guard *guard_get(struct tierd *d)
{
	if (!d->guard) {
		struct tierd_guard *g = calloc(1, sizeof(*g));
		if (!g)
			return NULL;
		pthread_mutex_init(&g->lock, NULL);
		g->d = d;
		g->efd = g->tfd = -1;
		g->zoneinfo.fd = g->vmstat.fd = -1;
		g->own.file_fd = -1;
		g->own.knob.fd = -1;
		tier_demotion_init(&g->own.st);
		d->guard = g;
	}
	return d->guard;
}

/* ---- topology (guard thread) ------------------------------------------- */

static void close_nodes(struct tierd_guard *g)
{
	for (int i = 0; i < g->nr_nodes; i++)
		tier_attr_close(&g->nodes[i].fd);
	free(g->nodes);
	g->nodes = NULL;
	g->nr_nodes = 0;
}

/* Take a new topology: per-node vmstat files, room for its zones.  The only
 * place (with setup) where the guard allocates; a failure keeps the old. */
static void adopt(struct tierd_guard *g, struct tier_snapshot *s)
{
	int zones = 0;
	for (int i = 0; i < s->nr_nodes; i++)
		zones += s->nodes[i].nr_zones;
	int cap = 2 * zones + 16;
	if (cap > g->zones_cap) {
		void *z = realloc(g->zones, (size_t)cap * sizeof(*g->zones));
		if (!z) {
			log_error("guard: out of memory adopting the new topology; keeping the old");
			tier_snapshot_free(s);
			return;
		}
		g->zones = z;
		g->zones_cap = cap;
	}
	struct node_fd *nf = s->nr_nodes ? calloc((size_t)s->nr_nodes, sizeof(*nf)) : NULL;
	if (s->nr_nodes && !nf) {
		log_error("guard: out of memory adopting the new topology; keeping the old");
		tier_snapshot_free(s);
		return;
	}
	close_nodes(g);
	for (int i = 0; i < s->nr_nodes; i++) {
		snprintf(nf[i].relpath, sizeof(nf[i].relpath), "sys/devices/system/node/node%d/vmstat", s->nodes[i].id);
		/* Without it (older kernels, EMFILE) the policy falls back to
		 * the global counters. */
		if (tier_attr_open(g->d->rootfd, &nf[i].fd, nf[i].relpath, O_RDONLY) < 0)
			nf[i].fd.fd = -1;
	}
	g->nodes = nf;
	g->nr_nodes = s->nr_nodes;
	tier_snapshot_free(g->snap);
	g->snap = s;
	g->stale = false;
}

/* ---- one look (guard thread) ------------------------------------------- */

static void set_error(struct tierd_guard *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct tierd_guard *g, const char *fmt, ...)
{
	char msg[sizeof(g->error)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Said once per distinct error: a failing read every 10 ms must not
	 * flood the journal. */
	if (strcmp(msg, g->error) != 0)
		log_error("guard: %s (the guard holds what it holds and keeps looking)", msg);
	snprintf(g->error, sizeof(g->error), "%s", msg);
}

/* Read a pre-opened file into g->buf, growing it if it does not fit. */
static ssize_t read_into_buf(struct tierd_guard *g, struct tier_attr_fd *a)
{
	if (g->own.follow_renames)
		(void)tier_attr_refresh(g->d->rootfd, a);
	ssize_t n = tier_attr_pread(a, g->buf, g->buf_size);
	while (n == -EFBIG && g->buf_size < BUF_MAX_BYTES) {
		char *b = realloc(g->buf, g->buf_size * 2);
		if (!b)
			return -ENOMEM;
		g->buf = b;
		g->buf_size *= 2;
		n = tier_attr_pread(a, g->buf, g->buf_size);
	}
	return n;
}

static struct tier_zone *find_zone(struct tier_node *n, const char *name)
{
	for (int z = 0; z < n->nr_zones; z++)
		if (strcmp(n->zones[z].name, name) == 0)
			return &n->zones[z];
	return NULL;
}

static int read_zones(struct tierd_guard *g)
{
	char err[200] = "";
	int nr = 0, r;
	for (int attempt = 0;; attempt++) {
		ssize_t n = read_into_buf(g, &g->zoneinfo);
		if (n < 0) {
			set_error(g, "reading /proc/zoneinfo: %s", strerror((int)-n));
			return (int)n;
		}
		r = tier_zoneinfo_parse_fixed(g->buf, "proc/zoneinfo", g->zones, g->zones_cap, &nr, err, sizeof(err));
		if (r != -ENOSPC || attempt)
			break;
		/* More zones than the topology had: room, then once more. */
		void *z = realloc(g->zones, (size_t)g->zones_cap * 2 * sizeof(*g->zones));
		if (!z)
			break;
		g->zones = z;
		g->zones_cap *= 2;
		g->stale = true;
	}
	if (r < 0) {
		set_error(g, "%s", err[0] ? err : strerror(-r));
		return r;
	}
	for (int i = 0; i < nr; i++) {
		const struct tier_zoneinfo_zone *zz = &g->zones[i];
		struct tier_node *n = tier_snapshot_node(g->snap, zz->node);
		struct tier_zone *z = n ? find_zone(n, zz->zone.name) : NULL;
		if (!z) {
			/* A node or zone the topology does not have yet (hotplug
			 * the slow tick has not seen): ask for a new one. */
			g->stale = true;
			continue;
		}
		*z = zz->zone;
	}
	tier_snapshot_derive_sums(g->snap);
	return 0;
}

static void read_counters(struct tierd_guard *g)
{
	ssize_t n = read_into_buf(g, &g->vmstat);
	for (int c = 0; c < TIER_NR_COUNTERS; c++) {
		uint64_t v;
		g->snap->counters[c] = n >= 0 && tier_kv_find_u64(g->buf, tier_counter_name(c), &v) == 0 ? v
											      : TIER_UNKNOWN;
	}
	for (int i = 0; i < g->nr_nodes && i < g->snap->nr_nodes; i++) {
		struct tier_node *nd = &g->snap->nodes[i];
		/* Only an upper node's counters matter (is it demoting?): a
		 * slowest-tier node is not read at all. */
		if (!nd->demotion_fallback || tier_bitmask_empty(nd->demotion_fallback))
			continue;
		n = g->nodes[i].fd.fd >= 0 ? read_into_buf(g, &g->nodes[i].fd) : -EBADF;
		for (int c = 0; c < TIER_NR_COUNTERS; c++) {
			uint64_t v;
			nd->counters[c] = c != TIER_OOM_KILL && n >= 0 &&
							  tier_kv_find_u64(g->buf, tier_counter_name(c), &v) == 0
						  ? v
						  : TIER_UNKNOWN;
		}
	}
}

static void guard_event(const struct tier_guard_decision *dec, bool dry_run)
{
	struct tierd_field f[5];
	size_t n = 0;
	tierd_field_set(&f[n++], "TIERD_GUARD_ACTION", "%s", tier_guard_action_name(dec->action));
	if (dec->upper_node >= 0)
		tierd_field_set(&f[n++], "TIERD_NODE", "%d", dec->upper_node);
	if (dec->target_node >= 0) {
		tierd_field_set(&f[n++], "TIERD_TARGET_NODE", "%d", dec->target_node);
		tierd_field_set(&f[n++], "TIERD_FREE_PAGES", "%llu", (unsigned long long)dec->free_pages);
		tierd_field_set(&f[n++], "TIERD_LINE_PAGES", "%llu", (unsigned long long)dec->line_pages);
	}
	tierd_event(LOG_WARNING, TIERD_MID_GUARD, f, n, "%sguard %s: %s", dry_run ? "dry-run: " : "",
		    tier_guard_action_name(dec->action), dec->reason);
}

/* The owner settles; the guard stands down if the admin overrode it. */
static void settle(struct tierd_guard *g, int knob)
{
	unsigned over = tierd_owner_settle(&g->own, g->d, knob, g->dry);
	if (over & (1u << TIER_DEMOTION_GUARD)) {
		tier_guard_stand_down(g->st);
		/* Drop the overridden reason: a new trip is a new episode. */
		tier_demotion_set(&g->own.st, TIER_DEMOTION_GUARD, false, NULL, mono_usec());
	}
}

static void publish(struct tierd_guard *g, uint64_t cost, uint64_t now)
{
	lock(g);
	struct guard_pub *p = &g->pub;
	p->running = g->thread_started;
	p->last = g->last;
	p->held = g->st->held;
	p->stood_down = g->st->stood_down;
	p->paused = g->paused;
	p->dry_run = g->dry;
	p->trips = g->trips;
	p->releases = g->releases;
	p->looks = g->looks;
	p->look_failures = g->look_failures;
	p->last_change_mono_usec = g->last_change_mono_usec;
	memcpy(p->last_change, g->last_change, sizeof(p->last_change));
	p->own = g->own.st;
	p->knob_writable = g->own.knob_writable;
	p->knob_writes = g->own.writes;
	p->knob_write_failures = g->own.write_failures;
	memcpy(p->error, g->error, sizeof(p->error));
	p->look_cost_last_usec = cost;
	p->look_cost_max_usec = g->look_cost_max_usec;
	p->look_cost_sum_usec = g->look_cost_sum_usec;
	p->last_look_mono_usec = now;
	p->topology_stale = g->stale;
	p->watchdog_usec = g->watchdog_usec;
	p->watchdog_pings = g->watchdog_pings;
	p->nr_nodes = g->snap ? (unsigned)g->snap->nr_nodes : 0;
	unsigned wc = 0;
	for (int i = 0; i < g->nr_nodes; i++)
		wc += g->nodes[i].fd.fd >= 0;
	p->nodes_with_counters = wc;
	p->main_lag_usec = g->heartbeat_usec && now > g->heartbeat_usec ? now - g->heartbeat_usec : 0;
	snprintf(p->kernel_release, sizeof(p->kernel_release), "%s", g->release);
	p->kernel_fixed = g->kernel_fixed;
	unlock(g);
}

/* One look; returns when to look again (usec from now). */
static uint64_t look(struct tierd_guard *g)
{
	uint64_t t0 = mono_usec();
	uint64_t next = g->cfg.interval_usec;
	struct tier_guard_decision dec;
	bool seen = false;

	g->looks++;
	if (g->snap && read_zones(g) == 0) {
		read_counters(g);
		seen = true;
	} else if (!g->snap) {
		set_error(g, "no topology yet");
	}
	if (!seen)
		g->look_failures++;

	if (seen && g->error[0]) {
		log_notice("guard: reading works again");
		g->error[0] = '\0';
	}
	int knob = tierd_owner_read(&g->own, g->d);
	settle(g, knob);
	if (seen && !g->paused) {
		/* The guard decides on the host's own value, not on what tierd
		 * made of the knob (tier/guard.h). */
		g->snap->demotion_enabled = g->own.st.original >= 0 ? g->own.st.original : knob;
		tier_guard_decide(g->snap, &g->cfg, g->st, t0, g->kernel_fixed, g->st, &dec);
		if (dec.action != TIER_GUARD_ACT_NONE) {
			bool holds = dec.action == TIER_GUARD_ACT_TRIP;
			if (holds)
				g->trips++;
			else
				g->releases++;
			guard_event(&dec, g->dry);
			g->last_change_mono_usec = t0;
			snprintf(g->last_change, sizeof(g->last_change), "%s", dec.reason);
			if (tier_demotion_set(&g->own.st, TIER_DEMOTION_GUARD, holds, holds ? dec.reason : NULL, t0))
				settle(g, tierd_owner_read(&g->own, g->d));
		}
		g->last = dec;
		if (dec.next_interval_usec)
			next = dec.next_interval_usec;
	}
	if (next < g->cfg.min_interval_usec)
		next = g->cfg.min_interval_usec;

	uint64_t now = mono_usec();
	if (g->heartbeat_usec && now - g->heartbeat_usec > MAIN_LAG_WARN_USEC + 2 * g->cfg.interval_usec) {
		if (!g->lag_warned)
			log_warning("guard: the main loop has not ticked for %" PRIu64 " ms (fencing, relief and the "
				    "control socket wait; the guard does not)", (now - g->heartbeat_usec) / 1000);
		g->lag_warned = true;
	} else {
		g->lag_warned = false;
	}
	/* The watchdog ping means: the guard looked just now. */
	if (g->watchdog_usec) {
		if (now - g->last_ping_usec >= g->watchdog_usec / 4) {
			tierd_notify("WATCHDOG=1");
			g->last_ping_usec = now;
			g->watchdog_pings++;
		}
		if (next > g->watchdog_usec / 4)
			next = g->watchdog_usec / 4;
	}
	uint64_t cost = now - t0;
	g->look_cost_sum_usec += cost;
	if (cost > g->look_cost_max_usec)
		g->look_cost_max_usec = cost;
	publish(g, cost, now);
	return next;
}

/* ---- inputs (guard thread) --------------------------------------------- */

/* Returns true when asked to stop. */
static bool take_inputs(struct tierd_guard *g)
{
	struct tier_snapshot *topo;
	struct reason_post reasons[TIER_DEMOTION_NR_REASONS];
	bool stop, was_paused = g->paused;

	lock(g);
	topo = g->in.topo;
	g->in.topo = NULL;
	cfg_copy(&g->cfg, &g->in.cfg);
	g->dry = g->in.dry_run;
	g->paused = g->in.paused;
	g->heartbeat_usec = g->in.heartbeat_usec;
	memcpy(reasons, g->in.reason, sizeof(reasons));
	for (int r = 0; r < TIER_DEMOTION_NR_REASONS; r++)
		g->in.reason[r].pending = false;
	stop = g->in.stop;
	bool hang = g->in.debug_hang;
	unlock(g);
	if (hang)
		for (;;)
			pause();   /* tierd-debug.c: until the watchdog's SIGABRT */

	if (topo)
		adopt(g, topo);
	uint64_t now = mono_usec();
	for (int r = 0; r < TIER_DEMOTION_NR_REASONS; r++)
		if (reasons[r].pending)
			tier_demotion_set(&g->own.st, (enum tier_demotion_reason)r, reasons[r].holds, reasons[r].why, now);
	/* Paused means "change nothing": if tierd holds demotion off, it stays
	 * off until resume (the pause reason), whatever else lets go. */
	if (g->paused && !was_paused && g->own.st.written == 0)
		tier_demotion_set(&g->own.st, TIER_DEMOTION_PAUSE, true,
				  "tierctl pause while tierd held demotion off: kept off until resume", now);
	if (!g->paused && was_paused)
		tier_demotion_set(&g->own.st, TIER_DEMOTION_PAUSE, false, NULL, now);
	return stop;
}

static void arm(struct tierd_guard *g, uint64_t usec)
{
	struct itimerspec its = { 0 };
	if (usec == 0)
		usec = 1;
	its.it_value.tv_sec = (time_t)(usec / 1000000u);
	its.it_value.tv_nsec = (long)(usec % 1000000u) * 1000;
	if (timerfd_settime(g->tfd, 0, &its, NULL) < 0)
		log_error("guard: timerfd_settime: %s", strerror(errno));
}

static void *guard_main(void *arg)
{
	struct tierd_guard *g = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		struct pollfd p[2] = { { .fd = g->efd, .events = POLLIN }, { .fd = g->tfd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("guard: poll: %s", strerror(errno));
			usleep(10000);
			continue;
		}
		uint64_t v;
		if (p[0].revents & POLLIN)
			(void)!read(g->efd, &v, sizeof(v));
		if (p[1].revents & POLLIN)
			(void)!read(g->tfd, &v, sizeof(v));
		if (take_inputs(g))
			break;
		arm(g, look(g));
	}
	return NULL;
}

/* ---- setup, start, stop (main thread) ---------------------------------- */

static int setup(struct tierd *d, struct tierd_guard *g, int leftover_original)
{
	struct utsname u;
	int r;
	/* The kernel release is only read from the real host: a fixture root
	 * says nothing about the kernel that runs. */
	if (uname(&u) == 0)
		snprintf(g->release, sizeof(g->release), "%s", u.release);
	g->kernel_fixed = tier_kernel_has_demotion_fix(g->release);
	g->st = malloc(sizeof(*g->st));
	g->buf_size = 256u << 10;
	g->buf = malloc(g->buf_size);
	if (!g->st || !g->buf)
		return -ENOMEM;
	tier_guard_state_init(g->st);
	r = tierd_owner_open(&g->own, d, leftover_original);
	if (r < 0)
		return r;
	r = tier_attr_open(d->rootfd, &g->zoneinfo, "proc/zoneinfo", O_RDONLY);
	if (r < 0)
		log_warning("guard: cannot open /proc/zoneinfo: %s", strerror(-r));
	if (tier_attr_open(d->rootfd, &g->vmstat, "proc/vmstat", O_RDONLY) < 0)
		g->vmstat.fd = -1;
	cfg_copy(&g->cfg, d->config);
	g->dry = tierd_dry_run(d);
	g->paused = d->paused;
	g->in.cfg = g->cfg;
	g->in.dry_run = g->dry;
	g->in.paused = g->paused;
	if (!tierd_watchdog_usec(&g->watchdog_usec))
		g->watchdog_usec = 0;
	if (d->snap) {
		struct tier_snapshot *s = tier_snapshot_dup(d->snap);
		if (s) {
			adopt(g, s);
			tier_snapshot_free(g->posted);
			g->posted = tier_snapshot_dup(d->snap);
		}
	}
	return 0;
}

int tierd_guard_start(struct tierd *d, int leftover_original)
{
	struct tierd_guard *g = guard_get(d);
	if (!g)
		return -ENOMEM;
	int r = setup(d, g, leftover_original);
	if (r < 0)
		return r;
	g->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	g->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (g->efd < 0 || g->tfd < 0)
		return -errno;
	arm(g, 1);
	g->thread_started = true;
	g->pub.started = true;
	r = pthread_create(&g->thread, NULL, guard_main, g);
	if (r != 0) {
		g->thread_started = false;
		return -r;
	}
	pthread_setname_np(g->thread, "tierd-guard");
	return 0;
}

int tierd_guard_once(struct tierd *d, int leftover_original)
{
	struct tierd_guard *g = guard_get(d);
	if (!g)
		return -ENOMEM;
	int r = setup(d, g, leftover_original);
	if (r < 0)
		return r;
	g->pub.started = true;
	(void)take_inputs(g);
	look(g);
	return g->error[0] ? -EIO : 0;
}

int tierd_guard_stop(struct tierd *d, const char *why)
{
	struct tierd_guard *g = d->guard;
	if (!g || !g->pub.started)
		return 0;
	if (g->thread_started) {
		lock(g);
		g->in.stop = true;
		unlock(g);
		wake(g);
		pthread_join(g->thread, NULL);
		g->thread_started = false;
		/* Reasons posted after the last look still count for the
		 * record (nothing writes any more). */
		(void)take_inputs(g);
	}
	g->pub.started = false;
	return tierd_owner_restore(&g->own, d, why);
}

void tierd_guard_free(struct tierd *d)
{
	struct tierd_guard *g = d->guard;
	if (!g)
		return;
	if (g->thread_started) {
		lock(g);
		g->in.stop = true;
		unlock(g);
		wake(g);
		pthread_join(g->thread, NULL);
	}
	tierd_owner_close(&g->own);
	tier_attr_close(&g->zoneinfo);
	tier_attr_close(&g->vmstat);
	close_nodes(g);
	if (g->efd >= 0)
		close(g->efd);
	if (g->tfd >= 0)
		close(g->tfd);
	tier_snapshot_free(g->snap);
	tier_snapshot_free(g->in.topo);
	tier_snapshot_free(g->posted);
	free(g->zones);
	free(g->buf);
	free(g->st);
	pthread_mutex_destroy(&g->lock);
	free(g);
	d->guard = NULL;
}

/* ---- posts (main thread) ----------------------------------------------- */

/* The shape the guard depends on: nodes, their zones and demotion targets,
 * tiers.  Free pages and counters are read by the guard itself. */
static bool same_shape(const struct tier_snapshot *a, const struct tier_snapshot *b)
{
	if (!a || !b || a->nr_nodes != b->nr_nodes || a->nr_tiers != b->nr_tiers || a->page_size != b->page_size ||
	    a->has_tiering != b->has_tiering)
		return false;
	for (int i = 0; i < a->nr_tiers; i++)
		if (a->tiers[i].id != b->tiers[i].id || !tier_bitmask_equal(a->tiers[i].nodes, b->tiers[i].nodes))
			return false;
	for (int i = 0; i < a->nr_nodes; i++) {
		const struct tier_node *x = &a->nodes[i], *y = &b->nodes[i];
		if (x->id != y->id || x->online != y->online || x->has_memory != y->has_memory || x->tier != y->tier ||
		    x->nr_zones != y->nr_zones || !tier_bitmask_equal(x->demotion_fallback, y->demotion_fallback) ||
		    !tier_bitmask_equal(x->demotion_preferred, y->demotion_preferred))
			return false;
		for (int z = 0; z < x->nr_zones; z++)
			if (strcmp(x->zones[z].name, y->zones[z].name) != 0 ||
			    x->zones[z].populated != y->zones[z].populated)
				return false;
	}
	return true;
}

void tierd_guard_topology(struct tierd *d)
{
	struct tierd_guard *g = d->guard;
	if (!g || !g->pub.started || !d->snap)
		return;
	lock(g);
	bool stale = g->pub.topology_stale;
	unlock(g);
	if (same_shape(g->posted, d->snap) && !(stale && !g->posted_stale_seen)) {
		if (!stale)
			g->posted_stale_seen = false;
		return;
	}
	g->posted_stale_seen = stale;
	struct tier_snapshot *s = tier_snapshot_dup(d->snap), *keep = tier_snapshot_dup(d->snap);
	if (!s || !keep) {
		tier_snapshot_free(s);
		tier_snapshot_free(keep);
		return;
	}
	if (g->thread_started) {
		lock(g);
		tier_snapshot_free(g->in.topo);
		g->in.topo = s;
		unlock(g);
		wake(g);
	} else {
		adopt(g, s);
	}
	tier_snapshot_free(g->posted);
	g->posted = keep;
}

void tierd_guard_config(struct tierd *d)
{
	struct tierd_guard *g = d->guard;
	if (!g)
		return;
	lock(g);
	cfg_copy(&g->in.cfg, d->config);
	g->in.dry_run = tierd_dry_run(d);
	unlock(g);
	wake(g);
}

void tierd_guard_pause(struct tierd *d, bool paused)
{
	struct tierd_guard *g = d->guard;
	if (!g)
		return;
	lock(g);
	g->in.paused = paused;
	unlock(g);
	wake(g);
}

void tierd_guard_debug_hang(struct tierd *d)
{
	struct tierd_guard *g = d->guard;
	if (!g)
		return;
	lock(g);
	g->in.debug_hang = true;
	unlock(g);
	wake(g);
}

void tierd_guard_heartbeat(struct tierd *d)
{
	struct tierd_guard *g = d->guard;
	if (!g)
		return;
	lock(g);
	g->in.heartbeat_usec = mono_usec();
	unlock(g);
}

void tierd_demotion_hold(struct tierd *d, enum tier_demotion_reason r, bool holds, const char *why)
{
	struct tierd_guard *g = guard_get(d);
	if (!g || (unsigned)r >= TIER_DEMOTION_NR_REASONS)
		return;
	struct reason_post *sent = &g->sent[r];
	if (!why)
		why = "";
	/* Unchanged: no wake-up. */
	if (sent->pending && sent->holds == holds && (!holds || strcmp(sent->why, why) == 0))
		return;
	sent->pending = true;
	sent->holds = holds;
	snprintf(sent->why, sizeof(sent->why), "%s", why);
	lock(g);
	g->in.reason[r] = *sent;
	unlock(g);
	/* Without the thread (before start, --once) the next look takes it. */
	if (g->thread_started)
		wake(g);
}

/* ---- status (main thread) ---------------------------------------------- */

static void pub_copy(struct tierd *d, struct guard_pub *p)
{
	struct tierd_guard *g = d->guard;
	memset(p, 0, sizeof(*p));
	p->knob = -1;
	if (!g)
		return;
	lock(g);
	*p = g->pub;
	unlock(g);
}

static const char *mode_name(enum tier_guard_mode m)
{
	return m == TIER_GUARD_ON ? "on" : m == TIER_GUARD_OFF ? "off" : "auto";
}

static const char *state_word(const struct tierd *d, const struct guard_pub *p)
{
	if (d->paused)
		return "paused";
	if (!p->looks)
		return "starting";
	if (p->error[0])
		return "blind: cannot read the memory state";
	if (p->held)
		return p->dry_run ? "tripped (dry-run)" : "tripped: demotion held off";
	if (p->last.quiet_reason[0])
		return "quiet";
	return "watching";
}

void tierd_guard_state_word(struct tierd *d, char *buf, size_t size)
{
	struct guard_pub *p = malloc(sizeof(*p));
	if (!p) {
		snprintf(buf, size, "?");
		return;
	}
	pub_copy(d, p);
	snprintf(buf, size, "%s", state_word(d, p));
	free(p);
}

static struct json_object *u64(uint64_t v)
{
	return json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

struct json_object *tierd_guard_status(struct tierd *d)
{
	struct json_object *o = json_object_new_object();
	struct guard_pub *p = malloc(sizeof(*p));
	char buf[64];

	json_object_object_add(o, "mode", json_object_new_string(mode_name(d->config->guard_mode)));
	tier_wm_expr_format(&d->config->guard_trip_at, buf, sizeof(buf));
	json_object_object_add(o, "trip_at", json_object_new_string(buf));
	tier_wm_expr_format(&d->config->guard_release_at, buf, sizeof(buf));
	json_object_object_add(o, "release_at", json_object_new_string(buf));
	if (!p)
		return o;
	pub_copy(d, p);
	uint64_t now = mono_usec();
	json_object_object_add(o, "state", json_object_new_string(state_word(d, p)));
	json_object_object_add(o, "why", json_object_new_string(p->error[0] ? p->error
								: p->last.quiet_reason[0] ? p->last.quiet_reason
								: p->last.reason));
	json_object_object_add(o, "held", json_object_new_boolean(p->held));
	json_object_object_add(o, "stood_down", json_object_new_boolean(p->stood_down));
	json_object_object_add(o, "thread", json_object_new_string(p->running ? "running" : p->started ? "inline (--once)"
										      : "not started"));
	json_object_object_add(o, "kernel_release", json_object_new_string(p->kernel_release));
	json_object_object_add(o, "kernel_has_fix", json_object_new_boolean(p->kernel_fixed));
	json_object_object_add(o, "trips", u64(p->trips));
	json_object_object_add(o, "releases", u64(p->releases));
	json_object_object_add(o, "admin_overrides", u64(p->own.admin_overrides));
	json_object_object_add(o, "looks", u64(p->looks));
	json_object_object_add(o, "look_failures", u64(p->look_failures));
	json_object_object_add(o, "look_cost_usec_last", u64(p->look_cost_last_usec));
	json_object_object_add(o, "look_cost_usec_max", u64(p->look_cost_max_usec));
	json_object_object_add(o, "look_cost_usec_avg", u64(p->looks ? p->look_cost_sum_usec / p->looks : 0));
	json_object_object_add(o, "last_look_age_usec",
			       p->last_look_mono_usec ? u64(now - p->last_look_mono_usec) : NULL);
	json_object_object_add(o, "next_interval_usec", u64(p->last.next_interval_usec));
	json_object_object_add(o, "main_loop_lag_usec", u64(p->main_lag_usec));
	json_object_object_add(o, "nodes", u64(p->nr_nodes));
	json_object_object_add(o, "nodes_with_counters", u64(p->nodes_with_counters));
	json_object_object_add(o, "topology_stale", json_object_new_boolean(p->topology_stale));
	json_object_object_add(o, "watchdog_usec", p->watchdog_usec ? u64(p->watchdog_usec) : NULL);
	json_object_object_add(o, "watchdog_pings", u64(p->watchdog_pings));
	if (p->error[0])
		json_object_object_add(o, "error", json_object_new_string(p->error));
	if (p->last_change[0]) {
		json_object_object_add(o, "last_change", json_object_new_string(p->last_change));
		json_object_object_add(o, "last_change_age_usec", u64(now - p->last_change_mono_usec));
	}
	if (p->last.predicted && p->last.eta_usec != TIER_UNKNOWN)
		json_object_object_add(o, "predicted_eta_usec", u64(p->last.eta_usec));
	free(p);
	return o;
}

struct json_object *tierd_demotion_status(struct tierd *d)
{
	struct json_object *o = json_object_new_object();
	struct guard_pub *p = malloc(sizeof(*p));
	if (!p)
		return o;
	pub_copy(d, p);
	const struct tier_demotion_state *st = &p->own;
	uint64_t now = mono_usec();
	json_object_object_add(o, "original", st->original < 0 ? NULL : json_object_new_boolean(st->original));
	json_object_object_add(o, "held_by_tierd", json_object_new_boolean(st->written >= 0 && !st->written_dry));
	json_object_object_add(o, "written", st->written < 0 ? NULL : json_object_new_boolean(st->written));
	json_object_object_add(o, "written_dry_run", json_object_new_boolean(st->written_dry));
	json_object_object_add(o, "writable", json_object_new_boolean(p->knob_writable));
	json_object_object_add(o, "writes", u64(p->knob_writes));
	json_object_object_add(o, "write_failures", u64(p->knob_write_failures));
	struct json_object *reasons = json_object_new_array();
	unsigned eff = tier_demotion_effective(st);
	for (int r = 0; r < TIER_DEMOTION_NR_REASONS; r++) {
		if (!(st->held & (1u << r)))
			continue;
		struct json_object *ro = json_object_new_object();
		json_object_object_add(ro, "reason",
				       json_object_new_string(tier_demotion_reason_name((enum tier_demotion_reason)r)));
		json_object_object_add(ro, "why", json_object_new_string(st->why[r]));
		json_object_object_add(ro, "age_usec", u64(now - st->since_usec[r]));
		json_object_object_add(ro, "overridden", json_object_new_boolean(!(eff & (1u << r))));
		json_object_array_add(reasons, ro);
	}
	if (st->original == 0) {
		struct json_object *ro = json_object_new_object();
		json_object_object_add(ro, "reason", json_object_new_string("admin"));
		json_object_object_add(ro, "why", json_object_new_string("demotion_enabled is false by the admin's choice"));
		json_object_object_add(ro, "overridden", json_object_new_boolean(false));
		json_object_array_add(reasons, ro);
	}
	json_object_object_add(o, "reasons", reasons);
	json_object_object_add(o, "admin_overrides", u64(st->admin_overrides));
	free(p);
	return o;
}
