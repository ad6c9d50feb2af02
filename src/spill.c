/* spill.c — temporary files that let dedup and reuse keep per-document data
 * on disk instead of in memory: created unlinked (nothing is left behind,
 * whatever happens to the process) and read and written at offsets, so
 * worker threads can share one descriptor; and the memory the process may
 * use, which decides how much stays in memory (rp_memory_limit). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "internal.h"

int rp_spill_open(const char *dir, const char *what, rp_error *err)
{
	if (!dir) dir = getenv("TMPDIR");
	if (!dir || !*dir) dir = "/tmp";
	char path[4096];
	if (snprintf(path, sizeof path, "%s/reprint-%s-XXXXXX", dir, what) >= (int)sizeof path) {
		rp_set_error(err, RP_EUSAGE, "temporary directory name too long");
		return -1;
	}
	int fd = mkstemp(path);
	if (fd < 0) {
		rp_set_error(err, RP_EIO, "cannot create a temporary file in %s: %s", dir, strerror(errno));
		return -1;
	}
	unlink(path);
	return fd;
}

int rp_pwrite_all(int fd, const void *buf, size_t len, uint64_t at)
{
	const char *p = buf;
	while (len) {
		ssize_t w = pwrite(fd, p, len, (off_t)at);
		if (w < 0 && errno == EINTR) continue;
		if (w <= 0) {
			if (w == 0) errno = ENOSPC;
			return -1;
		}
		p += w, len -= (size_t)w, at += (uint64_t)w;
	}
	return 0;
}

int rp_pread_all(int fd, void *buf, size_t len, uint64_t at)
{
	char *p = buf;
	while (len) {
		ssize_t r = pread(fd, p, len, (off_t)at);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) {
			if (r == 0) errno = 0; /* the file ends early: callers say "truncated" */
			return -1;
		}
		p += r, len -= (size_t)r, at += (uint64_t)r;
	}
	return 0;
}

/* ---- the memory this process may use ---------------------------------- */

/* The number at the start of file path (UINT64_MAX: absent, unreadable,
 * or "max", cgroup v2's no limit). */
static uint64_t read_limit(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f) return UINT64_MAX;
	char buf[64];
	uint64_t v = UINT64_MAX;
	if (fgets(buf, sizeof buf, f) && buf[0] >= '0' && buf[0] <= '9') {
		char *end;
		errno = 0;
		unsigned long long x = strtoull(buf, &end, 10);
		if (!errno) v = (uint64_t)x;
	}
	fclose(f);
	return v;
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
		if (!strncmp(p, word, n) && (p[n] == ',' || p[n] == 0 || p[n] == '\n')) return 1;
	}
	return 0;
}

/* The lowest limit in file name of the cgroup directory mount + rel and of
 * its ancestors up to mount (limits are hierarchical: a parent's binds its
 * children). */
static uint64_t walk_limits(const char *mount, const char *rel, const char *name)
{
	char path[4096];
	uint64_t best = UINT64_MAX;
	if (snprintf(path, sizeof path, "%s%s", mount, rel) >= (int)sizeof path) return best;
	size_t base = strlen(mount);
	for (;;) {
		size_t len = strlen(path);
		while (len > base && path[len - 1] == '/') path[--len] = 0;
		char file[4096 + 64];
		snprintf(file, sizeof file, "%s/%s", path, name);
		uint64_t v = read_limit(file);
		if (v < best) best = v;
		char *slash = strrchr(path + base, '/');
		if (len <= base || !slash) break;
		*slash = 0;
	}
	return best;
}

uint64_t rp_cgroup_memory_limit(const char *root)
{
	char path[4096], v2[4096] = "", v1[4096] = "";
	int has_v2 = 0, has_v1 = 0;
	if (!root) root = "";
	/* This process's cgroups: "0::PATH" (v2), "N:...,memory,...:PATH" (v1). */
	snprintf(path, sizeof path, "%s/proc/self/cgroup", root);
	FILE *f = fopen(path, "re");
	if (!f) return UINT64_MAX;
	char line[8192];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2) continue;
		*c2 = 0;
		if (!strcmp(line, "0:") && c2 == c1 + 1) {
			snprintf(v2, sizeof v2, "%s", c2 + 1), has_v2 = 1;
		} else if (in_list(c1 + 1, "memory")) {
			snprintf(v1, sizeof v1, "%s", c2 + 1), has_v1 = 1;
		}
	}
	fclose(f);
	if (!has_v1 && !has_v2) return UINT64_MAX;
	/* Where those hierarchies are mounted, and which cgroup each mount's
	 * root is (in a cgroup namespace or a bind mount, not "/"). */
	snprintf(path, sizeof path, "%s/proc/self/mountinfo", root);
	if (!(f = fopen(path, "re"))) return UINT64_MAX;
	uint64_t best = UINT64_MAX;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		char *field[5], *save = NULL, *sep = strstr(line, " - ");
		if (!sep) continue;
		*sep = 0;
		char *fstype = strtok_r(sep + 3, " ", &save), *source = strtok_r(NULL, " ", &save);
		char *opts = strtok_r(NULL, " ", &save);
		(void)source;
		if (!fstype) continue;
		int is_v2 = !strcmp(fstype, "cgroup2") && has_v2;
		int is_v1 = !strcmp(fstype, "cgroup") && has_v1 && opts && in_list(opts, "memory");
		if (!is_v2 && !is_v1) continue;
		save = NULL;
		int k = 0;
		for (char *t = strtok_r(line, " ", &save); t && k < 5; t = strtok_r(NULL, " ", &save)) field[k++] = t;
		if (k < 5) continue;
		char *mroot = field[3], *mpoint = field[4];
		unescape(mroot);
		unescape(mpoint);
		const char *cg = is_v2 ? v2 : v1;
		/* The cgroup's path under the mount: cg without the mount's root. */
		size_t rl = strlen(mroot);
		const char *rel = "";
		if (!strcmp(mroot, "/")) rel = cg;
		else if (!strncmp(cg, mroot, rl) && (cg[rl] == '/' || cg[rl] == 0)) rel = cg + rl;
		char mount[4096];
		if (snprintf(mount, sizeof mount, "%s%s", root, mpoint) >= (int)sizeof mount) continue;
		uint64_t v = walk_limits(mount, rel, is_v2 ? "memory.max" : "memory.limit_in_bytes");
		if (v < best) best = v;
	}
	fclose(f);
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
