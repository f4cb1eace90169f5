/* SPDX-License-Identifier: MIT */
/*
 * stallwatch - run a memory workload and time the "demotion + no swap" OOM stall.
 *
 *   stallwatch [--deadline S] [--after-oom S] [--max-stall S] [--interval-ms MS]
 *              [--progress S] [--probe-cmd CMD] -- WORKLOAD [ARGS...]
 *
 * Starts WORKLOAD in its own process group (oom_score_adj 0, so it is what the
 * OOM killer picks; the scenario shell and this monitor run at -1000), samples
 * /proc/zoneinfo and /proc/vmstat every --interval-ms (default 100) and stops
 * --after-oom seconds (default 3) after the first OOM kill, at --deadline
 * (default 300 s after the start), --max-stall seconds after memory full
 * without an OOM kill (default: no such limit; the demo's 60 s) or when the
 * workload exits; then kills the
 * workload's group and prints key=value lines on stdout (progress and the
 * workload's own output go to stderr):
 *
 *   start_to_full_s       start -> memory full: every zone with >= 64 MiB managed has
 *                         free <= its low watermark (kswapd can no longer keep up anywhere;
 *                         small DMA zones are held back by lowmem_reserve and never fill)
 *   full_to_first_oom_s   memory full -> first oom_kill increment ("none" if none)
 *   start_to_first_oom_s, oom_kill (delta), pgdemote_* (deltas of every such counter)
 *   probes_in_stall, probe_max_ms_in_stall, probes_over_1s_in_stall, shell_within_1s
 *                         a separate prober process runs `sh -c CMD` once a second
 *                         (default CMD: cat /proc/loadavg); "shell answers within 1 s
 *                         during the stall" = every probe started between memory full and
 *                         the first OOM kill (or the end) finished within 1 s (n/a if none)
 *   end_reason            oom | deadline | stall-limit | workload-exit
 *
 * Progress lines (every --progress s, stderr) give the free memory per node,
 * the OOM kills and pages demoted so far, and how long the shell probe now
 * running has waited (probe_wait, when over a second: the stall as a user at
 * a shell feels it).
 *
 * The monitor and the prober mlockall() themselves and reuse open fds, so their
 * own sampling does not stall with the system.  Exit 0 if the figures were
 * recorded, 2 on usage or setup errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "vmutil.h"

#define MAX_PROBES 8192
#define MAX_COUNTERS 16
#define BIG_ZONE_PAGES 16384 /* 64 MiB of 4 KiB pages */

struct probe {
	double start_s, end_s; /* end_s == 0: still running */
	int status;
};

struct probe_shm {
	int stop;
	int started, finished; /* probes[1..started] exist; 1..finished are done */
	struct probe probes[MAX_PROBES + 1];
};

static char vmstat_buf[1 << 16], zoneinfo_buf[1 << 18];

static void write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, s, strlen(s)) < 0)
			perror(path);
		close(fd);
	}
}

static void sleep_until(double t)
{
	double d = t - vm_now_s();

	if (d > 0) {
		struct timespec ts = { .tv_sec = (time_t)d, .tv_nsec = (long)((d - (double)(time_t)d) * 1e9) };

		nanosleep(&ts, NULL);
	}
}

static void prober(struct probe_shm *shm, const char *cmd)
{
	mlockall(MCL_CURRENT | MCL_FUTURE);
	while (!__atomic_load_n(&shm->stop, __ATOMIC_ACQUIRE) && shm->started < MAX_PROBES) {
		int k = shm->started + 1, st = -1;
		struct probe *p = &shm->probes[k];
		pid_t pid;

		p->start_s = vm_now_s();
		p->end_s = 0;
		__atomic_store_n(&shm->started, k, __ATOMIC_RELEASE);
		pid = fork();
		if (pid == 0) {
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
			_exit(127);
		}
		if (pid > 0 && waitpid(pid, &st, 0) < 0)
			st = -1;
		p->status = pid > 0 ? st : -1; /* fork failure counts as no answer */
		p->end_s = vm_now_s();
		__atomic_store_n(&shm->finished, k, __ATOMIC_RELEASE);
		sleep_until(p->start_s + 1.0);
	}
	_exit(0);
}

struct counters {
	int n;
	char name[MAX_COUNTERS][48];
	long start[MAX_COUNTERS];
};

/* Remember every pgdemote_* counter this kernel has (6.1: kswapd/direct; 6.12 adds khugepaged). */
static void counters_init(struct counters *c, const char *vmstat)
{
	const char *p = vmstat;

	c->n = 0;
	while ((p = strstr(p, "pgdemote_")) && c->n < MAX_COUNTERS) {
		size_t len = strcspn(p, " ");

		if ((p == vmstat || p[-1] == '\n') && len < sizeof(c->name[0])) {
			memcpy(c->name[c->n], p, len);
			c->name[c->n][len] = '\0';
			c->start[c->n] = vm_kv(vmstat, c->name[c->n]);
			c->n++;
		}
		p += len;
	}
}

/* Free pages per node, and whether every big zone is at or below its low watermark. */
static bool memory_full(int zfd, long *node_free, int *nnodes, char *line, size_t linesize)
{
	static struct vm_zone z[VM_MAX_ZONES];
	bool full = true;
	int nz, big = 0;
	size_t len = 0;

	if (vm_pread_all(zfd, zoneinfo_buf, sizeof(zoneinfo_buf)) < 0)
		return false;
	nz = vm_parse_zoneinfo(zoneinfo_buf, z, VM_MAX_ZONES);
	*nnodes = 0;
	memset(node_free, 0, sizeof(long) * VM_MAX_NODES);
	line[0] = '\0';
	for (int i = 0; i < nz; i++) {
		if (z[i].node < 0 || z[i].node >= VM_MAX_NODES)
			continue;
		node_free[z[i].node] += z[i].free_pages;
		if (z[i].node + 1 > *nnodes)
			*nnodes = z[i].node + 1;
		if (z[i].managed_pages < BIG_ZONE_PAGES)
			continue;
		big++;
		if (z[i].free_pages > z[i].low_pages)
			full = false;
		if (len < linesize)
			len += (size_t)snprintf(line + len, linesize - len, " n%d/%s free=%ld min=%ld low=%ld", z[i].node,
						z[i].name, z[i].free_pages, z[i].min_pages, z[i].low_pages);
	}
	return full && big > 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: stallwatch [--deadline S] [--after-oom S] [--max-stall S] [--interval-ms MS] "
		"[--progress S] [--probe-cmd CMD] -- WORKLOAD [ARGS...]\n");
	exit(2);
}

static void fmt_time(char *buf, size_t size, double t)
{
	if (t < 0)
		snprintf(buf, size, "none");
	else
		snprintf(buf, size, "%.1f", t);
}

int main(int argc, char **argv)
{
	double deadline_s = 300, after_oom_s = 3, progress_s = 10, interval_s = 0.1, max_stall_s = 0;
	const char *probe_cmd = "cat /proc/loadavg >/dev/null";
	double t0, t_full = -1, t_oom = -1, t_end, next_progress;
	long oom0, node_free[VM_MAX_NODES];
	int vfd, zfd, i, nnodes = 0, wstatus = -1;
	const char *end_reason = "deadline";
	bool full_at_oom = false, workload_done = false;
	char zline[1024], a[32], b[32], c[32];
	struct counters ctr;
	struct probe_shm *shm;
	pid_t wpid, ppid;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--deadline") == 0)
			deadline_s = atof(argv[++i]);
		else if (strcmp(argv[i], "--after-oom") == 0)
			after_oom_s = atof(argv[++i]);
		else if (strcmp(argv[i], "--max-stall") == 0)
			max_stall_s = atof(argv[++i]);
		else if (strcmp(argv[i], "--interval-ms") == 0)
			interval_s = atof(argv[++i]) / 1000.0;
		else if (strcmp(argv[i], "--progress") == 0)
			progress_s = atof(argv[++i]);
		else if (strcmp(argv[i], "--probe-cmd") == 0)
			probe_cmd = argv[++i];
		else
			usage();
	}
	if (i >= argc || deadline_s <= 0 || interval_s <= 0)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);

	vfd = open("/proc/vmstat", O_RDONLY | O_CLOEXEC);
	zfd = open("/proc/zoneinfo", O_RDONLY | O_CLOEXEC);
	if (vfd < 0 || zfd < 0 || vm_pread_all(vfd, vmstat_buf, sizeof(vmstat_buf)) < 0) {
		perror("stallwatch: /proc");
		return 2;
	}
	oom0 = vm_kv(vmstat_buf, "oom_kill");
	counters_init(&ctr, vmstat_buf);
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED) {
		perror("stallwatch: mmap");
		return 2;
	}
	memset(shm, 0, sizeof(*shm));
	write_str("/proc/self/oom_score_adj", "-1000");
	if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
		perror("stallwatch: mlockall");

	ppid = fork();
	if (ppid < 0) {
		perror("stallwatch: fork");
		return 2;
	}
	if (ppid == 0)
		prober(shm, probe_cmd);

	t0 = vm_now_s();
	wpid = fork();
	if (wpid < 0) {
		perror("stallwatch: fork");
		return 2;
	}
	if (wpid == 0) {
		setpgid(0, 0);
		munlockall();
		write_str("/proc/self/oom_score_adj", "0");
		dup2(STDERR_FILENO, STDOUT_FILENO); /* stdout carries only the figures */
		execvp(argv[i], argv + i);
		perror("stallwatch: exec");
		_exit(127);
	}
	setpgid(wpid, wpid);
	fprintf(stderr, "stallwatch: started pid %d: %s ...\n", (int)wpid, argv[i]);

	next_progress = t0 + progress_s;
	for (;;) {
		double now = vm_now_s();
		bool full = memory_full(zfd, node_free, &nnodes, zline, sizeof(zline));
		long oom;
		pid_t r;

		vm_pread_all(vfd, vmstat_buf, sizeof(vmstat_buf));
		oom = vm_kv(vmstat_buf, "oom_kill") - oom0;
		if (full && t_full < 0) {
			t_full = now;
			fprintf(stderr, "stallwatch: t=%.1fs memory full:%s\n", now - t0, zline);
		}
		if (oom > 0 && t_oom < 0) {
			t_oom = now;
			if (t_full < 0) { /* filled and killed between two samples */
				t_full = now;
				full_at_oom = true;
			}
			fprintf(stderr, "stallwatch: t=%.1fs first OOM kill\n", now - t0);
		}
		if (now >= next_progress) {
			char nl[256];
			size_t len = 0;

			long demoted = 0;
			int st = __atomic_load_n(&shm->started, __ATOMIC_ACQUIRE);
			int fin = __atomic_load_n(&shm->finished, __ATOMIC_ACQUIRE);
			char pw[48] = "";

			for (int n = 0; n < nnodes && len < sizeof(nl); n++)
				len += (size_t)snprintf(nl + len, sizeof(nl) - len, " n%d_free=%ldM", n,
							node_free[n] >> 8);
			for (int k = 0; k < ctr.n; k++)
				demoted += vm_kv(vmstat_buf, ctr.name[k]) - ctr.start[k];
			if (st > fin && st <= MAX_PROBES && now - shm->probes[st].start_s > 1.0)
				snprintf(pw, sizeof(pw), " probe_wait=%.0fs", now - shm->probes[st].start_s);
			fprintf(stderr, "stallwatch: t=%.0fs%s oom_kill=%ld pgdemote=+%ld%s%s\n", now - t0, nl, oom, demoted,
				pw, full ? " [full]" : "");
			next_progress += progress_s;
		}
		r = waitpid(wpid, &wstatus, WNOHANG);
		if (r == wpid) {
			workload_done = true;
			end_reason = "workload-exit";
			break;
		}
		if (t_oom >= 0 && now >= t_oom + after_oom_s) {
			end_reason = "oom";
			break;
		}
		if (max_stall_s > 0 && t_full >= 0 && t_oom < 0 && now >= t_full + max_stall_s) {
			end_reason = "stall-limit";
			break;
		}
		if (now >= t0 + deadline_s)
			break;
		sleep_until(now + interval_s);
	}
	t_end = vm_now_s();
	kill(-wpid, SIGKILL);
	if (!workload_done)
		waitpid(wpid, &wstatus, 0);
	__atomic_store_n(&shm->stop, 1, __ATOMIC_RELEASE);
	kill(ppid, SIGKILL); /* a probe may be stuck; its result so far is what counts */
	waitpid(ppid, NULL, 0);

	vm_pread_all(vfd, vmstat_buf, sizeof(vmstat_buf));
	fmt_time(a, sizeof(a), t_full < 0 ? -1 : t_full - t0);
	fmt_time(b, sizeof(b), t_oom < 0 ? -1 : t_oom - t_full);
	fmt_time(c, sizeof(c), t_oom < 0 ? -1 : t_oom - t0);
	printf("start_to_full_s=%s\nfull_to_first_oom_s=%s\nstart_to_first_oom_s=%s\n", a, b, c);
	printf("full_detected=%s\n", t_full < 0 ? "never" : full_at_oom ? "at-oom" : "low-watermark");
	printf("oom_kill=%ld\n", vm_kv(vmstat_buf, "oom_kill") - oom0);
	for (i = 0; i < ctr.n; i++)
		printf("%s=%ld\n", ctr.name[i], vm_kv(vmstat_buf, ctr.name[i]) - ctr.start[i]);

	/* Probes that started inside the stall window [t_full, t_oom or end). */
	{
		int started = __atomic_load_n(&shm->started, __ATOMIC_ACQUIRE), in = 0, over = 0;
		double stall_end = t_oom >= 0 ? t_oom : t_end, max_ms = 0;

		for (int k = 1; k <= started; k++) {
			struct probe *p = &shm->probes[k];
			double end = p->end_s > 0 ? p->end_s : t_end, ms = (end - p->start_s) * 1000.0;
			bool failed = p->end_s <= 0 || p->status != 0;

			if (t_full < 0 || p->start_s < t_full || p->start_s >= stall_end)
				continue;
			in++;
			if (ms > max_ms)
				max_ms = ms;
			if (ms > 1000.0 || failed)
				over++;
		}
		printf("stall_s=%.1f\n", t_full < 0 ? 0.0 : stall_end - t_full);
		printf("probes_total=%d\nprobes_in_stall=%d\nprobe_max_ms_in_stall=%.0f\nprobes_over_1s_in_stall=%d\n",
		       started, in, max_ms, over);
		printf("shell_within_1s=%s\n", in == 0 ? "n/a" : over ? "no" : "yes");
	}
	printf("end_reason=%s\n", end_reason);
	printf("workload_status=%s%d\n", WIFSIGNALED(wstatus) ? "signal:" : "exit:",
	       WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : WEXITSTATUS(wstatus));
	printf("elapsed_s=%.1f\n", t_end - t0);
	return 0;
}
