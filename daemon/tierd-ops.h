/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Side effects of tierd, behind a table so component tests can install fakes
 * that record calls and --dry-run can log instead of writing.  Every path is
 * relative to the root directory fd (--root), so the whole daemon can run
 * against a writable copy of a fixture tree.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tierd_cgroup_hier;
struct tierd_cgroup_walk;
struct tier_fence_tree;
struct bitmask;

struct tierd_ops {
	/* Write value to an existing attribute: sysfs/procfs file or, under a
	 * fixture root, a plain file (opened O_WRONLY|O_TRUNC, never created).
	 * Returns 0 or -errno (-ENOENT: the attribute vanished). */
	int (*write_attr)(int rootfd, const char *relpath, const char *value);
	/* Read an attribute, trailing newline stripped.  Returns 0 or -errno. */
	int (*read_attr)(int rootfd, const char *relpath, char *buf, size_t size);
	/* move_pages(2) (libnuma numa_move_pages) on process pid: with nodes
	 * NULL, a query that fills status[] with each page's node or -errno;
	 * otherwise moves page i to nodes[i] (flags MPOL_MF_MOVE or
	 * MPOL_MF_MOVE_ALL).  Returns 0, a positive count of pages the kernel
	 * could not migrate (since 4.17; status[] of those is left as the caller
	 * pre-filled it), or -errno (-ESRCH: the process is gone; -EACCES: a
	 * target node is outside the task's cpuset; -EPERM: not allowed to
	 * move that process's pages).  Used by relief (tierd-relief.c). */
	long (*move_pages)(pid_t pid, unsigned long count, void **pages, const int *nodes, int *status, int flags);
	/* Process identity for relief (tier/procid.h): pidfd_open(2) of pid
	 * (the fd, or -errno: -ESRCH gone, -ENOSYS before 5.3), and whether
	 * the process a pidfd names still exists (pidfd_send_signal(fd, 0):
	 * 0 alive, -ESRCH gone).  move_pages takes a PID; relief calls
	 * pidfd_alive right before every call to know the PID still names the
	 * process it chose. */
	int (*pidfd_open)(pid_t pid);
	int (*pidfd_alive)(int pidfd);
	/* Clear the soft-dirty bits of the process whose proc/PID directory
	 * is procdirfd (write "4" to its clear_refs): relief's access window.
	 * 0 or -errno (-ESRCH gone). */
	int (*clear_soft_dirty)(int procdirfd);

	/* Private-node fencing (tierd-fence.c).  The cgroup entries are the
	 * adapter in tierd-cgroup.c (see tierd-cgroup.h for their contracts). */
	int (*cgroup_discover)(int rootfd, struct tierd_cgroup_hier *h, char *err, size_t errlen);
	/* A bounded step of a tree walk (resumable: see tierd_cgroup_walk). */
	int (*cgroup_walk)(int rootfd, const struct tierd_cgroup_hier *h, struct tier_fence_tree *t, int parent,
			   const char *name, struct tierd_cgroup_walk **w, size_t max,
			   void (*visit)(void *ctx, size_t idx), void *ctx);
	void (*cgroup_walk_free)(struct tierd_cgroup_walk *w);
	int (*cgroup_write)(int rootfd, const struct tierd_cgroup_hier *h, const char *cgpath, const char *file,
			    const char *value);
	/* migrate_pages(2) (libnuma numa_migrate_pages): move pid's pages on
	 * from to to.  Returns the number of pages not moved (>= 0) or -errno
	 * (-ESRCH gone, -EPERM not allowed). */
	long (*migrate_pages)(pid_t pid, const struct bitmask *from, const struct bitmask *to);
	/* systemd (tierd-systemd.c): read or set (runtime) a unit property
	 * through PID 1, ASYNCHRONOUSLY: the call is queued on tierd's one bus
	 * connection and returns 0 (done(userdata, result, value) runs later,
	 * from the event loop, exactly once) or -errno (nothing queued, done
	 * never runs).  Values are node lists ("0-1", "" unset) for
	 * AllowedMemoryNodes; result -ENOENT: no such unit, -ETIMEDOUT.
	 * unit_flush blocks until every queued call completed or timeout_usec
	 * passed (stop, crash restore, --once only) and returns how many are
	 * still pending. */
	int (*unit_get_property)(const char *unit, const char *property,
				 void (*done)(void *userdata, int result, const char *value), void *userdata);
	int (*unit_set_property)(const char *unit, const char *property, const char *value,
				 void (*done)(void *userdata, int result, const char *value), void *userdata);
	unsigned (*unit_flush)(uint64_t timeout_usec);
};

extern const struct tierd_ops tierd_real_ops;

#define TIERD_KNOB_DEMOTION "sys/kernel/mm/numa/demotion_enabled"
