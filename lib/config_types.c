/* SPDX-License-Identifier: MIT */
/*
 * Typed value parsers for /etc/tierd.conf (and tierctl).  Each one takes the
 * value exactly as written (inih has already trimmed surrounding whitespace),
 * accepts one strict syntax, and on error writes "expected ..., got '...'"
 * into msg without any file:line (lib/config.c adds those).
 *
 * Numbers are parsed by hand rather than with strtoull(): strtoull accepts a
 * leading '-' (and wraps), '+', leading blanks and hex/octal prefixes with
 * base 0, none of which belong in a config file.
 */
#include "tier/config.h"
#include "tier/nodemask.h"
#include "tier/snapshot.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#define USEC_PER_MSEC 1000ull
#define USEC_PER_SEC 1000000ull
#define USEC_PER_MIN (60ull * USEC_PER_SEC)
#define USEC_PER_HOUR (60ull * USEC_PER_MIN)

__attribute__((format(printf, 4, 5)))
static int fail(int err, char *msg, size_t msglen, const char *fmt, ...)
{
	if (msg && msglen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, msglen, fmt, ap);
		va_end(ap);
	}
	return err;
}

static int set_ok(char *msg, size_t msglen)
{
	if (msg && msglen > 0)
		msg[0] = '\0';
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * "123" or "1.5": digits, optionally '.' and at least one more digit.  Returns
 * the position after the number or NULL (no digit first, '.' without a digit
 * after it, more than 9 fraction digits); an integer part too large for 64
 * bits sets overflow, reported by decimal_scale() as -ERANGE.
 */
struct decimal {
	bool overflow;      /* the integer part does not fit in 64 bits */
	uint64_t ipart;
	uint64_t fpart;     /* fraction digits as an integer */
	unsigned fdigits;   /* number of fraction digits, 0..9 */
};

static const char *parse_decimal(const char *s, struct decimal *d)
{
	memset(d, 0, sizeof(*d));
	if (!is_digit(*s))
		return NULL;
	for (; is_digit(*s); s++) {
		if (__builtin_mul_overflow(d->ipart, 10, &d->ipart) ||
		    __builtin_add_overflow(d->ipart, (uint64_t)(*s - '0'), &d->ipart))
			d->overflow = true;
	}
	if (*s != '.')
		return s;
	s++;
	if (!is_digit(*s))
		return NULL;
	for (; is_digit(*s); s++) {
		if (d->fdigits == 9)
			return NULL;
		d->fpart = d->fpart * 10 + (uint64_t)(*s - '0');
		d->fdigits++;
	}
	return s;
}

/* d * mult, exact.  -ERANGE on overflow, -EDOM when the fraction does not
 * come out as a whole number of units. */
static int decimal_scale(const struct decimal *d, uint64_t mult, uint64_t *out)
{
	uint64_t v;
	if (d->overflow || __builtin_mul_overflow(d->ipart, mult, &v))
		return -ERANGE;
	if (d->fdigits) {
		unsigned __int128 f = (unsigned __int128)d->fpart * mult;
		uint64_t p10 = 1;
		for (unsigned i = 0; i < d->fdigits; i++)
			p10 *= 10;
		if (f % p10 != 0)
			return -EDOM;
		unsigned __int128 add = f / p10;
		if (add > UINT64_MAX || __builtin_add_overflow(v, (uint64_t)add, &v))
			return -ERANGE;
	}
	*out = v;
	return 0;
}

int tier_parse_bool(const char *s, bool *out, char *msg, size_t msglen)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return set_ok(msg, msglen);
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return set_ok(msg, msglen);
		}
	}
	return fail(-EINVAL, msg, msglen, "expected yes, no, true, false, on, off, 1 or 0, got '%s'", s);
}

int tier_parse_uint(const char *s, uint64_t lo, uint64_t hi, uint64_t *out, char *msg, size_t msglen)
{
	uint64_t v = 0;
	const char *p = s;
	if (!is_digit(*p))
		goto bad;
	for (; is_digit(*p); p++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
			goto range;
	}
	if (*p)
		goto bad;
	if (v < lo || v > hi)
		goto range;
	*out = v;
	return set_ok(msg, msglen);
bad:
	return fail(-EINVAL, msg, msglen, "expected an integer from %llu to %llu, got '%s'",
		    (unsigned long long)lo, (unsigned long long)hi, s);
range:
	return fail(-ERANGE, msg, msglen, "expected an integer from %llu to %llu, got '%s'",
		    (unsigned long long)lo, (unsigned long long)hi, s);
}

/* Binary units only: tierd deals in pages and MiB, and "64M" meaning
 * 64,000,000 bytes would never be page aligned. */
static const struct unit {
	const char *name;
	uint64_t mult;
} size_units[] = {
	{ "", 1 }, { "B", 1 },
	{ "K", 1ull << 10 }, { "KiB", 1ull << 10 },
	{ "M", 1ull << 20 }, { "MiB", 1ull << 20 },
	{ "G", 1ull << 30 }, { "GiB", 1ull << 30 },
	{ "T", 1ull << 40 }, { "TiB", 1ull << 40 },
	/* Lower case as in "256m" (Java, Docker); still binary. */
	{ "k", 1ull << 10 }, { "m", 1ull << 20 }, { "g", 1ull << 30 }, { "t", 1ull << 40 },
};

#define SIZE_SYNTAX "expected a size in bytes with an optional K, M, G or T suffix (binary: 1K = 1024), like 64M"

int tier_parse_size(const char *s, uint64_t *out_bytes, char *msg, size_t msglen)
{
	struct decimal d;
	const char *p = parse_decimal(s, &d);
	if (!p)
		return fail(-EINVAL, msg, msglen, SIZE_SYNTAX ", got '%s'", s);
	for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
		if (strcmp(p, size_units[i].name) != 0)
			continue;
		int rc = decimal_scale(&d, size_units[i].mult, out_bytes);
		if (rc == -ERANGE)
			return fail(-ERANGE, msg, msglen, "size too large, got '%s'", s);
		if (rc == -EDOM)
			return fail(-EINVAL, msg, msglen, "size is not a whole number of bytes, got '%s'", s);
		return set_ok(msg, msglen);
	}
	return fail(-EINVAL, msg, msglen, SIZE_SYNTAX ", got '%s'", s);
}

static const struct unit duration_units[] = {
	{ "us", 1 },
	{ "ms", USEC_PER_MSEC },
	{ "s", USEC_PER_SEC },
	{ "min", USEC_PER_MIN },
	{ "h", USEC_PER_HOUR },
};

#define DURATION_SYNTAX "expected a duration with a unit us, ms, s, min or h, like 500ms, 1.5s or 2min"

/*
 * A unit is required (a bare "5" could mean seconds or milliseconds), except
 * for "0".  Fractions are allowed when they come out as whole microseconds
 * ("1.5s", "0.25ms"; not "1.5us").  "m" is rejected on purpose: minutes or
 * milliseconds?  No compound forms ("1min30s"): write "90s".
 */
int tier_parse_duration(const char *s, uint64_t *out_usec, char *msg, size_t msglen)
{
	struct decimal d;
	const char *p = parse_decimal(s, &d);
	if (!p)
		return fail(-EINVAL, msg, msglen, DURATION_SYNTAX ", got '%s'", s);
	if (*p == '\0') {
		if (!d.overflow && d.ipart == 0 && d.fpart == 0) {
			*out_usec = 0;
			return set_ok(msg, msglen);
		}
		return fail(-EINVAL, msg, msglen, DURATION_SYNTAX " (the unit is required), got '%s'", s);
	}
	for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
		if (strcmp(p, duration_units[i].name) != 0)
			continue;
		int rc = decimal_scale(&d, duration_units[i].mult, out_usec);
		if (rc == -ERANGE)
			return fail(-ERANGE, msg, msglen, "duration too large, got '%s'", s);
		if (rc == -EDOM)
			return fail(-EINVAL, msg, msglen, "duration is not a whole number of microseconds, got '%s'", s);
		return set_ok(msg, msglen);
	}
	if (strcmp(p, "m") == 0)
		return fail(-EINVAL, msg, msglen, DURATION_SYNTAX " ('m' is ambiguous: use min or ms), got '%s'", s);
	return fail(-EINVAL, msg, msglen, DURATION_SYNTAX ", got '%s'", s);
}

/*
 * Syntax only, via tier_bitmask_parse_list(), deliberately not libnuma's
 * numa_parse_nodestring_all():
 *  - it rejects every node that is not possible on the running host (libnuma
 *    2.0.16: "node argument 1 is out of range" for "0-3,8" on a 1-node host),
 *    so a config written for the production host, or a test fixture from a
 *    bigger machine, would not even parse; whether a configured node exists is
 *    a run-time question that policy answers per snapshot (nodes come and go
 *    with hotplug), not a syntax error that should block a reload;
 *  - it reports through numa_warn()/numa_error(), i.e. prints to stderr from a
 *    parser that must only collect messages;
 *  - it accepts host-relative forms ("all", "+0" relative to the cpuset,
 *    "!0" inversion) whose meaning changes with the process's cpuset.
 * The kernel list syntax ("0-3,8") is what sysfs prints, so admins can paste
 * it.  Strict: no spaces, no empty items, ranges low-high.
 */
int tier_parse_nodelist(const char *s, struct bitmask *out, char *msg, size_t msglen)
{
	/* Pre-check the characters and shape so that the accepted syntax does
	 * not silently widen with the sysfs reader (which trims whitespace). */
	const char *p = s;
	while (*p) {
		const char *start = p;
		while (is_digit(*p))
			p++;
		if (p == start)
			goto bad;
		if (*p == '-') {
			p++;
			const char *s2 = p;
			while (is_digit(*p))
				p++;
			if (p == s2)
				goto bad;
		}
		if (*p == ',') {
			p++;
			if (!*p)
				goto bad;
		} else if (*p) {
			goto bad;
		}
	}
	/* Parse into a scratch mask so out is untouched on error. */
	struct bitmask *tmp = tier_bitmask_alloc((unsigned)out->size);
	int rc = tier_bitmask_parse_list(s, tmp);
	if (rc == 0)
		tier_bitmask_copy(out, tmp);
	tier_bitmask_free(tmp);
	if (rc == -ERANGE)
		return fail(-ERANGE, msg, msglen, "expected node numbers from 0 to %u, got '%s'",
			    (unsigned)out->size - 1, s);
	if (rc < 0)
		goto bad;
	return set_ok(msg, msglen);
bad:
	return fail(-EINVAL, msg, msglen, "expected a node list like 0-3,8, got '%s'", s);
}

#define WM_SYNTAX "expected min, low or high, optionally +SIZE or +N%%"

int tier_parse_wm_expr(const char *s, struct tier_wm_expr *out, char *msg, size_t msglen)
{
	static const struct {
		const char *name;
		enum tier_wm_base base;
	} bases[] = { { "min", TIER_WM_MIN }, { "low", TIER_WM_LOW }, { "high", TIER_WM_HIGH } };
	struct tier_wm_expr e = { 0 };
	const char *p = NULL;
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(bases[i].name);
		if (strncmp(s, bases[i].name, n) == 0 && (s[n] == '\0' || s[n] == '+')) {
			e.base = bases[i].base;
			p = s + n;
			break;
		}
	}
	if (!p)
		return fail(-EINVAL, msg, msglen, WM_SYNTAX ", got '%s'", s);
	if (*p == '+') {
		p++;
		size_t n = strlen(p);
		if (n > 0 && p[n - 1] == '%') {
			/* Permille resolution: "0.5%" is fine, "0.05%" is not. */
			struct decimal d;
			const char *q = parse_decimal(p, &d);
			uint64_t permille;
			if (!q || q != p + n - 1)
				return fail(-EINVAL, msg, msglen, WM_SYNTAX ", got '%s'", s);
			int rc = decimal_scale(&d, 10, &permille);
			if (rc == -EDOM)
				return fail(-EINVAL, msg, msglen,
					    WM_SYNTAX " (percent with at most one decimal), got '%s'", s);
			if (rc < 0 || permille > 1000)
				return fail(-ERANGE, msg, msglen,
					    WM_SYNTAX " (N from 0 to 100), got '%s'", s);
			e.plus_permille = (unsigned)permille;
		} else {
			char sub[128];
			int rc = tier_parse_size(p, &e.plus_bytes, sub, sizeof(sub));
			if (rc < 0)
				return fail(rc, msg, msglen, WM_SYNTAX " (SIZE like 64M), got '%s'", s);
		}
	}
	*out = e;
	return set_ok(msg, msglen);
}

static const char *const level_names[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

int tier_parse_log_level(const char *s, int *out, char *msg, size_t msglen)
{
	for (int i = 0; i < 8; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = i;
			return set_ok(msg, msglen);
		}
	}
	/* The spellings systemd and syslog tools also accept. */
	if (strcmp(s, "error") == 0) {
		*out = LOG_ERR;
		return set_ok(msg, msglen);
	}
	if (strcmp(s, "warn") == 0) {
		*out = LOG_WARNING;
		return set_ok(msg, msglen);
	}
	if (is_digit(s[0]) && s[1] == '\0' && s[0] <= '7') {
		*out = s[0] - '0';
		return set_ok(msg, msglen);
	}
	return fail(-EINVAL, msg, msglen,
		    "expected emerg, alert, crit, err, warning, notice, info, debug or 0..7, got '%s'", s);
}

const char *tier_log_level_name(int level)
{
	if (level < 0 || level > 7)
		return "?";
	return level_names[level];
}

int tier_parse_cgroup_path(const char *s, bool glob, char *msg, size_t msglen)
{
	const char *what = glob ? "expected an absolute cgroup path or glob like /system.slice/*.service"
				: "expected an absolute cgroup path like /system.slice/db.service";
	if (s[0] != '/')
		return fail(-EINVAL, msg, msglen, "%s, got '%s'", what, s);
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c == 0x7f)
			return fail(-EINVAL, msg, msglen, "%s (no spaces or control characters), got '%s'", what, s);
		if (!glob && (c == '*' || c == '?' || c == '['))
			return fail(-EINVAL, msg, msglen, "%s (no glob characters), got '%s'", what, s);
	}
	if (strcmp(s, "/") == 0)
		return set_ok(msg, msglen);
	/* Components: non-empty, not "." or "..": cgroup paths are compared as
	 * strings, so "/a/../b" would never match what the kernel reports. */
	const char *p = s + 1;
	for (;;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0)
			return fail(-EINVAL, msg, msglen, "%s (no empty components or trailing '/'), got '%s'",
				    what, s);
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return fail(-EINVAL, msg, msglen, "%s (no '.' or '..' components), got '%s'", what, s);
		if (!e)
			break;
		p = e + 1;
	}
	return set_ok(msg, msglen);
}

int tier_parse_textfile_path(const char *s, char *msg, size_t msglen)
{
	const char *what = "expected an absolute path to a .prom file like "
			   "/var/lib/prometheus/node-exporter/tierd.prom";
	if (s[0] != '/')
		return fail(-EINVAL, msg, msglen, "%s, got '%s'", what, s);
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < ' ' || c == 0x7f)
			return fail(-EINVAL, msg, msglen, "%s (no control characters), got '%s'", what, s);
	}
	const char *base = strrchr(s, '/') + 1;
	size_t n = strlen(base);
	/* node_exporter's textfile collector reads the *.prom files of its directory and nothing else:
	 * another name would be written and never scraped, silently. */
	if (n <= 5 || strcmp(base + n - 5, ".prom") != 0)
		return fail(-EINVAL, msg, msglen, "%s (node_exporter reads only *.prom files), got '%s'", what, s);
	if (base[0] == '.')
		return fail(-EINVAL, msg, msglen, "%s (not a hidden file: the temp file is .NAME.tmp), got '%s'",
			    what, s);
	for (const char *p = s + 1;;) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return fail(-EINVAL, msg, msglen, "%s (no empty, '.' or '..' components), got '%s'", what, s);
		if (!e)
			break;
		p = e + 1;
	}
	return set_ok(msg, msglen);
}

/* The largest unit that represents v exactly; "0" for 0. */
static size_t format_units(uint64_t v, const struct unit *units, size_t nunits, char *buf, size_t size)
{
	size_t best = 0;
	for (size_t i = 0; i < nunits; i++) {
		if (units[i].mult && v % units[i].mult == 0 && units[i].mult >= units[best].mult)
			best = i;
	}
	if (v == 0)
		return (size_t)snprintf(buf, size, "0");
	return (size_t)snprintf(buf, size, "%llu%s", (unsigned long long)(v / units[best].mult), units[best].name);
}

size_t tier_size_format(uint64_t bytes, char *buf, size_t size)
{
	static const struct unit u[] = {
		{ "", 1 }, { "K", 1ull << 10 }, { "M", 1ull << 20 }, { "G", 1ull << 30 }, { "T", 1ull << 40 },
	};
	return format_units(bytes, u, 5, buf, size);
}

size_t tier_duration_format(uint64_t usec, char *buf, size_t size)
{
	return format_units(usec, duration_units, sizeof(duration_units) / sizeof(duration_units[0]), buf, size);
}

size_t tier_wm_expr_format(const struct tier_wm_expr *e, char *buf, size_t size)
{
	static const char *const names[] = { "min", "low", "high" };
	char tmp[96];
	size_t len = (size_t)snprintf(tmp, sizeof(tmp), "%s", (unsigned)e->base < 3 ? names[e->base] : "?");
	if (e->plus_bytes) {
		tmp[len++] = '+';
		len += tier_size_format(e->plus_bytes, tmp + len, sizeof(tmp) - len);
	}
	if (e->plus_permille) {
		if (e->plus_permille % 10)
			len += (size_t)snprintf(tmp + len, sizeof(tmp) - len, "+%u.%u%%",
						e->plus_permille / 10, e->plus_permille % 10);
		else
			len += (size_t)snprintf(tmp + len, sizeof(tmp) - len, "+%u%%", e->plus_permille / 10);
	}
	return (size_t)snprintf(buf, size, "%s", tmp);
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	uint64_t r;
	return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

/*
 * Margins round up to whole pages: a line that is a page higher is the
 * conservative side for both trip (trip earlier) and release (release later).
 */
uint64_t tier_wm_expr_pages(const struct tier_wm_expr *e, const struct tier_node *n, uint64_t page_size)
{
	uint64_t base;
	switch (e->base) {
	case TIER_WM_MIN:
		base = n->min_pages;
		break;
	case TIER_WM_LOW:
		base = n->low_pages;
		break;
	default:
		base = n->high_pages;
		break;
	}
	if (page_size == 0)
		page_size = 4096;
	uint64_t pages = base;
	if (e->plus_bytes)
		pages = sat_add(pages, e->plus_bytes / page_size + (e->plus_bytes % page_size != 0));
	if (e->plus_permille && n->managed_pages != TIER_UNKNOWN) {
		unsigned __int128 m = (unsigned __int128)n->managed_pages * e->plus_permille;
		unsigned __int128 q = m / 1000 + (m % 1000 != 0);
		pages = sat_add(pages, q > UINT64_MAX ? UINT64_MAX : (uint64_t)q);
	}
	return pages;
}
