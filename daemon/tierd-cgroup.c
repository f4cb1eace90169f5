/* SPDX-License-Identifier: MIT */
/*
 * The cgroup adapter (see tierd-cgroup.h): mount discovery, the tree walk
 * and single-value writes.  The only file that calls libcgroup.
 *
 * libcgroup 2.0.2 pitfalls handled here:
 *  - without a logger installed before cgroup_init() it prints errors to
 *    stdout: we install ours first;
 *  - cgroup_modify_cgroup() writes every value the struct holds: each write
 *    builds a fresh struct with just cpuset.mems;
 *  - cgroup_get_cgroup() reads every file of every controller: never used,
 *    the walk reads the two files it needs;
 *  - cgroup_strerror() is off by one for codes >= ECGEOF: errors are mapped
 *    to errno here and its text is used only below ECGEOF;
 *  - cgroup_walk_tree_end() crashes after a failed cgroup_walk_tree_begin():
 *    the walk is ours (openat on directory fds, which also works under a
 *    fixture root, where libcgroup cannot look);
 *  - its writes go through stdio, so an empty value would never reach the
 *    kernel (nothing is flushed): empty values are written with write(2).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/magic.h>
#include <libcgroup.h>

#include <tier/fence.h>
#include "tierd-cgroup.h"
#include "fsutil.h"
#include "tierd-log.h"

#define MAX_DEPTH 128

/* ---- libcgroup --------------------------------------------------------- */

static void lcg_log(void *userdata, int level, const char *fmt, va_list ap)
{
	char msg[512];
	(void)userdata;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	int prio = level <= CGROUP_LOG_ERROR ? LOG_ERR : level == CGROUP_LOG_WARNING ? LOG_WARNING
		   : level == CGROUP_LOG_INFO ? LOG_INFO : LOG_DEBUG;
	tierd_log(prio, "libcgroup: %s", msg);
}

/* libcgroup error code -> -errno. */
static int lcg_errno(int code, const char *what)
{
	int e;
	switch (code) {
	case 0: return 0;
	case ECGOTHER: e = cgroup_get_last_errno(); if (e <= 0) e = EIO; break;
	case ECGROUPNOTMOUNTED: e = ENODEV; break;
	case ECGROUPNOTEXIST:
	case ECGROUPVALUENOTEXIST: e = ENOENT; break;
	case ECGROUPNOTALLOWED: e = EACCES; break;
	case ECGROUPNOTINITIALIZED: e = EAGAIN; break;
	default: e = EIO; break;
	}
	if (code != ECGOTHER)
		log_debug("libcgroup: %s: %s (code %d)", what,
			  code < ECGEOF ? cgroup_strerror(code) : "libcgroup error", code);
	return -e;
}

static int lcg_init(void)
{
	static int done = 1;
	if (done == 1) {
		/* Before cgroup_init(), or libcgroup logs to stdout. */
		cgroup_set_logger(lcg_log, CGROUP_LOG_WARNING, NULL);
		done = lcg_errno(cgroup_init(), "cgroup_init");
	}
	return done;
}

/* ---- discovery --------------------------------------------------------- */

static bool is_real_root(int rootfd)
{
	struct stat a, b;
	return fstat(rootfd, &a) == 0 && stat("/", &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static bool word_in(const char *list, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += wl)
		if ((p == list || p[-1] == ' ') && (p[wl] == '\0' || p[wl] == ' ' || p[wl] == '\n'))
			return true;
	return false;
}

static bool v2_has_cpuset(int rootfd, const char *mount_rel)
{
	char path[600], buf[512];
	snprintf(path, sizeof(path), "%s/cgroup.controllers", mount_rel);
	return tier_read_attr_at(rootfd, path, buf, sizeof(buf)) == 0 && word_in(buf, "cpuset");
}

/* Copy src into dst of size n, truncating (fields of mount lines may be
 * longer than what we keep; a truncated one simply does not match). */
static void copy_field(char *dst, size_t n, const char *src)
{
	size_t len = strlen(src);
	if (n == 0)
		return;
	if (len >= n)
		len = n - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* One mount: from a mounts line ("dev mp type opts ...") or a mountinfo
 * line ("id parent maj:min root mp opts ... - type source superopts"). */
static bool parse_mount_line(const char *line, bool mountinfo, char *mp, size_t mplen, char *type, size_t tlen,
			     char *opts, size_t olen)
{
	char f[6][512];
	if (!mountinfo) {
		if (sscanf(line, "%511s %511s %511s %511s", f[0], f[1], f[2], f[3]) != 4)
			return false;
		copy_field(mp, mplen, f[1]);
		copy_field(type, tlen, f[2]);
		copy_field(opts, olen, f[3]);
		return true;
	}
	const char *dash = strstr(line, " - ");
	if (!dash || sscanf(line, "%511s %511s %511s %511s %511s", f[0], f[1], f[2], f[3], f[4]) != 5 ||
	    sscanf(dash + 3, "%511s %511s %511s", f[5], f[0], f[1]) != 3)
		return false;
	copy_field(mp, mplen, f[4]);
	copy_field(type, tlen, f[5]);
	copy_field(opts, olen, f[1]);
	return true;
}

/* A fixture root: ROOT/proc/self/mounts, proc/mounts or proc/self/mountinfo. */
static int discover_from_mounts(int rootfd, struct tierd_cgroup_hier *h)
{
	return tierd_cgroup_find_controller(rootfd, "cpuset", h);
}

int tierd_cgroup_discover(int rootfd, struct tierd_cgroup_hier *h, char *err, size_t errlen)
{
	memset(h, 0, sizeof(*h));
	if (!is_real_root(rootfd)) {
		int r = discover_from_mounts(rootfd, h);
		if (r < 0)
			snprintf(err, errlen, "no cpuset cgroup hierarchy in the root's mount table (proc/self/mounts or mountinfo): %s",
				 strerror(-r));
		return r;
	}
	int r = lcg_init();
	if (r < 0) {
		snprintf(err, errlen, "libcgroup cannot initialize (no cgroup hierarchy mounted?): %s", strerror(-r));
		return r == -ENODEV ? -ENOENT : r;
	}
	char *mp = NULL;
	r = lcg_errno(cgroup_get_subsys_mount_point("cpuset", &mp), "cgroup_get_subsys_mount_point(cpuset)");
	if (r < 0 || !mp) {
		free(mp);
		snprintf(err, errlen, "the cpuset controller is not mounted (v1) or not enabled at the v2 root");
		return -ENOENT;
	}
	struct statfs sf;
	if (statfs(mp, &sf) < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", mp, strerror(e));
		free(mp);
		return -e;
	}
	const char *rel = mp;
	while (*rel == '/')
		rel++;
	snprintf(h->mount, sizeof(h->mount), "%s", *rel ? rel : ".");
	h->version = sf.f_type == CGROUP2_SUPER_MAGIC ? 2 : 1;
	h->libcgroup = true;
	free(mp);
	if (h->version == 2 && !v2_has_cpuset(rootfd, h->mount)) {
		snprintf(err, errlen, "cgroup v2 at /%s lacks the cpuset controller", h->mount);
		h->version = 0;
		return -ENOENT;
	}
	return 0;
}

int tierd_cgroup_relpath(const struct tierd_cgroup_hier *h, const char *cgpath, const char *file, char *buf,
			 size_t size)
{
	while (*cgpath == '/')
		cgpath++;
	int n = snprintf(buf, size, "%s%s%s%s%s", h->mount, *cgpath ? "/" : "", cgpath, file ? "/" : "",
			 file ? file : "");
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* ---- walk -------------------------------------------------------------- */

struct walk_frame {
	DIR *dir;
	int idx;                 /* the cgroup whose children dir lists */
	int depth;
};

struct tierd_cgroup_walk {
	struct walk_frame stack[MAX_DEPTH + 1];
	int top;                 /* frames in use */
	bool started;
	int parent;
	char *name;
};

void tierd_cgroup_walk_free(struct tierd_cgroup_walk *w)
{
	if (!w)
		return;
	while (w->top > 0)
		closedir(w->stack[--w->top].dir);
	free(w->name);
	free(w);
}

/* Append the cgroup whose directory is dirfd (owned: closed here unless
 * kept as a frame) under parent; push it when it may have children. */
static int walk_visit(struct tierd_cgroup_walk *w, struct tier_fence_tree *t, int dirfd, int parent,
		      const char *name, int depth, tierd_cgroup_visit_fn visit, void *ctx)
{
	char mems[4096], sub[512] = "";
	int r = tier_read_attr_at(dirfd, "cpuset.mems", mems, sizeof(mems));
	bool has_mems = r == 0;
	if (r < 0 && r != -ENOENT) {
		close(dirfd);
		return r == -ENODEV ? 0 : r;   /* ENODEV: removed while we looked */
	}
	if (!has_mems)
		mems[0] = '\0';
	if (t->version == 2)
		tier_read_attr_at(dirfd, "cgroup.subtree_control", sub, sizeof(sub));
	int idx = tier_fence_tree_add(t, parent, name, mems, has_mems, word_in(sub, "cpuset"));
	if (idx < 0) {
		close(dirfd);
		return idx;
	}
	if (visit)
		visit(ctx, (size_t)idx);
	if (depth >= MAX_DEPTH) {
		close(dirfd);
		return 0;
	}
	DIR *dir = fdopendir(dirfd);
	if (!dir) {
		close(dirfd);
		return 0;
	}
	w->stack[w->top++] = (struct walk_frame){ .dir = dir, .idx = idx, .depth = depth };
	return 0;
}

int tierd_cgroup_walk(int rootfd, const struct tierd_cgroup_hier *h, struct tier_fence_tree *t, int parent,
		      const char *name, struct tierd_cgroup_walk **wp, size_t max, tierd_cgroup_visit_fn visit,
		      void *ctx)
{
	struct tierd_cgroup_walk *w = *wp;
	int r = 0;
	if (!w) {
		if (!h->version || t->version != h->version)
			return -EINVAL;
		if ((parent < 0) != (t->nr == 0) || (parent >= 0 && (size_t)parent >= t->nr))
			return -EINVAL;
		w = calloc(1, sizeof(*w));
		if (!w)
			return -ENOMEM;
		w->parent = parent;
		w->name = strdup(parent < 0 ? "" : name);
		if (!w->name) {
			free(w);
			return -ENOMEM;
		}
		*wp = w;
	}
	size_t done = 0;
	if (!w->started) {
		char rel[4096];
		w->started = true;
		if (w->parent < 0)
			snprintf(rel, sizeof(rel), "%s", h->mount);
		else {
			char cg[4096];
			int n = snprintf(cg, sizeof(cg), "%s/%s", t->cg[w->parent].path, w->name);
			if (n < 0 || (size_t)n >= sizeof(cg) || tierd_cgroup_relpath(h, cg, NULL, rel, sizeof(rel)) < 0) {
				r = -ENAMETOOLONG;
				goto out;
			}
		}
		int fd = openat(rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			r = -errno;
			goto out;
		}
		size_t before = t->nr;
		r = walk_visit(w, t, fd, w->parent, w->name, 0, visit, ctx);
		if (r < 0)
			goto out;
		if (t->nr == before) {
			r = -ENOENT;
			goto out;
		}
		done++;
	}
	while (w->top > 0 && done < max) {
		struct walk_frame *f = &w->stack[w->top - 1];
		errno = 0;
		struct dirent *de = readdir(f->dir);
		if (!de) {
			closedir(f->dir);
			w->top--;
			continue;
		}
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		int cfd = openat(dirfd(f->dir), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (cfd < 0)
			continue; /* vanished or not a directory */
		r = walk_visit(w, t, cfd, f->idx, de->d_name, f->depth + 1, visit, ctx);
		if (r < 0 && r != -ENOENT)
			goto out;
		r = 0;
		done++;
	}
	if (w->top > 0)
		return 1;
out:
	tierd_cgroup_walk_free(w);
	*wp = NULL;
	return r;
}

int tierd_cgroup_find_controller(int rootfd, const char *controller, struct tierd_cgroup_hier *h)
{
	static const char *const files[] = { "proc/self/mounts", "proc/mounts", "proc/self/mountinfo" };
	FILE *f = NULL;
	bool mountinfo = false;
	char want[80];
	memset(h, 0, sizeof(*h));
	snprintf(want, sizeof(want), ",%s,", controller);
	for (size_t i = 0; i < 3 && !f; i++) {
		int fd = openat(rootfd, files[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		f = fdopen(fd, "r");
		if (!f)
			close(fd);
		mountinfo = i == 2;
	}
	if (!f)
		return -ENOENT;
	char line[2048], v2[512] = "";
	while (fgets(line, sizeof(line), f)) {
		char mp[512], type[64], opts[512];
		if (!parse_mount_line(line, mountinfo, mp, sizeof(mp), type, sizeof(type), opts, sizeof(opts)))
			continue;
		const char *rel = mp;
		while (*rel == '/')
			rel++;
		if (strcmp(type, "cgroup") == 0) {
			char o[520];
			snprintf(o, sizeof(o), ",%s,", opts);
			if (strstr(o, want)) {
				h->version = 1;
				snprintf(h->mount, sizeof(h->mount), "%s", *rel ? rel : ".");
				break;
			}
		} else if (strcmp(type, "cgroup2") == 0 && !v2[0]) {
			snprintf(v2, sizeof(v2), "%s", *rel ? rel : ".");
		}
	}
	fclose(f);
	if (!h->version && v2[0]) {
		char path[600], buf[512];
		snprintf(path, sizeof(path), "%s/cgroup.controllers", v2);
		if (tier_read_attr_at(rootfd, path, buf, sizeof(buf)) == 0 && word_in(buf, controller)) {
			h->version = 2;
			snprintf(h->mount, sizeof(h->mount), "%s", v2);
		}
	}
	return h->version ? 0 : -ENOENT;
}

/* ---- writes ------------------------------------------------------------ */

static int write_plain(int rootfd, const char *rel, const char *value)
{
	int fd = openat(rootfd, rel, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	/* One write(2) per value.  A zero-length write never reaches kernfs
	 * (checked on 6.18): an empty value is written as "\n", which the
	 * kernel strips to "" (v2 cpuset.mems: inherit). */
	if (!value[0])
		value = "\n";
	size_t len = strlen(value);
	ssize_t n = write(fd, value, len);
	int e = n < 0 ? errno : (size_t)n != len ? EIO : 0;
	if (close(fd) < 0 && e == 0)
		e = errno;
	return -e;
}

static int write_libcgroup(const char *cgpath, const char *file, const char *value)
{
	while (*cgpath == '/')
		cgpath++;
	/* A fresh struct per write, holding only this one value. */
	struct cgroup *cg = cgroup_new_cgroup(*cgpath ? cgpath : ".");
	if (!cg)
		return -ENOMEM;
	struct cgroup_controller *ctl = cgroup_add_controller(cg, "cpuset");
	int r = ctl ? 0 : -ENOMEM;
	if (r == 0)
		r = lcg_errno(cgroup_add_value_string(ctl, file, value), "cgroup_add_value_string");
	if (r == 0)
		r = lcg_errno(cgroup_modify_cgroup(cg), "cgroup_modify_cgroup");
	cgroup_free(&cg);
	return r;
}

int tierd_cgroup_write(int rootfd, const struct tierd_cgroup_hier *h, const char *cgpath, const char *file,
		       const char *value)
{
	char rel[4096];
	int r = tierd_cgroup_relpath(h, cgpath, file, rel, sizeof(rel));
	if (r < 0)
		return r;
	if (h->libcgroup && value[0] && strcmp(file, "cpuset.mems") == 0) {
		r = lcg_init();
		if (r == 0)
			return write_libcgroup(cgpath, file, value);
		/* libcgroup unusable: the file is still there */
	}
	return write_plain(rootfd, rel, value);
}
