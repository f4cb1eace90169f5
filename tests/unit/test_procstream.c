/* SPDX-License-Identifier: MIT */
/* Chunked line streams and the smaps VM_LOCKED parser (lib/procstream.c),
 * and the allocation-free maps line parser (lib/procmaps.c). */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tier/procmaps.h>
#include <tier/procstream.h>

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/procstream-XXXXXX";
	return strdup(mkdtemp(tmpl));
}

/* 20,000 lines of varying length read through 4 KiB chunks: every line
 * comes back whole, a read per chunk. */
static void lines_across_chunks(void **state)
{
	(void)state;
	char *dir = tmpdir();
	size_t cap = 20000 * 80, len = 0;
	char *text = malloc(cap);
	for (int i = 0; i < 20000; i++)
		len += (size_t)snprintf(text + len, cap - len, "%d %.*s\n", i, i % 60, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	text[len - 1] = 'z';   /* the last line has no newline */
	tu_write_file(dir, "maps", text);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	struct tier_line_stream s;
	assert_int_equal(tier_line_stream_open(&s, dfd, "maps", 4096), 0);
	const char *l;
	size_t n;
	int i = 0;
	while (tier_line_stream_next(&s, &l, &n) == 1) {
		char want[128];
		int wl = snprintf(want, sizeof(want), "%d %.*s", i, i % 60, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		if (i == 19999)
			want[wl++] = 'z';   /* the newline that became a 'z' */
		assert_int_equal(n, (size_t)wl);
		assert_memory_equal(l, want, n);
		i++;
	}
	assert_int_equal(i, 20000);
	/* about len / chunk reads (the buffer also takes the carried part) */
	assert_true(s.reads >= len / (4096 + 8192) && s.reads <= len / 4096 + 2);
	assert_int_equal(s.bytes, len);
	/* rewind: the same first line again */
	assert_int_equal(tier_line_stream_rewind(&s), 0);
	assert_int_equal(tier_line_stream_next(&s, &l, &n), 1);
	assert_int_equal(n, 2);
	assert_memory_equal(l, "0 ", 2);
	tier_line_stream_close(&s);
	/* a line longer than the buffer is an error, not a cut */
	char *big = malloc(40000);
	memset(big, 'a', 39999);
	big[39999] = '\0';
	tu_write_file(dir, "long", big);
	assert_int_equal(tier_line_stream_open(&s, dfd, "long", 4096), 0);
	assert_int_equal(tier_line_stream_next(&s, &l, &n), -E2BIG);
	tier_line_stream_close(&s);
	assert_int_equal(tier_line_stream_open(&s, dfd, "absent", 4096), -ESRCH);
	assert_int_equal(tier_line_stream_open(&s, dfd, "maps", 100), -EINVAL);
	free(big);
	free(text);
	close(dfd);
	tu_rm_rf(dir);
	free(dir);
}

static void smaps_locked(void **state)
{
	(void)state;
	/* shaped as 6.18's smaps: the VmFlags line ends a VMA */
	const char *lines[] = {
		"55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0                          [heap]",
		"Size:                132 kB",
		"Locked:                0 kB",
		"VmFlags: rd wr mr mw me ac sd ",
		"7f1c2a000000-7f1c2a010000 rw-p 00000000 00:00 0 ",
		"Size:                 64 kB",
		"Locked:               64 kB",
		"VmFlags: rd wr mr mw me lo ac sd ",
		"7f1c2b000000-7f1c2b001000 r--s 00000000 00:05 12                         /memfd:lo (deleted)",
		"VmFlags: rd mr me ms sd lo",
		"7fff00000000-7fff00021000 rw-p 00000000 00:00 0                          [stack]",
		"VmFlags: rd wr mr mw me gd ac lock",
	};
	struct tier_smaps_locked st = { 0 };
	uint64_t s, e;
	int found = 0;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		int r = tier_smaps_locked_feed(&st, lines[i], strlen(lines[i]), &s, &e);
		assert_true(r >= 0);
		if (r == 1) {
			found++;
			if (found == 1) {
				assert_int_equal(s, 0x7f1c2a000000);
				assert_int_equal(e, 0x7f1c2a010000);
			} else {
				assert_int_equal(s, 0x7f1c2b000000);
			}
		}
	}
	assert_int_equal(found, 2);    /* a path named "lo" or a flag "lock" is not VM_LOCKED */
	/* a VmFlags line without a VMA, a bad header */
	struct tier_smaps_locked fresh = { 0 };
	assert_int_equal(tier_smaps_locked_feed(&fresh, "VmFlags: lo", 11, &s, &e), -EINVAL);
	assert_int_equal(tier_smaps_locked_feed(&fresh, "7f-7e rw-p 0 0:0 0", 18, &s, &e), -EINVAL);
}

static void maps_line_view(void **state)
{
	(void)state;
	struct tier_vma v;
	const char *path;
	size_t plen;
	const char *l = "7f1c2a000000-7f1c2a021000 rw-p 00001000 fd:01 1234                       /usr/lib/with space.so";
	assert_int_equal(tier_maps_parse_line(l, strlen(l), &v, &path, &plen), 0);
	assert_int_equal(v.start, 0x7f1c2a000000);
	assert_int_equal(v.end, 0x7f1c2a021000);
	assert_string_equal(v.perms, "rw-p");
	assert_null(v.path);
	assert_int_equal(plen, strlen("/usr/lib/with space.so"));
	assert_memory_equal(path, "/usr/lib/with space.so", plen);
	assert_false(tier_vma_unmovable_path(v.perms, path, plen));
	/* no trailing NUL needed: the length counts */
	char buf[] = "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]XXXX";
	assert_int_equal(tier_maps_parse_line(buf, strlen(buf) - 4, &v, &path, &plen), 0);
	assert_int_equal(plen, strlen("[vsyscall]"));
	assert_true(tier_vma_unmovable_path(v.perms, path, plen));
	const char *vdso = "7ffd1000-7ffd3000 r-xp 00000000 00:00 0  [vdso]";
	assert_int_equal(tier_maps_parse_line(vdso, strlen(vdso), &v, &path, &plen), 0);
	assert_true(tier_vma_unmovable_path(v.perms, path, plen));
	const char *none = "10000-20000 ---p 00000000 00:00 0 ";
	assert_int_equal(tier_maps_parse_line(none, strlen(none), &v, &path, &plen), 0);
	assert_int_equal(plen, 0);
	assert_true(tier_vma_unmovable_path(v.perms, path, plen));
	const char *bad = "20000-10000 rw-p 00000000 00:00 0";
	assert_int_equal(tier_maps_parse_line(bad, strlen(bad), &v, &path, &plen), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(lines_across_chunks), cmocka_unit_test(smaps_locked),
					    cmocka_unit_test(maps_line_view) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
