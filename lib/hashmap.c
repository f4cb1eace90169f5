/* SPDX-License-Identifier: MIT */
/* Byte-key hash map (see tier/hashmap.h). */
#include <tier/hashmap.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

struct slot {
	void *key;           /* NULL: empty */
	size_t len;
	size_t hash;
	void *value;
};

struct tier_map {
	struct slot *slots;
	size_t nr_slots;     /* power of two, or 0 */
	size_t count;
	void (*free_value)(void *);
};

#define MIN_SLOTS 16u

static size_t hash_bytes(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 1469598103934665603ull;   /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29));
}

struct tier_map *tier_map_new(void (*free_value)(void *))
{
	struct tier_map *m = calloc(1, sizeof(*m));
	if (m)
		m->free_value = free_value;
	return m;
}

void tier_map_free(struct tier_map *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nr_slots; i++)
		if (m->slots[i].key) {
			free(m->slots[i].key);
			if (m->free_value)
				m->free_value(m->slots[i].value);
		}
	free(m->slots);
	free(m);
}

static ssize_t find(const struct tier_map *m, const void *key, size_t len, size_t h)
{
	if (!m->nr_slots)
		return -1;
	size_t mask = m->nr_slots - 1;
	for (size_t i = h & mask; m->slots[i].key; i = (i + 1) & mask) {
		const struct slot *s = &m->slots[i];
		if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)
			return (ssize_t)i;
	}
	return -1;
}

static int resize(struct tier_map *m, size_t n)
{
	struct slot *ns = calloc(n, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	size_t mask = n - 1;
	for (size_t i = 0; i < m->nr_slots; i++) {
		if (!m->slots[i].key)
			continue;
		size_t j = m->slots[i].hash & mask;
		while (ns[j].key)
			j = (j + 1) & mask;
		ns[j] = m->slots[i];
	}
	free(m->slots);
	m->slots = ns;
	m->nr_slots = n;
	return 0;
}

void *tier_map_get(const struct tier_map *m, const void *key, size_t len)
{
	if (!m)
		return NULL;
	ssize_t i = find(m, key, len, hash_bytes(key, len));
	return i < 0 ? NULL : m->slots[i].value;
}

int tier_map_put(struct tier_map *m, const void *key, size_t len, void *value)
{
	size_t h = hash_bytes(key, len);
	ssize_t i = find(m, key, len, h);
	if (i >= 0) {
		if (m->free_value && m->slots[i].value != value)
			m->free_value(m->slots[i].value);
		m->slots[i].value = value;
		return 0;
	}
	/* load <= 1/2 */
	if (2 * (m->count + 1) > m->nr_slots &&
	    resize(m, m->nr_slots ? 2 * m->nr_slots : MIN_SLOTS) < 0)
		return -ENOMEM;
	void *k = malloc(len ? len : 1);
	if (!k)
		return -ENOMEM;
	memcpy(k, key, len);
	size_t mask = m->nr_slots - 1, j = h & mask;
	while (m->slots[j].key)
		j = (j + 1) & mask;
	m->slots[j] = (struct slot){ .key = k, .len = len, .hash = h, .value = value };
	m->count++;
	return 0;
}

bool tier_map_del(struct tier_map *m, const void *key, size_t len)
{
	if (!m)
		return false;
	ssize_t found = find(m, key, len, hash_bytes(key, len));
	if (found < 0)
		return false;
	size_t i = (size_t)found, mask = m->nr_slots - 1;
	free(m->slots[i].key);
	if (m->free_value)
		m->free_value(m->slots[i].value);
	m->slots[i].key = NULL;
	m->count--;
	/* shift the rest of the run back where its entries may go */
	for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
		size_t home = m->slots[j].hash & mask;
		bool in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!in_range) {
			m->slots[i] = m->slots[j];
			m->slots[j].key = NULL;
			i = j;
		}
	}
	/* mostly empty: shrink (a failed shrink only keeps memory) */
	if (m->nr_slots > MIN_SLOTS && 8 * m->count < m->nr_slots)
		(void)resize(m, m->nr_slots / 2);
	return true;
}

size_t tier_map_count(const struct tier_map *m)
{
	return m ? m->count : 0;
}

size_t tier_map_slots(const struct tier_map *m)
{
	return m ? m->nr_slots : 0;
}

bool tier_map_next(const struct tier_map *m, size_t *cursor, const void **key, size_t *len, void **value)
{
	while (m && *cursor < m->nr_slots) {
		const struct slot *s = &m->slots[(*cursor)++];
		if (s->key) {
			if (key)
				*key = s->key;
			if (len)
				*len = s->len;
			if (value)
				*value = s->value;
			return true;
		}
	}
	return false;
}
