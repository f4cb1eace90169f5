/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * The daemon's state.  One instance, owned by main(); every event handler gets
 * it as userdata.  Two threads (the model is in tierd-job.h): this struct
 * belongs to the main thread, except what tierd-guard.c says the guard
 * thread reads (rootfd, statefd, ops, state_dir: set before the thread
 * starts and constant) and the actions ring (actions_lock).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>
#include <json-c/json.h>

#include <tier.h>
#include <tier/demotion.h>
#include "tierd-ops.h"

/* One thing tierd did (or, in dry-run, would have done), kept for status. */
struct tierd_action {
	uint64_t mono_usec, real_usec;
	char kind[16];          /* "guard", "restore", "reload", "control", ... */
	char target[160];       /* what was acted on: a knob path, a cgroup */
	char value[64];         /* value written, if any */
	char reason[256];
	int result;             /* 0 or -errno */
	bool dry_run;
};

struct tierd {
	sd_event *event;
	sd_event_source *tick_source, *ctl_source;

	/* command line */
	char *config_path, *dropin_dir, *root, *socket_path, *state_dir;
	bool config_explicit, cli_dry_run, once;
	int cli_log_level;      /* -1: from config */

	int rootfd, statefd, lockfd, ctl_fd;
	const struct tierd_ops *ops;
	bool is_root;           /* euid 0 */
	bool socket_bound;

	struct tier_config *config;
	uint64_t config_generation;
	char last_reload[512];  /* "" | "ok" | "reload failed: file:line: ..." */
	uint64_t reload_failures;  /* reloads rejected since start */

	struct tier_snapshot *snap;   /* last good snapshot */
	char acquire_error[512];      /* last acquire failure, "" if fine */
	bool paused;

	/* The state file: every setting changed, with its value before
	 * (demotion_enabled excepted: its owner keeps knobs.json). */
	struct tier_state *state;
	size_t restore_pending;       /* entries of a previous run that could not be restored */
	bool crash_restore_pending;   /* dry-run found a previous run's state: not restored */


	/* Ring of config->actions_kept.  Both threads append (the guard thread
	 * records its knob writes): every access holds actions_lock, and
	 * readers copy out under it. */
	pthread_mutex_t actions_lock;
	bool actions_dry_run;         /* tierd_dry_run(), for actions of either thread */
	struct tierd_action *actions;
	unsigned actions_cap, actions_len, actions_head;
	uint64_t actions_total;

	uint64_t started_mono_usec;
	uint64_t ticks, interval_usec;
	uint64_t tick_cost_last_usec, tick_cost_max_usec, tick_cost_sum_usec;

	char warnings[8][256];
	unsigned nr_warnings;
	char status_line[256];

	/* policy state: see the policy modules */
	void *guard;              /* tierd-guard.c: the guard thread and the knob's owner */
	void *relief;
	void *fence;              /* tierd-fence.c */
	void *jobs;               /* tierd-job.c: the slow jobs' slices */
	void *metrics;            /* tierd-metrics.c: the Prometheus textfile */
	void *ctl;                /* tierd-ctl.c: the control socket's clients */

	/* Dynamic topology (tierd-topology.c).  The generation is 1 after the
	 * first snapshot and bumped on every significant change of the shape
	 * (nodes, tiers, memory, demotion targets): a policy that plans per
	 * node compares it with the value it saw last and re-plans. */
	uint64_t topology_generation;
	char topology_last_change[512];          /* summary "tiers A → B; node ...", "" if none */
	uint64_t topology_last_change_mono_usec;
	void *topology;
};

/* Effective dry-run: command line or config (main thread). */
bool tierd_dry_run(const struct tierd *d);
/* After d->config or cli_dry_run changed: tell the actions ring. */
void tierd_dry_run_changed(struct tierd *d);

/* tierd-tick.c: acquire -> decide -> apply, then reschedule. */
int tierd_tick(struct tierd *d);
int tierd_schedule_tick(struct tierd *d, uint64_t usec);

/* Restore every recorded setting (stop, crash recovery).  Returns the number
 * that could not be restored. */
int tierd_restore_all(struct tierd *d, const char *why);
/* Write one recorded original back, as the restore does (cpuset.mems,
 * subtree_control, unit property, knob); it does not change the state.
 * Returns 0 or -errno (-ENOENT: the target is gone).  Blocks for the answer
 * of a unit property (at most a few D-Bus timeouts): not for the loop. */
int tierd_restore_one(struct tierd *d, enum tier_state_kind kind, const char *key, const char *value);
void tierd_record_action(struct tierd *d, const char *kind, const char *target, const char *value,
			 const char *reason, int result);

/* tierd-config.c */
int tierd_reload(struct tierd *d, const char *origin);

/* tierd-ctl.c: the control socket (see the top of tierd-ctl.c for how no
 * client can hold the loop or exhaust it). */
int tierd_ctl_open(struct tierd *d);
void tierd_ctl_close(struct tierd *d);
/* Is a daemon (of any protocol version) answering on path? */
bool tierd_ctl_socket_answers(const char *path);
/* Clients, limits and counters for status (new reference). */
struct json_object *tierd_ctl_status(struct tierd *d);

/* tierd-status.c: the status object served to tierctl (new reference). */
struct json_object *tierd_status_json(struct tierd *d);
/* Update STATUS= for systemd. */
void tierd_notify_status(struct tierd *d);

void tierd_warn(struct tierd *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

uint64_t tierd_now_mono_usec(void);
uint64_t tierd_now_real_usec(void);

#define TIERD_STATE_FILE "state.json"


/* tierd-debug.c: debug-only hooks, each off unless its environment variable
 * is set (TIERD_DEBUG_HANG_ON_SIGUSR1=1, see tierd(8) DEBUGGING). */
void tierd_debug_setup(struct tierd *d);
