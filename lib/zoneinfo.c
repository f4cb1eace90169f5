/* SPDX-License-Identifier: MIT */
/* /proc/zoneinfo parser; the format and the truncation rules are in zoneinfo.h. */
#include "zoneinfo.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"

enum section {
	SEC_NONE,        /* before the first "Node N, zone" header */
	SEC_NODESTATS,   /* "per-node stats" block */
	SEC_HEADER,      /* after the header, before "pages free" */
	SEC_WATERMARKS,  /* "pages free" .. "protection:" */
	SEC_ZONESTATS,   /* zone counters, pagesets, tail */
};

enum {
	F_FREE = 1 << 0, F_MIN = 1 << 1, F_LOW = 1 << 2, F_HIGH = 1 << 3,
	F_SPANNED = 1 << 4, F_PRESENT = 1 << 5, F_MANAGED = 1 << 6, F_PROTECTION = 1 << 7,
	F_REQUIRED = (1 << 8) - 1,
};

static const char *const field_names[] = {
	"pages free", "min", "low", "high", "spanned", "present", "managed", "protection",
};

struct parser {
	const char *name;
	char *err;
	size_t errlen;
	int lineno;
	enum section sec;
	unsigned seen;            /* F_* of the current zone */
	bool start_pfn_seen;      /* current zone printed start_pfn: */
	int cap;
	bool fixed;               /* zones[] is the caller's, of cap entries: never grow it */
	struct tier_zoneinfo *zi;
};

static int fail(struct parser *p, int lineno, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct parser *p, int lineno, const char *fmt, ...)
{
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tier_set_err(p->err, p->errlen, "%s: line %d: %s", p->name, lineno, msg);
	return -EINVAL;
}

static struct tier_zone *cur(struct parser *p)
{
	return &p->zi->zones[p->zi->nr_zones - 1].zone;
}

/* Completeness check of the current zone, at the next header or at EOF. */
static int finish_zone(struct parser *p, int lineno, bool at_eof)
{
	if (p->zi->nr_zones == 0)
		return 0;
	struct tier_zone *z = cur(p);
	unsigned missing = F_REQUIRED & ~p->seen;
	if (missing) {
		const char *what = field_names[__builtin_ctz(missing)];
		if (at_eof)
			return fail(p, lineno, "file ends inside zone Node %d %s: no '%s' line (truncated?)",
				    p->zi->zones[p->zi->nr_zones - 1].node, z->name, what);
		return fail(p, lineno, "zone Node %d %s before this line has no '%s' line (truncated or malformed)",
			    p->zi->zones[p->zi->nr_zones - 1].node, z->name, what);
	}
	/* start_pfn is the last line of a populated zone (printed since
	 * 2.6.x, still in 6.18): without it the zone was cut short. */
	if (z->populated && !p->start_pfn_seen) {
		if (at_eof)
			return fail(p, lineno, "file ends inside zone Node %d %s: no 'start_pfn:' line (truncated?)",
				    p->zi->zones[p->zi->nr_zones - 1].node, z->name);
		return fail(p, lineno, "zone Node %d %s before this line has no 'start_pfn:' line (truncated or malformed)",
			    p->zi->zones[p->zi->nr_zones - 1].node, z->name);
	}
	return 0;
}

static int parse_header(struct parser *p, const char *s, int lineno)
{
	/* "Node %d, zone %8s" */
	const char *q = s + 5;
	if (!isdigit((unsigned char)*q))
		return fail(p, lineno, "%s", "expected 'Node N, zone NAME'");
	long node = 0;
	while (isdigit((unsigned char)*q)) {
		node = node * 10 + (*q - '0');
		if (node > 1 << 20)
			return fail(p, lineno, "%s", "node id out of range");
		q++;
	}
	if (strncmp(q, ", zone ", 7) != 0)
		return fail(p, lineno, "%s", "expected 'Node N, zone NAME'");
	q += 7;
	while (*q == ' ')
		q++;
	size_t n = strlen(q);
	if (n == 0 || n >= sizeof(((struct tier_zone *)0)->name) || strchr(q, ' '))
		return fail(p, lineno, "%s", "bad zone name");

	for (int i = 0; i < p->zi->nr_zones; i++)
		if (p->zi->zones[i].node == (int)node && strcmp(p->zi->zones[i].zone.name, q) == 0)
			return fail(p, lineno, "duplicate zone %s", q);

	if (p->zi->nr_zones == p->cap && p->fixed)
		return -ENOSPC;
	if (p->zi->nr_zones == p->cap) {
		int ncap = p->cap ? p->cap * 2 : 16;
		void *nz = realloc(p->zi->zones, (size_t)ncap * sizeof(*p->zi->zones));
		if (!nz)
			return -ENOMEM;
		p->zi->zones = nz;
		p->cap = ncap;
	}
	struct tier_zoneinfo_zone *zz = &p->zi->zones[p->zi->nr_zones++];
	memset(zz, 0, sizeof(*zz));
	zz->node = (int)node;
	memcpy(zz->zone.name, q, n + 1);
	zz->zone.boost_pages = TIER_UNKNOWN;
	zz->zone.promo_pages = TIER_UNKNOWN;
	zz->zone.cma_pages = TIER_UNKNOWN;
	p->seen = 0;
	p->start_pfn_seen = false;
	p->sec = SEC_HEADER;
	return 0;
}

/* "protection: (0, 991, 991, 991, 991)" */
static int parse_protection(struct parser *p, const char *s, int lineno)
{
	struct tier_zone *z = cur(p);
	const char *q = s + strlen("protection:");
	while (*q == ' ')
		q++;
	if (*q++ != '(')
		return fail(p, lineno, "%s", "expected 'protection: (N, ...)'");
	z->nr_protection = 0;
	for (;;) {
		while (*q == ' ')
			q++;
		const char *d = q;
		uint64_t v = 0;
		while (isdigit((unsigned char)*q)) {
			/* Overlong numbers are errors, as in every other field
			 * (tier_parse_u64), not silently wrapped. */
			if (__builtin_mul_overflow(v, 10, &v) ||
			    __builtin_add_overflow(v, (uint64_t)(*q - '0'), &v))
				return fail(p, lineno, "%s", "number too large in 'protection:'");
			q++;
		}
		if (q == d)
			return fail(p, lineno, "%s", "expected a number in 'protection:'");
		if (z->nr_protection < TIER_MAX_ZONE_TYPES)
			z->protection_pages[z->nr_protection++] = v;
		while (*q == ' ')
			q++;
		if (*q == ')') {
			q++;
			break;
		}
		if (*q++ != ',')
			return fail(p, lineno, "%s", "expected ',' or ')' in 'protection:'");
	}
	if (*q)
		return fail(p, lineno, "%s", "junk after 'protection: (...)'");
	p->seen |= F_PROTECTION;
	/* Unpopulated zones end here; populated ones go on with counters. */
	p->sec = SEC_ZONESTATS;
	return 0;
}

/* s = "key   value" of the watermark block. */
static int parse_watermark(struct parser *p, const char *s, int lineno)
{
	static const struct {
		const char *key;
		unsigned flag;
		size_t off;
	} keys[] = {
		{ "min", F_MIN, offsetof(struct tier_zone, min_pages) },
		{ "low", F_LOW, offsetof(struct tier_zone, low_pages) },
		{ "high", F_HIGH, offsetof(struct tier_zone, high_pages) },
		{ "spanned", F_SPANNED, offsetof(struct tier_zone, spanned_pages) },
		{ "present", F_PRESENT, offsetof(struct tier_zone, present_pages) },
		{ "managed", F_MANAGED, offsetof(struct tier_zone, managed_pages) },
		{ "boost", 0, offsetof(struct tier_zone, boost_pages) },
		{ "promo", 0, offsetof(struct tier_zone, promo_pages) },
		{ "cma", 0, offsetof(struct tier_zone, cma_pages) },
	};
	size_t klen = strcspn(s, " \t");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strlen(keys[i].key) != klen || strncmp(s, keys[i].key, klen) != 0)
			continue;
		uint64_t v;
		if (tier_parse_u64(s + klen, &v) < 0)
			return fail(p, lineno, "expected a number after '%s'", keys[i].key);
		if (keys[i].flag & p->seen)
			return fail(p, lineno, "duplicate '%s'", keys[i].key);
		p->seen |= keys[i].flag;
		*(uint64_t *)((char *)cur(p) + keys[i].off) = v;
		if (keys[i].flag == F_PRESENT)
			cur(p)->populated = v > 0;
		return 0;
	}
	/* A key a newer kernel added ("nr_reserved_highatomic"?): skip. */
	return 0;
}

static int parse_line(struct parser *p, char *line, int lineno)
{
	char *s = line;
	while (*s == ' ' || *s == '\t')
		s++;
	tier_rstrip(s);
	if (*s == '\0')
		return 0;

	if (strncmp(s, "Node ", 5) == 0 && s == line) {
		int rc = finish_zone(p, lineno, false);
		if (rc < 0)
			return rc;
		return parse_header(p, s, lineno);
	}
	if (p->sec == SEC_NONE)
		return fail(p, lineno, "%s", "expected 'Node N, zone NAME'");

	if (strcmp(s, "per-node stats") == 0) {
		if (p->sec != SEC_HEADER)
			return fail(p, lineno, "%s", "'per-node stats' out of place");
		p->sec = SEC_NODESTATS;
		return 0;
	}
	if (strncmp(s, "pages free", 10) == 0 && (s[10] == ' ' || s[10] == '\t')) {
		if (p->sec != SEC_HEADER && p->sec != SEC_NODESTATS)
			return fail(p, lineno, "%s", "'pages free' out of place");
		uint64_t v;
		if (tier_parse_u64(s + 10, &v) < 0)
			return fail(p, lineno, "%s", "expected a number after 'pages free'");
		cur(p)->free_pages = v;
		p->seen |= F_FREE;
		p->sec = SEC_WATERMARKS;
		return 0;
	}
	switch (p->sec) {
	case SEC_HEADER:
		return fail(p, lineno, "%s", "expected 'pages free' or 'per-node stats'");
	case SEC_NODESTATS:
		/* "nr_inactive_anon 1677": node counters, not used here. */
		return 0;
	case SEC_WATERMARKS:
		if (strncmp(s, "protection:", 11) == 0)
			return parse_protection(p, s, lineno);
		return parse_watermark(p, s, lineno);
	case SEC_ZONESTATS:
		if (strncmp(s, "start_pfn:", 10) == 0)
			p->start_pfn_seen = true;
		/* Zone counters, pagesets, node_unreclaimable: not used. */
		return 0;
	case SEC_NONE:
		break;
	}
	return 0;
}

/* The whole text, in place (lines are cut at their '\n'). */
static int parse_text(struct parser *p, char *s)
{
	int rc = 0, lineno = 0;
	if (!*s) {
		tier_set_err(p->err, p->errlen, "%s: empty file", p->name);
		return -EINVAL;
	}
	while (*s) {
		char *nl = strchr(s, '\n');
		lineno++;
		if (!nl)
			/* The kernel ends every line with '\n'. */
			return fail(p, lineno, "%s", "last line has no newline: file is truncated");
		*nl = '\0';
		rc = parse_line(p, s, lineno);
		if (rc < 0)
			return rc;
		s = nl + 1;
	}
	if (p->zi->nr_zones == 0)
		return fail(p, lineno, "%s", "no 'Node N, zone NAME' line");
	return finish_zone(p, lineno, true);
}

int tier_zoneinfo_parse(const char *text, const char *name, struct tier_zoneinfo *zi,
			char *err, size_t errlen)
{
	memset(zi, 0, sizeof(*zi));
	struct parser p = { .name = name, .err = err, .errlen = errlen, .zi = zi };
	char *copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	int rc = parse_text(&p, copy);
	free(copy);
	if (rc < 0)
		tier_zoneinfo_free(zi);
	return rc;
}

int tier_zoneinfo_parse_fixed(char *text, const char *name, struct tier_zoneinfo_zone *zones, int cap, int *nr,
			      char *err, size_t errlen)
{
	struct tier_zoneinfo zi = { .zones = zones, .nr_zones = 0 };
	struct parser p = { .name = name, .err = err, .errlen = errlen, .zi = &zi, .cap = cap, .fixed = true };
	int rc = parse_text(&p, text);
	*nr = rc < 0 ? 0 : zi.nr_zones;
	if (rc == -ENOSPC)
		tier_set_err(err, errlen, "%s: more than %d zones", name, cap);
	return rc;
}

void tier_zoneinfo_free(struct tier_zoneinfo *zi)
{
	free(zi->zones);
	zi->zones = NULL;
	zi->nr_zones = 0;
}
