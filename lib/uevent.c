/* SPDX-License-Identifier: MIT */
/* Kernel uevent messages (contract and format in tier/uevent.h). */
#include "tier/uevent.h"

#include <string.h>

bool tier_uevent_parse(const char *buf, size_t len, struct tier_uevent *ev)
{
	memset(ev, 0, sizeof(*ev));
	size_t hlen = strnlen(buf, len);
	if (len < 3 || !memchr(buf, '@', hlen))
		return false;   /* not the kernel's format (udev's starts with "libudev") */
	for (size_t off = hlen + 1; off < len;) {
		const char *kv = buf + off;
		size_t l = strnlen(kv, len - off);
		/* Compare within the string: a key cut by the end of the
		 * message must not match on bytes past it. */
		if (l >= 7 && !memcmp(kv, "ACTION=", 7))
			ev->action = kv + 7;
		else if (l >= 8 && !memcmp(kv, "DEVPATH=", 8))
			ev->devpath = kv + 8;
		else if (l >= 10 && !memcmp(kv, "SUBSYSTEM=", 10))
			ev->subsystem = kv + 10;
		off += l + 1;
	}
	if (ev->devpath) {
		const char *slash = strrchr(ev->devpath, '/');
		ev->name = slash ? slash + 1 : ev->devpath;
	}
	return true;
}
