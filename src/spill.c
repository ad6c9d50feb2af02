/* spill.c — temporary files that let dedup and reuse keep per-document data
 * on disk instead of in memory: created unlinked (nothing is left behind,
 * whatever happens to the process) and read and written at offsets, so
 * worker threads can share one descriptor. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
