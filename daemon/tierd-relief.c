/* SPDX-License-Identifier: MIT */
/*
 * Pressure relief in the daemon: the policy is lib/relief.c (when, where to,
 * which processes first, which pages first, how fast); this file finds the
 * pages and moves them with move_pages(2) through the ops table, as a slow
 * job in bounded slices (tierd-job.h).
 *
 * The locator.  What a victim costs must follow its resident pages, never
 * its address space (issue 12: a 16 TiB MAP_NORESERVE mapping with two
 * touched pages made the old per-address status query take ~170 s):
 *  - VMAs come from /proc/PID/maps, read as a stream (no page-table walk;
 *    a chunk per refill, so 65,000 VMAs cost a few chunks per slice);
 *    PROT_NONE and special mappings are skipped;
 *  - present pages come from PAGEMAP_SCAN (6.7+), which skips holes at the
 *    page-table level they are empty; before 6.7, from pagemap reads of at
 *    most RELIEF_READ_SPAN_PAGES entries per read, and a VMA too sparse for
 *    that (tier_relief_span_walkable) is skipped and counted;
 *  - the node of a present page comes from its PFN (pagemap shows PFNs to a
 *    reader with CAP_SYS_ADMIN) and the memory-block map (tier/pfnmap.h),
 *    and its flags from /proc/kpageflags; without PFNs, or for a PFN in a
 *    block of several nodes, from a move_pages status query of the present
 *    pages only;
 *  - numa_maps is never read: the kernel walks every page table of the
 *    process for it under the mmap lock, in one read per VMA line.
 * status "locator" says which of the four combinations ran.
 *
 * The order (lib/relief.c, tier_relief_page_heat): one pass per heat
 * (cold, warm, hot to a slower node or a sibling; hot first to a faster
 * one) over every victim, so the coldest pages of all victims go before any
 * warm one.  THP and other large folios are one unit (one address per call;
 * the kernel migrates the folio whole).  Mlocked, unevictable and VM_LOCKED
 * pages are never handed to the kernel; they are counted.
 *
 * Batches: pages of one heat in address order, batch_pages base pages per
 * call to one target; the node is not asked again when pagemap said it
 * (no per-batch status query); per-page status is checked after every call.
 *
 * Identity: move_pages takes a PID.  A victim is opened with a pidfd and a
 * verified /proc/PID directory fd (tier/procid.h); right before every
 * move_pages call (queries included) the pidfd must still be alive, and
 * every file of the victim is read through its directory fd.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <numaif.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tier/fence.h>
#include <tier/memcg.h>
#include <tier/procid.h>
#include "fsutil.h"
#include "tierd.h"
#include "tierd-log.h"
#include "tierd-relief.h"

/* Pages located per PAGEMAP_SCAN call, and pagemap entries per read in the
 * read fallback (256 KiB of entries: ~0.7 ms of reading on the 6.18 host
 * for a 128 MiB span). */
#define RELIEF_CHUNK_PAGES 4096u
#define RELIEF_READ_SPAN_PAGES 32768u
#define RELIEF_ENTRIES (RELIEF_READ_SPAN_PAGES > RELIEF_CHUNK_PAGES ? RELIEF_READ_SPAN_PAGES : RELIEF_CHUNK_PAGES)
#define RELIEF_REGIONS 512u
/* kpageflags words read to bridge a gap between two wanted PFNs. */
#define RELIEF_KPF_GAP 64u
/* maps lines between two budget checks, and at most per pass call (a
 * process with 65,000 VMAs is walked over many slices whatever the clock
 * says). */
#define RELIEF_MAPS_LINES_PER_CHECK 256u
#define RELIEF_MAPS_LINES_PER_CALL 4096u
#define RELIEF_MAPS_CHUNK (64u << 10)
#define RELIEF_SMAPS_CHUNK (4u << 10)

/* One located unit: a base page or a whole large folio. */
struct tierd_unit {
	uint64_t addr;
	uint32_t weight;          /* base pages */
	int16_t node;             /* -1: not known, ask the kernel */
	uint8_t heat;             /* enum tier_page_heat */
	uint8_t flags;
};
#define UNIT_HUGE 1u          /* THP or hugetlb folio */
#define UNIT_SKIP_MLOCKED 2u
#define UNIT_SKIP_UNEVICTABLE 4u
#define UNIT_SKIP_UNMOVABLE 8u
#define UNIT_SKIP (UNIT_SKIP_MLOCKED | UNIT_SKIP_UNEVICTABLE | UNIT_SKIP_UNMOVABLE)

const char *tierd_relief_fail_name(enum tierd_relief_fail f)
{
	static const char *const names[TIERD_RF_NR] = {
		[TIERD_RF_BUSY] = "busy",         [TIERD_RF_NOMEM] = "target_full",
		[TIERD_RF_CPUSET] = "not_in_cpuset", [TIERD_RF_SHARED] = "shared_page",
		[TIERD_RF_FAULT] = "fault",       [TIERD_RF_NOENT] = "not_present",
		[TIERD_RF_UNTRIED] = "not_attempted", [TIERD_RF_ELSEWHERE] = "elsewhere",
		[TIERD_RF_EXITED] = "process_exited", [TIERD_RF_PERM] = "permission",
		[TIERD_RF_OTHER] = "other",
	};
	return (unsigned)f < TIERD_RF_NR ? names[f] : "?";
}

const char *tierd_locator_name(enum tierd_locator l)
{
	static const char *const names[TIERD_LOC_NR] = {
		[TIERD_LOC_NONE] = "none",
		[TIERD_LOC_SCAN_PFN] = "pagemap-scan+pfn",
		[TIERD_LOC_SCAN_QUERY] = "pagemap-scan+query",
		[TIERD_LOC_READ_PFN] = "pagemap-read+pfn",
		[TIERD_LOC_READ_QUERY] = "pagemap-read+query",
	};
	return (unsigned)l < TIERD_LOC_NR ? names[l] : "?";
}

void tierd_mover_stats_add(struct tierd_mover_stats *into, const struct tierd_mover_stats *s)
{
	/* Every member is a uint64_t counter. */
	uint64_t *a = (uint64_t *)into;
	const uint64_t *b = (const uint64_t *)s;
	for (size_t i = 0; i < sizeof(*s) / sizeof(uint64_t); i++)
		a[i] += b[i];
}
_Static_assert(sizeof(struct tierd_mover_stats) % sizeof(uint64_t) == 0, "stats are u64 counters only");

static uint64_t mono_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- scratch ---- */

#define GROW(ptr, n)                                                          \
	({                                                                    \
		__typeof__(ptr) p_ = realloc((ptr), (n) * sizeof(*(ptr)));    \
		if (p_)                                                       \
			(ptr) = p_;                                           \
		p_ != NULL;                                                   \
	})

static int mover_scratch(struct tierd_mover *m)
{
	size_t batch = m->batch_pages ? m->batch_pages : TIERD_RELIEF_BATCH_DEFAULT;
	if (!m->units) {
		m->units = calloc(RELIEF_ENTRIES, sizeof(*m->units));
		m->entries = calloc(RELIEF_ENTRIES, sizeof(*m->entries));
		m->kpf = calloc(RELIEF_ENTRIES, sizeof(*m->kpf));
		m->pfn_sorted = calloc(RELIEF_ENTRIES, sizeof(*m->pfn_sorted));
		m->ranges = calloc(2 * RELIEF_ENTRIES, sizeof(*m->ranges));
		m->regions = calloc(RELIEF_REGIONS, sizeof(*m->regions));
		m->cap_units = RELIEF_ENTRIES;
		if (!m->units || !m->entries || !m->kpf || !m->pfn_sorted || !m->ranges || !m->regions)
			return -ENOMEM;
	}
	if (batch > m->cap) {
		/* Query candidates hold up to one batch; pending moves up to
		 * two (a batch less one, plus what one query confirms). */
		size_t n = 2 * batch + 2;
		if (!GROW(m->pages, n) || !GROW(m->qpages, n) || !GROW(m->nodes, n) || !GROW(m->status, n) ||
		    !GROW(m->qstatus, n) || !GROW(m->weight, n) || !GROW(m->qweight, n) || !GROW(m->uflags, n) ||
		    !GROW(m->cand, n))
			return -ENOMEM;
		m->cap = n;
	}
	return 0;
}

void tierd_mover_free(struct tierd_mover *m)
{
	free(m->units);
	free(m->entries);
	free(m->kpf);
	free(m->pfn_sorted);
	free(m->ranges);
	free(m->regions);
	free(m->pages);
	free(m->qpages);
	free(m->nodes);
	free(m->status);
	free(m->qstatus);
	free(m->weight);
	free(m->qweight);
	free(m->uflags);
	free(m->cand);
	m->units = m->cand = NULL;
	m->entries = m->kpf = m->pfn_sorted = m->ranges = NULL;
	m->regions = NULL;
	m->pages = m->qpages = NULL;
	m->nodes = m->status = m->qstatus = NULL;
	m->weight = m->qweight = NULL;
	m->uflags = NULL;
	m->cap = m->cap_units = 0;
}

/* ---- the process ---- */

static void proc_init(struct tierd_mover_proc *p, pid_t pid)
{
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->pidfd = p->dirfd = p->pagemap_fd = -1;
	p->maps.fd = p->smaps.fd = -1;
	p->pfn_visible = -1;
}

void tierd_mover_proc_close(struct tierd_mover_proc *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	if (p->dirfd >= 0)
		close(p->dirfd);
	if (p->pagemap_fd >= 0)
		close(p->pagemap_fd);
	if (p->maps_open)
		tier_line_stream_close(&p->maps);
	if (p->smaps_open)
		tier_line_stream_close(&p->smaps);
	free(p->locked);
	proc_init(p, 0);
}

int tierd_mover_proc_open(struct tierd_mover *m, struct tierd_mover_proc *p, pid_t pid)
{
	struct tier_proc_stat ps;
	struct tier_proc_status st;
	proc_init(p, pid);
	if (m->ops->pidfd_open) {
		int fd = m->ops->pidfd_open(pid);
		if (fd == -ESRCH)
			return -ESRCH;
		p->pidfd = fd >= 0 ? fd : -1; /* -ENOSYS: start time only */
	}
	int r = tier_proc_open_dir(m->rootfd, pid);
	if (r < 0)
		goto fail;
	p->dirfd = r;
	r = tier_proc_read_stat_at(p->dirfd, &ps);
	if (r < 0)
		goto fail;
	p->start_time = ps.start_time;
	char *text = NULL;
	r = tier_read_file_at(p->dirfd, "status", &text, NULL);
	if (r == 0) {
		r = tier_proc_status_parse(text, &st);
		free(text);
		if (r == 0) {
			p->rss_bytes = st.vm_rss_bytes;
			p->locked_bytes = st.vm_locked_bytes;
			tier_proc_status_free(&st);
		}
	}
	if (r == -ENOENT)
		r = -ESRCH;
	if (r < 0)
		goto fail;
	/* The directory and the reads above were of the process the pidfd
	 * names only if it still lives now. */
	if (p->pidfd >= 0 && (r = m->ops->pidfd_alive(p->pidfd)) < 0) {
		if (r == -ESRCH)
			goto fail;
		/* pidfd_send_signal refused: identity by start time only */
		close(p->pidfd);
		p->pidfd = -1;
		r = 0;
	}
	p->locked_done = p->locked_bytes == 0;
	return 0;
fail:
	tierd_mover_proc_close(p);
	return r;
}

int tierd_mover_proc_check(struct tierd_mover *m, struct tierd_mover_proc *p)
{
	m->stats.identity_checks++;
	int r = p->pidfd >= 0 ? m->ops->pidfd_alive(p->pidfd) : -ENOSYS;
	if (r == 0)
		return 0;
	if (r != -ESRCH) {
		/* No pidfds, or pidfd_send_signal refused (a seccomp filter
		 * without it answers EPERM): the start time, read through the
		 * directory (which answers ESRCH once the process is gone),
		 * must be unchanged. */
		struct tier_proc_stat ps;
		if (p->dirfd >= 0 && tier_proc_read_stat_at(p->dirfd, &ps) == 0 && ps.start_time == p->start_time)
			return 0;
	}
	m->stats.identity_lost++;
	return -ESRCH;
}

static void add_locked(struct tierd_mover_proc *p, uint64_t start, uint64_t end)
{
	if (p->nr_locked == p->cap_locked) {
		size_t nc = p->cap_locked ? p->cap_locked * 2 : 16;
		void *n = realloc(p->locked, nc * sizeof(*p->locked));
		if (!n)
			return;   /* only the VMA rule is lost; PG_mlocked still holds */
		p->locked = n;
		p->cap_locked = nc;
	}
	p->locked[p->nr_locked].start = start;
	p->locked[p->nr_locked].end = end;
	p->nr_locked++;
}

int tierd_mover_proc_read_locked(struct tierd_mover *m, struct tierd_mover_proc *p, struct tierd_budget *b)
{
	if (p->locked_done)
		return 0;
	if (!p->smaps_open) {
		int r = tier_line_stream_open(&p->smaps, p->dirfd, "smaps", RELIEF_SMAPS_CHUNK);
		if (r < 0)
			return r;
		p->smaps_open = true;
		memset(&p->smaps_state, 0, sizeof(p->smaps_state));
	}
	for (unsigned n = 0;; n++) {
		if (b && n % RELIEF_MAPS_LINES_PER_CHECK == 0 && !tierd_budget_left(b))
			return 1;
		const char *line;
		size_t len;
		uint64_t reads = p->smaps.reads;
		int r = tier_line_stream_next(&p->smaps, &line, &len);
		m->stats.smaps_reads += p->smaps.reads - reads;
		if (r < 0)
			return r;
		if (r == 0)
			break;
		uint64_t s, e;
		r = tier_smaps_locked_feed(&p->smaps_state, line, len, &s, &e);
		if (r < 0)
			return r;
		if (r == 1)
			add_locked(p, s, e);
	}
	tier_line_stream_close(&p->smaps);
	p->smaps_open = false;
	p->locked_done = true;
	return 0;
}

int tierd_mover_proc_mark(struct tierd_mover *m, struct tierd_mover_proc *p, uint64_t now_usec)
{
	if (!m->ops->clear_soft_dirty)
		return -ENOTSUP;
	int r = m->ops->clear_soft_dirty(p->dirfd);
	if (r < 0)
		return r;
	p->marked = true;
	p->written_valid = false;
	p->marked_usec = now_usec;
	return 0;
}

uint64_t tierd_mover_proc_window(struct tierd_mover_proc *p, uint64_t now_usec)
{
	if (!p->marked)
		return 0;
	uint64_t ready = p->marked_usec + TIER_RELIEF_ACCESS_WINDOW_USEC;
	if (now_usec >= ready) {
		p->written_valid = true;
		return 0;
	}
	return ready - now_usec;
}

int tierd_mover_proc_rewind(struct tierd_mover_proc *p)
{
	p->vma_valid = p->walk_done = false;
	p->cursor = 0;
	p->last_unit_end = 0;
	if (p->maps_open)
		return tier_line_stream_rewind(&p->maps);
	return 0;
}

static bool in_locked(const struct tierd_mover_proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nr_locked;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (addr < p->locked[mid].start)
			hi = mid;
		else if (addr >= p->locked[mid].end)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* ---- the locator ---- */

static bool use_pfn(const struct tierd_mover *m, const struct tierd_mover_proc *p)
{
	return !m->no_pfn && m->kpageflags_fd >= 0 && p->pfn_visible != 0;
}

static void set_locator(struct tierd_mover *m, struct tierd_mover_proc *p, bool scan, bool pfn, uint64_t pages)
{
	p->locator = scan ? (pfn ? TIERD_LOC_SCAN_PFN : TIERD_LOC_SCAN_QUERY)
			  : (pfn ? TIERD_LOC_READ_PFN : TIERD_LOC_READ_QUERY);
	m->stats.locator_pages[p->locator] += pages;
}

static void emit(struct tierd_mover *m, uint64_t addr, uint32_t weight, int node, enum tier_page_heat heat,
		 uint8_t flags)
{
	if (m->nr_units == m->cap_units)
		return;   /* cannot happen: a chunk has at most RELIEF_ENTRIES pages */
	m->units[m->nr_units++] = (struct tierd_unit){
		.addr = addr, .weight = weight, .node = (int16_t)(node >= 0 && node < INT16_MAX ? node : -1),
		.heat = (uint8_t)heat, .flags = flags,
	};
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* kpageflags of the PFNs in entries[0..n) (0: none) into m->kpf
 * (index-aligned): sort (pfn << 16 | index) keys, read the merged ranges,
 * hand the words back in one walk.  PFNs at or above 2^48 (an exbibyte of
 * RAM) get no flags. */
static int read_kpf(struct tierd_mover *m, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		m->kpf[i] = 1ull << TIER_KPF_NOPAGE;
		uint64_t pfn = m->entries[i];
		if (pfn && pfn < (1ull << 48))
			m->pfn_sorted[k++] = pfn << 16 | (uint64_t)i;
	}
	if (k == 0)
		return 0;
	qsort(m->pfn_sorted, k, sizeof(*m->pfn_sorted), cmp_u64);
	/* The plan wants the PFNs alone: ranges[] doubles as that list. */
	uint64_t *pfns = m->ranges;
	for (size_t i = 0; i < k; i++)
		pfns[i] = m->pfn_sorted[i] >> 16;
	size_t at_key = 0;
	while (at_key < k) {
		uint64_t rg[2 * 64];
		size_t nranges;
		size_t cov = tier_kpf_plan_reads(pfns + at_key, k - at_key, RELIEF_KPF_GAP, rg, 64, &nranges);
		size_t key = at_key;
		for (size_t r = 0; r < nranges; r++) {
			for (uint64_t at = rg[2 * r]; at <= rg[2 * r + 1];) {
				uint64_t words[512];
				uint64_t left = rg[2 * r + 1] - at + 1;
				size_t want = left > 512 ? 512 : (size_t)left;
				long got = tier_kpageflags_read(m->kpageflags_fd, at, words, want);
				m->stats.kpageflags_reads++;
				if (got < 0)
					return (int)got;
				if (got == 0)
					return 0;   /* past the last PFN: no flags */
				for (; key < k && (m->pfn_sorted[key] >> 16) < at + (uint64_t)got; key++)
					m->kpf[m->pfn_sorted[key] & 0xffff] = words[(m->pfn_sorted[key] >> 16) - at];
				at += (uint64_t)got;
			}
		}
		at_key += cov;
	}
	return 0;
}

/* Units from n raw pagemap entries of the pages at addr0.  The entries are
 * replaced by their PFNs (0: not present or hidden). */
static int entries_to_units(struct tierd_mover *m, struct tierd_mover_proc *p, uint64_t addr0, size_t n, bool scan)
{
	const uint64_t ps = m->page_size;
	uint8_t present[RELIEF_ENTRIES / 8 + 1];
	uint8_t dirty[RELIEF_ENTRIES / 8 + 1];
	size_t npresent = 0;
	memset(present, 0, (n + 7) / 8);
	memset(dirty, 0, (n + 7) / 8);
	bool pfn = use_pfn(m, p);
	for (size_t i = 0; i < n; i++) {
		struct tier_pm_entry e = tier_pm_decode(m->entries[i]);
		m->entries[i] = 0;
		if (!e.present || e.swapped)
			continue;
		present[i / 8] |= (uint8_t)(1u << (i % 8));
		if (e.soft_dirty)
			dirty[i / 8] |= (uint8_t)(1u << (i % 8));
		npresent++;
		if (pfn && e.pfn == 0) {
			/* Opened without CAP_SYS_ADMIN: no PFN will show. */
			p->pfn_visible = 0;
			pfn = false;
		} else if (pfn) {
			p->pfn_visible = 1;
		}
		m->entries[i] = e.pfn;
	}
	if (npresent == 0)
		return 0;
	if (pfn) {
		int r = read_kpf(m, n);
		if (r < 0)
			return r;
	}
	set_locator(m, p, scan, pfn, npresent);
#define BIT(a, i) (((a)[(i) / 8] >> ((i) % 8)) & 1u)
	for (size_t i = 0; i < n;) {
		if (!BIT(present, i)) {
			i++;
			continue;
		}
		uint64_t addr = addr0 + i * ps, kpf = pfn ? m->kpf[i] : 0;
		size_t j = i + 1;
		bool sd = BIT(dirty, i), huge = false, tail_start = false;
		if (pfn && (tier_kpf_has(kpf, TIER_KPF_COMPOUND_HEAD) || tier_kpf_has(kpf, TIER_KPF_COMPOUND_TAIL)) &&
		    (tier_kpf_has(kpf, TIER_KPF_THP) || tier_kpf_has(kpf, TIER_KPF_HUGE))) {
			/* A large folio: its base pages follow with
			 * consecutive PFNs, every one a tail. */
			huge = true;
			tail_start = tier_kpf_has(kpf, TIER_KPF_COMPOUND_TAIL);
			while (j < n && BIT(present, j) && m->entries[j] == m->entries[j - 1] + 1 &&
			       tier_kpf_has(m->kpf[j], TIER_KPF_COMPOUND_TAIL)) {
				sd |= BIT(dirty, j);
				j++;
			}
		}
		uint32_t w = (uint32_t)(j - i);
		uint64_t end = addr0 + j * ps, first_pfn = m->entries[i];
		i = j;
		if (huge && tail_start && addr == p->last_unit_end && p->last_unit_end) {
			/* The rest of a folio whose head the last chunk had. */
			p->last_unit_end = end;
			continue;
		}
		if (huge)
			p->last_unit_end = end;
		uint8_t flags = huge ? UNIT_HUGE : 0;
		if (pfn) {
			switch (tier_relief_page_skip(kpf)) {
			case TIER_PAGE_SKIP_MLOCKED:
				flags |= UNIT_SKIP_MLOCKED;
				break;
			case TIER_PAGE_SKIP_UNEVICTABLE:
				flags |= UNIT_SKIP_UNEVICTABLE;
				break;
			case TIER_PAGE_SKIP_UNMOVABLE:
				flags |= UNIT_SKIP_UNMOVABLE;
				break;
			case TIER_PAGE_SKIP_NONE:
				break;
			}
		}
		if (p->nr_locked && in_locked(p, addr))
			flags |= UNIT_SKIP_MLOCKED;
		struct tier_page_signals sig = {
			.have_kpf = pfn, .kpf = kpf, .have_written = p->written_valid, .written = sd,
		};
		int node = -1;
		if (pfn && m->pfn_map)
			node = tier_pfn_map_node(m->pfn_map, first_pfn);
		emit(m, addr, w, node, tier_relief_page_heat(&sig), flags);
	}
#undef BIT
	return 0;
}

/* Units of one PAGEMAP_SCAN region without PFNs: base pages, or PMD-sized
 * units for a huge (THP or hugetlb) region. */
static void region_to_units(struct tierd_mover *m, struct tierd_mover_proc *p, const struct tier_page_region *rg)
{
	const uint64_t ps = m->page_size, pmd = m->pmd_bytes ? m->pmd_bytes : (2u << 20);
	struct tier_page_signals sig = {
		.have_written = p->written_valid, .written = (rg->categories & TIER_PAGE_IS_SOFT_DIRTY) != 0,
	};
	enum tier_page_heat heat = tier_relief_page_heat(&sig);
	set_locator(m, p, true, false, (rg->end - rg->start) / ps);
	if (rg->categories & TIER_PAGE_IS_HUGE) {
		for (uint64_t a = rg->start; a < rg->end;) {
			uint64_t next = (a / pmd + 1) * pmd;
			if (next > rg->end)
				next = rg->end;
			bool cont = a % pmd && a == p->last_unit_end;
			p->last_unit_end = next;
			if (!cont)
				emit(m, a, (uint32_t)((next - a) / ps), -1, heat,
				     UNIT_HUGE | (p->nr_locked && in_locked(p, a) ? UNIT_SKIP_MLOCKED : 0));
			a = next;
		}
		return;
	}
	for (uint64_t a = rg->start; a < rg->end; a += ps)
		emit(m, a, 1, -1, heat, p->nr_locked && in_locked(p, a) ? UNIT_SKIP_MLOCKED : 0);
}

static int open_pagemap(struct tierd_mover_proc *p)
{
	if (p->pagemap_fd >= 0)
		return 0;
	int fd = openat(p->dirfd, "pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	p->pagemap_fd = fd;
	return 0;
}

/* Locate the units of [from, end) into m->units, as many as one chunk; *next
 * is where the next chunk starts. */
static int locate(struct tierd_mover *m, struct tierd_mover_proc *p, uint64_t from, uint64_t end, uint64_t *next)
{
	const uint64_t ps = m->page_size;
	int r = open_pagemap(p);
	m->nr_units = 0;
	if (r < 0)
		return r;
	if (!p->scan_unsupported && !m->no_pagemap_scan) {
		uint64_t walk_end;
		/* With PFNs the entries are read anyway and say soft-dirty, and
		 * kpageflags says THP: ask for nothing but presence, so that
		 * present pages merge into few regions (asking for soft-dirty
		 * splits a hot/cold interleave into one region per page).
		 * Without PFNs the categories are all there is. */
		uint64_t mask = use_pfn(m, p) ? 0 : TIER_PAGE_IS_HUGE | TIER_PAGE_IS_SOFT_DIRTY;
		long n = tier_pagemap_scan(p->pagemap_fd, from, end, RELIEF_CHUNK_PAGES, mask, m->regions,
					   RELIEF_REGIONS, &walk_end);
		m->stats.scan_calls++;
		if (n == -ENOTTY || n == -EINVAL || n == -ENOSYS) {
			p->scan_unsupported = true;
		} else if (n < 0) {
			return (int)n;
		} else {
			for (long i = 0; i < n; i++) {
				const struct tier_page_region *rg = &m->regions[i];
				if (!use_pfn(m, p) && mask) {
					region_to_units(m, p, rg);
					continue;
				}
				/* With PFNs: the region's entries (the
				 * category filter gave present pages only). */
				for (uint64_t a = rg->start; a < rg->end;) {
					size_t want = (size_t)((rg->end - a) / ps);
					if (want > RELIEF_ENTRIES)
						want = RELIEF_ENTRIES;
					long got = tier_pagemap_read(p->pagemap_fd, a, ps, m->entries, want);
					m->stats.pagemap_reads++;
					if (got < 0)
						return (int)got;
					if (got == 0)
						break;
					if ((r = entries_to_units(m, p, a, (size_t)got, true)) < 0)
						return r;
					/* (if PFNs turn out hidden, the rest of
					 * the region is read the same way: the
					 * entries still say soft-dirty) */
					a += (uint64_t)got * ps;
				}
			}
			*next = walk_end > from ? walk_end : end;
			return 0;
		}
	}
	uint64_t span = (end - from) / ps;
	if (span > RELIEF_READ_SPAN_PAGES)
		span = RELIEF_READ_SPAN_PAGES;
	long got = tier_pagemap_read(p->pagemap_fd, from, ps, m->entries, (size_t)span);
	m->stats.pagemap_reads++;
	if (got < 0)
		return (int)got;
	if (got == 0) {
		*next = end;
		return 0;
	}
	r = entries_to_units(m, p, from, (size_t)got, false);
	*next = from + (uint64_t)got * ps;
	return r;
}

/* The next VMA to walk (from the maps stream), or 0 at the end. */
static int next_vma(struct tierd_mover *m, struct tierd_mover_proc *p, struct tierd_budget *b)
{
	if (!p->maps_open) {
		int r = tier_line_stream_open(&p->maps, p->dirfd, "maps", RELIEF_MAPS_CHUNK);
		if (r < 0)
			return r;
		p->maps_open = true;
	}
	for (unsigned n = 1;; n++) {
		const char *line, *path;
		size_t len, plen;
		struct tier_vma v;
		uint64_t reads = p->maps.reads;
		if (m->lines_this_call >= RELIEF_MAPS_LINES_PER_CALL) {
			m->line_capped = true;
			return 2;
		}
		int r = tier_line_stream_next(&p->maps, &line, &len);
		m->stats.maps_reads += p->maps.reads - reads;
		if (r < 0)
			return r;
		if (r == 0) {
			p->walk_done = true;
			return 0;
		}
		m->lines_this_call++;
		m->stats.maps_lines++;
		if (len == 0)
			continue;
		if (tier_maps_parse_line(line, len, &v, &path, &plen) < 0)
			return -EINVAL;
		uint64_t s = v.start, e = v.end;
		if (m->range_end) {
			if (e <= m->range_start || s >= m->range_end)
				goto next;
			if (s < m->range_start)
				s = m->range_start;
			if (e > m->range_end)
				e = m->range_end;
		}
		if (tier_vma_unmovable_path(v.perms, path, plen) || e <= s)
			goto next;
		p->vma_start = s;
		p->vma_end = e;
		p->cursor = s;
		p->vma_valid = true;
		/* Holes cost nothing to PAGEMAP_SCAN; pagemap reads pay for
		 * every page of the span. */
		p->vma_skip_sparse = (p->scan_unsupported || m->no_pagemap_scan) &&
				     !tier_relief_span_walkable(e - s, p->rss_bytes);
		if (p->vma_skip_sparse) {
			if (m->count_skips) {   /* once per run, like other skips */
				m->stats.sparse_vmas_skipped++;
				m->stats.sparse_bytes_skipped += e - s;
			}
			p->vma_valid = false;
			goto next;
		}
		return 1;
next:
		if (b && n % RELIEF_MAPS_LINES_PER_CHECK == 0 && !tierd_budget_left(b))
			return 2;   /* budget spent between VMAs */
	}
}

/* ---- moving ---- */

struct pass {
	struct tierd_mover *m;
	struct tierd_mover_proc *p;
	int src;
	struct bitmask *avoid;
	struct tierd_mover_result *res;
	struct tierd_budget *b;
	size_t npend, ncand;      /* in m->pages/weight/uflags, m->cand */
	uint64_t pend_pages, cand_pages;   /* base pages pending, to be asked */
};

static void count_skip(struct tierd_mover *m, uint8_t flags, uint32_t w)
{
	if (flags & UNIT_SKIP_MLOCKED)
		m->stats.skipped_mlocked_pages += w;
	else if (flags & UNIT_SKIP_UNEVICTABLE)
		m->stats.skipped_unevictable_pages += w;
	else
		m->stats.skipped_unmovable_pages += w;
}

/* A unit confirmed on src: count a skip, or queue it for a move. */
static void take(struct pass *P, const struct tierd_unit *u)
{
	struct tierd_mover *m = P->m;
	if (u->flags & UNIT_SKIP) {
		count_skip(m, u->flags, u->weight);
		return;
	}
	m->pages[P->npend] = (void *)(uintptr_t)u->addr;
	m->weight[P->npend] = u->weight;
	m->uflags[P->npend] = (uint8_t)(u->flags | (u->heat << 4));
	P->npend++;
	P->pend_pages += u->weight;
	P->res->found_pages += u->weight;
	m->stats.found_pages += u->weight;
}

/* Ask the kernel where the candidates are (one status query) and take
 * those on src. */
static int resolve(struct pass *P)
{
	struct tierd_mover *m = P->m;
	size_t k = P->ncand;
	if (k == 0)
		return 0;
	P->ncand = 0;
	P->cand_pages = 0;
	for (size_t i = 0; i < k; i++) {
		m->qpages[i] = (void *)(uintptr_t)m->cand[i].addr;
		m->qstatus[i] = TIERD_RELIEF_SENTINEL;
	}
	if (tierd_mover_proc_check(m, P->p) < 0)
		return -ESRCH;
	m->stats.query_calls++;
	if (P->b)
		tierd_budget_use(P->b, 1);
	long r = m->ops->move_pages(P->p->pid, k, m->qpages, NULL, m->qstatus, 0);
	if (r < 0)
		return (int)r;
	for (size_t i = 0; i < k; i++)
		if (m->qstatus[i] == P->src)
			take(P, &m->cand[i]);
	return 0;
}

/* Pages still -EBUSY after a move: on kernels where a large folio is
 * migrated whole when its first base page is queued, the others answer
 * -EBUSY (already isolated); without PFNs every base page of a THP is handed
 * in.  Ask where they are now, so they count as moved, not busy.  Returns
 * the weight found on target. */
static uint64_t recheck_busy(struct pass *P, void **pages, const int *status, const uint32_t *weight, size_t n,
			     int target)
{
	struct tierd_mover *m = P->m;
	size_t k = 0;
	uint64_t moved = 0;
	for (size_t i = 0; i < n && k < m->cap; i++)
		if (status[i] == -EBUSY) {
			m->qpages[k] = pages[i];
			m->qstatus[k] = TIERD_RELIEF_SENTINEL;
			m->qweight[k] = weight[i];
			k++;
		}
	if (k == 0 || tierd_mover_proc_check(m, P->p) < 0)
		return 0;
	m->stats.query_calls++;
	if (m->ops->move_pages(P->p->pid, k, m->qpages, NULL, m->qstatus, 0) < 0)
		return 0;
	for (size_t i = 0; i < k; i++)
		if (m->qstatus[i] == target)
			moved += m->qweight[i];
	m->stats.busy_rechecked += moved;
	return moved;
}

static void count_moved(struct tierd_mover *m, uint8_t uflags, uint32_t w)
{
	unsigned heat = uflags >> 4;
	if (heat < TIER_HEAT_NR)
		m->stats.moved_heat_pages[heat] += w;
	if (uflags & UNIT_HUGE) {
		m->stats.moved_huge_units++;
		m->stats.moved_huge_pages += w;
	}
}

/*
 * Move pending pages [0, n), one move_pages call per target.  Returns 0 when
 * all were handed to the kernel, or -ENOSPC (no target with room), -ESRCH,
 * -EPERM, another -errno; *done is how many of the n were handled either way.
 */
static int flush_n(struct pass *P, size_t n, size_t *done)
{
	struct tierd_mover *m = P->m;
	struct tierd_mover_result *res = P->res;
	size_t off = 0;
	*done = 0;
	while (off < n) {
		uint64_t room = 0;
		int t = m->choose(m->ctx, P->src, P->avoid, &room);
		if (t < 0 || room == 0)
			return -ENOSPC;
		/* The pages that fit the target's room, one batch per call
		 * (a large folio is never split: a call may end one unit
		 * past the batch). */
		size_t cnt = 0;
		uint64_t w = 0, batch = m->batch_pages ? m->batch_pages : TIERD_RELIEF_BATCH_DEFAULT;
		while (off + cnt < n && w < batch && w + m->weight[off + cnt] <= room) {
			w += m->weight[off + cnt];
			cnt++;
		}
		if (cnt == 0)
			return -ENOSPC;
		res->last_target = t;
		void **pages = m->pages + off;
		int *status = m->status + off;
		uint32_t *weight = m->weight + off;
		uint8_t *uflags = m->uflags + off;
		if (m->dry_run) {
			res->attempted_pages += w;
			res->moved_pages += w;
			for (size_t i = 0; i < cnt; i++)
				count_moved(m, uflags[i], weight[i]);
			m->moved(m->ctx, P->src, t, w, true);
			off += cnt;
			*done = off;
			continue;
		}
		/* One target per call: a call-level error (EACCES, ENOMEM) is then
		 * about that target, without guessing from the statuses. */
		for (size_t i = 0; i < cnt; i++) {
			m->nodes[i] = t;
			status[i] = TIERD_RELIEF_SENTINEL;
		}
		/* move_pages takes a PID: it must still name our victim. */
		if (tierd_mover_proc_check(m, P->p) < 0)
			return -ESRCH;
		uint64_t t0 = mono_usec();
		long r = m->ops->move_pages(P->p->pid, cnt, pages, m->nodes, status, m->flags);
		m->stats.move_usec += mono_usec() - t0;
		m->stats.move_calls++;
		if (P->b)
			tierd_budget_use(P->b, 1);
		if (r == -ESRCH || r == -EPERM)
			return (int)r;
		bool retry = false;
		if (r == -EACCES) {
			/* The target is outside the task's cpuset.mems (checked
			 * per page before queueing it): another target for this
			 * process.  Pages before the failing one were moved (the
			 * kernel flushes what it had queued). */
			m->stats.fail[TIERD_RF_CPUSET]++;
			tier_bitmask_set(P->avoid, t);
			retry = true;
		} else if (r == -ENOMEM) {
			m->stats.fail[TIERD_RF_NOMEM]++;
			m->enomem(m->ctx, t);
			retry = true;
		} else if (r < 0 && r != -EBUSY && r != -EAGAIN) {
			return (int)r;
		}
		uint64_t moved = 0, busy = 0, again_w = 0;
		bool nomem = false;
		size_t again = 0;
		for (size_t i = 0; i < cnt; i++) {
			int s = status[i];
			enum tierd_relief_fail f;
			if (s == t) {
				moved += weight[i];
				count_moved(m, uflags[i], weight[i]);
				continue;
			}
			if (s == TIERD_RELIEF_SENTINEL && retry) {
				/* Not reached before the call failed: to another
				 * target, now (compacted to the front). */
				pages[again] = pages[i];
				weight[again] = weight[i];
				uflags[again] = uflags[i];
				again++;
				again_w += weight[i];
				continue;
			}
			if (s == TIERD_RELIEF_SENTINEL)
				f = TIERD_RF_UNTRIED;
			else if (s >= 0)
				f = TIERD_RF_ELSEWHERE;
			else if (s == -EBUSY) {
				busy += weight[i];
				continue;
			} else if (s == -ENOMEM) {
				f = TIERD_RF_NOMEM;
				nomem = true;
			} else if (s == -EACCES)
				f = TIERD_RF_SHARED;
			else if (s == -EFAULT)
				f = TIERD_RF_FAULT;
			else if (s == -ENOENT)
				f = TIERD_RF_NOENT;
			else
				f = TIERD_RF_OTHER;
			m->stats.fail[f] += weight[i];
		}
		if (busy) {
			/* the retry compaction only rewrote entries that are
			 * not -EBUSY at indexes < again: the busy ones are intact
			 * when no retry happened, and rechecked only then. */
			uint64_t bm = retry ? 0 : recheck_busy(P, pages, status, weight, cnt, t);
			moved += bm;
			m->stats.fail[TIERD_RF_BUSY] += busy - bm;
		}
		if (nomem && r != -ENOMEM)
			m->enomem(m->ctx, t);
		res->attempted_pages += w - again_w;
		if (moved) {
			res->moved_pages += moved;
			m->stats.moved_pages += moved;
			m->moved(m->ctx, P->src, t, moved, false);
		}
		if (again) {
			/* Put the retried pages right before off + cnt and go on
			 * from there with another target. */
			memmove(pages + (cnt - again), pages, again * sizeof(*pages));
			memmove(weight + (cnt - again), weight, again * sizeof(*weight));
			memmove(uflags + (cnt - again), uflags, again * sizeof(*uflags));
			off += cnt - again;
		} else {
			off += cnt;
		}
		*done = off;
	}
	return 0;
}

/* Move every pending page; the ones not handed over stay on src (a later
 * pass finds them again). */
static int flush(struct pass *P)
{
	size_t done = 0;
	int r = P->npend ? flush_n(P, P->npend, &done) : 0;
	P->npend = 0;
	P->pend_pages = 0;
	return r;
}

int tierd_mover_pass(struct tierd_mover *m, struct tierd_mover_proc *p, int src, enum tier_page_heat heat,
		     uint64_t max_pages, struct tierd_budget *b, struct bitmask *avoid,
		     struct tierd_mover_result *res)
{
	size_t batch = m->batch_pages ? m->batch_pages : TIERD_RELIEF_BATCH_DEFAULT;
	struct pass P = { .m = m, .p = p, .src = src, .avoid = avoid, .res = res, .b = b };
	uint64_t taken = 0;       /* base pages queued or sent to the query */
	/* stop: 1 at max_pages (flush what is pending), 2 at the budget (carry
	 * it to the next call, so that calls stay full batches) */
	int r = 0, stop = 0;

	memset(res, 0, sizeof(*res));
	res->last_target = -1;
	m->lines_this_call = 0;
	m->line_capped = false;
	if (m->page_size == 0)
		m->page_size = 4096;
	if ((r = mover_scratch(m)) < 0)
		return r;
	if (p->dirfd < 0)
		return -ESRCH;
	/* Pages located by the last call on this process and pass but not
	 * handed to the kernel yet (it stopped at its budget before a batch
	 * was full) continue the batch; anything else carried is dropped: the
	 * pages stay where they are and a later pass finds them. */
	if (m->carry_owner == p && m->carry_heat == heat) {
		P.npend = m->carry_npend;
		P.pend_pages = m->carry_pend_pages;
		P.ncand = m->carry_ncand;
		P.cand_pages = m->carry_cand_pages;
		taken = P.pend_pages + P.cand_pages;
	}
	m->carry_owner = NULL;
	/* The first pass of a run saw every page: a later pass for a heat it
	 * found none of has nothing to do (a page that changed heat since
	 * waits for the next run). */
	if (!m->count_skips && heat != TIER_HEAT_NR && p->heat_seen && p->heat_pages[heat] == 0) {
		p->walk_done = true;
		return 0;
	}
	if (m->count_skips && p->cursor == 0 && !p->vma_valid)
		memset(p->heat_pages, 0, sizeof(p->heat_pages));

	while (!stop && r == 0) {
		if (p->walk_done)
			break;
		if (!p->vma_valid || p->cursor >= p->vma_end) {
			p->vma_valid = false;
			r = next_vma(m, p, b);
			if (r == 0)
				break;        /* the end of the process */
			if (r == 2) {
				r = 0;
				stop = 2;     /* the budget, between VMAs */
				break;
			}
			if (r < 0)
				break;
			r = 0;
		}
		if (taken >= max_pages) {
			stop = 1;
			break;
		}
		if (b && !tierd_budget_left(b)) {
			stop = 2;
			break;
		}
		uint64_t next = p->vma_end;
		r = locate(m, p, p->cursor, p->vma_end, &next);
		if (r < 0)
			break;
		/* Walk the chunk's units; an early stop leaves the cursor at the
		 * first unit not taken. */
		uint64_t resume = next;
		for (size_t i = 0; i < m->nr_units; i++) {
			const struct tierd_unit *u = &m->units[i];
			/* Other heats wait for their pass; pages that are never
			 * moved are counted in the pass that counts skips. */
			bool skip = (u->flags & UNIT_SKIP) != 0;
			if (m->count_skips && !skip && (u->node == src || u->node < 0))
				p->heat_pages[u->heat] += u->weight;   /* (unknown node: maybe on src) */
			if (skip && !m->count_skips)
				continue;
			if (!skip && heat != TIER_HEAT_NR && u->heat != heat)
				continue;
			/* (one unit always fits: a huge page larger than a
			 * small budget must still make progress) */
			if (taken > 0 && taken + u->weight > max_pages) {
				resume = u->addr;
				p->last_unit_end = 0;
				stop = 1;
				break;
			}
			if (u->node >= 0) {
				if (u->node == src) {
					take(&P, u);
					if (!(u->flags & UNIT_SKIP))
						taken += u->weight;
				}
			} else {
				m->cand[P.ncand++] = *u;
				P.cand_pages += u->weight;
				if (!(u->flags & UNIT_SKIP))
					taken += u->weight;
				if ((P.ncand >= batch || P.cand_pages >= batch) && (r = resolve(&P)) < 0)
					break;
			}
			if (P.pend_pages >= batch || P.npend >= batch) {
				if ((r = flush(&P)) < 0)
					break;
				if (b && !tierd_budget_left(b)) {
					/* Resume after this unit. */
					resume = i + 1 < m->nr_units ? m->units[i + 1].addr : next;
					stop = 2;
					break;
				}
			}
		}
		if (r < 0)
			break;
		p->cursor = resume;
	}
	/* Stopped by the budget: what is pending waits for the next call
	 * (the cursor is past it).  Otherwise it goes now: at the end of the
	 * walk, or at max_pages, the batch is as full as it will get. */
	if (r == 0 && stop == 2 && !m->dry_run) {
		m->carry_owner = p;
		m->carry_heat = heat;
		m->carry_npend = P.npend;
		m->carry_pend_pages = P.pend_pages;
		m->carry_ncand = P.ncand;
		m->carry_cand_pages = P.cand_pages;
		return 1;
	}
	if (r == 0) {
		int r2 = resolve(&P);
		if (r2 == 0)
			r2 = flush(&P);
		if (r == 0)
			r = r2;
	}
	if (r < 0)
		return r;
	if (!stop && m->count_skips)
		p->heat_seen = true;
	return stop ? 1 : 0;
}

/* ---- the daemon glue: relief as a slow job ----
 *
 * One run of relief (status "last_run") goes from a victim scan to the last
 * heat pass over its victims, across as many ticks and slices as it takes:
 *
 *   SCAN     a cursor over /proc (readdir), VmRSS and the cgroup of each
 *            process, the skip rules, and the memory cgroup's share on the
 *            node (memory.numa_stat): the RELIEF_MAX_VICTIMS with the most
 *            estimated pages there, without walking any page table;
 *   PREPARE  per victim: pidfd + verified /proc/PID directory, cpuset and
 *            grants, the VM_LOCKED ranges (smaps, only with VmLck > 0), and
 *            its soft-dirty bits cleared (the access window starts);
 *   MOVE     once the window has passed: for each heat in the order of the
 *            target's direction, for each victim, tierd_mover_pass, within
 *            the tick's allowance (token bucket, tick budget, what the node
 *            needs to get above its stop line);
 *   DONE     until the next scan (RELIEF_RESCAN_USEC later, or when the node
 *            changes).
 *
 * The slow tick (tierd_relief_tick) decides whether a node needs relief and
 * how much may move, and (re)starts the job; the job does the work in
 * slices.  All of it is main-thread state.
 */

#define RELIEF_RESCAN_USEC (2ull * 1000000ull)
#define RELIEF_RESCAN_DRY_USEC (60ull * 1000000ull)
#define RELIEF_MAX_VICTIMS 64
/* Processes looked at per scan slice (each: two small /proc reads), on top
 * of the slice's time budget. */
#define RELIEF_SCAN_PIDS_PER_SLICE 256u
/* move_pages calls per slice, on top of the time budget. */
#define RELIEF_CALLS_PER_SLICE 16u
#define RELIEF_MEMCG_CACHE 32

struct relief_victim {
	pid_t pid;
	uint64_t est_pages;       /* estimated pages on the node at scan time */
	uint64_t moved_pages;
	char comm[16];
	struct tierd_mover_proc proc;
	struct bitmask *avoid;    /* outside its cpuset, or refused with EACCES */
	struct bitmask *granted;  /* private nodes granted to it */
	bool prepared, dropped, reported, mark_tried;
	int result;
	const char *how;
};

enum relief_phase { RP_IDLE, RP_SCAN, RP_PREPARE, RP_MOVE, RP_DONE };

struct memcg_share {
	char path[256];
	int rc;                   /* 0 known, < 0 unknown */
	uint64_t on_node, total;
};

struct tierd_relief {
	struct tier_relief_state st;
	struct tier_token_bucket bucket;
	struct tier_rate_window window;
	struct tierd_mover mover;
	struct tierd_job job;
	struct tierd *d;

	int src;                  /* node relieved now, -1 */
	enum relief_phase phase;
	uint64_t now_usec;

	/* scan */
	DIR *scan_dir;
	struct tier_relief_victim cands[RELIEF_MAX_VICTIMS];
	size_t nr_cands;
	uint64_t scan_seen, skipped[5], skipped_elsewhere, skipped_empty;
	struct memcg_share memcg[RELIEF_MEMCG_CACHE];
	unsigned nr_memcg;
	uint64_t scanned_usec;

	/* victims and the move cursor */
	struct relief_victim *victims;
	size_t nr_victims, cur, prep;
	unsigned heat_idx;
	enum tier_page_heat order[TIER_HEAT_NR];
	enum tier_relief_target order_kind;
	bool order_set;
	uint64_t wait_until_usec;
	const struct bitmask *cur_granted;

	/* this tick */
	uint64_t allowance_pages, used_pages;
	uint64_t planned[TIER_RELIEF_MAX_NODES];

	/* what the host offers */
	struct tier_pfn_map pfn_map;
	uint64_t pfn_map_generation;
	int pfn_map_rc;
	int kpageflags_fd, kpageflags_rc;
	int soft_dirty;           /* 1 the kernel keeps soft-dirty bits, 0 not, -1 not known */
	struct bitmask *private_nodes;

	/* figures */
	uint64_t moved_off_bytes[TIER_RELIEF_MAX_NODES], moved_on_bytes[TIER_RELIEF_MAX_NODES];
	uint64_t episodes, runs, moved_bytes_total, planned_bytes_total;
	uint64_t last_tick_allowance_bytes, last_tick_moved_bytes;
	struct tierd_mover_stats run_base, last_run;
	uint64_t run_started_usec, last_run_started_usec, last_run_ended_usec;
	size_t last_run_victims;
	bool have_last_run;
	char state[192];
	bool no_target;
};

static int relief_choose(void *ctx, int src, const struct bitmask *avoid, uint64_t *room)
{
	struct tierd_relief *R = ctx;
	struct tier_relief_choice ch;
	if (tier_relief_choose_target(R->d->snap, R->d->config, &R->st, src, avoid, R->private_nodes, R->cur_granted,
				      R->planned, TIER_RELIEF_MAX_NODES, R->now_usec, &ch) < 0) {
		*room = 0;
		return -1;
	}
	*room = ch.room_pages;
	return ch.node;
}

static void relief_moved(void *ctx, int src, int dst, uint64_t pages, bool dry)
{
	struct tierd_relief *R = ctx;
	uint64_t bytes = pages * R->mover.page_size;
	if ((unsigned)dst < TIER_RELIEF_MAX_NODES)
		R->planned[dst] += pages;
	if (dry) {
		R->planned_bytes_total += bytes;
		return;
	}
	R->no_target = false;   /* until a call finds no room again */
	tier_relief_note_moved(&R->st, src, dst, R->now_usec, R->d->config->relief_cooldown_usec);
	if ((unsigned)src < TIER_RELIEF_MAX_NODES)
		R->moved_off_bytes[src] += bytes;
	if ((unsigned)dst < TIER_RELIEF_MAX_NODES)
		R->moved_on_bytes[dst] += bytes;
	R->moved_bytes_total += bytes;
	R->last_tick_moved_bytes += bytes;
	tier_rate_window_add(&R->window, R->now_usec, bytes);
}

static void relief_enomem(void *ctx, int node)
{
	struct tierd_relief *R = ctx;
	log_notice("relief: node %d answered ENOMEM; not using it as a target for %llus", node,
		   (unsigned long long)(TIER_RELIEF_ENOMEM_BACKOFF_USEC / 1000000));
	tier_relief_note_enomem(&R->st, node, R->now_usec);
}

static enum tierd_job_status relief_step(struct tierd *d, struct tierd_budget *b, void *ctx);

/* Does this kernel keep soft-dirty bits?  A page of ours just written must
 * read soft-dirty in our own pagemap (CONFIG_MEM_SOFT_DIRTY; without it the
 * bit is always 0 and clear_refs "4" walks the page tables for nothing).
 * -1 when rootfd has no proc/self/pagemap (a fixture root). */
static int probe_soft_dirty(int rootfd)
{
	int fd = openat(rootfd, "proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	static volatile uint64_t probe[4096 / sizeof(uint64_t) * 2];
	volatile uint64_t *page = (volatile uint64_t *)(((uintptr_t)probe + 4095) & ~(uintptr_t)4095);
	page[0] = 1;
	uint64_t e = 0;
	long n = tier_pagemap_read(fd, (uint64_t)(uintptr_t)page, 4096, &e, 1);
	close(fd);
	if (n != 1 || !(e & TIER_PM_PRESENT))
		return -1;
	return (e & TIER_PM_SOFT_DIRTY) ? 1 : 0;
}

static struct tierd_relief *relief_get(struct tierd *d)
{
	if (!d->relief) {
		struct tierd_relief *R = calloc(1, sizeof(*R));
		if (!R)
			return NULL;
		tier_relief_state_init(&R->st);
		R->src = -1;
		R->d = d;
		R->mover.choose = relief_choose;
		R->mover.moved = relief_moved;
		R->mover.enomem = relief_enomem;
		R->mover.ctx = R;
		R->mover.kpageflags_fd = -1;
		R->kpageflags_fd = -1;
		R->kpageflags_rc = 1;
		R->pfn_map_rc = 1;
		R->soft_dirty = probe_soft_dirty(d->rootfd);
		R->private_nodes = tier_nodemask_alloc();
		R->job.name = "relief";
		R->job.step = relief_step;
		R->job.ctx = R;
		R->job.max_units = RELIEF_CALLS_PER_SLICE;
		tierd_job_register(d, &R->job);
		snprintf(R->state, sizeof(R->state), "idle");
		d->relief = R;
	}
	return d->relief;
}

static void victims_free(struct tierd_relief *R)
{
	R->mover.carry_owner = NULL;   /* it points into the victims */
	for (size_t i = 0; i < R->nr_victims; i++) {
		tierd_mover_proc_close(&R->victims[i].proc);
		tier_bitmask_free(R->victims[i].avoid);
		tier_bitmask_free(R->victims[i].granted);
	}
	free(R->victims);
	R->victims = NULL;
	R->nr_victims = R->cur = R->prep = 0;
	R->heat_idx = 0;
	R->order_set = false;
	R->wait_until_usec = 0;
}

void tierd_relief_free(struct tierd *d)
{
	struct tierd_relief *R = d->relief;
	if (!R)
		return;
	tierd_job_forget(d, &R->job);
	victims_free(R);
	if (R->scan_dir)
		closedir(R->scan_dir);
	tierd_mover_free(&R->mover);
	tier_pfn_map_free(&R->pfn_map);
	if (R->kpageflags_fd >= 0)
		close(R->kpageflags_fd);
	tier_bitmask_free(R->private_nodes);
	free(R);
	d->relief = NULL;
}

static void relief_event(int prio, int node, pid_t pid, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void relief_event(int prio, int node, pid_t pid, const char *fmt, ...)
{
	struct tierd_field f[2];
	size_t n = 0;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (node >= 0)
		tierd_field_set(&f[n++], "TIERD_NODE", "%d", node);
	if (pid > 0)
		tierd_field_set(&f[n++], "TIERD_PID", "%d", (int)pid);
	tierd_event(prio, TIERD_MID_RELIEF, f, n, "relief: %s", msg);
}

/* Say once what happened to a victim (an action when pages moved or an
 * error happened). */
static void victim_report(struct tierd *d, struct tierd_relief *R, struct relief_victim *v)
{
	char target[160], value[64], reason[256];
	bool dry = tierd_dry_run(d);
	if (v->reported)
		return;
	v->reported = true;
	if (!v->moved_pages && v->result >= 0)
		return;
	snprintf(target, sizeof(target), "pid %d (%s)", (int)v->pid, v->comm);
	snprintf(value, sizeof(value), "%" PRIu64 " pages", v->moved_pages);
	snprintf(reason, sizeof(reason), "node %d under pressure: %s %" PRIu64 " pages off it (about %" PRIu64 " there at scan); %s",
		 R->src, dry ? "would move" : "moved", v->moved_pages, v->est_pages, v->how ? v->how : "done");
	tierd_record_action(d, "relief", target, value, reason, v->result == -ESRCH ? 0 : v->result);
	relief_event(v->moved_pages ? LOG_INFO : LOG_NOTICE, R->src, v->pid, "%s%s: %s", dry ? "dry-run: " : "", target,
		     reason);
}

static void victim_drop(struct tierd *d, struct tierd_relief *R, struct relief_victim *v, const char *how, int result)
{
	v->dropped = true;
	v->how = how;
	v->result = result;
	if (result == -ESRCH)
		R->mover.stats.fail[TIERD_RF_EXITED]++;
	else if (result == -EPERM)
		R->mover.stats.fail[TIERD_RF_PERM]++;
	victim_report(d, R, v);
	if (R->mover.carry_owner == &v->proc)
		R->mover.carry_owner = NULL;
	tierd_mover_proc_close(&v->proc);
}

static void run_finish(struct tierd_relief *R)
{
	struct tierd_mover_stats s = R->mover.stats;
	uint64_t *a = (uint64_t *)&s;
	const uint64_t *base = (const uint64_t *)&R->run_base;
	for (size_t i = 0; i < sizeof(s) / sizeof(uint64_t); i++)
		a[i] -= base[i];
	R->last_run = s;
	R->last_run_started_usec = R->run_started_usec;
	R->last_run_ended_usec = R->now_usec;
	R->last_run_victims = R->nr_victims;
	R->have_last_run = true;
	R->runs++;
	for (size_t i = 0; i < R->nr_victims; i++)
		if (!R->victims[i].dropped)
			victim_report(R->d, R, &R->victims[i]);
}

/* Stop whatever runs (the node recovered, changed, relief was disabled). */
static void relief_stop(struct tierd *d, struct tierd_relief *R)
{
	tierd_job_cancel(d, &R->job);
	R->no_target = false;
	if (R->phase == RP_MOVE || R->phase == RP_PREPARE)
		run_finish(R);
	victims_free(R);
	if (R->scan_dir) {
		closedir(R->scan_dir);
		R->scan_dir = NULL;
	}
	R->phase = RP_IDLE;
}

/* ---- the scan ---- */

static void scan_begin(struct tierd *d, struct tierd_relief *R)
{
	victims_free(R);
	if (R->scan_dir)
		closedir(R->scan_dir);
	R->scan_dir = NULL;
	int fd = openat(d->rootfd, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && !(R->scan_dir = fdopendir(fd)))
		close(fd);
	if (!R->scan_dir)
		log_warning("relief: cannot list processes: %s", strerror(errno));
	R->nr_cands = 0;
	R->scan_seen = 0;
	memset(R->skipped, 0, sizeof(R->skipped));
	R->skipped_elsewhere = R->skipped_empty = 0;
	R->nr_memcg = 0;
	R->scanned_usec = R->now_usec;
	R->run_base = R->mover.stats;
	R->run_started_usec = R->now_usec;
	R->phase = RP_SCAN;
}

/* The memory cgroup of the task and its memory on src, from
 * memory.numa_stat (v2 at sys/fs/cgroup, v1 at sys/fs/cgroup/memory: where
 * systemd and the usual init mount them).  <0 when not known. */
static int memcg_share(struct tierd *d, struct tierd_relief *R, const struct tier_proc_cgroups *cg, uint64_t *on,
		       uint64_t *total)
{
	char rel[sizeof(R->memcg[0].path) + 48];
	const char *path = NULL, *base = NULL;
	for (size_t i = 0; i < cg->nr && !path; i++) {
		const struct tier_proc_cgroup *g = &cg->v[i];
		if (g->hierarchy == 0 && g->controllers[0] == '\0') {
			path = g->path;
			base = "sys/fs/cgroup";
		}
	}
	for (size_t i = 0; i < cg->nr && !path; i++) {
		const char *c = cg->v[i].controllers;
		size_t n = strlen(c);
		/* "memory" in the comma list */
		for (const char *p = c; p && *p;) {
			const char *comma = strchr(p, ',');
			size_t l = comma ? (size_t)(comma - p) : (size_t)(c + n - p);
			if (l == 6 && memcmp(p, "memory", 6) == 0) {
				path = cg->v[i].path;
				base = "sys/fs/cgroup/memory";
				break;
			}
			p = comma ? comma + 1 : NULL;
		}
	}
	if (!path || strlen(path) >= sizeof(R->memcg[0].path))
		return -ENOENT;
	for (unsigned i = 0; i < R->nr_memcg; i++)
		if (strcmp(R->memcg[i].path, path) == 0) {
			*on = R->memcg[i].on_node;
			*total = R->memcg[i].total;
			return R->memcg[i].rc;
		}
	snprintf(rel, sizeof(rel), "%s%s/memory.numa_stat", base, strcmp(path, "/") == 0 ? "" : path);
	char *text = NULL;
	int rc = tier_read_file_at(d->rootfd, rel, &text, NULL);
	*on = *total = 0;
	if (rc == 0) {
		uint64_t pages[TIER_MAX_NODES];
		int version = strcmp(base, "sys/fs/cgroup") == 0 ? 2 : 1;
		rc = tier_memcg_numa_stat_parse(text, version, R->mover.page_size, pages, TIER_MAX_NODES);
		if (rc == 0) {
			uint64_t sum = 0, ps = R->mover.page_size ? R->mover.page_size : 4096;
			for (unsigned n = 0; n < TIER_MAX_NODES; n++)
				sum = sum + pages[n] < sum ? UINT64_MAX : sum + pages[n];
			uint64_t src = R->src >= 0 && (unsigned)R->src < TIER_MAX_NODES ? pages[R->src] : 0;
			*on = src > UINT64_MAX / ps ? UINT64_MAX : src * ps;
			*total = sum > UINT64_MAX / ps ? UINT64_MAX : sum * ps;
		}
	}
	free(text);
	unsigned slot = R->nr_memcg < RELIEF_MEMCG_CACHE ? R->nr_memcg++ : (unsigned)(R->scan_seen % RELIEF_MEMCG_CACHE);
	snprintf(R->memcg[slot].path, sizeof(R->memcg[slot].path), "%s", path);
	R->memcg[slot].rc = rc;
	R->memcg[slot].on_node = *on;
	R->memcg[slot].total = *total;
	return rc;
}

/* The skip rules on one process's status and cgroups. */
static enum tier_relief_skip victim_skip(struct tierd *d, pid_t pid, const struct tier_proc_status *st,
					 const struct tier_proc_cgroups *cg)
{
	bool fenced = tier_fence_task_granted(d->config, cg);
	return tier_relief_victim_skip(pid, getpid(), st, cg, d->config->relief_exclude, fenced);
}

static void scan_one(struct tierd *d, struct tierd_relief *R, pid_t pid)
{
	char rel[48];
	char *text = NULL;
	struct tier_proc_status st;
	struct tier_proc_cgroups cg;
	R->scan_seen++;
	if (pid == getpid()) {
		R->skipped[TIER_RELIEF_SKIP_SELF]++;
		return;
	}
	snprintf(rel, sizeof(rel), "proc/%d/status", (int)pid);
	if (tier_read_file_at(d->rootfd, rel, &text, NULL) < 0)
		return;   /* gone, or unreadable */
	int r = tier_proc_status_parse(text, &st);
	free(text);
	if (r < 0)
		return;
	bool have_cg = tier_proc_read_cgroups(d->rootfd, pid, &cg) == 0;
	enum tier_relief_skip sk = victim_skip(d, pid, &st, have_cg ? &cg : NULL);
	uint64_t rss = st.vm_rss_bytes / R->mover.page_size;
	struct tier_relief_victim cand = { .pid = pid, .pages = rss };
	snprintf(cand.comm, sizeof(cand.comm), "%.15s", st.name);
	tier_proc_status_free(&st);
	if (sk != TIER_RELIEF_SKIP_NONE) {
		R->skipped[sk]++;
	} else if (rss == 0) {
		R->skipped_empty++;
	} else {
		uint64_t on, total;
		if (have_cg && memcg_share(d, R, &cg, &on, &total) == 0) {
			if (total > 0 && on == 0) {
				R->skipped_elsewhere++;   /* its cgroup has nothing on src */
				goto out;
			}
			cand.pages = tier_relief_victim_estimate(rss, on, total);
		}
		tier_relief_victims_offer(R->cands, &R->nr_cands, RELIEF_MAX_VICTIMS, &cand);
	}
out:
	if (have_cg)
		tier_proc_cgroups_free(&cg);
}

/* One scan slice; true when the scan is complete. */
static bool scan_slice(struct tierd *d, struct tierd_relief *R, struct tierd_budget *b)
{
	for (unsigned n = 0; R->scan_dir; n++) {
		if (n >= RELIEF_SCAN_PIDS_PER_SLICE || (n && !tierd_budget_left(b)))
			return false;
		struct dirent *de = readdir(R->scan_dir);
		if (!de)
			break;
		int pid;
		if (de->d_name[0] < '1' || de->d_name[0] > '9' || tier_parse_int(de->d_name, &pid) < 0 || pid <= 0)
			continue;
		scan_one(d, R, pid);
	}
	if (R->scan_dir) {
		closedir(R->scan_dir);
		R->scan_dir = NULL;
	}
	R->victims = R->nr_cands ? calloc(R->nr_cands, sizeof(*R->victims)) : NULL;
	R->nr_victims = R->victims ? R->nr_cands : 0;
	for (size_t i = 0; i < R->nr_victims; i++) {
		struct relief_victim *v = &R->victims[i];
		v->pid = R->cands[i].pid;
		v->est_pages = R->cands[i].pages;
		memcpy(v->comm, R->cands[i].comm, sizeof(v->comm));
		v->proc.dirfd = v->proc.pidfd = v->proc.pagemap_fd = -1;
		v->avoid = tier_nodemask_alloc();
		v->granted = tier_nodemask_alloc();
	}
	R->cur = R->prep = 0;
	R->heat_idx = 0;
	R->order_set = false;
	return true;
}

/* ---- prepare and move ---- */

/* The skip rules again, from files read through the verified directory:
 * the victim may have moved to an excluded or granted cgroup since the scan.
 * Also its cpuset (avoid) and grants. */
static enum tier_relief_skip victim_recheck(struct tierd *d, struct tierd_relief *R, struct relief_victim *v)
{
	struct tier_proc_status st;
	struct tier_proc_cgroups cg;
	char *text = NULL;
	enum tier_relief_skip sk = TIER_RELIEF_SKIP_KTHREAD;
	if (tier_read_file_at(v->proc.dirfd, "status", &text, NULL) < 0)
		return sk;
	int r = tier_proc_status_parse(text, &st);
	free(text);
	if (r < 0)
		return sk;
	text = NULL;
	bool have_cg = tier_read_file_at(v->proc.dirfd, "cgroup", &text, NULL) == 0 &&
		       tier_proc_cgroups_parse(text, &cg) == 0;
	free(text);
	sk = victim_skip(d, v->pid, &st, have_cg ? &cg : NULL);
	tier_bitmask_zero(v->avoid);
	if (!tier_bitmask_empty(st.mems_allowed))
		for (int i = 0; i < d->snap->nr_nodes; i++)
			if (!tier_bitmask_isset(st.mems_allowed, d->snap->nodes[i].id))
				tier_bitmask_set(v->avoid, d->snap->nodes[i].id);
	tier_bitmask_zero(v->granted);
	if (have_cg) {
		struct tier_fence_input in = { .private_nodes = R->private_nodes, .grants = d->config->grants,
					       .nr_grants = d->config->nr_grants };
		struct bitmask *g = tier_nodemask_alloc();
		for (size_t i = 0; i < cg.nr; i++) {
			tier_fence_granted(&in, cg.v[i].path, g);
			tier_bitmask_or(v->granted, g);
		}
		tier_bitmask_free(g);
		tier_proc_cgroups_free(&cg);
	}
	tier_proc_status_free(&st);
	return sk;
}

static bool marking_wanted(const struct tierd *d, const struct tierd_relief *R, const struct relief_victim *v)
{
	/* Not in dry-run (nothing is written to the host) nor with --once
	 * (one tick ends before the access window would). */
	return d->ops->clear_soft_dirty && d->config->relief_order == TIER_RELIEF_ORDER_ACCESS && R->soft_dirty != 0 &&
	       v->proc.rss_bytes <= TIER_RELIEF_MARK_MAX_RSS_BYTES && !tierd_dry_run(d) && !d->once;
}

/* One prepare slice; true when every victim is prepared. */
static bool prepare_slice(struct tierd *d, struct tierd_relief *R, struct tierd_budget *b)
{
	/* One step per iteration, the budget checked before each: opening
	 * (a few small reads), the smaps chunks, the mark (clear_refs: one
	 * write(2) that walks the process's page tables) each start only when
	 * the slice has time left. */
	while (R->prep < R->nr_victims) {
		if (!tierd_budget_left(b))
			return false;
		struct relief_victim *v = &R->victims[R->prep];
		if (v->dropped) {
			R->prep++;
		} else if (!v->prepared) {
			int r = tierd_mover_proc_open(&R->mover, &v->proc, v->pid);
			if (r < 0) {
				victim_drop(d, R, v, r == -ESRCH ? "the process exited" : strerror(-r), r);
				continue;
			}
			enum tier_relief_skip sk = victim_recheck(d, R, v);
			if (sk != TIER_RELIEF_SKIP_NONE) {
				R->skipped[sk]++;
				victim_drop(d, R, v, tier_relief_skip_name(sk), 0);
				continue;
			}
			v->prepared = true;
		} else if (!v->proc.locked_done) {
			int r = tierd_mover_proc_read_locked(&R->mover, &v->proc, b);
			if (r == 1)
				return false;
			if (r == -ESRCH) {
				victim_drop(d, R, v, "the process exited", -ESRCH);
			} else if (r < 0) {
				log_debug("relief: pid %d: smaps: %s (locked ranges unknown; PG_mlocked still counts)",
					  (int)v->pid, strerror(-r));
				v->proc.locked_done = true;
			}
		} else if (!v->mark_tried) {
			v->mark_tried = true;
			if (marking_wanted(d, R, v) && tierd_mover_proc_check(&R->mover, &v->proc) == 0 &&
			    tierd_mover_proc_mark(&R->mover, &v->proc, R->now_usec) == 0 &&
			    R->now_usec + TIER_RELIEF_ACCESS_WINDOW_USEC > R->wait_until_usec)
				R->wait_until_usec = R->now_usec + TIER_RELIEF_ACCESS_WINDOW_USEC;
		} else {
			R->prep++;
		}
	}
	return true;
}

static void order_decide(struct tierd_relief *R)
{
	struct tier_relief_choice ch;
	enum tier_relief_target kind = TIER_RELIEF_SLOWER;
	if (tier_relief_choose_target(R->d->snap, R->d->config, &R->st, R->src, NULL, R->private_nodes, NULL,
				      R->planned, TIER_RELIEF_MAX_NODES, R->now_usec, &ch) == 0)
		kind = ch.kind;
	if (R->d->config->relief_order == TIER_RELIEF_ORDER_ADDRESS) {
		/* One pass, every heat, in address order. */
		R->order[0] = TIER_HEAT_NR;
	} else {
		tier_relief_heat_order(kind, R->order);
	}
	R->order_kind = kind;
	R->order_set = true;
}

static unsigned nr_passes(const struct tierd_relief *R)
{
	return R->order[0] == TIER_HEAT_NR ? 1 : TIER_HEAT_NR;
}

/* Next victim; after the last, the next heat; false when the run is over. */
static bool advance(struct tierd_relief *R)
{
	R->cur++;
	if (R->cur < R->nr_victims)
		return true;
	R->cur = 0;
	R->heat_idx++;
	if (R->heat_idx >= nr_passes(R))
		return false;
	for (size_t i = 0; i < R->nr_victims; i++)
		if (!R->victims[i].dropped)
			tierd_mover_proc_rewind(&R->victims[i].proc);
	return true;
}

static enum tierd_job_status move_slice(struct tierd *d, struct tierd_relief *R, struct tierd_budget *b)
{
	if (!R->order_set)
		order_decide(R);
	size_t rechecked_cur = SIZE_MAX;
	unsigned rechecked_heat = 0;
	while (R->used_pages < R->allowance_pages) {
		if (R->nr_victims == 0 || R->cur >= R->nr_victims) {
			R->phase = RP_DONE;
			run_finish(R);
			return TIERD_JOB_DONE;
		}
		struct relief_victim *v = &R->victims[R->cur];
		if (v->dropped || !v->prepared) {
			if (!advance(R)) {
				R->phase = RP_DONE;
				run_finish(R);
				return TIERD_JOB_DONE;
			}
			continue;
		}
		if (!tierd_budget_left(b))
			return TIERD_JOB_MORE;
		/* Every slice that resumes a victim re-applies the skip rules
		 * first (cheap: two small reads through its directory). */
		if (rechecked_cur != R->cur || rechecked_heat != R->heat_idx) {
			enum tier_relief_skip sk = victim_recheck(d, R, v);
			rechecked_cur = R->cur;
			rechecked_heat = R->heat_idx;
			if (sk != TIER_RELIEF_SKIP_NONE) {
				R->skipped[sk]++;
				victim_drop(d, R, v, tier_relief_skip_name(sk), 0);
				continue;
			}
		}
		tierd_mover_proc_window(&v->proc, R->now_usec);
		R->cur_granted = v->granted;
		R->mover.count_skips = R->heat_idx == 0;
		struct tierd_mover_result res;
		int r = tierd_mover_pass(&R->mover, &v->proc, R->src, R->order[R->heat_idx],
					 R->allowance_pages - R->used_pages, b, v->avoid, &res);
		R->cur_granted = NULL;
		R->used_pages += res.attempted_pages;
		v->moved_pages += res.moved_pages;
		if (!tierd_dry_run(d))
			tier_bucket_take(&R->bucket, res.attempted_pages * R->mover.page_size);
		if (r == 1 && R->mover.line_capped)
			return TIERD_JOB_MORE;   /* a slice walks at most 4096 VMAs */
		if (r == 1)
			continue;   /* allowance or budget: the loop condition decides */
		if (r == -ENOSPC) {
			R->no_target = true;
			return TIERD_JOB_DONE;
		}
		if (r < 0) {
			bool lost = r == -ESRCH && v->proc.pidfd >= 0;
			victim_drop(d, R, v,
				    r == -ESRCH ? (lost ? "the process exited (or its PID was reused)" : "the process exited")
						: strerror(-r),
				    r);
			continue;
		}
		if (!advance(R)) {
			R->phase = RP_DONE;
			run_finish(R);
			return TIERD_JOB_DONE;
		}
	}
	return TIERD_JOB_DONE;   /* this tick's allowance is spent */
}

static enum tierd_job_status relief_step_phase(struct tierd *d, struct tierd_budget *b, void *ctx);

/* The state line of status, after the tick and after every slice. */
static void relief_state(struct tierd *d, struct tierd_relief *R)
{
	if (R->src < 0)
		return;
	const struct tier_node *srcn = tier_snapshot_node(d->snap, R->src);
	const char *what = R->phase == RP_SCAN      ? "scanning processes"
			   : R->phase == RP_PREPARE ? "preparing victims"
			   : R->phase == RP_MOVE && R->now_usec < R->wait_until_usec ? "watching accesses"
			   : R->phase == RP_MOVE    ? "moving"
			   : R->nr_victims == 0     ? "no movable process has pages there"
						    : "every victim done";
	snprintf(R->state, sizeof(R->state), "%srelieving node %d (free %" PRIu64 " pages): %s%s",
		 tierd_dry_run(d) ? "dry-run: " : "", R->src, srcn ? srcn->free_pages : 0, what,
		 R->no_target ? "; no target with room" : "");
}

static enum tierd_job_status relief_step(struct tierd *d, struct tierd_budget *b, void *ctx)
{
	enum tierd_job_status st = relief_step_phase(d, b, ctx);
	relief_state(d, ctx);
	return st;
}

static enum tierd_job_status relief_step_phase(struct tierd *d, struct tierd_budget *b, void *ctx)
{
	struct tierd_relief *R = ctx;
	/* Paused (tierctl pause): the slow tick no longer calls relief, and
	 * a job it started stops at its next slice. */
	if (R->src < 0 || !d->snap || d->paused)
		return TIERD_JOB_DONE;
	switch (R->phase) {
	case RP_SCAN:
		if (!scan_slice(d, R, b))
			return TIERD_JOB_MORE;
		R->phase = RP_PREPARE;
		return tierd_budget_left(b) ? relief_step_phase(d, b, ctx) : TIERD_JOB_MORE;
	case RP_PREPARE:
		if (!prepare_slice(d, R, b))
			return TIERD_JOB_MORE;
		R->phase = RP_MOVE;
		return tierd_budget_left(b) ? relief_step_phase(d, b, ctx) : TIERD_JOB_MORE;
	case RP_MOVE:
		if (R->now_usec < R->wait_until_usec)
			return TIERD_JOB_DONE;   /* the access window: a later tick */
		return move_slice(d, R, b);
	case RP_IDLE:
	case RP_DONE:
		break;
	}
	return TIERD_JOB_DONE;
}

/* What the host offers the locator: PFN -> node (rebuilt when the topology
 * changes), kpageflags, the private nodes. */
static void relief_refresh(struct tierd *d, struct tierd_relief *R)
{
	if (R->pfn_map_rc > 0 || R->pfn_map_generation != d->topology_generation) {
		char err[256] = "";
		tier_pfn_map_free(&R->pfn_map);
		R->pfn_map_rc = tier_pfn_map_read(d->rootfd, R->mover.page_size, &R->pfn_map, err, sizeof(err));
		R->pfn_map_generation = d->topology_generation;
		if (R->pfn_map_rc < 0 && R->pfn_map_rc != -ENOENT)
			log_warning("relief: PFN -> node map: %s (nodes by status query)", err);
	}
	if (R->kpageflags_rc > 0) {
		int fd = openat(d->rootfd, "proc/kpageflags", O_RDONLY | O_CLOEXEC);
		R->kpageflags_fd = fd;
		R->kpageflags_rc = fd < 0 ? -errno : 0;
	}
	R->mover.kpageflags_fd = R->kpageflags_fd;
	R->mover.pfn_map = R->pfn_map_rc == 0 ? &R->pfn_map : NULL;
	tier_fence_private_nodes(d->config, d->snap, R->private_nodes);
}

void tierd_relief_tick(struct tierd *d, uint64_t now_usec, uint64_t *next_interval_usec)
{
	struct tierd_relief *R = relief_get(d);
	const struct tier_config *c = d->config;
	if (!R || !d->snap)
		return;
	R->now_usec = now_usec;
	R->last_tick_moved_bytes = 0;
	R->last_tick_allowance_bytes = 0;
	if (!d->ops->move_pages) {
		snprintf(R->state, sizeof(R->state), "unavailable: no move_pages in the ops table");
		return;
	}

	struct bitmask *on = tier_nodemask_alloc(), *off = tier_nodemask_alloc();
	int src = tier_relief_update(d->snap, c, &R->st, on, off);
	tier_bitmask_foreach(n, on)
	{
		const struct tier_node *node = tier_snapshot_node(d->snap, n);
		uint64_t start, stop;
		tier_relief_lines(c, node, d->snap->page_size, &start, &stop);
		relief_event(LOG_NOTICE, n, 0, "node %d free %" PRIu64 " pages <= start line %" PRIu64 "; relieving until above %" PRIu64,
			     n, node->free_pages, start, stop);
		R->episodes++;
	}
	tier_bitmask_foreach(n, off)
		relief_event(LOG_NOTICE, n, 0, "node %d recovered (or left the lower tiers); relief stopped", n);
	tier_bitmask_free(on);
	tier_bitmask_free(off);

	if (!c->relief_enabled) {
		snprintf(R->state, sizeof(R->state), "disabled");
		relief_stop(d, R);
		R->src = -1;
		return;
	}
	if (src < 0) {
		snprintf(R->state, sizeof(R->state), "idle");
		if (R->src >= 0)
			relief_stop(d, R);
		R->src = -1;
		return;
	}
	if (src != R->src) {
		relief_stop(d, R);
		R->src = src;
	}

	bool dry = tierd_dry_run(d);
	R->mover.ops = d->ops;
	R->mover.rootfd = d->rootfd;
	R->mover.page_size = d->snap->page_size ? d->snap->page_size : 4096;
	R->mover.batch_pages = c->relief_batch_pages;
	R->mover.flags = c->relief_move_all ? MPOL_MF_MOVE_ALL : MPOL_MF_MOVE;
	R->mover.dry_run = dry;
	if (!R->mover.pmd_bytes) {
		uint64_t pmd = 0;
		R->mover.pmd_bytes =
			tier_read_u64_at(d->rootfd, "sys/kernel/mm/transparent_hugepage/hpage_pmd_size", &pmd) == 0 && pmd
				? pmd
				: 2u << 20;
	}
	relief_refresh(d, R);
	memset(R->planned, 0, sizeof(R->planned));

	tier_bucket_init(&R->bucket, c->relief_rate_bytes_per_sec, c->relief_tick_budget_bytes);
	tier_bucket_refill(&R->bucket, now_usec);
	uint64_t allowance = tier_bucket_allowance(&R->bucket, c->relief_tick_budget_bytes);
	R->last_tick_allowance_bytes = allowance;
	uint64_t budget_pages = allowance / R->mover.page_size;
	/* Move no more than the node needs to get above its stop line: the
	 * rest of the budget would only cost the workload. */
	const struct tier_node *srcn = tier_snapshot_node(d->snap, src);
	if (srcn) {
		uint64_t start, stop;
		tier_relief_lines(c, srcn, d->snap->page_size, &start, &stop);
		uint64_t need = srcn->free_pages <= stop ? stop - srcn->free_pages + 1 : 0;
		if (need < budget_pages)
			budget_pages = need;
	}
	R->allowance_pages = budget_pages;
	R->used_pages = 0;

	uint64_t rescan = dry ? RELIEF_RESCAN_DRY_USEC : RELIEF_RESCAN_USEC;
	if (R->phase == RP_IDLE || (R->phase == RP_DONE && now_usec - R->scanned_usec >= rescan))
		scan_begin(d, R);
	if (R->phase == RP_SCAN || R->phase == RP_PREPARE || (R->phase == RP_MOVE && budget_pages > 0))
		tierd_job_start(d, &R->job);

	relief_state(d, R);

	/* Come back when the bucket holds the next tick's budget: that is how
	 * the configured rate is reached (the guard may ask for sooner); and
	 * when the access window ends. */
	uint64_t want = UINT64_MAX;
	bool will_move = R->phase == RP_SCAN || R->phase == RP_PREPARE ||
			 (R->phase == RP_MOVE && now_usec >= R->wait_until_usec);
	if (!dry && budget_pages > 0 && will_move && !R->no_target) {
		/* The job is about to spend this allowance. */
		struct tier_token_bucket after = R->bucket;
		tier_bucket_take(&after, budget_pages * R->mover.page_size);
		want = tier_bucket_wait_usec(&after, c->relief_tick_budget_bytes);
	}
	if (want != UINT64_MAX) {
		if (want < c->min_interval_usec)
			want = c->min_interval_usec;
		if (want < *next_interval_usec)
			*next_interval_usec = want;
	}
}

/* ---- status ---- */

static struct json_object *u64(uint64_t v)
{
	return json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

static enum tierd_locator main_locator(const struct tierd_mover_stats *s)
{
	enum tierd_locator best = TIERD_LOC_NONE;
	for (int i = 1; i < TIERD_LOC_NR; i++)
		if (s->locator_pages[i] > (best ? s->locator_pages[best] : 0))
			best = (enum tierd_locator)i;
	return best;
}

static struct json_object *stats_json(const struct tierd_mover_stats *s, uint64_t page_size)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "locator", json_object_new_string(tierd_locator_name(main_locator(s))));
	struct json_object *loc = json_object_new_object();
	for (int i = 1; i < TIERD_LOC_NR; i++)
		if (s->locator_pages[i])
			json_object_object_add(loc, tierd_locator_name((enum tierd_locator)i), u64(s->locator_pages[i]));
	json_object_object_add(o, "located_pages_by_locator", loc);
	json_object_object_add(o, "found_pages", u64(s->found_pages));
	json_object_object_add(o, "moved_pages", u64(s->moved_pages));
	json_object_object_add(o, "moved_bytes", u64(s->moved_pages * page_size));
	struct json_object *mix = json_object_new_object();
	for (int h = 0; h < TIER_HEAT_NR; h++)
		json_object_object_add(mix, tier_page_heat_name((enum tier_page_heat)h), u64(s->moved_heat_pages[h]));
	json_object_object_add(o, "moved_pages_by_heat", mix);
	json_object_object_add(o, "moved_huge_units", u64(s->moved_huge_units));
	json_object_object_add(o, "moved_huge_pages", u64(s->moved_huge_pages));
	json_object_object_add(o, "skipped_mlocked_pages", u64(s->skipped_mlocked_pages));
	json_object_object_add(o, "skipped_unevictable_pages", u64(s->skipped_unevictable_pages));
	json_object_object_add(o, "skipped_unmovable_pages", u64(s->skipped_unmovable_pages));
	json_object_object_add(o, "sparse_vmas_skipped", u64(s->sparse_vmas_skipped));
	json_object_object_add(o, "sparse_bytes_skipped", u64(s->sparse_bytes_skipped));
	json_object_object_add(o, "move_calls", u64(s->move_calls));
	json_object_object_add(o, "query_calls", u64(s->query_calls));
	json_object_object_add(o, "pagemap_scan_calls", u64(s->scan_calls));
	json_object_object_add(o, "pagemap_reads", u64(s->pagemap_reads));
	json_object_object_add(o, "kpageflags_reads", u64(s->kpageflags_reads));
	json_object_object_add(o, "maps_reads", u64(s->maps_reads));
	json_object_object_add(o, "maps_lines", u64(s->maps_lines));
	json_object_object_add(o, "smaps_reads", u64(s->smaps_reads));
	json_object_object_add(o, "identity_checks", u64(s->identity_checks));
	json_object_object_add(o, "identity_lost", u64(s->identity_lost));
	json_object_object_add(o, "busy_rechecked_moved_pages", u64(s->busy_rechecked));
	struct json_object *fl = json_object_new_object();
	for (int i = 0; i < TIERD_RF_NR; i++)
		json_object_object_add(fl, tierd_relief_fail_name((enum tierd_relief_fail)i), u64(s->fail[i]));
	json_object_object_add(o, "failures", fl);
	return o;
}

/* In words, how pages are ordered on this host. */
static void order_text(const struct tierd *d, const struct tierd_relief *R, char *buf, size_t size)
{
	if (d->config->relief_order == TIER_RELIEF_ORDER_ADDRESS) {
		snprintf(buf, size, "address ([relief] order = address)");
		return;
	}
	bool kpf = R && R->kpageflags_fd >= 0, sd = !R || R->soft_dirty != 0;
	const char *pfn = R && R->have_last_run && main_locator(&R->last_run) != TIERD_LOC_NONE &&
				      (main_locator(&R->last_run) == TIERD_LOC_SCAN_QUERY ||
				       main_locator(&R->last_run) == TIERD_LOC_READ_QUERY)
				  ? " (no PFNs: kpageflags unused)"
				  : "";
	if (sd && kpf)
		snprintf(buf, size, "access: written in a %llu ms window (soft-dirty) and kpageflags active/referenced%s",
			 (unsigned long long)(TIER_RELIEF_ACCESS_WINDOW_USEC / 1000), pfn);
	else if (sd)
		snprintf(buf, size, "access: written in a %llu ms window (soft-dirty); no kpageflags",
			 (unsigned long long)(TIER_RELIEF_ACCESS_WINDOW_USEC / 1000));
	else if (kpf)
		snprintf(buf, size, "access: kpageflags active/referenced (no soft-dirty in this kernel)%s", pfn);
	else
		snprintf(buf, size, "address (no access signal: no soft-dirty, no kpageflags)");
}

struct json_object *tierd_relief_status(struct tierd *d)
{
	struct tierd_relief *R = d->relief;
	const struct tier_config *c = d->config;
	struct json_object *o = json_object_new_object();
	char buf[256];

	json_object_object_add(o, "enabled", json_object_new_boolean(c->relief_enabled));
	json_object_object_add(o, "state", json_object_new_string(d->paused ? "paused" : R ? R->state : "starting"));
	tier_wm_expr_format(&c->relief_start_at, buf, sizeof(buf));
	json_object_object_add(o, "start_at", json_object_new_string(buf));
	tier_wm_expr_format(&c->relief_stop_at, buf, sizeof(buf));
	json_object_object_add(o, "stop_at", json_object_new_string(buf));
	size_t off = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < c->relief_nr_targets && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? "," : "",
					tier_relief_target_name(c->relief_targets[i]));
	json_object_object_add(o, "targets", json_object_new_string(buf));
	json_object_object_add(o, "move_flag", json_object_new_string(c->relief_move_all ? "MPOL_MF_MOVE_ALL"
										       : "MPOL_MF_MOVE"));
	json_object_object_add(o, "rate_bytes_per_sec", u64(c->relief_rate_bytes_per_sec));
	json_object_object_add(o, "tick_budget_bytes", u64(c->relief_tick_budget_bytes));
	json_object_object_add(o, "batch_pages", u64(c->relief_batch_pages));
	order_text(d, R, buf, sizeof(buf));
	json_object_object_add(o, "page_order", json_object_new_string(buf));
	if (!R)
		return o;

	struct json_object *caps = json_object_new_object();
	json_object_object_add(caps, "kpageflags", json_object_new_boolean(R->kpageflags_fd >= 0));
	json_object_object_add(caps, "pfn_map_blocks", u64(R->pfn_map_rc == 0 ? R->pfn_map.nr_blocks : 0));
	json_object_object_add(caps, "pfn_map_mixed_blocks", u64(R->pfn_map_rc == 0 ? R->pfn_map.nr_mixed : 0));
	json_object_object_add(caps, "soft_dirty", R->soft_dirty < 0 ? NULL : json_object_new_boolean(R->soft_dirty));
	json_object_object_add(o, "host", caps);
	json_object_object_add(o, "locator", json_object_new_string(tierd_locator_name(main_locator(&R->mover.stats))));

	uint64_t now = R->now_usec;
	uint64_t minute = tier_rate_window_sum(&R->window, now);
	json_object_object_add(o, "tokens_bytes", u64(R->bucket.tokens_bytes));
	json_object_object_add(o, "last_tick_allowance_bytes", u64(R->last_tick_allowance_bytes));
	json_object_object_add(o, "last_tick_moved_bytes", u64(R->last_tick_moved_bytes));
	json_object_object_add(o, "moved_bytes_last_minute", u64(minute));
	json_object_object_add(o, "achieved_bytes_per_sec_last_minute", u64(minute / TIER_RATE_WINDOW_SEC));
	json_object_object_add(o, "mover_bytes_per_sec",
			       u64(R->mover.stats.move_usec ? R->moved_bytes_total * 1000000u / R->mover.stats.move_usec
							    : 0));
	json_object_object_add(o, "moved_bytes_total", u64(R->moved_bytes_total));
	json_object_object_add(o, "planned_bytes_total_dry_run", u64(R->planned_bytes_total));
	json_object_object_add(o, "episodes", u64(R->episodes));
	json_object_object_add(o, "runs", u64(R->runs));
	json_object_object_add(o, "move_calls", u64(R->mover.stats.move_calls));
	json_object_object_add(o, "query_calls", u64(R->mover.stats.query_calls));
	json_object_object_add(o, "relieving_node", R->src >= 0 ? json_object_new_int(R->src) : NULL);

	struct bitmask *act = tier_nodemask_alloc();
	for (unsigned i = 0; i < TIER_RELIEF_MAX_NODES; i++)
		if (R->st.active[i])
			tier_bitmask_set(act, (int)i);
	char *list = tier_bitmask_format_alloc(act);
	tier_bitmask_free(act);
	json_object_object_add(o, "active_nodes", list ? json_object_new_string(list) : NULL);
	free(list);

	if (R->src >= 0 && R->phase == RP_MOVE && R->cur < R->nr_victims) {
		const struct relief_victim *v = &R->victims[R->cur];
		struct json_object *cv = json_object_new_object();
		json_object_object_add(cv, "pid", json_object_new_int((int)v->pid));
		json_object_object_add(cv, "comm", json_object_new_string(v->comm));
		json_object_object_add(cv, "pages_on_node_estimated", u64(v->est_pages));
		json_object_object_add(cv, "moved_pages", u64(v->moved_pages));
		json_object_object_add(cv, "locator", json_object_new_string(tierd_locator_name(v->proc.locator)));
		json_object_object_add(o, "current_victim", cv);
	} else {
		json_object_object_add(o, "current_victim", NULL);
	}
	size_t left = 0;
	for (size_t i = R->cur; i < R->nr_victims; i++)
		left += !R->victims[i].dropped;
	json_object_object_add(o, "victims_queued", u64(R->phase == RP_MOVE ? left : 0));
	json_object_object_add(o, "phase", json_object_new_string(R->phase == RP_SCAN      ? "scan"
								  : R->phase == RP_PREPARE ? "prepare"
								  : R->phase == RP_MOVE    ? "move"
								  : R->phase == RP_DONE    ? "done"
											   : "idle"));
	if (R->phase == RP_MOVE && R->order_set)
		json_object_object_add(o, "pass", json_object_new_string(R->order[R->heat_idx] == TIER_HEAT_NR
										? "any"
										: tier_page_heat_name(R->order[R->heat_idx])));

	struct json_object *sk = json_object_new_object();
	for (int i = 1; i < 5; i++)
		json_object_object_add(sk, tier_relief_skip_name((enum tier_relief_skip)i), u64(R->skipped[i]));
	json_object_object_add(sk, "cgroup-has-nothing-there", u64(R->skipped_elsewhere));
	json_object_object_add(sk, "no-resident-memory", u64(R->skipped_empty));
	json_object_object_add(o, "victims_skipped", sk);

	/* Totals since start, and the last finished run. */
	json_object_object_add(o, "total", stats_json(&R->mover.stats, R->mover.page_size));
	if (R->have_last_run) {
		struct json_object *lr = stats_json(&R->last_run, R->mover.page_size);
		json_object_object_add(lr, "victims", u64(R->last_run_victims));
		json_object_object_add(lr, "age_usec", u64(now - R->last_run_ended_usec));
		json_object_object_add(lr, "duration_usec", u64(R->last_run_ended_usec - R->last_run_started_usec));
		json_object_object_add(o, "last_run", lr);
	} else {
		json_object_object_add(o, "last_run", NULL);
	}
	/* kept for tools of the previous status format */
	struct json_object *fl = json_object_new_object();
	for (int i = 0; i < TIERD_RF_NR; i++)
		json_object_object_add(fl, tierd_relief_fail_name((enum tierd_relief_fail)i), u64(R->mover.stats.fail[i]));
	json_object_object_add(o, "failures", fl);
	json_object_object_add(o, "busy_rechecked_moved_pages", u64(R->mover.stats.busy_rechecked));

	struct json_object *nodes = json_object_new_object();
	for (unsigned i = 0; i < TIER_RELIEF_MAX_NODES; i++) {
		if (!R->moved_off_bytes[i] && !R->moved_on_bytes[i] && !R->st.active[i] &&
		    R->st.enomem_until_usec[i] <= now)
			continue;
		struct json_object *n = json_object_new_object();
		char key[16];
		json_object_object_add(n, "relieving", json_object_new_boolean(R->st.active[i]));
		json_object_object_add(n, "moved_off_bytes", u64(R->moved_off_bytes[i]));
		json_object_object_add(n, "moved_on_bytes", u64(R->moved_on_bytes[i]));
		json_object_object_add(n, "target_backoff_usec",
				       u64(R->st.enomem_until_usec[i] > now ? R->st.enomem_until_usec[i] - now : 0));
		snprintf(key, sizeof(key), "%u", i);
		json_object_object_add(nodes, key, n);
	}
	json_object_object_add(o, "nodes", nodes);
	return o;
}
