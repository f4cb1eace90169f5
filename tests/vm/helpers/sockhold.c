/* SPDX-License-Identifier: MIT */
/*
 * sockhold SOCKET N SECONDS: open N connections to the AF_UNIX socket (stream
 * or seqpacket, whichever it is), send nothing, hold them for SECONDS, then
 * close them all.  Prints "held K" once K connections are up (K < N when the
 * daemon or our own fd limit refuses more), then "closed".  A hostile but
 * unprivileged client of the control socket, for the component tests.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: sockhold SOCKET N SECONDS\n");
		return 2;
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(argv[1]) >= sizeof(sa.sun_path))
		return 2;
	strcpy(sa.sun_path, argv[1]);
	long n = strtol(argv[2], NULL, 10), secs = strtol(argv[3], NULL, 10);
	struct rlimit rl = { (rlim_t)n + 64, (rlim_t)n + 64 };
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	int type = SOCK_STREAM;
	long held = 0, again_ms = 0;
	for (long i = 0; i < n; i++) {
		/* Non-blocking: a full backlog answers EAGAIN instead of blocking. */
		int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			break;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			int e = errno;
			close(fd);
			if (e == EPROTOTYPE && type == SOCK_STREAM) {
				type = SOCK_SEQPACKET;
				i--;
				continue;
			}
			if (e == EAGAIN && again_ms < 10000) {
				/* Backlog full: give the daemon time to accept more (or
				 * to run out of fds), up to 10 s in all. */
				usleep(10000);
				again_ms += 10;
				i--;
				continue;
			}
			if (e == EAGAIN || e == ECONNREFUSED || e == EMFILE)
				break;   /* as many as the daemon takes */
			fprintf(stderr, "connect: %s\n", strerror(e));
			break;
		}
		held++;
	}
	printf("held %ld\n", held);
	fflush(stdout);
	sleep((unsigned)secs);
	printf("closed\n");
	return 0;
}
