/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * A small hash map with byte-string keys (copied) and pointer values, for
 * tables whose keys the kernel or the host hands out: inotify watch
 * descriptors (cyclic, so an array indexed by them grows without bound
 * under cgroup churn), unit names, memory cgroup paths.
 *
 * Open addressing with linear probing; delete shifts the run back (no
 * tombstones), and the table shrinks when it is mostly empty, so its size
 * follows the number of live keys, not the history of inserts.  Pure:
 * no I/O, no clock, no logging.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tier_map;

/* free_value (may be NULL) is called for values that are replaced,
 * deleted or left at tier_map_free.  NULL on OOM. */
struct tier_map *tier_map_new(void (*free_value)(void *));
void tier_map_free(struct tier_map *m);

/* The value for key, or NULL. */
void *tier_map_get(const struct tier_map *m, const void *key, size_t len);
/* Insert or replace.  Returns 0, or -ENOMEM (the map is unchanged and
 * value is NOT freed). */
int tier_map_put(struct tier_map *m, const void *key, size_t len, void *value);
/* Remove key (its value freed).  Returns whether it was there. */
bool tier_map_del(struct tier_map *m, const void *key, size_t len);

/* Live keys, and the number of slots the table holds now. */
size_t tier_map_count(const struct tier_map *m);
size_t tier_map_slots(const struct tier_map *m);

/* Iterate: start with *cursor = 0; returns false at the end.  The map must
 * not change during an iteration. */
bool tier_map_next(const struct tier_map *m, size_t *cursor, const void **key, size_t *len, void **value);

/* Convenience for string keys and int keys. */
static inline void *tier_map_get_str(const struct tier_map *m, const char *key)
{
	size_t n = 0;
	while (key[n])
		n++;
	return tier_map_get(m, key, n);
}
static inline int tier_map_put_str(struct tier_map *m, const char *key, void *value)
{
	size_t n = 0;
	while (key[n])
		n++;
	return tier_map_put(m, key, n, value);
}
static inline bool tier_map_del_str(struct tier_map *m, const char *key)
{
	size_t n = 0;
	while (key[n])
		n++;
	return tier_map_del(m, key, n);
}
