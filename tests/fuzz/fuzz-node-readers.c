/* SPDX-License-Identifier: MIT */
/*
 * The sysfs/procfs readers behind tier_snapshot_acquire(): node lists
 * (possible, online, has_*), per-node cpulist, distance, meminfo, vmstat and
 * HMAT attributes, tier node lists, the knobs, /proc/vmstat and zoneinfo,
 * read from a fixture tree under a root fd as in production.
 *
 * The input is split at "%%" lines (fuzz.h) into the files below, in this
 * order; a missing or empty part means the file is absent (the readers'
 * "unknown"; sysfs and procfs files are never empty, they end in '\n').
 * The tree is a two-node, two-tier shape (node0, node1, memory_tier4,
 * memory_tier54) like tests/fixtures/vm-6.12-hmat-2tier, created once on
 * tmpfs; only the files are rewritten per input.  Property: a failed read
 * says which file, a successful one converts to JSON.
 */
#include "fuzz.h"

#include <errno.h>
#include <string.h>
#include <json-c/json.h>

#include "tier/snapshot.h"

#define NODE "sys/devices/system/node/"
#define TIERS "sys/devices/virtual/memory_tiering/"

static const char *const files[] = {
	NODE "possible",
	NODE "online",
	NODE "has_cpu",
	NODE "has_memory",
	NODE "has_normal_memory",
	NODE "node0/cpulist",
	NODE "node0/distance",
	NODE "node0/meminfo",
	NODE "node0/vmstat",
	NODE "node1/cpulist",
	NODE "node1/distance",
	NODE "node1/meminfo",
	NODE "node1/vmstat",
	NODE "node1/access0/initiators/read_latency",
	NODE "node1/access0/initiators/read_bandwidth",
	TIERS "memory_tier4/nodelist",
	TIERS "memory_tier54/nodelist",
	"sys/kernel/mm/numa/demotion_enabled",
	"proc/sys/kernel/numa_balancing",
	"proc/vmstat",
	"proc/zoneinfo",
};
#define NFILES (sizeof(files) / sizeof(files[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int root = -1;
	if (root < 0) {
		root = fuzz_scratch_fd();
		/* The directories are the shape; create them once. */
		for (size_t i = 0; i < NFILES; i++)
			fuzz_put(root, files[i], "", 0);
	}
	struct fuzz_part parts[NFILES];
	size_t n = fuzz_split(data, size, parts, NFILES);
	for (size_t i = 0; i < NFILES; i++) {
		if (i < n && parts[i].size > 0)
			fuzz_put(root, files[i], parts[i].data, parts[i].size);
		else
			fuzz_remove(root, files[i]);
	}

	struct tier_snapshot *s = NULL;
	char err[512] = "";
	int r = tier_snapshot_acquire(root, &s, err, sizeof(err));
	if (r < 0) {
		fuzz_note("  rejected: %s", err);
		FUZZ_CHECK(s == NULL);
		FUZZ_CHECK(err[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(s->nr_nodes == 2);
	fuzz_note("  read: %d nodes, %d tiers", s->nr_nodes, s->nr_tiers);
	json_object_put(tier_snapshot_to_json(s));
	tier_snapshot_free(s);
	return 0;
}
