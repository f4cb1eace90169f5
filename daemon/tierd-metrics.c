/* SPDX-License-Identifier: MIT */
/* The Prometheus textfile writer (see tierd-metrics.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tier/metrics.h>
#include "tierd.h"
#include "tierd-log.h"
#include "tierd-metrics.h"

struct tierd_metrics {
	sd_event_source *timer;
	char *path;               /* the file in use (a copy of the config's), NULL: off */
	uint64_t interval_usec;
	bool written;             /* path holds a file we wrote (removed on stop/change) */
	bool failing;             /* in an episode of failed writes (logged once) */
	uint64_t writes, failures, last_write_usec;
	char last_error[320];
};

static struct tierd_metrics *M(struct tierd *d)
{
	return d->metrics;
}

/* "/a/b/c.prom" -> dir "/a/b" ("/" for "/c.prom"), base "c.prom". */
static void split_path(const char *path, char *dir, size_t dsize, const char **base)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	if (n == 0)
		snprintf(dir, dsize, "/");
	else
		snprintf(dir, dsize, "%.*s", (int)n, path);
	*base = slash ? slash + 1 : path;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Replace path with text: temp file beside it, then rename. */
static int replace_file(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
	char dir[4096], tmp[512];
	const char *base;
	split_path(path, dir, sizeof(dir), &base);
	if ((size_t)snprintf(tmp, sizeof(tmp), ".%s.tmp", base) >= sizeof(tmp)) {
		snprintf(err, errlen, "file name too long");
		return -ENAMETOOLONG;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open its directory: %s", strerror(e));
		return -e;
	}
	/* A leftover temp file (a crash between create and rename) goes first;
	 * then O_EXCL|O_NOFOLLOW: whatever another user of the directory may
	 * have put there (a symlink, a hard link), tierd writes only a file it
	 * just created itself. */
	(void)unlinkat(dfd, tmp, 0);
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	int r = 0;
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot create the temp file %.100s: %s", tmp, strerror(-r));
		close(dfd);
		return r;
	}
	/* UMask=0077 in the unit: make it readable for node_exporter's user. */
	if (fchmod(fd, 0644) < 0 || (r = write_all(fd, text, len)) < 0) {
		if (r == 0)
			r = -errno;
		snprintf(err, errlen, "cannot write the temp file %.100s: %s", tmp, strerror(-r));
	}
	if (close(fd) < 0 && r == 0) {
		r = -errno;
		snprintf(err, errlen, "cannot write the temp file %.100s: %s", tmp, strerror(-r));
	}
	if (r == 0 && renameat(dfd, tmp, dfd, base) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot rename the temp file %.100s over it: %s", tmp, strerror(-r));
	}
	if (r < 0)
		(void)unlinkat(dfd, tmp, 0);
	close(dfd);
	return r;
}

int tierd_metrics_write(struct tierd *d)
{
	struct tierd_metrics *m = M(d);
	if (!m || !m->path)
		return 0;
	uint64_t t0 = tierd_now_mono_usec();
	struct json_object *st = tierd_status_json(d);
	size_t len = 0;
	char *text = tier_metrics_render(st, &len);
	json_object_put(st);
	char err[sizeof(m->last_error) - 64] = "";
	int r = text ? replace_file(m->path, text, len, err, sizeof(err)) : -ENOMEM;
	free(text);
	m->last_write_usec = tierd_now_mono_usec() - t0;
	if (r < 0) {
		m->failures++;
		if (!err[0])
			snprintf(err, sizeof(err), "%s", strerror(-r));
		snprintf(m->last_error, sizeof(m->last_error), "%s", err);
		if (!m->failing) {
			/* ProtectSystem=strict: everything but the API file systems
			 * and the RuntimeDirectory is read-only for the unit. */
			bool sandbox = r == -EROFS || r == -EACCES || r == -EPERM;
			log_warning("metrics: writing %s failed: %s%s; retrying every %llu s", m->path, err,
				    sandbox ? " (under systemd: allow the directory with a drop-in, `systemctl edit "
					      "tierd`: [Service] ReadWritePaths=DIR; see tierd.conf(5))"
					    : "",
				    (unsigned long long)(m->interval_usec / 1000000));
			m->failing = true;
		} else {
			log_debug("metrics: writing %s still fails: %s", m->path, err);
		}
		return r;
	}
	if (m->failing)
		log_notice("metrics: writing %s works again (after %llu failed writes)", m->path,
			   (unsigned long long)m->failures);
	m->failing = false;
	m->last_error[0] = '\0';
	m->written = true;
	m->writes++;
	return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct tierd *d = userdata;
	struct tierd_metrics *m = M(d);
	(void)usec;
	tierd_metrics_write(d);
	/* The next one a full interval after this write ended: at most once
	 * per interval whatever the write cost. */
	int r = sd_event_source_set_time_relative(s, m->interval_usec);
	if (r >= 0)
		r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	if (r < 0)
		log_error("metrics: cannot schedule the next write: %s", strerror(-r));
	return 0;
}

static void remove_written(struct tierd_metrics *m)
{
	if (m->path && m->written && unlink(m->path) < 0 && errno != ENOENT)
		log_warning("metrics: cannot remove %s: %s", m->path, strerror(errno));
	m->written = false;
}

/* Apply the config: path, interval, timer on or off; write at once when
 * (re)enabled. */
static int configure(struct tierd *d)
{
	struct tierd_metrics *m = M(d);
	const char *want = d->config->metrics_textfile;
	bool same = (!want && !m->path) || (want && m->path && strcmp(want, m->path) == 0);
	if (!same) {
		remove_written(m);
		free(m->path);
		m->path = want ? strdup(want) : NULL;
		if (want && !m->path)
			return -ENOMEM;
		m->failing = false;
		m->last_error[0] = '\0';
	}
	m->interval_usec = d->config->metrics_interval_usec;
	if (!m->path) {
		if (m->timer)
			sd_event_source_set_enabled(m->timer, SD_EVENT_OFF);
		return 0;
	}
	/* Accuracy a tenth of the interval: node_exporter reads the file
	 * whenever it is scraped; the wakeups may coalesce. */
	uint64_t acc = m->interval_usec / 10;
	int r;
	if (!m->timer) {
		r = sd_event_add_time_relative(d->event, &m->timer, CLOCK_MONOTONIC, 0, acc, on_timer, d);
		if (r < 0)
			return r;
		sd_event_source_set_description(m->timer, "metrics-textfile");
	} else {
		r = sd_event_source_set_time_relative(m->timer, 0);
		if (r >= 0)
			r = sd_event_source_set_time_accuracy(m->timer, acc);
		if (r >= 0)
			r = sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT);
		if (r < 0)
			return r;
	}
	if (!same)
		log_info("metrics: writing %s every %llu s", m->path, (unsigned long long)(m->interval_usec / 1000000));
	return 0;
}

int tierd_metrics_start(struct tierd *d)
{
	if (!d->metrics) {
		d->metrics = calloc(1, sizeof(struct tierd_metrics));
		if (!d->metrics)
			return -ENOMEM;
	}
	int r = configure(d);
	if (r < 0)
		log_error("metrics: cannot set up the textfile timer: %s", strerror(-r));
	return r;
}

void tierd_metrics_reload(struct tierd *d)
{
	if (!d->metrics || !d->event)
		return;
	int r = configure(d);
	if (r < 0)
		log_error("metrics: cannot follow the reloaded configuration: %s", strerror(-r));
}

void tierd_metrics_stop(struct tierd *d)
{
	struct tierd_metrics *m = M(d);
	if (!m)
		return;
	if (m->timer)
		sd_event_source_set_enabled(m->timer, SD_EVENT_OFF);
	remove_written(m);
}

void tierd_metrics_free(struct tierd *d)
{
	struct tierd_metrics *m = M(d);
	if (!m)
		return;
	m->timer = sd_event_source_disable_unref(m->timer);
	free(m->path);
	free(m);
	d->metrics = NULL;
}

struct json_object *tierd_metrics_status(struct tierd *d)
{
	struct tierd_metrics *m = M(d);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "textfile", m && m->path ? json_object_new_string(m->path) : NULL);
	json_object_object_add(o, "interval_usec", json_object_new_int64((int64_t)d->config->metrics_interval_usec));
	json_object_object_add(o, "writes", json_object_new_int64(m ? (int64_t)m->writes : 0));
	json_object_object_add(o, "write_failures", json_object_new_int64(m ? (int64_t)m->failures : 0));
	json_object_object_add(o, "last_error", m && m->last_error[0] ? json_object_new_string(m->last_error) : NULL);
	json_object_object_add(o, "last_write_usec", json_object_new_int64(m ? (int64_t)m->last_write_usec : 0));
	return o;
}
