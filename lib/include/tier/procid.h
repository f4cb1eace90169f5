/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Process identity that survives PID reuse.
 *
 * A PID names a process only until it is reaped; the number is then handed
 * out again (cyclically, or on demand with clone3(set_tid) by a privileged
 * caller).  Relief keeps victims across slices and ticks and move_pages(2)
 * takes a PID, so it holds an identity instead:
 *  - a pidfd (pidfd_open, 5.3+), which refers to one process for its whole
 *    life: while pidfd_send_signal(pidfd, 0) succeeds the PID still names
 *    that process (a zombie holds its PID until reaped);
 *  - the process's start time (field 22 of /proc/PID/stat, clock ticks since
 *    boot), unique per PID at any moment: the fallback without pidfds, and a
 *    second check;
 *  - a /proc/PID directory fd opened while the identity was verified: files
 *    opened through it belong to that process, and answer ESRCH once it is
 *    gone, even if the number is reused (procfs ties the directory to the
 *    struct pid, not to the number).
 * Verification order: pidfd_open(pid), open proc/PID, read its stat, then
 * check the pidfd is still alive.  If it is, the directory and the stat read
 * were of the process the pidfd names.  The pidfd calls are in the daemon's
 * ops table (tests fake them); this file has the pure parser and the reader.
 */
#include <stdint.h>
#include <sys/types.h>

struct tier_proc_stat {
	pid_t pid;
	char comm[64];            /* between the first '(' and the last ')' (truncated) */
	char state;               /* R S D Z T t X I ... */
	pid_t ppid;
	uint64_t start_time;      /* field 22, clock ticks since boot */
};

/* Parse /proc/PID/stat.  The comm may hold spaces and parentheses: it ends
 * at the last ')'.  Returns 0 or -EINVAL (fewer than 22 fields, bad numbers). */
int tier_proc_stat_parse(const char *text, struct tier_proc_stat *out);

/* Read and parse "stat" relative to dirfd (a proc/PID directory fd).
 * Returns 0, -ESRCH (gone: ENOENT and ESRCH both mean that), -EINVAL. */
int tier_proc_read_stat_at(int dirfd, struct tier_proc_stat *out);

/* Open rootfd/proc/PID as a directory (O_PATH is not enough: files are
 * opened through it).  Returns the fd or -ESRCH (gone) / another -errno. */
int tier_proc_open_dir(int rootfd, pid_t pid);
