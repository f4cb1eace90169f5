/* SPDX-License-Identifier: MIT */
/*
 * tierd: the memory-tiering daemon.  main(): arguments, startup checks, crash
 * recovery, the sd-event loop, and restore on the way out.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <numa.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <tier/coexist.h>
#include "tierd.h"
#include "tierd-log.h"
#include "tierd-relief.h"
#include "tierd-fence.h"
#include "tierd-topology.h"
#include "tierd-job.h"
#include "tierd-guard.h"
#include "tierd-demotion.h"
#include "tierd-notify.h"
#include "tierd-metrics.h"
#include "common-proto.h"

#define DEFAULT_CONFIG TIERD_SYSCONFDIR "/tierd.conf"
#define DEFAULT_STATE_DIR "/run/tierd"

uint64_t tierd_now_mono_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t tierd_now_real_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

bool tierd_dry_run(const struct tierd *d)
{
	return d->cli_dry_run || (d->config && d->config->dry_run);
}

void tierd_dry_run_changed(struct tierd *d)
{
	pthread_mutex_lock(&d->actions_lock);
	d->actions_dry_run = tierd_dry_run(d);
	pthread_mutex_unlock(&d->actions_lock);
}

void tierd_warn(struct tierd *d, const char *fmt, ...)
{
	va_list ap;
	char msg[256];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warning("%s", msg);
	if (d->nr_warnings < sizeof(d->warnings) / sizeof(d->warnings[0]))
		snprintf(d->warnings[d->nr_warnings++], sizeof(d->warnings[0]), "%s", msg);
}

/* libnuma reports through these weak symbols; route them to our log instead
 * of its default stderr printing. */
void numa_warn(int num, char *fmt, ...)
{
	va_list ap;
	(void)num;
	va_start(ap, fmt);
	tierd_logv(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void numa_error(char *where)
{
	log_error("libnuma: %s: %s", where, strerror(errno));
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: tierd [OPTIONS]\n"
		"\n"
		"User-space memory-tiering daemon: the demotion guard turns kernel demotion off\n"
		"before a lower tier fills, relief moves pages off full lower-tier nodes, fencing\n"
		"keeps private nodes for the cgroups granted them, and every setting tierd\n"
		"changed is restored on exit (and after a crash, on the next start).\n"
		"\n"
		"  -c, --config FILE     configuration (default %s, drop-ins FILE.d/*.conf)\n"
		"  -r, --root DIR        read and write sysfs/procfs/state under DIR (default /)\n"
		"  -s, --socket PATH     control socket (default $TIERD_SOCKET or %s)\n"
		"  -S, --state-dir DIR   state file directory (default %s)\n"
		"  -n, --dry-run         decide and log, change nothing\n"
		"  -1, --once            run one tick and exit\n"
		"      --check-config    validate the configuration and exit (0 ok, 1 errors)\n"
		"  -l, --log-level LVL   err, warning, notice, info or debug (overrides the config)\n"
		"      --version         print the version\n"
		"  -h, --help            this text\n",
		DEFAULT_CONFIG, TIERD_DEFAULT_SOCKET, DEFAULT_STATE_DIR);
}

static char *xstrdup(const char *s)
{
	char *r = strdup(s);
	if (!r)
		abort();
	return r;
}

static char *join(const char *a, const char *b)
{
	char *r;
	if (asprintf(&r, "%s%s", a, b) < 0)
		abort();
	return r;
}

static void print_config_errors(const struct tier_config_errors *errs, FILE *f)
{
	for (unsigned i = 0; i < errs->nr; i++)
		fprintf(f, "%s\n", errs->msgs[i]);
}

static int on_signal_exit(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct tierd *d = userdata;
	(void)s;
	log_info("received %s, restoring and exiting", strsignal((int)si->ssi_signo));
	return sd_event_exit(d->event, 0);
}

static int on_signal_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	(void)s;
	(void)si;
	tierd_reload(userdata, "SIGHUP");
	return 0;
}

static const char *state_dir_rel(const struct tierd *d)
{
	const char *rel = d->state_dir;
	while (*rel == '/')
		rel++;
	return *rel ? rel : ".";
}

static int setup_paths(struct tierd *d)
{
	if (mkdirat(d->rootfd, ".", 0755) < 0 && errno != EEXIST)
		return -errno;
	/* The state dir lives under the root too, so a fixture run never touches
	 * the host's /run/tierd. */
	char *p = xstrdup(state_dir_rel(d));
	for (char *q = p; (q = strchr(q, '/')); q++) {
		*q = '\0';
		if (mkdirat(d->rootfd, p, 0755) < 0 && errno != EEXIST) {
			int e = errno;
			free(p);
			return -e;
		}
		*q = '/';
	}
	if (mkdirat(d->rootfd, p, 0755) < 0 && errno != EEXIST) {
		int e = errno;
		log_error("cannot create state directory %s under %s: %s", d->state_dir, d->root, strerror(e));
		free(p);
		return -e;
	}
	d->statefd = openat(d->rootfd, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(p);
	if (d->statefd < 0) {
		int e = errno;
		log_error("cannot open state directory %s: %s", d->state_dir, strerror(e));
		return -e;
	}
	return 0;
}

static int take_lock(struct tierd *d)
{
	d->lockfd = openat(d->statefd, "tierd.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (d->lockfd < 0) {
		log_error("cannot open %s/tierd.lock: %s", d->state_dir, strerror(errno));
		return -errno;
	}
	if (flock(d->lockfd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		if (e == EWOULDBLOCK)
			log_error("another tierd is already running with state dir %s (it holds tierd.lock)",
				  d->state_dir);
		else
			log_error("cannot lock %s/tierd.lock: %s", d->state_dir, strerror(e));
		return -e;
	}
	return 0;
}

/* Restore what one state file of a previous run holds.  Returns 0 with the
 * entries that could not be put back in *left (NULL when the file was
 * absent), or -errno when the file is unreadable. */
static int restore_file(struct tierd *d, const char *name, struct tier_state **left)
{
	struct tier_state *prev = NULL;
	char err[256] = "";
	*left = NULL;
	int r = tier_state_load_at(d->statefd, name, &prev, err, sizeof(err));
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		log_error("state file %s/%s is unreadable (%s): not guessing; inspect and remove it", d->state_dir, name,
			  err);
		return r;
	}
	if (prev->nr == 0) {
		tier_state_free(prev);
		tier_state_remove_at(d->statefd, name);
		return 0;
	}
	log_notice("found %s from a previous run (pid %ld) that did not stop cleanly: restoring %zu setting(s)", name,
		   prev->pid, prev->nr);
	/* tierd_restore_all() works on d->state: lend it the leftovers. */
	struct tier_state *mine = d->state;
	d->state = prev;
	tierd_restore_all(d, "restore after unclean stop");
	*left = d->state;
	d->state = mine;
	return 0;
}

/* A state file left behind means the last run died without restoring: put
 * the host back first.  What cannot be put back (a cgroup v2
 * subtree_control that a child's own cpuset now pins, EBUSY) does not stop
 * tierd: a daemon that cannot start cannot guard.  It stays in the state
 * file, is retried at stop, and status lists it.  Only an unreadable state
 * file stops tierd.  *leftover_knob: the demotion_enabled original that
 * could not be put back (-1: none), handed to its owner. */
static int crash_restore(struct tierd *d, int *leftover_knob)
{
	struct tier_state *left = NULL;
	*leftover_knob = -1;
	int r = restore_file(d, TIERD_KNOB_STATE_FILE, &left);
	if (r < 0)
		return r;
	if (left) {
		const struct tier_state_entry *e = tier_state_find(left, TIER_STATE_KNOB, TIERD_KNOB_DEMOTION);
		if (e) {
			*leftover_knob = strcmp(e->original, "true") == 0 || strcmp(e->original, "1") == 0;
			tierd_warn(d, "could not restore %s to '%s' from the previous run: its owner retries at stop",
				   TIERD_KNOB_DEMOTION, e->original);
		}
		tier_state_free(left);
		/* Its owner rewrites knobs.json when it starts. */
		tier_state_remove_at(d->statefd, TIERD_KNOB_STATE_FILE);
	}
	r = restore_file(d, TIERD_STATE_FILE, &left);
	if (r < 0)
		return r;
	if (left) {
		for (size_t i = 0; i < left->nr; i++)
			tier_state_record(d->state, left->entries[i].kind, left->entries[i].key, left->entries[i].original,
					  left->entries[i].recorded_usec);
		if (left->nr)
			tierd_warn(d, "%zu setting(s) from the previous run could not be restored (first: %s): kept in "
				      "%s/%s and retried at stop", left->nr, left->entries[0].key, d->state_dir,
				   TIERD_STATE_FILE);
		d->restore_pending = left->nr;
		tier_state_free(left);
		if (d->state->nr)
			tier_state_save_at(d->statefd, TIERD_STATE_FILE, d->state);
	}
	return 0;
}

/* A dry run changes nothing, so it does not restore a previous run's state
 * either: it says so, and refuses to go live by reload (tierd_reload) until
 * a real start has restored it. */
static void dry_run_state_check(struct tierd *d)
{
	int fd = d->statefd >= 0 ? d->statefd : openat(d->rootfd, state_dir_rel(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	static const char *const files[] = { TIERD_STATE_FILE, TIERD_KNOB_STATE_FILE };
	for (size_t i = 0; i < 2; i++) {
		if (faccessat(fd, files[i], F_OK, 0) == 0) {
			tierd_warn(d, "%s/%s exists: a previous tierd did not stop cleanly; a real (not dry) run restores it",
				   d->state_dir, files[i]);
			d->crash_restore_pending = true;
		}
	}
	if (fd != d->statefd)
		close(fd);
}

static void startup_checks(struct tierd *d)
{
	bool host_root = strcmp(d->root, "/") == 0;

	d->is_root = geteuid() == 0;
	if (!d->is_root && host_root && !tierd_dry_run(d)) {
		d->cli_dry_run = true;
		tierd_warn(d, "not running as root (uid %u): read-only, forcing dry-run", (unsigned)geteuid());
	}
	if (host_root && numa_available() < 0)
		tierd_warn(d, "no NUMA support in this kernel (get_mempolicy failed): nothing to tier; "
			      "monitoring only");
}

static void topology_checks(struct tierd *d)
{
	struct tier_coexist co;
	char msgs[4][256];
	if (tier_coexist_scan(d->rootfd, &co) == 0) {
		size_t n = tier_coexist_warnings(&co, msgs, 4);
		for (size_t i = 0; i < n; i++)
			tierd_warn(d, "%s", msgs[i]);
	}
	if (!d->snap)
		return;
	if (!d->snap->has_tiering)
		tierd_warn(d, "kernel has no memory tiering in sysfs (needs Linux 6.1+): the demotion guard has "
			      "nothing to do; fencing and monitoring still work");
	else if (d->snap->nr_tiers < 2)
		log_notice("one memory tier (%d): nothing to guard or relieve until a slower tier appears",
			   d->snap->nr_tiers ? d->snap->tiers[0].id : -1);
}

/* --once: what this tick saw and did (or, in dry-run, would do), on stdout. */
static void print_once_summary(struct tierd *d)
{
	struct json_object *st = tierd_status_json(d), *g, *v, *acts;
	if (json_object_object_get_ex(st, "guard", &g)) {
		const char *state = json_object_object_get_ex(g, "state", &v) ? json_object_get_string(v) : "?";
		const char *why = json_object_object_get_ex(g, "why", &v) ? json_object_get_string(v) : "";
		printf("guard: %s%s%s\n", state, why && why[0] ? ": " : "", why ? why : "");
	}
	size_t n = json_object_object_get_ex(st, "actions", &acts) ? json_object_array_length(acts) : 0;
	if (n == 0)
		printf("actions: none\n");
	for (size_t i = 0; i < n; i++) {
		struct json_object *a = json_object_array_get_idx(acts, i), *t, *val, *reason, *res;
		json_object_object_get_ex(a, "target", &t);
		json_object_object_get_ex(a, "value", &val);
		json_object_object_get_ex(a, "reason", &reason);
		json_object_object_get_ex(a, "result", &res);
		printf("%s /%s = %s (%s): %s\n", tierd_dry_run(d) ? "would write" : "wrote", json_object_get_string(t),
		       val ? json_object_get_string(val) : "-", json_object_get_string(res), json_object_get_string(reason));
	}
	json_object_put(st);
}

static int parse_args(struct tierd *d, int argc, char **argv, bool *check_only)
{
	enum { OPT_CHECK = 0x100, OPT_VERSION };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "root", required_argument, NULL, 'r' },
		{ "socket", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "once", no_argument, NULL, '1' },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "log-level", required_argument, NULL, 'l' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;
	char msg[128];
	while ((c = getopt_long(argc, argv, "c:r:s:S:n1l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			free(d->config_path);
			d->config_path = xstrdup(optarg);
			d->config_explicit = true;
			break;
		case 'r':
			free(d->root);
			d->root = xstrdup(optarg);
			break;
		case 's':
			free(d->socket_path);
			d->socket_path = xstrdup(optarg);
			break;
		case 'S':
			free(d->state_dir);
			d->state_dir = xstrdup(optarg);
			break;
		case 'n': d->cli_dry_run = true; break;
		case '1': d->once = true; break;
		case OPT_CHECK: *check_only = true; break;
		case 'l':
			if (tier_parse_log_level(optarg, &d->cli_log_level, msg, sizeof(msg)) < 0) {
				fprintf(stderr, "tierd: --log-level: %s\n", msg);
				return 2;
			}
			break;
		case OPT_VERSION: printf("tierd %s\n", TIERD_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tierd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return -1; /* continue */
}

static void tierd_free(struct tierd *d)
{
	/* The guard thread first: it reads rootfd and statefd. */
	tierd_guard_free(d);
	tierd_ctl_close(d);
	tierd_jobs_free(d);
	tierd_metrics_free(d);
	d->tick_source = sd_event_source_unref(d->tick_source);
	d->event = sd_event_unref(d->event);
	if (d->snap)
		tier_snapshot_free(d->snap);
	if (d->config)
		tier_config_free(d->config);
	if (d->state)
		tier_state_free(d->state);
	free(d->actions);
	tierd_notify_close();
	if (d->lockfd >= 0)
		close(d->lockfd);
	if (d->statefd >= 0)
		close(d->statefd);
	if (d->rootfd >= 0)
		close(d->rootfd);
	free(d->config_path);
	free(d->dropin_dir);
	free(d->root);
	free(d->socket_path);
	free(d->state_dir);
	tierd_fence_free(d);
	tierd_relief_free(d);
	tierd_topology_free(d);
}

int main(int argc, char **argv)
{
	struct tierd dd = {
		.rootfd = -1, .statefd = -1, .lockfd = -1, .ctl_fd = -1,
		.cli_log_level = -1, .ops = &tierd_real_ops,
	}, *d = &dd;
	bool check_only = false;
	int r;

	d->config_path = xstrdup(DEFAULT_CONFIG);
	d->root = xstrdup("/");
	/* $TIERD_SOCKET, as for tierctl: one Environment= line in the unit
	 * moves the socket for ExecStart= and ExecReload= (tierctl reload). */
	d->socket_path = xstrdup(getenv("TIERD_SOCKET") && getenv("TIERD_SOCKET")[0] ? getenv("TIERD_SOCKET")
									  : TIERD_DEFAULT_SOCKET);
	d->state_dir = xstrdup(DEFAULT_STATE_DIR);
	r = parse_args(d, argc, argv, &check_only);
	if (r >= 0) {
		tierd_free(d);
		return r;
	}
	d->dropin_dir = join(d->config_path, ".d");
	tierd_log_open();
	if (d->cli_log_level >= 0)
		tierd_log_set_level(d->cli_log_level);
	/* Before anything else takes fds: the watchdog ping must never need
	 * a new one. */
	if (!check_only)
		tierd_notify_open();

	/* The configuration: a missing default file means defaults; a missing
	 * file named with --config is an error. */
	struct tier_config_errors errs = { 0 };
	d->config = tier_config_load(d->config_path, d->dropin_dir, !d->config_explicit, &errs);
	if (check_only) {
		if (d->config)
			printf("configuration OK\n");
		else
			print_config_errors(&errs, stdout);
		tier_config_errors_clear(&errs);
		r = d->config ? 0 : 1;
		tierd_free(d);
		return r;
	}
	if (!d->config) {
		for (unsigned i = 0; i < errs.nr; i++)
			log_error("%s", errs.msgs[i]);
		log_error("invalid configuration, not starting (tierd --check-config shows every error)");
		tier_config_errors_clear(&errs);
		tierd_free(d);
		return 1;
	}
	d->config_generation = 1;
	if (d->cli_log_level < 0)
		tierd_log_set_level(d->config->log_level);

	d->rootfd = open(d->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->rootfd < 0) {
		log_error("cannot open root %s: %s", d->root, strerror(errno));
		tierd_free(d);
		return 1;
	}
	startup_checks(d);
	/* One place to look for dry-run: the policies read the config. */
	d->config->dry_run = tierd_dry_run(d);

	d->state = tier_state_new();
	pthread_mutex_init(&d->actions_lock, NULL);
	tierd_dry_run_changed(d);
	d->actions_cap = d->config->actions_kept;
	d->actions = calloc(d->actions_cap, sizeof(*d->actions));
	d->started_mono_usec = tierd_now_mono_usec();

	/* The state dir and the lock: one tierd per state dir, dry or not (a
	 * dry run may go live by reload, and must not race a live tierd).  A
	 * dry run that cannot have them (not root) goes on without: it can
	 * never go live anyway. */
	int leftover_knob = -1;
	if (tierd_dry_run(d)) {
		int sr = setup_paths(d);
		if (sr == 0)
			sr = take_lock(d);
		if (sr < 0) {
			if (sr == -EWOULDBLOCK) {
				tierd_free(d);
				return 1;
			}
			tierd_warn(d, "dry-run without the state directory %s: a reload cannot make this run live",
				   d->state_dir);
			if (d->statefd >= 0)
				close(d->statefd);
			d->statefd = -1;
		}
		dry_run_state_check(d);
	} else if (setup_paths(d) < 0 || take_lock(d) < 0 || crash_restore(d, &leftover_knob) < 0) {
		tierd_free(d);
		return 1;
	}
	if (!d->once && tierd_ctl_socket_answers(d->socket_path)) {
		log_error("another tierd is already answering on %s", d->socket_path);
		tierd_free(d);
		return 1;
	}

	r = sd_event_default(&d->event);
	if (r < 0) {
		log_error("sd_event_default: %s", strerror(-r));
		tierd_free(d);
		return 1;
	}
	r = tierd_jobs_init(d);
	if (r < 0) {
		log_error("slow-job scheduler: %s", strerror(-r));
		tierd_free(d);
		return 1;
	}

	if (d->once) {
		r = tierd_tick(d);
		/* The slow jobs the tick started, to the end (bounded: a job
		 * that never finishes is a bug, not a reason to hang). */
		tierd_jobs_run_all(d, 1000000);
		/* One look of the guard, on this thread, after fencing held
		 * its reasons. */
		if (tierd_guard_once(d, leftover_knob) < 0 && r == 0)
			r = -EIO;
		topology_checks(d);
		print_once_summary(d);
		/* Changes made by --once stay (recorded in the state file, so the
		 * next tierd start or stop puts them back). */
		tierd_free(d);
		return r < 0 ? 1 : 0;
	}

	sd_event_source *s;
	static const int exit_sigs[] = { SIGTERM, SIGINT };
	for (size_t i = 0; i < 2; i++) {
		r = sd_event_add_signal(d->event, &s, exit_sigs[i] | SD_EVENT_SIGNAL_PROCMASK, on_signal_exit, d);
		if (r < 0)
			goto fail_event;
		sd_event_source_set_description(s, i ? "signal-int" : "signal-term");
		sd_event_source_set_floating(s, 1);
		sd_event_source_unref(s);
	}
	r = sd_event_add_signal(d->event, &s, SIGHUP | SD_EVENT_SIGNAL_PROCMASK, on_signal_reload, d);
	if (r < 0)
		goto fail_event;
	sd_event_source_set_description(s, "signal-hup");
	sd_event_source_set_floating(s, 1);
	sd_event_source_unref(s);
	tierd_debug_setup(d);

	if (tierd_ctl_open(d) < 0) {
		tierd_free(d);
		return 1;
	}
	tierd_fence_start(d);
	/* uevents for hotplug (or polling); logs the mode */
	tierd_topology_start(d);
	/* [daemon] metrics_textfile: its own timer; a setup failure is logged
	 * and costs only the textfile. */
	tierd_metrics_start(d);

	tierd_event(LOG_INFO, TIERD_MID_STARTED, NULL, 0, "tierd %s started (root %s, config %s%s)", TIERD_VERSION,
		    d->root, d->config_path, tierd_dry_run(d) ? ", dry-run" : "");
	tierd_tick(d);
	topology_checks(d);
	/* The guard thread, with the first snapshot's topology; it pings the
	 * watchdog from now on. */
	r = tierd_guard_start(d, leftover_knob);
	if (r < 0) {
		log_error("cannot start the guard: %s", strerror(-r));
		tierd_free(d);
		return 1;
	}
	tierd_notify("READY=1");
	tierd_notify_status(d);

	r = sd_event_loop(d->event);
	if (r < 0)
		log_error("event loop failed: %s", strerror(-r));

	tierd_notify("STOPPING=1");
	/* The guard first: nothing may write the knob while it is given back. */
	int left = tierd_guard_stop(d, "stop");
	left += tierd_restore_all(d, "stop");
	tierd_metrics_stop(d);
	tierd_event(LOG_INFO, TIERD_MID_STOPPED, NULL, 0, "tierd stopped%s",
		    left ? " (some settings could not be restored; state file kept)" : ", host restored");
	tierd_free(d);
	return r < 0 || left ? 1 : 0;

fail_event:
	log_error("event loop setup failed: %s", strerror(-r));
	tierd_free(d);
	return 1;
}
