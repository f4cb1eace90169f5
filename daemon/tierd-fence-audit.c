/* SPDX-License-Identifier: MIT */
/*
 * The fence audit, a slow job (tierd-job.h): tasks in the root cgroup
 * (which cannot be fenced), and pages of non-granted tasks on private nodes
 * ("intruders"), evicted with migrate_pages(2) when asked.
 *
 * What it costs is chosen by other processes (a process with 65,000
 * mappings has megabytes of numa_maps; the kernel walks page tables under
 * the process's mmap lock to print them), so every part is bounded:
 *  - a cursor over /proc (readdir on an open directory) and over the root
 *    cgroup's task list; each slice stops at the time budget;
 *  - cheap signals first, per task: its cpuset (is any private node
 *    foreign to it at all?), /proc/PID/status (no mm, no RSS: nothing to
 *    find), and its memory cgroup's memory.numa_stat, read once per cgroup
 *    and run (does the cgroup have pages on a foreign private node at all?)
 *    before any numa_maps is read;
 *  - numa_maps is read incrementally: the fd stays open across slices, each
 *    read(2) is one 64 KiB chunk (a seq_file read walks only the VMAs of
 *    that chunk, taking the target's mmap lock for that chunk only), at most
 *    AUDIT_SLICE_BYTES per slice, parsed by the one linear numa_maps line
 *    parser (tier_numa_maps_stream, lib/procmaps.c).
 * Status shows the most numa_maps bytes and lines any slice read.
 *
 * Eviction knows whom it moves (issue 12 item 3, issue 13 item 6): a pidfd
 * is opened and the start time (/proc/PID/stat field 22) read when a task
 * is chosen, before its numa_maps is read; right before migrate_pages the
 * pidfd must still be alive (a pidfd refers to one process: its PID cannot
 * have been reused while it lives) and the start time unchanged, the grant
 * is checked again, and the target is the task's own Mems_allowed minus the
 * private nodes it is not granted (tier_fence_evict_target); an empty
 * target is reported (status, one log line per task) and the pages stay.
 * migrate_pages(2) takes a PID, not a pidfd: the microseconds between the
 * last check and the call remain, and are all that remains.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>

#include <tier/fence.h>
#include <tier/hashmap.h>
#include <tier/memcg.h>
#include <tier/procmaps.h>
#include "tierd.h"
#include "tierd-fence-int.h"
#include "tierd-log.h"
#include "fsutil.h"

#define MAX_LISTED 16
#define AUDIT_CHUNK_BYTES (64u << 10)     /* one read(2) of numa_maps */
#define AUDIT_SLICE_BYTES (256u << 10)    /* numa_maps bytes per slice, at most */
#define ROOT_PROCS_MAX_BYTES (16u << 20)
#define HOLD_MAX_USEC (30u * 1000000u)

struct fence_task {
	int pid;
	char comm[32];
	char cgroup[160];
	uint64_t bytes;          /* intruders: bytes on private nodes not granted */
};

struct memcg_info {
	bool known;
	struct bitmask *nodes;   /* nodes where the cgroup has pages */
};

enum audit_phase { A_IDLE, A_ROOT, A_PROCS, A_DONE };

struct cur_task {
	bool active;
	pid_t pid;
	int pidfd;               /* -1: none (fixture root, kernel < 5.3) */
	uint64_t start_time;     /* 0: unknown */
	int maps_fd;
	struct tier_numa_maps_stream st;
	struct bitmask *foreign; /* private nodes with memory it is not granted */
	char cgroup[512];
	char comm[32];
	uint64_t hold_since;
	bool hold_logged;
};

struct audit_results {
	unsigned root_tasks, root_kthreads, nr_root_list;
	struct fence_task root_list[MAX_LISTED];
	unsigned nr_intruders, intruders_total;
	struct fence_task intruders[MAX_LISTED];
	uint64_t intruder_bytes;
};

struct fence_audit {
	struct tierd_job job;
	struct tierd *d;
	struct tierd_fence *f;
	enum audit_phase phase;
	bool evict;
	char why[80];

	char *root_text;
	size_t root_off;
	DIR *proc;
	bool real_proc;          /* rootfd/proc is this kernel's procfs: pidfds mean something */
	struct tierd_cgroup_hier memh;
	bool have_memh;
	struct tier_map *memcg;  /* memory cgroup path -> struct memcg_info */
	uint64_t *pages;         /* [TIER_MAX_NODES] numa_maps sums of the current task */
	struct cur_task cur;

	struct audit_results run, pub;   /* in progress / last complete run */

	/* statistics */
	uint64_t runs, pids_seen, skipped_granted, skipped_no_mm, skipped_memcg, numa_maps_read;
	uint64_t slice_bytes, slice_lines, max_slice_bytes, max_slice_lines;
	uint64_t run_bytes, last_run_bytes;
	uint64_t max_slice_cpu_usec;          /* CPU time of the costliest slice (the job's figures are wall time) */
	pid_t max_slice_pid;                  /* whose numa_maps that slice read */   /* numa_maps bytes read by the run in progress / the last one */
	uint64_t evictions, evicted_bytes, eviction_failures, evictions_identity_changed, evictions_no_target,
		evictions_regranted;
	char no_target[480];
	struct tier_map *no_target_logged;   /* (pid, start time) said once; cleared past 4096 */

	/* TIERD_DEBUG_EVICT_HOLD=PID:FILE (tests only, see tierd(8)) */
	pid_t hold_pid;
	char hold_file[256];
};

/* ---- small readers ------------------------------------------------------ */

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

/* Field 22 of /proc/PID/stat (starttime, clock ticks since boot): with the
 * PID it names one process; a reused PID has a later one.  The comm (field
 * 2) may hold spaces and ')': parse after the LAST ')'.  0 when unknown. */
static uint64_t read_start_time(int rootfd, pid_t pid)
{
	char rel[64], buf[1024];
	snprintf(rel, sizeof(rel), "proc/%d/stat", (int)pid);
	int fd = openat(rootfd, rel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	/* fields 3.. follow: starttime is the 20th of them */
	for (int field = 3; field < 22 && *p; field++) {
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;
	}
	return strtoull(p, NULL, 10);
}

static int pidfd_open_(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

/* Is the process the pidfd refers to still alive?  (Signal 0 sends
 * nothing; ESRCH once it exited.) */
static bool pidfd_alive(int pidfd)
{
#ifdef SYS_pidfd_send_signal
	return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0 || errno == EPERM;
#else
	(void)pidfd;
	return true;
#endif
}

static void task_granted(struct tierd_fence *f, const char *cgroup, struct bitmask *granted, struct bitmask *foreign)
{
	tier_fence_granted(&f->in, cgroup, granted);
	tier_bitmask_copy(foreign, f->priv);
	tier_bitmask_and(foreign, f->with_memory);
	tier_bitmask_andnot(foreign, granted);
}

/* The task's cpuset path ("/a/b"), trailing newline stripped. */
static int read_cpuset(struct tierd *d, pid_t pid, char *buf, size_t size)
{
	char rel[64];
	snprintf(rel, sizeof(rel), "proc/%d/cpuset", (int)pid);
	return d->ops->read_attr(d->rootfd, rel, buf, size);
}

static void memcg_info_free(void *v)
{
	struct memcg_info *m = v;
	if (m)
		tier_bitmask_free(m->nodes);
	free(m);
}

/* The nodes where the task's memory cgroup has pages, or NULL when that is
 * not known (no memory hierarchy, no numa_stat: the root of v2, a parse
 * error): then the task is not skipped. */
static const struct bitmask *memcg_nodes(struct fence_audit *a, pid_t pid)
{
	struct tierd *d = a->d;
	struct tier_proc_cgroups cg;
	const char *path = NULL;
	if (!a->have_memh || tier_proc_read_cgroups(d->rootfd, pid, &cg) < 0)
		return NULL;
	for (size_t i = 0; i < cg.nr && !path; i++) {
		const struct tier_proc_cgroup *g = &cg.v[i];
		if (a->memh.version == 2 ? g->hierarchy == 0 && !g->controllers[0] : strstr(g->controllers, "memory") != NULL)
			path = g->path;
	}
	struct memcg_info *m = path ? tier_map_get_str(a->memcg, path) : NULL;
	if (path && !m && (m = calloc(1, sizeof(*m)))) {
		char rel[4800];
		char *text = NULL;
		uint64_t *pages = calloc(TIER_MAX_NODES, sizeof(*pages));
		snprintf(rel, sizeof(rel), "%s%s/memory.numa_stat", a->memh.mount, strcmp(path, "/") ? path : "");
		int fd = pages ? openat(d->rootfd, rel, O_RDONLY | O_CLOEXEC) : -1;
		if (fd >= 0) {
			char buf[16384];
			ssize_t n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n > 0) {
				buf[n] = '\0';
				text = buf;
				if (tier_memcg_numa_stat_parse(text, a->memh.version, 4096, pages, TIER_MAX_NODES) == 0) {
					m->known = true;
					m->nodes = tier_nodemask_alloc();
					for (unsigned i = 0; i < TIER_MAX_NODES; i++)
						if (pages[i])
							tier_bitmask_set(m->nodes, (int)i);
				}
			}
		}
		free(pages);
		if (tier_map_put_str(a->memcg, path, m) < 0) {
			memcg_info_free(m);
			m = NULL;
		}
	}
	tier_proc_cgroups_free(&cg);
	return m && m->known ? m->nodes : NULL;
}

/* ---- the run ------------------------------------------------------------ */

static void cur_close(struct fence_audit *a)
{
	struct cur_task *c = &a->cur;
	if (c->maps_fd >= 0)
		close(c->maps_fd);
	if (c->pidfd >= 0)
		close(c->pidfd);
	c->maps_fd = c->pidfd = -1;
	if (c->active)
		tier_numa_maps_stream_free(&c->st);
	c->active = false;
	c->hold_since = 0;
	c->hold_logged = false;
}

static void audit_reset(struct fence_audit *a)
{
	cur_close(a);
	if (a->proc)
		closedir(a->proc);
	a->proc = NULL;
	free(a->root_text);
	a->root_text = NULL;
	a->root_off = 0;
	tier_map_free(a->memcg);
	a->memcg = NULL;
	memset(&a->run, 0, sizeof(a->run));
	a->run_bytes = 0;
	a->phase = A_IDLE;
}

static void keep_intruder(struct fence_audit *a, pid_t pid, uint64_t sum)
{
	struct audit_results *r = &a->run;
	/* keep the biggest MAX_LISTED */
	unsigned slot = r->nr_intruders;
	if (slot == MAX_LISTED) {
		slot = 0;
		for (unsigned i = 1; i < MAX_LISTED; i++)
			if (r->intruders[i].bytes < r->intruders[slot].bytes)
				slot = i;
		if (r->intruders[slot].bytes >= sum)
			return;
	} else {
		r->nr_intruders++;
	}
	struct fence_task *t = &r->intruders[slot];
	t->pid = (int)pid;
	t->bytes = sum;
	snprintf(t->comm, sizeof(t->comm), "%s", a->cur.comm);
	snprintf(t->cgroup, sizeof(t->cgroup), "%.159s", a->cur.cgroup);
}

/* Evict the current task's pages off its foreign private nodes.  Returns
 * false to be called again later (the debug hold). */
static bool evict_current(struct fence_audit *a, uint64_t sum)
{
	struct tierd *d = a->d;
	struct tierd_fence *f = a->f;
	struct cur_task *c = &a->cur;
	char fl[256], tl[256], target[64], cg[512];
	bool done = true;
	struct bitmask *granted = tier_nodemask_alloc(), *foreign = tier_nodemask_alloc(),
		       *to = tier_nodemask_alloc();
	struct tier_proc_status ps = { 0 };

	snprintf(target, sizeof(target), "pid %d", (int)c->pid);
	if (tierd_dry_run(d)) {
		char *l = tier_bitmask_format_alloc(c->foreign);
		tierd_fence_last_action(f, "dry-run: would evict %llu KiB of pid %d from node(s) %s",
					(unsigned long long)sum / 1024, (int)c->pid, l ? l : "?");
		free(l);
		goto out;
	}
	if (a->hold_pid == c->pid && a->hold_file[0] && faccessat(AT_FDCWD, a->hold_file, F_OK, 0) < 0) {
		uint64_t now = tierd_now_mono_usec();
		if (!c->hold_since)
			c->hold_since = now;
		if (!c->hold_logged)
			log_warning("TIERD_DEBUG_EVICT_HOLD: holding the eviction of pid %d until %s exists",
				    (int)c->pid, a->hold_file);
		c->hold_logged = true;
		if (now - c->hold_since < HOLD_MAX_USEC) {
			/* a test hook: pace the retries instead of spinning */
			usleep(2000);
			done = false;
			goto out;
		}
	}
	/* 1. Still the process that was chosen? */
	bool alive = c->pidfd < 0 || pidfd_alive(c->pidfd);
	uint64_t start = read_start_time(d->rootfd, c->pid);
	if (!alive || start != c->start_time) {
		a->evictions_identity_changed++;
		log_info("fence: pid %d is %s since it was chosen: not evicting (its PID may belong to another "
			 "process now)", (int)c->pid, alive ? "another process" : "gone");
		tierd_fence_last_action(f, "not evicted: pid %d %s since it was chosen", (int)c->pid,
					alive ? "is another process" : "exited");
		goto out;
	}
	/* 2. Still not granted?  (moved into a granted cgroup meanwhile) */
	if (read_cpuset(d, c->pid, cg, sizeof(cg)) < 0)
		goto out;
	task_granted(f, cg, granted, foreign);
	tier_bitmask_and(foreign, c->foreign);
	if (tier_bitmask_empty(foreign)) {
		a->evictions_regranted++;
		goto out;
	}
	/* 3. Only to nodes its own cpuset allows, and never onto a private
	 *    node it is not granted (issue 13 item 6). */
	if (tier_proc_read_status(d->rootfd, c->pid, &ps) < 0)
		goto out;
	char *fls = tier_bitmask_format_alloc(foreign);
	snprintf(fl, sizeof(fl), "%s", fls ? fls : "?");
	free(fls);
	if (!tier_fence_evict_target(ps.mems_allowed, f->with_memory, f->priv, granted, to)) {
		char *ma = tier_bitmask_format_alloc(ps.mems_allowed);
		a->evictions_no_target++;
		char msg[sizeof(a->no_target)];
		snprintf(msg, sizeof(msg), "pid %d (%.31s, cgroup %.100s): its cpuset allows node(s) %.80s only, none a "
			 "non-private node it may use: %llu KiB left on node(s) %.80s", (int)c->pid, c->comm, cg,
			 ma && ma[0] ? ma : "none", (unsigned long long)sum / 1024, fl);
		free(ma);
		/* once per task, not per audit */
		uint64_t id[2] = { (uint64_t)c->pid, c->start_time };
		if (!a->no_target_logged)
			a->no_target_logged = tier_map_new(NULL);
		if (a->no_target_logged && tier_map_count(a->no_target_logged) > 4096) {
			tier_map_free(a->no_target_logged);
			a->no_target_logged = tier_map_new(NULL);
		}
		if (a->no_target_logged && !tier_map_get(a->no_target_logged, &id, sizeof(id))) {
			log_warning("fence: not evicting %s", msg);
			(void)tier_map_put(a->no_target_logged, &id, sizeof(id), a);
		}
		snprintf(a->no_target, sizeof(a->no_target), "%s", msg);
		goto out;
	}
	char *tls = tier_bitmask_format_alloc(to);
	snprintf(tl, sizeof(tl), "%s", tls ? tls : "?");
	free(tls);
	/* the last look, right before the call that takes a PID */
	if (c->pidfd >= 0 && !pidfd_alive(c->pidfd)) {
		a->evictions_identity_changed++;
		goto out;
	}
	long r = d->ops->migrate_pages(c->pid, foreign, to);
	if (r < 0) {
		if (r != -ESRCH) {
			a->eviction_failures++;
			log_warning("fence: evicting pid %d from node(s) %s failed: %s", (int)c->pid, fl, strerror((int)-r));
			tierd_record_action(d, "fence-evict", target, fl, a->why, (int)r);
		}
		goto out;
	}
	a->evictions++;
	a->evicted_bytes += sum;
	tierd_fence_last_action(f, "evicted pid %d (%s): %llu KiB from node(s) %s to %s%s", (int)c->pid, cg,
				(unsigned long long)sum / 1024, fl, tl, r > 0 ? " (some pages stayed)" : "");
	struct tierd_field ff[3];
	tierd_field_set(&ff[0], "TIERD_PID", "%d", (int)c->pid);
	tierd_field_set(&ff[1], "TIERD_NODES", "%s", fl);
	tierd_field_set(&ff[2], "TIERD_BYTES", "%llu", (unsigned long long)sum);
	tierd_event(LOG_NOTICE, TIERD_MID_FENCE, ff, 3, "fence: evicted %llu KiB of pid %d (%s, cgroup %s) from private node(s) %s to %s: %s",
		    (unsigned long long)sum / 1024, (int)c->pid, c->comm, cg, fl, tl, a->why);
	tierd_record_action(d, "fence-evict", target, fl, a->why, 0);
out:
	tier_proc_status_free(&ps);
	tier_bitmask_free(granted);
	tier_bitmask_free(foreign);
	tier_bitmask_free(to);
	return done;
}

/* The current task's numa_maps is read to the end: judge it. */
static bool finish_current(struct fence_audit *a)
{
	struct cur_task *c = &a->cur;
	if (tier_numa_maps_stream_end(&c->st) < 0) {
		log_debug("fence: pid %d: numa_maps: %s", (int)c->pid, strerror(-c->st.error));
		return true;
	}
	uint64_t sum = 0;
	tier_bitmask_foreach(n, c->foreign)
		sum += a->pages[n] * 4096u;
	if (sum == 0)
		return true;
	if (!c->hold_since) {
		a->run.intruders_total++;
		a->run.intruder_bytes += sum;
		keep_intruder(a, c->pid, sum);
	}
	if (!a->evict)
		return true;
	return evict_current(a, sum);
}

/* Look at the next /proc entry: cheap signals, then open numa_maps. */
static void examine(struct fence_audit *a, pid_t pid)
{
	struct tierd *d = a->d;
	struct tierd_fence *f = a->f;
	struct cur_task *c = &a->cur;
	char cg[512];
	struct bitmask *granted = tier_nodemask_alloc();

	a->pids_seen++;
	if (read_cpuset(d, pid, cg, sizeof(cg)) < 0)
		goto out;
	task_granted(f, cg, granted, c->foreign);
	if (tier_bitmask_empty(c->foreign)) {
		a->skipped_granted++;   /* may use every private node with memory */
		goto out;
	}
	/* Identity first: everything read from here on is this process's as
	 * long as the pidfd is alive at the end. */
	c->pidfd = a->real_proc ? pidfd_open_(pid) : -1;
	if (a->real_proc && c->pidfd < 0 && errno == ESRCH)
		goto out;
	c->start_time = read_start_time(d->rootfd, pid);
	struct tier_proc_status ps;
	if (tier_proc_read_status(d->rootfd, pid, &ps) == 0) {
		bool nothing = ps.kthread || !ps.has_mm || ps.vm_rss_bytes == 0;
		tier_proc_status_free(&ps);
		if (nothing) {
			a->skipped_no_mm++;
			goto fail;
		}
	}
	const struct bitmask *mn = memcg_nodes(a, pid);
	if (mn) {
		struct bitmask *x = tier_nodemask_alloc();
		tier_bitmask_copy(x, mn);
		tier_bitmask_and(x, c->foreign);
		bool none = tier_bitmask_empty(x);
		tier_bitmask_free(x);
		if (none) {
			a->skipped_memcg++;
			goto fail;
		}
	}
	char rel[64];
	snprintf(rel, sizeof(rel), "proc/%d/numa_maps", (int)pid);
	c->maps_fd = openat(d->rootfd, rel, O_RDONLY | O_CLOEXEC);
	if (c->maps_fd < 0)
		goto fail;
	c->pid = pid;
	snprintf(c->cgroup, sizeof(c->cgroup), "%s", cg);
	read_comm(d->rootfd, (int)pid, c->comm, sizeof(c->comm));
	tier_numa_maps_stream_init(&c->st, 4096, a->pages, TIER_MAX_NODES);
	c->active = true;
	a->numa_maps_read++;
	goto out;
fail:
	if (c->pidfd >= 0)
		close(c->pidfd);
	c->pidfd = -1;
out:
	tier_bitmask_free(granted);
}

/* Read the current task's numa_maps on, within this slice's byte cap.
 * Returns true when the file is done (or unreadable). */
static bool read_more(struct fence_audit *a, struct tierd_budget *b, bool *cap_hit)
{
	struct cur_task *c = &a->cur;
	char *buf = malloc(AUDIT_CHUNK_BYTES);
	bool eof = false;
	if (!buf)
		return true;
	while (!eof) {
		if (a->slice_bytes + AUDIT_CHUNK_BYTES > AUDIT_SLICE_BYTES) {
			*cap_hit = true;
			break;
		}
		if (!tierd_budget_left(b))
			break;
		ssize_t n = read(c->maps_fd, buf, AUDIT_CHUNK_BYTES);
		if (n <= 0) {
			eof = true;   /* the end, or the task went away (ESRCH): what was read stands */
			break;
		}
		a->slice_bytes += (uint64_t)n;
		a->run_bytes += (uint64_t)n;
		ssize_t lines = tier_numa_maps_stream_feed(&c->st, buf, (size_t)n);
		if (lines < 0)
			eof = true;
		else
			a->slice_lines += (uint64_t)lines;
	}
	free(buf);
	return eof;
}

static void publish(struct fence_audit *a)
{
	a->pub = a->run;
	a->runs++;
	a->last_run_bytes = a->run_bytes;
	a->run_bytes = 0;
}

static void root_step(struct fence_audit *a, struct tierd_budget *b)
{
	struct tierd *d = a->d;
	struct audit_results *r = &a->run;
	char *p = a->root_text + a->root_off;
	while (*p && tierd_budget_left(b)) {
		char *end;
		long pid = strtol(p, &end, 10);
		if (end == p) {
			p += strlen(p);
			break;
		}
		p = end;
		while (*p == '\n')
			p++;
		tierd_budget_use(b, 1);
		if (pid <= 0)
			continue;
		if (is_kthread(d->rootfd, (int)pid)) {
			r->root_kthreads++;
			continue;
		}
		if (r->nr_root_list < MAX_LISTED) {
			struct fence_task *t = &r->root_list[r->nr_root_list++];
			t->pid = (int)pid;
			read_comm(d->rootfd, t->pid, t->comm, sizeof(t->comm));
			snprintf(t->cgroup, sizeof(t->cgroup), "/");
			t->bytes = 0;
		}
		r->root_tasks++;
	}
	a->root_off = (size_t)(p - a->root_text);
	if (!*p)
		a->phase = A_PROCS;
}

static uint64_t thread_cpu_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static enum tierd_job_status audit_step_(struct tierd *d, struct tierd_budget *b, struct fence_audit *a);

static enum tierd_job_status audit_step(struct tierd *d, struct tierd_budget *b, void *ctx)
{
	struct fence_audit *a = ctx;
	uint64_t c0 = thread_cpu_usec();
	pid_t pid = a->cur.active ? a->cur.pid : 0;
	enum tierd_job_status st = audit_step_(d, b, a);
	uint64_t cpu = thread_cpu_usec() - c0;
	if (cpu > a->max_slice_cpu_usec) {
		a->max_slice_cpu_usec = cpu;
		a->max_slice_pid = pid ? pid : a->cur.pid;
	}
	return st;
}

static enum tierd_job_status audit_step_(struct tierd *d, struct tierd_budget *b, struct fence_audit *a)
{
	struct tierd_fence *f = a->f;
	a->slice_bytes = a->slice_lines = 0;
	if (d->paused) {
		audit_reset(a);
		return TIERD_JOB_DONE;
	}
	enum tierd_job_status st = TIERD_JOB_MORE;
	switch (a->phase) {
	case A_IDLE: {
		char rel[600];
		memset(&a->run, 0, sizeof(a->run));
		a->memcg = tier_map_new(memcg_info_free);
		a->have_memh = tierd_cgroup_find_controller(d->rootfd, "memory", &a->memh) == 0;
		struct statfs sf;
		char procpath[] = "proc";
		int pfd = openat(d->rootfd, procpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		a->real_proc = pfd >= 0 && fstatfs(pfd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
		a->proc = pfd >= 0 ? fdopendir(pfd) : NULL;
		if (pfd >= 0 && !a->proc)
			close(pfd);
		if (f->have_hier && tierd_cgroup_relpath(&f->h, "/", "cgroup.procs", rel, sizeof(rel)) == 0) {
			int fd = openat(d->rootfd, rel, O_RDONLY | O_CLOEXEC);
			size_t len = 0;
			if (fd >= 0) {
				(void)tier_read_fd(fd, ROOT_PROCS_MAX_BYTES, &a->root_text, &len);
				close(fd);
			}
		}
		a->phase = a->root_text ? A_ROOT : A_PROCS;
		break;
	}
	case A_ROOT:
		root_step(a, b);
		break;
	case A_PROCS: {
		bool cap_hit = false;
		while (!cap_hit && tierd_budget_left(b)) {
			if (a->cur.active) {
				if (a->cur.hold_since || read_more(a, b, &cap_hit)) {
					if (!finish_current(a))
						break;   /* held: try again next slice */
					cur_close(a);
				}
				continue;
			}
			struct dirent *de = a->proc ? readdir(a->proc) : NULL;
			if (!de) {
				a->phase = A_DONE;
				break;
			}
			if (!isdigit((unsigned char)de->d_name[0]))
				continue;
			tierd_budget_use(b, 1);
			examine(a, (pid_t)atoi(de->d_name));
		}
		break;
	}
	case A_DONE:
		publish(a);
		audit_reset(a);
		st = TIERD_JOB_DONE;
		break;
	}
	if (a->slice_bytes > a->max_slice_bytes)
		a->max_slice_bytes = a->slice_bytes;
	if (a->slice_lines > a->max_slice_lines)
		a->max_slice_lines = a->slice_lines;
	return st;
}

static struct fence_audit *audit_get(struct tierd *d, struct tierd_fence *f)
{
	if (!f->audit) {
		struct fence_audit *a = calloc(1, sizeof(*a));
		if (!a)
			return NULL;
		a->pages = calloc(TIER_MAX_NODES, sizeof(*a->pages));
		a->cur.foreign = tier_nodemask_alloc();
		if (!a->pages) {
			free(a);
			return NULL;
		}
		a->d = d;
		a->f = f;
		a->cur.maps_fd = a->cur.pidfd = -1;
		a->job.name = "fence-audit";
		a->job.step = audit_step;
		a->job.ctx = a;
		/* /proc entries looked at per slice (numa_maps bytes have their
		 * own cap) */
		a->job.max_units = 256;
		const char *hold = getenv("TIERD_DEBUG_EVICT_HOLD");
		if (hold) {
			char *colon = strchr(hold, ':');
			a->hold_pid = (pid_t)atoi(hold);
			if (colon && a->hold_pid > 0) {
				snprintf(a->hold_file, sizeof(a->hold_file), "%s", colon + 1);
				log_warning("debug hook TIERD_DEBUG_EVICT_HOLD is active: the eviction of pid %d waits for %s",
					    (int)a->hold_pid, a->hold_file);
			}
		}
		f->audit = a;
		tierd_job_register(d, &a->job);
	}
	return f->audit;
}

void tierd_fence_audit_start(struct tierd *d, struct tierd_fence *f, bool evict, const char *why)
{
	struct fence_audit *a = audit_get(d, f);
	if (!a || tierd_job_queued(&a->job))
		return;
	a->evict = evict;
	snprintf(a->why, sizeof(a->why), "%s", why);
	tierd_job_start(d, &a->job);
}

void tierd_fence_audit_cancel(struct tierd *d, struct tierd_fence *f)
{
	if (!f->audit)
		return;
	tierd_job_cancel(d, &f->audit->job);
	audit_reset(f->audit);
}

bool tierd_fence_audit_running(const struct tierd_fence *f)
{
	return f->audit && (tierd_job_queued(&f->audit->job) || f->audit->phase != A_IDLE);
}

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

void tierd_fence_audit_status(struct tierd_fence *f, struct json_object *o)
{
	struct fence_audit *a = f->audit;
	static const struct audit_results none;
	const struct audit_results *r = a ? &a->pub : &none;
	json_object_object_add(o, "root_tasks", json_object_new_int64(r->root_tasks));
	json_object_object_add(o, "root_kernel_threads", json_object_new_int64(r->root_kthreads));
	struct json_object *rl = json_object_new_array();
	for (unsigned i = 0; i < r->nr_root_list; i++)
		json_object_array_add(rl, task_json(&r->root_list[i], false));
	json_object_object_add(o, "root_task_list", rl);
	json_object_object_add(o, "intruders_total", json_object_new_int64(r->intruders_total));
	json_object_object_add(o, "intruder_bytes", json_object_new_int64((int64_t)r->intruder_bytes));
	struct json_object *il = json_object_new_array();
	for (unsigned i = 0; i < r->nr_intruders; i++)
		json_object_array_add(il, task_json(&r->intruders[i], true));
	json_object_object_add(o, "intruders", il);
	json_object_object_add(o, "evictions", json_object_new_int64(a ? (int64_t)a->evictions : 0));
	json_object_object_add(o, "evicted_bytes", json_object_new_int64(a ? (int64_t)a->evicted_bytes : 0));
	json_object_object_add(o, "eviction_failures", json_object_new_int64(a ? (int64_t)a->eviction_failures : 0));
	if (!a)
		return;
	struct json_object *au = json_object_new_object();
	json_object_object_add(au, "runs", json_object_new_int64((int64_t)a->runs));
	json_object_object_add(au, "running", json_object_new_boolean(tierd_fence_audit_running(f)));
	json_object_object_add(au, "evict", json_object_new_boolean(a->evict));
	json_object_object_add(au, "pids_seen", json_object_new_int64((int64_t)a->pids_seen));
	json_object_object_add(au, "skipped_granted", json_object_new_int64((int64_t)a->skipped_granted));
	json_object_object_add(au, "skipped_no_memory", json_object_new_int64((int64_t)a->skipped_no_mm));
	json_object_object_add(au, "skipped_memcg", json_object_new_int64((int64_t)a->skipped_memcg));
	json_object_object_add(au, "numa_maps_read", json_object_new_int64((int64_t)a->numa_maps_read));
	json_object_object_add(au, "slice_bytes_cap", json_object_new_int64(AUDIT_SLICE_BYTES));
	json_object_object_add(au, "max_slice_bytes", json_object_new_int64((int64_t)a->max_slice_bytes));
	json_object_object_add(au, "max_slice_lines", json_object_new_int64((int64_t)a->max_slice_lines));
	json_object_object_add(au, "last_run_numa_maps_bytes", json_object_new_int64((int64_t)a->last_run_bytes));
	json_object_object_add(au, "max_slice_usec", json_object_new_int64((int64_t)a->job.max_slice_usec));
	json_object_object_add(au, "max_slice_cpu_usec", json_object_new_int64((int64_t)a->max_slice_cpu_usec));
	json_object_object_add(au, "max_slice_pid", json_object_new_int64((int64_t)a->max_slice_pid));
	json_object_object_add(au, "last_run_usec", json_object_new_int64((int64_t)a->job.last_run_usec));
	json_object_object_add(au, "last_run_slices", json_object_new_int64((int64_t)a->job.last_run_slices));
	json_object_object_add(au, "evictions_identity_changed",
			       json_object_new_int64((int64_t)a->evictions_identity_changed));
	json_object_object_add(au, "evictions_regranted", json_object_new_int64((int64_t)a->evictions_regranted));
	json_object_object_add(au, "evictions_no_target", json_object_new_int64((int64_t)a->evictions_no_target));
	if (a->no_target[0])
		json_object_object_add(au, "no_target", json_object_new_string(a->no_target));
	json_object_object_add(o, "audit", au);
}

void tierd_fence_audit_free(struct tierd *d, struct tierd_fence *f)
{
	struct fence_audit *a = f->audit;
	if (!a)
		return;
	tierd_job_forget(d, &a->job);
	audit_reset(a);
	tier_bitmask_free(a->cur.foreign);
	tier_map_free(a->no_target_logged);
	free(a->pages);
	free(a);
	f->audit = NULL;
}
