/* SPDX-License-Identifier: MIT */
/*
 * tier_snapshot_acquire(): read sysfs/procfs under a root dir fd into a
 * struct tier_snapshot.  I/O and parsing only; no decisions, no logging.
 *
 * What is optional (absent = unknown, never an error), by kernel version:
 *  - sys/devices/virtual/memory_tiering: 6.1+ with memory tiers;
 *  - nodeN/access0/initiators/{read,write}_{latency,bandwidth}: HMAT (5.2+)
 *    and only when the firmware describes the node;
 *  - pgdemote_kswapd/direct: 5.18+, pgdemote_khugepaged: 6.8+,
 *    pgdemote_proactive: 6.13+ (not in 6.12), pgpromote_*: 6.1+ node vmstat;
 *  - sys/kernel/mm/numa/demotion_enabled: 5.18+ (-1 when absent);
 *  - proc/sys/kernel/numa_balancing: CONFIG_NUMA_BALANCING (-1 when absent).
 * Mandatory: sys/devices/system/node (CONFIG_NUMA) and proc/zoneinfo.
 * A file that exists but does not parse is an error naming it.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "tier/nodemask.h"
#include "tier/snapshot.h"
#include "zoneinfo.h"

#define NODE_DIR "sys/devices/system/node"
#define TIERING_DIR "sys/devices/virtual/memory_tiering"

struct ctx {
	int rootfd;
	char *err;
	size_t errlen;
	struct tier_snapshot *s;
};

static int io_error(struct ctx *c, const char *path, int rc)
{
	tier_set_err(c->err, c->errlen, "%s: %s", path, strerror(-rc));
	return rc;
}

static int bad(struct ctx *c, const char *path, const char *why)
{
	tier_set_err(c->err, c->errlen, "%s: %s", path, why);
	return -EINVAL;
}

/* Optional file: 0 with *text, 1 if absent (text NULL), <0 error (reported). */
static int read_opt(struct ctx *c, const char *path, char **text)
{
	int rc = tier_read_file_at(c->rootfd, path, text, NULL);
	if (rc == -ENOENT)
		return 1;
	if (rc < 0)
		return io_error(c, path, rc);
	return 0;
}

/* A node list file into bm; absent leaves bm empty and returns 1. */
static int read_list(struct ctx *c, const char *path, struct bitmask *bm)
{
	char *text;
	int rc = read_opt(c, path, &text);
	if (rc != 0)
		return rc;
	rc = tier_bitmask_parse_list(text, bm);
	free(text);
	if (rc == -ERANGE)
		return bad(c, path, "node or cpu number too large");
	if (rc < 0)
		return bad(c, path, "malformed list");
	return 0;
}

/* "nodeN" / "memory_tierN" -> N, or -1. */
static int suffix_id(const char *name, const char *prefix)
{
	size_t pl = strlen(prefix);
	if (strncmp(name, prefix, pl) != 0 || !isdigit((unsigned char)name[pl]))
		return -1;
	long v = 0;
	for (const char *p = name + pl; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (*p - '0');
		if (v > 1 << 24)
			return -1;
	}
	return (int)v;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/*
 * Ids of the subdirectories "PREFIX<N>" of dir, sorted numerically (readdir
 * order is arbitrary and a glob would sort "memory_tier270" before
 * "memory_tier4").  Returns the count or <0 (-ENOENT if dir is absent).
 */
static int list_ids(struct ctx *c, const char *dir, const char *prefix, int **ids_out)
{
	*ids_out = NULL;
	int dfd = openat(c->rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return (errno == ENOENT || errno == ENOTDIR) ? -ENOENT : io_error(c, dir, -errno);
	DIR *d = fdopendir(dfd);
	if (!d) {
		int e = -errno;
		close(dfd);
		return io_error(c, dir, e);
	}
	int n = 0, cap = 0, *ids = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		int id = suffix_id(de->d_name, prefix);
		if (id < 0)
			continue;
		struct stat st;
		if (fstatat(dfd, de->d_name, &st, 0) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			int *ni = realloc(ids, (size_t)cap * sizeof(*ids));
			if (!ni) {
				free(ids);
				closedir(d);
				return -ENOMEM;
			}
			ids = ni;
		}
		ids[n++] = id;
	}
	closedir(d);
	if (n > 1)
		qsort(ids, (size_t)n, sizeof(*ids), cmp_int);
	*ids_out = ids;
	return n;
}

static int read_distance(struct ctx *c, struct tier_node *nd, const char *path)
{
	char *text;
	int rc = read_opt(c, path, &text);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	/* node_read_distance() prints node_distance(nid, i) for each online i,
	 * in id order: the k-th number belongs to the k-th online node. */
	const struct bitmask *online = c->s->online;
	int want = (int)tier_bitmask_weight(online);
	int maxid = -1;
	tier_bitmask_foreach(i, online)
		maxid = i;
	nd->nr_distance = maxid + 1;
	nd->distance = malloc((size_t)(nd->nr_distance > 0 ? nd->nr_distance : 1) * sizeof(int));
	if (!nd->distance) {
		free(text);
		return -ENOMEM;
	}
	for (int i = 0; i < nd->nr_distance; i++)
		nd->distance[i] = -1;

	int k = 0, id = tier_bitmask_next(online, 0);
	char *save = NULL;
	for (char *tok = strtok_r(text, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		int v;
		if (tier_parse_int(tok, &v) < 0 || v < 0) {
			free(text);
			return bad(c, path, "expected numbers");
		}
		if (id < 0) {
			free(text);
			return bad(c, path, "more entries than online nodes");
		}
		nd->distance[id] = v;
		k++;
		id = tier_bitmask_next(online, id + 1);
	}
	free(text);
	if (k != want) {
		char why[96];
		snprintf(why, sizeof(why), "%d entries but %d online nodes", k, want);
		return bad(c, path, why);
	}
	return 0;
}

static int read_meminfo(struct ctx *c, struct tier_node *nd, const char *path)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "MemTotal", offsetof(struct tier_node, mem_total_bytes) },
		{ "MemFree", offsetof(struct tier_node, mem_free_bytes) },
		{ "FilePages", offsetof(struct tier_node, file_pages_bytes) },
		{ "Inactive(file)", offsetof(struct tier_node, inactive_file_bytes) },
	};
	char *text;
	int rc = read_opt(c, path, &text);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		uint64_t *dst = (uint64_t *)((char *)nd + keys[i].off);
		*dst = TIER_UNKNOWN;
		if (rc == 1)
			continue;
		int r = tier_meminfo_find_bytes(text, keys[i].key, dst);
		if (r == -ENOENT) {
			*dst = TIER_UNKNOWN;
		} else if (r < 0) {
			char why[96];
			snprintf(why, sizeof(why), "malformed value of %s", keys[i].key);
			free(text);
			return bad(c, path, why);
		}
	}
	free(text);
	return 0;
}

/* Fill counters[] from a "key value" vmstat file; absent file or key =
 * TIER_UNKNOWN.  with_oom: also read oom_kill (global /proc/vmstat). */
static int read_counters(struct ctx *c, uint64_t *counters, const char *path, bool with_oom)
{
	char *text;
	int rc = read_opt(c, path, &text);
	if (rc < 0)
		return rc;
	for (int i = 0; i < TIER_NR_COUNTERS; i++) {
		counters[i] = TIER_UNKNOWN;
		if (rc == 1 || (i == TIER_OOM_KILL && !with_oom))
			continue;
		int r = tier_kv_find_u64(text, tier_counter_name((enum tier_counter)i), &counters[i]);
		if (r == -ENOENT) {
			counters[i] = TIER_UNKNOWN;
		} else if (r < 0) {
			char why[96];
			snprintf(why, sizeof(why), "malformed value of %s",
				 tier_counter_name((enum tier_counter)i));
			free(text);
			return bad(c, path, why);
		}
	}
	free(text);
	return 0;
}

static int read_hmat(struct ctx *c, struct tier_node *nd, int id)
{
	static const struct {
		const char *file;
		size_t off;
	} files[] = {
		{ "read_latency", offsetof(struct tier_hmat, read_latency_ns) },
		{ "write_latency", offsetof(struct tier_hmat, write_latency_ns) },
		{ "read_bandwidth", offsetof(struct tier_hmat, read_bandwidth_mbps) },
		{ "write_bandwidth", offsetof(struct tier_hmat, write_bandwidth_mbps) },
	};
	char path[160];
	snprintf(path, sizeof(path), NODE_DIR "/node%d/access0/initiators", id);
	nd->hmat.present = tier_dir_exists_at(c->rootfd, path) == 0;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		uint64_t *dst = (uint64_t *)((char *)&nd->hmat + files[i].off);
		*dst = TIER_UNKNOWN;
		if (!nd->hmat.present)
			continue;
		/* Latency in ns and bandwidth in MB/s, as node_access_show()
		 * prints them (drivers/base/node.c). */
		snprintf(path, sizeof(path), NODE_DIR "/node%d/access0/initiators/%s", id, files[i].file);
		int rc = tier_read_u64_at(c->rootfd, path, dst);
		if (rc == -ENOENT) {
			*dst = TIER_UNKNOWN;
		} else if (rc == -EINVAL || rc == -ERANGE) {
			return bad(c, path, "expected a number");
		} else if (rc < 0) {
			return io_error(c, path, rc);
		}
	}
	return 0;
}

static int read_node(struct ctx *c, struct tier_node *nd, int id)
{
	struct tier_snapshot *s = c->s;
	char path[160];
	int rc;

	nd->id = id;
	nd->tier = -1;
	nd->online = tier_bitmask_isset(s->online, id);
	nd->has_cpu = tier_bitmask_isset(s->with_cpu, id);
	nd->has_memory = tier_bitmask_isset(s->with_memory, id);
	nd->has_normal_memory = tier_bitmask_isset(s->with_normal_memory, id);
	nd->cpus = tier_bitmask_alloc(TIER_MAX_CPUS);
	nd->demotion_preferred = tier_nodemask_alloc();
	nd->demotion_fallback = tier_nodemask_alloc();

	snprintf(path, sizeof(path), NODE_DIR "/node%d/cpulist", id);
	char *text;
	rc = read_opt(c, path, &text);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		nd->cpulist = strdup("");
	} else {
		nd->cpulist = strdup(tier_rstrip(text));
		rc = tier_bitmask_parse_list(text, nd->cpus);
		free(text);
		if (rc < 0)
			return bad(c, path, rc == -ERANGE ? "cpu number too large" : "malformed list");
	}
	if (!nd->cpulist)
		return -ENOMEM;

	snprintf(path, sizeof(path), NODE_DIR "/node%d/distance", id);
	rc = read_distance(c, nd, path);
	if (rc < 0)
		return rc;

	snprintf(path, sizeof(path), NODE_DIR "/node%d/meminfo", id);
	rc = read_meminfo(c, nd, path);
	if (rc < 0)
		return rc;

	snprintf(path, sizeof(path), NODE_DIR "/node%d/vmstat", id);
	rc = read_counters(c, nd->counters, path, false);
	if (rc < 0)
		return rc;

	return read_hmat(c, nd, id);
}

static int read_nodes(struct ctx *c)
{
	struct tier_snapshot *s = c->s;
	static const struct {
		const char *file;
		size_t off;
	} lists[] = {
		{ NODE_DIR "/possible", offsetof(struct tier_snapshot, possible) },
		{ NODE_DIR "/online", offsetof(struct tier_snapshot, online) },
		{ NODE_DIR "/has_cpu", offsetof(struct tier_snapshot, with_cpu) },
		{ NODE_DIR "/has_memory", offsetof(struct tier_snapshot, with_memory) },
		{ NODE_DIR "/has_normal_memory", offsetof(struct tier_snapshot, with_normal_memory) },
	};
	int *ids;
	int n = list_ids(c, NODE_DIR, "node", &ids);
	if (n == -ENOENT) {
		tier_set_err(c->err, c->errlen, "%s: absent (kernel without CONFIG_NUMA?)", NODE_DIR);
		return -ENOENT;
	}
	if (n < 0)
		return n;

	int rc = 0;
	bool absent[sizeof(lists) / sizeof(lists[0])];
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		struct bitmask **bm = (struct bitmask **)((char *)s + lists[i].off);
		rc = read_list(c, lists[i].file, *bm);
		if (rc < 0)
			goto out;
		absent[i] = rc == 1;
	}
	/* possible/online have existed since 2.6.2x; if a trimmed-down tree
	 * lacks them, the node directories are the best answer. */
	for (int i = 0; i < n; i++) {
		if (ids[i] >= (int)TIER_MAX_NODES) {
			tier_set_err(c->err, c->errlen, NODE_DIR "/node%d: node id above %u", ids[i],
				     TIER_MAX_NODES - 1);
			rc = -ERANGE;
			goto out;
		}
		if (absent[0])
			tier_bitmask_set(s->possible, ids[i]);
		if (absent[1])
			tier_bitmask_set(s->online, ids[i]);
	}

	s->nodes = calloc((size_t)(n ? n : 1), sizeof(*s->nodes));
	if (!s->nodes) {
		rc = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		s->nr_nodes = i + 1;
		rc = read_node(c, &s->nodes[i], ids[i]);
		if (rc < 0)
			goto out;
	}
	rc = 0;
out:
	free(ids);
	return rc;
}

static int cmp_tier(const void *a, const void *b)
{
	return cmp_int(&((const struct tier_tier *)a)->id, &((const struct tier_tier *)b)->id);
}

static int read_tiers(struct ctx *c)
{
	struct tier_snapshot *s = c->s;
	int *ids;
	int n = list_ids(c, TIERING_DIR, "memory_tier", &ids);
	if (n == -ENOENT) {
		s->has_tiering = false;
		return 0;
	}
	if (n < 0)
		return n;
	s->has_tiering = true;
	s->tiers = calloc((size_t)(n ? n : 1), sizeof(*s->tiers));
	if (!s->tiers) {
		free(ids);
		return -ENOMEM;
	}
	int rc = 0;
	for (int i = 0; i < n; i++) {
		struct tier_tier *t = &s->tiers[i];
		char path[160];
		t->id = ids[i];
		t->nodes = tier_nodemask_alloc();
		s->nr_tiers = i + 1;
		snprintf(path, sizeof(path), TIERING_DIR "/memory_tier%d/nodelist", t->id);
		rc = read_list(c, path, t->nodes);
		if (rc < 0)
			goto out;
		tier_bitmask_foreach(nid, t->nodes) {
			struct tier_node *nd = tier_snapshot_node(s, nid);
			if (!nd)
				continue;   /* a node without a directory: nothing to attach */
			if (nd->tier >= 0 && nd->tier != t->id) {
				char why[96];
				snprintf(why, sizeof(why), "node %d is also in memory_tier%d", nid, nd->tier);
				rc = bad(c, path, why);
				goto out;
			}
			nd->tier = t->id;
		}
	}
	/* ids[] was sorted numerically already; keep the invariant explicit. */
	qsort(s->tiers, (size_t)n, sizeof(*s->tiers), cmp_tier);
	rc = 0;
out:
	free(ids);
	return rc;
}

static int read_knobs(struct ctx *c)
{
	struct tier_snapshot *s = c->s;
	const char *path = "sys/kernel/mm/numa/demotion_enabled";
	char *text;
	int rc = read_opt(c, path, &text);
	if (rc < 0)
		return rc;
	s->demotion_enabled = -1;
	if (rc == 0) {
		tier_rstrip(text);
		/* demotion_enabled_show() prints "true"/"false"; accept the
		 * kstrtobool spellings a hand-made tree might use too. */
		if (!strcmp(text, "true") || !strcmp(text, "1") || !strcmp(text, "y"))
			s->demotion_enabled = 1;
		else if (!strcmp(text, "false") || !strcmp(text, "0") || !strcmp(text, "n"))
			s->demotion_enabled = 0;
		free(text);
		if (s->demotion_enabled < 0)
			return bad(c, path, "expected true or false");
	}

	path = "proc/sys/kernel/numa_balancing";
	int v;
	rc = tier_read_int_at(c->rootfd, path, &v);
	if (rc == -ENOENT)
		v = -1;
	else if (rc == -EINVAL || rc == -ERANGE || (rc == 0 && v < 0))
		return bad(c, path, "expected a non-negative integer");
	else if (rc < 0)
		return io_error(c, path, rc);
	s->numa_balancing = v;
	return 0;
}

static int read_zones(struct ctx *c)
{
	struct tier_snapshot *s = c->s;
	const char *path = "proc/zoneinfo";
	char *text;
	int rc = tier_read_file_at(c->rootfd, path, &text, NULL);
	if (rc < 0)
		return io_error(c, path, rc);
	struct tier_zoneinfo zi;
	rc = tier_zoneinfo_parse(text, path, &zi, c->err, c->errlen);
	free(text);
	if (rc < 0)
		return rc;
	for (int i = 0; i < zi.nr_zones && rc == 0; i++) {
		struct tier_node *nd = tier_snapshot_node(s, zi.zones[i].node);
		if (!nd) {
			tier_set_err(c->err, c->errlen, "%s: zone %s of node %d, which has no %s/node%d",
				     path, zi.zones[i].zone.name, zi.zones[i].node, NODE_DIR,
				     zi.zones[i].node);
			rc = -EINVAL;
			break;
		}
		struct tier_zone *nz = realloc(nd->zones, (size_t)(nd->nr_zones + 1) * sizeof(*nz));
		if (!nz) {
			rc = -ENOMEM;
			break;
		}
		nd->zones = nz;
		nd->zones[nd->nr_zones++] = zi.zones[i].zone;
	}
	tier_zoneinfo_free(&zi);
	return rc;
}

int tier_snapshot_acquire(int rootfd, struct tier_snapshot **out, char *err, size_t errlen)
{
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	struct tier_snapshot *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	struct ctx c = { .rootfd = rootfd, .err = err, .errlen = errlen, .s = s };

	long ps = sysconf(_SC_PAGESIZE);
	s->page_size = ps > 0 ? (uint64_t)ps : 4096;
	s->demotion_enabled = -1;
	s->numa_balancing = -1;
	s->possible = tier_nodemask_alloc();
	s->online = tier_nodemask_alloc();
	s->with_cpu = tier_nodemask_alloc();
	s->with_memory = tier_nodemask_alloc();
	s->with_normal_memory = tier_nodemask_alloc();

	int rc = read_nodes(&c);
	if (rc == 0)
		rc = read_tiers(&c);
	if (rc == 0)
		rc = read_knobs(&c);
	if (rc == 0)
		rc = read_counters(&c, s->counters, "proc/vmstat", true);
	if (rc == 0)
		rc = read_zones(&c);
	if (rc < 0) {
		if (rc == -ENOMEM && err && errlen && !err[0])
			tier_set_err(err, errlen, "out of memory");
		tier_snapshot_free(s);
		return rc;
	}
	tier_snapshot_derive(s);
	*out = s;
	return 0;
}
