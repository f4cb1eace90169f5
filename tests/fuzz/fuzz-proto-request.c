/* SPDX-License-Identifier: MIT */
/*
 * The control socket's receive side (daemon/common-proto.c), as tierd reads
 * a request: the input is one datagram sent on a SOCK_SEQPACKET socketpair
 * and read back with tierd_proto_recv().  Properties: a message is either
 * one JSON object or an error with a message; what was accepted
 * re-serializes (tierd_proto_send) to a message that is accepted again and
 * serializes to the same text.  Kept apart from the reply harness so the
 * framing can change without touching the renderer's.
 */
#include "fuzz.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <json-c/json.h>

#include "common-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int sv[2] = { -1, -1 };
	if (sv[0] < 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	/* A datagram larger than the socket buffer cannot be sent at all: not
	 * an input tierd can receive. */
	if (send(sv[0], data, size, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)size)
		return 0;

	struct json_object *req = NULL, *again = NULL;
	char err[256] = "";
	int r = tierd_proto_recv(sv[1], &req, err, sizeof(err));
	if (r < 0) {
		fuzz_note("  rejected: %s", err);
		FUZZ_CHECK(req == NULL);
		FUZZ_CHECK(r == -ENODATA || r == -EBADMSG || r == -EMSGSIZE);
		FUZZ_CHECK(err[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(json_object_is_type(req, json_type_object));
	fuzz_note("  accepted");
	FUZZ_CHECK(tierd_proto_send(sv[0], req) == 0);
	err[0] = '\0';
	r = tierd_proto_recv(sv[1], &again, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "re-sent message rejected: %s\n", err);
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(strcmp(json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN),
			  json_object_to_json_string_ext(again, JSON_C_TO_STRING_PLAIN)) == 0);
	json_object_put(again);
	json_object_put(req);
	return 0;
}
