/* SPDX-License-Identifier: MIT */
/*
 * How fast does the demotion guard react?  Runs the real tierd against a
 * writable copy of the two-tier capture (vm-6.12-hmat-2tier), simulates
 * node 1 filling at a given rate by rewriting proc/zoneinfo every 2 ms, and
 * measures the time from the write that puts node 1 at or below its low
 * watermark (the trip line) to tierd's write of demotion_enabled (inotify
 * IN_CLOSE_WRITE).  Negative = the slope prediction tripped before the
 * crossing.  Then measures tierd's CPU use while idle.
 *
 *   bench_guard_reaction TIERD FIXTURE_DIR [runs]
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* node 1, DMA32 of vm-6.12-hmat-2tier */
#define LOW_PAGES 10757
#define MIN_PAGES 8606
#define START_PAGES 200000
#define STEP_USEC 2000

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		die(path);
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return strdup(buf);
}

/* The zoneinfo text split around the number of "pages free" of one zone. */
struct zi {
	char *head, *tail;
};

static char *find_free(char *text, const char *header)
{
	char *z = strstr(text, header);
	if (!z)
		return NULL;
	char *p = strstr(z, "pages free");
	if (!p)
		return NULL;
	p += strlen("pages free");
	while (*p == ' ')
		p++;
	return p;
}

static void zi_split(struct zi *zi, const char *text, const char *header)
{
	char *t = strdup(text);
	char *p = find_free(t, header);
	if (!p) {
		fprintf(stderr, "bench: no '%s' in zoneinfo\n", header);
		exit(1);
	}
	char *e = p;
	while (*e >= '0' && *e <= '9')
		e++;
	zi->tail = strdup(e);
	*p = 0;
	zi->head = t;
}

static void zi_write(const struct zi *zi, const char *root, long pages)
{
	char tmp[4096], dst[4096];
	snprintf(tmp, sizeof(tmp), "%s/proc/zoneinfo.new", root);
	snprintf(dst, sizeof(dst), "%s/proc/zoneinfo", root);
	FILE *f = fopen(tmp, "w");
	if (!f)
		die(tmp);
	fprintf(f, "%s%ld%s", zi->head, pages, zi->tail);
	fclose(f);
	if (rename(tmp, dst) < 0)
		die("rename");
}

static void write_file(const char *root, const char *rel, const char *text)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	FILE *f = fopen(p, "w");
	if (!f)
		die(p);
	fputs(text, f);
	fclose(f);
}

static pid_t start_tierd(const char *tierd, const char *root)
{
	char conf[4096], sock[4096];
	snprintf(conf, sizeof(conf), "%s/tierd.conf", root);
	snprintf(sock, sizeof(sock), "%s/tierd.sock", root);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		execl(tierd, tierd, "--root", root, "--config", conf, "--socket", sock, "--state-dir", "/run/tierd",
		      (char *)NULL);
		_exit(127);
	}
	/* Up when the socket exists (the first tick ran before it). */
	for (int i = 0; i < 400; i++) {
		struct stat st;
		if (stat(sock, &st) == 0)
			return pid;
		usleep(5000);
	}
	fprintf(stderr, "bench: tierd did not start\n");
	exit(1);
}

static void stop_tierd(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static char *make_root(const char *fixture)
{
	char tmpl[] = "/tmp/tierd-bench-XXXXXX";
	if (!mkdtemp(tmpl))
		die("mkdtemp");
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "cp -a '%s/.' '%s/'", fixture, tmpl);
	if (system(cmd) != 0)
		die("cp");
	return strdup(tmpl);
}

static void rm_root(const char *root)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: cleanup of %s failed\n", root);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* One run: returns the reaction in ms (NAN-free: 1e9 when no write). */
static double run_once(const char *tierd, const char *fixture, double rate_mib_s, int predict)
{
	char *root = make_root(fixture);
	char path[4096];
	snprintf(path, sizeof(path), "%s/proc/zoneinfo", root);
	char *text = slurp(path);
	struct zi n0, n1;
	write_file(root, "sys/kernel/mm/numa/demotion_enabled", "true\n");
	char conf[512];
	snprintf(conf, sizeof(conf),
		 "[daemon]\ninterval = 1s\nmin_interval = 10ms\nmax_interval = 5s\n"
		 "[guard]\nmode = on\npredict = %s\n",
		 predict ? "yes" : "no");
	write_file(root, "tierd.conf", conf);
	/* node 0 under reclaim pressure (free <= high), node 1 far from its lines */
	zi_split(&n0, text, "Node 0, zone    DMA32");
	zi_write(&n0, root, 8000);
	free(text);
	text = slurp(path);
	zi_split(&n1, text, "Node 1, zone    DMA32");
	zi_write(&n1, root, START_PAGES);

	pid_t pid = start_tierd(tierd, root);
	usleep(300000);

	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	snprintf(path, sizeof(path), "%s/sys/kernel/mm/numa/demotion_enabled", root);
	if (inotify_add_watch(in, path, IN_CLOSE_WRITE) < 0)
		die("inotify_add_watch");

	double pages = START_PAGES, step_pages = rate_mib_s * 1048576.0 / 4096.0 * STEP_USEC / 1e6;
	double t_cross = -1, t_knob = -1, t0 = now_ms();
	/* Fill until both the crossing and the write happened: with prediction
	 * the write comes first. */
	while (now_ms() - t0 < 30000 && (t_knob < 0 || t_cross < 0)) {
		struct pollfd pfd = { in, POLLIN, 0 };
		if (t_knob < 0 && poll(&pfd, 1, 0) > 0)
			t_knob = now_ms();
		if (pages > MIN_PAGES) {
			pages -= step_pages;
			if (pages < MIN_PAGES)
				pages = MIN_PAGES;
			zi_write(&n1, root, (long)pages);
			if (t_cross < 0 && pages <= LOW_PAGES)
				t_cross = now_ms();
		} else if (t_cross >= 0 && now_ms() - t_cross > 5000) {
			break;
		}
		usleep(STEP_USEC);
	}
	close(in);
	stop_tierd(pid);
	rm_root(root);
	free(root);
	free(text);
	free(n0.head);
	free(n0.tail);
	free(n1.head);
	free(n1.tail);
	if (t_knob < 0 || t_cross < 0)
		return 1e9; /* no reaction within 5 s: printed as such */
	return t_knob - t_cross;
}

/* CPU time of a task in ns from /proc/PID/schedstat (first field). */
static unsigned long long cpu_ns(pid_t pid)
{
	char path[64];
	unsigned long long ns = 0;
	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f || fscanf(f, "%llu", &ns) != 1)
		die(path);
	fclose(f);
	return ns;
}

static void idle_cost(const char *tierd, const char *fixture, const char *label)
{
	char *root = make_root(fixture);
	write_file(root, "tierd.conf", "[daemon]\ninterval = 1s\n");
	pid_t pid = start_tierd(tierd, root);
	sleep(1);
	unsigned long long c0 = cpu_ns(pid);
	double t0 = now_ms();
	sleep(20);
	unsigned long long c1 = cpu_ns(pid);
	double t1 = now_ms();
	stop_tierd(pid);
	rm_root(root);
	free(root);
	double cpu_ms = (double)(c1 - c0) / 1e6;
	printf("idle %-28s cpu %.1f ms over %.0f s = %.3f%% of one core\n", label, cpu_ms, (t1 - t0) / 1e3,
	       cpu_ms / (t1 - t0) * 100.0);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s TIERD FIXTURES_DIR [runs]\n", argv[0]);
		return 2;
	}
	const char *tierd = argv[1];
	char fixture[4096];
	snprintf(fixture, sizeof(fixture), "%s/vm-6.12-hmat-2tier", argv[2]);
	int runs = argc > 3 ? atoi(argv[3]) : 5;
	static const double rates[] = { 100, 1000, 4000 };

	printf("guard reaction: node 1 filled at RATE, time from crossing low to the demotion_enabled write\n");
	printf("(negative = tripped early on the slope; %d runs each; zoneinfo rewritten every %d us)\n", runs,
	       STEP_USEC);
	for (int predict = 1; predict >= 0; predict--) {
		for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
			double v[64];
			int n = runs < 64 ? runs : 64;
			for (int i = 0; i < n; i++)
				v[i] = run_once(tierd, fixture, rates[r], predict);
			qsort(v, (size_t)n, sizeof(double), cmp_double);
			printf("predict=%-3s rate %5.0f MiB/s: min %7.1f ms  median %7.1f ms  max %7.1f ms%s\n",
			       predict ? "yes" : "no", rates[r], v[0], v[n / 2], v[n - 1],
			       v[n - 1] >= 1e9 ? "  (1e9 = no write within 5 s)" : "");
		}
	}
	idle_cost(tierd, fixture, "(2 tiers, 1 GiB nodes)");
	snprintf(fixture, sizeof(fixture), "%s/host-1node-6.18", argv[2]);
	idle_cost(tierd, fixture, "(1 tier, the dev host)");
	return 0;
}
