/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Node and CPU sets.  tierd uses libnuma's struct bitmask everywhere a set of
 * nodes appears (never a 64-bit integer: hosts have more nodes and ids can be
 * sparse).  Masks are allocated with a fixed capacity of TIER_MAX_NODES bits,
 * independent of the running host, so fixture trees from bigger machines parse
 * on a small one.
 *
 * The list parser here is deliberately not numa_parse_nodestring(): that one
 * rejects nodes outside the caller's cpuset, and sysfs lists (and fixtures) may
 * name nodes this process is not allowed to use.
 */
#include <numa.h>
#include <stdbool.h>
#include <stddef.h>

#define TIER_MAX_NODES 1024u
#define TIER_MAX_CPUS 8192u

/* A zeroed mask of TIER_MAX_NODES bits.  Never returns NULL (aborts on OOM,
 * as libnuma does). */
struct bitmask *tier_nodemask_alloc(void);
/* A zeroed mask of nbits bits. */
struct bitmask *tier_bitmask_alloc(unsigned nbits);
/* numa_bitmask_free() that accepts NULL. */
void tier_bitmask_free(struct bitmask *bm);

/* Parse a kernel list ("0-3,8,10-11", also "" or "\n" = empty) into bm, which
 * is cleared first.  Returns 0, or -EINVAL on malformed input and -ERANGE when a
 * number does not fit in bm. */
int tier_bitmask_parse_list(const char *s, struct bitmask *bm);

/* Format bm as a kernel list into buf ("0-3,8"; "" when empty).  Returns the
 * length that was needed (like snprintf); buf is always terminated when
 * size > 0.  A result >= size means buf holds a CUT list, which names other
 * nodes than bm: never write or record it.  Callers that write a list to
 * the host or to the state file use tier_bitmask_format_alloc() or
 * tier_bitmask_format_checked() instead. */
size_t tier_bitmask_format(const struct bitmask *bm, char *buf, size_t size);

/* Room for any list of a TIER_MAX_NODES mask with its NUL: every id has at
 * most 4 digits and one separator (',' or '-'; a range prints two ids). */
#define TIER_NODELIST_MAX (5u * TIER_MAX_NODES + 1u)

/* bm as a kernel list in a buffer sized for it (malloc'd, free() it); NULL
 * only when out of memory.  Works for masks of any size. */
char *tier_bitmask_format_alloc(const struct bitmask *bm);

/* Format into buf only if the whole list fits: returns 0, or -ENOBUFS with
 * buf set to "" (an error, never a shorter list). */
int tier_bitmask_format_checked(const struct bitmask *bm, char *buf, size_t size);

/* Number of set bits; first set bit >= from, or -1. */
unsigned tier_bitmask_weight(const struct bitmask *bm);
int tier_bitmask_next(const struct bitmask *bm, int from);
bool tier_bitmask_empty(const struct bitmask *bm);
/* Copy, OR, AND-NOT between masks of possibly different sizes (bits beyond
 * the shorter one are zero). */
void tier_bitmask_copy(struct bitmask *dst, const struct bitmask *src);
void tier_bitmask_or(struct bitmask *dst, const struct bitmask *src);
void tier_bitmask_andnot(struct bitmask *dst, const struct bitmask *src);
bool tier_bitmask_equal(const struct bitmask *a, const struct bitmask *b);
bool tier_bitmask_isset(const struct bitmask *bm, int bit);
/* dst &= src (bits of dst beyond src are cleared). */
void tier_bitmask_and(struct bitmask *dst, const struct bitmask *src);
/* Set / clear one bit; a bit outside the mask is ignored (false returned by
 * tier_bitmask_set so callers can report -ERANGE). */
bool tier_bitmask_set(struct bitmask *bm, int bit);
void tier_bitmask_clear(struct bitmask *bm, int bit);
/* Clear every bit. */
void tier_bitmask_zero(struct bitmask *bm);

#define tier_bitmask_foreach(bit, bm) \
	for (int bit = tier_bitmask_next((bm), 0); bit >= 0; bit = tier_bitmask_next((bm), bit + 1))
