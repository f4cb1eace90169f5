/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Reading a big /proc/PID text file a little at a time: maps, smaps.
 *
 * These are seq_files: each read(2) makes the kernel generate as many
 * records (one per VMA) as fit, under the process's mmap lock, and the file
 * position remembers where the next read resumes (since 6.x the address of
 * the last VMA shown, so VMAs that change in between are not skipped twice).
 * A process with 65,000 VMAs has ~5 MB of maps; reading all of it at once
 * costs tens of milliseconds.  A stream reads one chunk per refill, so a
 * caller that checks its budget between lines never does more than one
 * chunk of kernel work past it.
 *
 * Records are split into lines; a line longer than the buffer (a path is at
 * most PATH_MAX, so ~4.2 KiB) is an error, not a truncation.  Nothing here
 * logs.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tier_line_stream {
	int fd;                   /* owned */
	char *buf;
	size_t cap, start, len;   /* unread data is buf[start, start + len) */
	size_t chunk;             /* bytes per read(2) */
	bool eof;
	uint64_t reads, bytes;    /* read(2) calls and bytes so far (for status and tests) */
};

/* Take fd (closed by tier_line_stream_close, also on error here).  chunk:
 * bytes per read(2), 4 KiB .. 1 MiB.  Returns 0 or -ENOMEM / -EINVAL. */
int tier_line_stream_init(struct tier_line_stream *s, int fd, size_t chunk);
/* Open dirfd/name (O_RDONLY) and init.  Returns 0, -ESRCH when the process
 * is gone (ENOENT, ESRCH), another -errno. */
int tier_line_stream_open(struct tier_line_stream *s, int dirfd, const char *name, size_t chunk);
/* The next line, without its newline, valid until the next call: 1, or 0 at
 * the end, -E2BIG (line longer than the buffer), -ESRCH (the process went
 * away), another -errno.  A last line without newline is returned too. */
int tier_line_stream_next(struct tier_line_stream *s, const char **line, size_t *len);
/* Back to the start (lseek 0, buffer dropped). */
int tier_line_stream_rewind(struct tier_line_stream *s);
void tier_line_stream_close(struct tier_line_stream *s);

/*
 * smaps: the ranges of VMAs with "lo" (VM_LOCKED: mlock, mlockall,
 * MLOCK_ONFAULT) in their VmFlags line (3.8+).  Feed every line in order;
 * a header line ("start-end perms ...") starts a VMA, its VmFlags line says
 * whether it is locked.  Pure.
 */
struct tier_smaps_locked {
	uint64_t cur_start, cur_end;
	bool in_vma;
};
/* Returns 1 with [*start, *end) when the line closes a locked VMA, 0 for
 * other lines, -EINVAL for a malformed header or VmFlags line. */
int tier_smaps_locked_feed(struct tier_smaps_locked *st, const char *line, size_t len, uint64_t *start,
			   uint64_t *end);
