/* SPDX-License-Identifier: MIT */
/* Unit properties through PID 1, asynchronously (see tierd-systemd.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include <tier/nodemask.h>
#include "tierd-systemd.h"
#include "tierd-log.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT_PATH "/org/freedesktop/systemd1/unit"
/* Do not try to reconnect more often than this after a failure. */
#define RECONNECT_USEC (1u * 1000000u)

static struct {
	sd_bus *bus;
	unsigned pending;
	uint64_t last_fail_usec;
	bool fail_logged;
} B;

struct call {
	tierd_unit_done_fn done;
	void *userdata;
	bool is_get;
	char *value;             /* set: the value set */
	char unit[256];
};

static uint64_t mono_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

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

/* The connection, opened (and attached to the default event loop of this
 * thread, which is tierd's) when missing or broken. */
static sd_bus *bus_get(void)
{
	if (B.bus && sd_bus_is_open(B.bus) > 0)
		return B.bus;
	if (B.bus) {
		log_notice("systemd: the bus connection was closed; reconnecting");
		/* A closing bus fails every pending call with a synthetic error
		 * reply as it is processed: deliver them, so each caller hears
		 * about its call exactly once. */
		for (int i = 0; i < 100000 && sd_bus_process(B.bus, NULL) > 0; i++)
			;
		B.bus = sd_bus_flush_close_unref(B.bus);
		if (B.pending)
			log_warning("systemd: %u call(s) lost with the old connection", B.pending);
		B.pending = 0;
	}
	uint64_t now = mono_usec();
	if (B.last_fail_usec && now - B.last_fail_usec < RECONNECT_USEC)
		return NULL;
	sd_bus *bus = NULL;
	sd_event *e = NULL;
	int r = sd_bus_open_system(&bus);
	if (r >= 0)
		r = sd_event_default(&e);
	if (r >= 0)
		r = sd_bus_attach_event(bus, e, SD_EVENT_PRIORITY_NORMAL);
	/* By default sd-bus flushes and CLOSES an attached connection when
	 * the loop exits; the restore at stop runs after the loop and needs
	 * it (tierd_systemd_close() closes it at the very end). */
	if (r >= 0)
		r = sd_bus_set_close_on_exit(bus, 0);
	sd_event_unref(e);
	if (r < 0) {
		if (!B.fail_logged)
			log_warning("systemd: cannot connect to the system bus: %s (retrying later)", strerror(-r));
		B.fail_logged = true;
		B.last_fail_usec = now;
		sd_bus_flush_close_unref(bus);
		return NULL;
	}
	(void)sd_bus_set_description(bus, "tierd-systemd");
	B.fail_logged = false;
	B.last_fail_usec = 0;
	B.bus = bus;
	return bus;
}

static int reply_error(sd_bus_message *m, const char *unit)
{
	const sd_bus_error *e = sd_bus_message_get_error(m);
	if (e && (sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit") ||
		  sd_bus_error_has_name(e, "org.freedesktop.DBus.Error.UnknownObject")))
		return -ENOENT;
	int r = sd_bus_message_get_errno(m);
	log_debug("systemd: %s: %s", unit, e && e->message ? e->message : strerror(r ? r : EIO));
	if (e && sd_bus_error_has_name(e, SD_BUS_ERROR_NO_REPLY))
		return -ETIMEDOUT;
	return r > 0 ? -r : -EIO;
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct call *c = userdata;
	char *list = NULL;
	int r = 0;
	(void)ret_error;
	if (sd_bus_message_is_method_error(m, NULL)) {
		r = reply_error(m, c->unit);
	} else if (c->is_get) {
		const void *bytes;
		size_t n;
		r = sd_bus_message_enter_container(m, 'v', "ay");
		if (r >= 0)
			r = sd_bus_message_read_array(m, 'y', &bytes, &n);
		if (r >= 0) {
			/* systemd's CPU_SET-style byte array: bit j of byte i is
			 * node 8i+j. */
			struct bitmask *bm = tier_nodemask_alloc();
			for (size_t i = 0; i < n && i * 8 < TIER_MAX_NODES; i++)
				for (int j = 0; j < 8; j++)
					if (((const unsigned char *)bytes)[i] & (1u << j))
						tier_bitmask_set(bm, (int)(i * 8 + (size_t)j));
			list = tier_bitmask_format_alloc(bm);
			tier_bitmask_free(bm);
			r = list ? 0 : -ENOMEM;
		}
	}
	B.pending--;
	c->done(c->userdata, r < 0 ? r : 0, r < 0 ? NULL : c->is_get ? list : c->value);
	free(list);
	free(c->value);
	free(c);
	return 0;
}

static int queue(sd_bus *bus, sd_bus_message *m, struct call *c)
{
	int r = sd_bus_call_async(bus, NULL, m, on_reply, c, TIERD_BUS_TIMEOUT_USEC);
	if (r < 0) {
		log_debug("systemd: queueing a call for %s: %s", c->unit, strerror(-r));
		return r;
	}
	B.pending++;
	return 0;
}

int tierd_unit_get_property(const char *unit, const char *property, tierd_unit_done_fn done, void *userdata)
{
	const char *iface = unit_interface(unit);
	if (!iface || strcmp(property, "AllowedMemoryNodes") != 0 || strlen(unit) >= sizeof(((struct call *)0)->unit))
		return -EOPNOTSUPP;
	sd_bus *bus = bus_get();
	if (!bus)
		return -ENOTCONN;
	char *path = NULL;
	sd_bus_message *m = NULL;
	/* The unit's object path directly (no GetUnit round trip first). */
	int r = sd_bus_path_encode(SD_UNIT_PATH, unit, &path);
	if (r >= 0)
		r = sd_bus_message_new_method_call(bus, &m, SD_DEST, path, "org.freedesktop.DBus.Properties", "Get");
	if (r >= 0)
		r = sd_bus_message_append(m, "ss", iface, property);
	struct call *c = r >= 0 ? calloc(1, sizeof(*c)) : NULL;
	if (r >= 0 && !c)
		r = -ENOMEM;
	if (r >= 0) {
		c->done = done;
		c->userdata = userdata;
		c->is_get = true;
		snprintf(c->unit, sizeof(c->unit), "%s", unit);
		r = queue(bus, m, c);
		if (r < 0)
			free(c);
	}
	sd_bus_message_unref(m);
	free(path);
	return r < 0 ? r : 0;
}

int tierd_unit_set_property(const char *unit, const char *property, const char *value, tierd_unit_done_fn done,
			    void *userdata)
{
	if (!unit_interface(unit) || strcmp(property, "AllowedMemoryNodes") != 0 ||
	    strlen(unit) >= sizeof(((struct call *)0)->unit))
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

	sd_bus *bus = bus_get();
	if (!bus)
		return -ENOTCONN;
	sd_bus_message *m = NULL;
	int r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "SetUnitProperties");
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
	struct call *c = r >= 0 ? calloc(1, sizeof(*c)) : NULL;
	if (r >= 0 && (!c || !(c->value = strdup(value))))
		r = -ENOMEM;
	if (r >= 0) {
		c->done = done;
		c->userdata = userdata;
		snprintf(c->unit, sizeof(c->unit), "%s", unit);
		r = queue(bus, m, c);
	}
	if (r < 0 && c) {
		free(c->value);
		free(c);
	}
	sd_bus_message_unref(m);
	return r < 0 ? r : 0;
}

unsigned tierd_unit_flush(uint64_t timeout_usec)
{
	uint64_t deadline = mono_usec() + timeout_usec;
	while (B.pending && B.bus) {
		int r = sd_bus_process(B.bus, NULL);
		if (r < 0) {
			log_warning("systemd: processing the bus: %s", strerror(-r));
			break;
		}
		if (r > 0)
			continue;
		uint64_t now = mono_usec();
		if (now >= deadline)
			break;
		/* sd-bus fails every pending call with a timeout error by itself
		 * (TIERD_BUS_TIMEOUT_USEC), so this wait ends */
		r = sd_bus_wait(B.bus, deadline - now);
		if (r < 0 && r != -EINTR)
			break;
	}
	return B.pending;
}

unsigned tierd_unit_pending(void)
{
	return B.pending;
}

void tierd_systemd_close(void)
{
	B.bus = sd_bus_flush_close_unref(B.bus);
}
