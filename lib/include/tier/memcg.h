/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * memory.numa_stat of a memory cgroup: how much of the cgroup's memory is
 * on each node.  One read per cgroup, with no page table walk, so it is the
 * cheap first signal before anything reads a process's numa_maps (which
 * walks its page tables under its mmap lock): a cgroup with nothing on a
 * node has no task whose pages need looking at there.
 *
 * Formats (Documentation/admin-guide/cgroup-v{1,2}):
 *  v1: "total=2412 N0=2412\nfile=... \nanon=...\n...hierarchical_total=..."
 *      page counts; "total" is the cgroup's own (file + anon + unevictable).
 *  v2: "anon 1048576 N0=1048576 N1=0\nfile N0=... \n..."; BYTES per node,
 *      hierarchical; user memory that migrate_pages moves is anon + file.
 * Pure: parses text.
 */
#include <stddef.h>
#include <stdint.h>

/* Pages per node (v2 bytes are divided by page_size, 0 = 4096) into
 * pages[0..max_nodes) (zeroed first; nodes beyond are dropped).  Returns 0,
 * or -EINVAL when the text has none of the lines it needs (v1 "total=",
 * v2 "anon" and "file") or a malformed N<node>= token on them. */
int tier_memcg_numa_stat_parse(const char *text, int version, uint64_t page_size, uint64_t *pages,
			       unsigned max_nodes);
