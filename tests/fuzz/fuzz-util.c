/* SPDX-License-Identifier: MIT */
/* Helpers shared by the harnesses (contracts in fuzz.h). */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void fuzz_note(const char *fmt, ...)
{
	static int verbose = -1;
	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") != NULL;
	if (!verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

size_t fuzz_split(const uint8_t *data, size_t size, struct fuzz_part *parts, size_t max)
{
	const size_t seplen = strlen(FUZZ_SEPARATOR);
	size_t n = 0, start = 0;
	if (max == 0)
		return 0;
	for (size_t i = 0; i + seplen <= size; i++) {
		if ((i == 0 || data[i - 1] == '\n') && memcmp(data + i, FUZZ_SEPARATOR, seplen) == 0) {
			parts[n].data = data + start;
			parts[n].size = i - start;
			if (++n == max)
				return n;
			start = i + seplen;
			i = start - 1;
		}
	}
	parts[n].data = data + start;
	parts[n].size = size - start;
	return n + 1;
}

static char scratch[PATH_MAX];
static int scratch_fd = -1;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void scratch_cleanup(void)
{
	if (scratch[0])
		nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *scratch_base(void)
{
	struct stat st;
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
		return "/dev/shm";
	const char *t = getenv("TMPDIR");
	return t && *t ? t : "/tmp";
}

const char *fuzz_scratch_path(void)
{
	if (!scratch[0]) {
		snprintf(scratch, sizeof(scratch), "%s/tierd-fuzz-XXXXXX", scratch_base());
		if (!mkdtemp(scratch)) {
			perror("fuzz: mkdtemp");
			abort();
		}
		atexit(scratch_cleanup);
	}
	return scratch;
}

int fuzz_scratch_fd(void)
{
	if (scratch_fd < 0) {
		scratch_fd = open(fuzz_scratch_path(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (scratch_fd < 0) {
			perror("fuzz: open scratch dir");
			abort();
		}
	}
	return scratch_fd;
}

static void mkdirs(int dirfd, const char *relpath)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", relpath);
	for (char *p = strchr(buf, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdirat(dirfd, buf, 0755) < 0 && errno != EEXIST) {
			perror("fuzz: mkdir");
			abort();
		}
		*p = '/';
	}
}

void fuzz_put(int dirfd, const char *relpath, const void *data, size_t size)
{
	int fd = openat(dirfd, relpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 && errno == ENOENT) {
		mkdirs(dirfd, relpath);
		fd = openat(dirfd, relpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	}
	if (fd < 0) {
		perror("fuzz: create");
		abort();
	}
	const char *p = data;
	while (size > 0) {
		ssize_t n = write(fd, p, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror("fuzz: write");
			abort();
		}
		p += n;
		size -= (size_t)n;
	}
	close(fd);
}

void fuzz_remove(int dirfd, const char *relpath)
{
	if (unlinkat(dirfd, relpath, 0) < 0 && errno != ENOENT) {
		perror("fuzz: unlink");
		abort();
	}
}
