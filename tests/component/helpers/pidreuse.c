/* SPDX-License-Identifier: MIT */
/*
 * pidreuse DIR: force a PID to be reused, for the fence's identity checks
 * (issue 12 item 3).  Root only (clone3 with set_tid needs CAP_SYS_ADMIN in
 * the PID namespace's owner).
 *
 *  1. forks A, which touches 64 pages, writes its PID to DIR/a.pid and
 *     sleeps;
 *  2. waits until DIR/swap exists (the test makes tierd choose A first);
 *  3. kills and reaps A, then creates B with clone3(set_tid = { A's PID }):
 *     the same PID, another process (another start time).  B joins the
 *     cgroup whose tasks file is named in DIR/b.tasks (if that file
 *     exists), touches 64 pages, writes DIR/b.pid and sleeps;
 *  4. waits until DIR/done exists, kills B, exits 0.
 * Exit 77 when the kernel has no clone3/set_tid (< 5.5) or the PID was
 * taken by someone else in between (retry).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[2048];

static int exists(const char *name)
{
	char p[2200];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

static void put(const char *name, long v)
{
	char p[2200];
	snprintf(p, sizeof(p), "%s/%s.tmp", dir, name);
	FILE *f = fopen(p, "w");
	if (!f)
		return;
	fprintf(f, "%ld\n", v);
	fclose(f);
	char q[2200];
	snprintf(q, sizeof(q), "%s/%s", dir, name);
	rename(p, q);
}

static void wait_for(const char *name)
{
	while (!exists(name))
		usleep(10000);
}

static void child_life(const char *tag)
{
	long page = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 64 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m != MAP_FAILED)
		for (int i = 0; i < 64; i++)
			m[i * page] = 1;
	put(tag, (long)getpid());
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: pidreuse DIR\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	pid_t a = fork();
	if (a < 0)
		return 1;
	if (a == 0)
		child_life("a.pid");
	wait_for("swap");
	kill(a, SIGKILL);
	waitpid(a, NULL, 0);

	struct clone_args ca;
	memset(&ca, 0, sizeof(ca));
	pid_t tid = a;
	ca.exit_signal = SIGCHLD;
	ca.set_tid = (uint64_t)(uintptr_t)&tid;
	ca.set_tid_size = 1;
	long b = syscall(SYS_clone3, &ca, sizeof(ca));
	if (b < 0) {
		fprintf(stderr, "pidreuse: clone3(set_tid=%d): %s\n", (int)a, strerror(errno));
		return errno == ENOSYS || errno == EINVAL || errno == EEXIST || errno == E2BIG ? 77 : 1;
	}
	if (b == 0) {
		char p[2200], t[4096];
		snprintf(p, sizeof(p), "%s/b.tasks", dir);
		FILE *f = fopen(p, "r");
		if (f) {
			if (fgets(t, sizeof(t), f)) {
				t[strcspn(t, "\n")] = '\0';
				int fd = open(t, O_WRONLY);
				if (fd >= 0) {
					char s[32];
					int n = snprintf(s, sizeof(s), "%d", (int)getpid());
					if (write(fd, s, (size_t)n) < 0)
						perror("pidreuse: joining the cgroup");
					close(fd);
				}
			}
			fclose(f);
		}
		child_life("b.pid");
	}
	if (b != a) {
		fprintf(stderr, "pidreuse: got pid %ld, wanted %d\n", b, (int)a);
		kill((pid_t)b, SIGKILL);
		return 1;
	}
	wait_for("done");
	kill((pid_t)b, SIGKILL);
	waitpid((pid_t)b, NULL, 0);
	return 0;
}
