/* SPDX-License-Identifier: MIT */
/* memory.numa_stat, v1 and v2: see tier/memcgstat.h. */
#include <tier/memcgstat.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static int u64_span(const char *s, const char *e, uint64_t *out)
{
	uint64_t v = 0;
	if (s >= e)
		return -EINVAL;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

int tier_memcg_numa_stat_parse(const char *text, uint64_t page_size, int node, uint64_t *on_node_bytes,
			       uint64_t *total_bytes)
{
	bool found = false;
	uint64_t on = 0, tot = 0;
	*on_node_bytes = *total_bytes = 0;
	for (const char *l = text; *l;) {
		const char *e = strchr(l, '\n');
		if (!e)
			e = l + strlen(l);
		const char *w = l, *we = l;
		while (we < e && *we != ' ')
			we++;
		const char *eq = memchr(w, '=', (size_t)(we - w));
		bool v1 = eq != NULL;
		size_t nl = (size_t)((v1 ? eq : we) - w);
		bool v1_total = v1 && nl == 5 && memcmp(w, "total", 5) == 0;
		bool v2_user = !v1 && ((nl == 4 && memcmp(w, "anon", 4) == 0) || (nl == 4 && memcmp(w, "file", 4) == 0));
		if (v1_total || v2_user) {
			uint64_t mult = v1 ? page_size : 1, lt = 0;
			if (v1 && u64_span(eq + 1, we, &lt) < 0)
				return -EINVAL;
			/* N<id>=<value> tokens */
			for (const char *t = we; t < e;) {
				while (t < e && *t == ' ')
					t++;
				const char *te = t;
				while (te < e && *te != ' ')
					te++;
				if (te > t) {
					const char *q = memchr(t, '=', (size_t)(te - t));
					uint64_t id, val;
					if (t[0] != 'N' || !q || u64_span(t + 1, q, &id) < 0 || u64_span(q + 1, te, &val) < 0)
						return -EINVAL;
					val = val > UINT64_MAX / mult ? UINT64_MAX : val * mult;
					if (node >= 0 && id == (uint64_t)node)
						on = sat_add(on, val);
					if (!v1)
						tot = sat_add(tot, val);
				}
				t = te;
			}
			if (v1)
				tot = sat_add(tot, lt > UINT64_MAX / mult ? UINT64_MAX : lt * mult);
			found = true;
		}
		l = *e ? e + 1 : e;
	}
	if (!found)
		return -ENOENT;
	*on_node_bytes = on;
	*total_bytes = tot;
	return 0;
}
