/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Pressure relief: the pure decisions behind moving pages off a lower-tier
 * node that nears its min watermark (the moving itself, with move_pages(2),
 * is daemon/tierd-relief.c).  No I/O, no clock reads, no logging: the
 * history kept between ticks is the caller-owned struct tier_relief_state.
 *
 * Why: the guard (tier/guard.h) stops kernel demotion from filling a lower
 * tier past min; relief makes room in it again so that demotion can resume
 * and the fast tier keeps working.
 *
 * Definitions (the contract):
 *
 * - Lower-tier node: an online node with memory whose memory tier is not the
 *   fastest one present (tier index > 0 in the snapshot).  Nothing is
 *   relieved on a host with fewer than two tiers, or with [relief]
 *   enabled = no.
 * - Start / stop lines: [relief] start_at / stop_at resolved per node with
 *   tier_wm_expr_pages().  If stop is not above start, stop = start + 1.
 *   A node starts being relieved when free <= start and stops when
 *   free > stop (hysteresis: in between it keeps its previous state).
 * - The node relieved this tick: among the active ones, the one with the
 *   least free pages above its start line (most negative first); ties go to
 *   the lower id.  One node per tick: the per-tick budget is not split.
 * - Targets of a source node S, by kind:
 *     sibling: another node of S's tier;
 *     slower:  a node of a slower tier, nearest tier first;
 *     faster:  a node of a faster tier, nearest tier first.
 *   Kinds are tried in the configured order ([relief] targets).  Within a
 *   kind, candidates are ordered by (for slower/faster) tier nearness, then
 *   most room, then lower distance from S, then lower id.
 * - Room of a target T (pages it may take, after subtracting the pages
 *   already planned onto it this tick):
 *     sibling, slower: free - (max(low, start line of T) + 1).  Never below
 *       its own low watermark, and never so low that T itself would start
 *       being relieved (that would be ping-pong between siblings).
 *     faster: free - (high + TIER_RELIEF_FASTER_MARGIN_PERMILLE of T's
 *       managed pages).  "Well above its high watermark": kswapd reclaims a
 *       fast node up to high and demotes what it reclaims, so a page moved
 *       up into a node near high would be demoted straight back.
 *   A candidate needs room > 0; it must be online with memory, not S, not in
 *   the caller's avoid mask (e.g. outside the victim's cpuset after EACCES),
 *   not backing off after -ENOMEM (TIER_RELIEF_ENOMEM_BACKOFF_USEC), and
 *   the move must not reverse a recent flow (below).
 * - No cycles: every move from A to B is noted as a flow A->B that lasts
 *   [relief] cooldown.  While it lasts, relief never moves pages from B to A,
 *   so a page relief moved is not moved back by relief within the cool-down
 *   (it may still go on to a third node).
 * - Victims: processes with pages on S, most pages first (ties: lower pid).
 *   Skipped: kernel threads (no mm), tierd itself, processes in a cgroup
 *   matching a [relief] exclude glob, processes in fenced cgroups.
 * - Rate: a token bucket of rate bytes/s holding at most burst bytes (the
 *   daemon uses the per-tick budget as burst); a tick may move
 *   min(tokens, tick budget).  The bucket starts full.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <tier/config.h>
#include <tier/nodemask.h>
#include <tier/procmaps.h>
#include <tier/snapshot.h>

/* Node ids >= this are never relieved nor used as targets. */
#define TIER_RELIEF_MAX_NODES TIER_MAX_NODES
/* Flows remembered for the no-cycle rule; when full, the one that expires
 * first is replaced. */
#define TIER_RELIEF_MAX_FLOWS 64
/* A target that answered -ENOMEM is not used for this long. */
#define TIER_RELIEF_ENOMEM_BACKOFF_USEC (30ull * 1000000ull)
/* "Well above high" for a faster target: high + 2% of its managed pages. */
#define TIER_RELIEF_FASTER_MARGIN_PERMILLE 20u

struct tier_relief_flow {
	int from, to;
	uint64_t until_usec;
};

struct tier_relief_state {
	bool active[TIER_RELIEF_MAX_NODES];
	uint64_t enomem_until_usec[TIER_RELIEF_MAX_NODES];
	struct tier_relief_flow flows[TIER_RELIEF_MAX_FLOWS];
	unsigned nr_flows;
};

void tier_relief_state_init(struct tier_relief_state *st);

/* "sibling", "slower", "faster". */
const char *tier_relief_target_name(enum tier_relief_target t);

/* Start / stop lines of a node, as defined above (stop > start). */
void tier_relief_lines(const struct tier_config *c, const struct tier_node *n, uint64_t page_size,
		       uint64_t *start_pages, uint64_t *stop_pages);

/* True if n is a lower-tier node of s (see above). */
bool tier_relief_is_lower_node(const struct tier_snapshot *s, const struct tier_node *n);

/*
 * Update st->active for every node of s with hysteresis, and return the node
 * to relieve this tick, or -1.  Nodes absent from s, no longer lower-tier,
 * or with enabled = no become inactive.  *started / *stopped (may be NULL)
 * receive the nodes that changed state this call (masks cleared first).
 */
int tier_relief_update(const struct tier_snapshot *s, const struct tier_config *c, struct tier_relief_state *st,
		       struct bitmask *started, struct bitmask *stopped);

struct tier_relief_choice {
	int node;                       /* -1: none */
	enum tier_relief_target kind;
	uint64_t room_pages;            /* room left on node (after planned) */
};

/*
 * Choose where pages of src go.  avoid (may be NULL): nodes not to use.
 * planned_pages (may be NULL): per node id, pages already planned onto it
 * this tick, indexed < nr_planned.  Returns 0 with *out set, or -ENOSPC when
 * no candidate has room (out->node = -1).  Pure.
 *
 * Private nodes (issue 13 item 2): a node in private_nodes (may be NULL:
 * none; tier_fence_private_nodes()) is never a target, unless it is also in
 * granted (may be NULL: nothing granted), the private nodes granted to the
 * victim (tier_fence_granted() over its cgroups).  Relief must not fill
 * capacity reserved for other workloads: tasks of the root cgroup, cgroups
 * not fenced yet and cgroups whose fencing failed are not kept off a
 * private node by their cpuset, so the victim's mems_allowed is not enough.
 */
int tier_relief_choose_target(const struct tier_snapshot *s, const struct tier_config *c,
			      const struct tier_relief_state *st, int src, const struct bitmask *avoid,
			      const struct bitmask *private_nodes, const struct bitmask *granted,
			      const uint64_t *planned_pages, unsigned nr_planned, uint64_t now_usec,
			      struct tier_relief_choice *out);

/* Room of one node as a target of src of the given kind (see above),
 * without the planned/avoid/backoff/flow checks; 0 when none. */
uint64_t tier_relief_room(const struct tier_snapshot *s, const struct tier_config *c, const struct tier_node *t,
			  enum tier_relief_target kind);

/* Note pages moved from -> to at now (starts or extends the flow). */
void tier_relief_note_moved(struct tier_relief_state *st, int from, int to, uint64_t now_usec,
			    uint64_t cooldown_usec);
/* True while a move from -> to would reverse a flow to -> from. */
bool tier_relief_flow_blocked(const struct tier_relief_state *st, int from, int to, uint64_t now_usec);
/* The target answered -ENOMEM at now. */
void tier_relief_note_enomem(struct tier_relief_state *st, int node, uint64_t now_usec);

/* ---- victims ---- */

struct tier_relief_victim {
	pid_t pid;
	uint64_t pages;           /* base pages on the pressured node */
	char comm[16];
};

/* Most pages first, ties by lower pid. */
void tier_relief_sort_victims(struct tier_relief_victim *v, size_t n);

enum tier_relief_skip {
	TIER_RELIEF_SKIP_NONE,
	TIER_RELIEF_SKIP_KTHREAD,     /* kernel thread or zombie: no mm */
	TIER_RELIEF_SKIP_SELF,        /* tierd itself */
	TIER_RELIEF_SKIP_EXCLUDED,    /* [relief] exclude glob */
	TIER_RELIEF_SKIP_FENCED,      /* a fenced (private) cgroup */
};
const char *tier_relief_skip_name(enum tier_relief_skip s);

/*
 * True if one of the task's cgroup paths (every line of /proc/PID/cgroup:
 * hierarchies of a hybrid host place a task at different paths), or one of
 * their ancestors, matches one of the NULL-terminated globs with
 * fnmatch(FNM_PATHNAME): a cgroup excludes its whole subtree, and the glob
 * "/batch/" followed by "*" excludes /batch/a and /batch/a/b.  *matched (may be NULL) gets the glob.
 */
bool tier_relief_cgroup_excluded(const struct tier_proc_cgroups *cg, char *const *globs, const char **matched);

/*
 * Why a process is not a victim, or NONE.  st and cg from its /proc files;
 * cg may be NULL (unreadable: only the exclude rule is then not applied);
 * fenced is the fencing module's verdict.
 */
enum tier_relief_skip tier_relief_victim_skip(pid_t pid, pid_t self, const struct tier_proc_status *st,
					      const struct tier_proc_cgroups *cg, char *const *exclude_globs,
					      bool fenced);

/* ---- rate ---- */

struct tier_token_bucket {
	uint64_t rate_bytes_per_sec;
	uint64_t burst_bytes;
	uint64_t tokens_bytes;
	uint64_t last_usec;
	uint64_t rem;             /* fraction of a byte carried over, in 1e-6 bytes */
	bool started;
};

/* Configure (keeps the tokens, capped to the new burst). */
void tier_bucket_init(struct tier_token_bucket *b, uint64_t rate_bytes_per_sec, uint64_t burst_bytes);
/* Add rate * elapsed since the last refill; the first refill fills it. */
void tier_bucket_refill(struct tier_token_bucket *b, uint64_t now_usec);
/* What a tick may move: min(tokens, tick_budget_bytes). */
uint64_t tier_bucket_allowance(const struct tier_token_bucket *b, uint64_t tick_budget_bytes);
/* Spend (saturates at 0). */
void tier_bucket_take(struct tier_token_bucket *b, uint64_t bytes);
/* Microseconds until want_bytes (capped to burst) are available; 0 if now. */
uint64_t tier_bucket_wait_usec(const struct tier_token_bucket *b, uint64_t want_bytes);

/* Bytes per second over the last TIER_RATE_WINDOW_SEC seconds. */
#define TIER_RATE_WINDOW_SEC 60
struct tier_rate_window {
	uint64_t sec[TIER_RATE_WINDOW_SEC];
	uint64_t bytes[TIER_RATE_WINDOW_SEC];
};
void tier_rate_window_add(struct tier_rate_window *w, uint64_t now_usec, uint64_t bytes);
/* Bytes added within the last TIER_RATE_WINDOW_SEC seconds (the current
 * second included). */
uint64_t tier_rate_window_sum(const struct tier_rate_window *w, uint64_t now_usec);

/* ---- page order (issue 16) ----
 *
 * Which pages relief moves first.  Every page (a THP or any large folio: one
 * unit) gets a heat from what the kernel says about it:
 *
 *   written   soft-dirty set in pagemap although relief cleared the
 *             victim's soft-dirty bits (/proc/PID/clear_refs "4") at least
 *             TIER_RELIEF_ACCESS_WINDOW_USEC ago: written since then.  Only
 *             writes count (reads leave no trace there).  This is the
 *             signal that works without PFNs and on kernels whose LRU flags
 *             say nothing about anonymous pages: with MGLRU (6.1+, on by
 *             default in Debian's 6.12) PG_active is cleared on every page,
 *             and without swap or a demotion target anonymous LRUs are
 *             never aged, so ACTIVE/REFERENCED stay as they were at fault.
 *   kpf       /proc/kpageflags (needs the PFN): ACTIVE (on the active LRU:
 *             accessed twice while on the inactive one), REFERENCED
 *             (accessed once), IDLE (idle page tracking marked it and nothing
 *             touched it since).
 *
 *   HOT   written, or ACTIVE
 *   WARM  REFERENCED (not written, not ACTIVE, not IDLE)
 *   COLD  everything else, including every page when no signal is
 *         available (the order is then the address order)
 *
 * Moving to a slower tier or a sibling takes COLD, then WARM, then HOT;
 * moving to a faster tier HOT, then WARM, then COLD (the kernel's own
 * demotion takes inactive pages first; promotion wants the hot ones).
 *
 * Never moved, counted as skipped: MLOCKED and UNEVICTABLE pages (mlock,
 * SHM_LOCK, ramfs) and every page of a VM_LOCKED VMA (smaps "lo": the kernel
 * marks a large folio MLOCKED only when the whole folio is locked).  Not a
 * movable page at all: NOPAGE, ZERO_PAGE, HWPOISON, OFFLINE, SLAB, BUDDY
 * (freed meanwhile).
 */
enum tier_page_heat { TIER_HEAT_COLD, TIER_HEAT_WARM, TIER_HEAT_HOT, TIER_HEAT_NR };
const char *tier_page_heat_name(enum tier_page_heat h);

/* How long after clearing soft-dirty bits they say "hot" (writes within it). */
#define TIER_RELIEF_ACCESS_WINDOW_USEC (1000000ull)
/* clear_refs walks every page table of the process in one write(2) and
 * write-protects its PTEs (each page's next write then takes a minor
 * fault): not done for processes with more resident memory than this (their
 * order falls back to kpageflags, or the address order). */
#define TIER_RELIEF_MARK_MAX_RSS_BYTES (8ull << 30)

struct tier_page_signals {
	bool have_kpf;            /* kpf holds the page's kpageflags */
	uint64_t kpf;
	bool have_written;        /* soft-dirty means "written since the mark" */
	bool written;
};
enum tier_page_heat tier_relief_page_heat(const struct tier_page_signals *s);

enum tier_page_skip {
	TIER_PAGE_SKIP_NONE,
	TIER_PAGE_SKIP_MLOCKED,       /* MLOCKED, or in a VM_LOCKED VMA */
	TIER_PAGE_SKIP_UNEVICTABLE,   /* UNEVICTABLE, not mlocked */
	TIER_PAGE_SKIP_UNMOVABLE,     /* not a movable user page (see above) */
};
/* From the kpageflags of a page (the VMA test is the caller's). */
enum tier_page_skip tier_relief_page_skip(uint64_t kpf);

/* The heats in the order pages go to a target of this kind. */
void tier_relief_heat_order(enum tier_relief_target kind, enum tier_page_heat order[TIER_HEAT_NR]);

/*
 * Without PAGEMAP_SCAN the locator reads pagemap entries for every page of a
 * VMA's span, holes included.  A VMA is walked that way only if its span is
 * at most max(TIER_RELIEF_SPARSE_MIN_SPAN_BYTES, TIER_RELIEF_SPARSE_RSS_FACTOR
 * x the process's VmRSS): a 16 TiB MAP_NORESERVE reservation of a process
 * with a few MiB resident is skipped (and counted in status), a 1 TiB JVM
 * heap with 100 GiB resident is walked (~2.7 s of reads in slices on the
 * 6.18 host).  With PAGEMAP_SCAN every VMA is walked: holes cost nothing.
 */
#define TIER_RELIEF_SPARSE_MIN_SPAN_BYTES (64ull << 30)
#define TIER_RELIEF_SPARSE_RSS_FACTOR 16u
bool tier_relief_span_walkable(uint64_t vma_bytes, uint64_t rss_bytes);

/*
 * Victim scans start from cheap signals (no page-table walk): VmRSS from
 * /proc/PID/status, and the share of the process's memory cgroup on src from
 * its memory.numa_stat.  Estimated pages on src: rss_pages * on_node /
 * total when the cgroup's figures are known (total > 0), else rss_pages.
 */
uint64_t tier_relief_victim_estimate(uint64_t rss_pages, uint64_t cg_on_node_bytes, uint64_t cg_total_bytes);

/* Keep the cap victims with the most pages (ties: lower pid) in v[0..*n):
 * offer one candidate.  Pure, O(cap) per call. */
void tier_relief_victims_offer(struct tier_relief_victim *v, size_t *n, size_t cap,
			       const struct tier_relief_victim *cand);
