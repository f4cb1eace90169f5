/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * The cgroup adapter: the one file that talks to libcgroup (2.0.2 in Debian
 * 12).  Reached through the ops table (tierd-ops.h), so tests and dry-run
 * never get here.
 *
 * Paths: every path handed out is relative to the root fd (--root), so a
 * fixture root with a fake cgroup tree of plain files works like the host.
 * On the real root ("/"), the cpuset hierarchy is found by libcgroup and
 * cpuset.mems is written through it; under any other root the mount table is
 * ROOT/proc/self/mounts and every write is a plain write(2) under ROOT.
 */
#include <stdbool.h>
#include <stddef.h>

struct tier_fence_tree;

struct tierd_cgroup_hier {
	int version;             /* 1 or 2; 0 when no cpuset hierarchy was found */
	char mount[512];         /* mount point relative to the root: "sys/fs/cgroup/cpuset" */
	bool libcgroup;          /* the real root: write cpuset.mems through libcgroup */
};

/*
 * Find the hierarchy the cpuset controller is attached to: a v1 "cpuset"
 * mount (v1 and hybrid hosts) or the v2 unified mount whose root
 * cgroup.controllers lists cpuset.  Returns 0, -ENOENT (no cpuset anywhere;
 * err says so), or another negative errno.
 */
int tierd_cgroup_discover(int rootfd, struct tierd_cgroup_hier *h, char *err, size_t errlen);

/*
 * Walk a subtree (preorder, parents first) and append it to t, reading each
 * cgroup's cpuset.mems and, in v2, its cgroup.subtree_control, in bounded
 * steps: each call appends at most max cgroups and returns 1 (call again
 * with the same *w), 0 (done) or a negative errno (-ENOENT: the subtree is
 * gone); *w is NULL after 0 or an error.  Start with *w NULL: parent -1 (t
 * empty) walks the whole hierarchy from its root, otherwise the cgroup NAME
 * under t->cg[parent] and everything below it (a new cgroup reported by
 * inotify, which may already have children).  t must not be changed by
 * anyone else between two calls.  visit(ctx, idx) (may be NULL) runs for
 * each cgroup right after it is appended and BEFORE its directory is read:
 * an inotify watch added there sees every child made after that read.
 * Cgroups that vanish during the walk are skipped.  Reads files directly:
 * libcgroup's cgroup_get_cgroup() would read every file of every
 * controller.  An open walk holds one directory fd per level (at most 128).
 */
struct tierd_cgroup_walk;
typedef void (*tierd_cgroup_visit_fn)(void *ctx, size_t idx);
int tierd_cgroup_walk(int rootfd, const struct tierd_cgroup_hier *h, struct tier_fence_tree *t, int parent,
		      const char *name, struct tierd_cgroup_walk **w, size_t max, tierd_cgroup_visit_fn visit,
		      void *ctx);
/* Cancel a walk (closes its fds); accepts NULL. */
void tierd_cgroup_walk_free(struct tierd_cgroup_walk *w);

/*
 * The hierarchy a controller ("memory") is attached to, from the root's
 * mount table (ROOT/proc/self/mounts, which on the real root is tierd's
 * own): a v1 mount with that option, else the v2 mount if its root
 * cgroup.controllers lists it.  Fills h (libcgroup false: only reads go
 * there).  Returns 0 or -ENOENT.
 */
int tierd_cgroup_find_controller(int rootfd, const char *controller, struct tierd_cgroup_hier *h);

/*
 * Write value to FILE ("cpuset.mems" or "cgroup.subtree_control") of the
 * cgroup at cgpath ("/a/b", within the hierarchy).  cpuset.mems with a
 * non-empty value on the real root goes through libcgroup with a fresh
 * struct holding only that value (cgroup_modify_cgroup() writes every value
 * a struct holds); the rest is one write(2).  Returns 0 or -errno (-ENOENT:
 * the cgroup is gone; -EINVAL/-EACCES/-EBUSY/-ENOSPC: the kernel refused).
 */
int tierd_cgroup_write(int rootfd, const struct tierd_cgroup_hier *h, const char *cgpath, const char *file,
		       const char *value);

/* "sys/fs/cgroup/cpuset/a/b/cpuset.mems" into buf (file may be NULL: the
 * directory).  Returns 0 or -ENAMETOOLONG. */
int tierd_cgroup_relpath(const struct tierd_cgroup_hier *h, const char *cgpath, const char *file, char *buf,
			 size_t size);
