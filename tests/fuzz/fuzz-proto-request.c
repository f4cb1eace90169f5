/* SPDX-License-Identifier: MIT */
/*
 * The control socket's request path (daemon/common-proto.c, protocol 2), as
 * tierd reads a request: the input is the bytes a client sent (a 4-byte
 * big-endian length and the payload), decoded with tierd_proto_decode()
 * and checked with tierd_proto_parse_request().  Properties: a decode is
 * complete (0), incomplete (-EAGAIN, asking for more than it has),
 * oversized or malformed (with a message); what decodes re-encodes to a
 * frame that decodes again to the same text; a request either parses to a
 * command or says why not.  Kept apart from the reply harness so the
 * framing can change without touching the renderer's.
 */
#include "fuzz.h"

#include <errno.h>
#include <string.h>
#include <json-c/json.h>

#include "common-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *req = NULL, *again = NULL;
	char err[256] = "";
	size_t used = 0;
	int r = tierd_proto_decode(data, size, TIERD_PROTO_MAX_REQUEST_BYTES, &req, &used, err, sizeof(err));
	if (r == -EAGAIN) {
		FUZZ_CHECK(req == NULL);
		FUZZ_CHECK(used > size);
		fuzz_note("  incomplete: %zu of %zu bytes", size, used);
		return 0;
	}
	if (r < 0) {
		fuzz_note("  rejected: %s", err);
		FUZZ_CHECK(req == NULL);
		FUZZ_CHECK(r == -EBADMSG || r == -EMSGSIZE);
		FUZZ_CHECK(err[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(used <= size && used >= TIERD_PROTO_HEADER_BYTES);
	FUZZ_CHECK(json_object_is_type(req, json_type_object));
	enum tierd_command cmd;
	err[0] = '\0';
	r = tierd_proto_parse_request(req, &cmd, err, sizeof(err));
	FUZZ_CHECK(r == 0 || ((r == -EPROTO || r == -EINVAL) && err[0]));
	fuzz_note("  %s%s", r == 0 ? "request " : "refused: ", r == 0 ? tierd_command_name(cmd) : err);
	char *frame = NULL;
	size_t flen = 0, used2 = 0;
	FUZZ_CHECK(tierd_proto_encode(req, TIERD_PROTO_MAX_REPLY_BYTES, &frame, &flen) == 0);
	r = tierd_proto_decode(frame, flen, TIERD_PROTO_MAX_REPLY_BYTES, &again, &used2, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "re-encoded message rejected: %s\n", err);
	FUZZ_CHECK(r == 0 && used2 == flen);
	FUZZ_CHECK(strcmp(json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN),
			  json_object_to_json_string_ext(again, JSON_C_TO_STRING_PLAIN)) == 0);
	free(frame);
	json_object_put(again);
	json_object_put(req);
	return 0;
}
