/* SPDX-License-Identifier: MIT */
/*
 * The control socket: AF_UNIX SOCK_STREAM (framed, common-proto.h), mode
 * 0660, owned by root and the configured socket group.  Anyone who can
 * connect may read status; only uid 0 (SO_PEERCRED, not a claim in the
 * message) may change anything.
 *
 * Nothing a client does can hold the main loop, or take tierd's file
 * descriptors or memory hostage (issue 12):
 *
 *  - Every socket is non-blocking and every client is a small state machine:
 *    read one request frame (at most TIERD_PROTO_MAX_REQUEST_BYTES), answer
 *    from the loop, write the answer as the client reads it (EPOLLOUT), close.
 *    No call here ever waits for a client.
 *  - A client gets CTL_TIMEOUT_USEC to send its whole request and again to
 *    read its whole answer (fixed deadlines on a timer, not reset by a
 *    trickle of bytes); then it is dropped.
 *  - At most [daemon] max_clients are held, with a share kept for root and a
 *    share per user (lib/ctl_admit.c).  A connection beyond them is accepted,
 *    told why in one short frame and closed at once, so it never sits in the
 *    listen queue.
 *  - Answers waiting to be read take at most CTL_MAX_PENDING_BYTES in all;
 *    beyond that a client gets a short "busy" error instead of a status.
 *  - EMFILE/ENFILE (and ENOBUFS/ENOMEM) on accept: the connections waiting
 *    in the queue are shed with one reserved descriptor (closed, accept,
 *    close each, reopened), and the accept source is paused for
 *    CTL_ACCEPT_PAUSE_USEC at a time until an accept succeeds again.  The
 *    episode is logged once when it starts and once when it ends.
 *  - Every other per-connection message is rate limited (a few per minute,
 *    then a count of what was suppressed).
 *  - The accept and client sources run at the idle priority, the slow jobs'
 *    priority (tierd-job.h): a client that keeps tierd busy with requests
 *    shares the loop with the jobs round robin and never delays a tick,
 *    a uevent or an inotify event.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <tier/ctl_admit.h>
#include "common-proto.h"
#include "tierd.h"
#include "tierd-log.h"
#include "tierd-guard.h"

#define USEC_PER_SEC 1000000ull
/* A few seconds: tierctl sends its request at once and reads its answer as
 * fast as it comes (a 1 MiB status in milliseconds). */
#define CTL_TIMEOUT_USEC (5 * USEC_PER_SEC)
#define CTL_ACCEPT_PAUSE_USEC (500 * 1000ull)
/* Accepts per wakeup of the listening socket (level-triggered: the rest
 * come at the next iteration, after other events). */
#define CTL_ACCEPTS_PER_WAKEUP 32
/* Connections shed per EMFILE with the reserved descriptor. */
#define CTL_SHED_MAX 256
#define CTL_MAX_PENDING_BYTES (64u << 20)
#define CTL_LISTEN_BACKLOG 64
/* Bytes a client sent beyond its request, read and dropped before close so
 * the peer sees an orderly end rather than ECONNRESET. */
#define CTL_DRAIN_BYTES 65536
/* Descriptors tierd needs besides its clients (measured: 16 on a fixture
 * root with relief and fencing, see tierd(8)); a limit below max_clients +
 * this is warned about at start. */
#define CTL_FD_HEADROOM 256u

/* At most burst messages of one kind per interval; the next one that passes
 * says how many were suppressed. */
struct ratelimit {
	uint64_t begin_usec;
	unsigned used;
	uint64_t suppressed;
};
#define RL_INTERVAL_USEC (60 * USEC_PER_SEC)
#define RL_BURST 3

struct ctl_client;

struct tierd_ctl {
	struct ctl_client *head;
	unsigned nr, nr_non_root;
	size_t pending_bytes;          /* answers held for clients */
	int reserve_fd;                /* spare descriptor for shedding, -1 if none */
	sd_event_source *resume;       /* re-enables the accept source */
	bool paused;

	/* the current descriptor-shortage episode */
	bool episode, episode_logged;
	uint64_t episode_start_usec, episode_refused;
	char episode_error[64];

	/* statistics, for status */
	uint64_t accepted, served, refused, refused_fd, timeouts, bad_requests, episodes;
	struct ratelimit rl_refused, rl_timeout, rl_bad, rl_episode, rl_accept;
};

struct ctl_client {
	struct tierd *d;
	struct ctl_client *prev, *next;
	sd_event_source *io, *timer;
	int fd;
	struct ucred cred;
	bool writing;
	unsigned char in[TIERD_PROTO_HEADER_BYTES + TIERD_PROTO_MAX_REQUEST_BYTES];
	size_t in_len, in_need;
	char *out;
	size_t out_len, out_off;
};

static uint64_t now_usec(void)
{
	return tierd_now_mono_usec();
}

static struct tierd_ctl *ctl_get(struct tierd *d)
{
	if (!d->ctl) {
		struct tierd_ctl *c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		c->reserve_fd = -1;
		d->ctl = c;
	}
	return d->ctl;
}

/* True if this message may be logged; *suppressed is what was not. */
static bool ratelimit_pass(struct ratelimit *rl, uint64_t *suppressed)
{
	uint64_t now = now_usec();
	if (rl->begin_usec == 0 || now - rl->begin_usec >= RL_INTERVAL_USEC) {
		rl->begin_usec = now;
		rl->used = 0;
	}
	if (rl->used >= RL_BURST) {
		rl->suppressed++;
		return false;
	}
	rl->used++;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}

__attribute__((format(printf, 3, 4)))
static void log_limited(struct ratelimit *rl, int prio, const char *fmt, ...)
{
	uint64_t suppressed = 0;
	if (!ratelimit_pass(rl, &suppressed))
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (suppressed)
		tierd_log(prio, "%s (%llu similar messages suppressed)", msg, (unsigned long long)suppressed);
	else
		tierd_log(prio, "%s", msg);
}

/* ------------------------------------------------------------- requests */

static struct json_object *handle(struct tierd *d, enum tierd_command cmd, const struct ucred *cred)
{
	const char *name = tierd_command_name(cmd);
	if (cmd == TIERD_CMD_STATUS)
		return tierd_proto_ok(tierd_status_json(d));
	if (cred->uid != 0)
		return tierd_proto_error("permission denied: %s needs root (caller uid %u)", name, (unsigned)cred->uid);

	struct tierd_field f[2];
	char msg[600];
	tierd_field_set(&f[0], "TIERD_COMMAND", "%s", name);
	tierd_field_set(&f[1], "TIERD_CLIENT_PID", "%d", (int)cred->pid);
	tierd_event(LOG_INFO, TIERD_MID_CONTROL, f, 2, "control: %s requested by pid %d", name, (int)cred->pid);

	if (cmd == TIERD_CMD_RELOAD) {
		/* Synchronous: the answer says whether the new generation is in
		 * force (tierctl reload, the unit's ExecReload=). */
		int r = tierd_reload(d, "tierctl");
		if (r < 0)
			return tierd_proto_error("%s", d->last_reload);
		snprintf(msg, sizeof(msg), "configuration reloaded: generation %llu",
			 (unsigned long long)d->config_generation);
	} else if (cmd == TIERD_CMD_PAUSE) {
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

/* ------------------------------------------------------------- clients */

/* One short frame, best effort, never waiting: for connections we are about
 * to close (refused, timed out).  A fresh socket's buffer always has room
 * for it. */
static void send_short_error(int fd, const char *msg)
{
	struct json_object *e = tierd_proto_error("%s", msg);
	char *frame = NULL;
	size_t len = 0;
	if (tierd_proto_encode(e, TIERD_PROTO_MAX_REPLY_BYTES, &frame, &len) == 0)
		(void)send(fd, frame, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	free(frame);
	json_object_put(e);
}

/* Read and drop what the peer sent beyond its request (bounded). */
static void drain(int fd)
{
	char buf[4096];
	for (size_t n = 0; n < CTL_DRAIN_BYTES;) {
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
}

static void client_free(struct ctl_client *c)
{
	struct tierd_ctl *ctl = c->d->ctl;
	if (c->prev)
		c->prev->next = c->next;
	else
		ctl->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ctl->nr--;
	if (c->cred.uid != 0)
		ctl->nr_non_root--;
	if (c->out) {
		ctl->pending_bytes -= c->out_len;
		free(c->out);
	}
	drain(c->fd);
	c->timer = sd_event_source_disable_unref(c->timer);
	/* The io source owns the fd: this closes it. */
	c->io = sd_event_source_disable_unref(c->io);
	free(c);
}

static void client_flush(struct ctl_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			(void)sd_event_source_set_io_events(c->io, EPOLLOUT);
			return;
		}
		/* EPIPE, ECONNRESET: the client went away. */
		log_debug("control: pid %d went away before reading its answer (%zu of %zu bytes): %s",
			  (int)c->cred.pid, c->out_off, c->out_len, n < 0 ? strerror(errno) : "closed");
		client_free(c);
		return;
	}
	((struct tierd_ctl *)c->d->ctl)->served++;
	client_free(c);
}

/* Answer (takes msg) and start writing. */
static void client_reply(struct ctl_client *c, struct json_object *msg)
{
	struct tierd_ctl *ctl = c->d->ctl;
	char *frame = NULL;
	size_t len = 0;
	int r = tierd_proto_encode(msg, TIERD_PROTO_MAX_REPLY_BYTES, &frame, &len);
	json_object_put(msg);
	if (r == -EMSGSIZE) {
		log_limited(&ctl->rl_bad, LOG_ERR, "control: an answer of %zu bytes exceeds the protocol's limit of %u",
			    len, TIERD_PROTO_MAX_REPLY_BYTES);
		msg = tierd_proto_error("the answer of %zu bytes exceeds the protocol's limit of %u bytes", len,
					TIERD_PROTO_MAX_REPLY_BYTES);
		r = tierd_proto_encode(msg, TIERD_PROTO_MAX_REPLY_BYTES, &frame, &len);
		json_object_put(msg);
	} else if (r == 0 && ctl->pending_bytes + len > CTL_MAX_PENDING_BYTES) {
		free(frame);
		log_limited(&ctl->rl_refused, LOG_WARNING,
			    "control: %zu bytes of answers wait for clients to read them: pid %d gets \"busy\"",
			    ctl->pending_bytes, (int)c->cred.pid);
		msg = tierd_proto_error("busy: %zu MiB of answers are waiting for other clients to read them; "
					"try again in a few seconds",
					ctl->pending_bytes >> 20);
		r = tierd_proto_encode(msg, TIERD_PROTO_MAX_REPLY_BYTES, &frame, &len);
		json_object_put(msg);
	}
	if (r < 0) {
		log_limited(&ctl->rl_bad, LOG_ERR, "control: cannot encode an answer: %s", strerror(-r));
		client_free(c);
		return;
	}
	c->out = frame;
	c->out_len = len;
	c->out_off = 0;
	ctl->pending_bytes += len;
	c->writing = true;
	/* A fresh deadline to read the answer. */
	(void)sd_event_source_set_time(c->timer, now_usec() + CTL_TIMEOUT_USEC);
	(void)sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
	client_flush(c);
}

static void client_bad_request(struct ctl_client *c, const char *err)
{
	struct tierd_ctl *ctl = c->d->ctl;
	ctl->bad_requests++;
	log_limited(&ctl->rl_bad, LOG_WARNING, "control: bad request from pid %d (uid %u): %s", (int)c->cred.pid,
		    (unsigned)c->cred.uid, err);
	client_reply(c, tierd_proto_error("%s", err));
}

/* The request is complete in c->in. */
static void client_request(struct ctl_client *c)
{
	struct json_object *req = NULL;
	size_t frame_len = 0;
	char err[600] = "";
	enum tierd_command cmd;
	int r = tierd_proto_decode(c->in, c->in_len, TIERD_PROTO_MAX_REQUEST_BYTES, &req, &frame_len, err, sizeof(err));
	if (r == 0)
		r = tierd_proto_parse_request(req, &cmd, err, sizeof(err));
	json_object_put(req);
	if (r < 0) {
		client_bad_request(c, err[0] ? err : strerror(-r));
		return;
	}
	client_reply(c, handle(c->d, cmd, &c->cred));
}

static int on_client_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct ctl_client *c = userdata;
	(void)s;
	(void)revents;
	if (c->writing) {
		client_flush(c);
		return 0;
	}
	while (c->in_len < c->in_need) {
		ssize_t n = recv(fd, c->in + c->in_len, c->in_need - c->in_len, MSG_DONTWAIT);
		if (n > 0) {
			c->in_len += (size_t)n;
			if (c->in_len == TIERD_PROTO_HEADER_BYTES) {
				/* The header says how much follows: refuse an
				 * oversized request before reading it. */
				struct json_object *o = NULL;
				size_t need = 0;
				char err[200] = "";
				int r = tierd_proto_decode(c->in, c->in_len, TIERD_PROTO_MAX_REQUEST_BYTES, &o, &need,
							   err, sizeof(err));
				json_object_put(o);
				if (r == -EMSGSIZE) {
					char m[256];
					snprintf(m, sizeof(m), "request too large: %s", err);
					client_bad_request(c, m);
					return 0;
				}
				if (r == -EAGAIN)
					c->in_need = need;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		log_debug("control: pid %d closed the connection before its request was complete (%zu bytes)",
			  (int)c->cred.pid, c->in_len);
		client_free(c);
		return 0;
	}
	client_request(c);
	return 0;
}

static int on_client_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct ctl_client *c = userdata;
	struct tierd_ctl *ctl = c->d->ctl;
	(void)s;
	(void)usec;
	ctl->timeouts++;
	if (!c->writing) {
		log_limited(&ctl->rl_timeout, LOG_WARNING,
			    "control: dropped pid %d (uid %u): no complete request within %llu s (%zu bytes came)",
			    (int)c->cred.pid, (unsigned)c->cred.uid, CTL_TIMEOUT_USEC / USEC_PER_SEC, c->in_len);
		char m[128];
		snprintf(m, sizeof(m), "timed out: no complete request within %llu s", CTL_TIMEOUT_USEC / USEC_PER_SEC);
		send_short_error(c->fd, m);
	} else {
		log_limited(&ctl->rl_timeout, LOG_WARNING,
			    "control: dropped pid %d (uid %u): it read %zu of the %zu bytes of its answer within %llu s",
			    (int)c->cred.pid, (unsigned)c->cred.uid, c->out_off, c->out_len,
			    CTL_TIMEOUT_USEC / USEC_PER_SEC);
	}
	client_free(c);
	return 0;
}

/* ------------------------------------------------------------- accepting */

static void reserve_open(struct tierd *d, struct tierd_ctl *ctl)
{
	/* Any descriptor will do; a duplicate of the listening socket needs no
	 * path (and is not an extra listener: same open file). */
	if (ctl->reserve_fd < 0 && d->ctl_fd >= 0)
		ctl->reserve_fd = fcntl(d->ctl_fd, F_DUPFD_CLOEXEC, 3);
}

static int on_resume(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct tierd *d = userdata;
	struct tierd_ctl *ctl = d->ctl;
	(void)s;
	(void)usec;
	reserve_open(d, ctl);
	ctl->paused = false;
	if (d->ctl_source)
		(void)sd_event_source_set_enabled(d->ctl_source, SD_EVENT_ON);
	return 0;
}

static void pause_accept(struct tierd *d, struct tierd_ctl *ctl)
{
	int r = 0;
	if (!ctl->resume) {
		r = sd_event_add_time(d->event, &ctl->resume, CLOCK_MONOTONIC, now_usec() + CTL_ACCEPT_PAUSE_USEC,
				      50 * 1000, on_resume, d);
		if (r >= 0)
			sd_event_source_set_description(ctl->resume, "control-resume");
	} else {
		r = sd_event_source_set_time(ctl->resume, now_usec() + CTL_ACCEPT_PAUSE_USEC);
		if (r >= 0)
			r = sd_event_source_set_enabled(ctl->resume, SD_EVENT_ONESHOT);
	}
	if (r < 0) /* without a resume timer, pausing would be for ever */
		return;
	ctl->paused = true;
	(void)sd_event_source_set_enabled(d->ctl_source, SD_EVENT_OFF);
}

/* accept failed for lack of descriptors or memory. */
static void accept_shortage(struct tierd *d, struct tierd_ctl *ctl, int err)
{
	if (!ctl->episode) {
		ctl->episode = true;
		ctl->episodes++;
		ctl->episode_start_usec = now_usec();
		ctl->episode_refused = 0;
		snprintf(ctl->episode_error, sizeof(ctl->episode_error), "%s", strerror(err));
		uint64_t suppressed = 0;
		ctl->episode_logged = ratelimit_pass(&ctl->rl_episode, &suppressed);
		if (ctl->episode_logged)
			log_warning("control: accept: %s: refusing waiting connections and pausing new ones for "
				    "%llu ms at a time until it works again (%u clients held; not logged again "
				    "until then)%s",
				    ctl->episode_error, CTL_ACCEPT_PAUSE_USEC / 1000, ctl->nr,
				    suppressed ? " (earlier episodes not logged)" : "");
	}
	/* Shed what waits in the queue: with the reserved descriptor closed,
	 * each accept gets that slot back and closes it again.  The clients
	 * learn why instead of waiting for their timeout. */
	if ((err == EMFILE || err == ENFILE) && ctl->reserve_fd >= 0) {
		close(ctl->reserve_fd);
		ctl->reserve_fd = -1;
		for (unsigned i = 0; i < CTL_SHED_MAX; i++) {
			int c = accept4(d->ctl_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (c < 0)
				break;
			send_short_error(c, "tierd is out of file descriptors: try again in a moment");
			drain(c);
			close(c);
			ctl->episode_refused++;
			ctl->refused_fd++;
		}
		reserve_open(d, ctl);
	}
	pause_accept(d, ctl);
}

static void episode_end(struct tierd_ctl *ctl)
{
	if (!ctl->episode)
		return;
	ctl->episode = false;
	if (ctl->episode_logged)
		log_notice("control: accepting connections again after %.1f s of \"%s\"; %llu connections were "
			   "refused meanwhile",
			   (double)(now_usec() - ctl->episode_start_usec) / 1e6, ctl->episode_error,
			   (unsigned long long)ctl->episode_refused);
}

static void refuse(struct tierd_ctl *ctl, int fd, const struct ucred *cred,
		   enum tier_ctl_admit why, const struct tier_ctl_limits *lim)
{
	char m[256];
	if (why == TIER_CTL_REFUSE_PER_USER)
		snprintf(m, sizeof(m), "too many connections: uid %u holds %u, the most one user may (max_clients %u)",
			 (unsigned)cred->uid, lim->per_user, lim->max_clients);
	else if (why == TIER_CTL_REFUSE_NON_ROOT)
		snprintf(m, sizeof(m), "too many connections: %u held, the other %u of max_clients %u are kept for root",
			 ctl->nr, lim->root_reserve, lim->max_clients);
	else
		snprintf(m, sizeof(m), "too many connections: %u held (max_clients %u)", ctl->nr, lim->max_clients);
	ctl->refused++;
	log_limited(&ctl->rl_refused, LOG_WARNING, "control: refused pid %d (uid %u): %s", (int)cred->pid,
		    (unsigned)cred->uid, m);
	send_short_error(fd, m);
	drain(fd);
	close(fd);
}

static void accept_one(struct tierd *d, struct tierd_ctl *ctl, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_limited(&ctl->rl_accept, LOG_WARNING, "control: SO_PEERCRED failed: %s", strerror(errno));
		close(fd);
		return;
	}
	struct tier_ctl_limits lim;
	tier_ctl_limits_for(d->config->max_clients, &lim);
	struct tier_ctl_load load = { .total = ctl->nr, .non_root = ctl->nr_non_root };
	if (cred.uid != 0)
		for (struct ctl_client *c = ctl->head; c; c = c->next)
			load.same_uid += c->cred.uid == cred.uid;
	enum tier_ctl_admit a = tier_ctl_admit(&lim, &load, cred.uid == 0);
	if (a != TIER_CTL_ADMIT) {
		refuse(ctl, fd, &cred, a, &lim);
		return;
	}

	struct ctl_client *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->d = d;
	c->fd = fd;
	c->cred = cred;
	c->in_need = TIERD_PROTO_HEADER_BYTES;
	int r = sd_event_add_io(d->event, &c->io, fd, EPOLLIN, on_client_io, c);
	if (r < 0) {
		close(fd);
		free(c);
		log_limited(&ctl->rl_accept, LOG_WARNING, "control: client event source: %s", strerror(-r));
		return;
	}
	sd_event_source_set_io_fd_own(c->io, 1);
	sd_event_source_set_description(c->io, "control-client");
	sd_event_source_set_priority(c->io, SD_EVENT_PRIORITY_IDLE);
	r = sd_event_add_time(d->event, &c->timer, CLOCK_MONOTONIC, now_usec() + CTL_TIMEOUT_USEC, 100 * 1000,
			      on_client_timeout, c);
	if (r < 0) {
		/* No client without a deadline. */
		c->io = sd_event_source_disable_unref(c->io);
		free(c);
		log_limited(&ctl->rl_accept, LOG_WARNING, "control: client timer: %s", strerror(-r));
		return;
	}
	sd_event_source_set_description(c->timer, "control-client-timeout");
	c->next = ctl->head;
	if (ctl->head)
		ctl->head->prev = c;
	ctl->head = c;
	ctl->nr++;
	if (cred.uid != 0)
		ctl->nr_non_root++;
	ctl->accepted++;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct tierd *d = userdata;
	struct tierd_ctl *ctl = d->ctl;
	(void)s;
	(void)revents;
	for (unsigned i = 0; i < CTL_ACCEPTS_PER_WAKEUP; i++) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0) {
			int e = errno;
			switch (e) {
			case EAGAIN:
#if EAGAIN != EWOULDBLOCK
			case EWOULDBLOCK:
#endif
				return 0;
			case EINTR:
			case ECONNABORTED: /* the peer gave up first */
			case EPROTO:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				accept_shortage(d, ctl, e);
				return 0;
			default:
				/* Unknown: do not spin on it either. */
				log_limited(&ctl->rl_accept, LOG_WARNING, "control: accept: %s (pausing %llu ms)",
					    strerror(e), CTL_ACCEPT_PAUSE_USEC / 1000);
				pause_accept(d, ctl);
				return 0;
			}
		}
		episode_end(ctl);
		accept_one(d, ctl, c);
	}
	return 0;
}

/* ------------------------------------------------------------- setup */

/* Is a daemon answering on path?  A stale socket file from a crash refuses
 * connections; a version 1 tierd (SOCK_SEQPACKET) answers with EPROTOTYPE. */
bool tierd_ctl_socket_answers(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EPROTOTYPE;
	close(fd);
	return ok;
}

static void check_limits(struct tierd *d)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return;
	uint64_t want = (uint64_t)d->config->max_clients + CTL_FD_HEADROOM;
	if (rl.rlim_cur < want)
		tierd_warn(d, "the file descriptor limit %llu is below max_clients %u + %u for tierd itself: "
			      "clients may be refused for lack of descriptors (raise LimitNOFILE=)",
			   (unsigned long long)rl.rlim_cur, d->config->max_clients, CTL_FD_HEADROOM);
}

int tierd_ctl_open(struct tierd *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	gid_t gid = 0;
	struct tierd_ctl *ctl = ctl_get(d);

	if (!ctl)
		return -ENOMEM;
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
	d->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
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
	if (listen(d->ctl_fd, CTL_LISTEN_BACKLOG) < 0) {
		log_error("listen on %s: %s", d->socket_path, strerror(errno));
		return -errno;
	}
	r = sd_event_add_io(d->event, &d->ctl_source, d->ctl_fd, EPOLLIN, on_accept, d);
	if (r < 0) {
		log_error("control socket event source: %s", strerror(-r));
		return r;
	}
	sd_event_source_set_description(d->ctl_source, "control-accept");
	sd_event_source_set_priority(d->ctl_source, SD_EVENT_PRIORITY_IDLE);
	reserve_open(d, ctl);
	check_limits(d);
	log_debug("control socket listening on %s", d->socket_path);
	return 0;
}

void tierd_ctl_close(struct tierd *d)
{
	struct tierd_ctl *ctl = d->ctl;
	while (ctl && ctl->head)
		client_free(ctl->head);
	if (ctl) {
		ctl->resume = sd_event_source_disable_unref(ctl->resume);
		if (ctl->reserve_fd >= 0)
			close(ctl->reserve_fd);
		free(ctl);
		d->ctl = NULL;
	}
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

struct json_object *tierd_ctl_status(struct tierd *d)
{
	struct tierd_ctl *ctl = d->ctl;
	struct tier_ctl_limits lim;
	tier_ctl_limits_for(d->config->max_clients, &lim);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "socket", json_object_new_string(d->socket_path));
	json_object_object_add(o, "max_clients", json_object_new_int64(lim.max_clients));
	json_object_object_add(o, "root_reserve", json_object_new_int64(lim.root_reserve));
	json_object_object_add(o, "per_user", json_object_new_int64(lim.per_user));
	json_object_object_add(o, "timeout_usec", json_object_new_int64((int64_t)CTL_TIMEOUT_USEC));
	json_object_object_add(o, "clients", json_object_new_int64(ctl ? ctl->nr : 0));
	json_object_object_add(o, "pending_bytes", json_object_new_int64(ctl ? (int64_t)ctl->pending_bytes : 0));
	json_object_object_add(o, "accept_paused", json_object_new_boolean(ctl && ctl->paused));
	json_object_object_add(o, "accepted_total", json_object_new_int64(ctl ? (int64_t)ctl->accepted : 0));
	json_object_object_add(o, "served_total", json_object_new_int64(ctl ? (int64_t)ctl->served : 0));
	json_object_object_add(o, "refused_total", json_object_new_int64(ctl ? (int64_t)ctl->refused : 0));
	json_object_object_add(o, "refused_no_fd_total", json_object_new_int64(ctl ? (int64_t)ctl->refused_fd : 0));
	json_object_object_add(o, "fd_shortages_total", json_object_new_int64(ctl ? (int64_t)ctl->episodes : 0));
	json_object_object_add(o, "timeouts_total", json_object_new_int64(ctl ? (int64_t)ctl->timeouts : 0));
	json_object_object_add(o, "bad_requests_total", json_object_new_int64(ctl ? (int64_t)ctl->bad_requests : 0));
	return o;
}
