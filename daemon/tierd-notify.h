/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * sd_notify(3) over a socket opened once at start.
 *
 * libsystemd's sd_notify() opens a new socket for every message.  tierd's
 * watchdog ping must mean "the guard is alive" and must not fail because
 * some client exhausted the fd table (EMFILE), so the socket named by
 * $NOTIFY_SOCKET is opened and connected once, before anything else can take
 * the fds, and every message (READY=1, STATUS=, WATCHDOG=1...) is one send(2)
 * on it.  Datagram sends are atomic, so both threads may send.  systemd
 * attributes the message to the sender's thread-group id, which is tierd's
 * main PID whichever thread sends (NotifyAccess=main holds).
 */
#include <stdbool.h>
#include <stdint.h>

/* Open $NOTIFY_SOCKET ("/path" or "@abstract"); without it (not started by
 * systemd) every send is a no-op.  Call once, early, from the main thread.
 * Returns 0, or -errno (then sends are no-ops and the error is logged). */
int tierd_notify_open(void);
void tierd_notify_close(void);
/* Send one message ("READY=1", "STATUS=..."); errors are ignored (systemd
 * may be reloading).  Thread-safe. */
void tierd_notify(const char *msg);
/* The watchdog interval systemd asked for ($WATCHDOG_USEC for our pid), or
 * false when there is none. */
bool tierd_watchdog_usec(uint64_t *usec);
