/* SPDX-License-Identifier: MIT */
/* memory.numa_stat parser (see tier/memcg.h). */
#include <tier/memcg.h>

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Add the N<node>=<count> tokens of line [s, e) (after its key), divided by
 * div, to pages. */
static int add_nodes(const char *s, const char *e, uint64_t div, uint64_t *pages, unsigned max_nodes)
{
	for (const char *p = s; p < e;) {
		while (p < e && *p == ' ')
			p++;
		const char *tok = p;
		while (p < e && *p != ' ')
			p++;
		if (tok == p || tok[0] != 'N')
			continue;
		char *end;
		errno = 0;
		unsigned long node = strtoul(tok + 1, &end, 10);
		if (end == tok + 1 || *end != '=' || end >= p)
			return -EINVAL;
		const char *v = end + 1;
		unsigned long long cnt = strtoull(v, &end, 10);
		if (end != p || end == v || errno)
			return -EINVAL;
		if (node < max_nodes) {
			uint64_t add = cnt / div;
			pages[node] = pages[node] + add < pages[node] ? UINT64_MAX : pages[node] + add;
		}
	}
	return 0;
}

int tier_memcg_numa_stat_parse(const char *text, int version, uint64_t page_size, uint64_t *pages,
			       unsigned max_nodes)
{
	bool seen_anon = false, seen_file = false, seen_total = false;
	if (page_size == 0)
		page_size = 4096;
	memset(pages, 0, max_nodes * sizeof(*pages));
	for (const char *s = text; s && *s;) {
		const char *e = strchr(s, '\n');
		if (!e)
			e = s + strlen(s);
		int r = 0;
		if (version == 1 && strncmp(s, "total=", 6) == 0) {
			seen_total = true;
			r = add_nodes(s + 6, e, 1, pages, max_nodes);
		} else if (version == 2 && strncmp(s, "anon ", 5) == 0) {
			seen_anon = true;
			r = add_nodes(s + 5, e, page_size, pages, max_nodes);
		} else if (version == 2 && strncmp(s, "file ", 5) == 0) {
			seen_file = true;
			r = add_nodes(s + 5, e, page_size, pages, max_nodes);
		}
		if (r < 0) {
			memset(pages, 0, max_nodes * sizeof(*pages));
			return r;
		}
		s = *e ? e + 1 : e;
	}
	if (version == 1 ? !seen_total : !(seen_anon && seen_file)) {
		memset(pages, 0, max_nodes * sizeof(*pages));
		return -EINVAL;
	}
	return 0;
}
