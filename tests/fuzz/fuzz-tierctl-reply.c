/* SPDX-License-Identifier: MIT */
/*
 * tierctl's side of the control socket: a hostile or broken daemon must
 * not crash the client.  The input is one reply datagram on a socketpair,
 * received with tierd_proto_recv() as tierctl does, then rendered by
 * daemon/tierctl-render.c: the "data" object as `tierctl status` prints
 * it, and as the topology view (tierctl topology renders the same keys).
 * A reply without "data" is rendered whole, so inputs without the envelope
 * still reach the renderer.
 */
#include "fuzz.h"

#include <string.h>
#include <sys/socket.h>
#include <json-c/json.h>

#include "common-proto.h"
#include "tierctl-render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int sv[2] = { -1, -1 };
	static FILE *out;
	if (sv[0] < 0) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
			abort();
		out = fopen("/dev/null", "w");
		if (!out)
			abort();
	}
	if (send(sv[0], data, size, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)size)
		return 0;
	struct json_object *resp = NULL, *d = NULL;
	char err[256] = "";
	if (tierd_proto_recv(sv[1], &resp, err, sizeof(err)) < 0) {
		fuzz_note("  rejected: %s", err);
		return 0;   /* tierctl prints the error and exits 1 */
	}
	if (!json_object_object_get_ex(resp, "data", &d))
		d = resp;
	fuzz_note("  rendered%s", d == resp ? " (no \"data\")" : "");
	tierctl_render_status(out, d);
	tierctl_render_topology(out, d);
	fflush(out);
	json_object_put(resp);
	return 0;
}
