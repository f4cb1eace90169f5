/* SPDX-License-Identifier: MIT */
/* The control protocol: framing, envelope checks, blocking client I/O.
 * See common-proto.h for the wire format and the contracts. */
#include "common-proto.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

/* A few characters of peer-controlled text, printable ASCII only, for
 * messages and logs (no newlines or escape sequences from a peer). */
static void clean_copy(char *dst, size_t size, const char *src, size_t max_chars)
{
	size_t o = 0, i = 0;
	for (; src[i] && i < max_chars && o + 1 < size; i++)
		dst[o++] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	if (src[i] && o + 4 < size) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

int tierd_proto_encode(struct json_object *msg, size_t max_payload, char **frame, size_t *frame_len)
{
	size_t len = 0;
	*frame = NULL;
	*frame_len = 0;
	const char *s = json_object_to_json_string_length(msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
							  &len);
	if (!s)
		return -ENOMEM;
	if (len > max_payload || len > UINT32_MAX) {
		*frame_len = len;
		return -EMSGSIZE;
	}
	char *b = malloc(TIERD_PROTO_HEADER_BYTES + len);
	if (!b)
		return -ENOMEM;
	put_be32((unsigned char *)b, (uint32_t)len);
	memcpy(b + TIERD_PROTO_HEADER_BYTES, s, len);
	*frame = b;
	*frame_len = TIERD_PROTO_HEADER_BYTES + len;
	return 0;
}

int tierd_proto_decode(const void *buf, size_t len, size_t max_payload, struct json_object **out,
		       size_t *frame_len, char *err, size_t errlen)
{
	const unsigned char *p = buf;
	*out = NULL;
	if (len < TIERD_PROTO_HEADER_BYTES) {
		*frame_len = TIERD_PROTO_HEADER_BYTES;
		return -EAGAIN;
	}
	uint32_t plen = get_be32(p);
	if (plen > max_payload) {
		*frame_len = 0;
		set_err(err, errlen, "message of %lu bytes exceeds the limit of %zu bytes", (unsigned long)plen,
			max_payload);
		return -EMSGSIZE;
	}
	*frame_len = TIERD_PROTO_HEADER_BYTES + (size_t)plen;
	if (len < *frame_len)
		return -EAGAIN;
	if (plen == 0) {
		set_err(err, errlen, "malformed message: empty");
		return -EBADMSG;
	}
	const char *s = (const char *)p + TIERD_PROTO_HEADER_BYTES;
	struct json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	/* plen <= max_payload, and every limit of this protocol fits an int. */
	struct json_object *obj = plen <= INT32_MAX ? json_tokener_parse_ex(tok, s, (int)plen) : NULL;
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!obj) {
		set_err(err, errlen, "malformed message: %s",
			jerr == json_tokener_continue ? "the JSON text ends early"
			: jerr == json_tokener_success ? "not a JSON object"
						       : json_tokener_error_desc(jerr));
		return -EBADMSG;
	}
	/* Exactly one object: only whitespace may follow it. */
	while (end < plen && (s[end] == ' ' || s[end] == '\n' || s[end] == '\t' || s[end] == '\r'))
		end++;
	if (!json_object_is_type(obj, json_type_object) || end != plen) {
		set_err(err, errlen, "malformed message: %s",
			!json_object_is_type(obj, json_type_object) ? "not a JSON object"
								     : "bytes after the JSON object");
		json_object_put(obj);
		return -EBADMSG;
	}
	*out = obj;
	return 0;
}

static const char *const command_names[] = {
	[TIERD_CMD_STATUS] = "status",
	[TIERD_CMD_RELOAD] = "reload",
	[TIERD_CMD_PAUSE] = "pause",
	[TIERD_CMD_RESUME] = "resume",
};

const char *tierd_command_name(enum tierd_command c)
{
	return (unsigned)c < sizeof(command_names) / sizeof(command_names[0]) ? command_names[c] : "?";
}

bool tierd_command_mutates(enum tierd_command c)
{
	return c != TIERD_CMD_STATUS;
}

int tierd_proto_parse_request(struct json_object *req, enum tierd_command *cmd, char *err, size_t errlen)
{
	struct json_object *v = NULL, *c = NULL;
	if (!req || !json_object_is_type(req, json_type_object)) {
		set_err(err, errlen, "malformed request: not a JSON object");
		return -EINVAL;
	}
	if (!json_object_object_get_ex(req, "version", &v) || !json_object_is_type(v, json_type_int)) {
		set_err(err, errlen, "malformed request: no integer \"version\" (tierd speaks protocol %d)",
			TIERD_PROTO_VERSION);
		return -EINVAL;
	}
	int64_t version = json_object_get_int64(v);
	if (version != TIERD_PROTO_VERSION) {
		set_err(err, errlen,
			"protocol version mismatch: tierd speaks %d, the request has %lld: use the tierctl of the "
			"running tierd's version (or restart tierd after an upgrade)",
			TIERD_PROTO_VERSION, (long long)version);
		return -EPROTO;
	}
	json_object_object_foreach(req, key, val)
	{
		(void)val;
		if (strcmp(key, "version") != 0 && strcmp(key, "command") != 0) {
			char k[48];
			clean_copy(k, sizeof(k), key, 32);
			set_err(err, errlen, "malformed request: unexpected key \"%s\"", k);
			return -EINVAL;
		}
	}
	if (!json_object_object_get_ex(req, "command", &c) || !json_object_is_type(c, json_type_string)) {
		set_err(err, errlen, "malformed request: no string \"command\"");
		return -EINVAL;
	}
	const char *name = json_object_get_string(c);
	size_t nlen = (size_t)json_object_get_string_len(c);
	for (size_t i = 0; i < sizeof(command_names) / sizeof(command_names[0]); i++) {
		/* The length too: "status\0junk" is not "status". */
		if (strlen(command_names[i]) == nlen && memcmp(name, command_names[i], nlen) == 0) {
			*cmd = (enum tierd_command)i;
			return 0;
		}
	}
	char n[48];
	clean_copy(n, sizeof(n), name, 32);
	set_err(err, errlen, "unknown command \"%s\" (status, reload, pause, resume)", n);
	return -EINVAL;
}

int tierd_proto_parse_reply(struct json_object *resp, struct tierd_proto_reply *r, char *err, size_t errlen)
{
	struct json_object *v = NULL;
	*r = (struct tierd_proto_reply){ .version = -1 };
	if (!resp || !json_object_is_type(resp, json_type_object)) {
		set_err(err, errlen, "malformed reply: not a JSON object");
		return -EBADMSG;
	}
	if (!json_object_object_get_ex(resp, "version", &v) || !json_object_is_type(v, json_type_int)) {
		set_err(err, errlen, "malformed reply: no integer \"version\"");
		return -EBADMSG;
	}
	int64_t version = json_object_get_int64(v);
	r->version = version < INT32_MIN ? INT32_MIN : version > INT32_MAX ? INT32_MAX : (int)version;
	if (version != TIERD_PROTO_VERSION) {
		set_err(err, errlen,
			"protocol version mismatch: tierd speaks %lld, tierctl %d: use the tierctl of the running "
			"tierd's version (or restart tierd after an upgrade)",
			(long long)version, TIERD_PROTO_VERSION);
		return -EPROTO;
	}
	if (!json_object_object_get_ex(resp, "ok", &v) || !json_object_is_type(v, json_type_boolean)) {
		set_err(err, errlen, "malformed reply: no boolean \"ok\"");
		return -EBADMSG;
	}
	r->ok = json_object_get_boolean(v);
	if (!r->ok) {
		if (!json_object_object_get_ex(resp, "error", &v) || !json_object_is_type(v, json_type_string)) {
			set_err(err, errlen, "malformed reply: an error without a string \"error\"");
			return -EBADMSG;
		}
		r->error = json_object_get_string(v);
		return 0;
	}
	if (json_object_object_get_ex(resp, "data", &v) && v && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_object)) {
			set_err(err, errlen, "malformed reply: \"data\" is not an object");
			return -EBADMSG;
		}
		r->data = v;
	}
	return 0;
}

struct json_object *tierd_proto_request(const char *command)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_int(TIERD_PROTO_VERSION));
	json_object_object_add(o, "command", json_object_new_string(command));
	return o;
}

struct json_object *tierd_proto_ok(struct json_object *data)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_int(TIERD_PROTO_VERSION));
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	if (data)
		json_object_object_add(o, "data", data);
	return o;
}

struct json_object *tierd_proto_error(const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_int(TIERD_PROTO_VERSION));
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

/* ------------------------------------------------------------ blocking I/O */

uint64_t tierd_proto_now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Wait for events on fd until the deadline: 1 ready, 0 timed out, -errno. */
static int wait_fd(int fd, short events, uint64_t deadline_usec)
{
	for (;;) {
		uint64_t now = tierd_proto_now_usec();
		if (now >= deadline_usec)
			return 0;
		uint64_t ms = (deadline_usec - now + 999) / 1000;
		struct pollfd pfd = { .fd = fd, .events = events };
		int r = poll(&pfd, 1, ms > 60000 ? 60000 : (int)ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r > 0)
			return 1;
	}
}

int tierd_proto_write_all(int fd, const void *buf, size_t len, uint64_t deadline_usec)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		int r = wait_fd(fd, POLLOUT, deadline_usec);
		if (r < 0)
			return r;
		if (r == 0)
			return -ETIMEDOUT;
	}
	return 0;
}

int tierd_proto_read_frame(int fd, size_t max_payload, uint64_t deadline_usec, struct json_object **out,
			   char *err, size_t errlen)
{
	unsigned char hdr[TIERD_PROTO_HEADER_BYTES];
	unsigned char *buf = hdr;
	size_t have = 0, need = TIERD_PROTO_HEADER_BYTES;
	int r;
	*out = NULL;
	for (;;) {
		while (have < need) {
			ssize_t n = recv(fd, buf + have, need - have, MSG_DONTWAIT);
			if (n > 0) {
				have += (size_t)n;
				continue;
			}
			if (n == 0) {
				if (have == 0) {
					set_err(err, errlen, "the connection was closed without an answer");
					r = -ENODATA;
				} else if (buf == hdr) {
					set_err(err, errlen, "truncated message: the connection was closed after %zu of "
						"the 4 header bytes", have);
					r = -EBADMSG;
				} else {
					set_err(err, errlen, "truncated message: the connection was closed after %zu of "
						"%zu bytes", have, need);
					r = -EBADMSG;
				}
				goto out;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				r = -errno;
				set_err(err, errlen, "reading the answer failed: %s", strerror(errno));
				goto out;
			}
			r = wait_fd(fd, POLLIN, deadline_usec);
			if (r <= 0) {
				if (r == 0) {
					r = -ETIMEDOUT;
					set_err(err, errlen, "no complete answer before the timeout (%zu bytes of %s came)",
						have, buf == hdr ? "the 4-byte header" : "the message");
				} else {
					set_err(err, errlen, "waiting for the answer failed: %s", strerror(-r));
				}
				goto out;
			}
		}
		size_t frame_len = 0;
		r = tierd_proto_decode(buf, have, max_payload, out, &frame_len, err, errlen);
		if (r != -EAGAIN)
			goto out;
		if (buf != hdr) { /* cannot happen: the whole frame was read */
			r = -EBADMSG;
			set_err(err, errlen, "malformed message");
			goto out;
		}
		/* The header is complete: room for the whole frame, whose size
		 * decode has checked against max_payload. */
		unsigned char *nb = malloc(frame_len);
		if (!nb) {
			r = -ENOMEM;
			set_err(err, errlen, "out of memory for a message of %zu bytes", frame_len);
			goto out;
		}
		memcpy(nb, buf, have);
		buf = nb;
		need = frame_len;
	}
out:
	if (buf != hdr)
		free(buf);
	return r;
}
