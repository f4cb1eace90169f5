/* SPDX-License-Identifier: MIT */
#include "common-proto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

int tierd_proto_send(int fd, struct json_object *msg)
{
	size_t len;
	const char *s = json_object_to_json_string_length(msg, JSON_C_TO_STRING_PLAIN, &len);
	if (!s)
		return -ENOMEM;
	if (len > TIERD_PROTO_MAX_BYTES)
		return -EMSGSIZE;
	ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

int tierd_proto_recv(int fd, struct json_object **out, char *err, size_t errlen)
{
	*out = NULL;
	ssize_t n = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
	if (n < 0)
		return -errno;
	if (n == 0) {
		/* An orderly close, or an empty datagram: drain it either way. */
		(void)recv(fd, NULL, 0, 0);
		snprintf(err, errlen, "connection closed");
		return -ENODATA;
	}
	if ((size_t)n > TIERD_PROTO_MAX_BYTES) {
		(void)recv(fd, NULL, 0, 0); /* discard the datagram */
		snprintf(err, errlen, "message of %zd bytes exceeds the limit of %u", n, TIERD_PROTO_MAX_BYTES);
		return -EMSGSIZE;
	}
	char *buf = malloc((size_t)n + 1);
	if (!buf)
		return -ENOMEM;
	ssize_t got = recv(fd, buf, (size_t)n, 0);
	if (got < 0) {
		int e = errno;
		free(buf);
		return -e;
	}
	buf[got] = '\0';
	enum json_tokener_error jerr;
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj = tok ? json_tokener_parse_ex(tok, buf, (int)got) : NULL;
	jerr = tok ? json_tokener_get_error(tok) : json_tokener_error_parse_unexpected;
	/* The whole datagram must be one object: no trailing bytes. */
	if (obj && (jerr != json_tokener_success || json_tokener_get_parse_end(tok) != (size_t)got ||
		    !json_object_is_type(obj, json_type_object))) {
		json_object_put(obj);
		obj = NULL;
		if (jerr == json_tokener_success)
			jerr = json_tokener_error_parse_unexpected;
	}
	if (tok)
		json_tokener_free(tok);
	free(buf);
	if (!obj) {
		snprintf(err, errlen, "malformed message: %s", json_tokener_error_desc(jerr));
		return -EBADMSG;
	}
	*out = obj;
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
	char msg[512];
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
