/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int tu_open_fixture(const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", TIER_FIXTURES, name);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("fixture %s: %s", path, strerror(errno));
	return fd;
}

static int run(const char *cmd)
{
	int rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

char *tu_copy_fixture(const char *name)
{
	char tmpl[] = "/tmp/tier-test-XXXXXX";
	if (!mkdtemp(tmpl))
		fail_msg("mkdtemp: %s", strerror(errno));
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "cp -a '%s/%s/.' '%s/'", TIER_FIXTURES, name, tmpl);
	if (run(cmd) != 0)
		fail_msg("copy fixture %s failed", name);
	return strdup(tmpl);
}

void tu_write_file(const char *dir, const char *relpath, const char *text)
{
	char path[4096], cmd[8300];
	snprintf(path, sizeof(path), "%s/%s", dir, relpath);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
	if (run(cmd) != 0)
		fail_msg("%s failed", cmd);
	*slash = '/';
	FILE *f = fopen(path, "w");
	if (!f)
		fail_msg("fopen %s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

void tu_rm_rf(const char *path)
{
	char cmd[4200];
	if (!path || strncmp(path, "/tmp/", 5) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	(void)run(cmd);
}

char *tu_read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	size_t n;
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}
