/* SPDX-License-Identifier: MIT */
/*
 * main() for the builds without libFuzzer: run the harness once on every
 * input named on the command line (a file, or every regular file of a
 * directory, in name order).  This is how ctest replays corpus/NAME/ in
 * every build, so an input that once crashed stays a regression test.
 * A crash or a FUZZ_CHECK aborts; an empty corpus is an error too (a
 * replay that ran nothing must not pass).
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t replayed;

static void replay_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	/* Exactly the input's size, as libFuzzer passes it: an overread is
	 * an ASan report in the sanitizer build. */
	size_t size = (size_t)st.st_size;
	uint8_t *buf = malloc(size ? size : 1);
	size_t got = 0;
	while (buf && got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n <= 0) {
			fprintf(stderr, "replay: %s: short read\n", path);
			exit(1);
		}
		got += (size_t)n;
	}
	close(fd);
	if (!buf)
		abort();
	fuzz_note("%s (%zu bytes):", path, size);
	LLVMFuzzerTestOneInput(buf, size);
	free(buf);
	replayed++;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		exit(1);
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		if (!names || !(names[n] = strdup(de->d_name)))
			abort();
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_name);
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			replay_file(path);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n"
				"Runs the harness once on each input (this build has no libFuzzer;\n"
				"configure with CC=clang -DTIERD_FUZZ=ON to fuzz).\n",
			argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode))
			replay_dir(argv[i]);
		else
			replay_file(argv[i]);
	}
	if (replayed == 0) {
		fprintf(stderr, "replay: no input found in the corpus\n");
		return 1;
	}
	printf("%s: replayed %zu inputs, no crash and no broken property\n", argv[0], replayed);
	return 0;
}
