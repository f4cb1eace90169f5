/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * What every harness in tests/fuzz shares (README.md says how to add one).
 *
 * A harness is one file fuzz-NAME.c that defines LLVMFuzzerTestOneInput()
 * and calls the real entry point with the input.  It is linked either with
 * libFuzzer (-DTIERD_FUZZ=ON, clang) or with fuzz-replay.c, a main() that
 * runs it once on every file of corpus/NAME/ (every other build, ctest label
 * "fuzz").  A harness must be deterministic, must free what it allocates
 * (LeakSanitizer runs in both modes) and reports a broken property with
 * FUZZ_CHECK, which aborts, so the input is kept as a crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the code under test promises; abort() (a crash for libFuzzer
 * and for the replay) when it does not hold. */
#define FUZZ_CHECK(cond)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: property does not hold: %s\n", __FILE__, __LINE__, \
				#cond);                                                    \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* With FUZZ_VERBOSE set in the environment, print what the input came to
 * ("parsed: 2 nodes", "rejected: proc/zoneinfo: line 3: ...") to stderr, to
 * see what a corpus exercises; silent otherwise (it costs one branch). */
void fuzz_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The input as a NUL-terminated string in a buffer of exactly size + 1
 * bytes (so AddressSanitizer flags a read past the terminator).  An
 * embedded NUL ends the string early, as it does for the readers, which
 * parse what tier_read_file_at() returned.  Aborts on OOM. */
char *fuzz_cstr(const uint8_t *data, size_t size);

/*
 * Multi-file inputs: the input is split at separator lines "%%" (exactly
 * those two characters and a newline, at the start of the input or after a
 * newline).  The newline before a separator stays with the part before it,
 * so "a\n%%\nb\n" is "a\n" and "b\n".  Fills at most max parts (the rest
 * of the input is dropped) and returns how many; at least 1 (an empty
 * input is one empty part).
 */
#define FUZZ_SEPARATOR "%%\n"
struct fuzz_part {
	const uint8_t *data;
	size_t size;
};
size_t fuzz_split(const uint8_t *data, size_t size, struct fuzz_part *parts, size_t max);

/* A scratch directory on tmpfs (/dev/shm when it is a writable directory,
 * else $TMPDIR or /tmp), created on first use and removed at exit.  Files
 * are rewritten there for every input instead of building a tree per run. */
const char *fuzz_scratch_path(void);
int fuzz_scratch_fd(void);

/* Write data to dirfd/relpath (created or truncated, parent directories
 * created as needed); remove dirfd/relpath (absent is fine).  Abort on
 * failure: a harness that cannot write its fixture tests nothing. */
void fuzz_put(int dirfd, const char *relpath, const void *data, size_t size);
void fuzz_remove(int dirfd, const char *relpath);
