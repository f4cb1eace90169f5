/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * The control protocol between tierctl and tierd (version 2).
 *
 * Transport: AF_UNIX SOCK_STREAM.  Each message is one frame: a 4-byte
 * big-endian payload length, then the payload, one JSON object (UTF-8, no
 * trailing bytes).  One request per connection: the client sends a frame,
 * the daemon answers with one frame and closes.
 *
 * Why a stream with our own framing (version 1 was SOCK_SEQPACKET, one
 * datagram per message): a datagram must fit the sender's socket buffer
 * whole, and SO_SNDBUF is capped by net.core.wmem_max (Debian's default
 * 212,992 gives a 425,984-byte buffer), so a status with actions_kept = 1024
 * failed with EMSGSIZE.  A stream reply of any size goes through a buffer
 * of any size, in as many writes as it takes.
 *
 * Limits, strict on both sides: a request payload is at most
 * TIERD_PROTO_MAX_REQUEST_BYTES, a reply payload at most
 * TIERD_PROTO_MAX_REPLY_BYTES (a reply can only be as large as status,
 * about 1 MiB at actions_kept = 1024 with long reasons; the cap is for a
 * broken or hostile peer, not for growth).  A frame that announces more is
 * refused before anything is read or allocated for it.
 *
 * Request:  {"version": 2, "command": "status"|"reload"|"pause"|"resume"}
 * Response: {"version": 2, "ok": true, "data": {...}}
 *           {"version": 2, "ok": false, "error": "permission denied: ..."}
 * tierctl talks to a tierd of the same protocol version only: a request of
 * another version gets {"ok": false, "error": "protocol version mismatch:
 * ..."}, and tierctl reports a reply of another version (or a version 1
 * SOCK_SEQPACKET socket, seen as EPROTOTYPE on connect) the same way.
 *
 * Decoding is pure and separate from I/O: tierd_proto_decode() takes bytes
 * and returns one frame's JSON, tierd_proto_parse_request() and
 * tierd_proto_parse_reply() check a message's envelope.  A fuzz harness for
 * the daemon's request path is decode + parse_request; for tierctl's reply
 * path decode + parse_reply + tierctl_render_status() (tierctl-render.h).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#define TIERD_PROTO_VERSION 2
#define TIERD_PROTO_HEADER_BYTES 4u
#define TIERD_PROTO_MAX_REQUEST_BYTES 4096u
#define TIERD_PROTO_MAX_REPLY_BYTES (16u << 20)
#define TIERD_DEFAULT_SOCKET "/run/tierd/tierd.sock"

/* ------------------------------------------------------------------ pure */

/*
 * Serialize msg into one frame (header + JSON) in a new buffer (*frame,
 * free() it; *frame_len bytes).  Returns 0, -EMSGSIZE if the payload would
 * exceed max_payload (*frame_len is then the payload size it would have),
 * or -ENOMEM.
 */
int tierd_proto_encode(struct json_object *msg, size_t max_payload, char **frame, size_t *frame_len);

/*
 * Decode the frame at the start of buf[0..len).  Pure: no I/O, no
 * allocation beyond the JSON object.
 *  0          *out is the message (the caller's reference), *frame_len
 *             the bytes the frame took; bytes after it are not looked at
 *  -EAGAIN    incomplete: *frame_len is how many bytes are needed (the
 *             header's 4 until it is complete, then header + payload)
 *  -EMSGSIZE  the header announces more than max_payload (err says how much)
 *  -EBADMSG   an empty payload, or not exactly one JSON object (err says)
 * out and frame_len must not be NULL; err may be NULL.
 */
int tierd_proto_decode(const void *buf, size_t len, size_t max_payload, struct json_object **out,
		       size_t *frame_len, char *err, size_t errlen);

enum tierd_command {
	TIERD_CMD_STATUS,
	TIERD_CMD_RELOAD,
	TIERD_CMD_PAUSE,
	TIERD_CMD_RESUME,
};
/* "status", "reload", ... */
const char *tierd_command_name(enum tierd_command c);
/* Commands that change something (root only). */
bool tierd_command_mutates(enum tierd_command c);

/*
 * Check a decoded request.  0 and *cmd; -EPROTO for another protocol
 * version (err: "protocol version mismatch: ..."); -EINVAL for anything
 * else wrong (err says what).
 */
int tierd_proto_parse_request(struct json_object *req, enum tierd_command *cmd, char *err, size_t errlen);

/* A reply's envelope; pointers borrow from the message. */
struct tierd_proto_reply {
	int version;
	bool ok;
	const char *error;           /* ok == false: the daemon's message */
	struct json_object *data;    /* ok == true: the "data" object, or NULL */
};
/*
 * Check a decoded reply.  0 with *r filled; -EPROTO for another protocol
 * version (r->version is the daemon's; err says so, naming both); -EBADMSG
 * when a field has the wrong type or is missing (err says which).
 */
int tierd_proto_parse_reply(struct json_object *resp, struct tierd_proto_reply *r, char *err, size_t errlen);

/* Builders. */
struct json_object *tierd_proto_request(const char *command);
struct json_object *tierd_proto_ok(struct json_object *data /* owned, may be NULL */);
struct json_object *tierd_proto_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ------------------------------------------------------ blocking I/O (tierctl) */

/* CLOCK_MONOTONIC in microseconds. */
uint64_t tierd_proto_now_usec(void);

/*
 * Write all of buf to fd (blocking or not: EAGAIN waits in poll), until
 * deadline_usec (CLOCK_MONOTONIC).  Returns 0, -ETIMEDOUT, or -errno
 * (-EPIPE when the peer closed; SIGPIPE is never raised).
 */
int tierd_proto_write_all(int fd, const void *buf, size_t len, uint64_t deadline_usec);

/*
 * Read one frame from fd, handling short reads, until deadline_usec.
 * Returns 0 with *out (the caller's), or:
 *  -ENODATA    the peer closed before sending a byte
 *  -ETIMEDOUT  the frame was not complete by the deadline
 *  -EMSGSIZE / -EBADMSG  as tierd_proto_decode (also a frame cut short by
 *              the peer closing: err says how many bytes came)
 *  -errno      from read or poll
 * err (may be NULL) gets a sentence for every error.
 */
int tierd_proto_read_frame(int fd, size_t max_payload, uint64_t deadline_usec, struct json_object **out,
			   char *err, size_t errlen);
