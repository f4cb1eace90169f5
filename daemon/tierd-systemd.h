/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * PID 1 as the owner of the cgroup tree (systemd hosts): unit properties
 * read and set over sd-bus.  Only AllowedMemoryNodes= is supported (a node
 * list, D-Bus type "ay"): systemd rewrites cpuset.mems and
 * cgroup.subtree_control of its units whenever it realizes them, so on such
 * hosts the fence is set where systemd keeps it.  Reached through the ops
 * table (tierd-ops.h).
 */
#include <stdbool.h>
#include <stddef.h>

/* systemd is the init system: /run/systemd/system exists (sd_booted) and
 * PID 1 is named systemd. */
bool tierd_systemd_is_init(void);

/* The runtime value of PROPERTY of UNIT as a node list ("" when unset).
 * Returns 0, -ENOENT (no such unit), -EOPNOTSUPP (other property), or
 * another -errno. */
int tierd_unit_get_property(const char *unit, const char *property, char *buf, size_t size);

/* SetUnitProperties(UNIT, runtime=true, PROPERTY=value); "" resets it (all
 * nodes).  Returns 0 or -errno as above. */
int tierd_unit_set_property(const char *unit, const char *property, const char *value);
