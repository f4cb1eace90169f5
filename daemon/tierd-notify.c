/* SPDX-License-Identifier: MIT */
/* sd_notify over a socket opened once (see tierd-notify.h). */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "tierd-log.h"
#include "tierd-notify.h"

static int notify_fd = -1;

int tierd_notify_open(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;

	if (!path || !path[0])
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path)) {
		log_warning("NOTIFY_SOCKET=%s: not a socket path tierd understands; no notifications", path);
		return -EINVAL;
	}
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';   /* abstract namespace */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		int e = errno;
		log_warning("notify socket: %s", strerror(e));
		return -e;
	}
	if (connect(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0) {
		int e = errno;
		log_warning("cannot connect to NOTIFY_SOCKET %s: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	notify_fd = fd;
	return 0;
}

void tierd_notify_close(void)
{
	if (notify_fd >= 0)
		close(notify_fd);
	notify_fd = -1;
}

void tierd_notify(const char *msg)
{
	if (notify_fd >= 0)
		(void)send(notify_fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
}

bool tierd_watchdog_usec(uint64_t *usec)
{
	/* sd_watchdog_enabled() checks WATCHDOG_PID against our pid, and
	 * reads only the environment: no fd. */
	return sd_watchdog_enabled(0, usec) > 0 && *usec > 0;
}
