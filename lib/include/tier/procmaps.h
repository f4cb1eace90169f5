/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Per-process views from /proc/PID, for pressure relief: which processes have
 * pages on a node (numa_maps), where their memory is (maps), whether they are
 * a kernel thread and which nodes their cpuset allows (status), and which
 * cgroups they are in (cgroup).
 *
 * Parsers take the text of one file and are pure; readers take a root
 * directory fd ("/" in production, a fixture tree in tests) and read
 * "proc/PID/<file>" relative to it.  Readers return 0 or a negative errno;
 * -ENOENT and -ESRCH both mean the process is gone (procfs answers ESRCH for
 * a task that exits while its file is open), which callers treat as a normal
 * event, not an error.  Nothing here logs.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <numa.h>

/* ---- /proc/PID/numa_maps ------------------------------------------------
 *
 * One line per VMA: "7f1c2a000000 default anon=512 dirty=512 N0=300 N1=212
 * kernelpagesize_kB=4".  N<node>=<count> counts the VMA's pages present on
 * each node, in units of the VMA's kernel page size: a hugetlb VMA
 * ("huge", kernelpagesize_kB=2048) counts huge pages, a THP inside a normal
 * VMA is counted as its base pages (kernelpagesize_kB=4).  The parser
 * converts every count to base pages of page_size bytes, so sums over VMAs
 * are comparable.  VMAs without any N<node>= token (nothing resident) are
 * kept with nr_nodes == 0.  kernelpagesize_kB is absent before Linux 3.9
 * (then the base page size is assumed).
 */
struct tier_numa_maps_node {
	int node;
	uint64_t pages;           /* base pages (page_size) */
};

struct tier_numa_maps_vma {
	uint64_t start;           /* VMA start address */
	uint64_t kpage_bytes;     /* kernelpagesize_kB * 1024 (page_size if absent) */
	bool huge;                /* hugetlb VMA */
	struct tier_numa_maps_node *nodes;
	unsigned nr_nodes;
};

struct tier_numa_maps {
	struct tier_numa_maps_vma *vmas;
	size_t nr_vmas;
};

/*
 * Parse numa_maps text.  page_size: bytes of a base page (0 = 4096).
 * Returns 0, -EINVAL on a malformed line (a line must start with a hex
 * address followed by a policy word; an N<node>= token must be
 * N<decimal>=<decimal>), -ERANGE on a node id >= max_node (TIER_MAX_NODES)
 * or a count overflow, -ENOMEM.  Tokens the parser does not know are
 * ignored (the kernel adds new ones: "bind:0-1", "file=", "mapmax=",
 * "active=", "writeback=", "swapcache=", "stack", "heap").  On error *out is
 * empty.  Free with tier_numa_maps_free().
 */
int tier_numa_maps_parse(const char *text, uint64_t page_size, struct tier_numa_maps *out);
void tier_numa_maps_free(struct tier_numa_maps *m);
/* Sum of base pages on node over every VMA. */
uint64_t tier_numa_maps_node_pages(const struct tier_numa_maps *m, int node);
/* Base pages of one VMA on node (0 when none). */
uint64_t tier_numa_maps_vma_node_pages(const struct tier_numa_maps_vma *v, int node);

/* Only the per-node sums of proc/PID/numa_maps, into pages[0..max_nodes)
 * (zeroed first; counts of nodes >= max_nodes are dropped).  This is the
 * victim scan: it does not keep the VMAs.  On error pages[] is zero. */
int tier_numa_maps_sum(const char *text, uint64_t page_size, uint64_t *pages, unsigned max_nodes);

/*
 * The one numa_maps line parser, behind every function here and the fence
 * audit: line [s, end) (without its '\n') into v, with the same rules and
 * errors as tier_numa_maps_parse.  v->nodes points into lb, valid until the
 * next call with lb; lb starts zeroed, grows to the widest line and is
 * freed with tier_numa_maps_linebuf_free.  Linear in the line's length.
 */
struct tier_numa_maps_linebuf {
	struct tier_numa_maps_node *nodes;
	unsigned cap;
};
int tier_numa_maps_line(const char *s, const char *end, uint64_t page_size, struct tier_numa_maps_vma *v,
			struct tier_numa_maps_linebuf *lb);
void tier_numa_maps_linebuf_free(struct tier_numa_maps_linebuf *lb);

/*
 * numa_maps in chunks, for a reader that reads a big file across several
 * slices of work (keeping the fd open: each read(2) of a seq_file walks only
 * the VMAs of that chunk, under the target's mmap lock for that chunk only).
 * Per-node sums in base pages go to pages[0..max_nodes) (zeroed by init).
 * A line split between chunks is carried over; a line longer than
 * TIER_NUMA_MAPS_LINE_MAX is an error (-E2BIG: no real line is: a path is
 * at most 4 KiB and the N<node>= tokens of 1,024 nodes about 16 KiB).
 * feed returns the number of lines completed by this chunk or a negative
 * errno (sticky: every later call returns it); end parses a last line
 * without '\n'.
 */
#define TIER_NUMA_MAPS_LINE_MAX (64u << 10)
struct tier_numa_maps_stream {
	uint64_t page_size;
	uint64_t *pages;
	unsigned max_nodes;
	uint64_t lines, bytes;    /* totals so far */
	int error;
	/* private */
	char *carry;
	size_t carry_len, carry_cap;
	struct tier_numa_maps_linebuf lb;
};
void tier_numa_maps_stream_init(struct tier_numa_maps_stream *st, uint64_t page_size, uint64_t *pages,
				unsigned max_nodes);
ssize_t tier_numa_maps_stream_feed(struct tier_numa_maps_stream *st, const char *buf, size_t len);
int tier_numa_maps_stream_end(struct tier_numa_maps_stream *st);
void tier_numa_maps_stream_free(struct tier_numa_maps_stream *st);

/* ---- /proc/PID/maps -----------------------------------------------------
 *
 * "00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon".
 * The path may contain spaces, may be empty (anonymous), or be a pseudo
 * name ("[heap]", "[stack]", "[vdso]", "[vvar]", "[vsyscall]",
 * "[anon:name]" for prctl(PR_SET_VMA_ANON_NAME) since 5.17) and may end in
 * " (deleted)".
 */
struct tier_vma {
	uint64_t start, end;      /* [start, end) */
	char perms[5];            /* "rwxp" */
	uint64_t offset;
	unsigned dev_major, dev_minor;
	uint64_t inode;
	char *path;               /* "" for anonymous; malloc'd */
};

struct tier_maps {
	struct tier_vma *vmas;
	size_t nr;
};

/* Parse maps text.  Returns 0, -EINVAL (malformed line: bad range, start >
 * end, perms not 4 characters), -ENOMEM.  Free with tier_maps_free(). */
int tier_maps_parse(const char *text, struct tier_maps *out);
void tier_maps_free(struct tier_maps *m);
/* The VMA that starts exactly at start, or NULL (maps is sorted by address,
 * binary search). */
const struct tier_vma *tier_maps_find(const struct tier_maps *m, uint64_t start);

/*
 * True for VMAs whose pages move_pages(2) can never move, so relief does not
 * even query them: no access at all ("---p": guard pages, PROT_NONE
 * reservations, no pages behind them), and the kernel's special mappings
 * [vdso], [vvar], [vvar_vclock] (6.13+) and [vsyscall] (not normal pages:
 * the status query answers -EFAULT for each).
 */
bool tier_vma_unmovable(const struct tier_vma *v);
/* The same test on a perms string ("rw-p") and a path that need not be
 * NUL-terminated (path_len bytes; NULL or 0: anonymous). */
bool tier_vma_unmovable_path(const char *perms, const char *path, size_t path_len);

/* One maps line (len bytes, no newline needed) without copying the path:
 * v->path is set to NULL and *path / *path_len point into line.  For
 * streaming readers (tier/procstream.h).  Same errors as tier_maps_parse. */
int tier_maps_parse_line(const char *line, size_t len, struct tier_vma *v, const char **path, size_t *path_len);

/* ---- /proc/PID/status ---------------------------------------------------- */
struct tier_proc_status {
	char name[64];            /* Name: (the comm, at most 15 characters + escapes) */
	char state;               /* first letter of State: ('R', 'S', 'Z', ...), 0 if absent */
	pid_t tgid;
	/* A task with a user address space.  Kernel threads have no mm: their
	 * status has no Vm* lines (VmSize/VmRSS); recent kernels also print
	 * "Kthread: 1" (6.18 does).  A zombie has released its mm and also
	 * shows no Vm* lines, but is not a kernel thread. */
	bool has_mm;
	bool kthread;             /* "Kthread: 1", or no mm and not a zombie */
	uint64_t vm_rss_bytes;    /* VmRSS, 0 if absent */
	uint64_t vm_locked_bytes; /* VmLck (mlock'ed), 0 if absent */
	/* Mems_allowed_list: the nodes the task's cpuset allows (move_pages
	 * fails with EACCES for a target outside it).  Empty if absent. */
	struct bitmask *mems_allowed;
};

/* Parse status text into st (st->mems_allowed is allocated here: free with
 * tier_proc_status_free).  Returns 0, -EINVAL (a malformed Tgid:, VmRSS:,
 * VmLck: or Mems_allowed_list: line, or no Name: line); on failure *st is
 * all zero (mems_allowed NULL), nothing half-parsed. */
int tier_proc_status_parse(const char *text, struct tier_proc_status *st);
void tier_proc_status_free(struct tier_proc_status *st);

/* ---- /proc/PID/cgroup ---------------------------------------------------
 *
 * "hierarchy-ID:controller-list:path" per line; cgroup v2 is "0::/path";
 * a v1 hierarchy is "4:cpuset:/path" or "1:name=systemd:/path".  Hybrid
 * hosts have both.
 */
struct tier_proc_cgroup {
	int hierarchy;
	char *controllers;        /* "" for v2 */
	char *path;
};

struct tier_proc_cgroups {
	struct tier_proc_cgroup *v;
	size_t nr;
};

int tier_proc_cgroups_parse(const char *text, struct tier_proc_cgroups *out);
void tier_proc_cgroups_free(struct tier_proc_cgroups *c);
/*
 * The path that names the task's place in the tree, for display: the v2
 * line ("0::") unless it is "/" on a hybrid host, else "name=systemd", else
 * the v1 hierarchy that has "cpuset" or "memory" (in that order), else the
 * first line.  NULL when there are no lines.  Matching config globs uses
 * every line (see tier_relief_cgroup_excluded), since on hybrid hosts the
 * hierarchies place one task at different paths.
 */
const char *tier_proc_cgroups_main(const struct tier_proc_cgroups *c);

/* ---- readers (rootfd-relative "proc/PID/...") ---- */
int tier_proc_read_numa_maps(int rootfd, pid_t pid, uint64_t page_size, struct tier_numa_maps *out);
int tier_proc_read_numa_sums(int rootfd, pid_t pid, uint64_t page_size, uint64_t *pages, unsigned max_nodes);
int tier_proc_read_maps(int rootfd, pid_t pid, struct tier_maps *out);
int tier_proc_read_status(int rootfd, pid_t pid, struct tier_proc_status *out);
int tier_proc_read_cgroups(int rootfd, pid_t pid, struct tier_proc_cgroups *out);

/*
 * The numeric entries of rootfd/proc (processes, not threads), ascending.
 * Returns the number found (>= 0) with *pids malloc'd, or a negative errno.
 */
int tier_proc_list_pids(int rootfd, pid_t **pids);
