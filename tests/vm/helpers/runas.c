/* SPDX-License-Identifier: MIT */
/*
 * runas UID GID[,GROUP...] COMMAND [ARGS]: drop to an unprivileged user
 * (setgroups, setgid, setuid) and exec COMMAND.  For running the hostile
 * processes of the benchmarks as the unprivileged users the issues speak of,
 * also in the VM's busybox initramfs, which has no setpriv(1).
 */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: runas UID GID[,GROUP...] COMMAND [ARGS]\n");
		return 2;
	}
	uid_t uid = (uid_t)strtoul(argv[1], NULL, 10);
	gid_t groups[32];
	size_t n = 0;
	for (char *tok = strtok(argv[2], ","); tok && n < 32; tok = strtok(NULL, ","))
		groups[n++] = (gid_t)strtoul(tok, NULL, 10);
	if (n == 0 || setgroups(n - 1, groups + 1) < 0 || setgid(groups[0]) < 0 || setuid(uid) < 0) {
		perror("runas");
		return 1;
	}
	execvp(argv[3], argv + 3);
	perror(argv[3]);
	return 127;
}
