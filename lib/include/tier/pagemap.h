/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Where a process's pages are and what they are, without asking
 * move_pages(2): /proc/PID/pagemap, its PAGEMAP_SCAN ioctl and
 * /proc/kpageflags.  The node of a PFN comes from tier/pfnmap.h.
 *
 * Decoding is pure.  The readers are one syscall each on a descriptor the
 * caller opened (relative to a root or /proc/PID directory fd, so tests can
 * feed fixture files), so the caller counts and bounds them.  Nothing here
 * logs.
 *
 * /proc/PID/pagemap (Documentation/admin-guide/mm/pagemap.rst): one 64-bit
 * entry per virtual page at offset (vaddr / page_size) * 8:
 *   bits 0-54  the PFN of a present page, or swap type and offset;
 *              the PFN reads as 0 unless the file was opened by a task with
 *              CAP_SYS_ADMIN in the initial user namespace (4.2+; 4.0 and
 *              4.1 refused the open instead)
 *   bit 55     soft-dirty (3.11+, with CONFIG_MEM_SOFT_DIRTY; always 0
 *              without it)
 *   bit 56     page exclusively mapped (4.2+)
 *   bit 57     write-protected by userfaultfd (5.17+)
 *   bit 61     file page or shared anonymous page
 *   bit 62     swapped
 *   bit 63     present
 * A read emits one entry for every page of the range, holes included, so it
 * costs what the address span costs, not what is resident (6.18 host: 2.6 ms
 * per GiB of empty span, i.e. ~43 s for a 16 TiB sparse mapping).  The file
 * is bound to the process's mm when it is opened: a descriptor opened
 * before the PID is reused still reads the old process (or nothing).
 *
 * PAGEMAP_SCAN (6.7+, ioctl on the pagemap descriptor) returns ranges of
 * pages whose categories match, walking only the page tables that exist: a
 * 16 TiB MAP_NORESERVE mapping with two resident pages is scanned in ~30 us
 * (6.18 host).  Debian 12's kernel headers are 6.1, hence the copy of the
 * uapi below (include/uapi/linux/fs.h of 6.7).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>

/* ---- pagemap entries ---- */

#define TIER_PM_PFN_MASK ((1ull << 55) - 1)
#define TIER_PM_SOFT_DIRTY (1ull << 55)
#define TIER_PM_EXCLUSIVE (1ull << 56)
#define TIER_PM_UFFD_WP (1ull << 57)
#define TIER_PM_FILE (1ull << 61)
#define TIER_PM_SWAPPED (1ull << 62)
#define TIER_PM_PRESENT (1ull << 63)

struct tier_pm_entry {
	bool present, swapped, file, exclusive, soft_dirty;
	uint64_t pfn;           /* present pages only; 0 when hidden */
};

/* Decode one raw entry.  A swapped entry's low bits are not a PFN: pfn is 0. */
struct tier_pm_entry tier_pm_decode(uint64_t raw);

/* ---- PAGEMAP_SCAN (copy of the 6.7 uapi) ---- */

struct tier_page_region {
	uint64_t start, end;    /* [start, end) */
	uint64_t categories;    /* TIER_PAGE_IS_*, as asked in return_mask */
};

struct tier_pm_scan_arg {
	uint64_t size;          /* sizeof(struct tier_pm_scan_arg) = 96 */
	uint64_t flags;         /* PM_SCAN_WP_MATCHING etc.: never used here */
	uint64_t start, end;
	uint64_t walk_end;      /* written by the kernel: where it stopped */
	uint64_t vec, vec_len;
	uint64_t max_pages;     /* 0: no limit */
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};

#define TIER_PAGEMAP_SCAN _IOWR('f', 16, struct tier_pm_scan_arg)

#define TIER_PAGE_IS_WPALLOWED (1ull << 0)
#define TIER_PAGE_IS_WRITTEN (1ull << 1)
#define TIER_PAGE_IS_FILE (1ull << 2)
#define TIER_PAGE_IS_PRESENT (1ull << 3)
#define TIER_PAGE_IS_SWAPPED (1ull << 4)
#define TIER_PAGE_IS_PFNZERO (1ull << 5)
#define TIER_PAGE_IS_HUGE (1ull << 6)       /* PMD-mapped THP or hugetlb */
#define TIER_PAGE_IS_SOFT_DIRTY (1ull << 7)

/*
 * One PAGEMAP_SCAN of [start, end) for present pages, reporting
 * return_mask's categories (PRESENT is always reported).  At most vec_len
 * regions and max_pages pages (0: no limit; the kernel cuts the last region
 * at the cap).  *walk_end: where the kernel stopped (end when the whole range
 * was scanned).  Returns the number of regions (>= 0), -ENOTTY or -EINVAL
 * when the kernel has no PAGEMAP_SCAN (before 6.7; a fixture file answers
 * ENOTTY), -ESRCH when the process is gone, another -errno.
 */
long tier_pagemap_scan(int pagemap_fd, uint64_t start, uint64_t end, uint64_t max_pages, uint64_t return_mask,
		       struct tier_page_region *vec, size_t vec_len, uint64_t *walk_end);

/* Entries of n pages from vaddr (one pread).  Returns the number of entries
 * read (may be short at the end of the address space), or -errno. */
long tier_pagemap_read(int pagemap_fd, uint64_t vaddr, uint64_t page_size, uint64_t *out, size_t n);

/* ---- /proc/kpageflags (include/uapi/linux/kernel-page-flags.h) ----
 *
 * One 64-bit flag word per PFN at offset pfn * 8 (mode 0400, root).  The
 * flags of a compound page's tail are its folio's (6.x stable_page_flags
 * copies folio->flags), so every base page of a THP reads ACTIVE, MLOCKED...
 * as the THP does.  Bits 32 and up are "kernel hacking" bits that the kernel
 * does not promise to keep; MLOCKED (33) is one of them and is used only to
 * skip pages, never to move them.
 */
#define TIER_KPF_REFERENCED 2
#define TIER_KPF_DIRTY 4
#define TIER_KPF_LRU 5
#define TIER_KPF_ACTIVE 6
#define TIER_KPF_SLAB 7
#define TIER_KPF_BUDDY 10
#define TIER_KPF_MMAP 11
#define TIER_KPF_ANON 12
#define TIER_KPF_COMPOUND_HEAD 15
#define TIER_KPF_COMPOUND_TAIL 16
#define TIER_KPF_HUGE 17          /* hugetlb */
#define TIER_KPF_UNEVICTABLE 18
#define TIER_KPF_HWPOISON 19
#define TIER_KPF_NOPAGE 20        /* no struct page at that PFN (a hole) */
#define TIER_KPF_KSM 21
#define TIER_KPF_THP 22           /* any transparent huge page, PMD-sized or not */
#define TIER_KPF_OFFLINE 23
#define TIER_KPF_ZERO_PAGE 24
#define TIER_KPF_IDLE 25
#define TIER_KPF_MLOCKED 33

static inline bool tier_kpf_has(uint64_t flags, int bit)
{
	return (flags >> bit) & 1u;
}

/* Flags of n PFNs from pfn (one pread).  Returns the number read (short past
 * the last PFN) or -errno. */
long tier_kpageflags_read(int kpageflags_fd, uint64_t pfn, uint64_t *out, size_t n);

/*
 * Reads of kpageflags for a set of PFNs: given PFNs sorted ascending, the
 * ranges to read so that every PFN is covered, merging PFNs closer than
 * max_gap (reading a few unwanted words is cheaper than a syscall).
 * Writes at most max_ranges [first, last] pairs into ranges (2 * max_ranges
 * values); returns how many PFNs (a prefix of pfns) they cover.  Pure.
 */
size_t tier_kpf_plan_reads(const uint64_t *pfns, size_t n, uint64_t max_gap, uint64_t *ranges, size_t max_ranges,
			   size_t *nr_ranges);
