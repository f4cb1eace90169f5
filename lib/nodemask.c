/* SPDX-License-Identifier: MIT */
/*
 * Node/CPU set helpers over libnuma's struct bitmask (see tier/nodemask.h).
 *
 * The operations work on maskp directly, word by word, so masks of different
 * sizes combine safely: bits past the end of the shorter mask read as zero and
 * writes past the end of dst are dropped.
 */
#include "tier/nodemask.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BITS_PER_WORD (8u * sizeof(unsigned long))

static size_t nwords(const struct bitmask *bm)
{
	return (bm->size + BITS_PER_WORD - 1) / BITS_PER_WORD;
}

static unsigned long word(const struct bitmask *bm, size_t i)
{
	if (i >= nwords(bm))
		return 0;
	unsigned long w = bm->maskp[i];
	/* Mask out bits >= size in the last word (never set by us, but a mask
	 * allocated by libnuma may have a size that is not a word multiple). */
	if ((i + 1) * BITS_PER_WORD > bm->size) {
		unsigned keep = (unsigned)(bm->size - i * BITS_PER_WORD);
		w &= keep ? (~0ul >> (BITS_PER_WORD - keep)) : 0;
	}
	return w;
}

struct bitmask *tier_bitmask_alloc(unsigned nbits)
{
	/* numa_bitmask_alloc() calls numa_error()/exit on OOM: never NULL. */
	struct bitmask *bm = numa_bitmask_alloc(nbits ? nbits : 1);
	return bm;
}

struct bitmask *tier_nodemask_alloc(void)
{
	return tier_bitmask_alloc(TIER_MAX_NODES);
}

void tier_bitmask_free(struct bitmask *bm)
{
	if (bm)
		numa_bitmask_free(bm);
}

static void clear_all(struct bitmask *bm)
{
	memset(bm->maskp, 0, nwords(bm) * sizeof(unsigned long));
}

static void set_bit(struct bitmask *bm, unsigned long bit)
{
	bm->maskp[bit / BITS_PER_WORD] |= 1ul << (bit % BITS_PER_WORD);
}

/* Strict unsigned decimal; *end past the digits.  -EINVAL if no digit,
 * -ERANGE if it overflows unsigned long. */
static int parse_num(const char *s, const char **end, unsigned long *out)
{
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	unsigned long v = 0;
	while (isdigit((unsigned char)*s)) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (ULONG_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
		s++;
	}
	*end = s;
	*out = v;
	return 0;
}

int tier_bitmask_parse_list(const char *s, struct bitmask *bm)
{
	clear_all(bm);
	if (!s)
		return -EINVAL;
	while (isspace((unsigned char)*s))
		s++;
	/* Trailing whitespace (sysfs ends with '\n') is the end of the list. */
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	const char *stop = s + n;
	if (s == stop)
		return 0;

	int rc = 0;
	for (;;) {
		unsigned long a, b;
		const char *p;
		rc = parse_num(s, &p, &a);
		if (rc < 0)
			goto fail;
		b = a;
		if (p < stop && *p == '-') {
			rc = parse_num(p + 1, &p, &b);
			if (rc < 0)
				goto fail;
			if (b < a) {
				rc = -EINVAL;
				goto fail;
			}
		}
		/* "0-7:2/4" (bitmap_parselist groups) never appears in sysfs
		 * output: rejected with everything else unexpected. */
		if (b >= bm->size) {
			rc = -ERANGE;
			goto fail;
		}
		for (unsigned long i = a; i <= b; i++)
			set_bit(bm, i);
		if (p == stop)
			return 0;
		if (*p != ',' || p + 1 == stop) {
			rc = -EINVAL;
			goto fail;
		}
		s = p + 1;
	}
fail:
	clear_all(bm);
	return rc;
}

size_t tier_bitmask_format(const struct bitmask *bm, char *buf, size_t size)
{
	size_t len = 0;
	char tmp[48];
	int bit = tier_bitmask_next(bm, 0);
	if (size > 0)
		buf[0] = '\0';
	while (bit >= 0) {
		int last = bit;
		while (tier_bitmask_isset(bm, last + 1))
			last++;
		int n;
		if (last > bit)
			n = snprintf(tmp, sizeof(tmp), "%s%d-%d", len ? "," : "", bit, last);
		else
			n = snprintf(tmp, sizeof(tmp), "%s%d", len ? "," : "", bit);
		if (size > 0 && len < size - 1) {
			size_t room = size - 1 - len;
			size_t cp = (size_t)n < room ? (size_t)n : room;
			memcpy(buf + len, tmp, cp);
			buf[len + cp] = '\0';
		}
		len += (size_t)n;
		bit = tier_bitmask_next(bm, last + 1);
	}
	return len;
}

char *tier_bitmask_format_alloc(const struct bitmask *bm)
{
	size_t need = tier_bitmask_format(bm, NULL, 0) + 1;
	char *s = malloc(need);
	if (s && tier_bitmask_format(bm, s, need) + 1 != need) {
		free(s);   /* cannot happen: bm is const and nothing else runs */
		s = NULL;
	}
	return s;
}

int tier_bitmask_format_checked(const struct bitmask *bm, char *buf, size_t size)
{
	if (size == 0)
		return -ENOBUFS;
	if (tier_bitmask_format(bm, buf, size) >= size) {
		buf[0] = '\0';
		return -ENOBUFS;
	}
	return 0;
}

unsigned tier_bitmask_weight(const struct bitmask *bm)
{
	unsigned w = 0;
	for (size_t i = 0; i < nwords(bm); i++)
		w += (unsigned)__builtin_popcountl(word(bm, i));
	return w;
}

int tier_bitmask_next(const struct bitmask *bm, int from)
{
	if (from < 0)
		from = 0;
	if ((unsigned long)from >= bm->size)
		return -1;
	size_t i = (size_t)from / BITS_PER_WORD;
	unsigned long w = word(bm, i) & (~0ul << ((unsigned)from % BITS_PER_WORD));
	for (;;) {
		if (w)
			return (int)(i * BITS_PER_WORD + (size_t)__builtin_ctzl(w));
		if (++i >= nwords(bm))
			return -1;
		w = word(bm, i);
	}
}

bool tier_bitmask_empty(const struct bitmask *bm)
{
	return tier_bitmask_next(bm, 0) < 0;
}

void tier_bitmask_copy(struct bitmask *dst, const struct bitmask *src)
{
	for (size_t i = 0; i < nwords(dst); i++)
		dst->maskp[i] = word(src, i);
}

void tier_bitmask_or(struct bitmask *dst, const struct bitmask *src)
{
	for (size_t i = 0; i < nwords(dst); i++)
		dst->maskp[i] |= word(src, i);
}

void tier_bitmask_andnot(struct bitmask *dst, const struct bitmask *src)
{
	for (size_t i = 0; i < nwords(dst); i++)
		dst->maskp[i] &= ~word(src, i);
}

bool tier_bitmask_equal(const struct bitmask *a, const struct bitmask *b)
{
	size_t n = nwords(a) > nwords(b) ? nwords(a) : nwords(b);
	for (size_t i = 0; i < n; i++)
		if (word(a, i) != word(b, i))
			return false;
	return true;
}

bool tier_bitmask_isset(const struct bitmask *bm, int bit)
{
	if (bit < 0 || (unsigned long)bit >= bm->size)
		return false;
	return (bm->maskp[(unsigned)bit / BITS_PER_WORD] >> ((unsigned)bit % BITS_PER_WORD)) & 1;
}

void tier_bitmask_and(struct bitmask *dst, const struct bitmask *src)
{
	for (size_t i = 0; i < nwords(dst); i++)
		dst->maskp[i] &= word(src, i);
}

bool tier_bitmask_set(struct bitmask *bm, int bit)
{
	if (bit < 0 || (unsigned long)bit >= bm->size)
		return false;
	set_bit(bm, (unsigned long)bit);
	return true;
}

void tier_bitmask_clear(struct bitmask *bm, int bit)
{
	if (bit < 0 || (unsigned long)bit >= bm->size)
		return;
	bm->maskp[(unsigned)bit / BITS_PER_WORD] &= ~(1ul << ((unsigned)bit % BITS_PER_WORD));
}

void tier_bitmask_zero(struct bitmask *bm)
{
	clear_all(bm);
}
