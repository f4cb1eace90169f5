/* SPDX-License-Identifier: MIT */
/* pagemap, PAGEMAP_SCAN and kpageflags: see tier/pagemap.h. */
#include <tier/pagemap.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

_Static_assert(sizeof(struct tier_pm_scan_arg) == 96, "struct pm_scan_arg of the 6.7 uapi is 96 bytes");
_Static_assert(sizeof(struct tier_page_region) == 24, "struct page_region of the 6.7 uapi is 24 bytes");

struct tier_pm_entry tier_pm_decode(uint64_t raw)
{
	struct tier_pm_entry e = {
		.present = (raw & TIER_PM_PRESENT) != 0,
		.swapped = (raw & TIER_PM_SWAPPED) != 0,
		.file = (raw & TIER_PM_FILE) != 0,
		.exclusive = (raw & TIER_PM_EXCLUSIVE) != 0,
		.soft_dirty = (raw & TIER_PM_SOFT_DIRTY) != 0,
	};
	e.pfn = e.present && !e.swapped ? raw & TIER_PM_PFN_MASK : 0;
	return e;
}

long tier_pagemap_scan(int pagemap_fd, uint64_t start, uint64_t end, uint64_t max_pages, uint64_t return_mask,
		       struct tier_page_region *vec, size_t vec_len, uint64_t *walk_end)
{
	struct tier_pm_scan_arg a;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.start = start;
	a.end = end;
	a.vec = (uint64_t)(uintptr_t)vec;
	a.vec_len = vec_len;
	a.max_pages = max_pages;
	a.category_mask = TIER_PAGE_IS_PRESENT;
	a.return_mask = return_mask | TIER_PAGE_IS_PRESENT;
	*walk_end = start;
	long r = ioctl(pagemap_fd, TIER_PAGEMAP_SCAN, &a);
	if (r < 0)
		return -errno;
	/* The kernel clears address tags in walk_end; on x86 there are none. */
	*walk_end = a.walk_end;
	return r;
}

long tier_pagemap_read(int pagemap_fd, uint64_t vaddr, uint64_t page_size, uint64_t *out, size_t n)
{
	uint64_t idx = vaddr / page_size;
	if (idx > (uint64_t)INT64_MAX / 8)
		return 0;
	ssize_t r = pread(pagemap_fd, out, n * sizeof(*out), (off_t)(idx * 8));
	if (r < 0)
		return -errno;
	return (long)((size_t)r / sizeof(*out));
}

long tier_kpageflags_read(int kpageflags_fd, uint64_t pfn, uint64_t *out, size_t n)
{
	if (pfn > (uint64_t)INT64_MAX / 8)
		return 0;
	ssize_t r = pread(kpageflags_fd, out, n * sizeof(*out), (off_t)(pfn * 8));
	if (r < 0)
		return -errno;
	return (long)((size_t)r / sizeof(*out));
}

size_t tier_kpf_plan_reads(const uint64_t *pfns, size_t n, uint64_t max_gap, uint64_t *ranges, size_t max_ranges,
			   size_t *nr_ranges)
{
	size_t i = 0, k = 0;
	while (i < n && k < max_ranges) {
		uint64_t first = pfns[i], last = pfns[i];
		i++;
		while (i < n && pfns[i] >= last && pfns[i] - last <= max_gap + 1) {
			last = pfns[i];
			i++;
		}
		ranges[2 * k] = first;
		ranges[2 * k + 1] = last;
		k++;
	}
	*nr_ranges = k;
	return i;
}
