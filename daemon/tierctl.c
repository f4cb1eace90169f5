/* SPDX-License-Identifier: MIT */
/*
 * tierctl: the client.  `topology` reads the host (or --root) itself and
 * needs no daemon; everything else asks tierd over its control socket and
 * only formats the answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <tier.h>
#include <tier/metrics.h>
#include "common-proto.h"
#include "tierctl-render.h"

enum {
	EXIT_USAGE = 2,
	EXIT_NOT_RUNNING = 3,
	EXIT_DENIED = 4,
	EXIT_PROTOCOL = 5,
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: tierctl [--socket PATH] COMMAND [OPTIONS]\n"
		"\n"
		"Commands:\n"
		"  topology [--root DIR] [--json]  memory tiers, nodes, watermarks, demotion targets\n"
		"                                  (reads the kernel directly; no daemon needed)\n"
		"  status [--json]                 the daemon's dashboard\n"
		"  metrics                         the status in the Prometheus text format\n"
		"  reload                          reload /etc/tierd.conf (root only)\n"
		"  pause                           stop acting, keep observing (root only)\n"
		"  resume                          act again (root only)\n"
		"\n"
		"Options:\n"
		"  --socket PATH   control socket (default $TIERD_SOCKET or %s)\n"
		"  --timeout SEC   wait at most SEC seconds for the daemon's answer (default 10)\n"
		"  --version       print the version\n"
		"  -h, --help      this text\n"
		"\n"
		"Exit status: 0 ok, 1 failed, 2 usage, 3 daemon not running, 4 permission denied,\n"
		"5 protocol version mismatch (tierctl talks to a tierd of its own version only).\n",
		TIERD_DEFAULT_SOCKET);
}

static void print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
}

static int cmd_topology(int argc, char **argv)
{
	const char *root = "/";
	bool json = false;
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': root = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tierctl topology: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		fprintf(stderr, "tierctl: cannot open root %s: %s\n", root, strerror(errno));
		return 1;
	}
	struct tier_snapshot *s = NULL;
	char err[512] = "";
	int r = tier_snapshot_acquire(rootfd, &s, err, sizeof(err));
	close(rootfd);
	if (r < 0) {
		fprintf(stderr, "tierctl: cannot read the topology under %s: %s\n", root, err[0] ? err : strerror(-r));
		return 1;
	}
	struct json_object *o = tier_snapshot_to_json(s);
	if (json)
		print_json(o);
	else
		tierctl_render_topology(stdout, o);
	json_object_put(o);
	tier_snapshot_free(s);
	return 0;
}

/* How long to wait for the daemon's answer (--timeout). */
static uint64_t timeout_usec = 10 * 1000000ull;

/* Send one request; on success *data holds the "data" object (or NULL).
 * Returns the exit status.  Everything the daemon sends is checked before
 * it is used: a broken or hostile daemon gets a clear error, not a crash. */
static int request(const char *sock, const char *command, struct json_object **data)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	*data = NULL;
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "tierctl: socket path too long: %s\n", sock);
		return EXIT_USAGE;
	}
	strcpy(sa.sun_path, sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "tierctl: socket: %s\n", strerror(errno));
		return 1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		if (e == ENOENT || e == ECONNREFUSED) {
			fprintf(stderr, "tierctl: tierd is not running (no daemon listening on %s)\n", sock);
			return EXIT_NOT_RUNNING;
		}
		if (e == EACCES || e == EPERM) {
			fprintf(stderr, "tierctl: permission denied on %s (root or the socket group may connect)\n", sock);
			return EXIT_DENIED;
		}
		if (e == EPROTOTYPE) {
			/* Protocol 1 was SOCK_SEQPACKET: the socket type differs. */
			fprintf(stderr, "tierctl: protocol version mismatch: the tierd on %s speaks protocol 1 "
					"(SOCK_SEQPACKET), tierctl %s speaks %d: use the tierctl of the running tierd's "
					"version (or restart tierd after an upgrade)\n",
				sock, TIERD_VERSION, TIERD_PROTO_VERSION);
			return EXIT_PROTOCOL;
		}
		fprintf(stderr, "tierctl: cannot connect to %s: %s\n", sock, strerror(e));
		return 1;
	}
	uint64_t deadline = tierd_proto_now_usec() + timeout_usec;
	struct json_object *req = tierd_proto_request(command);
	char *frame = NULL;
	size_t len = 0;
	int r = tierd_proto_encode(req, TIERD_PROTO_MAX_REQUEST_BYTES, &frame, &len);
	json_object_put(req);
	if (r == 0)
		r = tierd_proto_write_all(fd, frame, len, deadline);
	free(frame);
	if (r < 0 && r != -EPIPE && r != -ECONNRESET) {
		fprintf(stderr, "tierctl: sending the request failed: %s\n", strerror(-r));
		close(fd);
		return 1;
	}
	/* On EPIPE the daemon may still have said why (it refused us). */
	struct json_object *resp = NULL;
	char err[600] = "";
	r = tierd_proto_read_frame(fd, TIERD_PROTO_MAX_REPLY_BYTES, deadline, &resp, err, sizeof(err));
	close(fd);
	if (r < 0) {
		if (r == -ETIMEDOUT)
			fprintf(stderr, "tierctl: no answer from tierd within %.1f s: %s\n", (double)timeout_usec / 1e6,
				err);
		else
			fprintf(stderr, "tierctl: no valid answer from tierd: %s\n", err[0] ? err : strerror(-r));
		return 1;
	}
	struct tierd_proto_reply rep;
	r = tierd_proto_parse_reply(resp, &rep, err, sizeof(err));
	int rc = 0;
	if (r == -EPROTO) {
		fprintf(stderr, "tierctl: %s\n", err);
		rc = EXIT_PROTOCOL;
	} else if (r < 0) {
		fprintf(stderr, "tierctl: no valid answer from tierd: %s\n", err);
		rc = 1;
	} else if (!rep.ok) {
		fprintf(stderr, "tierctl: %s: %s\n", command, rep.error);
		rc = strncmp(rep.error, "permission denied", 17) == 0 ? EXIT_DENIED
		     : strncmp(rep.error, "protocol version", 16) == 0 ? EXIT_PROTOCOL
								      : 1;
	} else if (rep.data) {
		*data = json_object_get(rep.data);
	}
	json_object_put(resp);
	return rc;
}

/* Text for a terminal: what the daemon sends may carry any bytes (cgroup
 * names, a hostile daemon), so control characters other than newlines,
 * C1 controls included, become '?' (no escape sequences reach the tty). */
static void write_clean(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9f) {
			fputc('?', f);
			i++;
		} else if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f) {
			fputc('?', f);
		} else {
			fputc(ch, f);
		}
	}
}

static void render_status_clean(FILE *f, struct json_object *data)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	if (!m) {
		fprintf(stderr, "tierctl: open_memstream: %s\n", strerror(errno));
		return;
	}
	tierctl_render_status(m, data);
	if (fclose(m) == 0)
		write_clean(f, text, len);
	free(text);
}

static int cmd_daemon(const char *sock, const char *command, int argc, char **argv)
{
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(command, "status") == 0 && strcmp(argv[i], "--json") == 0)
			json = true;
		else {
			fprintf(stderr, "tierctl %s: unexpected argument '%s'\n", command, argv[i]);
			return EXIT_USAGE;
		}
	}
	struct json_object *data = NULL;
	int rc = request(sock, command, &data);
	if (rc == 0) {
		if (strcmp(command, "status") == 0) {
			if (json)
				print_json(data);
			else if (data)
				render_status_clean(stdout, data);
		} else {
			struct json_object *m = NULL;
			if (data && json_object_object_get_ex(data, "message", &m) &&
			    json_object_is_type(m, json_type_string)) {
				const char *msg = json_object_get_string(m);
				write_clean(stdout, msg, strlen(msg));
				putchar('\n');
			}
		}
	}
	json_object_put(data);
	return rc;
}

/* `tierctl metrics`: the daemon's status rendered as the Prometheus text
 * exposition (the same renderer the daemon's textfile writer uses). */
static int cmd_metrics(const char *sock, int argc, char **argv)
{
	if (argc > 1) {
		fprintf(stderr, "tierctl metrics: unexpected argument '%s'\n", argv[1]);
		return EXIT_USAGE;
	}
	struct json_object *data = NULL;
	int rc = request(sock, "status", &data);
	if (rc == 0) {
		size_t len = 0;
		char *text = tier_metrics_render(data, &len);
		if (!text) {
			fprintf(stderr, "tierctl: out of memory\n");
			rc = 1;
		} else if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
			fprintf(stderr, "tierctl: writing the metrics failed: %s\n", strerror(errno));
			rc = 1;
		}
		free(text);
	}
	json_object_put(data);
	return rc;
}

int main(int argc, char **argv)
{
	const char *sock = getenv("TIERD_SOCKET") ? getenv("TIERD_SOCKET") : TIERD_DEFAULT_SOCKET;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			sock = argv[++i];
		else if (strncmp(argv[i], "--socket=", 9) == 0)
			sock = argv[i] + 9;
		else if ((strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) || strncmp(argv[i], "--timeout=", 10) == 0) {
			const char *v = argv[i][9] == '=' ? argv[i] + 10 : argv[++i];
			char *end = NULL;
			errno = 0;
			double sec = strtod(v, &end);
			if (errno || end == v || *end || !(sec > 0 && sec <= 3600)) {
				fprintf(stderr, "tierctl: --timeout: expected seconds from 0 to 3600, got '%s'\n", v);
				return EXIT_USAGE;
			}
			timeout_usec = (uint64_t)(sec * 1e6);
		}
		else if (strcmp(argv[i], "--version") == 0) {
			printf("tierctl %s\n", TIERD_VERSION);
			return 0;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "tierctl: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[i];
	if (strcmp(cmd, "topology") == 0)
		return cmd_topology(argc - i, argv + i);
	if (strcmp(cmd, "status") == 0 || strcmp(cmd, "reload") == 0 || strcmp(cmd, "pause") == 0 ||
	    strcmp(cmd, "resume") == 0)
		return cmd_daemon(sock, cmd, argc - i, argv + i);
	if (strcmp(cmd, "metrics") == 0)
		return cmd_metrics(sock, argc - i, argv + i);
	fprintf(stderr, "tierctl: unknown command '%s'\n", cmd);
	usage(stderr);
	return EXIT_USAGE;
}
