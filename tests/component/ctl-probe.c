/* SPDX-License-Identifier: MIT */
/*
 * ctl-probe: a deliberately independent client and fake daemon for the
 * control-socket component tests (tests/component/test_ctl_*.sh).  It speaks
 * the wire format of daemon/common-proto.h written out by hand (4-byte
 * big-endian length + JSON), not through common-proto.c, so the tests check
 * the format itself, and it can do what tierctl never does: hold many idle
 * connections, send malformed frames, never read a reply, or play a broken
 * or hostile daemon.
 *
 *   ctl-probe hold SOCK N HOLD_S [--request]
 *       open N connections at once (non-blocking connect), then report:
 *       connected= held= refused= closed= eagain= errors= first_refusal=
 *       (refused: the daemon answered with an error frame at once; held:
 *       nothing came once the count of answered ones was steady for 300 ms).  With --request, send a status request
 *       on every held connection and report served= (ok replies).  Then keep
 *       the rest open for HOLD_S seconds and report dropped_by_daemon= and
 *       drop_message= (connections the daemon closed meanwhile).
 *   ctl-probe request SOCK [--cmd C] [--version V] [--json TEXT] [--len L]
 *                          [--chunk N] [--gap-ms MS]
 *       one request (default {"version":2,"command":"status"}; --json
 *       replaces the payload, --len the header's length), written N bytes
 *       at a time with MS between writes; prints reply_bytes= and reply=
 *       (the payload), or closed / timeout.
 *   ctl-probe noread SOCK HOLD_S
 *       send a status request, read nothing for HOLD_S seconds, then read
 *       what is there: received= expected= complete= eof=.
 *   ctl-probe repeat SOCK N CMD
 *       N requests, one connection each: answered= ok= failed=.
 *   ctl-probe latency SOCK N
 *       N status round trips (connect, request, whole answer), one after
 *       the other: n= failed= bytes= min_us= median_us= p99_us= max_us=
 *       (tests/bench/ctl-bench.sh).
 *   ctl-probe fake-daemon SOCK MODE [CONNECTIONS]
 *       answer CONNECTIONS (default 1) clients the MODE way and exit:
 *       truncated huge garbage notobject envelope wrongtypes version3
 *       escape silent close dribble big error seqpacket.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "ctl-probe: %s: %s\n", what, strerror(errno));
	exit(2);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct sockaddr_un addr(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "ctl-probe: path too long\n");
		exit(2);
	}
	strcpy(sa.sun_path, path);
	return sa;
}

static void raise_nofile(unsigned want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("setrlimit");
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			poll(&pfd, 1, 1000);
			continue;
		}
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_frame(int fd, const char *json)
{
	size_t len = strlen(json);
	unsigned char *b = malloc(len + 4);
	if (!b)
		return -1;
	put_be32(b, (uint32_t)len);
	memcpy(b + 4, json, len);
	int r = write_all(fd, b, len + 4);
	free(b);
	return r;
}

/* Read one frame with a deadline: the payload (malloc'd, NUL-terminated) in
 * *out; returns its length, -1 closed before a byte, -2 timeout, -3 closed
 * mid-frame, -4 header over 64 MiB. */
static long read_frame(int fd, int timeout_ms, char **out)
{
	unsigned char hdr[4];
	size_t have = 0, need = 4;
	char *buf = NULL;
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	*out = NULL;
	for (;;) {
		while (have < need) {
			int64_t left = (int64_t)(end - now_ms());
			if (left <= 0) {
				free(buf);
				return -2;
			}
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			if (poll(&pfd, 1, (int)left) <= 0)
				continue;
			ssize_t n = buf ? recv(fd, buf + have - 4, need - have, MSG_DONTWAIT)
					: recv(fd, hdr + have, need - have, MSG_DONTWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0) {
				free(buf);
				return have == 0 ? -1 : -3;
			}
			have += (size_t)n;
		}
		if (buf)
			break;
		uint32_t plen = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
		if (plen > (64u << 20))
			return -4;
		buf = malloc((size_t)plen + 1);
		if (!buf)
			die("malloc");
		need = 4 + (size_t)plen;
		if (plen == 0)
			break;
	}
	buf[need - 4] = '\0';
	*out = buf;
	return (long)(need - 4);
}

static int connect_to(const char *path, bool nonblock)
{
	struct sockaddr_un sa = addr(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Quote for a key='value' line: no newlines or quotes. */
static void print_kv(const char *key, const char *val)
{
	printf("%s='", key);
	for (const char *p = val; p && *p; p++)
		putchar(*p == '\'' || *p == '\n' ? ' ' : *p);
	printf("'\n");
}

static const char status_req[] = "{\"version\":2,\"command\":\"status\"}";

/* ------------------------------------------------------------------ hold */

static int cmd_hold(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	const char *sock = argv[2];
	unsigned n = (unsigned)atoi(argv[3]);
	int hold_s = atoi(argv[4]);
	bool request = argc > 5 && strcmp(argv[5], "--request") == 0;
	raise_nofile(n + 64);
	int *fds = calloc(n, sizeof(int));
	unsigned connected = 0, eagain = 0, errors = 0, held = 0, refused = 0, closed = 0;
	char first_refusal[512] = "", drop_message[512] = "";
	/* A full listen queue says EAGAIN: retry for up to 5 s in all, so that
	 * the daemon really sees N connections (it accepts and refuses fast). */
	uint64_t give_up = now_ms() + 5000;
	for (unsigned i = 0; i < n; i++) {
		for (;;) {
			fds[i] = connect_to(sock, true);
			if (fds[i] >= 0 || errno != EAGAIN || now_ms() >= give_up)
				break;
			usleep(1000);
		}
		if (fds[i] >= 0)
			connected++;
		else if (errno == EAGAIN)
			eagain++;
		else
			errors++;
	}
	/* Let the daemon decide: until the number of connections with
	 * something to read has not changed for 300 ms (at most 5 s). */
	unsigned last = ~0u, stable = 0;
	for (uint64_t until = now_ms() + 5000; stable < 3 && now_ms() < until;) {
		usleep(100 * 1000);
		unsigned readable = 0;
		for (unsigned i = 0; i < n; i++) {
			struct pollfd pfd = { .fd = fds[i], .events = POLLIN };
			readable += fds[i] >= 0 && poll(&pfd, 1, 0) > 0;
		}
		stable = readable == last ? stable + 1 : 0;
		last = readable;
	}
	for (unsigned i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		struct pollfd pfd = { .fd = fds[i], .events = POLLIN };
		if (poll(&pfd, 1, 0) == 0) {
			held++;
			continue;
		}
		char *msg = NULL;
		long r = read_frame(fds[i], 1000, &msg);
		if (r > 0) {
			refused++;
			if (!first_refusal[0])
				snprintf(first_refusal, sizeof(first_refusal), "%s", msg);
		} else {
			closed++;
		}
		free(msg);
		close(fds[i]);
		fds[i] = -1;
	}
	printf("connected=%u\nheld=%u\nrefused=%u\nclosed=%u\neagain=%u\nerrors=%u\n", connected, held, refused, closed,
	       eagain, errors);
	print_kv("first_refusal", first_refusal);
	if (request) {
		unsigned served = 0;
		for (unsigned i = 0; i < n; i++) {
			if (fds[i] < 0)
				continue;
			char *msg = NULL;
			if (send_frame(fds[i], status_req) == 0 && read_frame(fds[i], 10000, &msg) > 0 &&
			    strstr(msg, "\"ok\":true"))
				served++;
			free(msg);
			close(fds[i]);
			fds[i] = -1;
		}
		printf("served=%u\n", served);
	}
	printf("ready=1\n");
	fflush(stdout);
	unsigned dropped = 0;
	uint64_t end = now_ms() + (uint64_t)hold_s * 1000;
	while (now_ms() < end)
		usleep(100 * 1000);
	for (unsigned i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		struct pollfd pfd = { .fd = fds[i], .events = POLLIN };
		if (poll(&pfd, 1, 0) > 0) {
			dropped++;
			char *msg = NULL;
			if (read_frame(fds[i], 1000, &msg) > 0 && !drop_message[0])
				snprintf(drop_message, sizeof(drop_message), "%s", msg);
			free(msg);
		}
		close(fds[i]);
	}
	printf("dropped_by_daemon=%u\n", dropped);
	print_kv("drop_message", drop_message);
	free(fds);
	return 0;
}

/* --------------------------------------------------------------- request */

static int cmd_request(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	const char *sock = argv[2];
	const char *cmd = "status", *json = NULL;
	int version = 2, chunk = 0, gap_ms = 0;
	long hdr_len = -1;
	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--cmd"))
			cmd = argv[i + 1];
		else if (!strcmp(argv[i], "--version"))
			version = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--json"))
			json = argv[i + 1];
		else if (!strcmp(argv[i], "--len"))
			hdr_len = strtol(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--chunk"))
			chunk = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--gap-ms"))
			gap_ms = atoi(argv[i + 1]);
		else
			return 2;
	}
	char def[256];
	if (!json) {
		snprintf(def, sizeof(def), "{\"version\":%d,\"command\":\"%s\"}", version, cmd);
		json = def;
	}
	size_t plen = strlen(json);
	unsigned char *b = malloc(plen + 4);
	put_be32(b, hdr_len >= 0 ? (uint32_t)hdr_len : (uint32_t)plen);
	memcpy(b + 4, json, plen);
	int fd = connect_to(sock, false);
	if (fd < 0)
		die("connect");
	size_t len = plen + 4, off = 0, step = chunk > 0 ? (size_t)chunk : len;
	while (off < len) {
		size_t k = len - off < step ? len - off : step;
		if (write_all(fd, b + off, k) < 0)
			break; /* the daemon may have answered and closed already */
		off += k;
		if (gap_ms && off < len)
			usleep((useconds_t)gap_ms * 1000);
	}
	free(b);
	char *msg = NULL;
	long r = read_frame(fd, 10000, &msg);
	if (r >= 0) {
		printf("reply_bytes=%ld\n", r);
		printf("reply=%s\n", msg);
	} else {
		printf("%s\n", r == -2 ? "timeout" : "closed");
	}
	free(msg);
	close(fd);
	return 0;
}

/* ---------------------------------------------------------------- noread */

static int cmd_noread(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	int fd = connect_to(argv[2], false);
	if (fd < 0)
		die("connect");
	/* A small receive buffer, so the daemon cannot park a big answer in it. */
	int rcv = 4096;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (send_frame(fd, status_req) < 0)
		die("send");
	sleep((unsigned)atoi(argv[3]));
	unsigned char hdr[4];
	size_t received = 0, expected = 0;
	bool eof = false;
	char buf[65536];
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, 2000) <= 0)
			break;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0) {
			eof = true;
			break;
		}
		for (ssize_t i = 0; i < n; i++, received++)
			if (received < 4)
				hdr[received] = (unsigned char)buf[i];
		if (received >= 4)
			expected = 4 + ((size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3]);
	}
	printf("received=%zu\nexpected=%zu\ncomplete=%s\neof=%s\n", received, expected,
	       expected && received == expected ? "yes" : "no", eof ? "yes" : "no");
	close(fd);
	return 0;
}

/* ---------------------------------------------------------------- repeat */

static int cmd_repeat(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	int n = atoi(argv[3]);
	char req[128];
	snprintf(req, sizeof(req), "{\"version\":2,\"command\":\"%s\"}", argv[4]);
	unsigned answered = 0, ok = 0, failed = 0;
	for (int i = 0; i < n; i++) {
		int fd = connect_to(argv[2], false);
		char *msg = NULL;
		if (fd >= 0 && send_frame(fd, req) == 0 && read_frame(fd, 10000, &msg) > 0) {
			answered++;
			if (strstr(msg, "\"ok\":true"))
				ok++;
		} else {
			failed++;
		}
		free(msg);
		if (fd >= 0)
			close(fd);
	}
	printf("answered=%u\nok=%u\nfailed=%u\n", answered, ok, failed);
	return 0;
}

/* --------------------------------------------------------------- latency */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* N status round trips (connect, request, whole answer): figures in us. */
static int cmd_latency(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	int n = atoi(argv[3]);
	if (n < 1)
		return 2;
	uint64_t *t = calloc((size_t)n, sizeof(*t));
	long bytes = 0;
	int failed = 0;
	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_us();
		int fd = connect_to(argv[2], false);
		char *msg = NULL;
		long r = -1;
		if (fd >= 0 && send_frame(fd, status_req) == 0)
			r = read_frame(fd, 10000, &msg);
		if (r <= 0 || !strstr(msg, "\"ok\":true"))
			failed++;
		else
			bytes = r;
		free(msg);
		if (fd >= 0)
			close(fd);
		t[i] = now_us() - t0;
	}
	qsort(t, (size_t)n, sizeof(*t), cmp_u64);
	printf("n=%d failed=%d bytes=%ld min_us=%llu median_us=%llu p99_us=%llu max_us=%llu\n", n, failed, bytes,
	       (unsigned long long)t[0], (unsigned long long)t[n / 2], (unsigned long long)t[(n * 99) / 100],
	       (unsigned long long)t[n - 1]);
	free(t);
	return 0;
}

/* ----------------------------------------------------------- fake daemon */

static void raw_frame(int fd, uint32_t hdr_len, const char *payload, size_t plen)
{
	unsigned char h[4];
	put_be32(h, hdr_len);
	write_all(fd, h, 4);
	if (plen)
		write_all(fd, payload, plen);
}

static void reply(int fd, const char *json)
{
	raw_frame(fd, (uint32_t)strlen(json), json, strlen(json));
}

static void serve(int c, const char *mode)
{
	char *req = NULL;
	(void)read_frame(c, 5000, &req);
	free(req);
	if (!strcmp(mode, "truncated")) {
		raw_frame(c, 100, "{\"version\"", 10);
	} else if (!strcmp(mode, "huge")) {
		raw_frame(c, 0xfffffff0u, "{", 1);
	} else if (!strcmp(mode, "garbage")) {
		reply(c, "this is not json at all");
	} else if (!strcmp(mode, "notobject")) {
		reply(c, "[1,2,3]");
	} else if (!strcmp(mode, "envelope")) {
		reply(c, "{\"version\":2,\"ok\":\"yes\"}");
	} else if (!strcmp(mode, "wrongtypes")) {
		reply(c, "{\"version\":2,\"ok\":true,\"data\":{\"daemon\":5,\"tiers\":5,\"nodes\":\"x\",\"actions\":{},"
			 "\"warnings\":[null,7],\"guard\":[1],\"fence\":{\"state\":5,\"grants\":{}},"
			 "\"relief\":{\"enabled\":true,\"failures\":[1]},\"topology\":\"t\"}}");
	} else if (!strcmp(mode, "version3")) {
		reply(c, "{\"version\":3,\"ok\":true,\"data\":{}}");
	} else if (!strcmp(mode, "escape")) {
		reply(c, "{\"version\":2,\"ok\":true,\"data\":{\"daemon\":{\"version\":\"\\u001b[31mred\\u001b]0;t\\u0007"
			 "\\u009b1m\",\"pid\":1},\"warnings\":[\"w\\u001b[2J\"]}}");
	} else if (!strcmp(mode, "silent")) {
		pause();
	} else if (!strcmp(mode, "close")) {
		/* nothing */
	} else if (!strcmp(mode, "dribble")) {
		static const char j[] = "{\"version\":2,\"ok\":true,\"data\":{\"daemon\":{\"version\":\"dribbled\"}}}";
		unsigned char h[4];
		put_be32(h, (uint32_t)strlen(j));
		for (int i = 0; i < 4; i++) {
			write_all(c, h + i, 1);
			usleep(20 * 1000);
		}
		for (size_t i = 0; j[i]; i++) {
			write_all(c, j + i, 1);
			usleep(5 * 1000);
		}
	} else if (!strcmp(mode, "big")) {
		size_t n = 4u << 20;
		char *j = malloc(n + 200);
		int o = sprintf(j, "{\"version\":2,\"ok\":true,\"data\":{\"daemon\":{\"version\":\"big\"},\"pad\":\"");
		memset(j + o, 'x', n);
		strcpy(j + o + n, "\"}}");
		reply(c, j);
		free(j);
	} else if (!strcmp(mode, "error")) {
		reply(c, "{\"version\":2,\"ok\":false,\"error\":\"boom: something failed\"}");
	}
}

static int cmd_fake(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	const char *path = argv[2], *mode = argv[3];
	int count = argc > 4 ? atoi(argv[4]) : 1;
	signal(SIGPIPE, SIG_IGN);
	struct sockaddr_un sa = addr(path);
	int type = !strcmp(mode, "seqpacket") ? SOCK_SEQPACKET : SOCK_STREAM;
	int l = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (l < 0)
		die("socket");
	unlink(path);
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 8) < 0)
		die("bind/listen");
	printf("listening\n");
	fflush(stdout);
	for (int i = 0; i < count; i++) {
		int c = accept(l, NULL, NULL);
		if (c < 0)
			die("accept");
		if (type == SOCK_STREAM)
			serve(c, mode);
		close(c);
	}
	close(l);
	unlink(path);
	return 0;
}

int main(int argc, char **argv)
{
	int r = 2;
	if (argc >= 2 && !strcmp(argv[1], "hold"))
		r = cmd_hold(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "request"))
		r = cmd_request(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "noread"))
		r = cmd_noread(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "repeat"))
		r = cmd_repeat(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "latency"))
		r = cmd_latency(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "fake-daemon"))
		r = cmd_fake(argc, argv);
	if (r == 2)
		fprintf(stderr, "usage: see the comment at the top of tests/component/ctl-probe.c\n");
	return r;
}
