/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Private helpers for the sysfs/procfs readers of libtier.
 *
 * Every path is relative to a root directory fd ("/" in production, a fixture
 * tree in tests) and opened with openat(O_CLOEXEC); never an absolute path.
 * Errors are negative errno values.  "Absent" is always -ENOENT (the file or a
 * parent directory does not exist; ENOTDIR is folded into it), so callers can
 * tell an optional file that this kernel does not have from a real failure.
 * Nothing here logs.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Files larger than this are refused with -EFBIG (procfs files we read are a
 * few KiB; /proc/zoneinfo on a big host is a few hundred KiB). */
#define TIER_READ_MAX_BYTES (16u << 20)

/*
 * Read the whole file rootfd/relpath.  On success returns 0, *out is a
 * malloc'd NUL-terminated buffer (free() it) and *len (if len is not NULL) its
 * length without the NUL.  Embedded NUL bytes are kept in *len but end the
 * string for the parse helpers.  On failure *out is NULL and the return is
 * -ENOENT (absent), -EFBIG (over TIER_READ_MAX_BYTES), -ENOMEM or the errno of
 * openat/read (sysfs attributes may fail a read with e.g. -EIO).
 */
int tier_read_file_at(int rootfd, const char *relpath, char **out, size_t *len);

/* Read a small attribute (one read(2), as sysfs and cgroupfs want) into buf,
 * trailing newlines and blanks stripped.  Returns 0 or -errno (-ENOENT when
 * absent, like the others here), -EINVAL if size is 0. */
int tier_read_attr_at(int dirfd, const char *relpath, char *buf, size_t size);

/* Read fd to its end into a malloc'd NUL-terminated buffer (*out, length in
 * *len if len is not NULL).  Does not close fd.  Returns 0, -EFBIG when the
 * content reaches max_bytes, -ENOMEM or the errno of read(2). */
int tier_read_fd(int fd, size_t max_bytes, char **out, size_t *len);

/* Read a file that holds one value: leading/trailing whitespace is trimmed.
 * Same returns as tier_read_file_at, plus -EINVAL when the text is not
 * exactly one number (decimal; u64 also refuses a sign). */
int tier_read_u64_at(int rootfd, const char *relpath, uint64_t *out);
int tier_read_int_at(int rootfd, const char *relpath, int *out);

/* 0 when relpath exists and is a directory, -ENOENT when absent, -ENOTDIR
 * when it is something else, or another -errno. */
int tier_dir_exists_at(int rootfd, const char *relpath);

/* Strict number parsers: the whole of s (after trimming ASCII whitespace at
 * both ends) must be a decimal number.  0 or -EINVAL / -ERANGE. */
int tier_parse_u64(const char *s, uint64_t *out);
int tier_parse_int(const char *s, int *out);

/* Remove trailing ASCII whitespace in place; returns s. */
char *tier_rstrip(char *s);

/*
 * "key value" files (/proc/vmstat, nodeN/vmstat, zoneinfo-like lines): find
 * the line whose first word is exactly key and parse the second word as u64.
 * Returns 0, -ENOENT when no line has that key, -EINVAL when the value is not
 * a number (or extra words follow it).
 */
int tier_kv_find_u64(const char *text, const char *key, uint64_t *out);

/*
 * meminfo files: "Node 0 MemTotal:   1030452 kB" (nodeN/meminfo) and
 * "MemTotal:   1030452 kB" (/proc/meminfo).  Finds the line for key (without
 * the colon, e.g. "Inactive(file)"), optional "Node N " prefix, and returns
 * the value in bytes when the unit is "kB", as is when there is no unit
 * (HugePages_Total).  Returns 0, -ENOENT (no such key), -EINVAL (malformed
 * value or unit), -ERANGE (overflow).
 */
int tier_meminfo_find_bytes(const char *text, const char *key, uint64_t *out);

/*
 * A file kept open and re-read with pread at offset 0 (the guard thread's
 * way: no open() per look, so a full fd table cannot blind it).  procfs and
 * sysfs regenerate the content on every read from offset 0.  Fixture roots
 * replace files by rename (tests write zoneinfo atomically), which an open
 * fd never sees: tier_attr_refresh() compares the inode the path names now
 * with the open one (fstatat: no fd needed) and reopens on a change; if that
 * open fails the old fd stays.
 */
struct tier_attr_fd {
	const char *relpath;      /* under the root fd; not owned */
	int flags;                /* open(2) flags (O_CLOEXEC is added) */
	int fd;                   /* -1 when absent or not opened */
	unsigned long long dev, ino;
	bool plain;               /* a regular file on a regular fs (fixture): writes must truncate */
};
/* Open (fd -1 and the errno on failure, -ENOENT when absent). */
int tier_attr_open(int rootfd, struct tier_attr_fd *a, const char *relpath, int flags);
/* Reopen when the path names another file now; 0, or -errno of the reopen
 * (the old fd is kept). */
int tier_attr_refresh(int rootfd, struct tier_attr_fd *a);
/* Read the whole content into buf (NUL-terminated, at most size - 1 bytes)
 * with pread from offset 0.  Returns the length, -EFBIG when it does not fit
 * (buf then holds a prefix), -EBADF when not open, or -errno. */
ssize_t tier_attr_pread(const struct tier_attr_fd *a, char *buf, size_t size);
/* Write value at offset 0 in one pwrite (sysfs takes one write per value);
 * a plain file is truncated to it.  0 or -errno (-EIO: short write). */
int tier_attr_pwrite(const struct tier_attr_fd *a, const char *value);
void tier_attr_close(struct tier_attr_fd *a);

/* snprintf into err (if err && errlen) -- the readers' error message. */
void tier_set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
