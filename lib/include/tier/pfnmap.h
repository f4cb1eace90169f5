/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * PFN -> node, from the memory blocks in sysfs.
 *
 * Physical memory is managed in blocks of
 * /sys/devices/system/memory/block_size_bytes (hex, e.g. "8000000" =
 * 128 MiB on x86; 2 GiB on big hosts); block M covers the PFNs
 * [M * block_pages, (M + 1) * block_pages).  Every block is linked under the
 * node(s) whose memory it holds: /sys/devices/system/node/nodeN/memoryM.
 * A boot-time block can straddle a node boundary; it is then linked under
 * each of those nodes and its PFNs have no single node ("mixed"): the caller
 * asks the kernel for those pages (a move_pages status query).  PFNs in no
 * block (holes, ZONE_DEVICE memory) are "unknown".
 *
 * The map changes with memory hotplug (a block added or removed, dax/kmem,
 * CXL regions): rebuild it when the topology changes.  Offlining a block
 * keeps its links, and its PFNs then hold no process pages anyway.
 *
 * tier_pfn_map_build is pure (tests give it block lists); tier_pfn_map_read
 * reads sysfs under a root fd.
 */
#include <stddef.h>
#include <stdint.h>

#define TIER_PFN_NODE_UNKNOWN (-1)
#define TIER_PFN_NODE_MIXED (-2)

struct tier_mem_block {
	uint64_t id;              /* M of memoryM */
	int node;                 /* N of the nodeN it is linked under */
};

/* Runs of consecutive blocks with one node, sorted by PFN, not overlapping. */
struct tier_pfn_run {
	uint64_t first_pfn, end_pfn;  /* [first, end) */
	int node;                     /* >= 0, or TIER_PFN_NODE_MIXED */
};

struct tier_pfn_map {
	struct tier_pfn_run *runs;
	size_t nr_runs;
	uint64_t block_pages;
	size_t nr_blocks, nr_mixed;   /* distinct blocks; blocks under several nodes */
};

/*
 * Build from (block, node) pairs in any order.  A block listed under two
 * different nodes is mixed; a pair listed twice counts once.  block_bytes
 * must be a non-zero multiple of page_size.  Returns 0, -EINVAL, -ERANGE (a
 * block id whose PFNs overflow), -ENOMEM.  *out is empty on error.
 */
int tier_pfn_map_build(uint64_t block_bytes, uint64_t page_size, const struct tier_mem_block *blocks, size_t n,
		       struct tier_pfn_map *out);
void tier_pfn_map_free(struct tier_pfn_map *m);

/* The node of pfn: >= 0, TIER_PFN_NODE_MIXED or TIER_PFN_NODE_UNKNOWN.
 * Binary search over the runs. */
int tier_pfn_map_node(const struct tier_pfn_map *m, uint64_t pfn);

/*
 * Read rootfd/sys/devices/system/memory/block_size_bytes and every
 * rootfd/sys/devices/system/node/nodeN/memoryM entry.  Returns 0, -ENOENT
 * when this kernel has no memory blocks (no CONFIG_MEMORY_HOTPLUG sysfs:
 * every PFN is then unknown), -EINVAL with a message in err for malformed
 * content, another -errno.
 */
int tier_pfn_map_read(int rootfd, uint64_t page_size, struct tier_pfn_map *out, char *err, size_t errlen);
