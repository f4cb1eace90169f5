/* SPDX-License-Identifier: MIT */
#pragma once
/* libtier: the public header.  See each included header for its contract. */
#include <tier/nodemask.h>
#include <tier/snapshot.h>
#include <tier/config.h>
#include <tier/state.h>
#include <tier/guard.h>
#include <tier/coexist.h>
#include <tier/relief.h>
#include <tier/procmaps.h>
#include <tier/fence.h>
#include <tier/topodiff.h>
#include <tier/uevent.h>
#include <tier/ctl_admit.h>
