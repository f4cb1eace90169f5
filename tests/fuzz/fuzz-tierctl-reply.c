/* SPDX-License-Identifier: MIT */
/*
 * tierctl's side of the control socket: a hostile or broken daemon must
 * not crash the client.  The input is the bytes of one reply (a 4-byte
 * big-endian length and the payload), decoded and checked as tierctl does
 * (tierd_proto_decode, tierd_proto_parse_reply), then rendered by
 * daemon/tierctl-render.c: the "data" object as `tierctl status` prints it,
 * and as the topology view (tierctl topology renders the same keys).  A
 * reply without a valid envelope is rendered whole, so inputs without it
 * still reach the renderer.
 */
#include "fuzz.h"

#include <string.h>
#include <json-c/json.h>

#include "common-proto.h"
#include "tierctl-render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *out;
	if (!out) {
		out = fopen("/dev/null", "w");
		if (!out)
			abort();
	}
	struct json_object *resp = NULL, *d;
	struct tierd_proto_reply r;
	char err[256] = "";
	size_t used = 0;
	if (tierd_proto_decode(data, size, TIERD_PROTO_MAX_REPLY_BYTES, &resp, &used, err, sizeof(err)) < 0) {
		fuzz_note("  rejected: %s", err);
		return 0;   /* tierctl prints the error and exits 1 */
	}
	if (tierd_proto_parse_reply(resp, &r, err, sizeof(err)) == 0 && r.ok && r.data)
		d = r.data;
	else
		d = resp;
	fuzz_note("  rendered%s", d == resp ? " (no valid envelope)" : "");
	tierctl_render_status(out, d);
	tierctl_render_topology(out, d);
	fflush(out);
	json_object_put(resp);
	return 0;
}
