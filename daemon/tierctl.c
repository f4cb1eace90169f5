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
		"  --socket PATH   control socket (default %s)\n"
		"  --version       print the version\n"
		"  -h, --help      this text\n"
		"\n"
		"Exit status: 0 ok, 1 failed, 2 usage, 3 daemon not running, 4 permission denied,\n"
		"5 protocol version mismatch.\n",
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

/* Send one request; on success *resp holds the "data" object (or NULL). */
static int request(const char *sock, const char *command, struct json_object **data)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	*data = NULL;
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "tierctl: socket path too long: %s\n", sock);
		return EXIT_USAGE;
	}
	strcpy(sa.sun_path, sock);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
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
		fprintf(stderr, "tierctl: cannot connect to %s: %s\n", sock, strerror(e));
		return 1;
	}
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct json_object *req = tierd_proto_request(command);
	int r = tierd_proto_send(fd, req);
	json_object_put(req);
	if (r < 0) {
		fprintf(stderr, "tierctl: sending the request failed: %s\n", strerror(-r));
		close(fd);
		return 1;
	}
	struct json_object *resp = NULL;
	char err[256] = "";
	r = tierd_proto_recv(fd, &resp, err, sizeof(err));
	close(fd);
	if (r < 0) {
		fprintf(stderr, "tierctl: no valid answer from tierd: %s\n",
			err[0] ? err : r == -EAGAIN ? "timed out after 10 s" : strerror(-r));
		return 1;
	}
	struct json_object *v = NULL;
	int version = json_object_object_get_ex(resp, "version", &v) ? json_object_get_int(v) : -1;
	bool ok = json_object_object_get_ex(resp, "ok", &v) && json_object_get_boolean(v);
	int rc = 0;
	if (version != TIERD_PROTO_VERSION) {
		fprintf(stderr, "tierctl: protocol version mismatch: tierd speaks %d, tierctl %d\n", version,
			TIERD_PROTO_VERSION);
		rc = EXIT_PROTOCOL;
	} else if (!ok) {
		const char *msg = json_object_object_get_ex(resp, "error", &v) ? json_object_get_string(v) : "?";
		fprintf(stderr, "tierctl: %s: %s\n", command, msg);
		rc = strncmp(msg, "permission denied", 17) == 0 ? EXIT_DENIED
		     : strncmp(msg, "protocol version", 16) == 0 ? EXIT_PROTOCOL
								  : 1;
	} else if (json_object_object_get_ex(resp, "data", &v)) {
		*data = json_object_get(v);
	}
	json_object_put(resp);
	return rc;
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
				tierctl_render_status(stdout, data);
		} else {
			struct json_object *m = NULL;
			if (data && json_object_object_get_ex(data, "message", &m))
				printf("%s\n", json_object_get_string(m));
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
