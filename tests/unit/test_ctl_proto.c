/* SPDX-License-Identifier: MIT */
/*
 * The control protocol's pure parts (daemon/common-proto.c): framing,
 * request and reply envelopes, and tierctl's renderer fed what a broken or
 * hostile daemon could send (daemon/tierctl-render.c).  Both files are
 * compiled into this test (tests/CMakeLists.txt).
 */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common-proto.h"
#include "tierctl-render.h"

/* A frame from a raw payload. */
static size_t frame(unsigned char *buf, const char *payload, size_t plen)
{
	buf[0] = (unsigned char)(plen >> 24);
	buf[1] = (unsigned char)(plen >> 16);
	buf[2] = (unsigned char)(plen >> 8);
	buf[3] = (unsigned char)plen;
	memcpy(buf + 4, payload, plen);
	return plen + 4;
}

static void test_round_trip(void **state)
{
	(void)state;
	struct json_object *req = tierd_proto_request("status");
	char *f = NULL;
	size_t len = 0;
	assert_int_equal(tierd_proto_encode(req, TIERD_PROTO_MAX_REQUEST_BYTES, &f, &len), 0);
	assert_true(len > 4);
	/* big-endian payload length */
	size_t plen = (size_t)(unsigned char)f[0] << 24 | (size_t)(unsigned char)f[1] << 16 |
		      (size_t)(unsigned char)f[2] << 8 | (unsigned char)f[3];
	assert_int_equal(plen, len - 4);

	/* Every prefix is incomplete, and says how much it needs. */
	for (size_t i = 0; i < len; i++) {
		struct json_object *o = (void *)1;
		size_t need = 0;
		assert_int_equal(tierd_proto_decode(f, i, TIERD_PROTO_MAX_REQUEST_BYTES, &o, &need, NULL, 0), -EAGAIN);
		assert_null(o);
		assert_int_equal(need, i < 4 ? 4 : len);
	}
	/* Complete, with trailing bytes of a next frame left alone. */
	char *g = malloc(len + 7);
	memcpy(g, f, len);
	memcpy(g + len, "garbage", 7);
	struct json_object *o = NULL;
	size_t used = 0;
	char err[200] = "";
	assert_int_equal(tierd_proto_decode(g, len + 7, TIERD_PROTO_MAX_REQUEST_BYTES, &o, &used, err, sizeof(err)), 0);
	assert_int_equal(used, len);
	enum tierd_command cmd = TIERD_CMD_RESUME;
	assert_int_equal(tierd_proto_parse_request(o, &cmd, err, sizeof(err)), 0);
	assert_int_equal(cmd, TIERD_CMD_STATUS);
	json_object_put(o);
	free(g);
	free(f);

	/* The payload limit is enforced on encode. */
	assert_int_equal(tierd_proto_encode(req, 10, &f, &len), -EMSGSIZE);
	assert_null(f);
	assert_true(len > 10);
	json_object_put(req);
}

static void test_every_command(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		enum tierd_command cmd;
		bool mutates;
	} cmds[] = {
		{ "status", TIERD_CMD_STATUS, false },
		{ "reload", TIERD_CMD_RELOAD, true },
		{ "pause", TIERD_CMD_PAUSE, true },
		{ "resume", TIERD_CMD_RESUME, true },
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct json_object *req = tierd_proto_request(cmds[i].name);
		enum tierd_command c;
		char err[200];
		assert_int_equal(tierd_proto_parse_request(req, &c, err, sizeof(err)), 0);
		assert_int_equal(c, cmds[i].cmd);
		assert_string_equal(tierd_command_name(c), cmds[i].name);
		assert_int_equal(tierd_command_mutates(c), cmds[i].mutates);
		json_object_put(req);
	}
	assert_string_equal(tierd_command_name((enum tierd_command)42), "?");
}

/* Frames a hostile client could send: each is refused with a message. */
static void test_bad_frames(void **state)
{
	(void)state;
	unsigned char buf[8192];
	struct json_object *o;
	size_t need;
	char err[300];

	/* A header announcing more than the limit: refused from the header
	 * alone, before the payload exists. */
	static const unsigned char huge[4] = { 0xff, 0xff, 0xff, 0xff };
	o = NULL;
	assert_int_equal(tierd_proto_decode(huge, 4, TIERD_PROTO_MAX_REQUEST_BYTES, &o, &need, err, sizeof(err)),
			 -EMSGSIZE);
	assert_null(o);
	assert_non_null(strstr(err, "4294967295 bytes exceeds the limit of 4096"));
	static const unsigned char just_over[4] = { 0, 0, 0x10, 0x01 }; /* 4097 */
	assert_int_equal(tierd_proto_decode(just_over, 4, TIERD_PROTO_MAX_REQUEST_BYTES, &o, &need, err, sizeof(err)),
			 -EMSGSIZE);

	static const struct {
		const char *payload;
		size_t len;
		const char *msg;
	} bad[] = {
		{ "", 0, "empty" },
		{ "{", 1, "ends early" },
		{ "{\"version\": 2,", 14, "ends early" },
		{ "[1,2]", 5, "not a JSON object" },
		{ "\"status\"", 8, "not a JSON object" },
		{ "42", 2, "ends early" },   /* a number needs a terminator */
		{ "{} {}", 5, "malformed message" },
		{ "{}x", 3, "malformed message" },
		{ "{\"a\" 1}", 7, "malformed message" },         /* no colon */
		{ "{\"a\": 1,}", 9, "malformed message" },       /* strict: no trailing comma */
		{ "\xff\xfe\x00\x01", 4, "malformed message" },
		{ "{\"a\":\"b\"}\0{}", 12, "malformed message" }, /* NUL inside the payload */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = frame(buf, bad[i].payload, bad[i].len);
		o = NULL;
		err[0] = '\0';
		int r = tierd_proto_decode(buf, n, TIERD_PROTO_MAX_REQUEST_BYTES, &o, &need, err, sizeof(err));
		if (r != -EBADMSG || !strstr(err, bad[i].msg))
			fail_msg("payload %zu: r=%d err='%s', expected -EBADMSG '%s'", i, r, err, bad[i].msg);
		assert_null(o);
	}
	/* Nesting deeper than json-c's default depth (32) */
	char deep[200];
	size_t d = 0;
	deep[d++] = '{';
	deep[d++] = '"';
	deep[d++] = 'a';
	deep[d++] = '"';
	deep[d++] = ':';
	for (int i = 0; i < 60; i++)
		deep[d++] = '[';
	for (int i = 0; i < 60; i++)
		deep[d++] = ']';
	deep[d++] = '}';
	size_t n = frame(buf, deep, d);
	assert_int_equal(tierd_proto_decode(buf, n, TIERD_PROTO_MAX_REQUEST_BYTES, &o, &need, err, sizeof(err)), -EBADMSG);
	/* Trailing whitespace is fine. */
	n = frame(buf, "{\"a\": 1}\n", 9);
	assert_int_equal(tierd_proto_decode(buf, n, TIERD_PROTO_MAX_REQUEST_BYTES, &o, &need, err, sizeof(err)), 0);
	json_object_put(o);
}

static int parse_req_text(const char *text, enum tierd_command *c, char *err, size_t errlen)
{
	struct json_object *o = json_tokener_parse(text);
	assert_non_null(o);
	int r = tierd_proto_parse_request(o, c, err, errlen);
	json_object_put(o);
	return r;
}

static void test_bad_requests(void **state)
{
	(void)state;
	enum tierd_command c;
	char err[400];
	static const struct {
		const char *json;
		int r;
		const char *msg;
	} bad[] = {
		{ "{\"version\": 1, \"command\": \"status\"}", -EPROTO,
		  "protocol version mismatch: tierd speaks 2, the request has 1" },
		{ "{\"version\": 3, \"command\": \"status\"}", -EPROTO, "the request has 3" },
		{ "{\"command\": \"status\"}", -EINVAL, "no integer \"version\"" },
		{ "{\"version\": \"2\", \"command\": \"status\"}", -EINVAL, "no integer \"version\"" },
		{ "{\"version\": 2.0, \"command\": \"status\"}", -EINVAL, "no integer \"version\"" },
		{ "{\"version\": 2}", -EINVAL, "no string \"command\"" },
		{ "{\"version\": 2, \"command\": 1}", -EINVAL, "no string \"command\"" },
		{ "{\"version\": 2, \"command\": \"evacuate\"}", -EINVAL, "unknown command \"evacuate\"" },
		{ "{\"version\": 2, \"command\": \"STATUS\"}", -EINVAL, "unknown command" },
		{ "{\"version\": 2, \"command\": \"status\\u0000x\"}", -EINVAL, "unknown command \"status\"" },
		{ "{\"version\": 2, \"command\": \"\\u001b[2Jx\"}", -EINVAL, "unknown command \"?[2Jx\"" },
		{ "{\"version\": 2, \"command\": \"status\", \"uid\": 0}", -EINVAL, "unexpected key \"uid\"" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		int r = parse_req_text(bad[i].json, &c, err, sizeof(err));
		if (r != bad[i].r || !strstr(err, bad[i].msg))
			fail_msg("%s: r=%d err='%s', expected %d '%s'", bad[i].json, r, err, bad[i].r, bad[i].msg);
	}
	/* A long unknown command is cut in the message. */
	char longcmd[300];
	snprintf(longcmd, sizeof(longcmd), "{\"version\": 2, \"command\": \"%0200d\"}", 7);
	assert_int_equal(parse_req_text(longcmd, &c, err, sizeof(err)), -EINVAL);
	assert_true(strlen(err) < 120);
	assert_non_null(strstr(err, "...\""));
}

static int parse_reply_text(const char *text, struct tierd_proto_reply *r, char *err, size_t errlen,
			    struct json_object **keep)
{
	*keep = json_tokener_parse(text);
	assert_non_null(*keep);
	return tierd_proto_parse_reply(*keep, r, err, errlen);
}

static void test_replies(void **state)
{
	(void)state;
	struct tierd_proto_reply r;
	struct json_object *o;
	char err[400];

	assert_int_equal(parse_reply_text("{\"version\": 2, \"ok\": true, \"data\": {\"a\": 1}}", &r, err, sizeof(err), &o), 0);
	assert_true(r.ok);
	assert_non_null(r.data);
	json_object_put(o);
	assert_int_equal(parse_reply_text("{\"version\": 2, \"ok\": true}", &r, err, sizeof(err), &o), 0);
	assert_null(r.data);
	json_object_put(o);
	assert_int_equal(parse_reply_text("{\"version\": 2, \"ok\": false, \"error\": \"permission denied: x\"}", &r,
					  err, sizeof(err), &o),
			 0);
	assert_false(r.ok);
	assert_string_equal(r.error, "permission denied: x");
	json_object_put(o);

	static const struct {
		const char *json;
		int r;
		const char *msg;
	} bad[] = {
		{ "{\"version\": 3, \"ok\": true}", -EPROTO, "protocol version mismatch: tierd speaks 3, tierctl 2" },
		{ "{\"version\": 1, \"ok\": true}", -EPROTO, "tierd speaks 1" },
		{ "{\"ok\": true}", -EBADMSG, "no integer \"version\"" },
		{ "{\"version\": \"2\", \"ok\": true}", -EBADMSG, "no integer \"version\"" },
		{ "{\"version\": 2}", -EBADMSG, "no boolean \"ok\"" },
		{ "{\"version\": 2, \"ok\": \"yes\"}", -EBADMSG, "no boolean \"ok\"" },
		{ "{\"version\": 2, \"ok\": 1}", -EBADMSG, "no boolean \"ok\"" },
		{ "{\"version\": 2, \"ok\": false}", -EBADMSG, "without a string \"error\"" },
		{ "{\"version\": 2, \"ok\": false, \"error\": 5}", -EBADMSG, "without a string \"error\"" },
		{ "{\"version\": 2, \"ok\": true, \"data\": 5}", -EBADMSG, "\"data\" is not an object" },
		{ "{\"version\": 2, \"ok\": true, \"data\": [1]}", -EBADMSG, "\"data\" is not an object" },
		{ "{\"version\": 2, \"ok\": true, \"data\": \"x\"}", -EBADMSG, "\"data\" is not an object" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		int rr = parse_reply_text(bad[i].json, &r, err, sizeof(err), &o);
		if (rr != bad[i].r || !strstr(err, bad[i].msg))
			fail_msg("%s: r=%d err='%s', expected %d '%s'", bad[i].json, rr, err, bad[i].r, bad[i].msg);
		json_object_put(o);
	}
	/* An absurd version is clamped, not wrapped. */
	assert_int_equal(parse_reply_text("{\"version\": 99999999999, \"ok\": true}", &r, err, sizeof(err), &o), -EPROTO);
	assert_int_equal(r.version, INT32_MAX);
	json_object_put(o);
}

/* The blocking reader over a socketpair: partial writes, a cut frame, a
 * timeout, a huge header. */
static void test_read_frame(void **state)
{
	(void)state;
	int sv[2];
	struct json_object *o;
	char err[300];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	unsigned char buf[256];
	size_t n = frame(buf, "{\"version\": 2, \"ok\": true}", 26);
	/* byte by byte from a child, the reader waits for all of it */
	pid_t pid = fork();
	if (pid == 0) {
		for (size_t i = 0; i < n; i++) {
			if (write(sv[1], buf + i, 1) != 1)
				_exit(1);
			usleep(1000);
		}
		_exit(0);
	}
	assert_int_equal(tierd_proto_read_frame(sv[0], 1000, tierd_proto_now_usec() + 5000000, &o, err, sizeof(err)), 0);
	assert_non_null(o);
	json_object_put(o);
	int st;
	waitpid(pid, &st, 0);

	/* nothing comes: timeout */
	assert_int_equal(tierd_proto_read_frame(sv[0], 1000, tierd_proto_now_usec() + 50000, &o, err, sizeof(err)),
			 -ETIMEDOUT);
	assert_non_null(strstr(err, "0 bytes of the 4-byte header"));
	/* a header announcing too much */
	static const unsigned char huge[4] = { 0x7f, 0xff, 0xff, 0xff };
	assert_int_equal(write(sv[1], huge, 4), 4);
	assert_int_equal(tierd_proto_read_frame(sv[0], 1000, tierd_proto_now_usec() + 1000000, &o, err, sizeof(err)),
			 -EMSGSIZE);
	/* half a frame, then the peer closes */
	assert_int_equal(write(sv[1], buf, 10), 10);
	close(sv[1]);
	assert_int_equal(tierd_proto_read_frame(sv[0], 1000, tierd_proto_now_usec() + 1000000, &o, err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, "closed after 10 of 30 bytes"));
	/* and then nothing: closed without an answer */
	assert_int_equal(tierd_proto_read_frame(sv[0], 1000, tierd_proto_now_usec() + 1000000, &o, err, sizeof(err)),
			 -ENODATA);
	close(sv[0]);

	/* write_all to a closed peer: -EPIPE, no SIGPIPE */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	assert_int_equal(tierd_proto_write_all(sv[0], "abc", 3, tierd_proto_now_usec() + 1000000), -EPIPE);
	close(sv[0]);
	/* write_all against a peer that never reads: -ETIMEDOUT */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	char *big = calloc(1, 8 << 20);
	assert_int_equal(tierd_proto_write_all(sv[0], big, 8 << 20, tierd_proto_now_usec() + 100000), -ETIMEDOUT);
	free(big);
	close(sv[0]);
	close(sv[1]);
}

/* What a broken or hostile daemon could put in "data": the renderer must
 * neither crash nor assert (json-c asserts on array calls on non-arrays). */
static void test_render_hostile(void **state)
{
	(void)state;
	static const char *const docs[] = {
		"{}",
		"{\"daemon\": 5, \"tiers\": 5, \"nodes\": \"x\", \"actions\": {}, \"warnings\": 7}",
		"{\"tiers\": [5, null, {\"id\": \"x\", \"nodes\": 5}], \"nodes\": [5, null, \"n\", {\"id\": 0, \"tier\": null}]}",
		"{\"tiers\": [{\"id\": 4, \"nodes\": [0, \"a\", null, {}]}], \"nodes\": [{\"id\": 0, \"tier\": 4, "
		"\"demotion_targets\": {\"a\": 1}, \"demotion_fallback\": \"1\", \"cpus\": [1], \"free_pages\": \"many\"}]}",
		"{\"guard\": [1], \"fence\": \"on\", \"relief\": 3, \"topology\": [], \"demotion_enabled_original\": {}}",
		"{\"guard\": {\"mode\": {}, \"why\": [1, 2], \"state\": 5}, \"fence\": {\"state\": 5, \"grants\": {}, "
		"\"demotion\": 7}, \"relief\": {\"enabled\": true, \"failures\": [1, 2]}}",
		"{\"relief\": {\"enabled\": true, \"failures\": 5}, \"fence\": {\"grants\": [null, 1]}}",
		"{\"relief\": {\"enabled\": true, \"failures\": {\"a\": \"b\", \"c\": [1]}}}",
		"{\"warnings\": [null, 5, [], \"ok\"], \"actions\": [null, 5, \"a\", {\"kind\": [], \"reason\": {}, "
		"\"result\": 7, \"age_usec\": \"old\"}]}",
		"{\"daemon\": {\"version\": \"\\u001b]0;pwned\\u0007\", \"paused\": \"yes\", \"uptime_usec\": -5, "
		"\"config_path\": 5, \"last_reload\": []}}",
	};
	FILE *f = fopen("/dev/null", "w");
	assert_non_null(f);
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct json_object *o = json_tokener_parse(docs[i]);
		if (!o)
			fail_msg("doc %zu does not parse", i);
		tierctl_render_status(f, o);
		tierctl_render_topology(f, o);
		json_object_put(o);
	}
	/* Not even an object. */
	struct json_object *a = json_tokener_parse("[1, 2]");
	tierctl_render_status(f, a);
	tierctl_render_topology(f, a);
	json_object_put(a);
	tierctl_render_status(f, NULL);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_every_command),
		cmocka_unit_test(test_bad_frames),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_read_frame),
		cmocka_unit_test(test_render_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
