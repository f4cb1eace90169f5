/* SPDX-License-Identifier: MIT */
#pragma once
/* Helpers shared by the cmocka tests.  cmocka needs these includes first. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

/* Open a fixture root (tests/fixtures/NAME) as a directory fd; fails the test
 * if absent. */
int tu_open_fixture(const char *name);
/* Make a writable temp copy of fixture NAME; returns its path (malloc'd). */
char *tu_copy_fixture(const char *name);
/* Write text to DIR/relpath, creating parents. */
void tu_write_file(const char *dir, const char *relpath, const char *text);
/* rm -rf path */
void tu_rm_rf(const char *path);
/* Read a whole file (malloc'd, NUL-terminated) or NULL. */
char *tu_read_file(const char *path);
