/* SPDX-License-Identifier: MIT */
/* Topology diff on real captures (2tier vs 3tier: a node and a tier more)
 * and on small edits of a copy (node moved between tiers, memory blocks
 * onlined and offlined, a node losing all of its memory). */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tier/nodemask.h>
#include <tier/snapshot.h>
#include <tier/topodiff.h>

#define PAGE 4096ull
#define MIB (1ull << 20)

static struct tier_snapshot *snap_fixture(const char *name)
{
	int fd = tu_open_fixture(name);
	struct tier_snapshot *s = NULL;
	char err[256] = "";
	int r = tier_snapshot_acquire(fd, &s, err, sizeof(err));
	close(fd);
	if (r < 0)
		fail_msg("acquire %s: %s", name, err);
	return s;
}

static struct tier_snapshot *snap_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	struct tier_snapshot *s = NULL;
	char err[256] = "";
	int r = tier_snapshot_acquire(fd, &s, err, sizeof(err));
	close(fd);
	if (r < 0)
		fail_msg("acquire %s: %s", dir, err);
	return s;
}

static struct tier_topo *topo_dir(const char *dir)
{
	struct tier_snapshot *s = snap_dir(dir);
	struct tier_topo *t = tier_topo_from_snapshot(s);
	tier_snapshot_free(s);
	assert_non_null(t);
	return t;
}

/* The changes of one kind (and node, -1 = any) in d. */
static size_t count(const struct tier_topodiff *d, enum tier_topo_change_kind k, int node)
{
	size_t n = 0;
	for (size_t i = 0; i < d->nr; i++)
		if (d->changes[i].kind == k && (node < 0 || d->changes[i].node == node))
			n++;
	return n;
}

static const struct tier_topo_change *find(const struct tier_topodiff *d, enum tier_topo_change_kind k, int node)
{
	for (size_t i = 0; i < d->nr; i++)
		if (d->changes[i].kind == k && d->changes[i].node == node)
			return &d->changes[i];
	fail_msg("no %s change for node %d in \"%s\"", tier_topo_change_name(k), node, d->summary);
	return NULL;
}

/* Set "managed" (and, to stay consistent, "present") of one zone of
 * proc/zoneinfo in the copy at dir. */
static void set_managed(const char *dir, int node, const char *zone, unsigned long long pages)
{
	char path[4096], head[64];
	snprintf(path, sizeof(path), "%s/proc/zoneinfo", dir);
	char *text = tu_read_file(path);
	assert_non_null(text);
	snprintf(head, sizeof(head), "Node %d, zone %*s\n", node, 8, zone);
	char *z = strstr(text, head);
	if (!z)
		fail_msg("no \"%s\" in %s", head, path);
	char *m = strstr(z, "\n        managed  ");
	assert_non_null(m);
	m += strlen("\n        managed  ");
	char *eol = strchr(m, '\n');
	size_t pre = (size_t)(m - text);
	char *out = malloc(strlen(text) + 32);
	assert_non_null(out);
	memcpy(out, text, pre);
	sprintf(out + pre, "%llu%s", pages, eol);
	tu_write_file(dir, "proc/zoneinfo", out);
	free(out);
	free(text);
}

static void rm_path(const char *dir, const char *rel)
{
	char cmd[8300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/%s'", dir, rel);
	assert_int_equal(system(cmd), 0);
}

/* 2tier -> 3tier: node 2 and tier 270 appear; node 0 may now fall back to
 * node 2, node 1 gets node 2 as its target.  The captures' node 0/1 sizes
 * differ by ~36 MiB (separate boots): reported, but below the threshold. */
static void test_node_added(void **state)
{
	(void)state;
	struct tier_snapshot *a = snap_fixture("vm-6.12-hmat-2tier");
	struct tier_snapshot *b = snap_fixture("vm-6.12-hmat-3tier");
	struct tier_topodiff d;
	assert_int_equal(tier_topodiff_snapshots(a, b, &d), 0);

	assert_true(d.significant);
	assert_int_equal(d.nodes_added, 1);
	assert_int_equal(d.nodes_removed, 0);
	const struct tier_topo_change *c = find(&d, TIER_TOPO_NODE_ADDED, 2);
	assert_true(c->significant);
	assert_int_equal(c->tier_after, 270);
	/* Node 2's DMA32 managed pages, 4 KiB each. */
	assert_int_equal(c->bytes_after, 128429ull * PAGE);
	assert_int_equal(count(&d, TIER_TOPO_TIER_ADDED, -1), 1);
	assert_int_equal(count(&d, TIER_TOPO_NODE_DEMOTION_CHANGED, 0), 1);
	assert_int_equal(count(&d, TIER_TOPO_NODE_DEMOTION_CHANGED, 1), 1);
	assert_int_equal(count(&d, TIER_TOPO_NODE_TIER_CHANGED, -1), 0);
	c = find(&d, TIER_TOPO_NODE_MEMORY_GROWN, 0);
	assert_false(c->significant);
	assert_int_equal(c->bytes_before, (3840ull + 244218) * PAGE);
	assert_int_equal(c->bytes_after, (3840ull + 253773) * PAGE);
	assert_false(find(&d, TIER_TOPO_NODE_MEMORY_SHRUNK, 1)->significant);
	/* The tier change comes after the node changes. */
	assert_int_equal(d.changes[d.nr - 1].kind, TIER_TOPO_TIER_ADDED);
	assert_int_equal(d.changes[d.nr - 1].tier_after, 270);
	assert_string_equal(d.summary, "tiers 4:0 54:1 \u2192 4:0 54:1 270:2; node 0 fallback 1 \u2192 1-2; "
				       "node 1 demotes to none \u2192 2 fallback none \u2192 2; "
				       "node 2 added (tier 270, 502 MiB)");
	tier_topodiff_clear(&d);
	assert_int_equal(d.nr, 0);
	assert_null(d.changes);
	tier_snapshot_free(a);
	tier_snapshot_free(b);
}

static void test_node_removed(void **state)
{
	(void)state;
	struct tier_snapshot *a = snap_fixture("vm-6.12-hmat-3tier");
	struct tier_snapshot *b = snap_fixture("vm-6.12-hmat-2tier");
	struct tier_topodiff d;
	assert_int_equal(tier_topodiff_snapshots(a, b, &d), 0);
	assert_true(d.significant);
	assert_int_equal(d.nodes_added, 0);
	assert_int_equal(d.nodes_removed, 1);
	const struct tier_topo_change *c = find(&d, TIER_TOPO_NODE_REMOVED, 2);
	assert_int_equal(c->tier_before, 270);
	assert_int_equal(c->bytes_before, 128429ull * PAGE);
	assert_int_equal(count(&d, TIER_TOPO_TIER_REMOVED, -1), 1);
	assert_int_equal(d.changes[d.nr - 1].tier_before, 270);
	assert_non_null(strstr(d.summary, "tiers 4:0 54:1 270:2 \u2192 4:0 54:1;"));
	assert_non_null(strstr(d.summary, "node 2 removed (was tier 270, 502 MiB)"));
	assert_non_null(strstr(d.summary, "node 1 demotes to 2 \u2192 none"));
	tier_topodiff_clear(&d);
	tier_snapshot_free(a);
	tier_snapshot_free(b);
}

/* Same shape, different load (a 1.9 GiB hog): nothing to re-plan. */
static void test_same_shape(void **state)
{
	(void)state;
	struct tier_snapshot *a = snap_fixture("vm-6.12-hmat-2tier");
	struct tier_snapshot *b = snap_fixture("vm-6.12-hmat-2tier-pressure");
	struct tier_topodiff d;
	assert_int_equal(tier_topodiff_snapshots(a, b, &d), 0);
	assert_false(d.significant);
	for (size_t i = 0; i < d.nr; i++)
		assert_false(d.changes[i].significant);
	tier_topodiff_clear(&d);
	assert_int_equal(tier_topodiff_snapshots(a, a, &d), 0);
	assert_int_equal(d.nr, 0);
	assert_false(d.significant);
	assert_string_equal(d.summary, "");
	tier_topodiff_clear(&d);
	tier_snapshot_free(a);
	tier_snapshot_free(b);
}

/* Node 1 re-registered with another memory type: tier 54 -> 22. */
static void test_moved_between_tiers(void **state)
{
	(void)state;
	char *dir = tu_copy_fixture("vm-6.12-hmat-2tier");
	struct tier_topo *a = topo_dir(dir);
	tu_write_file(dir, "sys/devices/virtual/memory_tiering/memory_tier22/nodelist", "1\n");
	rm_path(dir, "sys/devices/virtual/memory_tiering/memory_tier54");
	struct tier_topo *b = topo_dir(dir);
	struct tier_topodiff d;
	assert_int_equal(tier_topodiff(a, b, &d), 0);
	assert_true(d.significant);
	const struct tier_topo_change *c = find(&d, TIER_TOPO_NODE_TIER_CHANGED, 1);
	assert_int_equal(c->tier_before, 54);
	assert_int_equal(c->tier_after, 22);
	assert_int_equal(count(&d, TIER_TOPO_TIER_ADDED, -1), 1);
	assert_int_equal(count(&d, TIER_TOPO_TIER_REMOVED, -1), 1);
	/* Node 0 still demotes to node 1: the targets did not change. */
	assert_int_equal(count(&d, TIER_TOPO_NODE_DEMOTION_CHANGED, -1), 0);
	assert_int_equal(d.nodes_added + d.nodes_removed, 0);
	assert_string_equal(d.summary, "tiers 4:0 54:1 \u2192 4:0 22:1; node 1 tier 54 \u2192 22");
	tier_topodiff_clear(&d);

	/* A second node joins tier 22 (leaving tier 4 empty, so it goes):
	 * tier 22's node set changes. */
	tier_topo_free(a);
	a = b;
	tu_write_file(dir, "sys/devices/virtual/memory_tiering/memory_tier22/nodelist", "0-1\n");
	rm_path(dir, "sys/devices/virtual/memory_tiering/memory_tier4");
	b = topo_dir(dir);
	assert_int_equal(tier_topodiff(a, b, &d), 0);
	assert_int_equal(count(&d, TIER_TOPO_TIER_NODES_CHANGED, -1), 1);
	assert_int_equal(count(&d, TIER_TOPO_TIER_REMOVED, -1), 1);
	/* One tier left: nobody demotes any more. */
	assert_int_equal(count(&d, TIER_TOPO_NODE_DEMOTION_CHANGED, 0), 1);
	c = find(&d, TIER_TOPO_NODE_TIER_CHANGED, 0);
	assert_int_equal(c->tier_before, 4);
	assert_int_equal(c->tier_after, 22);
	tier_topodiff_clear(&d);

	tier_topo_free(a);
	tier_topo_free(b);
	tu_rm_rf(dir);
	free(dir);
}

/* Memory blocks of node 1 offlined (128 MiB = 32768 pages), onlined again,
 * and small steps below the threshold. */
static void test_memory_grown_shrunk(void **state)
{
	(void)state;
	char *dir = tu_copy_fixture("vm-6.12-hmat-2tier");
	struct tier_topo *base = topo_dir(dir);
	struct tier_topodiff d;

	set_managed(dir, 1, "DMA32", 257454 - 32768);
	struct tier_topo *t = topo_dir(dir);
	assert_int_equal(tier_topodiff(base, t, &d), 0);
	assert_true(d.significant);
	assert_int_equal(d.nr, 1);
	assert_int_equal(d.changes[0].kind, TIER_TOPO_NODE_MEMORY_SHRUNK);
	assert_int_equal(d.changes[0].node, 1);
	assert_int_equal(d.changes[0].bytes_before, 257454 * PAGE);
	assert_int_equal(d.changes[0].bytes_after, (257454 - 32768) * PAGE);
	assert_string_equal(d.summary, "tiers 4:0 54:1 (unchanged); node 1 memory 1006 \u2192 878 MiB");
	tier_topodiff_clear(&d);
	tier_topo_free(t);

	set_managed(dir, 1, "DMA32", 257454 + 2 * 32768);
	t = topo_dir(dir);
	assert_int_equal(tier_topodiff(base, t, &d), 0);
	assert_true(d.significant);
	assert_int_equal(d.nr, 1);
	assert_int_equal(d.changes[0].kind, TIER_TOPO_NODE_MEMORY_GROWN);
	assert_true(d.changes[0].significant);
	assert_int_equal(d.changes[0].bytes_after, (257454 + 65536) * PAGE);
	tier_topodiff_clear(&d);
	tier_topo_free(t);

	/* 4 MiB (a virtio-mem sub-block): reported, not significant; the
	 * summary still says what changed. */
	set_managed(dir, 1, "DMA32", 257454 - 1024);
	t = topo_dir(dir);
	assert_int_equal(tier_topodiff(base, t, &d), 0);
	assert_false(d.significant);
	assert_int_equal(d.nr, 1);
	assert_false(d.changes[0].significant);
	assert_string_equal(d.summary, "tiers 4:0 54:1 (unchanged); node 1 memory 1006 \u2192 1002 MiB");
	tier_topodiff_clear(&d);
	tier_topo_free(t);

	/* Drift: 4 MiB steps are never significant against the previous
	 * topo, but against the baseline they add up at 64 MiB. */
	struct tier_topo *prev = topo_dir(dir);
	int steps = 0;
	bool sig_vs_base = false;
	for (unsigned long long pages = 257454 - 2048; !sig_vs_base && pages > 200000; pages -= 1024) {
		set_managed(dir, 1, "DMA32", pages);
		t = topo_dir(dir);
		assert_int_equal(tier_topodiff(prev, t, &d), 0);
		assert_false(d.significant);
		tier_topodiff_clear(&d);
		assert_int_equal(tier_topodiff(base, t, &d), 0);
		sig_vs_base = d.significant;
		if (sig_vs_base)
			assert_true(257454 - pages >= TIER_TOPODIFF_MIN_MEMORY_BYTES / PAGE);
		else
			assert_true(257454 - pages < TIER_TOPODIFF_MIN_MEMORY_BYTES / PAGE);
		tier_topodiff_clear(&d);
		tier_topo_free(prev);
		prev = t;
		steps++;
	}
	assert_true(sig_vs_base);
	assert_int_equal(steps, 15);   /* 2048 + 15 * 1024 = 16384 pages = 64 MiB */
	tier_topo_free(prev);
	tier_topo_free(base);
	tu_rm_rf(dir);
	free(dir);
}

/* Every block of node 1 offline: the node stays (and stays online) but has
 * no memory, leaves its tier, and node 0 has nowhere to demote. */
static void test_node_memory_gone(void **state)
{
	(void)state;
	char *dir = tu_copy_fixture("vm-6.12-hmat-2tier");
	struct tier_topo *a = topo_dir(dir);
	set_managed(dir, 1, "DMA32", 0);
	tu_write_file(dir, "sys/devices/system/node/has_memory", "0\n");
	tu_write_file(dir, "sys/devices/system/node/has_normal_memory", "0\n");
	rm_path(dir, "sys/devices/virtual/memory_tiering/memory_tier54");
	struct tier_topo *b = topo_dir(dir);
	struct tier_topodiff d;
	assert_int_equal(tier_topodiff(a, b, &d), 0);
	assert_true(d.significant);
	assert_int_equal(count(&d, TIER_TOPO_NODE_MEMORY_REMOVED, 1), 1);
	assert_int_equal(count(&d, TIER_TOPO_NODE_OFFLINED, -1), 0);
	assert_int_equal(count(&d, TIER_TOPO_NODE_REMOVED, -1), 0);
	const struct tier_topo_change *c = find(&d, TIER_TOPO_NODE_TIER_CHANGED, 1);
	assert_int_equal(c->tier_before, 54);
	assert_int_equal(c->tier_after, -1);
	assert_true(find(&d, TIER_TOPO_NODE_MEMORY_SHRUNK, 1)->significant);
	assert_int_equal(count(&d, TIER_TOPO_NODE_DEMOTION_CHANGED, 0), 1);
	assert_int_equal(count(&d, TIER_TOPO_TIER_REMOVED, -1), 1);
	assert_string_equal(d.summary, "tiers 4:0 54:1 \u2192 4:0; node 0 demotes to 1 \u2192 none fallback 1 \u2192 none; "
				       "node 1 tier 54 \u2192 none, memory 1006 \u2192 0 MiB");
	tier_topodiff_clear(&d);

	/* And back: the reverse changes. */
	assert_int_equal(tier_topodiff(b, a, &d), 0);
	assert_int_equal(count(&d, TIER_TOPO_NODE_MEMORY_ADDED, 1), 1);
	assert_int_equal(count(&d, TIER_TOPO_NODE_MEMORY_GROWN, 1), 1);
	assert_int_equal(count(&d, TIER_TOPO_TIER_ADDED, -1), 1);
	assert_non_null(strstr(d.summary, "node 1 tier none \u2192 54, memory 0 \u2192 1006 MiB"));
	tier_topodiff_clear(&d);

	tier_topo_free(a);
	tier_topo_free(b);
	tu_rm_rf(dir);
	free(dir);
}

/* A node present on both sides going offline and online.  (On a real
 * kernel an offline node has no sysfs directory, so this is only seen when
 * a tree lists it; the diff still reports it.) */
static void test_online_offline(void **state)
{
	(void)state;
	struct tier_topo_node na = { .id = 3, .online = true, .has_memory = false, .tier = -1 };
	struct tier_topo_node nb = na;
	na.demotion_preferred = nb.demotion_preferred = tier_nodemask_alloc();
	na.demotion_fallback = nb.demotion_fallback = tier_nodemask_alloc();
	nb.online = false;
	struct tier_topo a = { .nodes = &na, .nr_nodes = 1 }, b = { .nodes = &nb, .nr_nodes = 1 };
	struct tier_topodiff d;
	assert_int_equal(tier_topodiff(&a, &b, &d), 0);
	assert_int_equal(d.nr, 1);
	assert_int_equal(d.changes[0].kind, TIER_TOPO_NODE_OFFLINED);
	assert_true(d.significant);
	assert_string_equal(d.summary, "tiers none (unchanged); node 3 offline");
	tier_topodiff_clear(&d);
	assert_int_equal(tier_topodiff(&b, &a, &d), 0);
	assert_int_equal(d.nr, 1);
	assert_int_equal(d.changes[0].kind, TIER_TOPO_NODE_ONLINED);
	assert_string_equal(d.summary, "tiers none (unchanged); node 3 online");
	tier_topodiff_clear(&d);
	tier_bitmask_free(na.demotion_preferred);
	tier_bitmask_free(na.demotion_fallback);
}

/* No "before" (first snapshot) and a summary too long for the buffer. */
static void test_null_and_truncation(void **state)
{
	(void)state;
	struct tier_topodiff d;
	assert_int_equal(tier_topodiff(NULL, NULL, &d), 0);
	assert_int_equal(d.nr, 0);
	tier_topodiff_clear(&d);

	struct tier_topo t = { 0 };
	enum { N = 300 };
	t.nodes = calloc(N, sizeof(*t.nodes));
	assert_non_null(t.nodes);
	for (int i = 0; i < N; i++) {
		t.nodes[i] = (struct tier_topo_node){ .id = i, .online = true, .has_memory = true, .tier = 54,
						      .memory_bytes = 256 * MIB };
		t.nodes[i].demotion_preferred = tier_nodemask_alloc();
		t.nodes[i].demotion_fallback = tier_nodemask_alloc();
	}
	t.nr_nodes = N;
	assert_int_equal(tier_topodiff(NULL, &t, &d), 0);
	assert_int_equal(d.nodes_added, N);
	assert_int_equal(d.nr, N);
	size_t len = strlen(d.summary);
	assert_true(len < sizeof(d.summary));
	assert_true(len > sizeof(d.summary) - 64);
	assert_string_equal(d.summary + len - 3, "...");
	assert_non_null(strstr(d.summary, "tiers none (unchanged); node 0 added (tier 54, 256 MiB); node 1 added"));
	tier_topodiff_clear(&d);

	assert_int_equal(tier_topodiff(&t, NULL, &d), 0);
	assert_int_equal(d.nodes_removed, N);
	tier_topodiff_clear(&d);
	for (int i = 0; i < N; i++) {
		tier_bitmask_free(t.nodes[i].demotion_preferred);
		tier_bitmask_free(t.nodes[i].demotion_fallback);
	}
	free(t.nodes);

	char buf[8];
	assert_int_equal(tier_topo_format_tiers(NULL, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "none");
	assert_string_equal(tier_topo_change_name(TIER_TOPO_NODE_MEMORY_SHRUNK), "node-memory-shrunk");
}

/* tier_topo_format_tiers reports the length needed when the buffer is short. */
static void test_format_tiers(void **state)
{
	(void)state;
	struct tier_snapshot *s = snap_fixture("vm-6.12-hmat-3tier");
	struct tier_topo *t = tier_topo_from_snapshot(s);
	char buf[64], small[6];
	assert_int_equal(tier_topo_format_tiers(t, buf, sizeof(buf)), strlen("4:0 54:1 270:2"));
	assert_string_equal(buf, "4:0 54:1 270:2");
	assert_int_equal(tier_topo_format_tiers(t, small, sizeof(small)), strlen("4:0 54:1 270:2"));
	assert_string_equal(small, "4:0 5");
	assert_non_null(tier_topo_node(t, 2));
	assert_null(tier_topo_node(t, 3));
	assert_int_equal(tier_topo_node(t, 2)->tier, 270);
	tier_topo_free(t);
	tier_snapshot_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_added),
		cmocka_unit_test(test_node_removed),
		cmocka_unit_test(test_same_shape),
		cmocka_unit_test(test_moved_between_tiers),
		cmocka_unit_test(test_memory_grown_shrunk),
		cmocka_unit_test(test_node_memory_gone),
		cmocka_unit_test(test_online_offline),
		cmocka_unit_test(test_null_and_truncation),
		cmocka_unit_test(test_format_tiers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
