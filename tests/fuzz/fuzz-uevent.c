/* SPDX-License-Identifier: MIT */
/*
 * Kernel uevent messages from the netlink socket: tier_uevent_parse() on the
 * input as one datagram (terminated one byte past its end, as the daemon's
 * receive buffer is).  Properties: every field points inside the message
 * and ends within it; the name is the tail of DEVPATH.
 */
#include "fuzz.h"

#include <string.h>

#include "tier/uevent.h"

static void inside(const char *p, const char *buf, size_t len)
{
	if (!p)
		return;
	FUZZ_CHECK(p >= buf && p <= buf + len);
	FUZZ_CHECK(p + strlen(p) <= buf + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_cstr(data, size);
	struct tier_uevent ev;
	if (tier_uevent_parse(buf, size, &ev)) {
		fuzz_note("  kernel format: %s %s (%s)", ev.action ? ev.action : "-", ev.name ? ev.name : "-",
			  ev.subsystem ? ev.subsystem : "-");
		inside(ev.action, buf, size);
		inside(ev.devpath, buf, size);
		inside(ev.subsystem, buf, size);
		inside(ev.name, buf, size);
		FUZZ_CHECK((ev.name == NULL) == (ev.devpath == NULL));
		FUZZ_CHECK(!ev.name || (ev.name >= ev.devpath && !strchr(ev.name, '/')));
	} else {
		fuzz_note("  not the kernel's format");
		FUZZ_CHECK(!ev.action && !ev.devpath && !ev.subsystem && !ev.name);
	}
	free(buf);
	return 0;
}
