/* SPDX-License-Identifier: MIT */
/*
 * Debug-only hooks, off unless their environment variable says otherwise.
 *
 * TIERD_DEBUG_HANG_ON_SIGUSR1=guard: SIGUSR1 blocks the guard thread forever.
 * It exists to test the systemd watchdog for real (tests/vm/systemd): the
 * guard sends WATCHDOG=1 after each look, so with it stuck the pings stop,
 * and PID 1 must kill the service (SIGABRT) and restart it, and the restart
 * must restore the host from the state files.
 *
 * TIERD_DEBUG_HANG_ON_SIGUSR1=main (or 1): SIGUSR1 blocks the main loop
 * forever (what a wedged cgroup write would do).  The guard must go on
 * guarding and pinging: the test of the thread split
 * (tests/component/test_guard_isolation.sh, tests/vm/systemd).
 *
 * A hang cannot be produced on demand from outside otherwise.
 *
 * Without the variable, nothing is installed and SIGUSR1 keeps its default
 * action.  Never set it in production: any process allowed to signal tierd
 * could then stall it until the watchdog fires.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-event.h>

#include "tierd.h"
#include "tierd-log.h"
#include "tierd-guard.h"

static bool hang_guard;

static int on_sigusr1_hang(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	(void)s;
	if (hang_guard) {
		log_warning("TIERD_DEBUG_HANG_ON_SIGUSR1: SIGUSR1 from pid %u, blocking the guard thread forever",
			    (unsigned)si->ssi_pid);
		tierd_guard_debug_hang(userdata);
		return 0;
	}
	log_warning("TIERD_DEBUG_HANG_ON_SIGUSR1: SIGUSR1 from pid %u, blocking the event loop forever",
		    (unsigned)si->ssi_pid);
	/* Only a signal with a default action that ends the process (the
	 * watchdog's SIGABRT, SIGKILL) gets us out; SIGTERM/SIGINT/SIGHUP are
	 * blocked for the signalfd and stay pending, as in a real hang. */
	for (;;)
		pause();
	return 0;
}

void tierd_debug_setup(struct tierd *d)
{
	const char *v = getenv("TIERD_DEBUG_HANG_ON_SIGUSR1");
	sd_event_source *s;

	if (!v || (strcmp(v, "1") != 0 && strcmp(v, "main") != 0 && strcmp(v, "guard") != 0))
		return;
	hang_guard = strcmp(v, "guard") == 0;
	int r = sd_event_add_signal(d->event, &s, SIGUSR1 | SD_EVENT_SIGNAL_PROCMASK, on_sigusr1_hang, d);
	if (r < 0) {
		log_warning("TIERD_DEBUG_HANG_ON_SIGUSR1: cannot add the SIGUSR1 handler: %s", strerror(-r));
		return;
	}
	sd_event_source_set_description(s, "debug-sigusr1-hang");
	sd_event_source_set_floating(s, 1);
	sd_event_source_unref(s);
	log_warning("debug hook TIERD_DEBUG_HANG_ON_SIGUSR1=%s is active: SIGUSR1 hangs the %s", v,
		    hang_guard ? "guard thread" : "event loop");
}
