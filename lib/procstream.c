/* SPDX-License-Identifier: MIT */
/* Chunked line reading of /proc/PID text files: see tier/procstream.h. */
#include <tier/procstream.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Room for one chunk plus the longest line carried over from the last. */
#define LINE_MAX_BYTES (8u << 10)

int tier_line_stream_init(struct tier_line_stream *s, int fd, size_t chunk)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	if (chunk < 4096 || chunk > (1u << 20)) {
		close(fd);
		s->fd = -1;
		return -EINVAL;
	}
	s->chunk = chunk;
	s->cap = chunk + LINE_MAX_BYTES;
	s->buf = malloc(s->cap);
	if (!s->buf) {
		close(fd);
		s->fd = -1;
		return -ENOMEM;
	}
	return 0;
}

int tier_line_stream_open(struct tier_line_stream *s, int dirfd, const char *name, size_t chunk)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		memset(s, 0, sizeof(*s));
		s->fd = -1;
		return errno == ENOENT || errno == ESRCH ? -ESRCH : -errno;
	}
	return tier_line_stream_init(s, fd, chunk);
}

void tier_line_stream_close(struct tier_line_stream *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->buf);
	s->buf = NULL;
	s->fd = -1;
	s->len = s->start = 0;
}

int tier_line_stream_rewind(struct tier_line_stream *s)
{
	if (lseek(s->fd, 0, SEEK_SET) < 0)
		return -errno;
	s->start = s->len = 0;
	s->eof = false;
	return 0;
}

int tier_line_stream_next(struct tier_line_stream *s, const char **line, size_t *len)
{
	for (;;) {
		char *p = s->buf + s->start;
		char *nl = s->len ? memchr(p, '\n', s->len) : NULL;
		if (nl) {
			*line = p;
			*len = (size_t)(nl - p);
			s->start += *len + 1;
			s->len -= *len + 1;
			return 1;
		}
		if (s->eof) {
			if (s->len == 0)
				return 0;
			*line = p;
			*len = s->len;
			s->start += s->len;
			s->len = 0;
			return 1;
		}
		if (s->len > LINE_MAX_BYTES)
			return -E2BIG;
		/* Move the partial line to the front, read one more chunk. */
		memmove(s->buf, p, s->len);
		s->start = 0;
		ssize_t r;
		do
			r = read(s->fd, s->buf + s->len, s->cap - s->len);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return errno == ENOENT ? -ESRCH : -errno;
		s->reads++;
		s->bytes += (uint64_t)r;
		if (r == 0)
			s->eof = true;
		s->len += (size_t)r;
	}
}

/* "start-end" at the beginning of a header line. */
static int header_range(const char *l, size_t n, uint64_t *start, uint64_t *end)
{
	uint64_t v[2] = { 0, 0 };
	size_t i = 0;
	for (int k = 0; k < 2; k++) {
		size_t d = 0;
		for (; i < n; i++, d++) {
			char c = l[i];
			unsigned x;
			if (c >= '0' && c <= '9')
				x = (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				x = (unsigned)(c - 'a' + 10);
			else
				break;
			if (v[k] >> 60)
				return -EINVAL;
			v[k] = v[k] * 16 + x;
		}
		if (d == 0 || i >= n || l[i] != (k == 0 ? '-' : ' '))
			return -EINVAL;
		i++;
	}
	if (v[0] > v[1])
		return -EINVAL;
	*start = v[0];
	*end = v[1];
	return 0;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int tier_smaps_locked_feed(struct tier_smaps_locked *st, const char *line, size_t len, uint64_t *start,
			   uint64_t *end)
{
	/* Header lines start with a hex address; field lines with a
	 * capitalised key ("Rss:", "VmFlags:"). */
	if (len > 0 && is_hex(line[0])) {
		if (header_range(line, len, &st->cur_start, &st->cur_end) < 0)
			return -EINVAL;
		st->in_vma = true;
		return 0;
	}
	static const char key[] = "VmFlags:";
	if (len < sizeof(key) - 1 || memcmp(line, key, sizeof(key) - 1) != 0)
		return 0;
	if (!st->in_vma)
		return -EINVAL;
	st->in_vma = false;
	/* Two-letter flags separated by blanks. */
	for (size_t i = sizeof(key) - 1; i < len;) {
		while (i < len && line[i] == ' ')
			i++;
		size_t j = i;
		while (j < len && line[j] != ' ')
			j++;
		if (j - i == 2 && line[i] == 'l' && line[i + 1] == 'o') {
			*start = st->cur_start;
			*end = st->cur_end;
			return 1;
		}
		if (j >= len)
			break;
		i = j;
	}
	return 0;
}
