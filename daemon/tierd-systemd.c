/* SPDX-License-Identifier: MIT */
/* Unit properties through PID 1 (see tierd-systemd.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include <tier/nodemask.h>
#include "tierd-systemd.h"
#include "tierd-log.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"

bool tierd_systemd_is_init(void)
{
	char comm[64] = "";
	FILE *f = fopen("/proc/1/comm", "re");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
	}
	comm[strcspn(comm, "\n")] = '\0';
	return sd_booted() > 0 && strcmp(comm, "systemd") == 0;
}

/* The D-Bus interface that carries the cgroup properties of a unit type. */
static const char *unit_interface(const char *unit)
{
	static const char *const map[][2] = {
		{ ".slice", "org.freedesktop.systemd1.Slice" },
		{ ".service", "org.freedesktop.systemd1.Service" },
		{ ".scope", "org.freedesktop.systemd1.Scope" },
		{ ".socket", "org.freedesktop.systemd1.Socket" },
		{ ".mount", "org.freedesktop.systemd1.Mount" },
		{ ".swap", "org.freedesktop.systemd1.Swap" },
	};
	size_t ul = strlen(unit);
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		size_t sl = strlen(map[i][0]);
		if (ul > sl && strcmp(unit + ul - sl, map[i][0]) == 0)
			return map[i][1];
	}
	return NULL;
}

static int bus_error(int r, const sd_bus_error *e, const char *what, const char *unit)
{
	if (e && sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit"))
		return -ENOENT;
	log_debug("%s %s: %s", what, unit, e && e->message ? e->message : strerror(-r));
	return r < 0 ? r : -EIO;
}

int tierd_unit_get_property(const char *unit, const char *property, char *buf, size_t size)
{
	const char *iface = unit_interface(unit);
	if (!iface || strcmp(property, "AllowedMemoryNodes") != 0)
		return -EOPNOTSUPP;
	sd_bus *bus = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *path;
	int r = sd_bus_open_system(&bus);
	if (r < 0) /* not "no such unit": the bus itself is missing */
		return r == -ENOENT ? -ENOTCONN : r;
	r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &e, &reply, "s", unit);
	if (r < 0) {
		r = bus_error(r, &e, "GetUnit", unit);
		goto out;
	}
	r = sd_bus_message_read(reply, "o", &path);
	if (r < 0)
		goto out;
	char *p = strdup(path);
	sd_bus_message_unref(reply);
	reply = NULL;
	if (!p) {
		r = -ENOMEM;
		goto out;
	}
	r = sd_bus_get_property(bus, SD_DEST, p, iface, property, &e, &reply, "ay");
	free(p);
	if (r < 0) {
		r = bus_error(r, &e, "Get AllowedMemoryNodes", unit);
		goto out;
	}
	const void *bytes;
	size_t n;
	r = sd_bus_message_read_array(reply, 'y', &bytes, &n);
	if (r < 0)
		goto out;
	/* systemd's CPU_SET-style byte array: bit j of byte i is node 8i+j. */
	struct bitmask *bm = tier_nodemask_alloc();
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < 8; j++)
			if (((const unsigned char *)bytes)[i] & (1u << j))
				tier_bitmask_set(bm, (int)(i * 8 + (size_t)j));
	tier_bitmask_format(bm, buf, size);
	tier_bitmask_free(bm);
	r = 0;
out:
	sd_bus_error_free(&e);
	sd_bus_message_unref(reply);
	sd_bus_flush_close_unref(bus);
	return r;
}

int tierd_unit_set_property(const char *unit, const char *property, const char *value)
{
	if (!unit_interface(unit) || strcmp(property, "AllowedMemoryNodes") != 0)
		return -EOPNOTSUPP;
	struct bitmask *bm = tier_nodemask_alloc();
	if (tier_bitmask_parse_list(value, bm) < 0) {
		tier_bitmask_free(bm);
		return -EINVAL;
	}
	unsigned char bytes[TIER_MAX_NODES / 8] = { 0 };
	size_t n = 0;
	tier_bitmask_foreach(b, bm) {
		bytes[b / 8] |= (unsigned char)(1u << (b % 8));
		n = (size_t)b / 8 + 1;
	}
	tier_bitmask_free(bm);

	sd_bus *bus = NULL;
	sd_bus_message *m = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = sd_bus_open_system(&bus);
	if (r < 0)
		return r == -ENOENT ? -ENOTCONN : r;
	r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "SetUnitProperties");
	if (r >= 0)
		r = sd_bus_message_append(m, "sb", unit, 1); /* runtime: gone after reboot */
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "(sv)");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'r', "sv");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", property);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'v', "ay");
	if (r >= 0)
		r = sd_bus_message_append_array(m, 'y', bytes, n);
	for (int i = 0; i < 3 && r >= 0; i++)
		r = sd_bus_message_close_container(m);
	if (r >= 0) {
		r = sd_bus_call(bus, m, 0, &e, NULL);
		if (r < 0)
			r = bus_error(r, &e, "SetUnitProperties", unit);
	}
	sd_bus_error_free(&e);
	sd_bus_message_unref(m);
	sd_bus_flush_close_unref(bus);
	return r < 0 ? r : 0;
}
