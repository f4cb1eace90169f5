/* SPDX-License-Identifier: MIT */
/*
 * Debug-only hooks, off unless their environment variable says otherwise.
 *
 * TIERD_DEBUG_HANG_ON_SIGUSR1=1: SIGUSR1 blocks the event loop forever.  It
 * exists to test the systemd watchdog for real (tests/vm/systemd): with the
 * loop stuck, sd-event stops sending WATCHDOG=1, and PID 1 must kill the
 * service (SIGABRT) and restart it, and the restart must restore the host
 * from the state file.  A hang cannot be produced on demand from outside
 * otherwise (a wedged cgroup write is what it stands for).
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

static int on_sigusr1_hang(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	(void)s;
	(void)userdata;
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

	if (!v || strcmp(v, "1") != 0)
		return;
	int r = sd_event_add_signal(d->event, &s, SIGUSR1 | SD_EVENT_SIGNAL_PROCMASK, on_sigusr1_hang, d);
	if (r < 0) {
		log_warning("TIERD_DEBUG_HANG_ON_SIGUSR1: cannot add the SIGUSR1 handler: %s", strerror(-r));
		return;
	}
	sd_event_source_set_description(s, "debug-sigusr1-hang");
	sd_event_source_set_floating(s, 1);
	sd_event_source_unref(s);
	log_warning("debug hook TIERD_DEBUG_HANG_ON_SIGUSR1=1 is active: SIGUSR1 hangs the event loop");
}
