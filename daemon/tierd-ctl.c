/* SPDX-License-Identifier: MIT */
/*
 * The control socket: AF_UNIX SOCK_SEQPACKET in the state dir, mode 0660,
 * owned by root and the configured socket group.  Anyone who can connect may
 * read status; only uid 0 (SO_PEERCRED, not a claim in the message) may
 * change anything.  Requests are answered synchronously from the event loop;
 * a send timeout bounds how long a stuck client can hold it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common-proto.h"
#include "tierd.h"
#include "tierd-log.h"
#include "tierd-guard.h"

static struct json_object *handle(struct tierd *d, struct json_object *req, const struct ucred *cred)
{
	struct json_object *v;
	int version = json_object_object_get_ex(req, "version", &v) ? json_object_get_int(v) : -1;
	if (version != TIERD_PROTO_VERSION)
		return tierd_proto_error("protocol version mismatch: tierd speaks %d, request has %d",
					 TIERD_PROTO_VERSION, version);
	if (!json_object_object_get_ex(req, "command", &v) || !json_object_is_type(v, json_type_string))
		return tierd_proto_error("malformed request: no \"command\"");
	const char *cmd = json_object_get_string(v);

	if (strcmp(cmd, "status") == 0)
		return tierd_proto_ok(tierd_status_json(d));

	bool mutation = strcmp(cmd, "reload") == 0 || strcmp(cmd, "pause") == 0 || strcmp(cmd, "resume") == 0;
	if (!mutation)
		return tierd_proto_error("unknown command \"%s\"", cmd);
	if (cred->uid != 0)
		return tierd_proto_error("permission denied: %s needs root (caller uid %u)", cmd, (unsigned)cred->uid);

	struct tierd_field f[2];
	char msg[600];
	tierd_field_set(&f[0], "TIERD_COMMAND", "%s", cmd);
	tierd_field_set(&f[1], "TIERD_CLIENT_PID", "%d", (int)cred->pid);
	tierd_event(LOG_INFO, TIERD_MID_CONTROL, f, 2, "control: %s requested by pid %d", cmd, (int)cred->pid);

	if (strcmp(cmd, "reload") == 0) {
		int r = tierd_reload(d, "tierctl");
		if (r < 0)
			return tierd_proto_error("%s", d->last_reload);
		snprintf(msg, sizeof(msg), "configuration reloaded: generation %llu",
			 (unsigned long long)d->config_generation);
	} else if (strcmp(cmd, "pause") == 0) {
		/* Paused: keep observing, decide and change nothing.  Settings
		 * already changed stay as they are until resume or stop. */
		if (!d->paused)
			tierd_record_action(d, "control", "", NULL, "paused by tierctl", 0);
		d->paused = true;
		tierd_guard_pause(d, true);
		snprintf(msg, sizeof(msg), "paused: observing only");
	} else {
		if (d->paused)
			tierd_record_action(d, "control", "", NULL, "resumed by tierctl", 0);
		d->paused = false;
		tierd_guard_pause(d, false);
		tierd_schedule_tick(d, 0);
		snprintf(msg, sizeof(msg), "resumed");
	}
	tierd_notify_status(d);
	struct json_object *data = json_object_new_object();
	json_object_object_add(data, "message", json_object_new_string(msg));
	json_object_object_add(data, "config_generation", json_object_new_int64((int64_t)d->config_generation));
	json_object_object_add(data, "paused", json_object_new_boolean(d->paused));
	return tierd_proto_ok(data);
}

static int on_client(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct tierd *d = userdata;
	(void)revents;
	struct json_object *req = NULL, *resp = NULL;
	char err[256] = "";
	struct ucred cred;
	socklen_t len = sizeof(cred);

	int r = tierd_proto_recv(fd, &req, err, sizeof(err));
	if (r == -EAGAIN)
		return 0;
	if (r == -ENODATA || r == -ECONNRESET)
		goto close;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warning("control: SO_PEERCRED failed: %s", strerror(errno));
		goto close;
	}
	if (r < 0) {
		log_warning("control: bad request from pid %d: %s", (int)cred.pid, err[0] ? err : strerror(-r));
		resp = tierd_proto_error("%s", err[0] ? err : strerror(-r));
	} else {
		resp = handle(d, req, &cred);
	}
	r = tierd_proto_send(fd, resp);
	if (r < 0)
		log_warning("control: reply to pid %d failed: %s", (int)cred.pid, strerror(-r));
close:
	json_object_put(req);
	json_object_put(resp);
	sd_event_source_disable_unref(s);
	return 0;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct tierd *d = userdata;
	(void)s;
	(void)revents;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (c < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warning("control: accept: %s", strerror(errno));
		return 0;
	}
	/* Replies are sent blocking with a bound: the loop never waits more than
	 * a second on a client that stopped reading. */
	int fl = fcntl(c, F_GETFL);
	fcntl(c, F_SETFL, fl & ~O_NONBLOCK);
	struct timeval tv = { .tv_sec = 1 };
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	int sndbuf = TIERD_PROTO_MAX_BYTES + 4096;
	setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

	sd_event_source *cs;
	int r = sd_event_add_io(d->event, &cs, c, EPOLLIN, on_client, d);
	if (r < 0) {
		close(c);
		return 0;
	}
	sd_event_source_set_io_fd_own(cs, 1);
	sd_event_source_set_description(cs, "control-client");
	sd_event_source_set_floating(cs, 1);
	sd_event_source_unref(cs);
	return 0;
}

int tierd_ctl_open(struct tierd *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	gid_t gid = 0;

	if (strlen(d->socket_path) >= sizeof(sa.sun_path)) {
		log_error("socket path too long: %s", d->socket_path);
		return -ENAMETOOLONG;
	}
	if (d->config->socket_group && d->config->socket_group[0]) {
		struct group *gr = getgrnam(d->config->socket_group);
		if (!gr)
			tierd_warn(d, "socket group '%s' does not exist: status readable by root only",
				   d->config->socket_group);
		else
			gid = gr->gr_gid;
	}
	strcpy(sa.sun_path, d->socket_path);
	d->ctl_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (d->ctl_fd < 0) {
		log_error("control socket: %s", strerror(errno));
		return -errno;
	}
	/* A leftover socket file refuses connections (we checked that nobody
	 * answers on it before): take it over. */
	if (unlink(d->socket_path) < 0 && errno != ENOENT)
		log_warning("cannot remove stale %s: %s", d->socket_path, strerror(errno));
	mode_t old = umask(0117);
	int r = bind(d->ctl_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0) {
		int e = errno;
		log_error("cannot bind the control socket %s: %s", d->socket_path, strerror(e));
		close(d->ctl_fd);
		d->ctl_fd = -1;
		return -e;
	}
	d->socket_bound = true;
	if (d->is_root && chown(d->socket_path, 0, gid) < 0)
		log_warning("chown %s: %s", d->socket_path, strerror(errno));
	if (chmod(d->socket_path, 0660) < 0)
		log_warning("chmod %s: %s", d->socket_path, strerror(errno));
	if (listen(d->ctl_fd, 16) < 0) {
		log_error("listen on %s: %s", d->socket_path, strerror(errno));
		return -errno;
	}
	r = sd_event_add_io(d->event, &d->ctl_source, d->ctl_fd, EPOLLIN, on_accept, d);
	if (r < 0) {
		log_error("control socket event source: %s", strerror(-r));
		return r;
	}
	sd_event_source_set_description(d->ctl_source, "control-accept");
	log_debug("control socket listening on %s", d->socket_path);
	return 0;
}

void tierd_ctl_close(struct tierd *d)
{
	d->ctl_source = sd_event_source_disable_unref(d->ctl_source);
	if (d->ctl_fd >= 0) {
		close(d->ctl_fd);
		d->ctl_fd = -1;
	}
	if (d->socket_bound) {
		unlink(d->socket_path);
		d->socket_bound = false;
	}
}
