/* SPDX-License-Identifier: MIT */
/*
 * topocheck - compare `tierctl topology --json` with what the running kernel says.
 *
 *   topocheck [options] TOPOLOGY.json
 *     --dmesg FILE            kernel log text; the last "Demotion targets for Node N: ..."
 *                             line per node is the reference for demotion targets
 *     --expect-demotion SPEC  reference where the kernel does not print that line (6.1
 *                             prints nothing): "N:PREFERRED:FALLBACK ..." e.g.
 *                             "0:1:1-2 1:2:2 2::".  Where the kernel does print it, the
 *                             line must also agree with SPEC (the VM shape is wrong otherwise)
 *     --expect-tiers SPEC     the shape's tiers fast to slow, "0|1-2": the sysfs tiers must
 *                             look like this (checks the VM shape itself, not tierctl)
 *     --zoneinfo-before FILE  /proc/zoneinfo saved just before tierctl ran; free_pages must
 *                             lie between that and the current reading (+/- slack)
 *
 * Reference data: /sys/devices/virtual/memory_tiering/memory_tierN/nodelist,
 * /sys/devices/system/node/has_memory, /sys/kernel/mm/numa/demotion_enabled, /proc/zoneinfo.
 * Contract checked (tests/vm/README.md): demotion_enabled equals sysfs; "tiers" lists every
 * memory_tierN, ascending id, with its exact node set; "nodes" has every memory node with
 * its tier, demotion_targets == the kernel's preferred set, demotion_fallback == the
 * kernel's fallback set, min_pages == sum of the zone min watermarks, free_pages within
 * the free pages seen around the tierctl run.  Extra (memory-less) nodes must have tier null.
 * Exit 0 all checks passed, 1 a check failed, 2 usage or unreadable input.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <json-c/json.h>
#include "vmutil.h"

#define FREE_SLACK_PAGES 2048 /* 8 MiB: page cache and slab move while tierctl runs */

static int failures, checks;

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	checks++;
	if (!ok)
		failures++;
	printf("topocheck: %s: ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

struct tier_ref {
	int id;
	uint64_t nodes;
};

struct demo_ref {
	bool known;
	uint64_t preferred, fallback;
};

static int cmp_tier(const void *a, const void *b)
{
	const struct tier_ref *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/* The kernel's memory tiers, sorted by id (numerically: a glob sorts "270" before "4"). */
static int read_tiers(struct tier_ref *t, int max)
{
	const char *dir = "/sys/devices/virtual/memory_tiering";
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) && n < max) {
		char path[512], buf[256];
		int id;

		if (sscanf(e->d_name, "memory_tier%d", &id) != 1)
			continue;
		snprintf(path, sizeof(path), "%s/%s/nodelist", dir, e->d_name);
		if (vm_read_file(path, buf, sizeof(buf)) < 0 || !vm_parse_nodelist(buf, &t[n].nodes)) {
			fprintf(stderr, "topocheck: cannot read %s\n", path);
			closedir(d);
			return -1;
		}
		t[n++].id = id;
	}
	closedir(d);
	qsort(t, (size_t)n, sizeof(*t), cmp_tier);
	return n;
}

/*
 * "Demotion targets for Node 0: preferred: 1, fallback: 1-2" or "...Node 1: null"
 * (mm/memory-tiers.c dump_demotion_targets(), 6.3+; printed again after every
 * hotplug that changes the tiers, so the last line per node wins).
 */
static void read_dmesg(const char *path, struct demo_ref *ref)
{
	static char text[1 << 20];
	const char *p = text;

	if (!path)
		return;
	if (vm_read_file(path, text, sizeof(text)) < 0) {
		fprintf(stderr, "topocheck: cannot read %s: %s\n", path, strerror(errno));
		exit(2);
	}
	while ((p = strstr(p, "Demotion targets for Node "))) {
		char *end, *pref, *fb, line[256];
		long node;

		p += strlen("Demotion targets for Node ");
		snprintf(line, sizeof(line), "%.*s", (int)strcspn(p, "\n"), p);
		node = strtol(line, &end, 10);
		if (end == line || strncmp(end, ": ", 2) != 0 || node < 0 || node >= VM_MAX_NODES)
			continue;
		end += 2;
		/* Node lists contain commas themselves ("0,2"): split at ", fallback: ". */
		pref = strstr(end, "preferred: ");
		fb = strstr(end, ", fallback: ");
		if (strcmp(end, "null") == 0) {
			ref[node].known = true;
			ref[node].preferred = ref[node].fallback = 0;
		} else if (pref && fb && fb > pref) {
			*fb = '\0';
			ref[node].known = vm_parse_nodelist(pref + strlen("preferred: "), &ref[node].preferred) &&
					  vm_parse_nodelist(fb + strlen(", fallback: "), &ref[node].fallback);
		}
		if (!ref[node].known)
			fprintf(stderr, "topocheck: cannot parse kernel line '%s'\n", line);
	}
}

/* "0:1:1-2 1:2:2 2::" */
static bool parse_expect_demotion(const char *spec, struct demo_ref *ref)
{
	char *copy = strdup(spec), *save = NULL;
	bool ok = true;

	for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *c1 = strchr(tok, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		int node;

		if (!c2) {
			ok = false;
			break;
		}
		*c1 = *c2 = '\0';
		node = atoi(tok);
		if (node < 0 || node >= VM_MAX_NODES || !vm_parse_nodelist(c1 + 1, &ref[node].preferred) ||
		    !vm_parse_nodelist(c2 + 1, &ref[node].fallback)) {
			ok = false;
			break;
		}
		ref[node].known = true;
	}
	free(copy);
	return ok;
}

/* JSON array of ints (null counts as empty) -> set; false on a wrong type. */
static bool json_nodeset(json_object *a, uint64_t *set)
{
	*set = 0;
	if (!a || json_object_is_type(a, json_type_null))
		return true;
	if (!json_object_is_type(a, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *v = json_object_array_get_idx(a, i);
		int64_t n;

		if (!json_object_is_type(v, json_type_int))
			return false;
		n = json_object_get_int64(v);
		if (n < 0 || n >= VM_MAX_NODES || (*set >> n & 1))
			return false; /* out of range or listed twice */
		*set |= 1ULL << n;
	}
	return true;
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static bool get_int(json_object *o, const char *key, int64_t *out)
{
	json_object *v = get(o, key);

	if (!v || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

static int read_zones(const char *path, struct vm_zone *z)
{
	static char text[1 << 18];

	if (vm_read_file(path, text, sizeof(text)) < 0)
		return -1;
	return vm_parse_zoneinfo(text, z, VM_MAX_ZONES);
}

static void node_sums(const struct vm_zone *z, int nz, int node, long *free_pages, long *min_pages)
{
	*free_pages = *min_pages = 0;
	for (int i = 0; i < nz; i++) {
		if (z[i].node != node || z[i].present_pages == 0)
			continue;
		*free_pages += z[i].free_pages;
		*min_pages += z[i].min_pages;
	}
}

static void check_tiers(json_object *root, const struct tier_ref *kt, int nkt, const char *expect)
{
	json_object *tiers = get(root, "tiers");
	char a[128], b[128];
	int64_t prev = -1;
	size_t n;

	if (expect) {
		char got[512] = "";
		size_t len = 0;

		for (int i = 0; i < nkt; i++)
			len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%s", i ? "|" : "",
						vm_fmt_nodes(kt[i].nodes, a, sizeof(a)));
		check(strcmp(got, expect) == 0, "VM shape: kernel tiers (fast to slow) are %s, shape expects %s",
		      got, expect);
	}
	if (!tiers || !json_object_is_type(tiers, json_type_array)) {
		check(false, "\"tiers\" is missing or not an array");
		return;
	}
	n = json_object_array_length(tiers);
	check(n == (size_t)nkt, "number of tiers: tierctl %zu, kernel %d", n, nkt);
	for (size_t i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(tiers, i);
		uint64_t set;
		int64_t id;
		int k;

		if (!get_int(t, "id", &id) || !json_nodeset(get(t, "nodes"), &set)) {
			check(false, "tiers[%zu]: needs an integer \"id\" and a \"nodes\" array", i);
			continue;
		}
		check(id > prev, "tiers[%zu]: id %lld comes after %lld (ascending: fast to slow)", i,
		      (long long)id, (long long)prev);
		prev = id;
		for (k = 0; k < nkt && kt[k].id != id; k++)
			;
		if (k == nkt) {
			check(false, "tiers[%zu]: memory_tier%lld does not exist in sysfs", i, (long long)id);
			continue;
		}
		check(set == kt[k].nodes, "tier %lld nodes: tierctl %s, kernel %s", (long long)id,
		      vm_fmt_nodes(set, a, sizeof(a)), vm_fmt_nodes(kt[k].nodes, b, sizeof(b)));
	}
}

static void check_nodes(json_object *root, const struct tier_ref *kt, int nkt, uint64_t has_memory,
			const struct demo_ref *dref, const struct vm_zone *zb, int nzb,
			const struct vm_zone *za, int nza)
{
	json_object *nodes = get(root, "nodes");
	uint64_t seen = 0;
	char a[128], b[128];

	if (!nodes || !json_object_is_type(nodes, json_type_array)) {
		check(false, "\"nodes\" is missing or not an array");
		return;
	}
	for (size_t i = 0; i < json_object_array_length(nodes); i++) {
		json_object *o = json_object_array_get_idx(nodes, i), *tv;
		int64_t id, tier = -1, fp, mp;
		int ktier = -1;
		uint64_t pref, fb;
		long fb_before, fa_after, min_before, min_after;

		if (!get_int(o, "id", &id) || id < 0 || id >= VM_MAX_NODES) {
			check(false, "nodes[%zu]: no valid integer \"id\"", i);
			continue;
		}
		check(!(seen >> id & 1), "node %lld listed once", (long long)id);
		seen |= 1ULL << id;
		for (int k = 0; k < nkt; k++)
			if (kt[k].nodes >> id & 1)
				ktier = kt[k].id;
		tv = get(o, "tier");
		if (tv && json_object_is_type(tv, json_type_int))
			tier = json_object_get_int64(tv);
		else if (tv && !json_object_is_type(tv, json_type_null))
			tier = -2;
		if (!(has_memory >> id & 1)) {
			/* A memory-less node may be listed, but cannot be in a tier. */
			check(tier == -1 && ktier == -1, "node %lld (no memory): tier is null", (long long)id);
			continue;
		}
		check(tier == ktier, "node %lld tier: tierctl %lld, kernel %d", (long long)id, (long long)tier,
		      ktier);

		if (!json_nodeset(get(o, "demotion_targets"), &pref) ||
		    !json_nodeset(get(o, "demotion_fallback"), &fb)) {
			check(false, "node %lld: demotion_targets/demotion_fallback must be arrays of node ids",
			      (long long)id);
		} else if (!dref[id].known) {
			check(false, "node %lld: no kernel reference for demotion targets (no dmesg line, no "
			      "--expect-demotion)", (long long)id);
		} else {
			check(pref == dref[id].preferred, "node %lld demotion_targets: tierctl %s, kernel %s",
			      (long long)id, vm_fmt_nodes(pref, a, sizeof(a)),
			      vm_fmt_nodes(dref[id].preferred, b, sizeof(b)));
			check(fb == dref[id].fallback, "node %lld demotion_fallback: tierctl %s, kernel %s",
			      (long long)id, vm_fmt_nodes(fb, a, sizeof(a)),
			      vm_fmt_nodes(dref[id].fallback, b, sizeof(b)));
		}

		node_sums(zb, nzb, (int)id, &fb_before, &min_before);
		node_sums(za, nza, (int)id, &fa_after, &min_after);
		if (!get_int(o, "min_pages", &mp) || !get_int(o, "free_pages", &fp)) {
			check(false, "node %lld: integer free_pages and min_pages", (long long)id);
			continue;
		}
		/* min is static unless a watermark boost or min_free_kbytes change lands in between. */
		check(mp == min_before || mp == min_after,
		      "node %lld min_pages: tierctl %lld, zoneinfo sum of min %ld (after: %ld)", (long long)id,
		      (long long)mp, min_before, min_after);
		{
			long lo = (fb_before < fa_after ? fb_before : fa_after) - FREE_SLACK_PAGES;
			long hi = (fb_before > fa_after ? fb_before : fa_after) + FREE_SLACK_PAGES;

			check(fp >= lo && fp <= hi, "node %lld free_pages: tierctl %lld, zoneinfo %ld before / %ld after",
			      (long long)id, (long long)fp, fb_before, fa_after);
		}
	}
	check((seen & has_memory) == has_memory, "every memory node listed: tierctl %s, kernel has_memory %s",
	      vm_fmt_nodes(seen & has_memory, a, sizeof(a)), vm_fmt_nodes(has_memory, b, sizeof(b)));
}

int main(int argc, char **argv)
{
	const char *dmesg = NULL, *exp_demo = NULL, *exp_tiers = NULL, *zi_before = NULL, *json = NULL;
	static struct demo_ref dref[VM_MAX_NODES], eref[VM_MAX_NODES];
	static struct vm_zone zb[VM_MAX_ZONES], za[VM_MAX_ZONES];
	struct tier_ref kt[VM_MAX_NODES];
	char buf[256], a[128], b[128];
	uint64_t has_memory;
	int nkt, nzb, nza;
	json_object *root, *de;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--dmesg") == 0)
			dmesg = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--expect-demotion") == 0)
			exp_demo = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--expect-tiers") == 0)
			exp_tiers = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--zoneinfo-before") == 0)
			zi_before = argv[++i];
		else if (argv[i][0] != '-' && !json)
			json = argv[i];
		else {
			fprintf(stderr, "usage: topocheck [--dmesg F] [--expect-demotion SPEC] [--expect-tiers SPEC] "
				"[--zoneinfo-before F] TOPOLOGY.json\n");
			return 2;
		}
	}
	if (!json)
		return fprintf(stderr, "topocheck: no JSON file given\n"), 2;
	root = json_object_from_file(json);
	if (!root || !json_object_is_type(root, json_type_object)) {
		fprintf(stderr, "topocheck: %s is not a JSON object: %s\n", json, json_util_get_last_err());
		return 1;
	}
	nkt = read_tiers(kt, VM_MAX_NODES);
	if (vm_read_file("/sys/devices/system/node/has_memory", buf, sizeof(buf)) < 0 ||
	    !vm_parse_nodelist(buf, &has_memory) || nkt < 0)
		return fprintf(stderr, "topocheck: cannot read the kernel's node/tier state\n"), 2;
	nza = read_zones("/proc/zoneinfo", za);
	nzb = zi_before ? read_zones(zi_before, zb) : -1;
	if (nza < 0)
		return fprintf(stderr, "topocheck: cannot read /proc/zoneinfo\n"), 2;
	if (nzb < 0) {
		memcpy(zb, za, sizeof(zb));
		nzb = nza;
	}

	/* Demotion reference: the kernel's log, else the shape's expectation. */
	read_dmesg(dmesg, dref);
	if (exp_demo && !parse_expect_demotion(exp_demo, eref))
		return fprintf(stderr, "topocheck: bad --expect-demotion '%s'\n", exp_demo), 2;
	for (int n = 0; n < VM_MAX_NODES; n++) {
		if (!(has_memory >> n & 1))
			continue;
		if (dref[n].known && eref[n].known)
			check(dref[n].preferred == eref[n].preferred && dref[n].fallback == eref[n].fallback,
			      "VM shape: kernel log says node %d demotes to %s (fallback %s), shape expects %s",
			      n, vm_fmt_nodes(dref[n].preferred, a, sizeof(a)),
			      vm_fmt_nodes(dref[n].fallback, b, sizeof(b)), exp_demo);
		else if (!dref[n].known && eref[n].known) {
			printf("topocheck: note: kernel printed no demotion targets for node %d; using the shape's\n", n);
			dref[n] = eref[n];
		}
	}

	de = get(root, "demotion_enabled");
	if (vm_read_file("/sys/kernel/mm/numa/demotion_enabled", buf, sizeof(buf)) < 0)
		return fprintf(stderr, "topocheck: no /sys/kernel/mm/numa/demotion_enabled\n"), 2;
	check(de && json_object_is_type(de, json_type_boolean) &&
		      json_object_get_boolean(de) == (strncmp(buf, "true", 4) == 0),
	      "demotion_enabled: tierctl %s, kernel %.*s", de ? json_object_to_json_string(de) : "(missing)",
	      (int)strcspn(buf, "\n"), buf);
	check_tiers(root, kt, nkt, exp_tiers);
	check_nodes(root, kt, nkt, has_memory, dref, zb, nzb, za, nza);
	json_object_put(root);
	printf("topocheck: %d check(s), %d failure(s)\n", checks, failures);
	return failures ? 1 : 0;
}
