/* SPDX-License-Identifier: MIT */
/*
 * notifylisten PATH SECONDS: bind an AF_UNIX datagram socket at PATH (what
 * systemd's NOTIFY_SOCKET is) and print every message received, one per
 * line, prefixed with the CLOCK_MONOTONIC time in ms, for SECONDS.  Lets the
 * component tests see tierd's READY=1, STATUS= and WATCHDOG=1 without
 * systemd.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: notifylisten PATH SECONDS\n");
		return 2;
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(argv[1]) >= sizeof(sa.sun_path))
		return 2;
	strcpy(sa.sun_path, argv[1]);
	unlink(argv[1]);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("notifylisten");
		return 1;
	}
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long limit_ms = strtol(argv[2], NULL, 10) * 1000;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= limit_ms)
			break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, (int)(limit_ms - ms)) <= 0)
			continue;
		char buf[4096];
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		for (char *nl; (nl = strchr(buf, '\n'));)
			*nl = ' ';
		clock_gettime(CLOCK_MONOTONIC, &t);
		printf("%ld %s\n", (long)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000), buf);
	}
	unlink(argv[1]);
	return 0;
}
