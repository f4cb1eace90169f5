/* SPDX-License-Identifier: MIT */
/* Parsers and readers of /proc/PID/{numa_maps,maps,status,cgroup}: see
 * tier/procmaps.h for the contracts. */
#include <tier/procmaps.h>
#include <tier/nodemask.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

/* ---- small helpers ---- */

/* Parse [s, end) as an unsigned number in base; all of it must be digits. */
static int parse_span_u64(const char *s, const char *end, int base, uint64_t *out)
{
	uint64_t v = 0;
	if (s >= end)
		return -EINVAL;
	for (const char *p = s; p < end; p++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			return -EINVAL;
		if (v > (UINT64_MAX - d) / (uint64_t)base)
			return -ERANGE;
		v = v * (uint64_t)base + d;
	}
	*out = v;
	return 0;
}

static const char *line_end(const char *s)
{
	const char *e = strchr(s, '\n');
	return e ? e : s + strlen(s);
}

static const char *skip_blanks(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

static const char *word_end(const char *s, const char *end)
{
	while (s < end && *s != ' ' && *s != '\t')
		s++;
	return s;
}

static int sat_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	if (b && a > UINT64_MAX / b)
		return -ERANGE;
	*out = a * b;
	return 0;
}

/* ---- numa_maps ---- */

void tier_numa_maps_free(struct tier_numa_maps *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nr_vmas; i++)
		free(m->vmas[i].nodes);
	free(m->vmas);
	m->vmas = NULL;
	m->nr_vmas = 0;
}

/*
 * One numa_maps line [s, end) into v, its node counts into lb (reused from
 * line to line: no allocation once it has grown to the widest line).  The
 * kernel prints the N<node>= tokens before kernelpagesize_kB
 * (mm/mempolicy.c show_numa_map), so counts are converted after the whole
 * line is read.  Linear in the line's length: each token is looked at once
 * (the fence audit used to strstr() for kernelpagesize_kB over the rest of
 * the file, which the kernel omits on lines of empty mappings: quadratic,
 * 1.75 s for one process with 65,530 of them).
 */
int tier_numa_maps_line(const char *s, const char *end, uint64_t page_size, struct tier_numa_maps_vma *v,
			struct tier_numa_maps_linebuf *lb)
{
	const char *w = skip_blanks(s, end), *we = word_end(w, end);
	if (page_size == 0)
		page_size = 4096;
	v->nodes = NULL;
	v->nr_nodes = 0;
	int r = parse_span_u64(w, we, 16, &v->start);
	if (r < 0)
		return -EINVAL;
	w = skip_blanks(we, end);
	if (w >= end)
		return -EINVAL;           /* the policy word is always there */
	v->kpage_bytes = page_size;
	v->huge = false;
	for (w = word_end(w, end); (w = skip_blanks(w, end)) < end; w = we) {
		we = word_end(w, end);
		if (we - w == 4 && memcmp(w, "huge", 4) == 0) {
			v->huge = true;
		} else if ((size_t)(we - w) > 18 && memcmp(w, "kernelpagesize_kB=", 18) == 0) {
			uint64_t kb;
			r = parse_span_u64(w + 18, we, 10, &kb);
			if (r < 0 || kb == 0 || sat_mul_u64(kb, 1024, &v->kpage_bytes) < 0)
				return r == -ERANGE ? -ERANGE : -EINVAL;
		} else if (w[0] == 'N' && we - w >= 2 && isdigit((unsigned char)w[1])) {
			const char *eq = memchr(w, '=', (size_t)(we - w));
			uint64_t node, cnt;
			if (!eq)
				return -EINVAL;
			if ((r = parse_span_u64(w + 1, eq, 10, &node)) < 0 ||
			    (r = parse_span_u64(eq + 1, we, 10, &cnt)) < 0)
				return r;
			if (node >= TIER_MAX_NODES)
				return -ERANGE;
			if (v->nr_nodes == lb->cap) {
				unsigned ncap = lb->cap ? lb->cap * 2 : 8;
				struct tier_numa_maps_node *n = realloc(lb->nodes, ncap * sizeof(*n));
				if (!n)
					return -ENOMEM;
				lb->nodes = n;
				lb->cap = ncap;
			}
			lb->nodes[v->nr_nodes].node = (int)node;
			lb->nodes[v->nr_nodes].pages = cnt;
			v->nr_nodes++;
		}
		/* Anything else (policy details, anon=, dirty=, file=...) is
		 * not needed. */
	}
	uint64_t mult = v->kpage_bytes / page_size;
	if (mult == 0)
		mult = 1;
	for (unsigned i = 0; i < v->nr_nodes; i++)
		if (sat_mul_u64(lb->nodes[i].pages, mult, &lb->nodes[i].pages) < 0)
			return -ERANGE;
	v->nodes = lb->nodes;
	return 0;
}

void tier_numa_maps_linebuf_free(struct tier_numa_maps_linebuf *lb)
{
	free(lb->nodes);
	lb->nodes = NULL;
	lb->cap = 0;
}

int tier_numa_maps_parse(const char *text, uint64_t page_size, struct tier_numa_maps *out)
{
	struct tier_numa_maps_linebuf lb = { 0 };
	size_t cap = 0;
	int r = 0;
	out->vmas = NULL;
	out->nr_vmas = 0;
	for (const char *s = text; *s && r == 0;) {
		const char *e = line_end(s);
		if (skip_blanks(s, e) < e) {
			if (out->nr_vmas == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct tier_numa_maps_vma *n = realloc(out->vmas, ncap * sizeof(*n));
				if (!n) {
					r = -ENOMEM;
					break;
				}
				out->vmas = n;
				cap = ncap;
			}
			struct tier_numa_maps_vma *v = &out->vmas[out->nr_vmas];
			r = tier_numa_maps_line(s, e, page_size, v, &lb);
			if (r < 0)
				break;
			v->nodes = NULL;
			if (v->nr_nodes) {
				v->nodes = malloc(v->nr_nodes * sizeof(*v->nodes));
				if (!v->nodes) {
					r = -ENOMEM;
					break;
				}
				memcpy(v->nodes, lb.nodes, v->nr_nodes * sizeof(*v->nodes));
			}
			out->nr_vmas++;
		}
		s = *e ? e + 1 : e;
	}
	tier_numa_maps_linebuf_free(&lb);
	if (r < 0)
		tier_numa_maps_free(out);
	return r;
}

uint64_t tier_numa_maps_vma_node_pages(const struct tier_numa_maps_vma *v, int node)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i < v->nr_nodes; i++)
		if (v->nodes[i].node == node)
			sum += v->nodes[i].pages;
	return sum;
}

uint64_t tier_numa_maps_node_pages(const struct tier_numa_maps *m, int node)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < m->nr_vmas; i++)
		sum += tier_numa_maps_vma_node_pages(&m->vmas[i], node);
	return sum;
}

/* ---- numa_maps, streamed ---- */

void tier_numa_maps_stream_init(struct tier_numa_maps_stream *st, uint64_t page_size, uint64_t *pages,
				unsigned max_nodes)
{
	memset(st, 0, sizeof(*st));
	st->page_size = page_size ? page_size : 4096;
	st->pages = pages;
	st->max_nodes = max_nodes;
	memset(pages, 0, max_nodes * sizeof(*pages));
}

void tier_numa_maps_stream_free(struct tier_numa_maps_stream *st)
{
	free(st->carry);
	st->carry = NULL;
	st->carry_len = st->carry_cap = 0;
	tier_numa_maps_linebuf_free(&st->lb);
}

/* One complete line: add its counts. */
static int stream_line(struct tier_numa_maps_stream *st, const char *s, const char *e)
{
	struct tier_numa_maps_vma v;
	if (skip_blanks(s, e) >= e)
		return 0;
	int r = tier_numa_maps_line(s, e, st->page_size, &v, &st->lb);
	if (r < 0)
		return r;
	for (unsigned k = 0; k < v.nr_nodes; k++) {
		unsigned n = (unsigned)v.nodes[k].node;
		if (n < st->max_nodes)
			st->pages[n] = st->pages[n] + v.nodes[k].pages < st->pages[n] ? UINT64_MAX
											 : st->pages[n] + v.nodes[k].pages;
	}
	st->lines++;
	return 0;
}

static int carry_append(struct tier_numa_maps_stream *st, const char *s, size_t n)
{
	if (st->carry_len + n > TIER_NUMA_MAPS_LINE_MAX)
		return -E2BIG;
	if (st->carry_len + n > st->carry_cap) {
		size_t nc = st->carry_cap ? st->carry_cap : 256;
		while (nc < st->carry_len + n)
			nc *= 2;
		char *c = realloc(st->carry, nc);
		if (!c)
			return -ENOMEM;
		st->carry = c;
		st->carry_cap = nc;
	}
	memcpy(st->carry + st->carry_len, s, n);
	st->carry_len += n;
	return 0;
}

ssize_t tier_numa_maps_stream_feed(struct tier_numa_maps_stream *st, const char *buf, size_t len)
{
	uint64_t before = st->lines;
	const char *p = buf, *end = buf + len;
	if (st->error)
		return st->error;
	st->bytes += len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		int r;
		if (!nl) {
			r = carry_append(st, p, (size_t)(end - p));
			if (r < 0)
				return st->error = r;
			break;
		}
		if (st->carry_len) {
			/* the rest of a line begun in an earlier chunk */
			r = carry_append(st, p, (size_t)(nl - p));
			if (r == 0)
				r = stream_line(st, st->carry, st->carry + st->carry_len);
			st->carry_len = 0;
		} else {
			r = stream_line(st, p, nl);
		}
		if (r < 0)
			return st->error = r;
		p = nl + 1;
	}
	return (ssize_t)(st->lines - before);
}

int tier_numa_maps_stream_end(struct tier_numa_maps_stream *st)
{
	if (st->error)
		return st->error;
	if (st->carry_len) {
		int r = stream_line(st, st->carry, st->carry + st->carry_len);
		st->carry_len = 0;
		if (r < 0)
			return st->error = r;
	}
	return 0;
}

int tier_numa_maps_sum(const char *text, uint64_t page_size, uint64_t *pages, unsigned max_nodes)
{
	struct tier_numa_maps_stream st;
	tier_numa_maps_stream_init(&st, page_size, pages, max_nodes);
	ssize_t n = tier_numa_maps_stream_feed(&st, text, strlen(text));
	int r = n < 0 ? (int)n : tier_numa_maps_stream_end(&st);
	tier_numa_maps_stream_free(&st);
	if (r < 0)
		memset(pages, 0, max_nodes * sizeof(*pages));
	return r;
}

/* ---- maps ---- */

void tier_maps_free(struct tier_maps *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nr; i++)
		free(m->vmas[i].path);
	free(m->vmas);
	m->vmas = NULL;
	m->nr = 0;
}

/* The fields of one maps line; *path points at the path (the rest of the
 * line, possibly empty). */
static int maps_fields(const char *s, const char *end, struct tier_vma *v, const char **path)
{
	const char *w = s, *we = word_end(w, end), *dash = memchr(w, '-', (size_t)(we - w));
	uint64_t x;
	if (!dash || parse_span_u64(w, dash, 16, &v->start) < 0 || parse_span_u64(dash + 1, we, 16, &v->end) < 0 ||
	    v->start > v->end)
		return -EINVAL;
	w = skip_blanks(we, end);
	we = word_end(w, end);
	if (we - w != 4)
		return -EINVAL;
	memcpy(v->perms, w, 4);
	v->perms[4] = '\0';
	w = skip_blanks(we, end);
	we = word_end(w, end);
	if (parse_span_u64(w, we, 16, &v->offset) < 0)
		return -EINVAL;
	w = skip_blanks(we, end);
	we = word_end(w, end);
	const char *colon = memchr(w, ':', (size_t)(we - w));
	if (!colon || parse_span_u64(w, colon, 16, &x) < 0 || x > UINT32_MAX)
		return -EINVAL;
	v->dev_major = (unsigned)x;
	if (parse_span_u64(colon + 1, we, 16, &x) < 0 || x > UINT32_MAX)
		return -EINVAL;
	v->dev_minor = (unsigned)x;
	w = skip_blanks(we, end);
	we = word_end(w, end);
	if (parse_span_u64(w, we, 10, &v->inode) < 0)
		return -EINVAL;
	/* The kernel pads to a column before the path; the path is the rest
	 * of the line and may hold spaces. */
	w = skip_blanks(we, end);
	*path = w;
	return 0;
}

static int maps_line(const char *s, const char *end, struct tier_vma *v)
{
	const char *path;
	int r = maps_fields(s, end, v, &path);
	if (r < 0)
		return r;
	v->path = strndup(path, (size_t)(end - path));
	return v->path ? 0 : -ENOMEM;
}

int tier_maps_parse_line(const char *line, size_t len, struct tier_vma *v, const char **path, size_t *path_len)
{
	const char *p;
	v->path = NULL;
	int r = maps_fields(line, line + len, v, &p);
	if (r < 0)
		return r;
	*path = p;
	*path_len = (size_t)(line + len - p);
	return 0;
}

int tier_maps_parse(const char *text, struct tier_maps *out)
{
	size_t cap = 0;
	out->vmas = NULL;
	out->nr = 0;
	for (const char *s = text; *s;) {
		const char *e = line_end(s);
		if (skip_blanks(s, e) < e) {
			if (out->nr == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct tier_vma *n = realloc(out->vmas, ncap * sizeof(*n));
				if (!n) {
					tier_maps_free(out);
					return -ENOMEM;
				}
				out->vmas = n;
				cap = ncap;
			}
			struct tier_vma *v = &out->vmas[out->nr];
			v->path = NULL;
			int r = maps_line(s, e, v);
			if (r < 0) {
				free(v->path);
				tier_maps_free(out);
				return r;
			}
			out->nr++;
		}
		s = *e ? e + 1 : e;
	}
	return 0;
}

const struct tier_vma *tier_maps_find(const struct tier_maps *m, uint64_t start)
{
	size_t lo = 0, hi = m->nr;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->vmas[mid].start == start)
			return &m->vmas[mid];
		if (m->vmas[mid].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool tier_vma_unmovable_path(const char *perms, const char *path, size_t path_len)
{
	static const char *const special[] = { "[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]" };
	if (perms[0] == '-' && perms[1] == '-' && perms[2] == '-')
		return true;
	for (size_t i = 0; path && i < sizeof(special) / sizeof(special[0]); i++)
		if (path_len == strlen(special[i]) && memcmp(path, special[i], path_len) == 0)
			return true;
	return false;
}

bool tier_vma_unmovable(const struct tier_vma *v)
{
	return tier_vma_unmovable_path(v->perms, v->path, v->path ? strlen(v->path) : 0);
}

/* ---- status ---- */

void tier_proc_status_free(struct tier_proc_status *st)
{
	if (!st)
		return;
	tier_bitmask_free(st->mems_allowed);
	st->mems_allowed = NULL;
}

/* The value of "Key:\tvalue" lines, NUL-terminated copy into buf. */
static bool status_value(const char *s, const char *e, const char *key, char *buf, size_t size)
{
	size_t kl = strlen(key);
	if ((size_t)(e - s) <= kl || memcmp(s, key, kl) != 0 || s[kl] != ':')
		return false;
	const char *v = skip_blanks(s + kl + 1, e);
	size_t n = (size_t)(e - v);
	if (n >= size)
		n = size - 1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	tier_rstrip(buf);
	return true;
}

/* "123456 kB" -> bytes. */
static int kb_value(const char *v, uint64_t *bytes)
{
	char tmp[64];
	size_t len = strlen(v);
	if (len >= sizeof(tmp))
		return -EINVAL; /* no kB count is that long */
	memcpy(tmp, v, len + 1);
	char *sp = strchr(tmp, ' ');
	if (!sp || strcmp(sp + 1, "kB") != 0)
		return -EINVAL;
	*sp = '\0';
	uint64_t kb;
	if (tier_parse_u64(tmp, &kb) < 0 || sat_mul_u64(kb, 1024, bytes) < 0)
		return -EINVAL;
	return 0;
}

int tier_proc_status_parse(const char *text, struct tier_proc_status *st)
{
	char buf[4096];
	bool have_name = false, have_kthread_line = false;
	int r = 0;
	memset(st, 0, sizeof(*st));
	st->mems_allowed = tier_nodemask_alloc();
	for (const char *s = text; *s;) {
		const char *e = line_end(s);
		r = 0;
		if (status_value(s, e, "Name", buf, sizeof(buf))) {
			size_t n = strlen(buf);
			if (n >= sizeof(st->name))
				n = sizeof(st->name) - 1;
			memcpy(st->name, buf, n);
			st->name[n] = '\0';
			have_name = true;
		} else if (status_value(s, e, "State", buf, sizeof(buf))) {
			st->state = buf[0];
		} else if (status_value(s, e, "Tgid", buf, sizeof(buf))) {
			/* t is only read when tier_parse_int set it (it used to
			 * be copied uninitialized on a parse error). */
			int t;
			if (tier_parse_int(buf, &t) < 0 || t < 0)
				r = -EINVAL;
			else
				st->tgid = t;
		} else if (status_value(s, e, "Kthread", buf, sizeof(buf))) {
			have_kthread_line = true;
			st->kthread = strcmp(buf, "1") == 0;
		} else if (status_value(s, e, "VmSize", buf, sizeof(buf))) {
			st->has_mm = true;
		} else if (status_value(s, e, "VmRSS", buf, sizeof(buf))) {
			st->has_mm = true;
			r = kb_value(buf, &st->vm_rss_bytes);
		} else if (status_value(s, e, "VmLck", buf, sizeof(buf))) {
			r = kb_value(buf, &st->vm_locked_bytes);
		} else if (status_value(s, e, "Mems_allowed_list", buf, sizeof(buf))) {
			r = tier_bitmask_parse_list(buf, st->mems_allowed) < 0 ? -EINVAL : 0;
		}
		if (r < 0)
			goto fail;
		s = *e ? e + 1 : e;
	}
	if (!have_name) {
		r = -EINVAL;
		goto fail;
	}
	if (!have_kthread_line)
		st->kthread = !st->has_mm && st->state != 'Z' && st->state != 'X';
	return 0;
fail:
	/* Nothing half-parsed is left for a caller to trust. */
	tier_proc_status_free(st);
	memset(st, 0, sizeof(*st));
	return r;
}

/* ---- cgroup ---- */

void tier_proc_cgroups_free(struct tier_proc_cgroups *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nr; i++) {
		free(c->v[i].controllers);
		free(c->v[i].path);
	}
	free(c->v);
	c->v = NULL;
	c->nr = 0;
}

int tier_proc_cgroups_parse(const char *text, struct tier_proc_cgroups *out)
{
	size_t cap = 0;
	out->v = NULL;
	out->nr = 0;
	for (const char *s = text; *s;) {
		const char *e = line_end(s);
		if (s < e) {
			const char *c1 = memchr(s, ':', (size_t)(e - s));
			const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(e - c1 - 1)) : NULL;
			uint64_t h;
			/* The path is everything after the second colon: a
			 * cgroup name may itself contain colons. */
			if (!c2 || parse_span_u64(s, c1, 10, &h) < 0 || h > INT32_MAX || c2 + 1 >= e || c2[1] != '/') {
				tier_proc_cgroups_free(out);
				return -EINVAL;
			}
			if (out->nr == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				struct tier_proc_cgroup *n = realloc(out->v, ncap * sizeof(*n));
				if (!n) {
					tier_proc_cgroups_free(out);
					return -ENOMEM;
				}
				out->v = n;
				cap = ncap;
			}
			struct tier_proc_cgroup *g = &out->v[out->nr];
			g->hierarchy = (int)h;
			g->controllers = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
			g->path = strndup(c2 + 1, (size_t)(e - c2 - 1));
			out->nr++;
			if (!g->controllers || !g->path) {
				tier_proc_cgroups_free(out);
				return -ENOMEM;
			}
		}
		s = *e ? e + 1 : e;
	}
	return 0;
}

static bool has_controller(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l == n && memcmp(p, name, n) == 0)
			return true;
		if (!c)
			break;
		p = c + 1;
	}
	return false;
}

const char *tier_proc_cgroups_main(const struct tier_proc_cgroups *c)
{
	const char *v2 = NULL, *sd = NULL, *cpuset = NULL, *memory = NULL;
	if (c->nr == 0)
		return NULL;
	for (size_t i = 0; i < c->nr; i++) {
		const struct tier_proc_cgroup *g = &c->v[i];
		if (g->hierarchy == 0 && g->controllers[0] == '\0')
			v2 = g->path;
		else if (strcmp(g->controllers, "name=systemd") == 0)
			sd = g->path;
		else if (has_controller(g->controllers, "cpuset"))
			cpuset = g->path;
		else if (has_controller(g->controllers, "memory"))
			memory = g->path;
	}
	bool hybrid = c->nr > 1;
	if (v2 && !(hybrid && strcmp(v2, "/") == 0))
		return v2;
	if (sd)
		return sd;
	if (cpuset)
		return cpuset;
	if (memory)
		return memory;
	return v2 ? v2 : c->v[0].path;
}

/* ---- readers ---- */

static int read_proc(int rootfd, pid_t pid, const char *file, char **text)
{
	char path[64];
	snprintf(path, sizeof(path), "proc/%d/%s", (int)pid, file);
	return tier_read_file_at(rootfd, path, text, NULL);
}

int tier_proc_read_numa_maps(int rootfd, pid_t pid, uint64_t page_size, struct tier_numa_maps *out)
{
	char *t;
	int r = read_proc(rootfd, pid, "numa_maps", &t);
	if (r < 0) {
		out->vmas = NULL;
		out->nr_vmas = 0;
		return r;
	}
	r = tier_numa_maps_parse(t, page_size, out);
	free(t);
	return r;
}

int tier_proc_read_numa_sums(int rootfd, pid_t pid, uint64_t page_size, uint64_t *pages, unsigned max_nodes)
{
	char *t;
	int r = read_proc(rootfd, pid, "numa_maps", &t);
	if (r < 0)
		return r;
	r = tier_numa_maps_sum(t, page_size, pages, max_nodes);
	free(t);
	return r;
}

int tier_proc_read_maps(int rootfd, pid_t pid, struct tier_maps *out)
{
	char *t;
	int r = read_proc(rootfd, pid, "maps", &t);
	if (r < 0) {
		out->vmas = NULL;
		out->nr = 0;
		return r;
	}
	r = tier_maps_parse(t, out);
	free(t);
	return r;
}

int tier_proc_read_status(int rootfd, pid_t pid, struct tier_proc_status *out)
{
	char *t;
	int r = read_proc(rootfd, pid, "status", &t);
	if (r < 0) {
		memset(out, 0, sizeof(*out));
		return r;
	}
	r = tier_proc_status_parse(t, out);
	free(t);
	return r;
}

int tier_proc_read_cgroups(int rootfd, pid_t pid, struct tier_proc_cgroups *out)
{
	char *t;
	int r = read_proc(rootfd, pid, "cgroup", &t);
	if (r < 0) {
		out->v = NULL;
		out->nr = 0;
		return r;
	}
	r = tier_proc_cgroups_parse(t, out);
	free(t);
	return r;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

int tier_proc_list_pids(int rootfd, pid_t **pids)
{
	int fd = openat(rootfd, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*pids = NULL;
	if (fd < 0)
		return -errno;
	DIR *dir = fdopendir(fd);
	if (!dir) {
		int e = errno;
		close(fd);
		return -e;
	}
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((errno = 0, de = readdir(dir))) {
		int pid;
		if (!isdigit((unsigned char)de->d_name[0]) || tier_parse_int(de->d_name, &pid) < 0 || pid <= 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			pid_t *np = realloc(*pids, ncap * sizeof(*np));
			if (!np) {
				free(*pids);
				*pids = NULL;
				closedir(dir);
				return -ENOMEM;
			}
			*pids = np;
			cap = ncap;
		}
		(*pids)[n++] = pid;
	}
	closedir(dir);
	if (n)
		qsort(*pids, n, sizeof(**pids), cmp_pid);
	return n > INT32_MAX ? INT32_MAX : (int)n;
}
