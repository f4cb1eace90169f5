/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * The state file: how tierd leaves the host as it found it.
 *
 * Before tierd changes any host setting it records the value it is about to
 * overwrite (tier_state_record) and saves the state file (tier_state_save_at)
 * before the write.  On stop it restores every recorded value
 * (tier_state_restore) and removes the file.  A file left over at start means
 * the last run died without restoring: the daemon loads it and restores from
 * it first, before it changes anything.
 *
 * Intended use by the daemon (the file lives in the state dir, /run/tierd):
 *
 *   start:  load_at -> -ENOENT: nothing to do, live state = new.
 *                   -> error (malformed, unknown version): log the message,
 *                      leave the file alone for the admin and refuse to change
 *                      settings (never guess the host's values).
 *                   -> ok: restore(leftover, ops, ctx, live); the entries that
 *                      failed stay in `live` with the host's original value,
 *                      so they are retried at stop; commit_at(live).
 *   change: record() every value a batch of writes is about to overwrite,
 *           commit_at() once, then write the batch; tier_state_saved() says
 *           whether a key's record is in the file already (a writer checks
 *           it right before each write: never write what is not saved).
 *   back to original during the run: write it, then forget() (O(1)); the
 *           file may keep the entry until the next commit (restoring a value
 *           that is already there is harmless).
 *   gone:   prune() entries whose target no longer exists (a cgroup removed).
 *   stop:   restore(live, ops, ctx, left); commit_at(left) (removes the file
 *           when `left` is empty) and log what could not be restored.
 *
 * Everything here is pure (no I/O, no clock, no logging) except the three
 * *_at functions, which only touch the named file (and a temp file next to
 * it) under dirfd.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * What a key names, and what its recorded value means to the writer.
 *
 * TIER_STATE_KNOB: key is a sysfs/procfs file relative to the root, under
 *   "sys/" or "proc/sys/" ("sys/kernel/mm/numa/demotion_enabled"); the value
 *   is its previous content, written back as is.
 * TIER_STATE_CPUSET_MEMS: key is a cgroup's "…/cpuset.mems" relative to the
 *   root; the value is its previous content (may be "": in cgroup v2 an empty
 *   cpuset.mems means "inherit the parent's").
 * TIER_STATE_SUBTREE_CONTROL: key is a cgroup's "…/cgroup.subtree_control"
 *   relative to the root; the value is its previous content, the
 *   space-separated list of enabled controllers ("memory pids").  That content
 *   cannot be written back verbatim: the writer disables ("-cpuset") each
 *   controller enabled now but absent from the value.
 * TIER_STATE_UNIT_PROPERTY: key is "UNIT/PROPERTY" ("user.slice/
 *   AllowedMemoryNodes"; unit names cannot contain '/', see
 *   tier_state_split_unit_key); the value is the property's previous value as
 *   systemd prints it ("" when unset), set back at runtime through PID 1.
 */
enum tier_state_kind {
	TIER_STATE_KNOB,
	TIER_STATE_CPUSET_MEMS,
	TIER_STATE_SUBTREE_CONTROL,
	TIER_STATE_UNIT_PROPERTY,
	TIER_STATE_NR_KINDS,
};

struct tier_state_entry {
	enum tier_state_kind kind;
	char *key;                /* NULL: a hole left by forget (skip it) */
	char *original;           /* exact previous content, trailing newlines stripped */
	uint64_t recorded_usec;   /* CLOCK_REALTIME of the first record, for the admin */
	/* private */
	uint64_t seq;             /* order of recording (1, 2, ...); saved when <= saved_seq */
	size_t hash;
	char *json;               /* the entry as the file holds it (json-c made), so a save
				   * of 10,000 entries is a copy, not 10,000 renderings */
	size_t json_len;
};

/* Work done by the index, for tests that prove it linear (counts, not
 * seconds) and for status. */
struct tier_state_stats {
	uint64_t probes;          /* hash slots looked at by record, forget, prune */
	uint64_t rebuilds;        /* index (re)builds: growth and compaction */
	uint64_t rehashed;        /* entries re-inserted by those rebuilds */
	uint64_t compactions;     /* holes squeezed out of entries[] */
	uint64_t moved;           /* entries moved by those compactions */
};

/*
 * Entries in order of first recording: entries[0, len), where a forgotten
 * entry leaves a hole (key NULL) until the holes outnumber the live entries
 * and are squeezed out (so forget is O(1) amortized and keeps the order).
 * nr counts the live entries.  Iterate with tier_state_next().  An entry is
 * identified by (kind, key).  Read the fields freely; change them only
 * through the functions below.
 */
struct tier_state {
	struct tier_state_entry *entries;
	size_t len;               /* used slots of entries[], holes included */
	size_t nr;                /* live entries */
	size_t alloc;
	long pid;                 /* pid that saved the file (set by load_at); 0 for a new state */
	uint64_t last_seq, saved_seq;
	bool dirty;               /* changed since the last commit (records or forgets) */
	uint64_t commits;         /* successful commit_at calls */
	struct tier_state_stats stats;
	/* private: open-addressing hash index over (kind, key); slots[i] is
	 * an entry index + 1, 0 when empty. */
	size_t *slots;
	size_t nr_slots;
};

/* The next live entry at or after *cursor (start with 0), advancing it;
 * NULL at the end.  Recording order. */
const struct tier_state_entry *tier_state_next(const struct tier_state *st, size_t *cursor);

/* "knob", "cpuset_mems", "subtree_control", "unit_property" (the names used in
 * the file); NULL for an invalid kind.  parse returns 0 or -EINVAL. */
const char *tier_state_kind_name(enum tier_state_kind kind);
int tier_state_kind_parse(const char *name, enum tier_state_kind *out);

/* Whether key is well formed for kind (see enum tier_state_kind): path kinds
 * are relative, without empty, "." or ".." components, and end in the file
 * the kind names; knobs live under sys/ or proc/sys/.  Both record and load
 * enforce it, so a bad key never reaches a writer. */
bool tier_state_key_valid(enum tier_state_kind kind, const char *key);

/* Split a TIER_STATE_UNIT_PROPERTY key at its last '/': the unit name into
 * unit (NUL-terminated) and a pointer to the property inside key.  Returns 0,
 * or -EINVAL if the key is malformed, -ENAMETOOLONG if unit is too small. */
int tier_state_split_unit_key(const char *key, char *unit, size_t unitlen, const char **property);

/* NULL on OOM. */
struct tier_state *tier_state_new(void);
/* Accepts NULL. */
void tier_state_free(struct tier_state *st);

/*
 * Record that (kind, key) is about to change from `original` (the raw content
 * just read; trailing newlines are stripped here).  If (kind, key) is already
 * recorded the FIRST original is kept: that is the host's value, and a second
 * change by tierd must not make tierd's own value the one restored.
 * now_usec is stored as recorded_usec of a new entry (the caller reads the
 * clock; this function is pure).
 * Returns 1 if a new entry was added (the caller must save before writing),
 * 0 if it was already recorded, -EINVAL for an invalid kind or key,
 * -ENOMEM.
 */
int tier_state_record(struct tier_state *st, enum tier_state_kind kind, const char *key,
		      const char *original, uint64_t now_usec);

/* Remove (kind, key) once its original has been written back.  Keeps the
 * order of the other entries; O(1) amortized (no re-index per call).
 * Returns 0, or -ENOENT if it was not recorded. */
int tier_state_forget(struct tier_state *st, enum tier_state_kind kind, const char *key);

/* Whether (kind, key) is recorded AND that record is in the file (the last
 * successful commit_at came after it). */
bool tier_state_saved(const struct tier_state *st, enum tier_state_kind kind, const char *key);

/* Forget every entry for which gone(ctx, entry) returns true (the daemon's
 * callback knows whether the target still exists).  Returns how many. */
size_t tier_state_prune(struct tier_state *st, bool (*gone)(void *ctx, const struct tier_state_entry *e), void *ctx);
/* The same in steps: looks at most max entries from *cursor (start with 0)
 * and returns true when the whole state has been looked at; *pruned (if not
 * NULL) grows by the entries forgotten. */
bool tier_state_prune_some(struct tier_state *st, bool (*gone)(void *ctx, const struct tier_state_entry *e),
			   void *ctx, size_t *cursor, size_t max, size_t *pruned);

/* The entry for (kind, key) or NULL.  Valid until the next change to st. */
const struct tier_state_entry *tier_state_find(const struct tier_state *st,
					       enum tier_state_kind kind, const char *key);

/*
 * Write st to dirfd/name atomically: a temp file ".NAME.XXXXXX" in the same
 * directory (mode 0600), fsync, rename over name, fsync the directory.  After
 * a crash at any point the file is either the old or the new version, never a
 * mix.  The temp file is removed on failure.  The file records getpid() as
 * its "pid".  Returns 0 or a negative errno.
 */
int tier_state_save_at(int dirfd, const char *name, const struct tier_state *st);

/*
 * Read dirfd/name strictly (every entry loaded counts as saved): {"version":1,"pid":N,"entries":[{"kind":…,
 * "key":…,"original":…,"recorded_usec":…},…]}.  Unknown versions, unknown or
 * missing members, wrong types, invalid keys, duplicate (kind, key), trailing
 * data and truncated JSON are errors.  Returns 0 and a new state in *out, or a
 * negative errno with *out NULL: -ENOENT when the file is absent, -EINVAL
 * (malformed), -EPROTO (unknown version), -EFBIG (over 64 MiB) or the error of
 * the read; then err (if not NULL) holds a message naming the file.
 */
int tier_state_load_at(int dirfd, const char *name, struct tier_state **out, char *err, size_t errlen);

/* Make the file say what st says: save_at, or remove_at when st is empty;
 * on success every record so far counts as saved (tier_state_saved) and
 * st->commits grows.  Returns 0 or a negative errno (then nothing counts
 * as saved that did not before). */
int tier_state_commit_at(int dirfd, const char *name, struct tier_state *st);

/* Remove dirfd/name and fsync the directory.  Returns 0 (also when the file
 * was already absent) or a negative errno. */
int tier_state_remove_at(int dirfd, const char *name);

/*
 * Side effects of a restore, supplied by the daemon (tests install fakes).
 * write: put value back for (kind, key) (see enum tier_state_kind for what
 *   that means per kind).  Returns 0 or a negative errno; -ENOENT means the
 *   target vanished (cgroup removed, node offlined, unit stopped): nothing is
 *   left to restore.
 * note: optional; called for every entry whose write did not return 0, with
 *   that error: -ENOENT means the entry was dropped as done, anything else
 *   means it was kept in `remaining`.
 */
struct tier_restore_ops {
	int (*write)(void *ctx, enum tier_state_kind kind, const char *key, const char *value);
	void (*note)(void *ctx, enum tier_state_kind kind, const char *key, int err);
};

/*
 * Write back every entry of st, newest first (an undo stack: a child
 * cgroup's cpuset.mems goes back before its parent's, and both before the
 * subtree_control "+cpuset" that made them exist).  Entries whose write fails
 * with anything but -ENOENT are added to `remaining` (if not NULL; it must not
 * be st) in their original order with their original value and timestamp, as
 * tier_state_record would (a key already in remaining keeps remaining's
 * value).  st is not changed.  Returns the number of entries that failed
 * (0: the host is back as it was), or -ENOMEM if remaining could not grow.
 */
int tier_state_restore(const struct tier_state *st, const struct tier_restore_ops *ops, void *ctx,
		       struct tier_state *remaining);
