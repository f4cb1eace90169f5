/* SPDX-License-Identifier: MIT */
/* File and text helpers for the readers (contracts in fsutil.h). */
#include "fsutil.h"

#include <ctype.h>
#include <errno.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int absent_or(int e)
{
	return (e == ENOENT || e == ENOTDIR) ? -ENOENT : -e;
}

int tier_read_attr_at(int dirfd, const char *relpath, char *buf, size_t size)
{
	if (size == 0)
		return -EINVAL;
	int fd = openat(dirfd, relpath, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return absent_or(errno);
	ssize_t n = read(fd, buf, size - 1);
	int e = n < 0 ? errno : 0;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

int tier_read_fd(int fd, size_t max_bytes, char **out, size_t *len)
{
	/* st_size is useless for sysfs (4096) and procfs (0): grow as we go. */
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	*out = NULL;
	if (len)
		*len = 0;
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (cap - n < 2) {
			if (cap >= max_bytes) {
				free(buf);
				return -EFBIG;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(buf);
			return -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

int tier_read_file_at(int rootfd, const char *relpath, char **out, size_t *len)
{
	*out = NULL;
	if (len)
		*len = 0;
	int fd = openat(rootfd, relpath, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return absent_or(errno);

	int r = tier_read_fd(fd, TIER_READ_MAX_BYTES, out, len);
	close(fd);
	return r;
}

char *tier_rstrip(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Parse decimal digits of [s, e) as u64. */
static int parse_u64_span(const char *s, const char *e, uint64_t *out)
{
	if (s == e)
		return -EINVAL;
	uint64_t v = 0;
	for (; s < e; s++) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static void trim_span(const char **s, const char **e)
{
	while (*s < *e && isspace((unsigned char)**s))
		(*s)++;
	while (*e > *s && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

int tier_parse_u64(const char *s, uint64_t *out)
{
	const char *e = s + strlen(s);
	trim_span(&s, &e);
	return parse_u64_span(s, e, out);
}

int tier_parse_int(const char *s, int *out)
{
	const char *e = s + strlen(s);
	trim_span(&s, &e);
	bool neg = false;
	if (s < e && (*s == '-' || *s == '+')) {
		neg = *s == '-';
		s++;
	}
	uint64_t v;
	int rc = parse_u64_span(s, e, &v);
	if (rc < 0)
		return rc;
	if (v > (uint64_t)INT_MAX + (neg ? 1 : 0))
		return -ERANGE;
	*out = neg ? (int)(-(int64_t)v) : (int)v;
	return 0;
}

int tier_read_u64_at(int rootfd, const char *relpath, uint64_t *out)
{
	char *text;
	int rc = tier_read_file_at(rootfd, relpath, &text, NULL);
	if (rc < 0)
		return rc;
	rc = tier_parse_u64(text, out);
	free(text);
	return rc;
}

int tier_read_int_at(int rootfd, const char *relpath, int *out)
{
	char *text;
	int rc = tier_read_file_at(rootfd, relpath, &text, NULL);
	if (rc < 0)
		return rc;
	rc = tier_parse_int(text, out);
	free(text);
	return rc;
}

int tier_dir_exists_at(int rootfd, const char *relpath)
{
	struct stat st;
	if (fstatat(rootfd, relpath, &st, 0) < 0)
		return absent_or(errno);
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* End of the line starting at p (its newline or the terminating NUL). */
static const char *line_end(const char *p)
{
	const char *nl = strchr(p, '\n');
	return nl ? nl : p + strlen(p);
}

static const char *skip_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static const char *word_end(const char *p, const char *e)
{
	while (p < e && !isspace((unsigned char)*p))
		p++;
	return p;
}

int tier_kv_find_u64(const char *text, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);
	for (const char *p = text; *p;) {
		const char *e = line_end(p);
		const char *k = skip_ws(p, e);
		const char *ke = word_end(k, e);
		if ((size_t)(ke - k) == klen && memcmp(k, key, klen) == 0) {
			const char *v = skip_ws(ke, e);
			const char *ve = word_end(v, e);
			if (skip_ws(ve, e) != e)
				return -EINVAL;
			return parse_u64_span(v, ve, out);
		}
		p = *e ? e + 1 : e;
	}
	return -ENOENT;
}

int tier_meminfo_find_bytes(const char *text, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);
	for (const char *p = text; *p;) {
		const char *e = line_end(p);
		const char *k = skip_ws(p, e);
		/* Optional "Node N " prefix of nodeN/meminfo. */
		if ((size_t)(e - k) > 5 && memcmp(k, "Node ", 5) == 0) {
			const char *d = k + 5;
			while (d < e && isdigit((unsigned char)*d))
				d++;
			k = skip_ws(d, e);
		}
		if ((size_t)(e - k) > klen && memcmp(k, key, klen) == 0 && k[klen] == ':') {
			const char *v = skip_ws(k + klen + 1, e);
			const char *ve = word_end(v, e);
			uint64_t val;
			int rc = parse_u64_span(v, ve, &val);
			if (rc < 0)
				return rc;
			const char *u = skip_ws(ve, e);
			const char *ue = word_end(u, e);
			if (skip_ws(ue, e) != e)
				return -EINVAL;
			if (u == ue) {
				*out = val;
			} else if (ue - u == 2 && memcmp(u, "kB", 2) == 0) {
				if (val > UINT64_MAX / 1024)
					return -ERANGE;
				*out = val * 1024;
			} else {
				return -EINVAL;
			}
			return 0;
		}
		p = *e ? e + 1 : e;
	}
	return -ENOENT;
}

void tier_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- pre-opened attributes (see fsutil.h) ---- */

int tier_attr_open(int rootfd, struct tier_attr_fd *a, const char *relpath, int flags)
{
	struct stat st;
	struct statfs sf;
	a->relpath = relpath;
	a->flags = flags;
	a->fd = openat(rootfd, relpath, flags | O_CLOEXEC | O_NOFOLLOW);
	if (a->fd < 0)
		return errno == ENOTDIR ? -ENOENT : -errno;
	if (fstat(a->fd, &st) < 0) {
		int e = errno;
		close(a->fd);
		a->fd = -1;
		return -e;
	}
	a->dev = (unsigned long long)st.st_dev;
	a->ino = (unsigned long long)st.st_ino;
	/* sysfs and procfs attributes report as regular files too: tell them
	 * by the file system. */
	a->plain = fstatfs(a->fd, &sf) == 0 && sf.f_type != SYSFS_MAGIC && sf.f_type != PROC_SUPER_MAGIC &&
		   S_ISREG(st.st_mode);
	return 0;
}

int tier_attr_refresh(int rootfd, struct tier_attr_fd *a)
{
	struct stat st;
	if (!a->relpath)
		return -EBADF;
	if (fstatat(rootfd, a->relpath, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOTDIR ? -ENOENT : -errno;
	if (a->fd >= 0 && (unsigned long long)st.st_dev == a->dev && (unsigned long long)st.st_ino == a->ino)
		return 0;
	struct tier_attr_fd n;
	int r = tier_attr_open(rootfd, &n, a->relpath, a->flags);
	if (r < 0)
		return r;
	tier_attr_close(a);
	*a = n;
	return 0;
}

ssize_t tier_attr_pread(const struct tier_attr_fd *a, char *buf, size_t size)
{
	size_t n = 0;
	if (a->fd < 0)
		return -EBADF;
	if (size == 0)
		return -EFBIG;
	for (;;) {
		if (n + 1 >= size) {
			buf[n] = '\0';
			return -EFBIG;
		}
		ssize_t r = pread(a->fd, buf + n, size - 1 - n, (off_t)n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			buf[n] = '\0';
			return -errno;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

int tier_attr_pwrite(const struct tier_attr_fd *a, const char *value)
{
	size_t len = strlen(value);
	if (a->fd < 0)
		return -EBADF;
	ssize_t n = pwrite(a->fd, value, len, 0);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	if (a->plain && ftruncate(a->fd, (off_t)len) < 0)
		return -errno;
	return 0;
}

void tier_attr_close(struct tier_attr_fd *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
}
