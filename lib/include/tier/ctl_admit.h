/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Who may hold a control-socket connection: a pure decision.
 *
 * The control socket is open to root and to the members of [daemon]
 * socket_group, who are trusted to read status, not to take tierd's
 * attention or file descriptors hostage.  Three shares, from
 * [daemon] max_clients:
 *
 *  - max_clients connections at once in all;
 *  - root_reserve of them (max_clients / 8, at least 1) only for root, so
 *    that no group member can lock out `tierctl reload` (the unit's
 *    ExecReload=) or the admin's `tierctl status`;
 *  - per_user: one uid other than root holds at most half of the non-root
 *    share (at least 1), so that one member cannot lock out the others.
 *
 * The daemon counts the connections it holds (tierd-ctl.c) and asks before
 * it keeps a new one; a refused one is answered with a short error and
 * closed at once.
 */
#include <stdbool.h>

struct tier_ctl_limits {
	unsigned max_clients;
	unsigned root_reserve;
	unsigned per_user;
};

/* The connections held now, seen from a newcomer of a given uid. */
struct tier_ctl_load {
	unsigned total;     /* every connection held */
	unsigned non_root;  /* of which peers with a uid other than 0 */
	unsigned same_uid;  /* of which peers with the newcomer's uid */
};

enum tier_ctl_admit {
	TIER_CTL_ADMIT,
	TIER_CTL_REFUSE_FULL,        /* max_clients reached */
	TIER_CTL_REFUSE_NON_ROOT,    /* only root_reserve left: root's */
	TIER_CTL_REFUSE_PER_USER,    /* this uid holds per_user already */
};

/* The shares for max_clients (>= 1; the config allows 4..1024). */
void tier_ctl_limits_for(unsigned max_clients, struct tier_ctl_limits *out);

/* May a newcomer (root: uid 0) be kept, given what is held now? */
enum tier_ctl_admit tier_ctl_admit(const struct tier_ctl_limits *l, const struct tier_ctl_load *load,
				   bool root);

/* "admitted", "max_clients reached", ... for messages. */
const char *tier_ctl_admit_name(enum tier_ctl_admit a);
