/* SPDX-License-Identifier: MIT */
/*
 * Private-node fencing in the daemon: keeps a cached copy of the cpuset
 * cgroup tree, plans with the pure planner (lib/fence.c) and applies the
 * plan through the ops table, recording every value it changes in the state
 * file before the write.
 *
 *  - a full pass (walk + plan + apply) at start, every [fence] full_pass,
 *    and whenever the private set, the nodes with memory or the config
 *    generation change;
 *  - inotify IN_CREATE on every cgroup directory: a new cgroup (and whatever
 *    was created below it before the watch was in place) is appended to the
 *    cache and fenced right away, in the same loop iteration;
 *  - the demotion conflict (a private node is a demotion target of a
 *    non-private node: demotion ignores cpuset.mems) and its answer;
 *  - the audit: tasks in the root cgroup, pages of non-granted tasks on
 *    private nodes (numa_maps), evicted with migrate_pages when asked.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <tier/fence.h>
#include <tier/procmaps.h>
#include "tierd.h"
#include "tierd-cgroup.h"
#include "tierd-fence.h"
#include "tierd-demotion.h"
#include "tierd-log.h"
#include "tierd-systemd.h"

#define AUDIT_EVICT_INTERVAL_USEC (5u * 1000000u) /* demotion = evict: how often to sweep */
#define MAX_LISTED 16
#define MAX_LAST 8
#define NUMA_MAPS_MAX_BYTES (64u << 20)

struct fence_task {
	int pid;
	char comm[32];
	char cgroup[160];
	uint64_t bytes;          /* intruders: bytes on private nodes not granted */
};

struct tierd_fence {
	struct tierd_cgroup_hier h;
	bool have_hier;
	uint64_t last_discover_mono;
	char problem[256];       /* why nothing is fenced; "" when fencing works */
	bool use_systemd;

	struct tier_fence_tree *tree;   /* cache of the hierarchy */
	struct tier_fence_plan *plan;   /* last plan on it */
	struct bitmask *priv, *with_memory;
	uint64_t config_generation;
	size_t fenced, unfenced;
	bool counts_dirty;        /* recount (O(tree)) when status asks */
	uint64_t last_full_mono, full_pass_cost_usec, full_pass_max_usec, full_passes;
	bool full_pass_wanted;

	/* inotify */
	int ifd;
	sd_event_source *io;
	int *wd_idx;
	size_t wd_cap, nr_watches;
	bool watch_error_logged;
	uint64_t creations, last_create_usec, max_create_usec;

	uint64_t writes, write_failures, pending_dry_run;

	/* audit */
	uint64_t last_audit_mono, audits;
	unsigned root_tasks, root_kthreads, nr_root_list;
	struct fence_task root_list[MAX_LISTED];
	unsigned nr_intruders, intruders_total;
	struct fence_task intruders[MAX_LISTED];
	uint64_t intruder_bytes, evicted_bytes, evictions, eviction_failures;

	/* demotion */
	struct tier_fence_conflict conflict;
	bool holds_demotion, warned_allow;
	char demotion_action[200];

	char last[MAX_LAST][220];
	unsigned last_head, last_len;
};

/* ---- helpers ----------------------------------------------------------- */

static struct tierd_fence *fence_get(struct tierd *d)
{
	if (!d->fence) {
		struct tierd_fence *f = calloc(1, sizeof(*f));
		if (!f)
			return NULL;
		f->ifd = -1;
		f->priv = tier_nodemask_alloc();
		f->with_memory = tier_nodemask_alloc();
		d->fence = f;
	}
	return d->fence;
}

static void last_action(struct tierd_fence *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void last_action(struct tierd_fence *f, const char *fmt, ...)
{
	va_list ap;
	unsigned idx = (f->last_head + f->last_len) % MAX_LAST;
	if (f->last_len == MAX_LAST)
		f->last_head = (f->last_head + 1) % MAX_LAST;
	else
		f->last_len++;
	va_start(ap, fmt);
	vsnprintf(f->last[idx], sizeof(f->last[idx]), fmt, ap);
	va_end(ap);
}

static void set_problem(struct tierd_fence *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_problem(struct tierd_fence *f, const char *fmt, ...)
{
	char msg[sizeof(f->problem)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (strcmp(msg, f->problem) != 0 && msg[0])
		log_warning("fence: %s", msg);
	snprintf(f->problem, sizeof(f->problem), "%s", msg);
}

static void fence_input(struct tierd *d, struct tierd_fence *f, struct tier_fence_input *in)
{
	in->with_memory = f->with_memory;
	in->private_nodes = f->priv;
	in->grants = d->config->grants;
	in->nr_grants = d->config->nr_grants;
}

static int read_whole(int dirfd, const char *rel, char **out, size_t max)
{
	int fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t cap = 8192, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (len + 1 >= cap) {
			if (cap >= max)
				break;
			char *n = realloc(buf, cap * 2);
			if (!n) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = n;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r < 0) {
			int e = errno;
			free(buf);
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (!buf)
		return -ENOMEM;
	buf[len] = '\0';
	*out = buf;
	return 0;
}

static bool has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += wl)
		if ((p == list || p[-1] == ' ') && (p[wl] == '\0' || p[wl] == ' ' || p[wl] == '\n'))
			return true;
	return false;
}

static int save_state(struct tierd *d)
{
	int r = d->state->nr ? tier_state_save_at(d->statefd, TIERD_STATE_FILE, d->state)
			     : tier_state_remove_at(d->statefd, TIERD_STATE_FILE);
	if (r < 0)
		log_error("fence: cannot write the state file %s/%s: %s", d->state_dir, TIERD_STATE_FILE,
			  strerror(-r));
	return r;
}

/* The systemd unit a cgroup is, when it and every ancestor are units
 * (not inside a delegated subtree): "/system.slice/db.service" ->
 * "db.service". */
static bool unit_of(const char *path, char *unit, size_t size)
{
	static const char *const suffixes[] = { ".slice", ".service", ".scope" };
	const char *p = path, *last = NULL;
	if (!path[0] || !strcmp(path, "/"))
		return false;
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		bool ok = false;
		for (size_t i = 0; i < 3; i++) {
			size_t sl = strlen(suffixes[i]);
			if (len > sl && strncmp(p + len - sl, suffixes[i], sl) == 0)
				ok = true;
		}
		if (!ok)
			return false;
		last = p;
		p += len;
	}
	if (!last || strlen(last) >= size)
		return false;
	snprintf(unit, size, "%s", last);
	return true;
}

/* ---- inotify ----------------------------------------------------------- */

static void watch_add(struct tierd *d, struct tierd_fence *f, size_t idx)
{
	char rel[4096], abs[4352];
	if (f->ifd < 0 || tierd_cgroup_relpath(&f->h, f->tree->cg[idx].path, NULL, rel, sizeof(rel)) < 0)
		return;
	snprintf(abs, sizeof(abs), "%s%s%s", d->root, d->root[strlen(d->root) - 1] == '/' ? "" : "/", rel);
	int wd = inotify_add_watch(f->ifd, abs, IN_CREATE | IN_ONLYDIR | IN_DONT_FOLLOW);
	if (wd < 0) {
		if (errno != ENOENT && !f->watch_error_logged) {
			log_warning("fence: cannot watch %s (%m): new cgroups there are fenced by the full pass only",
				    abs);
			f->watch_error_logged = true;
		}
		return;
	}
	if ((size_t)wd >= f->wd_cap) {
		size_t nc = f->wd_cap ? f->wd_cap : 1024;
		while (nc <= (size_t)wd)
			nc *= 2;
		int *n = realloc(f->wd_idx, nc * sizeof(*n));
		if (!n)
			return;
		for (size_t i = f->wd_cap; i < nc; i++)
			n[i] = -1;
		f->wd_idx = n;
		f->wd_cap = nc;
	}
	if (f->wd_idx[wd] < 0)
		f->nr_watches++;
	f->wd_idx[wd] = (int)idx;
}

/* ---- applying a plan --------------------------------------------------- */

struct pending {
	enum tier_state_kind kind;
	char key[4200];
	char unit[256];
	char value[512];
	char before[512];        /* the value before this op */
	bool skip, recorded_new;
};

static int op_target(struct tierd *d, struct tierd_fence *f, const struct tier_fence_op *op, struct pending *pd)
{
	const struct tier_fence_cgroup *c = &f->tree->cg[op->cg];
	char cur[512];
	int r;

	memset(pd, 0, sizeof(*pd));
	if (op->kind == TIER_FENCE_OP_ENABLE_CPUSET) {
		pd->kind = TIER_STATE_SUBTREE_CONTROL;
		snprintf(pd->value, sizeof(pd->value), "+cpuset");
		r = tierd_cgroup_relpath(&f->h, c->path, "cgroup.subtree_control", pd->key, sizeof(pd->key));
		if (r < 0)
			return r;
		/* systemd enables cpuset itself for units with AllowedMemoryNodes */
		if (f->use_systemd && (unit_of(c->path, pd->unit, sizeof(pd->unit)) || op->cg == 0)) {
			pd->skip = true;
			return 0;
		}
		pd->unit[0] = '\0';
		r = d->ops->read_attr(d->rootfd, pd->key, cur, sizeof(cur));
		if (r < 0)
			return r;
		if (has_word(cur, "cpuset"))
			pd->skip = true;
	} else {
		tier_bitmask_format(op->mems, pd->value, sizeof(pd->value));
		if (f->use_systemd && unit_of(c->path, pd->unit, sizeof(pd->unit))) {
			pd->kind = TIER_STATE_UNIT_PROPERTY;
			snprintf(pd->key, sizeof(pd->key), "%s/AllowedMemoryNodes", pd->unit);
			r = d->ops->unit_get_property(pd->unit, "AllowedMemoryNodes", cur, sizeof(cur));
		} else {
			pd->unit[0] = '\0';
			pd->kind = TIER_STATE_CPUSET_MEMS;
			r = tierd_cgroup_relpath(&f->h, c->path, "cpuset.mems", pd->key, sizeof(pd->key));
			/* The cache was read from the file in this pass (walk or
			 * inotify) or follows tierd's own writes, and the kernel
			 * prints lists canonically: no second read per cgroup. */
			tier_bitmask_format(c->mems, cur, sizeof(cur));
		}
		if (r < 0)
			return r;
		if (strcmp(cur, pd->value) == 0)
			pd->skip = true;
	}
	snprintf(pd->before, sizeof(pd->before), "%s", cur);
	if (pd->skip || tierd_dry_run(d))
		return 0;
	r = tier_state_record(d->state, pd->kind, pd->key, cur, tierd_now_real_usec());
	if (r < 0)
		return r;
	pd->recorded_new = r == 1;
	return 0;
}

static int op_write(struct tierd *d, struct tierd_fence *f, const struct tier_fence_op *op, const struct pending *pd)
{
	const struct tier_fence_cgroup *c = &f->tree->cg[op->cg];
	switch (pd->kind) {
	case TIER_STATE_SUBTREE_CONTROL:
		return d->ops->cgroup_write(d->rootfd, &f->h, c->path, "cgroup.subtree_control", "+cpuset");
	case TIER_STATE_UNIT_PROPERTY:
		return d->ops->unit_set_property(pd->unit, "AllowedMemoryNodes", pd->value);
	default:
		return d->ops->cgroup_write(d->rootfd, &f->h, c->path, "cpuset.mems", pd->value);
	}
}

/* The tree after a successful op (the cache follows the host). */
static void op_done(struct tierd_fence *f, const struct tier_fence_op *op)
{
	struct tier_fence_tree *t = f->tree;
	if (op->kind == TIER_FENCE_OP_ENABLE_CPUSET) {
		t->cg[op->cg].subtree_cpuset = true;
		for (size_t i = op->cg + 1; i < t->nr; i++)
			if (t->cg[i].parent == (int)op->cg && !t->cg[i].has_mems) {
				t->cg[i].has_mems = true;
				tier_bitmask_zero(t->cg[i].mems);
			}
	} else {
		tier_bitmask_copy(t->cg[op->cg].mems, op->mems);
	}
}

static void apply_plan(struct tierd *d, struct tierd_fence *f, const struct tier_fence_plan *p, const char *why)
{
	size_t nr = p->nr_ops, ok = 0, failed = 0, skipped = 0;
	bool dry = tierd_dry_run(d), any_new = false;
	struct pending *pd = nr ? calloc(nr, sizeof(*pd)) : NULL;
	if (nr && !pd)
		return;

	/* 1. What each op changes, recorded (originals) in one batch ... */
	for (size_t k = 0; k < nr; k++) {
		int r = op_target(d, f, &p->ops[k], &pd[k]);
		if (r < 0) {
			pd[k].skip = true;
			if (r != -ENOENT) {
				log_warning("fence: %s: %s", f->tree->cg[p->ops[k].cg].path, strerror(-r));
				failed++;
			}
		}
		any_new |= pd[k].recorded_new;
	}
	/* 2. ... saved once, BEFORE anything is written (a crash after a
	 *    write still finds the original) ... */
	if (any_new && save_state(d) < 0) {
		for (size_t k = 0; k < nr; k++)
			if (pd[k].recorded_new)
				tier_state_forget(d->state, pd[k].kind, pd[k].key);
		tierd_record_action(d, "fence", "", NULL, "state file not writable: fencing nothing", -EIO);
		free(pd);
		return;
	}
	/* 3. ... then written in the plan's order. */
	bool forgot = false;
	for (size_t k = 0; k < nr; k++) {
		const struct tier_fence_op *op = &p->ops[k];
		const char *path = f->tree->cg[op->cg].path;
		if (pd[k].skip) {
			skipped++;
			continue;
		}
		if (dry) {
			log_debug("fence: dry-run: would write %s to /%s", pd[k].value, pd[k].key);
			last_action(f, "dry-run: %s %s := %s", path, pd[k].kind == TIER_STATE_SUBTREE_CONTROL ?
				    "cgroup.subtree_control" : "cpuset.mems", pd[k].value);
			ok++;
			continue;
		}
		int r = op_write(d, f, op, &pd[k]);
		if (r == 0) {
			ok++;
			f->writes++;
			op_done(f, op);
			log_debug("fence: wrote %s to %s%s", pd[k].value, pd[k].key, op->interim ? " (widening first)" : "");
			last_action(f, "%s %s := %s (%s)", path,
				    pd[k].kind == TIER_STATE_SUBTREE_CONTROL ? "cgroup.subtree_control"
				    : pd[k].kind == TIER_STATE_UNIT_PROPERTY ? "AllowedMemoryNodes" : "cpuset.mems",
				    pd[k].value, why);
			/* Back at the host's own value: nothing to restore.  (A new
			 * entry's original is the value before this write, which
			 * differs; only older entries need the lookup.) */
			const struct tier_state_entry *e =
				pd[k].recorded_new || pd[k].kind == TIER_STATE_SUBTREE_CONTROL
					? NULL : tier_state_find(d->state, pd[k].kind, pd[k].key);
			if (e && strcmp(e->original, pd[k].value) == 0) {
				tier_state_forget(d->state, pd[k].kind, pd[k].key);
				forgot = true;
			}
		} else if (r != -ENOENT) {
			failed++;
			f->write_failures++;
			log_warning("fence: writing %s to /%s failed: %s", pd[k].value, pd[k].key, strerror(-r));
			last_action(f, "%s := %s failed: %s", path, pd[k].value, strerror(-r));
			tierd_record_action(d, "fence", pd[k].key, pd[k].value, why, r);
		}
	}
	if (forgot)
		save_state(d);
	if (dry)
		f->pending_dry_run = ok;
	if (ok || failed) {
		struct tierd_field fl[3];
		tierd_field_set(&fl[0], "TIERD_FENCE_WRITES", "%zu", ok);
		tierd_field_set(&fl[1], "TIERD_FENCE_FAILED", "%zu", failed);
		tierd_field_set(&fl[2], "TIERD_FENCE_REASON", "%s", why);
		tierd_event(failed ? LOG_WARNING : LOG_INFO, TIERD_MID_FENCE, fl, 3, "fence (%s): %s%zu change(s), %zu failed",
			    why, dry ? "dry-run: would make " : "", ok, failed);
		char reason[128];
		snprintf(reason, sizeof(reason), "%s: %zu change(s)%s", why, ok, dry ? " (dry-run)" : "");
		if (ok)
			tierd_record_action(d, "fence", ok == 1 ? pd[0].key : "cpuset.mems", NULL, reason, 0);
	}
	(void)skipped;
	free(pd);
}

static void plan_and_apply(struct tierd *d, struct tierd_fence *f, const char *why)
{
	struct tier_fence_input in;
	struct tier_fence_plan *p = NULL;
	fence_input(d, f, &in);
	if (tier_fence_plan(f->tree, &in, &p) < 0) {
		log_error("fence: out of memory planning");
		return;
	}
	if (p->error) {
		set_problem(f, "%s", p->message);
	} else {
		if (f->problem[0])
			set_problem(f, "%s", "");
		apply_plan(d, f, p, why);
	}
	tier_fence_plan_free(f->plan);
	f->plan = p;
	f->counts_dirty = true;
}

static void full_pass(struct tierd *d, struct tierd_fence *f, uint64_t now_usec, const char *why)
{
	uint64_t t0 = tierd_now_mono_usec();
	struct tier_fence_tree *t = tier_fence_tree_new(f->h.version);
	if (!t)
		return;
	int r = d->ops->cgroup_list(d->rootfd, &f->h, t, -1, NULL);
	f->last_full_mono = now_usec;
	f->full_pass_wanted = false;
	if (r < 0) {
		set_problem(f, "cannot walk the cgroup hierarchy /%s: %s", f->h.mount, strerror(-r));
		tier_fence_tree_free(t);
		f->have_hier = false; /* rediscover next time */
		return;
	}
	uint64_t t_walk = tierd_now_mono_usec();
	tier_fence_tree_free(f->tree);
	f->tree = t;
	/* Same inodes give the same watch descriptors; map them anew. */
	for (size_t i = 0; i < f->wd_cap; i++)
		f->wd_idx[i] = -1;
	f->nr_watches = 0;
	for (size_t i = 0; i < t->nr; i++)
		watch_add(d, f, i);
	uint64_t t_watch = tierd_now_mono_usec();
	plan_and_apply(d, f, why);
	f->full_passes++;
	f->full_pass_cost_usec = tierd_now_mono_usec() - t0;
	if (f->full_pass_cost_usec > f->full_pass_max_usec)
		f->full_pass_max_usec = f->full_pass_cost_usec;
	log_debug("fence: full pass (%s): %zu cgroups, %zu were unfenced, %llu us (walk %llu, watches %llu, "
		  "plan and apply %llu)", why, t->nr, f->plan ? f->plan->nr_unfenced : 0,
		  (unsigned long long)f->full_pass_cost_usec, (unsigned long long)(t_walk - t0),
		  (unsigned long long)(t_watch - t_walk), (unsigned long long)(t0 + f->full_pass_cost_usec - t_watch));
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct tierd *d = userdata;
	struct tierd_fence *f = d->fence;
	char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
	size_t added = 0;
	uint64_t t0 = tierd_now_mono_usec();
	(void)s;
	(void)revents;

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			if (!f || !f->tree)
				continue;
			if (ev->mask & IN_Q_OVERFLOW) {
				f->full_pass_wanted = true;
				continue;
			}
			int idx = ev->wd >= 0 && (size_t)ev->wd < f->wd_cap ? f->wd_idx[ev->wd] : -1;
			if (idx < 0 || (size_t)idx >= f->tree->nr)
				continue;
			if (ev->mask & IN_IGNORED) {
				f->tree->cg[idx].gone = true;
				f->wd_idx[ev->wd] = -1;
				f->nr_watches--;
				continue;
			}
			if (!(ev->mask & IN_CREATE) || !(ev->mask & IN_ISDIR) || !ev->len || f->tree->cg[idx].gone)
				continue;
			int first = d->ops->cgroup_list(d->rootfd, &f->h, f->tree, idx, ev->name);
			if (first < 0)
				continue;
			for (size_t i = (size_t)first; i < f->tree->nr; i++) {
				watch_add(d, f, i);
				added++;
			}
		}
	}
	if (!f || !f->tree)
		return 0;
	if (d->paused || tier_bitmask_empty(f->priv)) {
		/* observe only; the first tick after resume makes a full pass */
		if (added)
			f->full_pass_wanted = true;
		return 0;
	}
	if (f->full_pass_wanted) {
		full_pass(d, f, t0, "inotify queue overflow");
		return 0;
	}
	if (added) {
		struct tier_fence_input in;
		fence_input(d, f, &in);
		int r = f->plan ? tier_fence_plan_extend(f->plan, f->tree, &in) : -EAGAIN;
		if (r == 0) {
			apply_plan(d, f, f->plan, "new cgroup");
			f->counts_dirty = true;
		} else {
			plan_and_apply(d, f, "new cgroup");
		}
		f->creations += added;
		f->last_create_usec = tierd_now_mono_usec() - t0;
		if (f->last_create_usec > f->max_create_usec)
			f->max_create_usec = f->last_create_usec;
	}
	return 0;
}

int tierd_fence_start(struct tierd *d)
{
	struct tierd_fence *f = fence_get(d);
	if (!f || !d->event)
		return -ENOMEM;
	f->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (f->ifd < 0) {
		log_warning("fence: inotify unavailable (%m): new cgroups are fenced by the full pass only");
		return -errno;
	}
	int r = sd_event_add_io(d->event, &f->io, f->ifd, EPOLLIN, on_inotify, d);
	if (r < 0) {
		log_warning("fence: cannot watch inotify: %s", strerror(-r));
		close(f->ifd);
		f->ifd = -1;
		return r;
	}
	sd_event_source_set_description(f->io, "fence-inotify");
	return 0;
}

/* ---- audit ------------------------------------------------------------- */

static void read_comm(int rootfd, int pid, char *buf, size_t size)
{
	char rel[64];
	snprintf(rel, sizeof(rel), "proc/%d/comm", pid);
	int fd = openat(rootfd, rel, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

static bool is_kthread(int rootfd, int pid)
{
	/* Kernel threads have no user memory: an empty cmdline. */
	char rel[64], c;
	snprintf(rel, sizeof(rel), "proc/%d/cmdline", pid);
	int fd = openat(rootfd, rel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	ssize_t n = read(fd, &c, 1);
	close(fd);
	return n <= 0;
}

static void audit_root_tasks(struct tierd *d, struct tierd_fence *f)
{
	char rel[600], *text = NULL;
	f->root_tasks = f->root_kthreads = f->nr_root_list = 0;
	if (tierd_cgroup_relpath(&f->h, "/", "cgroup.procs", rel, sizeof(rel)) < 0 ||
	    read_whole(d->rootfd, rel, &text, 16u << 20) < 0)
		return;
	for (char *p = text; *p;) {
		char *end;
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		p = end;
		while (*p == '\n')
			p++;
		if (pid <= 0)
			continue;
		if (is_kthread(d->rootfd, (int)pid)) {
			f->root_kthreads++;
			continue;
		}
		if (f->nr_root_list < MAX_LISTED) {
			struct fence_task *t = &f->root_list[f->nr_root_list++];
			t->pid = (int)pid;
			read_comm(d->rootfd, t->pid, t->comm, sizeof(t->comm));
			snprintf(t->cgroup, sizeof(t->cgroup), "/");
			t->bytes = 0;
		}
		f->root_tasks++;
	}
	free(text);
}

static void audit_intruders(struct tierd *d, struct tierd_fence *f, bool evict, const char *why)
{
	struct tier_fence_input in;
	struct bitmask *granted = tier_nodemask_alloc(), *foreign = tier_nodemask_alloc(),
		       *to = tier_nodemask_alloc();
	uint64_t *bytes = calloc(TIER_MAX_NODES, sizeof(*bytes));
	int pfd = openat(d->rootfd, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = pfd >= 0 ? fdopendir(pfd) : NULL;

	fence_input(d, f, &in);
	f->nr_intruders = f->intruders_total = 0;
	f->intruder_bytes = 0;
	tier_bitmask_copy(to, f->with_memory);
	tier_bitmask_andnot(to, f->priv);
	if (!dir || !bytes) {
		if (pfd >= 0 && !dir)
			close(pfd);
		goto out;
	}
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		int pid = atoi(de->d_name);
		char rel[64], cg[512], *maps = NULL;
		snprintf(rel, sizeof(rel), "proc/%d/cpuset", pid);
		if (d->ops->read_attr(d->rootfd, rel, cg, sizeof(cg)) < 0)
			continue;
		tier_fence_granted(&in, cg, granted);
		tier_bitmask_copy(foreign, f->priv);
		tier_bitmask_and(foreign, f->with_memory);
		tier_bitmask_andnot(foreign, granted);
		if (tier_bitmask_empty(foreign))
			continue;
		snprintf(rel, sizeof(rel), "proc/%d/numa_maps", pid);
		if (read_whole(d->rootfd, rel, &maps, NUMA_MAPS_MAX_BYTES) < 0)
			continue;
		int pr = tier_numa_maps_sum(maps, 4096, bytes, TIER_MAX_NODES);
		free(maps);
		if (pr < 0)
			continue;
		for (unsigned n = 0; n < TIER_MAX_NODES; n++)
			bytes[n] *= 4096u;
		uint64_t sum = 0;
		tier_bitmask_foreach(n, foreign)
			sum += bytes[n];
		if (sum == 0)
			continue;
		f->intruders_total++;
		f->intruder_bytes += sum;
		/* keep the biggest MAX_LISTED */
		unsigned slot = f->nr_intruders;
		if (slot == MAX_LISTED) {
			slot = 0;
			for (unsigned i = 1; i < MAX_LISTED; i++)
				if (f->intruders[i].bytes < f->intruders[slot].bytes)
					slot = i;
			if (f->intruders[slot].bytes >= sum)
				slot = MAX_LISTED;
		} else {
			f->nr_intruders++;
		}
		if (slot < MAX_LISTED) {
			struct fence_task *t = &f->intruders[slot];
			t->pid = pid;
			t->bytes = sum;
			read_comm(d->rootfd, pid, t->comm, sizeof(t->comm));
			snprintf(t->cgroup, sizeof(t->cgroup), "%.159s", cg);
		}
		if (!evict)
			continue;
		char fl[64], tl[64], target[64];
		tier_bitmask_format(foreign, fl, sizeof(fl));
		tier_bitmask_format(to, tl, sizeof(tl));
		snprintf(target, sizeof(target), "pid %d", pid);
		if (tierd_dry_run(d)) {
			last_action(f, "dry-run: would evict %llu KiB of pid %d from node(s) %s", (unsigned long long)sum / 1024,
				    pid, fl);
			continue;
		}
		long r = d->ops->migrate_pages(pid, foreign, to);
		if (r < 0) {
			if (r != -ESRCH) {
				f->eviction_failures++;
				log_warning("fence: evicting pid %d from node(s) %s failed: %s", pid, fl, strerror((int)-r));
				tierd_record_action(d, "fence-evict", target, fl, why, (int)r);
			}
			continue;
		}
		f->evictions++;
		f->evicted_bytes += sum;
		last_action(f, "evicted pid %d (%s): %llu KiB from node(s) %s to %s%s", pid, cg,
			    (unsigned long long)sum / 1024, fl, tl, r > 0 ? " (some pages stayed)" : "");
		struct tierd_field ff[3];
		tierd_field_set(&ff[0], "TIERD_PID", "%d", pid);
		tierd_field_set(&ff[1], "TIERD_NODES", "%s", fl);
		tierd_field_set(&ff[2], "TIERD_BYTES", "%llu", (unsigned long long)sum);
		tierd_event(LOG_NOTICE, TIERD_MID_FENCE, ff, 3, "fence: evicted %llu KiB of pid %d (%s, cgroup %s) from private node(s) %s: %s",
			    (unsigned long long)sum / 1024, pid, f->intruders[slot < MAX_LISTED ? slot : 0].comm, cg, fl, why);
		tierd_record_action(d, "fence-evict", target, fl, why, 0);
	}
	closedir(dir);
out:
	free(bytes);
	tier_bitmask_free(granted);
	tier_bitmask_free(foreign);
	tier_bitmask_free(to);
}

/* ---- demotion ---------------------------------------------------------- */

static void demotion_answer(struct tierd *d, struct tierd_fence *f)
{
	tier_fence_demotion_check(d->snap, f->priv, &f->conflict);
	enum tier_fence_demotion mode = d->config->fence_demotion;
	bool hold = f->conflict.conflict && mode == TIER_FENCE_DEMOTION_DISABLE;

	/* The knob's owner writes it; fencing only holds its reason. */
	if (hold != f->holds_demotion)
		last_action(f, hold ? "demotion held off: %s" : "demotion no longer held off%s",
			    hold ? f->conflict.why : "");
	tierd_demotion_hold(d, TIER_DEMOTION_FENCE, hold, hold ? f->conflict.why : NULL);
	f->holds_demotion = hold;
	if (!f->conflict.conflict) {
		snprintf(f->demotion_action, sizeof(f->demotion_action), "no conflict");
		return;
	}
	switch (mode) {
	case TIER_FENCE_DEMOTION_DISABLE:
		snprintf(f->demotion_action, sizeof(f->demotion_action), "disable: demotion held off by tierd");
		break;
	case TIER_FENCE_DEMOTION_EVICT:
		snprintf(f->demotion_action, sizeof(f->demotion_action),
			 "evict: demotion kept; non-granted pages on private nodes evicted every %us",
			 AUDIT_EVICT_INTERVAL_USEC / 1000000u);
		break;
	case TIER_FENCE_DEMOTION_ALLOW:
		snprintf(f->demotion_action, sizeof(f->demotion_action),
			 "allow: demotion may place any cgroup's pages on private nodes");
		if (!f->warned_allow) {
			tierd_warn(d, "fence: %s; [fence] demotion = allow leaves it so", f->conflict.why);
			f->warned_allow = true;
		}
		break;
	}
}

/* ---- tick -------------------------------------------------------------- */

static bool choose_backend(struct tierd *d, struct tierd_fence *f)
{
	bool real_root = f->h.libcgroup;
	switch (d->config->fence_backend) {
	case TIER_FENCE_SYSTEMD:
		if (f->h.version != 2) {
			set_problem(f, "backend systemd needs cgroup v2 (cpuset is a v1 hierarchy here): using cgroupfs");
			return false;
		}
		return true;
	case TIER_FENCE_CGROUPFS:
		return false;
	default:
		return real_root && f->h.version == 2 && tierd_systemd_is_init();
	}
}

void tierd_fence_tick(struct tierd *d, uint64_t now_usec, uint64_t *next_interval_usec)
{
	struct tierd_fence *f = fence_get(d);
	(void)next_interval_usec; /* event driven: no say in the tick interval */
	if (!f || !d->snap)
		return;

	struct bitmask *priv = tier_nodemask_alloc();
	tier_fence_private_nodes(d->config, d->snap, priv);
	bool changed = !tier_bitmask_equal(priv, f->priv) || !tier_bitmask_equal(d->snap->with_memory, f->with_memory) ||
		       f->config_generation != d->config_generation;
	tier_bitmask_copy(f->priv, priv);
	tier_bitmask_copy(f->with_memory, d->snap->with_memory);
	f->config_generation = d->config_generation;
	tier_bitmask_free(priv);

	demotion_answer(d, f);
	if (tier_bitmask_empty(f->priv)) {
		snprintf(f->problem, sizeof(f->problem), "no private nodes configured");
		return;
	}
	if (!f->have_hier) {
		if (f->last_discover_mono && now_usec - f->last_discover_mono < d->config->fence_full_pass_usec &&
		    !changed)
			return;
		char err[256] = "";
		f->last_discover_mono = now_usec;
		int r = d->ops->cgroup_discover(d->rootfd, &f->h, err, sizeof(err));
		if (r < 0) {
			set_problem(f, "%s", err[0] ? err : strerror(-r));
			return;
		}
		f->have_hier = true;
		f->problem[0] = '\0';
		f->use_systemd = choose_backend(d, f);
		log_info("fence: cpuset hierarchy: cgroup v%d at /%s, backend %s", f->h.version, f->h.mount,
			 f->use_systemd ? "systemd" : "cgroupfs");
		changed = true;
	}
	if (changed || !f->tree || f->full_pass_wanted || now_usec - f->last_full_mono >= d->config->fence_full_pass_usec)
		full_pass(d, f, now_usec, changed ? "configuration or topology" : "periodic full pass");

	bool evict_demoted = d->config->fence_demotion == TIER_FENCE_DEMOTION_EVICT && f->conflict.conflict &&
			     f->conflict.demotion_on;
	uint64_t audit_every = evict_demoted ? AUDIT_EVICT_INTERVAL_USEC : d->config->fence_full_pass_usec;
	if (!f->audits || changed || now_usec - f->last_audit_mono >= audit_every) {
		f->last_audit_mono = now_usec;
		f->audits++;
		audit_root_tasks(d, f);
		audit_intruders(d, f, d->config->fence_evict || evict_demoted,
				evict_demoted ? "demotion placed them on a private node" : "[fence] evict = yes");
	}
}

/* ---- restore (called by tierd-apply.c) --------------------------------- */

int tierd_fence_restore_mems(struct tierd *d, const char *key, const char *value)
{
	/* A zero-length write(2) never reaches kernfs: "" is written as "\n"
	 * (the kernel strips it to an empty list). */
	int r = d->ops->write_attr(d->rootfd, key, value[0] ? value : "\n");
	if ((r == -ENOSPC || r == -EBUSY) && !value[0]) {
		/* cgroup v1 refuses to empty the mems of a cpuset with tasks
		 * (ENOSPC) or whose children hold nodes (EBUSY: a child that
		 * could not be emptied for the same reason).  tierd filled it
		 * when it was new and empty; tasks came after.  It keeps its
		 * (fenced) nodes. */
		log_notice("%s was empty when tierd first wrote it and has %s now (v1 cannot empty it): left as is",
			   key, r == -ENOSPC ? "tasks" : "children with nodes");
		return 0;
	}
	return r;
}

/* ---- status ------------------------------------------------------------ */

static struct json_object *task_json(const struct fence_task *t, bool with_bytes)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "pid", json_object_new_int(t->pid));
	json_object_object_add(o, "comm", json_object_new_string(t->comm));
	if (with_bytes) {
		json_object_object_add(o, "cgroup", json_object_new_string(t->cgroup));
		json_object_object_add(o, "bytes", json_object_new_int64((int64_t)t->bytes));
	}
	return o;
}

struct json_object *tierd_fence_status(struct tierd *d)
{
	struct tierd_fence *f = d->fence;
	struct json_object *o = json_object_new_object();
	char buf[256];
	bool priv_empty = !f || tier_bitmask_empty(f->priv);

	const char *state = d->paused ? "paused"
			    : !f ? "starting"
			    : priv_empty ? "off"
			    : f->problem[0] ? "error"
			    : tierd_dry_run(d) ? "dry-run" : "fencing";
	json_object_object_add(o, "state", json_object_new_string(state));
	if (f && f->problem[0])
		json_object_object_add(o, "problem", json_object_new_string(f->problem));
	if (f)
		tier_bitmask_format(f->priv, buf, sizeof(buf));
	else
		buf[0] = '\0';
	json_object_object_add(o, "private_nodes", json_object_new_string(buf));
	json_object_object_add(o, "backend", json_object_new_string(f && f->use_systemd ? "systemd" : "cgroupfs"));
	if (f && f->have_hier) {
		snprintf(buf, sizeof(buf), "cgroup v%d at /%.200s", f->h.version, f->h.mount);
		json_object_object_add(o, "hierarchy", json_object_new_string(buf));
	}
	struct json_object *grants = json_object_new_array();
	for (unsigned i = 0; i < d->config->nr_grants; i++) {
		const struct tier_grant *g = &d->config->grants[i];
		struct json_object *go = json_object_new_object();
		json_object_object_add(go, "name", json_object_new_string(g->name));
		json_object_object_add(go, "cgroup", json_object_new_string(g->cgroup));
		tier_bitmask_format(g->nodes, buf, sizeof(buf));
		json_object_object_add(go, "nodes", json_object_new_string(buf));
		size_t matched = 0;
		for (size_t k = 0; f && f->tree && k < f->tree->nr; k++)
			if (!f->tree->cg[k].gone && tier_fence_glob_covers(g->cgroup, f->tree->cg[k].path))
				matched++;
		json_object_object_add(go, "cgroups", json_object_new_int64((int64_t)matched));
		json_object_array_add(grants, go);
	}
	json_object_object_add(o, "grants", grants);
	if (!f)
		return o;

	if (f->counts_dirty && f->tree && f->plan) {
		struct tier_fence_input in;
		fence_input(d, f, &in);
		tier_fence_count(f->tree, f->plan, &in, &f->fenced, &f->unfenced);
		f->counts_dirty = false;
	}
	size_t live = 0;
	for (size_t k = 0; f->tree && k < f->tree->nr; k++)
		live += !f->tree->cg[k].gone;
	json_object_object_add(o, "cgroups", json_object_new_int64((int64_t)live));
	json_object_object_add(o, "fenced", json_object_new_int64((int64_t)f->fenced));
	json_object_object_add(o, "unfenced", json_object_new_int64((int64_t)f->unfenced));
	if (tierd_dry_run(d))
		json_object_object_add(o, "dry_run_pending_writes", json_object_new_int64((int64_t)f->pending_dry_run));
	json_object_object_add(o, "writes", json_object_new_int64((int64_t)f->writes));
	json_object_object_add(o, "write_failures", json_object_new_int64((int64_t)f->write_failures));
	json_object_object_add(o, "full_passes", json_object_new_int64((int64_t)f->full_passes));
	json_object_object_add(o, "full_pass_usec_last", json_object_new_int64((int64_t)f->full_pass_cost_usec));
	json_object_object_add(o, "full_pass_usec_max", json_object_new_int64((int64_t)f->full_pass_max_usec));
	json_object_object_add(o, "watches", json_object_new_int64((int64_t)f->nr_watches));
	json_object_object_add(o, "new_cgroups_fenced", json_object_new_int64((int64_t)f->creations));
	json_object_object_add(o, "new_cgroup_usec_last", json_object_new_int64((int64_t)f->last_create_usec));
	json_object_object_add(o, "new_cgroup_usec_max", json_object_new_int64((int64_t)f->max_create_usec));

	json_object_object_add(o, "root_tasks", json_object_new_int64(f->root_tasks));
	json_object_object_add(o, "root_kernel_threads", json_object_new_int64(f->root_kthreads));
	struct json_object *rl = json_object_new_array();
	for (unsigned i = 0; i < f->nr_root_list; i++)
		json_object_array_add(rl, task_json(&f->root_list[i], false));
	json_object_object_add(o, "root_task_list", rl);

	json_object_object_add(o, "intruders_total", json_object_new_int64(f->intruders_total));
	json_object_object_add(o, "intruder_bytes", json_object_new_int64((int64_t)f->intruder_bytes));
	struct json_object *il = json_object_new_array();
	for (unsigned i = 0; i < f->nr_intruders; i++)
		json_object_array_add(il, task_json(&f->intruders[i], true));
	json_object_object_add(o, "intruders", il);
	json_object_object_add(o, "evictions", json_object_new_int64((int64_t)f->evictions));
	json_object_object_add(o, "evicted_bytes", json_object_new_int64((int64_t)f->evicted_bytes));
	json_object_object_add(o, "eviction_failures", json_object_new_int64((int64_t)f->eviction_failures));

	struct json_object *dm = json_object_new_object();
	json_object_object_add(dm, "conflict", json_object_new_boolean(f->conflict.conflict));
	if (f->conflict.conflict)
		json_object_object_add(dm, "why", json_object_new_string(f->conflict.why));
	static const char *const modes[] = { "disable", "evict", "allow" };
	json_object_object_add(dm, "answer", json_object_new_string(modes[d->config->fence_demotion]));
	json_object_object_add(dm, "action", json_object_new_string(f->demotion_action));
	json_object_object_add(dm, "holds_demotion_off", json_object_new_boolean(f->holds_demotion));
	json_object_object_add(o, "demotion", dm);

	struct json_object *la = json_object_new_array();
	for (unsigned i = 0; i < f->last_len; i++)
		json_object_array_add(la, json_object_new_string(f->last[(f->last_head + i) % MAX_LAST]));
	json_object_object_add(o, "last_actions", la);
	return o;
}

void tierd_fence_free(struct tierd *d)
{
	struct tierd_fence *f = d->fence;
	if (!f)
		return;
	sd_event_source_disable_unref(f->io);
	if (f->ifd >= 0)
		close(f->ifd);
	tier_fence_tree_free(f->tree);
	tier_fence_plan_free(f->plan);
	tier_bitmask_free(f->priv);
	tier_bitmask_free(f->with_memory);
	free(f->wd_idx);
	free(f);
	d->fence = NULL;
}

