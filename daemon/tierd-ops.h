/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Side effects of tierd, behind a table so component tests can install fakes
 * that record calls and --dry-run can log instead of writing.  Every path is
 * relative to the root directory fd (--root), so the whole daemon can run
 * against a writable copy of a fixture tree.
 */
#include <stddef.h>

struct tierd_ops {
	/* Write value to an existing attribute: sysfs/procfs file or, under a
	 * fixture root, a plain file (opened O_WRONLY|O_TRUNC, never created).
	 * Returns 0 or -errno (-ENOENT: the attribute vanished). */
	int (*write_attr)(int rootfd, const char *relpath, const char *value);
	/* Read an attribute, trailing newline stripped.  Returns 0 or -errno. */
	int (*read_attr)(int rootfd, const char *relpath, char *buf, size_t size);
};

extern const struct tierd_ops tierd_real_ops;

#define TIERD_KNOB_DEMOTION "sys/kernel/mm/numa/demotion_enabled"
