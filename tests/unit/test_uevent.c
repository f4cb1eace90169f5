/* SPDX-License-Identifier: MIT */
/* Kernel uevent parser (tier/uevent.h): messages captured on the dev host
 * (Linux 6.18, NETLINK_KOBJECT_UEVENT group 1, after writing "change" and
 * "online" to node0/uevent and memory1/uevent) and hand-made bad ones. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include <tier/uevent.h>

/* sizeof - 1: the string literal's own NUL is the buf[len] the contract asks
 * for; the message's last NUL (as the kernel sends it) is in the literal. */
#define MSG(s) s, sizeof(s) - 1

static const char node_change[] =
	"change@/devices/system/node/node0\0ACTION=change\0DEVPATH=/devices/system/node/node0\0"
	"SUBSYSTEM=node\0SYNTH_UUID=0\0SEQNUM=842\0";
static const char memory_online[] =
	"online@/devices/system/memory/memory1\0ACTION=online\0DEVPATH=/devices/system/memory/memory1\0"
	"SUBSYSTEM=memory\0SYNTH_UUID=0\0SEQNUM=844\0";

/* Copy into a heap buffer of exactly len + 1 bytes, so ASan sees any read
 * past the terminator the contract promises. */
static char *exact(const char *s, size_t len)
{
	char *b = malloc(len + 1);
	assert_non_null(b);
	memcpy(b, s, len);
	b[len] = '\0';
	return b;
}

static void test_real_messages(void **state)
{
	(void)state;
	struct tier_uevent ev;
	char *b = exact(MSG(node_change));
	assert_true(tier_uevent_parse(b, sizeof(node_change) - 1, &ev));
	assert_string_equal(ev.action, "change");
	assert_string_equal(ev.devpath, "/devices/system/node/node0");
	assert_string_equal(ev.subsystem, "node");
	assert_string_equal(ev.name, "node0");
	free(b);

	b = exact(MSG(memory_online));
	assert_true(tier_uevent_parse(b, sizeof(memory_online) - 1, &ev));
	assert_string_equal(ev.action, "online");
	assert_string_equal(ev.subsystem, "memory");
	assert_string_equal(ev.name, "memory1");
	free(b);
}

static void test_not_kernel_format(void **state)
{
	(void)state;
	struct tier_uevent ev;
	/* udevd's re-broadcast: "libudev" magic, no '@' in the first string. */
	static const char udev[] = "libudev\0\xfe\xed\xca\xfe" "ACTION=add\0SUBSYSTEM=node\0";
	memset(&ev, 0xa5, sizeof(ev));
	assert_false(tier_uevent_parse(MSG(udev), &ev));
	assert_null(ev.action);
	assert_null(ev.subsystem);
	assert_null(ev.name);
	/* '@' only after the header's NUL does not make it the kernel's. */
	static const char late_at[] = "change\0ACTION=a@b\0SUBSYSTEM=node\0";
	assert_false(tier_uevent_parse(MSG(late_at), &ev));
	assert_false(tier_uevent_parse(MSG("a@"), &ev));   /* shorter than 3 bytes */
	assert_false(tier_uevent_parse("", 0, &ev));
}

static void test_partial_messages(void **state)
{
	(void)state;
	struct tier_uevent ev;
	/* Header only: the kernel's format, nothing in it. */
	assert_true(tier_uevent_parse(MSG("add@/x"), &ev));
	assert_null(ev.action);
	assert_null(ev.subsystem);
	assert_null(ev.devpath);
	assert_null(ev.name);

	/* No SUBSYSTEM=: parsed, subsystem NULL for the caller to skip. */
	assert_true(tier_uevent_parse(MSG("add@/a/b\0ACTION=add\0DEVPATH=/a/b\0"), &ev));
	assert_string_equal(ev.action, "add");
	assert_null(ev.subsystem);
	assert_string_equal(ev.name, "b");

	/* The last string without its own NUL (ended by buf[len]). */
	assert_true(tier_uevent_parse(MSG("add@/n\0SUBSYSTEM=node"), &ev));
	assert_string_equal(ev.subsystem, "node");

	/* A key cut short by the end of the message matches nothing. */
	assert_true(tier_uevent_parse(MSG("add@/n\0SUBSYST"), &ev));
	assert_null(ev.subsystem);
	assert_true(tier_uevent_parse(MSG("add@/n\0SUBSYSTEM="), &ev));
	assert_string_equal(ev.subsystem, "");

	/* Repeated keys: the last one counts. */
	assert_true(tier_uevent_parse(MSG("add@/n\0SUBSYSTEM=node\0SUBSYSTEM=memory\0"), &ev));
	assert_string_equal(ev.subsystem, "memory");

	/* DEVPATH without '/', or ending in one. */
	assert_true(tier_uevent_parse(MSG("add@x\0DEVPATH=node3\0"), &ev));
	assert_string_equal(ev.name, "node3");
	assert_true(tier_uevent_parse(MSG("add@x\0DEVPATH=/devices/\0"), &ev));
	assert_string_equal(ev.name, "");
}

static void test_bytes_after_len_ignored(void **state)
{
	(void)state;
	struct tier_uevent ev;
	/* len stops before SUBSYSTEM=: what follows the terminator at buf[len]
	 * is not part of the message. */
	static const char buf[] = "add@/n\0ACTION=add\0\0SUBSYSTEM=node\0";
	size_t len = strlen("add@/n") + 1 + strlen("ACTION=add");
	assert_true(tier_uevent_parse(buf, len, &ev));
	assert_string_equal(ev.action, "add");
	assert_null(ev.subsystem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_messages),
		cmocka_unit_test(test_not_kernel_format),
		cmocka_unit_test(test_partial_messages),
		cmocka_unit_test(test_bytes_after_len_ignored),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
