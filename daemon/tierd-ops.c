/* SPDX-License-Identifier: MIT */
#include "tierd-ops.h"
#include "fsutil.h"
#include "tierd-cgroup.h"
#include "tierd-systemd.h"

#include <errno.h>
#include <fcntl.h>
#include <numa.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int real_write_attr(int rootfd, const char *relpath, const char *value)
{
	/* O_TRUNC matters only for plain files (fixture roots); sysfs ignores it.
	 * No O_CREAT: a knob that does not exist is an error, not a new file. */
	int fd = openat(rootfd, relpath, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	size_t len = strlen(value);
	/* sysfs takes one write(2) per value: a short write is an error. */
	ssize_t n = write(fd, value, len);
	int e = n < 0 ? errno : (size_t)n != len ? EIO : 0;
	if (close(fd) < 0 && e == 0)
		e = errno;
	return -e;
}

static int real_read_attr(int rootfd, const char *relpath, char *buf, size_t size)
{
	return tier_read_attr_at(rootfd, relpath, buf, size);
}

static long real_move_pages(pid_t pid, unsigned long count, void **pages, const int *nodes, int *status, int flags)
{
	/* numa_move_pages is the raw syscall: -1 and errno on failure. */
	long r = numa_move_pages(pid, count, pages, nodes, status, flags);
	return r < 0 ? -errno : r;
}

/* Debian 12's glibc (2.36) has pidfd_open in <sys/pidfd.h>, but the raw
 * syscalls keep this building against older C libraries too. */
static int real_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
	long fd = syscall(SYS_pidfd_open, pid, 0);
	return fd < 0 ? -errno : (int)fd;
#else
	(void)pid;
	return -ENOSYS;
#endif
}

static int real_pidfd_alive(int pidfd)
{
#ifdef SYS_pidfd_send_signal
	return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0 ? -errno : 0;
#else
	(void)pidfd;
	return -ENOSYS;
#endif
}

static int real_clear_soft_dirty(int procdirfd)
{
	int fd = openat(procdirfd, "clear_refs", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	ssize_t n = write(fd, "4", 1);
	int e = n < 0 ? errno : n != 1 ? EIO : 0;
	close(fd);
	return -e;
}

static long real_migrate_pages(pid_t pid, const struct bitmask *from, const struct bitmask *to)
{
	/* libnuma takes non-const masks but does not change them. */
	int r = numa_migrate_pages((int)pid, (struct bitmask *)from, (struct bitmask *)to);
	return r < 0 ? -errno : r;
}

const struct tierd_ops tierd_real_ops = {
	.write_attr = real_write_attr,
	.read_attr = real_read_attr,
	.move_pages = real_move_pages,
	.pidfd_open = real_pidfd_open,
	.pidfd_alive = real_pidfd_alive,
	.clear_soft_dirty = real_clear_soft_dirty,
	.cgroup_discover = tierd_cgroup_discover,
	.cgroup_walk = tierd_cgroup_walk,
	.cgroup_walk_free = tierd_cgroup_walk_free,
	.cgroup_write = tierd_cgroup_write,
	.migrate_pages = real_migrate_pages,
	.unit_get_property = tierd_unit_get_property,
	.unit_set_property = tierd_unit_set_property,
	.unit_flush = tierd_unit_flush,
};
