/* SPDX-License-Identifier: MIT */
/*
 * Dynamic topology in the daemon (see tierd-topology.h): the per-tick diff
 * of the snapshot's shape, and the uevent listener that makes a change seen
 * at once instead of one tick later.
 *
 * Which uevent source, and why:
 *
 * - udevd runs (/run/udev/control exists): libsystemd's sd-device monitor.
 *   In systemd 252 its public API has only sd_device_monitor_new(), which
 *   always subscribes to udev's multicast group (events after udev rules
 *   ran: on distributions a rule onlines hot-added memory blocks, so the
 *   "online" event we want comes from there).  device_monitor_new_full()
 *   with MONITOR_GROUP_KERNEL is internal, not exported.
 *
 * - no udevd (initramfs, the test VM, minimal hosts): the sd-device monitor
 *   would start fine and then receive nothing: libsystemd subscribes to the
 *   udev group anyway when /dev is a devtmpfs (waiting for a udevd that
 *   never comes) and to no group at all otherwise.  So we open a
 *   NETLINK_KOBJECT_UEVENT socket on the kernel's group (1) ourselves and
 *   attach it with sd_event_add_io().  Only messages whose netlink sender
 *   is the kernel (nl_pid 0) are parsed; a process cannot forge that.
 *   Receiving the kernel group needs no privilege (NL_CFG_F_NONROOT_RECV).
 *
 * - neither (seccomp, no netlink; or a user-namespaced container, where
 *   the socket opens but the kernel delivers nothing since 4.18): polling.
 *   The diff runs on every tick whatever the mode, so a silent socket only
 *   costs speed, never correctness.  The mode is logged at start and shown
 *   in the status.
 *
 * Debounce, leading and trailing edge: onlining a DIMM emits one "online"
 * event per memory block (128 MiB on x86-64: 512 events for 64 GiB), and a
 * node or tier appears with its own events around them ("add node/node2",
 * "add memory/memoryN" per block, "online memory/memoryN" per block, "add
 * memory_tiering/memory_tierM").  The first event of each kind (subsystem
 * and action) in a burst rescans at once: the first block onlined on a new
 * node is the moment a workload could start allocating there, and fencing
 * must not wait for the burst to end (the window the private-node kernel
 * proposals worry about).  Further events of a kind already seen are
 * coalesced: the rescan runs DEBOUNCE_USEC after the last of them, but never
 * later than DEBOUNCE_MAX_USEC after the first, so a long stream of blocks
 * costs a few immediate rescans and one per 500 ms, not one per block.  A
 * burst ends when DEBOUNCE_USEC pass without an event after a rescan.  The rescan is a tick run right away from the timer (not just
 * tierd_schedule_tick(d, 0)): running it synchronously tells us when the
 * re-plan is done (the reaction time in the status: first uevent -> end of
 * the tick that re-planned), and lets us retry shortly when the snapshot
 * could not be read because sysfs was caught mid-change (a zone of a node
 * whose directory is not registered yet).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-device.h>

#include <tier/topodiff.h>
#include <tier/uevent.h>
#include "tierd.h"
#include "tierd-log.h"
#include "tierd-topology.h"

#define DEBOUNCE_USEC 50000ull         /* quiet time that ends a burst */
#define DEBOUNCE_MAX_USEC 500000ull    /* rescan at least this often during a burst */
#define RETRY_MAX 10                   /* rescans after a failed read, DEBOUNCE_USEC apart */
#define UDEV_CONTROL "/run/udev/control"

enum uevent_source { SRC_NONE, SRC_UDEV, SRC_KERNEL };

struct tierd_topology {
	struct tier_topo *baseline;   /* shape at the last significant change */

	enum uevent_source source;
	char mode_reason[192];        /* why polling, or where events come from */
	sd_device_monitor *monitor;
	sd_event_source *nl_source;
	int nl_fd;

	sd_event_source *debounce;
	bool pending;                 /* uevents wait for a rescan */
	uint64_t armed_at_usec;       /* when the debounce timer fires, 0 if not armed */
	uint64_t last_uevent_tick_usec;   /* end of the last uevent-triggered rescan */
	bool burst_leading;           /* the pending rescan is a leading-edge one */
	uint64_t kinds_seen;          /* kind_bit()s seen in this burst */
	bool in_uevent_tick;          /* the current tick was triggered by uevents */
	uint64_t burst_first_usec;
	unsigned burst_events, retries;
	uint64_t uevents, bursts, overruns;
	char last_uevent[128];

	uint64_t changes;
	uint64_t last_change_real_usec;
	char last_trigger[8];         /* "uevent" | "poll" */
	bool changed_in_burst;
	uint64_t changed_in_burst_usec;
	bool have_reaction, have_leading;
	uint64_t last_reaction_usec, max_reaction_usec, leading_reaction_usec;
};

static const char *const subsystems[] = { "memory", "node", "memory_tiering" };

static struct tierd_topology *topo_get(struct tierd *d)
{
	if (!d->topology) {
		struct tierd_topology *T = calloc(1, sizeof(*T));
		if (!T)
			return NULL;
		T->nl_fd = -1;
		snprintf(T->mode_reason, sizeof(T->mode_reason), "uevents not set up (--once)");
		d->topology = T;
	}
	return d->topology;
}

/* Copy src into dst (size > 0) cut at a UTF-8 character boundary: the
 * summary has arrows, and a cut inside one would be invalid JSON text. */
static void copy_utf8(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ---- the diff, every tick ------------------------------------------------ */

static void nodes_of(const struct tier_topodiff *df, enum tier_topo_change_kind k, char *buf, size_t size)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < df->nr && off < size; i++) {
		if (df->changes[i].kind != k)
			continue;
		int w = snprintf(buf + off, size - off, "%s%d", off ? "," : "", df->changes[i].node);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

static void announce(struct tierd *d, struct tierd_topology *T, const struct tier_topodiff *df,
		     const struct tier_topo *cur)
{
	struct tierd_field f[6];
	size_t n = 0;
	char before[128], after[128], list[96], gen[32], target[sizeof(((struct tierd_action *)0)->target)];

	tier_topo_format_tiers(T->baseline, before, sizeof(before));
	tier_topo_format_tiers(cur, after, sizeof(after));
	tierd_field_set(&f[n++], "TIERD_TOPOLOGY_GENERATION", "%llu", (unsigned long long)d->topology_generation);
	tierd_field_set(&f[n++], "TIERD_TIERS_BEFORE", "%s", before);
	tierd_field_set(&f[n++], "TIERD_TIERS_AFTER", "%s", after);
	tierd_field_set(&f[n++], "TIERD_TOPOLOGY_TRIGGER", "%s", T->last_trigger);
	if (df->nodes_added) {
		nodes_of(df, TIER_TOPO_NODE_ADDED, list, sizeof(list));
		tierd_field_set(&f[n++], "TIERD_NODES_ADDED", "%s", list);
	}
	if (df->nodes_removed) {
		nodes_of(df, TIER_TOPO_NODE_REMOVED, list, sizeof(list));
		tierd_field_set(&f[n++], "TIERD_NODES_REMOVED", "%s", list);
	}
	tierd_event(LOG_NOTICE, TIERD_MID_TOPOLOGY, f, n, "topology changed: %s", df->summary);

	char reason[sizeof(((struct tierd_action *)0)->reason)];
	copy_utf8(reason, sizeof(reason), df->summary);
	snprintf(gen, sizeof(gen), "generation %llu", (unsigned long long)d->topology_generation);
	snprintf(target, sizeof(target), "tiers %s", after);
	tierd_record_action(d, "topology", target, gen, reason, 0);
}

void tierd_topology_tick(struct tierd *d, uint64_t now_usec)
{
	struct tierd_topology *T = topo_get(d);
	if (!T || !d->snap)
		return;
	struct tier_topo *cur = tier_topo_from_snapshot(d->snap);
	if (!cur)
		return;   /* out of memory: try again next tick */
	if (!T->baseline) {
		char tiers[96];
		T->baseline = cur;
		if (!d->topology_generation)
			d->topology_generation = 1;
		tier_topo_format_tiers(cur, tiers, sizeof(tiers));
		log_info("topology generation %llu: tiers %s", (unsigned long long)d->topology_generation, tiers);
		return;
	}
	struct tier_topodiff df;
	if (tier_topodiff(T->baseline, cur, &df) < 0) {
		tier_topo_free(cur);
		return;
	}
	if (!df.significant) {
		/* Small memory steps (balloon, virtio-mem sub-blocks) are kept
		 * against the baseline until they add up. */
		if (df.nr)
			log_debug("topology: below the re-plan threshold so far: %s", df.summary);
		tier_topodiff_clear(&df);
		tier_topo_free(cur);
		return;
	}
	d->topology_generation++;
	copy_utf8(d->topology_last_change, sizeof(d->topology_last_change), df.summary);
	d->topology_last_change_mono_usec = now_usec;
	T->last_change_real_usec = tierd_now_real_usec();
	T->changes++;
	snprintf(T->last_trigger, sizeof(T->last_trigger), "%s", T->in_uevent_tick ? "uevent" : "poll");
	if (T->pending && !T->in_uevent_tick) {
		/* A periodic tick beat the debounce timer to it. */
		T->changed_in_burst = true;
		T->changed_in_burst_usec = now_usec;
	}
	announce(d, T, &df, cur);
	tier_topodiff_clear(&df);
	tier_topo_free(T->baseline);
	T->baseline = cur;
}

/* ---- uevents ------------------------------------------------------------- */

static int on_debounce(sd_event_source *s, uint64_t usec, void *userdata);

static void arm(struct tierd *d, struct tierd_topology *T, uint64_t at_usec)
{
	int r;
	if (!T->debounce) {
		/* Accuracy 1 ms: 0 would mean sd-event's default of 250 ms. */
		r = sd_event_add_time(d->event, &T->debounce, CLOCK_MONOTONIC, at_usec, 1000, on_debounce, d);
		if (r >= 0)
			sd_event_source_set_description(T->debounce, "topology-debounce");
	} else {
		r = sd_event_source_set_time(T->debounce, at_usec);
		if (r >= 0)
			r = sd_event_source_set_enabled(T->debounce, SD_EVENT_ONESHOT);
	}
	if (r < 0)
		log_warning("topology: cannot arm the debounce timer: %s (the next tick rescans)", strerror(-r));
	else
		T->armed_at_usec = at_usec;
}

/* One bit per (subsystem, action) kind of event; the last of each range
 * stands for "other". */
static unsigned kind_bit(const char *subsystem, const char *action)
{
	static const char *const actions[] = { "add", "remove", "change", "move", "online", "offline", "bind", "unbind" };
	enum { NA = sizeof(actions) / sizeof(actions[0]) + 1 };
	unsigned si = sizeof(subsystems) / sizeof(subsystems[0]), ai = NA - 1;
	for (unsigned i = 0; subsystem && i < sizeof(subsystems) / sizeof(subsystems[0]); i++)
		if (strcmp(subsystem, subsystems[i]) == 0)
			si = i;
	for (unsigned i = 0; action && i < NA - 1; i++)
		if (strcmp(action, actions[i]) == 0)
			ai = i;
	return si * NA + ai;
}

static void on_uevent(struct tierd *d, const char *subsystem, const char *action, const char *name)
{
	struct tierd_topology *T = d->topology;
	uint64_t now = tierd_now_mono_usec();
	bool quiet = !T->armed_at_usec &&
		     (!T->last_uevent_tick_usec || now >= T->last_uevent_tick_usec + DEBOUNCE_USEC);
	uint64_t bit = 1ull << kind_bit(subsystem, action);

	T->uevents++;
	if (quiet) {
		T->kinds_seen = 0;
		T->bursts++;
	}
	if (!T->pending) {
		T->pending = true;
		T->burst_first_usec = now;
		T->burst_events = 0;
		T->retries = 0;
		T->changed_in_burst = false;
		T->burst_leading = false;
	}
	T->burst_events++;
	snprintf(T->last_uevent, sizeof(T->last_uevent), "%s %s/%s", action ? action : "?",
		 subsystem ? subsystem : "?", name ? name : "?");
	log_debug("uevent: %s", T->last_uevent);

	/* Leading edge per kind: the first "add node", "online memory",
	 * "add memory_tiering"... of a burst rescans at once (the first
	 * online block is when the new memory becomes usable: the kernel
	 * assigns its tier in the MEM_ONLINE notifier, before the uevent).
	 * Events that arrive before the timer fires join that rescan. */
	if (!(T->kinds_seen & bit)) {
		T->kinds_seen |= bit;
		T->burst_leading = true;
		if (!T->armed_at_usec || T->armed_at_usec > now)
			arm(d, T, now);
		return;
	}
	if (T->armed_at_usec && T->armed_at_usec <= now)
		return;   /* an immediate rescan is already due */
	uint64_t at = now + DEBOUNCE_USEC, cap = T->burst_first_usec + DEBOUNCE_MAX_USEC;
	arm(d, T, at < cap ? at : cap);
}

static int on_debounce(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct tierd *d = userdata;
	struct tierd_topology *T = d->topology;
	uint64_t gen = d->topology_generation;
	(void)s;
	(void)usec;

	T->armed_at_usec = 0;
	T->in_uevent_tick = true;
	tierd_tick(d);
	T->in_uevent_tick = false;
	uint64_t done = tierd_now_mono_usec();
	T->last_uevent_tick_usec = done;

	if (d->acquire_error[0] && T->retries < RETRY_MAX) {
		T->retries++;
		arm(d, T, done + DEBOUNCE_USEC);
		return 0;
	}
	bool changed = d->topology_generation != gen;
	if (changed || T->changed_in_burst) {
		uint64_t end = changed ? done : T->changed_in_burst_usec;
		T->last_reaction_usec = end - T->burst_first_usec;
		if (T->last_reaction_usec > T->max_reaction_usec)
			T->max_reaction_usec = T->last_reaction_usec;
		T->have_reaction = true;
		if (T->burst_leading) {
			T->leading_reaction_usec = T->last_reaction_usec;
			T->have_leading = true;
		}
		log_info("topology generation %llu re-planned %llu us after the first of %u uevent(s)%s (last: %s)",
			 (unsigned long long)d->topology_generation, (unsigned long long)T->last_reaction_usec,
			 T->burst_events, T->burst_leading ? ", leading edge" : ", coalesced", T->last_uevent);
	} else {
		log_debug("topology: %u uevent(s) (last: %s), no change in the shape", T->burst_events,
			  T->last_uevent);
	}
	T->pending = false;
	return 0;
}

static const char *action_name(sd_device_action_t a)
{
	static const char *const names[] = {
		[SD_DEVICE_ADD] = "add", [SD_DEVICE_REMOVE] = "remove", [SD_DEVICE_CHANGE] = "change",
		[SD_DEVICE_MOVE] = "move", [SD_DEVICE_ONLINE] = "online", [SD_DEVICE_OFFLINE] = "offline",
		[SD_DEVICE_BIND] = "bind", [SD_DEVICE_UNBIND] = "unbind",
	};
	if ((int)a < 0 || (size_t)a >= sizeof(names) / sizeof(names[0]) || !names[a])
		return "?";
	return names[a];
}

static int on_udev(sd_device_monitor *m, sd_device *dev, void *userdata)
{
	const char *subsystem = NULL, *name = NULL;
	sd_device_action_t a;
	(void)m;
	(void)sd_device_get_subsystem(dev, &subsystem);
	(void)sd_device_get_sysname(dev, &name);
	if (sd_device_get_action(dev, &a) < 0)
		a = _SD_DEVICE_ACTION_INVALID;
	on_uevent(userdata, subsystem, action_name(a), name);
	return 0;
}

static int start_udev(struct tierd *d, struct tierd_topology *T)
{
	int r = sd_device_monitor_new(&T->monitor);
	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(subsystems) / sizeof(subsystems[0]) && r >= 0; i++)
		r = sd_device_monitor_filter_add_match_subsystem_devtype(T->monitor, subsystems[i], NULL);
	if (r >= 0)
		r = sd_device_monitor_filter_update(T->monitor);
	if (r >= 0)
		r = sd_device_monitor_attach_event(T->monitor, d->event);
	if (r >= 0)
		r = sd_device_monitor_start(T->monitor, on_udev, d);
	if (r < 0) {
		T->monitor = sd_device_monitor_unref(T->monitor);
		return r;
	}
	(void)sd_device_monitor_set_description(T->monitor, "topology-udev");
	/* A burst of 512 block events must not overflow the socket; needs
	 * CAP_NET_ADMIN to go above rmem_max, harmless if refused. */
	(void)sd_device_monitor_set_receive_buffer_size(T->monitor, 4u << 20);
	return 0;
}

/* One kernel uevent (format and parsing in tier/uevent.h); buf[len] is '\0'. */
static void parse_kernel_uevent(struct tierd *d, const char *buf, size_t len)
{
	struct tier_uevent ev;
	if (!tier_uevent_parse(buf, len, &ev) || !ev.subsystem)
		return;
	for (size_t i = 0; i < sizeof(subsystems) / sizeof(subsystems[0]); i++) {
		if (strcmp(ev.subsystem, subsystems[i]) == 0) {
			on_uevent(d, ev.subsystem, ev.action, ev.name);
			return;
		}
	}
}

static int on_netlink(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct tierd *d = userdata;
	struct tierd_topology *T = d->topology;
	char buf[8192 + 1];
	(void)s;
	(void)revents;
	for (;;) {
		struct sockaddr_nl sa;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
		struct msghdr mh = { .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				/* The burst overflowed the socket: events were lost,
				 * but one rescan sees everything they said. */
				T->overruns++;
				on_uevent(d, "?", "overrun", "netlink");
				continue;
			}
			if (errno != EAGAIN)
				log_debug("topology: uevent socket: %s", strerror(errno));
			return 0;
		}
		if (mh.msg_namelen != sizeof(sa) || sa.nl_family != AF_NETLINK || sa.nl_pid != 0)
			continue;   /* not from the kernel */
		buf[n] = '\0';
		parse_kernel_uevent(d, buf, (size_t)n);
	}
}

static int start_kernel(struct tierd *d, struct tierd_topology *T)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
	if (fd < 0)
		return -errno;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 /* the kernel's group */ };
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	int sz = 4 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	int r = sd_event_add_io(d->event, &T->nl_source, fd, EPOLLIN, on_netlink, d);
	if (r < 0) {
		close(fd);
		return r;
	}
	sd_event_source_set_description(T->nl_source, "topology-uevent");
	T->nl_fd = fd;
	return 0;
}

void tierd_topology_start(struct tierd *d)
{
	struct tierd_topology *T = topo_get(d);
	int r;
	if (!T || !d->event)
		return;
	if (access(UDEV_CONTROL, F_OK) == 0) {
		r = start_udev(d, T);
		if (r >= 0) {
			T->source = SRC_UDEV;
			snprintf(T->mode_reason, sizeof(T->mode_reason),
				 "udev events (sd-device monitor: memory, node, memory_tiering)");
		} else {
			log_warning("topology: sd-device monitor failed (%s); trying kernel uevents", strerror(-r));
		}
	}
	if (T->source == SRC_NONE) {
		r = start_kernel(d, T);
		if (r >= 0) {
			T->source = SRC_KERNEL;
			snprintf(T->mode_reason, sizeof(T->mode_reason),
				 "kernel uevents (netlink; no udevd: %s absent)", UDEV_CONTROL);
		} else {
			snprintf(T->mode_reason, sizeof(T->mode_reason), "no uevents (netlink: %s)", strerror(-r));
		}
	}
	if (T->source == SRC_NONE)
		log_notice("topology: %s; polling: a hotplug is seen at the next tick", T->mode_reason);
	else
		log_info("topology: following hotplug through %s, first event at once, then debounce %llu ms; "
		 "every tick also checks",
			 T->mode_reason, (unsigned long long)(DEBOUNCE_USEC / 1000));
}

/* ---- status and teardown -------------------------------------------------- */

struct json_object *tierd_topology_status(struct tierd *d)
{
	struct tierd_topology *T = d->topology;
	struct json_object *o = json_object_new_object();
	uint64_t now = tierd_now_mono_usec();
	bool changed = d->topology_last_change[0] != '\0';

	json_object_object_add(o, "generation", json_object_new_int64((int64_t)d->topology_generation));
	json_object_object_add(o, "last_change", changed ? json_object_new_string(d->topology_last_change) : NULL);
	json_object_object_add(o, "last_change_age_usec",
			       changed ? json_object_new_int64((int64_t)(now - d->topology_last_change_mono_usec))
				       : NULL);
	json_object_object_add(o, "mode", json_object_new_string(T && T->source != SRC_NONE ? "uevent" : "polling"));
	json_object_object_add(o, "uevent_source",
			       !T || T->source == SRC_NONE ? NULL
							   : json_object_new_string(T->source == SRC_UDEV ? "udev" : "kernel"));
	if (!T)
		return o;
	json_object_object_add(o, "mode_detail", json_object_new_string(T->mode_reason));
	json_object_object_add(o, "changes", json_object_new_int64((int64_t)T->changes));
	json_object_object_add(o, "last_change_realtime_usec",
			       changed ? json_object_new_int64((int64_t)T->last_change_real_usec) : NULL);
	json_object_object_add(o, "last_change_trigger", changed ? json_object_new_string(T->last_trigger) : NULL);
	json_object_object_add(o, "uevents", json_object_new_int64((int64_t)T->uevents));
	json_object_object_add(o, "uevent_bursts", json_object_new_int64((int64_t)T->bursts));
	json_object_object_add(o, "uevent_overruns", json_object_new_int64((int64_t)T->overruns));
	json_object_object_add(o, "last_uevent", T->last_uevent[0] ? json_object_new_string(T->last_uevent) : NULL);
	json_object_object_add(o, "debounce_usec", json_object_new_int64((int64_t)DEBOUNCE_USEC));
	/* first uevent of a burst -> end of the tick that re-planned */
	json_object_object_add(o, "last_reaction_usec",
			       T->have_reaction ? json_object_new_int64((int64_t)T->last_reaction_usec) : NULL);
	json_object_object_add(o, "max_reaction_usec",
			       T->have_reaction ? json_object_new_int64((int64_t)T->max_reaction_usec) : NULL);
	/* the same for the latest change caught by a burst's first event */
	json_object_object_add(o, "leading_reaction_usec",
			       T->have_leading ? json_object_new_int64((int64_t)T->leading_reaction_usec) : NULL);
	return o;
}

void tierd_topology_free(struct tierd *d)
{
	struct tierd_topology *T = d->topology;
	if (!T)
		return;
	T->monitor = sd_device_monitor_unref(T->monitor);
	T->nl_source = sd_event_source_disable_unref(T->nl_source);
	if (T->nl_fd >= 0)
		close(T->nl_fd);
	T->debounce = sd_event_source_disable_unref(T->debounce);
	tier_topo_free(T->baseline);
	free(T);
	d->topology = NULL;
}
