/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * The control protocol between tierctl and tierd.
 *
 * Transport: AF_UNIX SOCK_SEQPACKET, one JSON object per message (the socket
 * keeps message boundaries, so no framing of our own).  Every message is at
 * most TIERD_PROTO_MAX_BYTES; a longer one is an error, detected with
 * MSG_PEEK|MSG_TRUNC before reading.
 *
 * Request:  {"version": 1, "command": "status"|"reload"|"pause"|"resume"}
 * Response: {"version": 1, "ok": true, "data": {...}}
 *           {"version": 1, "ok": false, "error": "permission denied: ..."}
 * A peer speaking another version gets {"ok": false, "error": "protocol
 * version mismatch: ..."} and tierctl says so.
 */
#include <stddef.h>
#include <json-c/json.h>

#define TIERD_PROTO_VERSION 1
#define TIERD_PROTO_MAX_BYTES (1u << 20)
#define TIERD_DEFAULT_SOCKET "/run/tierd/tierd.sock"

/* Serialize and send one message.  Returns 0 or -errno (-EMSGSIZE if too big). */
int tierd_proto_send(int fd, struct json_object *msg);

/* Receive one message.  Returns 0 with *out owned by the caller, -ENODATA on
 * an orderly close, -EMSGSIZE/-EBADMSG on an oversized or unparsable message
 * (err says which), or -errno. */
int tierd_proto_recv(int fd, struct json_object **out, char *err, size_t errlen);

/* Convenience builders. */
struct json_object *tierd_proto_request(const char *command);
struct json_object *tierd_proto_ok(struct json_object *data /* owned, may be NULL */);
struct json_object *tierd_proto_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
