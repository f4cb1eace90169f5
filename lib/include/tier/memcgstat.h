/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * memory.numa_stat of a memory cgroup: how much of its memory is on a node.
 * A cheap signal (the kernel sums per-node counters, no page-table walk) that
 * tells a victim scan which cgroups have memory on a pressured node at all,
 * before any per-process walk.
 *
 * cgroup v2 (5.x+): one line per item, values in bytes:
 *     "anon N0=1052672 N1=8192" / "file N0=... N1=..." / "kernel_stack ..."
 * cgroup v1: one line per LRU set, values in pages:
 *     "total=316 N0=300 N1=16" / "file=..." / "anon=..." / "hierarchical_total=..."
 * Both are recognised from the text.  User memory is anon + file (v2) or
 * total (v1: the LRU pages, anon and file).
 */
#include <stdint.h>

/* on_node_bytes: user memory of the cgroup on node; total_bytes: on every
 * node.  Returns 0, -EINVAL (neither format, a bad number), -ENOENT (no
 * anon/file or total line). */
int tier_memcg_numa_stat_parse(const char *text, uint64_t page_size, int node, uint64_t *on_node_bytes,
			       uint64_t *total_bytes);
