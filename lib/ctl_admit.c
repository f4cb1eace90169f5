/* SPDX-License-Identifier: MIT */
/* Control-socket admission: see tier/ctl_admit.h.  Pure. */
#include "tier/ctl_admit.h"

void tier_ctl_limits_for(unsigned max_clients, struct tier_ctl_limits *out)
{
	if (max_clients < 1)
		max_clients = 1;
	out->max_clients = max_clients;
	out->root_reserve = max_clients / 8 ? max_clients / 8 : 1;
	if (out->root_reserve >= max_clients) /* max_clients 1: root only */
		out->root_reserve = max_clients;
	unsigned others = max_clients - out->root_reserve;
	out->per_user = others / 2 ? others / 2 : others;
}

enum tier_ctl_admit tier_ctl_admit(const struct tier_ctl_limits *l, const struct tier_ctl_load *load, bool root)
{
	if (load->total >= l->max_clients)
		return TIER_CTL_REFUSE_FULL;
	if (root)
		return TIER_CTL_ADMIT;
	if (load->non_root >= l->max_clients - l->root_reserve)
		return TIER_CTL_REFUSE_NON_ROOT;
	if (load->same_uid >= l->per_user)
		return TIER_CTL_REFUSE_PER_USER;
	return TIER_CTL_ADMIT;
}

const char *tier_ctl_admit_name(enum tier_ctl_admit a)
{
	switch (a) {
	case TIER_CTL_ADMIT: return "admitted";
	case TIER_CTL_REFUSE_FULL: return "max_clients reached";
	case TIER_CTL_REFUSE_NON_ROOT: return "only the connections kept for root are left";
	case TIER_CTL_REFUSE_PER_USER: return "this user holds its share of max_clients";
	}
	return "?";
}
