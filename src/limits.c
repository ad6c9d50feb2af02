/* limits.c — what this process may use: memory (the least of the physical
 * memory, the address-space limit and its memory cgroup's limit) and CPUs
 * (the CPUs it may run on, and its cgroup's CPU quota).  In a container the
 * machine's figures overstate both: rp_reuse and rp_index_add budget memory
 * by rp_memory_limit, and rp_pool_new starts rp_cpu_limit threads by
 * default.
 *
 * A cgroup is found as the kernel describes it: /proc/self/cgroup names the
 * process's cgroup in each hierarchy ("0::PATH" for v2, "N:ctl,ctl:PATH" for
 * v1), /proc/self/mountinfo where each hierarchy is mounted and which cgroup
 * the mount's root is (not "/" in a cgroup namespace or a bind mount).
 * Limits are hierarchical, so the cgroup's own and every ancestor's up to
 * the mount count; the lowest wins.  Every file is optional: what cannot be
 * read is no limit. */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "internal.h"

/* The first line of dir/name into buf; 0 if there is none. */
static int read_line(const char *dir, const char *name, char *buf, size_t cap)
{
	char path[4096 + 64];
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) return 0;
	FILE *f = fopen(path, "re");
	if (!f) return 0;
	int ok = fgets(buf, (int)cap, f) != NULL;
	fclose(f);
	return ok;
}

/* A decimal number at *s (advancing it); 0 if there is none. */
static int read_u64(const char **s, uint64_t *v)
{
	if (**s < '0' || **s > '9') return 0;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(*s, &end, 10);
	if (errno) return 0;
	*v = (uint64_t)x;
	*s = end;
	return 1;
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = 0;
}

/* Does the comma-separated list hold word? */
static int in_list(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; p; p = strchr(p, ',')) {
		if (*p == ',') p++;
		if (!strncmp(p, word, n) && (p[n] == ',' || p[n] == 0)) return 1;
	}
	return 0;
}

/* A limit read from one cgroup directory: v2 is 1 for a v2 hierarchy. */
typedef void (*limit_fn)(const char *dir, int v2, void *ctx);

/* Call fn on the directory of this process's cgroup in every hierarchy that
 * may hold controller (v2, and v1 mounted with it), then on each ancestor
 * up to the hierarchy's mount.  root prefixes every path read (NULL: "/";
 * tests pass a made-up tree). */
static void each_cgroup_dir(const char *root, const char *controller, limit_fn fn, void *ctx)
{
	char path[4096], v2[4096] = "", v1[4096] = "", line[8192];
	int has_v2 = 0, has_v1 = 0;
	if (!root) root = "";
	snprintf(path, sizeof path, "%s/proc/self/cgroup", root);
	FILE *f = fopen(path, "re");
	if (!f) return;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2) continue;
		*c2 = 0;
		if (!strcmp(line, "0:") && c2 == c1 + 1) snprintf(v2, sizeof v2, "%s", c2 + 1), has_v2 = 1;
		else if (in_list(c1 + 1, controller)) snprintf(v1, sizeof v1, "%s", c2 + 1), has_v1 = 1;
	}
	fclose(f);
	if (!has_v1 && !has_v2) return;
	snprintf(path, sizeof path, "%s/proc/self/mountinfo", root);
	if (!(f = fopen(path, "re"))) return;
	while (fgets(line, sizeof line, f)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS */
		line[strcspn(line, "\n")] = 0;
		char *sep = strstr(line, " - "), *save = NULL, *field[5];
		if (!sep) continue;
		*sep = 0;
		char *fstype = strtok_r(sep + 3, " ", &save);
		char *source = fstype ? strtok_r(NULL, " ", &save) : NULL;
		char *opts = source ? strtok_r(NULL, " ", &save) : NULL;
		if (!fstype) continue;
		int is_v2 = has_v2 && !strcmp(fstype, "cgroup2");
		int is_v1 = has_v1 && !strcmp(fstype, "cgroup") && opts && in_list(opts, controller);
		if (!is_v2 && !is_v1) continue;
		int k = 0;
		save = NULL;
		for (char *t = strtok_r(line, " ", &save); t && k < 5; t = strtok_r(NULL, " ", &save)) field[k++] = t;
		if (k < 5) continue;
		char *mroot = field[3], *mpoint = field[4];
		unescape(mroot);
		unescape(mpoint);
		/* The cgroup's path under the mount: its path without the mount's root. */
		const char *cg = is_v2 ? v2 : v1, *rel = "";
		size_t rl = strlen(mroot);
		if (!strcmp(mroot, "/")) rel = cg;
		else if (!strncmp(cg, mroot, rl) && (cg[rl] == '/' || cg[rl] == 0)) rel = cg + rl;
		char dir[4096];
		if (snprintf(dir, sizeof dir, "%s%s%s", root, mpoint, rel) >= (int)sizeof dir) continue;
		size_t base = strlen(root) + strlen(mpoint);
		for (;;) {
			size_t len = strlen(dir);
			while (len > base && dir[len - 1] == '/') dir[--len] = 0;
			fn(dir, is_v2, ctx);
			char *slash = strrchr(dir + base, '/');
			if (len <= base || !slash) break;
			*slash = 0;
		}
	}
	fclose(f);
}

/* ---- memory ---- */

static void memory_limit(const char *dir, int v2, void *ctx)
{
	uint64_t *best = ctx, v;
	char buf[64];
	const char *s = buf;
	/* v2 memory.max: bytes or "max"; v1: bytes (about 2^63 for none). */
	if (read_line(dir, v2 ? "memory.max" : "memory.limit_in_bytes", buf, sizeof buf) && read_u64(&s, &v) &&
	    v < *best)
		*best = v;
}

uint64_t rp_cgroup_memory_limit(const char *root)
{
	uint64_t best = UINT64_MAX;
	each_cgroup_dir(root, "memory", memory_limit, &best);
	return best;
}

uint64_t rp_memory_limit(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	uint64_t m = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : UINT64_MAX;
	struct rlimit as;
	if (!getrlimit(RLIMIT_AS, &as) && as.rlim_cur != RLIM_INFINITY && (uint64_t)as.rlim_cur < m)
		m = (uint64_t)as.rlim_cur;
	uint64_t cg = rp_cgroup_memory_limit(NULL);
	return cg < m ? cg : m;
}

/* ---- CPUs ---- */

static void cpu_limit(const char *dir, int v2, void *ctx)
{
	double *best = ctx;
	char buf[128];
	uint64_t quota, period;
	if (v2) {
		/* cpu.max: "QUOTA PERIOD" or "max PERIOD" (microseconds) */
		const char *s = buf;
		if (!read_line(dir, "cpu.max", buf, sizeof buf) || !read_u64(&s, &quota) || *s++ != ' ' ||
		    !read_u64(&s, &period))
			return;
	} else {
		/* cpu.cfs_quota_us (-1: none) and cpu.cfs_period_us */
		const char *s = buf;
		if (!read_line(dir, "cpu.cfs_quota_us", buf, sizeof buf) || !read_u64(&s, &quota)) return;
		s = buf;
		if (!read_line(dir, "cpu.cfs_period_us", buf, sizeof buf) || !read_u64(&s, &period)) return;
	}
	if (quota && period && (double)quota / (double)period < *best) *best = (double)quota / (double)period;
}

double rp_cgroup_cpu_limit(const char *root)
{
	double best = INFINITY;
	each_cgroup_dir(root, "cpu", cpu_limit, &best);
	return best;
}

long rp_cpu_limit(void)
{
	long n = 0;
#ifdef CPU_COUNT
	cpu_set_t set;
	if (!sched_getaffinity(0, sizeof set, &set)) n = CPU_COUNT(&set);
#endif
	if (n <= 0) n = sysconf(_SC_NPROCESSORS_ONLN);
	double q = rp_cgroup_cpu_limit(NULL);
	/* A quota of 1.5 CPUs keeps two threads busy part of the time each. */
	if (q < (double)n) n = q < 1 ? 1 : (long)ceil(q);
	return n > 0 ? n : 1;
}
