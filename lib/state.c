/* SPDX-License-Identifier: MIT */
/*
 * The state file (see tier/state.h for the contract): the in-memory record of
 * every host setting tierd changed, its JSON form, atomic save and strict load.
 */
/* strchrnul, asprintf, O_PATH */
#define _GNU_SOURCE
#include <tier/state.h>
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TIER_STATE_VERSION 1
/* Far above any real file (an entry is ~200 bytes; 64 MiB is ~300k cgroups)
 * but bounded, so a corrupt file cannot make the daemon allocate without end. */
#define TIER_STATE_MAX_BYTES (64u << 20)

static const char *const kind_names[TIER_STATE_NR_KINDS] = {
	[TIER_STATE_KNOB] = "knob",
	[TIER_STATE_CPUSET_MEMS] = "cpuset_mems",
	[TIER_STATE_SUBTREE_CONTROL] = "subtree_control",
	[TIER_STATE_UNIT_PROPERTY] = "unit_property",
};

const char *tier_state_kind_name(enum tier_state_kind kind)
{
	if ((unsigned)kind >= TIER_STATE_NR_KINDS)
		return NULL;
	return kind_names[kind];
}

int tier_state_kind_parse(const char *name, enum tier_state_kind *out)
{
	for (unsigned i = 0; i < TIER_STATE_NR_KINDS; i++) {
		if (name && strcmp(name, kind_names[i]) == 0) {
			*out = (enum tier_state_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Relative, no empty/"."/".." components: the writers openat() keys below the
 * root fd, and a key must never climb out of it. */
static bool rel_path_valid(const char *p)
{
	if (!p || !*p || *p == '/')
		return false;
	for (const char *c = p;;) {
		const char *end = strchrnul(c, '/');
		size_t n = (size_t)(end - c);
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!*end)
			return true;
		c = end + 1;
	}
}

static bool has_basename(const char *p, const char *base)
{
	const char *slash = strrchr(p, '/');
	return strcmp(slash ? slash + 1 : p, base) == 0;
}

bool tier_state_key_valid(enum tier_state_kind kind, const char *key)
{
	if (!key)
		return false;
	switch (kind) {
	case TIER_STATE_KNOB:
		return rel_path_valid(key) &&
		       (strncmp(key, "sys/", 4) == 0 || strncmp(key, "proc/sys/", 9) == 0);
	case TIER_STATE_CPUSET_MEMS:
		return rel_path_valid(key) && has_basename(key, "cpuset.mems");
	case TIER_STATE_SUBTREE_CONTROL:
		return rel_path_valid(key) && has_basename(key, "cgroup.subtree_control");
	case TIER_STATE_UNIT_PROPERTY: {
		const char *slash = strrchr(key, '/');
		if (!slash || slash == key || !slash[1])
			return false;
		/* Unit names never contain '/', so exactly one is allowed. */
		if (memchr(key, '/', (size_t)(slash - key)))
			return false;
		for (const char *c = slash + 1; *c; c++)
			if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
				return false;
		return true;
	}
	case TIER_STATE_NR_KINDS:
		break;
	}
	return false;
}

int tier_state_split_unit_key(const char *key, char *unit, size_t unitlen, const char **property)
{
	if (!tier_state_key_valid(TIER_STATE_UNIT_PROPERTY, key))
		return -EINVAL;
	const char *slash = strrchr(key, '/');
	size_t n = (size_t)(slash - key);
	if (n + 1 > unitlen)
		return -ENAMETOOLONG;
	memcpy(unit, key, n);
	unit[n] = '\0';
	*property = slash + 1;
	return 0;
}

struct tier_state *tier_state_new(void)
{
	return calloc(1, sizeof(struct tier_state));
}

static void entry_clear(struct tier_state_entry *e)
{
	free(e->key);
	free(e->original);
	free(e->json);
	e->key = e->original = e->json = NULL;
}

/* The entry's line in the file, rendered once by json-c (escaping is
 * json-c's, never ours). */
static int entry_render(struct tier_state_entry *e)
{
	json_object *o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	if (json_object_object_add(o, "kind", json_object_new_string(tier_state_kind_name(e->kind))) < 0 ||
	    json_object_object_add(o, "key", json_object_new_string(e->key)) < 0 ||
	    json_object_object_add(o, "original", json_object_new_string(e->original)) < 0 ||
	    json_object_object_add(o, "recorded_usec", json_object_new_uint64(e->recorded_usec)) < 0) {
		json_object_put(o);
		return -ENOMEM;
	}
	size_t len;
	const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE,
							    &len);
	e->json = s ? strndup(s, len) : NULL;
	e->json_len = e->json ? len : 0;
	json_object_put(o);
	return e->json ? 0 : -ENOMEM;
}

void tier_state_free(struct tier_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->len; i++)
		entry_clear(&st->entries[i]);
	free(st->entries);
	free(st->slots);
	free(st);
}

const struct tier_state_entry *tier_state_next(const struct tier_state *st, size_t *cursor)
{
	while (st && *cursor < st->len) {
		const struct tier_state_entry *e = &st->entries[(*cursor)++];
		if (e->key)
			return e;
	}
	return NULL;
}

static size_t key_hash(enum tier_state_kind kind, const char *key)
{
	/* FNV-1a */
	uint64_t h = 1469598103934665603ull ^ (uint64_t)kind;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return (size_t)h;
}

static void index_put(struct tier_state *st, size_t entry)
{
	size_t mask = st->nr_slots - 1;
	size_t i = st->entries[entry].hash & mask;
	while (st->slots[i])
		i = (i + 1) & mask;
	st->slots[i] = entry + 1;
}

/* (Re)build the index for at least `want` live entries at load <= 1/2.
 * Uses the stored hashes: no key is hashed again. */
static int index_rebuild(struct tier_state *st, size_t want)
{
	size_t n = 16;
	while (n < 2 * want)
		n *= 2;
	size_t *slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	free(st->slots);
	st->slots = slots;
	st->nr_slots = n;
	st->stats.rebuilds++;
	for (size_t e = 0; e < st->len; e++)
		if (st->entries[e].key) {
			index_put(st, e);
			st->stats.rehashed++;
		}
	return 0;
}

/* The slot holding (kind, key), or -1.  probes (if not NULL) counts the
 * slots looked at. */
static ssize_t find_slot(const struct tier_state *st, enum tier_state_kind kind, const char *key, size_t hash,
			 uint64_t *probes)
{
	if (!st->slots)
		return -1;
	size_t mask = st->nr_slots - 1;
	for (size_t i = hash & mask; st->slots[i]; i = (i + 1) & mask) {
		const struct tier_state_entry *e = &st->entries[st->slots[i] - 1];
		if (probes)
			(*probes)++;
		if (e->hash == hash && e->kind == kind && strcmp(e->key, key) == 0)
			return (ssize_t)i;
	}
	return -1;
}

static ssize_t find_index(const struct tier_state *st, enum tier_state_kind kind, const char *key)
{
	if (!st->slots) {
		/* No index (it could not be rebuilt for lack of memory): scan. */
		for (size_t i = 0; i < st->len; i++)
			if (st->entries[i].key && st->entries[i].kind == kind && strcmp(st->entries[i].key, key) == 0)
				return (ssize_t)i;
		return -1;
	}
	ssize_t slot = find_slot(st, kind, key, key_hash(kind, key), NULL);
	return slot < 0 ? -1 : (ssize_t)(st->slots[slot] - 1);
}

const struct tier_state_entry *tier_state_find(const struct tier_state *st,
					       enum tier_state_kind kind, const char *key)
{
	if (!st || !key)
		return NULL;
	ssize_t i = find_index(st, kind, key);
	return i < 0 ? NULL : &st->entries[i];
}

bool tier_state_saved(const struct tier_state *st, enum tier_state_kind kind, const char *key)
{
	const struct tier_state_entry *e = tier_state_find(st, kind, key);
	return e && e->seq <= st->saved_seq;
}

/* Append without checks (callers validated and looked for duplicates). */
static int append(struct tier_state *st, enum tier_state_kind kind, const char *key,
		  const char *original, size_t original_len, uint64_t recorded_usec)
{
	if (st->len == st->alloc) {
		size_t alloc = st->alloc ? st->alloc * 2 : 8;
		struct tier_state_entry *e = reallocarray(st->entries, alloc, sizeof(*e));
		if (!e)
			return -ENOMEM;
		st->entries = e;
		st->alloc = alloc;
	}
	if (2 * (st->nr + 1) > st->nr_slots && index_rebuild(st, 2 * (st->nr + 1)) < 0)
		return -ENOMEM;
	struct tier_state_entry *e = &st->entries[st->len];
	e->kind = kind;
	e->key = strdup(key);
	e->original = strndup(original, original_len);
	e->recorded_usec = recorded_usec;
	e->hash = key_hash(kind, key);
	e->seq = ++st->last_seq;
	e->json = NULL;
	if (!e->key || !e->original || entry_render(e) < 0) {
		entry_clear(e);
		return -ENOMEM;
	}
	index_put(st, st->len);
	st->len++;
	st->nr++;
	st->dirty = true;
	return 0;
}

int tier_state_record(struct tier_state *st, enum tier_state_kind kind, const char *key,
		      const char *original, uint64_t now_usec)
{
	if (!st || !original || !tier_state_key_valid(kind, key))
		return -EINVAL;
	if (st->slots ? find_slot(st, kind, key, key_hash(kind, key), &st->stats.probes) >= 0
		      : find_index(st, kind, key) >= 0)
		return 0;
	/* sysfs, procfs and cgroupfs end every value with "\n"; the writers add
	 * nothing back (the kernel accepts values with or without it). */
	size_t len = strlen(original);
	while (len > 0 && original[len - 1] == '\n')
		len--;
	int r = append(st, kind, key, original, len, now_usec);
	return r < 0 ? r : 1;
}

/* Squeeze the holes out of entries[] (order kept) and re-index. */
static void compact(struct tier_state *st)
{
	size_t w = 0;
	for (size_t r = 0; r < st->len; r++) {
		if (!st->entries[r].key)
			continue;
		if (w != r) {
			st->entries[w] = st->entries[r];
			st->stats.moved++;
		}
		w++;
	}
	st->len = w;
	st->stats.compactions++;
	if (index_rebuild(st, st->nr) < 0) {
		free(st->slots);
		st->slots = NULL;
		st->nr_slots = 0;
	}
}

/* Remove slot i from the index (linear probing: shift the following run
 * back so every entry stays reachable from its home slot). */
static void slot_delete(struct tier_state *st, size_t i)
{
	size_t mask = st->nr_slots - 1;
	st->slots[i] = 0;
	for (size_t j = (i + 1) & mask; st->slots[j]; j = (j + 1) & mask) {
		size_t home = st->entries[st->slots[j] - 1].hash & mask;
		/* j's entry may move to i if its home is not in (i, j] (cyclically) */
		bool in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		st->stats.probes++;
		if (!in_range) {
			st->slots[i] = st->slots[j];
			st->slots[j] = 0;
			i = j;
		}
	}
}

static void forget_at(struct tier_state *st, size_t idx, ssize_t slot)
{
	if (slot >= 0)
		slot_delete(st, (size_t)slot);
	entry_clear(&st->entries[idx]);
	st->nr--;
	st->dirty = true;
	/* Holes cost memory and iteration time only: squeeze them out once
	 * they outnumber the live entries (amortized O(1) per forget). */
	size_t holes = st->len - st->nr;
	if (holes > 32 && holes > st->nr)
		compact(st);
	else if (!st->slots)
		compact(st);   /* keeps the scan fallback dense */
}

int tier_state_forget(struct tier_state *st, enum tier_state_kind kind, const char *key)
{
	if (!st || !key)
		return -ENOENT;
	if (!st->slots) {
		ssize_t i = find_index(st, kind, key);
		if (i < 0)
			return -ENOENT;
		forget_at(st, (size_t)i, -1);
		return 0;
	}
	ssize_t slot = find_slot(st, kind, key, key_hash(kind, key), &st->stats.probes);
	if (slot < 0)
		return -ENOENT;
	forget_at(st, st->slots[slot] - 1, slot);
	return 0;
}

bool tier_state_prune_some(struct tier_state *st, bool (*gone)(void *ctx, const struct tier_state_entry *e),
			   void *ctx, size_t *cursor, size_t max, size_t *pruned)
{
	if (!st || !gone)
		return true;
	for (size_t seen = 0; *cursor < st->len && seen < max; seen++) {
		size_t i = (*cursor)++;
		struct tier_state_entry *e = &st->entries[i];
		if (!e->key || !gone(ctx, e))
			continue;
		ssize_t slot = st->slots ? find_slot(st, e->kind, e->key, e->hash, &st->stats.probes) : -1;
		size_t before = st->len;
		forget_at(st, i, slot);
		if (pruned)
			(*pruned)++;
		if (st->len != before)
			*cursor = 0;   /* compacted: look again from the start (the pruned are gone) */
	}
	return *cursor >= st->len;
}

size_t tier_state_prune(struct tier_state *st, bool (*gone)(void *ctx, const struct tier_state_entry *e), void *ctx)
{
	size_t cursor = 0, n = 0;
	tier_state_prune_some(st, gone, ctx, &cursor, SIZE_MAX, &n);
	return n;
}

int tier_state_restore(const struct tier_state *st, const struct tier_restore_ops *ops, void *ctx,
		       struct tier_state *remaining)
{
	if (!st || !ops || !ops->write || remaining == st)
		return -EINVAL;
	if (st->nr == 0)
		return 0;
	bool *failed = calloc(st->len, sizeof(bool));
	if (!failed)
		return -ENOMEM;
	int nr_failed = 0;
	for (size_t i = st->len; i-- > 0;) {
		const struct tier_state_entry *e = &st->entries[i];
		if (!e->key)
			continue;
		int r = ops->write(ctx, e->kind, e->key, e->original);
		if (r == 0)
			continue;
		if (ops->note)
			ops->note(ctx, e->kind, e->key, r);
		if (r != -ENOENT) {
			failed[i] = true;
			nr_failed++;
		}
	}
	int ret = nr_failed;
	for (size_t i = 0; remaining && i < st->len; i++) {
		const struct tier_state_entry *e = &st->entries[i];
		if (!failed[i] || find_index(remaining, e->kind, e->key) >= 0)
			continue;
		if (append(remaining, e->kind, e->key, e->original, strlen(e->original), e->recorded_usec) < 0) {
			ret = -ENOMEM;
			break;
		}
	}
	free(failed);
	return ret;
}

/* ---- file I/O ---- */

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync the directory itself so a rename or unlink survives a power cut.
 * Reopened through "." because the caller's fd may be O_PATH, on which
 * fsync() fails with EBADF. */
static int fsync_dir(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

/* The file: a pretty object with one line per entry, so an admin can read
 * it after a crash; each entry's line was rendered by json-c when it was
 * recorded (entry_render), so a save is one allocation and a copy. */
static char *serialize(const struct tier_state *st, int *err)
{
	char head[128];
	int hl = snprintf(head, sizeof(head), "{\n  \"version\": %d,\n  \"pid\": %ld,\n  \"entries\": [", TIER_STATE_VERSION,
			  (long)getpid());
	static const char tail[] = "\n  ]\n}\n";
	size_t len = (size_t)hl + sizeof(tail);
	*err = -ENOMEM;
	for (size_t i = 0; i < st->len; i++)
		if (st->entries[i].key)
			len += st->entries[i].json_len + 6;
	char *out = malloc(len);
	if (!out)
		return NULL;
	char *p = out;
	memcpy(p, head, (size_t)hl);
	p += hl;
	bool first = true;
	for (size_t i = 0; i < st->len; i++) {
		const struct tier_state_entry *e = &st->entries[i];
		if (!e->key)
			continue;
		memcpy(p, first ? "\n    " : ",\n    ", first ? 5 : 6);
		p += first ? 5 : 6;
		first = false;
		memcpy(p, e->json, e->json_len);
		p += e->json_len;
	}
	memcpy(p, tail, sizeof(tail));
	return out;
}

int tier_state_save_at(int dirfd, const char *name, const struct tier_state *st)
{
	if (!name || !*name || strchr(name, '/') || !st)
		return -EINVAL;
	int r;
	char *text = serialize(st, &r);
	if (!text)
		return r;

	/* The temp file must be in the same directory: rename(2) is atomic only
	 * within one filesystem.  Not O_TMPFILE + linkat(): linking over an
	 * existing name fails with EEXIST, so it could not replace the file. */
	char tmp[PATH_MAX];
	int fd = -1;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	unsigned long seed = (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 16);
	for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
		seed = seed * 6364136223846793005ul + 1442695040888963407ul;
		if ((size_t)snprintf(tmp, sizeof(tmp), ".%s.%06lx", name, (seed >> 33) & 0xfffffful) >= sizeof(tmp)) {
			free(text);
			return -ENAMETOOLONG;
		}
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0 && errno != EEXIST) {
			r = -errno;
			free(text);
			return r;
		}
	}
	if (fd < 0) {
		free(text);
		return -EEXIST;
	}

	r = write_all(fd, text, strlen(text));
	free(text);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	return fsync_dir(dirfd);
}

int tier_state_remove_at(int dirfd, const char *name)
{
	if (!name || !*name || strchr(name, '/'))
		return -EINVAL;
	if (unlinkat(dirfd, name, 0) < 0)
		return errno == ENOENT ? 0 : -errno;
	return fsync_dir(dirfd);
}

int tier_state_commit_at(int dirfd, const char *name, struct tier_state *st)
{
	if (!st)
		return -EINVAL;
	uint64_t upto = st->last_seq;
	int r = st->nr ? tier_state_save_at(dirfd, name, st) : tier_state_remove_at(dirfd, name);
	if (r < 0)
		return r;
	st->saved_seq = upto;
	st->dirty = false;
	st->commits++;
	return 0;
}

static int read_file_at(int dirfd, const char *name, char **out, size_t *outlen)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	struct stat sb;
	if (fstat(fd, &sb) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	int r = tier_read_fd(fd, TIER_STATE_MAX_BYTES + 1, out, outlen);
	close(fd);
	return r;
}

static int set_err(char *err, size_t errlen, int r, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int set_err(char *err, size_t errlen, int r, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* Exactly these members, no others (strict: a file this version did not
 * write is not guessed at). */
static bool only_members(json_object *o, const char *const *names, const char **unknown)
{
	json_object_object_foreach(o, k, v) {
		(void)v;
		bool known = false;
		for (const char *const *n = names; *n; n++)
			known = known || strcmp(k, *n) == 0;
		if (!known) {
			*unknown = k;
			return false;
		}
	}
	return true;
}

static json_object *member(json_object *o, const char *k, json_type type)
{
	json_object *v;
	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

static int parse_state(json_object *root, const char *name, struct tier_state *st, char *err, size_t errlen)
{
	static const char *const top_names[] = { "version", "pid", "entries", NULL };
	static const char *const entry_names[] = { "kind", "key", "original", "recorded_usec", NULL };
	const char *unknown;

	if (!json_object_is_type(root, json_type_object))
		return set_err(err, errlen, -EINVAL, "%s: not a JSON object", name);
	json_object *v = member(root, "version", json_type_int);
	if (!v)
		return set_err(err, errlen, -EINVAL, "%s: \"version\" missing or not an integer", name);
	if (json_object_get_int64(v) != TIER_STATE_VERSION)
		return set_err(err, errlen, -EPROTO, "%s: unsupported version %" PRId64 " (this tierd reads version %d)",
			    name, json_object_get_int64(v), TIER_STATE_VERSION);
	if (!only_members(root, top_names, &unknown))
		return set_err(err, errlen, -EINVAL, "%s: unknown member \"%s\"", name, unknown);
	v = member(root, "pid", json_type_int);
	if (!v || json_object_get_int64(v) <= 0 || json_object_get_int64(v) > INT_MAX)
		return set_err(err, errlen, -EINVAL, "%s: \"pid\" missing or not a positive integer", name);
	st->pid = (long)json_object_get_int64(v);
	json_object *arr = member(root, "entries", json_type_array);
	if (!arr)
		return set_err(err, errlen, -EINVAL, "%s: \"entries\" missing or not an array", name);

	size_t n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(o, json_type_object))
			return set_err(err, errlen, -EINVAL, "%s: entry %zu: not an object", name, i);
		if (!only_members(o, entry_names, &unknown))
			return set_err(err, errlen, -EINVAL, "%s: entry %zu: unknown member \"%s\"", name, i, unknown);
		json_object *jkind = member(o, "kind", json_type_string);
		json_object *jkey = member(o, "key", json_type_string);
		json_object *jorig = member(o, "original", json_type_string);
		json_object *jusec = member(o, "recorded_usec", json_type_int);
		if (!jkind || !jkey || !jorig || !jusec)
			return set_err(err, errlen, -EINVAL,
				    "%s: entry %zu: needs string \"kind\", \"key\", \"original\" and integer \"recorded_usec\"",
				    name, i);
		enum tier_state_kind kind;
		if (tier_state_kind_parse(json_object_get_string(jkind), &kind) < 0)
			return set_err(err, errlen, -EINVAL, "%s: entry %zu: unknown kind \"%s\"", name, i,
				    json_object_get_string(jkind));
		const char *key = json_object_get_string(jkey);
		/* A string with an embedded NUL would be cut short in C. */
		if (strlen(key) != (size_t)json_object_get_string_len(jkey) || !tier_state_key_valid(kind, key))
			return set_err(err, errlen, -EINVAL, "%s: entry %zu: invalid key \"%s\" for kind %s", name, i,
				    key, kind_names[kind]);
		const char *orig = json_object_get_string(jorig);
		if (strlen(orig) != (size_t)json_object_get_string_len(jorig))
			return set_err(err, errlen, -EINVAL, "%s: entry %zu: \"original\" contains a NUL byte", name, i);
		/* get_uint64 would read a negative number as 0; get_int64 clamps
		 * values above INT64_MAX (kept as uint64 by json-c) to INT64_MAX. */
		if (json_object_get_int64(jusec) < 0)
			return set_err(err, errlen, -EINVAL, "%s: entry %zu: negative \"recorded_usec\"", name, i);
		if (find_index(st, kind, key) >= 0)
			return set_err(err, errlen, -EINVAL, "%s: entry %zu: duplicate %s \"%s\"", name, i,
				    kind_names[kind], key);
		if (append(st, kind, key, orig, strlen(orig), json_object_get_uint64(jusec)) < 0)
			return set_err(err, errlen, -ENOMEM, "%s: out of memory", name);
	}
	return 0;
}

int tier_state_load_at(int dirfd, const char *name, struct tier_state **out, char *err, size_t errlen)
{
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!name || !*name || strchr(name, '/'))
		return set_err(err, errlen, -EINVAL, "invalid state file name");

	char *text;
	size_t len;
	int r = read_file_at(dirfd, name, &text, &len);
	if (r == -EFBIG)
		return set_err(err, errlen, r, "%s: larger than %u bytes", name, TIER_STATE_MAX_BYTES);
	if (r < 0)
		return set_err(err, errlen, r, "%s: %s", name, strerror(-r));
	if (len == 0) {
		free(text);
		return set_err(err, errlen, -EINVAL, "%s: empty file", name);
	}

	json_tokener *tok = json_tokener_new();
	if (!tok) {
		free(text);
		return set_err(err, errlen, -ENOMEM, "%s: out of memory", name);
	}
	/* Reject bytes that are not UTF-8: the daemon wrote ASCII values. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	json_object *root = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);

	if (!root) {
		/* json_tokener_continue: the input ended inside a value, e.g. a file
		 * cut short (which an atomic save never leaves, but a hand edit can). */
		if (jerr == json_tokener_continue)
			r = set_err(err, errlen, -EINVAL, "%s: truncated JSON", name);
		else
			r = set_err(err, errlen, -EINVAL, "%s: byte %zu: %s", name, end,
				    json_tokener_error_desc(jerr));
		free(text);
		return r;
	}
	while (end < len && (text[end] == ' ' || text[end] == '\n' || text[end] == '\t' || text[end] == '\r'))
		end++;
	if (end < len) {
		json_object_put(root);
		free(text);
		return set_err(err, errlen, -EINVAL, "%s: trailing data after the JSON object", name);
	}
	free(text);

	struct tier_state *st = tier_state_new();
	if (!st) {
		json_object_put(root);
		return set_err(err, errlen, -ENOMEM, "%s: out of memory", name);
	}
	r = parse_state(root, name, st, err, errlen);
	json_object_put(root);
	if (r < 0) {
		tier_state_free(st);
		return r;
	}
	/* What was read is what the file says. */
	st->saved_seq = st->last_seq;
	st->dirty = false;
	*out = st;
	return 0;
}
