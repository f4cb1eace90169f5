/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Kernel uevent messages as NETLINK_KOBJECT_UEVENT delivers them to the
 * kernel's multicast group (lib/kobject_uevent.c, unchanged in form since
 * 2.6): a header "ACTION@DEVPATH", then "KEY=value" strings, each ended by
 * a NUL byte:
 *
 *   online@/devices/system/memory/memory32\0ACTION=online\0
 *   DEVPATH=/devices/system/memory/memory32\0SUBSYSTEM=memory\0SEQNUM=4711\0
 *
 * udevd's re-broadcasts start with "libudev" and a binary header instead;
 * they are not this format.  Pure: no I/O, no logging.
 */
#include <stdbool.h>
#include <stddef.h>

struct tier_uevent {
	/* Pointers into the caller's buffer, NULL when the key is absent.
	 * When a key repeats, the last one counts. */
	const char *action;       /* ACTION=: "add", "online", "change"... */
	const char *devpath;      /* DEVPATH=: "/devices/system/node/node2" */
	const char *subsystem;    /* SUBSYSTEM=: "memory", "node", ... */
	/* The device's name: the last component of DEVPATH ("node2"), all of
	 * DEVPATH when it has no '/', NULL without DEVPATH. */
	const char *name;
};

/*
 * Parse one message of len bytes.  buf[len] must be readable and '\0' (the
 * last string of a message may lack its own terminator; recv into a buffer
 * one byte larger and terminate it).  Returns true and fills *ev when buf is
 * in the kernel's format (a header with '@' and at least 3 bytes); false,
 * with *ev zeroed, for anything else.  A message in the kernel's format
 * without SUBSYSTEM= is still true, with ev->subsystem NULL: callers filter
 * on the subsystem.
 */
bool tier_uevent_parse(const char *buf, size_t len, struct tier_uevent *ev);
