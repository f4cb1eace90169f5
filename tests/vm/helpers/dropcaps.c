/* SPDX-License-Identifier: MIT */
/*
 * dropcaps CAP[,CAP...] -- COMMAND [ARGS]
 *
 * Run COMMAND as root without the given capabilities (numbers or names:
 * sys_admin, sys_nice, sys_ptrace, dac_override), as the systemd unit's
 * CapabilityBoundingSet= leaves tierd: dropped from the bounding set and
 * from the effective, permitted and inheritable sets.  The VM's relief
 * scenario uses it to measure tierd without CAP_SYS_ADMIN (pagemap then
 * hides PFNs).  Raw syscalls: the helper is linked statically, without
 * libcap.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int cap_number(const char *s)
{
	static const struct { const char *name; int nr; } names[] = {
		{ "sys_admin", CAP_SYS_ADMIN },       { "sys_nice", CAP_SYS_NICE },
		{ "sys_ptrace", CAP_SYS_PTRACE },     { "dac_override", CAP_DAC_OVERRIDE },
		{ "chown", CAP_CHOWN },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name))
			return names[i].nr;
	char *e;
	long v = strtol(s, &e, 10);
	return *e || v < 0 || v > 63 ? -1 : (int)v;
}

int main(int argc, char **argv)
{
	if (argc < 4 || strcmp(argv[2], "--")) {
		fprintf(stderr, "usage: dropcaps CAP[,CAP...] -- COMMAND [ARGS]\n");
		return 2;
	}
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0) {
		perror("dropcaps: capget");
		return 1;
	}
	char *list = strdup(argv[1]);
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		int c = cap_number(tok);
		if (c < 0) {
			fprintf(stderr, "dropcaps: unknown capability %s\n", tok);
			return 2;
		}
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
			perror("dropcaps: PR_CAPBSET_DROP");
			return 1;
		}
		d[c / 32].effective &= ~(1u << (c % 32));
		d[c / 32].permitted &= ~(1u << (c % 32));
		d[c / 32].inheritable &= ~(1u << (c % 32));
	}
	if (syscall(SYS_capset, &h, d) < 0) {
		perror("dropcaps: capset");
		return 1;
	}
	execvp(argv[3], argv + 3);
	perror("dropcaps: exec");
	return 127;
}
