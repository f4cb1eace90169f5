/* SPDX-License-Identifier: MIT */
/*
 * Private-node fencing in the daemon: keeps a cached copy of the cpuset
 * cgroup tree, plans with the pure planner (lib/fence.c) and applies the
 * plan through the ops table, recording every value it changes in the state
 * file before the write.
 *
 *  - Full passes (walk + plan + apply + prune) are a slow job
 *    (tierd-job.h): at start, every [fence] full_pass, and whenever the
 *    private set, the nodes with memory or the config generation change
 *    (then a pass in progress starts over).  The walk, the planner and the
 *    writes each run in bounded slices; the cache and the plan in use stay
 *    the old ones until the new pass has walked and planned, so new cgroups
 *    are fenced meanwhile as before.
 *  - inotify IN_CREATE on every cgroup directory: the cgroups created since
 *    the last loop iteration (and whatever was created below them before
 *    their watch was in place) are appended to the cache and fenced right
 *    away, as one batch (one save of the state file for the lot).  The watch
 *    table is a hash keyed by watch descriptor; IN_IGNORED (a removed
 *    cgroup) drops the watch, marks the cgroup gone and forgets its entries.
 *  - Batches: the values a batch of writes overwrites are recorded, the
 *    state file is saved ONCE, then the batch is written; right before each
 *    write tierd_state_saved() must hold (else the write is refused and
 *    counted in state_unsaved_writes, which status shows and tests require
 *    to stay 0).
 *  - Plans start from the recorded originals (H in tier/fence.h): a node
 *    leaving the private set is given back in the next pass; with no
 *    private node left at all, a give-back job restores every restriction
 *    fencing holds, and status says "giving back" until none is held.
 *  - systemd backend: AllowedMemoryNodes through asynchronous D-Bus calls
 *    (tierd-systemd.h): read once (cached), recorded, saved, then set; a
 *    pass never waits for PID 1.
 *  - The demotion conflict (a private node is a demotion target of a
 *    non-private node: demotion ignores cpuset.mems) and its answer.
 *  - The audit and eviction: tierd-fence-audit.c.
 */
#include <ctype.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <tier/fence.h>
#include <tier/hashmap.h>
#include "tierd.h"
#include "tierd-cgroup.h"
#include "tierd-fence.h"
#include "tierd-fence-int.h"
#include "tierd-demotion.h"
#include "tierd-log.h"
#include "tierd-systemd.h"

#define AUDIT_EVICT_INTERVAL_USEC (5u * 1000000u) /* demotion = evict: how often to sweep */
#define WALK_STEP 64u            /* cgroups appended between two budget checks */
#define PLAN_STEP 256u           /* planner units between two budget checks */
#define RECORD_STEP 32u          /* originals recorded between two budget checks */
#define INOTIFY_READ_BYTES 8192u /* events read per loop iteration: ~250 creations, one batch */
#define KEY_MAX 4200u

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
		f->watches = tier_map_new(free);
		f->watch_paths = tier_map_new(NULL);
		f->unit_cache = tier_map_new(free);
		f->unit_ops = tier_map_new(NULL);
		if (!f->watches || !f->watch_paths || !f->unit_cache || !f->unit_ops) {
			tier_map_free(f->watches);
			tier_map_free(f->watch_paths);
			tier_map_free(f->unit_cache);
			tier_map_free(f->unit_ops);
			tier_bitmask_free(f->priv);
			tier_bitmask_free(f->with_memory);
			free(f);
			return NULL;
		}
		d->fence = f;
	}
	return d->fence;
}

void tierd_fence_last_action(struct tierd_fence *f, const char *fmt, ...)
{
	va_list ap;
	unsigned idx = (f->last_head + f->last_len) % FENCE_MAX_LAST;
	if (f->last_len == FENCE_MAX_LAST)
		f->last_head = (f->last_head + 1) % FENCE_MAX_LAST;
	else
		f->last_len++;
	va_start(ap, fmt);
	vsnprintf(f->last[idx], sizeof(f->last[idx]), fmt, ap);
	va_end(ap);
}
#define last_action tierd_fence_last_action

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

static void grants_free(struct tierd_fence *f)
{
	for (unsigned i = 0; i < f->nr_grants; i++) {
		free(f->grants[i].name);
		free(f->grants[i].cgroup);
		free(f->grants[i].where);
		tier_bitmask_free(f->grants[i].nodes);
	}
	free(f->grants);
	f->grants = NULL;
	f->nr_grants = 0;
}

/* Own copies of the grants: jobs keep using them across slices, and a
 * reload frees d->config's. */
static void grants_copy(struct tierd_fence *f, const struct tier_config *c)
{
	grants_free(f);
	f->grants = calloc(c->nr_grants ? c->nr_grants : 1, sizeof(*f->grants));
	if (!f->grants)
		return;
	for (unsigned i = 0; i < c->nr_grants; i++) {
		const struct tier_grant *g = &c->grants[i];
		struct tier_grant *o = &f->grants[f->nr_grants];
		o->name = strdup(g->name ? g->name : "");
		o->cgroup = strdup(g->cgroup ? g->cgroup : "");
		o->where = strdup(g->where ? g->where : "");
		o->nodes = tier_nodemask_alloc();
		if (g->nodes)
			tier_bitmask_copy(o->nodes, g->nodes);
		f->nr_grants++;
		if (!o->name || !o->cgroup || !o->where)
			break;
	}
}

static void update_input(struct tierd_fence *f)
{
	f->in.with_memory = f->with_memory;
	f->in.private_nodes = f->priv;
	f->in.grants = f->grants;
	f->in.nr_grants = f->nr_grants;
}

static bool has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += wl)
		if ((p == list || p[-1] == ' ') && (p[wl] == '\0' || p[wl] == ' ' || p[wl] == '\n'))
			return true;
	return false;
}

/* Save the state file now (one batch's records, or the forgets so far).
 * Counted: status shows how many saves fencing made. */
static int commit_state(struct tierd *d, struct tierd_fence *f)
{
	int r = tier_state_commit_at(d->statefd, TIERD_STATE_FILE, d->state);
	if (r < 0)
		log_error("fence: cannot write the state file %s/%s: %s", d->state_dir, TIERD_STATE_FILE,
			  strerror(-r));
	else
		f->state_saves++;
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

/* Entries fencing owns in the state file. */
static bool fence_kind(enum tier_state_kind k)
{
	return k == TIER_STATE_CPUSET_MEMS || k == TIER_STATE_SUBTREE_CONTROL || k == TIER_STATE_UNIT_PROPERTY;
}

static size_t restrictions_held(const struct tierd *d)
{
	size_t n = 0, cur = 0;
	for (const struct tier_state_entry *e; d->state && (e = tier_state_next(d->state, &cur));)
		n += fence_kind(e->kind);
	return n;
}

/* ---- the tree cache: watches and recorded originals -------------------- */

struct visit_ctx {
	struct tierd *d;
	struct tierd_fence *f;
	struct tier_fence_tree *t;
	size_t added;
};

static void watch_add(struct tierd *d, struct tierd_fence *f, const char *cgpath)
{
	char rel[KEY_MAX], abs[KEY_MAX + 256];
	if (f->ifd < 0 || tierd_cgroup_relpath(&f->h, cgpath, NULL, rel, sizeof(rel)) < 0)
		return;
	snprintf(abs, sizeof(abs), "%s%s%s", d->root, d->root[strlen(d->root) - 1] == '/' ? "" : "/", rel);
	/* IN_DELETE too: kernfs keeps a removed cgroup's inode around, so
	 * IN_IGNORED on its own watch may come much later (or never); the
	 * parent's IN_DELETE says at once that it went away. */
	int wd = inotify_add_watch(f->ifd, abs, IN_CREATE | IN_DELETE | IN_ONLYDIR | IN_DONT_FOLLOW);
	if (wd < 0) {
		if (errno != ENOENT && !f->watch_error_logged) {
			log_warning("fence: cannot watch %s (%m): new cgroups there are fenced by the full pass only",
				    abs);
			f->watch_error_logged = true;
		}
		return;
	}
	/* The same inode gives the same descriptor again: replace. */
	char *p = strdup(cgpath);
	if (p && tier_map_put(f->watches, &wd, sizeof(wd), p) < 0) {
		free(p);
		return;
	}
	(void)tier_map_put_str(f->watch_paths, cgpath, (void *)(intptr_t)wd);
}

/* Forget the watch of a cgroup that went away (both directions). */
static void watch_drop(struct tierd_fence *f, int wd, const char *cgpath, bool rm)
{
	if (cgpath) {
		void *v = tier_map_get_str(f->watch_paths, cgpath);
		if (v && wd < 0)
			wd = (int)(intptr_t)v;
		if (v && (int)(intptr_t)v == wd)
			tier_map_del_str(f->watch_paths, cgpath);
	}
	if (wd < 0)
		return;
	if (rm && f->ifd >= 0)
		(void)inotify_rm_watch(f->ifd, wd);   /* its IN_IGNORED then finds nothing */
	tier_map_del(f->watches, &wd, sizeof(wd));
}

/* H(c) from the state file: tierd changed c before, the original is the
 * host's value. */
static void host_from_state(struct tierd *d, struct tierd_fence *f, struct tier_fence_tree *t, size_t idx)
{
	char key[KEY_MAX], unit[256];
	const struct tier_state_entry *e = NULL;
	const char *path = t->cg[idx].path;
	if (!d->state || !d->state->nr)
		return;
	if (tierd_cgroup_relpath(&f->h, path, "cpuset.mems", key, sizeof(key)) == 0)
		e = tier_state_find(d->state, TIER_STATE_CPUSET_MEMS, key);
	if (!e && unit_of(path, unit, sizeof(unit))) {
		snprintf(key, sizeof(key), "%s/AllowedMemoryNodes", unit);
		e = tier_state_find(d->state, TIER_STATE_UNIT_PROPERTY, key);
	}
	if (e && tier_fence_tree_set_host(t, idx, e->original) < 0)
		log_warning("fence: the recorded original '%s' of %s is no node list: planning from its current value",
			    e->original, path);
}

static void on_visit(void *ctx, size_t idx)
{
	struct visit_ctx *v = ctx;
	watch_add(v->d, v->f, v->t->cg[idx].path);
	host_from_state(v->d, v->f, v->t, idx);
	v->added++;
}

/* ---- systemd units: asynchronous AllowedMemoryNodes -------------------- */

enum unit_state { U_READ, U_READING, U_READY, U_SETTING };

struct unit_op {
	struct tierd_fence *f;   /* NULL: fencing was freed; the reply frees the op */
	struct tierd *d;
	enum unit_state st;
	bool give_back;          /* value is the recorded original: forget on success */
	char unit[256];
	char key[300];
	char *value;             /* what the property must become */
	char *cgpath;            /* the cgroup it is, for the cache */
	char why[64];
	struct unit_op *next;
};

static void unit_op_free(struct unit_op *op)
{
	if (!op)
		return;
	free(op->value);
	free(op->cgpath);
	free(op);
}

/* Drop op from fencing's lists (it stays allocated if a call is pending). */
static void unit_op_unlink(struct tierd_fence *f, struct unit_op *op)
{
	for (struct unit_op **pp = &f->unit_list; *pp; pp = &(*pp)->next)
		if (*pp == op) {
			*pp = op->next;
			break;
		}
	if (tier_map_get_str(f->unit_ops, op->unit) == op)
		tier_map_del_str(f->unit_ops, op->unit);
	op->next = NULL;
}

/* The cache follows what systemd will realize into cpuset.mems. */
static void unit_tree_update(struct tierd_fence *f, const char *cgpath, const char *value)
{
	int idx = f->tree ? tier_fence_tree_find(f->tree, cgpath) : -1;
	if (idx < 0)
		return;
	struct tier_fence_cgroup *c = &f->tree->cg[idx];
	if (tier_bitmask_parse_list(value, c->mems) == 0 && value[0])
		c->has_mems = true;
	f->counts_dirty = true;
}

static void unit_cache_set(struct tierd_fence *f, const char *unit, const char *value)
{
	char *v = strdup(value);
	if (v && tier_map_put_str(f->unit_cache, unit, v) < 0)
		free(v);
}

/* After the loop ended, the restore at stop owns the state: a late answer
 * to a fencing call (flushed by the restore's own calls) changes nothing. */
static bool loop_finished(const struct tierd *d)
{
	return d->event && sd_event_get_state(d->event) == SD_EVENT_FINISHED;
}

/* An answer with no fencing left (freed) or after the loop ended: drop the
 * operation and say so (true). */
static bool unit_op_late(struct unit_op *op)
{
	if (op->f && !loop_finished(op->d))
		return false;
	if (op->f)
		unit_op_unlink(op->f, op);
	unit_op_free(op);
	return true;
}

static void on_unit_set(void *userdata, int result, const char *value)
{
	struct unit_op *op = userdata;
	struct tierd_fence *f = op->f;
	struct tierd *d = op->d;
	if (unit_op_late(op))
		return;
	unit_op_unlink(f, op);
	if (result < 0) {
		if (result != -ENOENT) {
			f->write_failures++;
			f->unit_failures++;
			log_warning("fence: setting AllowedMemoryNodes=%s on %s failed: %s (retried by the next full pass)",
				    op->value, op->unit, strerror(-result));
			last_action(f, "%s AllowedMemoryNodes := %s failed: %s", op->unit, op->value, strerror(-result));
			tierd_record_action(d, "fence", op->key, op->value, op->why, result);
		}
		unit_op_free(op);
		return;
	}
	f->writes++;
	f->unit_sets++;
	unit_cache_set(f, op->unit, value);
	unit_tree_update(f, op->cgpath, value);
	log_debug("fence: set AllowedMemoryNodes=%s on %s", value, op->unit);
	last_action(f, "%s AllowedMemoryNodes := %s (%s)", op->unit, value, op->why);
	tierd_record_action(d, "fence", op->key, value, op->why, 0);
	const struct tier_state_entry *e = tier_state_find(d->state, TIER_STATE_UNIT_PROPERTY, op->key);
	if (e && (op->give_back || strcmp(e->original, value) == 0)) {
		tier_state_forget(d->state, TIER_STATE_UNIT_PROPERTY, op->key);
		if (op->give_back)
			f->given_back++;
		/* saved with the next batch, or now when nothing else will */
		if (!f->unit_list)
			commit_state(d, f);
	}
	unit_op_free(op);
}

static void on_unit_read(void *userdata, int result, const char *value)
{
	struct unit_op *op = userdata;
	struct tierd_fence *f = op->f;
	struct tierd *d = op->d;
	if (unit_op_late(op))
		return;
	f->unit_reads++;
	if (result < 0) {
		unit_op_unlink(f, op);
		if (result != -ENOENT) {
			f->unit_failures++;
			log_warning("fence: reading AllowedMemoryNodes of %s failed: %s (retried by the next full pass)",
				    op->unit, strerror(-result));
		}
		unit_op_free(op);
		return;
	}
	unit_cache_set(f, op->unit, value);
	if (strcmp(value, op->value) == 0) {
		/* already so: a record of the host's value is owed nothing */
		const struct tier_state_entry *e = tier_state_find(d->state, TIER_STATE_UNIT_PROPERTY, op->key);
		if (e && (op->give_back || strcmp(e->original, value) == 0)) {
			tier_state_forget(d->state, TIER_STATE_UNIT_PROPERTY, op->key);
			if (!f->unit_list || (f->unit_list == op && !op->next))
				commit_state(d, f);
		}
		unit_op_unlink(f, op);
		unit_op_free(op);
		return;
	}
	if (!op->give_back) {
		int r = tier_state_record(d->state, TIER_STATE_UNIT_PROPERTY, op->key, value, tierd_now_real_usec());
		if (r < 0) {
			log_error("fence: cannot record %s: %s", op->key, strerror(-r));
			unit_op_unlink(f, op);
			unit_op_free(op);
			return;
		}
	}
	op->st = U_READY;
	tierd_job_start(d, &f->unit_job);
}

/* One slice of the unit pipeline: queue the reads, save the records of the
 * values read (once for all), then queue the sets. */
static enum tierd_job_status unit_step(struct tierd *d, struct tierd_budget *b, void *ctx)
{
	struct tierd_fence *f = ctx;
	(void)b;
	for (int round = 0; round < (d->once ? 2 : 1); round++) {
		for (struct unit_op *op = f->unit_list, *next; op; op = next) {
			next = op->next;
			if (op->st != U_READ)
				continue;
			const char *cached = tier_map_get_str(f->unit_cache, op->unit);
			if (cached) {
				/* what PID 1 said last: no second read */
				op->st = U_READING;
				f->unit_reads--;   /* counted by on_unit_read: not a read */
				on_unit_read(op, 0, cached);
				continue;
			}
			int r = d->ops->unit_get_property(op->unit, "AllowedMemoryNodes", on_unit_read, op);
			if (r < 0) {
				f->unit_failures++;
				log_warning("fence: cannot ask PID 1 for %s: %s (retried by the next full pass)", op->unit,
					    strerror(-r));
				unit_op_unlink(f, op);
				unit_op_free(op);
				continue;
			}
			op->st = U_READING;
		}
		if (d->once)
			d->ops->unit_flush(3u * TIERD_BUS_TIMEOUT_USEC);
		bool need_save = false;
		for (struct unit_op *op = f->unit_list; op; op = op->next)
			if (op->st == U_READY && !op->give_back &&
			    !tier_state_saved(d->state, TIER_STATE_UNIT_PROPERTY, op->key))
				need_save = true;
		if (need_save && commit_state(d, f) < 0) {
			/* Never set what could not be saved: drop the batch. */
			for (struct unit_op *op = f->unit_list, *next; op; op = next) {
				next = op->next;
				if (op->st != U_READY)
					continue;
				unit_op_unlink(f, op);
				unit_op_free(op);
			}
			tierd_record_action(d, "fence", "", NULL, "state file not writable: fencing nothing", -EIO);
			return TIERD_JOB_DONE;
		}
		for (struct unit_op *op = f->unit_list, *next; op; op = next) {
			next = op->next;
			if (op->st != U_READY)
				continue;
			if (!op->give_back && !tier_state_saved(d->state, TIER_STATE_UNIT_PROPERTY, op->key)) {
				f->state_unsaved_writes++;
				log_error("fence: BUG: %s is not saved in the state file: not writing it", op->key);
				unit_op_unlink(f, op);
				unit_op_free(op);
				continue;
			}
			int r = d->ops->unit_set_property(op->unit, "AllowedMemoryNodes", op->value, on_unit_set, op);
			if (r < 0) {
				f->write_failures++;
				f->unit_failures++;
				log_warning("fence: cannot queue AllowedMemoryNodes=%s for %s: %s", op->value, op->unit,
					    strerror(-r));
				unit_op_unlink(f, op);
				unit_op_free(op);
				continue;
			}
			op->st = U_SETTING;
		}
		if (d->once)
			d->ops->unit_flush(3u * TIERD_BUS_TIMEOUT_USEC);
	}
	return TIERD_JOB_DONE;
}

/* Ask for AllowedMemoryNodes=value on unit (latest wins while one is in
 * flight).  The unit job reads, records, saves and sets. */
static void unit_enqueue(struct tierd *d, struct tierd_fence *f, const char *unit, const char *cgpath,
			 const char *value, bool give_back, const char *why)
{
	struct unit_op *op = tier_map_get_str(f->unit_ops, unit);
	if (op && op->st != U_SETTING) {
		char *v = strdup(value);
		if (v) {
			free(op->value);
			op->value = v;
			op->give_back = give_back;
			snprintf(op->why, sizeof(op->why), "%s", why);
		}
		return;
	}
	if (op)
		unit_op_unlink(f, op);   /* a set in flight: its reply still comes; this one follows */
	op = calloc(1, sizeof(*op));
	if (!op)
		return;
	op->f = f;
	op->d = d;
	op->give_back = give_back;
	snprintf(op->unit, sizeof(op->unit), "%s", unit);
	snprintf(op->key, sizeof(op->key), "%s/AllowedMemoryNodes", unit);
	snprintf(op->why, sizeof(op->why), "%s", why);
	op->value = strdup(value);
	op->cgpath = strdup(cgpath ? cgpath : "");
	if (!op->value || !op->cgpath || tier_map_put_str(f->unit_ops, op->unit, op) < 0) {
		unit_op_free(op);
		return;
	}
	op->next = f->unit_list;
	f->unit_list = op;
	tierd_job_start(d, &f->unit_job);
}

/* ---- applying ops in batches ------------------------------------------- */

struct pending {
	enum tier_state_kind kind;
	char *key, *value;
	bool skip, recorded_new;
};

static void pending_free(struct pending *pd, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(pd[i].key);
		free(pd[i].value);
	}
	free(pd);
}

/* What op changes: key, value, and its original recorded (not saved). */
static int op_target(struct tierd *d, struct tierd_fence *f, const struct tier_fence_op *op, struct pending *pd,
		     const char *why)
{
	const struct tier_fence_cgroup *c = &f->tree->cg[op->cg];
	char cur[512], key[KEY_MAX], unit[256];
	int r;

	memset(pd, 0, sizeof(*pd));
	if (op->kind == TIER_FENCE_OP_ENABLE_CPUSET) {
		pd->kind = TIER_STATE_SUBTREE_CONTROL;
		/* systemd enables cpuset itself for units with AllowedMemoryNodes */
		if (f->use_systemd && (unit_of(c->path, unit, sizeof(unit)) || op->cg == 0)) {
			pd->skip = true;
			return 0;
		}
		r = tierd_cgroup_relpath(&f->h, c->path, "cgroup.subtree_control", key, sizeof(key));
		if (r < 0)
			return r;
		r = d->ops->read_attr(d->rootfd, key, cur, sizeof(cur));
		if (r < 0)
			return r;
		pd->key = strdup(key);
		pd->value = strdup("+cpuset");
		if (!pd->key || !pd->value)
			return -ENOMEM;
		if (has_word(cur, "cpuset")) {
			pd->skip = true;
			return 0;
		}
	} else {
		pd->kind = TIER_STATE_CPUSET_MEMS;
		r = tierd_cgroup_relpath(&f->h, c->path, "cpuset.mems", key, sizeof(key));
		if (r < 0)
			return r;
		/* The value in a buffer sized for it: a long sparse list is
		 * never cut (tier/nodemask.h). */
		pd->value = tier_bitmask_format_alloc(op->mems);
		if (!pd->value)
			return -ENOMEM;
		if (f->use_systemd && unit_of(c->path, unit, sizeof(unit))) {
			if (op->give_back) {
				char ukey[300];
				snprintf(ukey, sizeof(ukey), "%s/AllowedMemoryNodes", unit);
				const struct tier_state_entry *e = tier_state_find(d->state, TIER_STATE_UNIT_PROPERTY, ukey);
				char *v = e ? strdup(e->original) : NULL;
				if (v) {
					free(pd->value);
					pd->value = v;
				}
			}
			if (!tierd_dry_run(d))
				unit_enqueue(d, f, unit, c->path, pd->value, op->give_back, why);
			else
				f->pending_dry_run++;
			pd->skip = true;
			return 0;
		}
		if (op->give_back) {
			/* the recorded original, exactly ("" = v2 inherit) */
			const struct tier_state_entry *e = tier_state_find(d->state, TIER_STATE_CPUSET_MEMS, key);
			if (e) {
				char *v = strdup(e->original);
				if (!v)
					return -ENOMEM;
				free(pd->value);
				pd->value = v;
			}
		}
		pd->key = strdup(key);
		if (!pd->key)
			return -ENOMEM;
		/* The cache was read from the file in this pass (walk or
		 * inotify) or follows tierd's own writes, and the kernel prints
		 * lists canonically: no second read per cgroup. */
		char *now = c->has_mems ? tier_bitmask_format_alloc(c->mems) : strdup("");
		if (!now)
			return -ENOMEM;
		bool same = strcmp(now, pd->value) == 0;
		if (same) {
			free(now);
			pd->skip = true;
			return 0;
		}
		if (!tierd_dry_run(d)) {
			r = tier_state_record(d->state, pd->kind, pd->key, now, tierd_now_real_usec());
			free(now);
			if (r < 0)
				return r;
			pd->recorded_new = r == 1;
		} else {
			free(now);
		}
		return 0;
	}
	if (tierd_dry_run(d))
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
	if (pd->kind == TIER_STATE_SUBTREE_CONTROL)
		return d->ops->cgroup_write(d->rootfd, &f->h, c->path, "cgroup.subtree_control", "+cpuset");
	return d->ops->cgroup_write(d->rootfd, &f->h, c->path, "cpuset.mems", pd->value);
}

/* The tree after a successful op (the cache follows the host). */
static void op_done(struct tierd_fence *f, const struct tier_fence_op *op, const char *value)
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
		struct tier_fence_cgroup *c = &t->cg[op->cg];
		if (tier_bitmask_parse_list(value, c->mems) < 0)
			tier_bitmask_copy(c->mems, op->mems);
		if (op->give_back) {
			tier_bitmask_free(c->host);
			c->host = NULL;
			c->host_inherit = false;
		}
	}
}

struct batch_result {
	size_t ok, failed;
	bool save_failed;
	const char *first_key;
};

/* Phase 1 of a batch: what each op changes, its original recorded (not
 * saved yet).  Returns whether anything new was recorded. */
static bool batch_record(struct tierd *d, struct tierd_fence *f, const struct tier_fence_op *ops, size_t nr,
			 struct pending *pd, const char *why, struct batch_result *res)
{
	bool any_new = false;
	for (size_t k = 0; k < nr; k++) {
		int r = op_target(d, f, &ops[k], &pd[k], why);
		if (r < 0) {
			pd[k].skip = true;
			if (r != -ENOENT && r != -ENODEV) {
				log_warning("fence: %s: %s", f->tree->cg[ops[k].cg].path, strerror(-r));
				res->failed++;
			}
		}
		any_new |= pd[k].recorded_new;
	}
	return any_new;
}

/* Phase 2: saved once, BEFORE anything is written (a crash after a write
 * still finds the original).  On failure the new records are dropped and
 * nothing of the batch may be written. */
static bool batch_save(struct tierd *d, struct tierd_fence *f, struct pending *pd, size_t nr, struct batch_result *res)
{
	if (commit_state(d, f) == 0)
		return true;
	for (size_t k = 0; k < nr; k++)
		if (pd[k].recorded_new)
			tier_state_forget(d->state, pd[k].kind, pd[k].key);
	tierd_record_action(d, "fence", "", NULL, "state file not writable: fencing nothing", -EIO);
	res->save_failed = true;
	return false;
}

/* Phase 3: written in the plan's order. */
static void batch_write(struct tierd *d, struct tierd_fence *f, const struct tier_fence_op *ops, size_t nr,
			struct pending *pd, const char *why, struct batch_result *res)
{
	bool dry = tierd_dry_run(d);
	for (size_t k = 0; k < nr; k++) {
		const struct tier_fence_op *op = &ops[k];
		const char *path = f->tree->cg[op->cg].path;
		if (pd[k].skip)
			continue;
		if (dry) {
			log_debug("fence: dry-run: would write %s to /%s", pd[k].value, pd[k].key);
			last_action(f, "dry-run: %s %s := %s", path, pd[k].kind == TIER_STATE_SUBTREE_CONTROL ?
				    "cgroup.subtree_control" : "cpuset.mems", pd[k].value);
			f->pending_dry_run++;
			res->ok++;
			continue;
		}
		/* The invariant: the host's value is in the file before the
		 * file's write.  Never true-by-construction only. */
		if (!tier_state_saved(d->state, pd[k].kind, pd[k].key)) {
			f->state_unsaved_writes++;
			log_error("fence: BUG: %s is not saved in the state file: not writing it", pd[k].key);
			res->failed++;
			continue;
		}
		int r = op_write(d, f, op, &pd[k]);
		if (r == 0) {
			res->ok++;
			if (!res->first_key)
				res->first_key = path;
			f->writes++;
			op_done(f, op, pd[k].value);
			log_debug("fence: wrote %s to %s%s%s", pd[k].value, pd[k].key, op->interim ? " (widening first)" : "",
				  op->give_back ? " (given back)" : "");
			last_action(f, "%s %s := %s (%s%s)", path,
				    pd[k].kind == TIER_STATE_SUBTREE_CONTROL ? "cgroup.subtree_control" : "cpuset.mems",
				    pd[k].value, why, op->give_back ? ", given back" : "");
			/* Back at the host's own value: nothing to restore (saved
			 * lazily, with the next batch or at the pass's end). */
			if (pd[k].kind == TIER_STATE_CPUSET_MEMS) {
				const struct tier_state_entry *e = tier_state_find(d->state, pd[k].kind, pd[k].key);
				if (e && (op->give_back || strcmp(e->original, pd[k].value) == 0)) {
					tier_state_forget(d->state, pd[k].kind, pd[k].key);
					if (op->give_back)
						f->given_back++;
				}
			}
		} else if (r != -ENOENT && r != -ENODEV) {
			/* (ENOENT, ENODEV: the cgroup was removed meanwhile, an
			 * expected event, not an error) */
			res->failed++;
			f->write_failures++;
			log_warning("fence: writing %s to /%s failed: %s", pd[k].value, pd[k].key, strerror(-r));
			last_action(f, "%s := %s failed: %s", path, pd[k].value, strerror(-r));
			tierd_record_action(d, "fence", pd[k].key, pd[k].value, why, r);
		}
	}
	f->counts_dirty = true;
}

/*
 * One batch: the originals of every op are recorded, the state file is
 * saved once, then the ops are written in order.  ops index f->tree.
 */
static void apply_batch(struct tierd *d, struct tierd_fence *f, const struct tier_fence_op *ops, size_t nr,
			const char *why, struct batch_result *res)
{
	struct pending *pd = nr ? calloc(nr, sizeof(*pd)) : NULL;
	if (!nr || !pd)
		return;
	if (!batch_record(d, f, ops, nr, pd, why, res) || batch_save(d, f, pd, nr, res))
		batch_write(d, f, ops, nr, pd, why, res);
	pending_free(pd, nr);
}

static void report_writes(struct tierd *d, struct tierd_fence *f, const struct batch_result *res, const char *why)
{
	bool dry = tierd_dry_run(d);
	(void)f;
	if (!res->ok && !res->failed)
		return;
	struct tierd_field fl[3];
	tierd_field_set(&fl[0], "TIERD_FENCE_WRITES", "%zu", res->ok);
	tierd_field_set(&fl[1], "TIERD_FENCE_FAILED", "%zu", res->failed);
	tierd_field_set(&fl[2], "TIERD_FENCE_REASON", "%s", why);
	tierd_event(res->failed ? LOG_WARNING : LOG_INFO, TIERD_MID_FENCE, fl, 3, "fence (%s): %s%zu change(s), %zu failed",
		    why, dry ? "dry-run: would make " : "", res->ok, res->failed);
	char reason[128];
	snprintf(reason, sizeof(reason), "%s: %zu change(s)%s", why, res->ok, dry ? " (dry-run)" : "");
	if (res->ok)
		tierd_record_action(d, "fence", res->ok == 1 && res->first_key ? res->first_key : "cpuset.mems", NULL,
				    reason, 0);
}

/* ---- full passes: a slow job ------------------------------------------- */

enum pass_phase { P_IDLE, P_WALK, P_PLAN, P_RECORD, P_APPLY, P_FREE, P_PRUNE };

struct fence_pass {
	struct tierd_job job;
	struct tierd *d;
	struct tierd_fence *f;
	enum pass_phase phase;
	char why[64];
	uint64_t t0_mono;
	struct tier_fence_tree *tree;        /* being walked (not the live one yet) */
	struct tierd_cgroup_walk *walk;
	struct tier_fence_planner *planner;
	struct tier_fence_op *ops;
	size_t nr_ops, next_op;
	struct pending *pd;                  /* [nr_ops]: the whole pass is one batch */
	struct tier_fence_tree *old_tree;    /* the cache and plan the pass replaced, */
	struct tier_fence_plan *old_plan;    /* freed in slices (P_FREE) */
	size_t free_cursor;
	size_t prune_cursor, pruned;
	bool any_new;
	struct batch_result res;
	char **created;                      /* cgroups inotify reported during WALK/PLAN */
	size_t nr_created, cap_created;
	uint64_t walk_usec, plan_usec, apply_usec;
};

static void pass_reset(struct tierd *d, struct fence_pass *p)
{
	tier_fence_tree_free(p->old_tree);
	p->old_tree = NULL;
	tier_fence_plan_free(p->old_plan);
	p->old_plan = NULL;
	p->free_cursor = 0;
	p->prune_cursor = p->pruned = 0;
	if (p->walk)
		d->ops->cgroup_walk_free(p->walk);
	p->walk = NULL;
	tier_fence_planner_free(p->planner);
	p->planner = NULL;
	tier_fence_tree_free(p->tree);
	p->tree = NULL;
	if (p->pd)
		pending_free(p->pd, p->nr_ops);
	p->pd = NULL;
	p->any_new = false;
	tier_fence_ops_free(p->ops, p->nr_ops);
	p->ops = NULL;
	p->nr_ops = p->next_op = 0;
	for (size_t i = 0; i < p->nr_created; i++)
		free(p->created[i]);
	p->nr_created = 0;
	memset(&p->res, 0, sizeof(p->res));
	p->phase = P_IDLE;
}

static void pass_note_created(struct fence_pass *p, const char *parent, const char *name)
{
	if (!p || (p->phase != P_WALK && p->phase != P_PLAN))
		return;
	if (p->nr_created == p->cap_created) {
		size_t nc = p->cap_created ? 2 * p->cap_created : 16;
		char **n = realloc(p->created, nc * sizeof(*n));
		if (!n)
			return;
		p->created = n;
		p->cap_created = nc;
	}
	char *s;
	if (asprintf(&s, "%s%s%s", parent, strcmp(parent, "/") ? "/" : "", name) >= 0)
		p->created[p->nr_created++] = s;
}

/* Walk the subtree NAME under parent idx of t into t, whole (it is new and
 * small: a cgroup inotify reported). */
static int walk_subtree(struct tierd *d, struct tierd_fence *f, struct tier_fence_tree *t, int parent,
			const char *name, size_t *added)
{
	struct visit_ctx v = { .d = d, .f = f, .t = t };
	struct tierd_cgroup_walk *w = NULL;
	int r;
	while ((r = d->ops->cgroup_walk(d->rootfd, &f->h, t, parent, name, &w, SIZE_MAX, on_visit, &v)) == 1)
		;
	*added += v.added;
	return r;
}

/* The new tree and plan become the live ones; cgroups inotify saw while
 * the pass walked are added to it (and planned by extension). */
static void pass_swap(struct tierd *d, struct tierd_fence *f, struct fence_pass *p, struct tier_fence_plan *plan)
{
	tier_fence_plan_take_ops(plan, &p->ops, &p->nr_ops);
	p->next_op = 0;
	size_t added = 0;
	for (size_t i = 0; i < p->nr_created; i++) {
		if (tier_fence_tree_find(p->tree, p->created[i]) >= 0)
			continue;
		char *slash = strrchr(p->created[i], '/');
		if (!slash)
			continue;
		*slash = '\0';
		int par = tier_fence_tree_find(p->tree, slash == p->created[i] ? "/" : p->created[i]);
		if (par >= 0)
			(void)walk_subtree(d, f, p->tree, par, slash + 1, &added);
		*slash = '/';
	}
	/* the old pair is freed in slices later (P_FREE) */
	tier_fence_tree_free(p->old_tree);
	tier_fence_plan_free(p->old_plan);
	p->old_tree = f->tree;
	p->old_plan = f->plan;
	p->free_cursor = 0;
	f->tree = p->tree;
	p->tree = NULL;
	f->plan = plan;
	f->counts_dirty = true;
	if (added && !plan->error) {
		int r = tier_fence_plan_extend(plan, f->tree, &f->in);
		if (r == 0 && plan->nr_ops) {
			struct tier_fence_op *more;
			size_t nr_more;
			tier_fence_plan_take_ops(plan, &more, &nr_more);
			struct tier_fence_op *all = realloc(p->ops, (p->nr_ops + nr_more) * sizeof(*all));
			if (all) {
				memcpy(all + p->nr_ops, more, nr_more * sizeof(*more));
				p->ops = all;
				p->nr_ops += nr_more;
				free(more);
			} else {
				tier_fence_ops_free(more, nr_more);
				f->full_pass_wanted = true;
			}
		} else if (r < 0) {
			f->full_pass_wanted = true;
		}
	}
}

/* Is the state entry's cgroup gone?  (prune) */
struct prune_ctx {
	struct tierd *d;
	struct tierd_fence *f;
	size_t mount_len;
};

static bool entry_gone(void *ctx, const struct tier_state_entry *e)
{
	struct prune_ctx *pc = ctx;
	struct tierd_fence *f = pc->f;
	const char *file;
	if (e->kind == TIER_STATE_CPUSET_MEMS)
		file = "/cpuset.mems";
	else if (e->kind == TIER_STATE_SUBTREE_CONTROL)
		file = "/cgroup.subtree_control";
	else
		return false;
	size_t kl = strlen(e->key), fl = strlen(file);
	if (kl < pc->mount_len + fl || strncmp(e->key, f->h.mount, pc->mount_len) != 0 ||
	    (e->key[pc->mount_len] != '/') || strcmp(e->key + kl - fl, file) != 0)
		return false;   /* not of this hierarchy: not ours to judge */
	char path[KEY_MAX];
	size_t n = kl - fl - pc->mount_len;
	if (n >= sizeof(path))
		return false;
	memcpy(path, e->key + pc->mount_len, n);
	path[n] = '\0';
	if (!path[0])
		snprintf(path, sizeof(path), "/");
	if (f->tree && tier_fence_tree_find(f->tree, path) >= 0)
		return false;
	/* not in the cache: ask the file system (made after the walk?) */
	return faccessat(pc->d->rootfd, e->key, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
}

static void pass_finish(struct tierd *d, struct tierd_fence *f, struct fence_pass *p)
{
	if (p->pruned)
		log_debug("fence: %zu state entr%s of removed cgroups pruned", p->pruned, p->pruned == 1 ? "y" : "ies");
	if (d->state->dirty && !tierd_dry_run(d))
		commit_state(d, f);
	report_writes(d, f, &p->res, p->why);
	f->full_passes++;
	/* (this slice is not counted yet: the job adds it when it returns) */
	f->full_pass_cost_usec = p->job.run_usec;
	f->full_pass_slices_last = p->job.slices_in_run + 1;
	f->full_pass_wall_usec_last = tierd_now_mono_usec() - p->t0_mono;
	if (f->full_pass_cost_usec > f->full_pass_max_usec)
		f->full_pass_max_usec = f->full_pass_cost_usec;
	log_debug("fence: full pass (%s): %zu cgroups, %zu were unfenced, %llu us in %llu slices over %llu us "
		  "(walk %llu, plan %llu, apply %llu)", p->why, f->tree ? f->tree->nr : 0,
		  f->plan ? f->plan->nr_unfenced : 0, (unsigned long long)f->full_pass_cost_usec,
		  (unsigned long long)f->full_pass_slices_last, (unsigned long long)f->full_pass_wall_usec_last,
		  (unsigned long long)p->walk_usec, (unsigned long long)p->plan_usec, (unsigned long long)p->apply_usec);
	pass_reset(d, p);
}

static enum tierd_job_status pass_step_(struct tierd *d, struct tierd_budget *b, void *ctx);

static uint64_t cpu_now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A slice far over its budget is worth a debug line saying which phase. */
static enum tierd_job_status pass_step(struct tierd *d, struct tierd_budget *b, void *ctx)
{
	struct fence_pass *p = ctx;
	enum pass_phase ph = p->phase;
	uint64_t c0 = cpu_now_usec();
	enum tierd_job_status st = pass_step_(d, b, ctx);
	uint64_t cpu = cpu_now_usec() - c0;
	if (cpu > 2 * TIERD_SLICE_USEC) {
		static const char *const names[] = { "start", "walk", "plan", "record", "apply", "free", "prune" };
		log_debug("fence: a full-pass slice (%s) took %llu us of CPU", names[ph], (unsigned long long)cpu);
	}
	return st;
}

static enum tierd_job_status pass_step_(struct tierd *d, struct tierd_budget *b, void *ctx)
{
	struct fence_pass *p = ctx;
	struct tierd_fence *f = p->f;
	uint64_t t0 = tierd_now_mono_usec();
	int r;

	if (d->paused || !f->have_hier) {
		pass_reset(d, p);
		f->full_pass_wanted = true;
		return TIERD_JOB_DONE;
	}
	switch (p->phase) {
	case P_IDLE:
		p->t0_mono = t0;
		p->tree = tier_fence_tree_new(f->h.version);
		if (!p->tree)
			return TIERD_JOB_DONE;
		p->phase = P_WALK;
		f->last_full_mono = t0;
		f->full_pass_wanted = false;
		f->pending_dry_run = 0;
		/* fall through */
	case P_WALK: {
		struct visit_ctx v = { .d = d, .f = f, .t = p->tree };
		do {
			r = d->ops->cgroup_walk(d->rootfd, &f->h, p->tree, -1, NULL, &p->walk, WALK_STEP, on_visit, &v);
			tierd_budget_use(b, v.added);
			v.added = 0;
		} while (r == 1 && tierd_budget_left(b));
		p->walk_usec += tierd_now_mono_usec() - t0;
		if (r == 1)
			return TIERD_JOB_MORE;
		if (r < 0) {
			set_problem(f, "cannot walk the cgroup hierarchy /%s: %s", f->h.mount, strerror(-r));
			f->have_hier = false; /* rediscover next time */
			pass_reset(d, p);
			return TIERD_JOB_DONE;
		}
		r = tier_fence_plan_begin(p->tree, &f->in, &p->planner);
		if (r < 0) {
			log_error("fence: out of memory planning");
			pass_reset(d, p);
			return TIERD_JOB_DONE;
		}
		p->phase = P_PLAN;
		return TIERD_JOB_MORE;
	}
	case P_PLAN: {
		do {
			r = tier_fence_plan_step(p->planner, PLAN_STEP);
			tierd_budget_use(b, PLAN_STEP / 8);
		} while (r == 1 && tierd_budget_left(b));
		p->plan_usec += tierd_now_mono_usec() - t0;
		if (r == 1)
			return TIERD_JOB_MORE;
		if (r < 0) {
			log_error("fence: out of memory planning");
			pass_reset(d, p);
			return TIERD_JOB_DONE;
		}
		struct tier_fence_plan *plan = tier_fence_plan_finish(p->planner);
		p->planner = NULL;
		if (plan->error)
			set_problem(f, "%s", plan->message);
		else if (f->problem[0])
			set_problem(f, "%s", "");
		pass_swap(d, f, p, plan);
		p->pd = p->nr_ops ? calloc(p->nr_ops, sizeof(*p->pd)) : NULL;
		if (p->nr_ops && !p->pd) {
			pass_reset(d, p);
			return TIERD_JOB_DONE;
		}
		p->next_op = 0;
		p->phase = P_RECORD;
		return TIERD_JOB_MORE;
	}
	case P_RECORD:
		/* The whole pass is one batch: every original recorded (in
		 * slices: memory only, and a read of subtree_control), ONE save,
		 * then the writes in slices. */
		while (p->next_op < p->nr_ops && tierd_budget_left(b)) {
			size_t n = p->nr_ops - p->next_op;
			if (n > RECORD_STEP)
				n = RECORD_STEP;
			p->any_new |= batch_record(d, f, p->ops + p->next_op, n, p->pd + p->next_op, p->why, &p->res);
			p->next_op += n;
			tierd_budget_use(b, n);
		}
		if (p->next_op < p->nr_ops)
			return TIERD_JOB_MORE;
		if (p->any_new)
			(void)batch_save(d, f, p->pd, p->nr_ops, &p->res);   /* failed: P_APPLY writes nothing */
		p->next_op = 0;
		p->phase = P_APPLY;
		p->apply_usec += tierd_now_mono_usec() - t0;
		return TIERD_JOB_MORE;
	case P_APPLY:
		/* one write at a time: a write through libcgroup costs up to a
		 * few hundred microseconds (and a cgroup_mutex the host may hold) */
		while (!p->res.save_failed && p->next_op < p->nr_ops && tierd_budget_left(b)) {
			batch_write(d, f, p->ops + p->next_op, 1, p->pd + p->next_op, p->why, &p->res);
			p->next_op++;
			tierd_budget_use(b, 1);
		}
		p->apply_usec += tierd_now_mono_usec() - t0;
		if (!p->res.save_failed && p->next_op < p->nr_ops)
			return TIERD_JOB_MORE;
		p->phase = P_FREE;
		return TIERD_JOB_MORE;
	case P_FREE:
		/* the replaced cache and plan, a few thousand entries a slice */
		while (p->old_plan && tierd_budget_left(b)) {
			tierd_budget_use(b, 16);
			if (tier_fence_plan_free_some(p->old_plan, &p->free_cursor, 2048)) {
				p->old_plan = NULL;
				p->free_cursor = 0;
			}
		}
		while (!p->old_plan && p->old_tree && tierd_budget_left(b)) {
			tierd_budget_use(b, 16);
			if (tier_fence_tree_free_some(p->old_tree, &p->free_cursor, 2048)) {
				p->old_tree = NULL;
				p->free_cursor = 0;
			}
		}
		if (p->old_plan || p->old_tree)
			return TIERD_JOB_MORE;
		p->phase = P_PRUNE;
		return TIERD_JOB_MORE;
	case P_PRUNE: {
		/* entries of cgroups that no longer exist, in steps */
		struct prune_ctx pc = { .d = d, .f = f, .mount_len = strlen(f->h.mount) };
		bool done = tierd_dry_run(d);
		while (!done && tierd_budget_left(b)) {
			size_t before = p->pruned;
			done = tier_state_prune_some(d->state, entry_gone, &pc, &p->prune_cursor, 1024, &p->pruned);
			f->state_pruned += p->pruned - before;
			tierd_budget_use(b, 64);
		}
		if (!done)
			return TIERD_JOB_MORE;
		pass_finish(d, f, p);
		return TIERD_JOB_DONE;
	}
	}
	return TIERD_JOB_DONE;
}

static struct fence_pass *pass_get(struct tierd *d, struct tierd_fence *f)
{
	if (!f->pass) {
		struct fence_pass *p = calloc(1, sizeof(*p));
		if (!p)
			return NULL;
		p->d = d;
		p->f = f;
		p->job.name = "fence-pass";
		p->job.step = pass_step;
		p->job.ctx = p;
		/* units: cgroups walked, planner steps, ops applied */
		p->job.max_units = 4096;
		f->pass = p;
		tierd_job_register(d, &p->job);
	}
	return f->pass;
}

/* Start a full pass; restart resets one in progress (its inputs changed). */
static void full_pass_start(struct tierd *d, struct tierd_fence *f, const char *why, bool restart)
{
	struct fence_pass *p = pass_get(d, f);
	if (!p)
		return;
	if (restart && (tierd_job_queued(&p->job) || p->phase != P_IDLE)) {
		tierd_job_cancel(d, &p->job);
		pass_reset(d, p);
	}
	if (tierd_job_queued(&p->job))
		return;
	snprintf(p->why, sizeof(p->why), "%s", why);
	tierd_job_start(d, &p->job);
}

static bool pass_running(const struct tierd_fence *f)
{
	return f->pass && (tierd_job_queued(&f->pass->job) || f->pass->phase != P_IDLE);
}

/* ---- giving everything back (no private node left) --------------------- */

struct gb_item {
	enum tier_state_kind kind;
	char *key, *original;
};

struct fence_giveback {
	struct tierd_job job;
	struct tierd_fence *f;
	struct gb_item *items;
	size_t nr, next;          /* processed from the end: newest first */
	bool collected;
	size_t ok, failed;
	char last_error[200];
};

static void giveback_reset(struct fence_giveback *g)
{
	for (size_t i = 0; i < g->nr; i++) {
		free(g->items[i].key);
		free(g->items[i].original);
	}
	free(g->items);
	g->items = NULL;
	g->nr = g->next = 0;
	g->collected = false;
	g->ok = g->failed = 0;
}

static enum tierd_job_status giveback_step(struct tierd *d, struct tierd_budget *b, void *ctx)
{
	struct fence_giveback *g = ctx;
	struct tierd_fence *f = g->f;
	if (d->paused || tierd_dry_run(d)) {
		giveback_reset(g);
		return TIERD_JOB_DONE;
	}
	if (!g->collected) {
		/* a copy: forgetting compacts the state's array */
		size_t cur = 0, n = restrictions_held(d);
		g->items = calloc(n ? n : 1, sizeof(*g->items));
		if (!g->items)
			return TIERD_JOB_DONE;
		for (const struct tier_state_entry *e; (e = tier_state_next(d->state, &cur));) {
			if (!fence_kind(e->kind) || g->nr == n)
				continue;
			struct gb_item *it = &g->items[g->nr];
			it->kind = e->kind;
			it->key = strdup(e->key);
			it->original = strdup(e->original);
			if (!it->key || !it->original) {
				free(it->key);
				free(it->original);
				break;
			}
			g->nr++;
		}
		g->next = g->nr;
		g->collected = true;
	}
	while (g->next > 0 && tierd_budget_left(b)) {
		struct gb_item *it = &g->items[--g->next];
		tierd_budget_use(b, 1);
		if (!tier_state_find(d->state, it->kind, it->key))
			continue;   /* forgotten meanwhile */
		if (it->kind == TIER_STATE_UNIT_PROPERTY) {
			char unit[256];
			const char *prop;
			if (tier_state_split_unit_key(it->key, unit, sizeof(unit), &prop) == 0)
				unit_enqueue(d, f, unit, NULL, it->original, true, "no private node: given back");
			continue;
		}
		int r = tierd_restore_one(d, it->kind, it->key, it->original);
		if (r == 0 || r == -ENOENT) {
			tier_state_forget(d->state, it->kind, it->key);
			if (r == 0) {
				g->ok++;
				f->given_back++;
			}
		} else {
			g->failed++;
			f->give_back_failures++;
			snprintf(g->last_error, sizeof(g->last_error), "%s: %s", it->key, strerror(-r));
		}
	}
	if (g->next > 0)
		return TIERD_JOB_MORE;
	if (d->state->dirty)
		commit_state(d, f);
	if (g->ok || g->failed) {
		struct tierd_field fl[2];
		tierd_field_set(&fl[0], "TIERD_FENCE_GIVEN_BACK", "%zu", g->ok);
		tierd_field_set(&fl[1], "TIERD_FENCE_FAILED", "%zu", g->failed);
		tierd_event(g->failed ? LOG_WARNING : LOG_NOTICE, TIERD_MID_FENCE, fl, 2,
			    "fence: no private node left: %zu restriction(s) given back, %zu failed%s%s", g->ok,
			    g->failed, g->failed ? " (last: " : "", g->failed ? g->last_error : "");
		last_action(f, "no private node: %zu restriction(s) given back, %zu failed", g->ok, g->failed);
		tierd_record_action(d, "fence", "cpuset.mems", NULL, "no private node left: restrictions given back",
				    g->failed ? -EIO : 0);
	}
	if (g->failed)
		set_problem(f, "%zu restriction(s) could not be given back yet (retrying): %s", g->failed,
			    g->last_error);
	giveback_reset(g);
	return TIERD_JOB_DONE;
}

static void giveback_start(struct tierd *d, struct tierd_fence *f)
{
	if (!f->giveback) {
		struct fence_giveback *g = calloc(1, sizeof(*g));
		if (!g)
			return;
		g->f = f;
		g->job.name = "fence-give-back";
		g->job.step = giveback_step;
		g->job.ctx = g;
		g->job.max_units = 256;
		f->giveback = g;
	}
	if (!tierd_job_queued(&f->giveback->job)) {
		f->last_giveback_mono = tierd_now_mono_usec();
		tierd_job_start(d, &f->giveback->job);
	}
}

/* ---- inotify ----------------------------------------------------------- */

struct creation {
	char *parent;
	char *name;
};

/* A cgroup went away: its watch, its place in the cache and its entries
 * in the state file go with it (O(1) each). */
static void cgroup_removed(struct tierd *d, struct tierd_fence *f, const char *path)
{
	char key[KEY_MAX];
	int idx = f->tree ? tier_fence_tree_find(f->tree, path) : -1;
	if (idx > 0) {
		f->tree->cg[idx].gone = true;
		f->counts_dirty = true;
	}
	f->removals++;
	if (tierd_dry_run(d))
		return;
	if (tierd_cgroup_relpath(&f->h, path, "cpuset.mems", key, sizeof(key)) == 0 &&
	    tier_state_forget(d->state, TIER_STATE_CPUSET_MEMS, key) == 0)
		f->state_pruned++;
	if (tierd_cgroup_relpath(&f->h, path, "cgroup.subtree_control", key, sizeof(key)) == 0 &&
	    tier_state_forget(d->state, TIER_STATE_SUBTREE_CONTROL, key) == 0)
		f->state_pruned++;
}

#define PEND_BATCH 64u            /* new cgroups fenced per loop iteration, at most */

static void pend_clear(struct tierd_fence *f)
{
	for (size_t i = f->pend_head; i < f->nr_pend; i++) {
		free(f->pend[i].parent);
		free(f->pend[i].name);
	}
	f->pend_head = f->nr_pend = 0;
}

static void pend_push(struct tierd_fence *f, const char *parent, const char *name)
{
	if (f->pend_head && f->pend_head == f->nr_pend)
		f->pend_head = f->nr_pend = 0;
	if (f->nr_pend == f->cap_pend) {
		if (f->pend_head) {   /* reuse the consumed front */
			memmove(f->pend, f->pend + f->pend_head, (f->nr_pend - f->pend_head) * sizeof(*f->pend));
			f->nr_pend -= f->pend_head;
			f->pend_head = 0;
		}
		if (f->nr_pend == f->cap_pend) {
			size_t nc = f->cap_pend ? 2 * f->cap_pend : 64;
			struct creation *n = realloc(f->pend, nc * sizeof(*n));
			if (!n) {
				f->full_pass_wanted = true;   /* the pass finds it */
				return;
			}
			f->pend = n;
			f->cap_pend = nc;
		}
	}
	struct creation *c = &f->pend[f->nr_pend];
	c->parent = strdup(parent);
	c->name = strdup(name);
	if (c->parent && c->name)
		f->nr_pend++;
	else {
		free(c->parent);
		free(c->name);
		f->full_pass_wanted = true;
	}
}

/* Fence what inotify reported: one batch (one save of the state file) of at
 * most PEND_BATCH new cgroups and TIERD_SLICE_USEC of walking; the rest of
 * a burst in the next loop iteration, after the other events. */
static void fence_pending(struct tierd *d, struct tierd_fence *f)
{
	uint64_t t0 = tierd_now_mono_usec();
	size_t added = 0;
	if (f->pend_head >= f->nr_pend)
		return;
	if (!f->tree || d->paused || tier_bitmask_empty(f->priv)) {
		/* observe only; the next tick (after resume) makes a full pass */
		f->full_pass_wanted = true;
		pend_clear(f);
		return;
	}
	size_t n = 0;
	while (f->pend_head < f->nr_pend && n < PEND_BATCH && tierd_now_mono_usec() - t0 < TIERD_SLICE_USEC) {
		struct creation *c = &f->pend[f->pend_head++];
		int idx = tier_fence_tree_find(f->tree, c->parent);
		if (idx >= 0)
			(void)walk_subtree(d, f, f->tree, idx, c->name, &added);
		free(c->parent);
		free(c->name);
		n++;
	}
	if (added) {
		f->inotify_batches++;
		int r = f->plan ? tier_fence_plan_extend(f->plan, f->tree, &f->in) : -EAGAIN;
		if (r == 0) {
			struct tier_fence_op *ops;
			size_t nr;
			struct batch_result res = { 0 };
			tier_fence_plan_take_ops(f->plan, &ops, &nr);
			apply_batch(d, f, ops, nr, "new cgroup", &res);
			tier_fence_ops_free(ops, nr);
			report_writes(d, f, &res, "new cgroup");
			f->counts_dirty = true;
			/* v1 refuses a child outside its parent's set (EINVAL):
			 * the parent's widening may still be queued in a pass; a
			 * full pass sorts it out. */
			if (res.failed)
				f->full_pass_wanted = true;
		} else if (!f->plan || !f->plan->error) {
			/* a grant its ancestors lack, or no usable plan yet (a plan
			 * that says nothing can be fenced stays so until the
			 * config or the topology changes) */
			f->full_pass_wanted = true;
		}
		f->creations += added;
		f->last_create_usec = tierd_now_mono_usec() - t0;
		if (f->last_create_usec > f->max_create_usec)
			f->max_create_usec = f->last_create_usec;
	}
	if (f->pend_head < f->nr_pend) {
		if (f->pend_src)
			(void)sd_event_source_set_enabled(f->pend_src, SD_EVENT_ONESHOT);
	} else {
		f->pend_head = f->nr_pend = 0;
	}
}

static int on_pending(sd_event_source *s, void *userdata)
{
	struct tierd *d = userdata;
	(void)s;
	if (d->fence) {
		fence_pending(d, d->fence);
		if (d->state->dirty && !tierd_dry_run(d) && !pass_running(d->fence))
			commit_state(d, d->fence);
	}
	return 0;
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct tierd *d = userdata;
	struct tierd_fence *f = d->fence;
	char buf[INOTIFY_READ_BYTES] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool overflow = false;
	(void)s;
	(void)revents;

	/* What is queued since the last loop iteration, up to a bounded
	 * chunk; a longer burst stays in the kernel's queue for the next
	 * iterations (the fd stays readable), so other events are served in
	 * between; a queue that overflows says IN_Q_OVERFLOW and gets a full
	 * pass. */
	ssize_t n = read(fd, buf, INOTIFY_READ_BYTES);
	for (char *p = buf; n > 0 && p < buf + n;) {
		struct inotify_event *ev = (struct inotify_event *)p;
		p += sizeof(*ev) + ev->len;
		if (!f)
			continue;
		if (ev->mask & IN_Q_OVERFLOW) {
			overflow = true;
			continue;
		}
		const char *path = tier_map_get(f->watches, &ev->wd, sizeof(ev->wd));
		if (!path)
			continue;
		if (ev->mask & IN_IGNORED) {
			char *gone = strdup(path);
			if (gone)
				cgroup_removed(d, f, gone);
			watch_drop(f, ev->wd, gone, false);
			free(gone);
			continue;
		}
		if ((ev->mask & IN_DELETE) && (ev->mask & IN_ISDIR) && ev->len) {
			char *child;
			if (asprintf(&child, "%s%s%s", path, strcmp(path, "/") ? "/" : "", ev->name) >= 0) {
				cgroup_removed(d, f, child);
				watch_drop(f, -1, child, true);
				free(child);
			}
			continue;
		}
		if (!(ev->mask & IN_CREATE) || !(ev->mask & IN_ISDIR) || !ev->len)
			continue;
		/* A pass that is walking may have read that directory already:
		 * it adds the cgroup when it swaps its tree in. */
		pass_note_created(f->pass, path, ev->name);
		pend_push(f, path, ev->name);
	}
	if (!f)
		return 0;
	if (overflow)
		f->full_pass_wanted = true;
	fence_pending(d, f);
	if (f->full_pass_wanted && !pass_running(f) && f->tree && !d->paused && !tier_bitmask_empty(f->priv))
		full_pass_start(d, f, overflow ? "inotify queue overflow" : "new cgroup needs a full plan", false);
	/* the forgets of removed cgroups, if no batch saved them */
	if (d->state->dirty && !tierd_dry_run(d) && !pass_running(f))
		commit_state(d, f);
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
	r = sd_event_add_defer(d->event, &f->pend_src, on_pending, d);
	if (r >= 0) {
		sd_event_source_set_description(f->pend_src, "fence-new-cgroups");
		sd_event_source_set_enabled(f->pend_src, SD_EVENT_OFF);
	} else {
		f->pend_src = NULL;   /* the rest of a burst waits for the next inotify event or pass */
	}
	return 0;
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
	if (!f->unit_job.step) {
		f->unit_job.name = "fence-units";
		f->unit_job.step = unit_step;
		f->unit_job.ctx = f;
	}

	struct bitmask *priv = tier_nodemask_alloc();
	tier_fence_private_nodes(d->config, d->snap, priv);
	bool changed = !tier_bitmask_equal(priv, f->priv) || !tier_bitmask_equal(d->snap->with_memory, f->with_memory) ||
		       f->config_generation != d->config_generation;
	if (changed) {
		/* Jobs plan with these inputs across slices: stop them first. */
		if (f->pass) {
			tierd_job_cancel(d, &f->pass->job);
			pass_reset(d, f->pass);
		}
		tierd_fence_audit_cancel(d, f);
		tier_bitmask_copy(f->priv, priv);
		tier_bitmask_copy(f->with_memory, d->snap->with_memory);
		grants_copy(f, d->config);
		update_input(f);
		f->config_generation = d->config_generation;
	}
	tier_bitmask_free(priv);

	demotion_answer(d, f);
	if (tier_bitmask_empty(f->priv)) {
		/* Nothing is private: whatever fencing still holds goes back. */
		size_t held = restrictions_held(d);
		if (held && !tierd_dry_run(d)) {
			if (!f->giveback || !tierd_job_queued(&f->giveback->job)) {
				if (changed || !f->last_giveback_mono ||
				    now_usec - f->last_giveback_mono >= d->config->fence_full_pass_usec)
					giveback_start(d, f);
			}
			if (!f->problem[0] || changed)
				set_problem(f, "no private nodes configured: giving back %zu restriction(s)", held);
		} else {
			snprintf(f->problem, sizeof(f->problem), "no private nodes configured");
		}
		return;
	}
	if (f->giveback && tierd_job_queued(&f->giveback->job)) {
		/* private nodes again: the next pass plans from the originals */
		tierd_job_cancel(d, &f->giveback->job);
		giveback_reset(f->giveback);
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
	if (f->problem[0] && strncmp(f->problem, "no private nodes", 16) == 0)
		f->problem[0] = '\0';
	if (changed)
		full_pass_start(d, f, "configuration or topology", true);
	else if (!pass_running(f) &&
		 (!f->tree || f->full_pass_wanted || now_usec - f->last_full_mono >= d->config->fence_full_pass_usec))
		full_pass_start(d, f, f->full_pass_wanted ? "requested" : "periodic full pass", false);

	bool evict_demoted = d->config->fence_demotion == TIER_FENCE_DEMOTION_EVICT && f->conflict.conflict &&
			     f->conflict.demotion_on;
	uint64_t audit_every = evict_demoted ? AUDIT_EVICT_INTERVAL_USEC : d->config->fence_full_pass_usec;
	if (!tierd_fence_audit_running(f) &&
	    (!f->audits || changed || now_usec - f->last_audit_mono >= audit_every)) {
		f->last_audit_mono = now_usec;
		f->audits++;
		tierd_fence_audit_start(d, f, d->config->fence_evict || evict_demoted,
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
		 * when it was new and empty; tasks came after, so no value
		 * without nodes exists any more.  The closest to the host's
		 * "nothing configured" is its parent's nodes (no restriction of
		 * its own); failing that, it keeps what it has. */
		char parent[KEY_MAX], pmems[TIER_NODELIST_MAX];
		const char *slash = strrchr(key, '/'), *pslash = NULL;
		for (const char *q = key; slash && q < slash; q++)
			if (*q == '/')
				pslash = q;
		if (pslash && (size_t)(pslash - key) + sizeof("/cpuset.mems") < sizeof(parent)) {
			snprintf(parent, sizeof(parent), "%.*s/cpuset.mems", (int)(pslash - key), key);
			if (d->ops->read_attr(d->rootfd, parent, pmems, sizeof(pmems)) == 0 && pmems[0] &&
			    d->ops->write_attr(d->rootfd, key, pmems) == 0) {
				log_notice("%s was empty when tierd first wrote it and has %s now (v1 cannot empty it): "
					   "given its parent's nodes %s instead", key,
					   r == -ENOSPC ? "tasks" : "children with nodes", pmems);
				return 0;
			}
		}
		log_notice("%s was empty when tierd first wrote it and has %s now (v1 cannot empty it): left as is",
			   key, r == -ENOSPC ? "tasks" : "children with nodes");
		return 0;
	}
	return r;
}

/* ---- status ------------------------------------------------------------ */

static void add_list(struct json_object *o, const char *name, const struct bitmask *bm)
{
	char *s = bm ? tier_bitmask_format_alloc(bm) : NULL;
	json_object_object_add(o, name, json_object_new_string(s ? s : ""));
	free(s);
}

struct json_object *tierd_fence_status(struct tierd *d)
{
	struct tierd_fence *f = d->fence;
	struct json_object *o = json_object_new_object();
	char buf[256];
	bool priv_empty = !f || tier_bitmask_empty(f->priv);
	size_t held = restrictions_held(d);

	/* Never "off" while tierd still holds a restriction. */
	const char *state = d->paused ? "paused"
			    : !f ? "starting"
			    : priv_empty ? (held ? "giving back" : "off")
			    : f->problem[0] ? "error"
			    : !f->full_passes ? "starting"   /* the first full pass is still running */
			    : tierd_dry_run(d) ? "dry-run" : "fencing";
	json_object_object_add(o, "state", json_object_new_string(state));
	if (f && f->problem[0])
		json_object_object_add(o, "problem", json_object_new_string(f->problem));
	add_list(o, "private_nodes", f ? f->priv : NULL);
	json_object_object_add(o, "restrictions_held", json_object_new_int64((int64_t)held));
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
		add_list(go, "nodes", g->nodes);
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
		tier_fence_count(f->tree, f->plan, &f->in, &f->fenced, &f->unfenced);
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
	json_object_object_add(o, "given_back", json_object_new_int64((int64_t)f->given_back));
	json_object_object_add(o, "give_back_failures", json_object_new_int64((int64_t)f->give_back_failures));
	json_object_object_add(o, "state_saves", json_object_new_int64((int64_t)f->state_saves));
	json_object_object_add(o, "state_unsaved_writes", json_object_new_int64((int64_t)f->state_unsaved_writes));
	json_object_object_add(o, "state_pruned", json_object_new_int64((int64_t)f->state_pruned));
	json_object_object_add(o, "full_passes", json_object_new_int64((int64_t)f->full_passes));
	json_object_object_add(o, "full_pass_running", json_object_new_boolean(pass_running(f)));
	/* the job's own figures: they include the pass's last slice */
	if (f->pass && f->pass->job.runs) {
		f->full_pass_cost_usec = f->pass->job.last_run_usec;
		f->full_pass_slices_last = f->pass->job.last_run_slices;
		if (f->full_pass_cost_usec > f->full_pass_max_usec)
			f->full_pass_max_usec = f->full_pass_cost_usec;
	}
	json_object_object_add(o, "full_pass_usec_last", json_object_new_int64((int64_t)f->full_pass_cost_usec));
	json_object_object_add(o, "full_pass_usec_max", json_object_new_int64((int64_t)f->full_pass_max_usec));
	json_object_object_add(o, "full_pass_slices_last", json_object_new_int64((int64_t)f->full_pass_slices_last));
	json_object_object_add(o, "full_pass_wall_usec_last", json_object_new_int64((int64_t)f->full_pass_wall_usec_last));
	json_object_object_add(o, "watches", json_object_new_int64((int64_t)tier_map_count(f->watches)));
	json_object_object_add(o, "watch_table_slots", json_object_new_int64((int64_t)tier_map_slots(f->watches)));
	json_object_object_add(o, "new_cgroups_fenced", json_object_new_int64((int64_t)f->creations));
	json_object_object_add(o, "new_cgroup_batches", json_object_new_int64((int64_t)f->inotify_batches));
	json_object_object_add(o, "removed_cgroups", json_object_new_int64((int64_t)f->removals));
	json_object_object_add(o, "new_cgroup_usec_last", json_object_new_int64((int64_t)f->last_create_usec));
	json_object_object_add(o, "new_cgroup_usec_max", json_object_new_int64((int64_t)f->max_create_usec));
	if (f->use_systemd) {
		struct json_object *u = json_object_new_object();
		size_t inflight = 0;
		for (struct unit_op *op = f->unit_list; op; op = op->next)
			inflight++;
		json_object_object_add(u, "in_flight", json_object_new_int64((int64_t)inflight));
		json_object_object_add(u, "reads", json_object_new_int64((int64_t)f->unit_reads));
		json_object_object_add(u, "sets", json_object_new_int64((int64_t)f->unit_sets));
		json_object_object_add(u, "failures", json_object_new_int64((int64_t)f->unit_failures));
		json_object_object_add(u, "cached", json_object_new_int64((int64_t)tier_map_count(f->unit_cache)));
		json_object_object_add(o, "units", u);
	}

	tierd_fence_audit_status(f, o);

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
		json_object_array_add(la, json_object_new_string(f->last[(f->last_head + i) % FENCE_MAX_LAST]));
	json_object_object_add(o, "last_actions", la);
	return o;
}

void tierd_fence_free(struct tierd *d)
{
	struct tierd_fence *f = d->fence;
	if (!f)
		return;
	if (f->pass) {
		tierd_job_forget(d, &f->pass->job);
		pass_reset(d, f->pass);
		free(f->pass->created);
		free(f->pass);
	}
	if (f->giveback) {
		tierd_job_forget(d, &f->giveback->job);
		giveback_reset(f->giveback);
		free(f->giveback);
	}
	tierd_job_forget(d, &f->unit_job);
	/* calls still in flight keep their op; the reply frees it */
	for (struct unit_op *op = f->unit_list, *next; op; op = next) {
		next = op->next;
		if (op->st == U_READING || op->st == U_SETTING)
			op->f = NULL;
		else
			unit_op_free(op);
	}
	tierd_fence_audit_free(d, f);
	pend_clear(f);
	free(f->pend);
	sd_event_source_disable_unref(f->pend_src);
	sd_event_source_disable_unref(f->io);
	if (f->ifd >= 0)
		close(f->ifd);
	tier_fence_tree_free(f->tree);
	tier_fence_plan_free(f->plan);
	tier_bitmask_free(f->priv);
	tier_bitmask_free(f->with_memory);
	grants_free(f);
	tier_map_free(f->watches);
	tier_map_free(f->watch_paths);
	tier_map_free(f->unit_cache);
	tier_map_free(f->unit_ops);
	free(f);
	d->fence = NULL;
	/* fencing is the bus's user; the restore (which also used it) ran
	 * before tierd frees its parts */
	tierd_systemd_close();
}
