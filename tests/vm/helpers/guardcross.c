/* SPDX-License-Identifier: MIT */
/*
 * guardcross: the guard's reaction time, crossing by crossing.
 *
 *   guardcross --zoneinfo FILE --node N --zone NAME --below PAGES
 *       --above PAGES --knob FILE [--demote FILE] [--crossings N]
 *       [--timeout-ms MS] [--label TEXT]
 *
 * FILE is the zoneinfo tierd reads (a fixture file, bind-mounted over
 * /proc/zoneinfo by tests/bench/guard-under-load.sh).  Each crossing
 * rewrites, in place and with one pwrite of the same length, the "pages
 * free" value of node N zone NAME to PAGES below the trip line, takes the
 * time, and polls demotion_enabled (FILE --knob) every 100 us until it reads
 * "false": that is one reaction time (the write that crosses the line -> the
 * knob write, as the issue defines it, plus at most one poll).  Then it
 * writes --above (over the release line) and waits for "true" (the release
 * time, reported too), and sleeps 30-150 ms before the next crossing.
 * --demote FILE: a nodeN/vmstat whose pgdemote_kswapd is bumped every 5 ms
 * for the whole run, so the upper node counts as demoting (under reclaim
 * pressure) at every look of the guard, as on a host where demotion fills
 * the lower node, without its free pages being low (relief needs room there).
 *
 * --give-up N: stop after N crossings in a row that timed out (the guard is
 * not answering at all; the remaining crossings would each wait the whole
 * timeout).
 *
 * Prints one line of figures (ms): min / median / p99 / max of the trips and
 * the releases, the number of crossings that timed out, and which crossing
 * had the slowest trip (the first one: start-up).  Asserts nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The byte range of the value after `key` on the first line matching it
 * after `from` (everything from the end of the key to the end of the line). */
static int find_field(const char *text, size_t from, const char *key, size_t *off, size_t *len)
{
	const char *p = text + from;
	size_t kl = strlen(key);
	while ((p = strstr(p, key))) {
		const char *ls = p;
		while (ls > text && ls[-1] == ' ')
			ls--;
		if ((ls == text || ls[-1] == '\n') && (p[kl] == ' ' || p[kl] == '\t')) {
			const char *e = strchr(p, '\n');
			if (!e)
				return -1;
			*off = (size_t)(p + kl - text);
			*len = (size_t)(e - (p + kl));
			return 0;
		}
		p += kl;
	}
	return -1;
}

static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 1 << 20;
	char *b = malloc(cap);
	ssize_t n = b ? read(fd, b, cap - 1) : -1;
	close(fd);
	if (n < 0) {
		free(b);
		return NULL;
	}
	b[n] = '\0';
	*len = (size_t)n;
	return b;
}

static void write_field(int fd, size_t off, size_t len, unsigned long long v)
{
	char buf[64];
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	snprintf(buf, sizeof(buf), "%*llu", (int)len, v);
	if (pwrite(fd, buf, len, (off_t)off) != (ssize_t)len)
		perror("pwrite");
}

/* The demotion counter, bumped every 5 ms from every wait below. */
static int dfd = -1;
static size_t doff, dlen;
static unsigned long long demoted;
static double last_bump;

static void bump(void)
{
	if (dfd < 0 || now_ms() - last_bump < 5)
		return;
	last_bump = now_ms();
	write_field(dfd, doff, dlen, demoted += 64);
}

static void pause_ms(double ms)
{
	struct timespec tick = { 0, 500000 };
	double t0 = now_ms();
	while (now_ms() - t0 < ms) {
		bump();
		nanosleep(&tick, NULL);
	}
}

static int knob_is(int fd, const char *want)
{
	char b[16];
	ssize_t n = pread(fd, b, sizeof(b) - 1, 0);
	if (n <= 0)
		return 0;
	b[n] = '\0';
	return strncmp(b, want, strlen(want)) == 0;
}

static double wait_knob(int fd, const char *want, double t0, double timeout_ms)
{
	struct timespec tick = { 0, 100000 };
	for (;;) {
		if (knob_is(fd, want))
			return now_ms() - t0;
		if (now_ms() - t0 > timeout_ms)
			return -1;
		bump();
		nanosleep(&tick, NULL);
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void figures(const char *what, double *v, int n)
{
	if (n == 0) {
		printf(" %s none", what);
		return;
	}
	qsort(v, (size_t)n, sizeof(*v), cmp);
	int p99 = (int)((n - 1) * 0.99 + 0.5);
	printf(" %s_ms min %.2f median %.2f p99 %.2f max %.2f", what, v[0], v[n / 2], v[p99], v[n - 1]);
}

int main(int argc, char **argv)
{
	const char *zoneinfo = NULL, *zone = NULL, *knob = NULL, *demote = NULL, *label = "";
	int node = -1, crossings = 60, give_up = 0;
	unsigned long long below = 0, above = 0;
	double timeout_ms = 10000;
	static const struct option opts[] = {
		{ "zoneinfo", 1, NULL, 'z' }, { "node", 1, NULL, 'n' }, { "zone", 1, NULL, 'Z' },
		{ "below", 1, NULL, 'b' }, { "above", 1, NULL, 'a' }, { "knob", 1, NULL, 'k' },
		{ "demote", 1, NULL, 'd' }, { "crossings", 1, NULL, 'c' }, { "timeout-ms", 1, NULL, 't' },
		{ "label", 1, NULL, 'l' }, { "give-up", 1, NULL, 'g' }, {},
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'z': zoneinfo = optarg; break;
		case 'n': node = atoi(optarg); break;
		case 'Z': zone = optarg; break;
		case 'b': below = strtoull(optarg, NULL, 10); break;
		case 'a': above = strtoull(optarg, NULL, 10); break;
		case 'k': knob = optarg; break;
		case 'd': demote = optarg; break;
		case 'c': crossings = atoi(optarg); break;
		case 't': timeout_ms = atof(optarg); break;
		case 'l': label = optarg; break;
		case 'g': give_up = atoi(optarg); break;
		default: return 2;
		}
	}
	if (!zoneinfo || !zone || !knob || node < 0 || !below || !above) {
		fprintf(stderr, "usage: guardcross --zoneinfo FILE --node N --zone NAME --below PAGES "
				"--above PAGES --knob FILE [--demote FILE] [--crossings N] [--timeout-ms MS]\n");
		return 2;
	}
	size_t len, off, flen;
	char *text = slurp(zoneinfo, &len), hdr[64];
	snprintf(hdr, sizeof(hdr), "Node %d, zone ", node);
	char *h = text ? strstr(text, hdr) : NULL;
	while (h) {
		const char *name = h + strlen(hdr);
		while (*name == ' ')
			name++;
		if (!strncmp(name, zone, strlen(zone)) && name[strlen(zone)] == '\n')
			break;
		h = strstr(h + 1, hdr);
	}
	if (!h || find_field(text, (size_t)(h - text), "pages free", &off, &flen) < 0) {
		fprintf(stderr, "no 'pages free' of Node %d zone %s in %s\n", node, zone, zoneinfo);
		return 1;
	}
	int zfd = open(zoneinfo, O_WRONLY | O_CLOEXEC), kfd = open(knob, O_RDONLY | O_CLOEXEC);
	if (zfd < 0 || kfd < 0) {
		perror("open");
		return 1;
	}
	if (demote) {
		size_t dl;
		char *dt = slurp(demote, &dl);
		if (!dt || find_field(dt, 0, "pgdemote_kswapd", &doff, &dlen) < 0) {
			fprintf(stderr, "no pgdemote_kswapd in %s\n", demote);
			return 1;
		}
		demoted = strtoull(dt + doff, NULL, 10);
		free(dt);
		dfd = open(demote, O_WRONLY | O_CLOEXEC);
		if (dfd < 0) {
			perror(demote);
			return 1;
		}
	}
	double *trip = calloc((size_t)crossings, sizeof(*trip)), *rel = calloc((size_t)crossings, sizeof(*rel));
	int nt = 0, nr = 0, timeouts = 0, in_a_row = 0, done = 0, slowest = -1;
	double slowest_ms = -1;
	srand((unsigned)getpid());
	/* Start above the release line, released. */
	write_field(zfd, off, flen, above);
	wait_knob(kfd, "true", now_ms(), timeout_ms);
	for (int i = 0; i < crossings; i++) {
		double gap = 30 + rand() % 120;
		pause_ms(gap);
		write_field(zfd, off, flen, below);
		double t0 = now_ms(), t = wait_knob(kfd, "false", t0, timeout_ms);
		done++;
		if (t < 0) {
			timeouts++;
			in_a_row++;
		} else {
			trip[nt++] = t;
			in_a_row = 0;
			if (t > slowest_ms) {
				slowest_ms = t;
				slowest = i + 1;
			}
		}
		pause_ms(gap);
		write_field(zfd, off, flen, above);
		t0 = now_ms();
		t = wait_knob(kfd, "true", t0, timeout_ms);
		if (t < 0)
			timeouts++;
		else
			rel[nr++] = t;
		if (give_up && in_a_row >= give_up)
			break;
	}
	printf("guard-crossings%s%s: crossings %d timeouts %d%s", label[0] ? " " : "", label, done, timeouts,
	       done < crossings ? " (gave up: the guard did not answer)" : "");
	figures("trip", trip, nt);
	figures("release", rel, nr);
	if (slowest > 0)
		printf(" slowest trip #%d", slowest);
	printf("\n");
	free(trip);
	free(rel);
	free(text);
	return 0;
}
