/* SPDX-License-Identifier: MIT */
/* /proc/PID/stat and the proc/PID directory: see tier/procid.h. */
#include <tier/procid.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

/* The next blank-separated field of [*p, end) as a signed or unsigned number. */
static int next_field(const char **p, const char *end, const char **fs, const char **fe)
{
	const char *s = *p;
	while (s < end && *s == ' ')
		s++;
	if (s >= end)
		return -EINVAL;
	const char *e = s;
	while (e < end && *e != ' ' && *e != '\n')
		e++;
	*fs = s;
	*fe = e;
	*p = e;
	return 0;
}

/* The field [s, e) as a C string in buf (fields here are numbers: short). */
static int span_cstr(const char *s, const char *e, char *buf, size_t size)
{
	size_t n = (size_t)(e - s);
	if (n == 0 || n >= size)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

static int span_u64(const char *s, const char *e, uint64_t *out)
{
	char buf[32];
	return span_cstr(s, e, buf, sizeof(buf)) < 0 ? -EINVAL : tier_parse_u64(buf, out);
}

static int span_int(const char *s, const char *e, int *out)
{
	char buf[32];
	return span_cstr(s, e, buf, sizeof(buf)) < 0 ? -EINVAL : tier_parse_int(buf, out);
}

int tier_proc_stat_parse(const char *text, struct tier_proc_stat *out)
{
	memset(out, 0, sizeof(*out));
	const char *open = strchr(text, '('), *close = strrchr(text, ')');
	if (!open || !close || close < open)
		return -EINVAL;
	int pid;
	if (span_int(text, open - (open > text && open[-1] == ' ' ? 1 : 0), &pid) < 0 || pid <= 0)
		return -EINVAL;
	out->pid = pid;
	size_t cl = (size_t)(close - open - 1);
	if (cl >= sizeof(out->comm))
		cl = sizeof(out->comm) - 1;
	memcpy(out->comm, open + 1, cl);
	out->comm[cl] = '\0';
	const char *p = close + 1, *end = text + strlen(text), *fs, *fe;
	/* fields 3 (state) .. 22 (starttime) */
	for (int f = 3; f <= 22; f++) {
		if (next_field(&p, end, &fs, &fe) < 0)
			return -EINVAL;
		if (f == 3) {
			if (fe - fs != 1)
				return -EINVAL;
			out->state = *fs;
		} else if (f == 4) {
			int ppid;
			if (span_int(fs, fe, &ppid) < 0 || ppid < 0)
				return -EINVAL;
			out->ppid = ppid;
		} else if (f == 22) {
			if (span_u64(fs, fe, &out->start_time) < 0)
				return -EINVAL;
		}
	}
	return 0;
}

int tier_proc_read_stat_at(int dirfd, struct tier_proc_stat *out)
{
	char *t = NULL;
	int r = tier_read_file_at(dirfd, "stat", &t, NULL);
	if (r == -ENOENT || r == -ESRCH)
		return -ESRCH;
	if (r < 0)
		return r;
	r = tier_proc_stat_parse(t, out);
	free(t);
	return r;
}

int tier_proc_open_dir(int rootfd, pid_t pid)
{
	char path[32];
	snprintf(path, sizeof(path), "proc/%d", (int)pid);
	int fd = openat(rootfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	return fd;
}
