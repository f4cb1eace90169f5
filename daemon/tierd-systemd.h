/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * PID 1 as the owner of the cgroup tree (systemd hosts): unit properties
 * read and set over sd-bus.  Only AllowedMemoryNodes= is supported (a node
 * list, D-Bus type "ay"): systemd rewrites cpuset.mems and
 * cgroup.subtree_control of its units whenever it realizes them, so on such
 * hosts the fence is set where systemd keeps it.  Reached through the ops
 * table (tierd-ops.h).
 *
 * One persistent connection to the system bus, attached to the main
 * thread's sd-event loop (sd_bus_attach_event), opened on first use and
 * again after it broke.  Every call is asynchronous (sd_bus_call_async)
 * with a short timeout (TIERD_BUS_TIMEOUT_USEC): nothing here ever blocks
 * the loop waiting for PID 1; the answer arrives as an event and its
 * callback runs from the loop.  A failed call is reported to the caller,
 * which retries later (the fence's next full pass).  Main thread only.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIERD_BUS_TIMEOUT_USEC (2u * 1000000u)

/* systemd is the init system: /run/systemd/system exists (sd_booted) and
 * PID 1 is named systemd. */
bool tierd_systemd_is_init(void);

/* Completion of an asynchronous call: result 0 and value (the property as a
 * node list, "" when unset; for a set, the value set), or a negative errno
 * (-ENOENT no such unit, -ETIMEDOUT no answer in time, -ENOTCONN no bus)
 * and value NULL.  Runs from the event loop (or from tierd_unit_flush). */
typedef void (*tierd_unit_done_fn)(void *userdata, int result, const char *value);

/* Queue Get(UNIT, PROPERTY).  Returns 0 (done will be called exactly once)
 * or a negative errno (-EOPNOTSUPP other property or unit type, -ENOTCONN
 * no bus): then done is never called. */
int tierd_unit_get_property(const char *unit, const char *property, tierd_unit_done_fn done, void *userdata);

/* Queue SetUnitProperties(UNIT, runtime=true, PROPERTY=value); "" resets
 * it (all nodes).  Returns as tierd_unit_get_property (-EINVAL: value is no
 * node list). */
int tierd_unit_set_property(const char *unit, const char *property, const char *value, tierd_unit_done_fn done,
			    void *userdata);

/* Block until every call queued so far has completed (its callback ran) or
 * timeout_usec passed; returns the number still pending.  Only for paths
 * where nothing else may run anyway: restoring at stop and after a crash,
 * and --once. */
unsigned tierd_unit_flush(uint64_t timeout_usec);

/* Calls queued and not yet completed, and calls that failed so far. */
unsigned tierd_unit_pending(void);

/* Close the connection (at exit, after the last flush). */
void tierd_systemd_close(void);
