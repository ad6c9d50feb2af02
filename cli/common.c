/* common.c — helpers shared by the CLI commands: messages, number parsing,
 * atomic output files, JSON string escaping, clocks. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "internal.h" /* rp_utf8_sequence */

int cli_usage_failed; /* the command's failure is a usage error: exit 2 (main) */

void cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("reprint: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void cli_rp_error(const rp_error *err)
{
	char buf[1200];
	if (err->code == RP_EUSAGE) cli_usage_failed = 1; /* a bad option value found by the library */
	cli_error("%s", rp_error_format(err, buf, sizeof buf));
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("reprint: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	fprintf(stderr, "Try 'reprint %s--help' for more information.\n", cmd ? cmd : "");
	return EXIT_USAGE;
}

int parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		cli_usage(cmd, "%s: expected an integer in %ld..%ld, got '%s'", opt, lo, hi, s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* A size in MB, or with a K, M or G suffix, at most 1 TB; 0 only if
 * allow_zero. */
int parse_size(const char *cmd, const char *opt, const char *s, int allow_zero, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = *end == 'K' || *end == 'k' ? 10 : *end == 'G' || *end == 'g' ? 30 : 20;
	if (*end && strchr("KkMmGg", *end)) end++;
	if (errno || end == s || *end || *s == '-' || (v == 0 && !allow_zero) || v > (1ULL << 40) >> shift) {
		cli_usage(cmd, "%s: expected a size like 256 (MB), 64K or 2G, got '%s'", opt, s);
		return -1;
	}
	*out = (uint64_t)v << shift;
	return 0;
}

/* A 64-bit seed: decimal (leading zeros allowed) or hexadecimal after 0x;
 * no sign. */
int parse_seed(const char *cmd, const char *s, uint64_t *out)
{
	char *end;
	int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	errno = 0;
	unsigned long long v = strtoull(s, &end, hex ? 16 : 10);
	if (errno || end == s || *end || !(hex ? s[2] != 0 && s[2] != '-' && s[2] != '+' : *s >= '0' && *s <= '9')) {
		cli_usage(cmd, "--seed: expected an integer 0 .. 18446744073709551615 or 0x..., got '%s'", s);
		return -1;
	}
	*out = v;
	return 0;
}

int parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
		cli_usage(cmd, "%s: expected a number in %g..%g, got '%s'", opt, lo, hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* The run's inputs (input_args) and the outputs opened so far: an output
 * named twice, or one that is an input, is refused before any work. */
static const char *const *run_inputs;
static size_t run_ninputs;
static char *opened[16];
static size_t nopened;

/* Temporary files being written, removed if a signal ends the run. */
static char *volatile pending_tmp[16];

static void remove_pending(int sig)
{
	for (size_t i = 0; i < sizeof pending_tmp / sizeof *pending_tmp; i++)
		if (pending_tmp[i]) unlink(pending_tmp[i]);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void track_tmp(char *tmp, int on)
{
	static int handlers;
	if (on && !handlers) {
		static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
		for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
			struct sigaction sa, old;
			memset(&sa, 0, sizeof sa);
			sa.sa_handler = remove_pending;
			sigemptyset(&sa.sa_mask);
			/* a signal the caller ignores stays ignored */
			if (!sigaction(sigs[i], NULL, &old) && old.sa_handler == SIG_DFL) sigaction(sigs[i], &sa, NULL);
		}
		handlers = 1;
	}
	for (size_t i = 0; i < sizeof pending_tmp / sizeof *pending_tmp; i++) {
		if (on && !pending_tmp[i]) {
			pending_tmp[i] = tmp;
			return;
		}
		if (!on && pending_tmp[i] == tmp) {
			pending_tmp[i] = NULL;
			return;
		}
	}
}

const char *const *input_args(int argc, char **argv, int first, size_t *n)
{
	static const char *const stdin_only[] = {"-"};
	if (first < argc) {
		*n = (size_t)(argc - first);
		run_inputs = (const char *const *)argv + first;
	} else {
		*n = 1;
		run_inputs = stdin_only;
	}
	run_ninputs = *n;
	return run_inputs;
}

/* The file a path names, for comparing outputs: its real path when it
 * exists, else its directory's real path and its name (malloc'd; NULL if
 * the directory cannot be resolved either). */
static char *canonical(const char *path)
{
	char *r = realpath(path, NULL);
	if (r) return r;
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	char *d = dir ? realpath(dir, NULL) : NULL;
	free(dir);
	if (!d) return NULL;
	const char *base = slash ? slash + 1 : path;
	size_t n = strlen(d) + strlen(base) + 2;
	r = malloc(n);
	if (r) snprintf(r, n, "%s/%s", d, base);
	free(d);
	return r;
}

/* Is the file c (canonical) inside directory dir? */
static int inside(const char *c, const char *dir)
{
	char *d = realpath(dir, NULL);
	if (!d) return 0;
	size_t n = strlen(d);
	int in = !strncmp(c, d, n) && (c[n] == '/' || (n == 1 && d[0] == '/'));
	free(d);
	return in;
}

static const char *protected_dir; /* an index directory (out_protect) */

void out_protect(const char *dir) { protected_dir = dir; }

static int refuse(const char *path, const char *why, const char *what)
{
	cli_error("%s: %s%s; refusing to write it", path, why, what ? what : "");
	cli_usage_failed = 1;
	return -1;
}

/* 0, or -1 after a usage message: path is empty, an input, inside an input
 * directory or the index directory, or an output already. */
static int check_output(const char *path)
{
	if (!*path) return refuse("''", "an empty path", NULL);
	struct stat st, in;
	int reg = stat(path, &st) == 0 && S_ISREG(st.st_mode);
	char *c = canonical(path);
	for (size_t i = 0; i < run_ninputs; i++) {
		int std = !strcmp(run_inputs[i], "-");
		/* standard input redirected from the file itself counts too */
		if (reg && (std ? fstat(STDIN_FILENO, &in) : stat(run_inputs[i], &in)) == 0 && S_ISREG(in.st_mode) &&
		    in.st_dev == st.st_dev && in.st_ino == st.st_ino) {
			free(c);
			return refuse(path, "is also an input", NULL);
		}
		/* the walk of a directory would read it (its temporary name too) */
		if (!std && c && stat(run_inputs[i], &in) == 0 && S_ISDIR(in.st_mode) && inside(c, run_inputs[i])) {
			free(c);
			return refuse(path, "is inside the input directory ", run_inputs[i]);
		}
	}
	if (c && protected_dir && inside(c, protected_dir)) {
		free(c);
		return refuse(path, "is inside the index ", protected_dir);
	}
	if (!c) return 0; /* the open reports a missing directory */
	for (size_t i = 0; i < nopened; i++) {
		if (!strcmp(opened[i], c)) {
			free(c);
			return refuse(path, "is named for two outputs", NULL);
		}
	}
	if (nopened < sizeof opened / sizeof *opened) opened[nopened++] = c;
	else free(c);
	return 0;
}

/* The descriptor a path names, or -1: /dev/stdout, /dev/stderr, /dev/fd/N,
 * /proc/self/fd/N, or a link to one of them. */
static int descriptor_of(const char *path)
{
	char link[4096];
	for (int hop = 0; hop < 2; hop++) {
		if (!strcmp(path, "/dev/stdout")) return 1;
		if (!strcmp(path, "/dev/stderr")) return 2;
		const char *n = !strncmp(path, "/dev/fd/", 8) ? path + 8 : !strncmp(path, "/proc/self/fd/", 14) ? path + 14 : NULL;
		if (n && *n >= '0' && *n <= '9') {
			char *end;
			long fd = strtol(n, &end, 10);
			return *end || fd > 1 << 20 ? -1 : (int)fd;
		}
		ssize_t k = readlink(path, link, sizeof link - 1);
		if (k <= 0) return -1;
		link[k] = 0;
		path = link;
	}
	return -1;
}

int out_open(out_file *o, const char *path)
{
	memset(o, 0, sizeof *o);
	if (!strcmp(path, "-")) {
		o->f = stdout;
		return 0;
	}
	/* Devices and pipes (/dev/null, /dev/full, a FIFO) are written in
	 * place.  A regular file is written under a temporary name
	 * beside it and renamed over it; through a symbolic link, beside the
	 * file the link names, so the link stays a link. */
	struct stat st, lst;
	int exists = stat(path, &st) == 0;
	/* An open descriptor's file (/dev/stdout: perhaps a shell's redirection,
	 * opened to append): written through a duplicate of the descriptor, at
	 * its offset, never truncated or replaced. */
	int fd = exists ? descriptor_of(path) : -1;
	if (fd >= 0) {
		int d = dup(fd);
		o->f = d < 0 ? NULL : fdopen(d, "w");
		if (!o->f) {
			if (d >= 0) close(d);
			cli_error("%s: cannot open: %s", path, strerror(errno));
			return -1;
		}
		o->direct = 1;
		o->path = strdup(path);
		return 0;
	}
	if (exists && !S_ISREG(st.st_mode)) {
		o->f = fopen(path, "w");
		if (!o->f) {
			cli_error("%s: cannot open: %s", path, strerror(errno));
			return -1;
		}
		o->direct = 1;
		o->path = strdup(path); /* for messages */
		return 0;
	}
	if (check_output(path)) return -1;
	char *target = NULL;
	if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
		if (exists) {
			target = realpath(path, NULL);
		} else { /* a dangling link: the file it names, relative to the link's directory */
			char link[4096];
			ssize_t k = readlink(path, link, sizeof link - 1);
			if (k > 0) {
				link[k] = 0;
				const char *slash = strrchr(path, '/');
				size_t dl = link[0] == '/' || !slash ? 0 : (size_t)(slash - path) + 1;
				target = malloc(dl + (size_t)k + 1);
				if (target) {
					memcpy(target, path, dl);
					memcpy(target + dl, link, (size_t)k + 1);
				}
			}
		}
		if (!target) {
			cli_error("%s: cannot follow the symbolic link: %s", path, strerror(errno ? errno : ENOENT));
			return -1;
		}
	}
	o->path = target ? target : strdup(path);
	size_t n = o->path ? strlen(o->path) : 0;
	o->tmp = malloc(n + 32);
	if (!o->path || !o->tmp) {
		cli_error("out of memory");
		return -1;
	}
	snprintf(o->tmp, n + 32, "%s.tmp.%ld", o->path, (long)getpid());
	o->f = fopen(o->tmp, "w");
	if (!o->f) {
		cli_error("%s: cannot create: %s", o->tmp, strerror(errno));
		free(o->path); free(o->tmp);
		o->path = o->tmp = NULL;
		return -1;
	}
	track_tmp(o->tmp, 1);
	/* the file it replaces keeps its permissions */
	if (exists) fchmod(fileno(o->f), st.st_mode & 07777);
	setvbuf(o->f, NULL, _IOFBF, 1 << 20);
	return 0;
}

void out_writeback(out_file *o)
{
	if (!o->f || !o->tmp || fflush(o->f)) return; /* a failed flush is reported by the commit */
	sync_file_range(fileno(o->f), 0, 0, SYNC_FILE_RANGE_WRITE);
}

/* Phase one of a commit: flush, fsync and close; the temporary file stays. */
static int out_close(out_file *o)
{
	if (!o->f) return 0;
	int bad = fflush(o->f) != 0 || ferror(o->f);
	int e = errno;
	const char *name = o->f == stdout ? "standard output" : o->path;
	if (o->f != stdout && !o->direct && !bad && fsync(fileno(o->f)) && errno != EINVAL) bad = 1, e = errno;
	if (o->f != stdout && fclose(o->f) && !bad) bad = 1, e = errno;
	o->f = NULL;
	if (bad) cli_error("%s: write failed: %s", name, strerror(e));
	return bad ? -1 : 0;
}

static void out_release(out_file *o)
{
	if (o->tmp) track_tmp(o->tmp, 0);
	free(o->path); free(o->tmp);
	o->path = o->tmp = NULL;
	o->direct = 0;
}

int out_commit(out_file *o)
{
	return out_commit_all(&o, 1);
}

int out_commit_all(out_file **o, size_t n)
{
	int bad = 0;
	for (size_t i = 0; i < n; i++) bad |= out_close(o[i]) != 0;
	for (size_t i = 0; i < n; i++) {
		if (!bad && o[i]->tmp && rename(o[i]->tmp, o[i]->path)) {
			cli_error("%s: cannot rename into place: %s", o[i]->path, strerror(errno));
			bad = 1;
		}
	}
	/* On failure nothing is left behind: temporary files are removed (any
	 * output renamed before a failed rename stays: rename is the last step). */
	for (size_t i = 0; i < n; i++) {
		if (bad && o[i]->tmp) unlink(o[i]->tmp);
		out_release(o[i]);
	}
	return bad ? -1 : 0;
}

void out_abort(out_file *o)
{
	if (o->f && o->f != stdout) fclose(o->f);
	if (o->tmp) unlink(o->tmp);
	o->f = NULL;
	out_release(o);
}

char *json_escape(char *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			*o++ = (char)c;
			continue;
		}
		if (c >= 0x80) {
			/* Valid UTF-8 as it is; a byte that is not (a file name's)
			 * as \udcXX, Python's surrogateescape: the output stays valid
			 * JSON and os.fsencode gives the bytes back. */
			size_t k = rp_utf8_sequence((const unsigned char *)s + i, (const unsigned char *)s + n);
			if (k) {
				memcpy(o, s + i, k);
				o += k;
				i += k - 1;
			} else {
				*o++ = '\\', *o++ = 'u', *o++ = 'd', *o++ = 'c', *o++ = hex[c >> 4], *o++ = hex[c & 15];
			}
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		default: *o++ = 'u', *o++ = '0', *o++ = '0', *o++ = hex[c >> 4], *o++ = hex[c & 15];
		}
	}
	return o;
}

void json_string(FILE *f, const char *s, size_t n)
{
	char buf[6 * 512];
	putc_unlocked('"', f);
	for (size_t at = 0; at < n; at += 512) {
		size_t k = n - at < 512 ? n - at : 512;
		fwrite(buf, 1, (size_t)(json_escape(buf, s + at, k) - buf), f);
	}
	putc_unlocked('"', f);
}

double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* VmHWM of /proc/self/status: this process's peak RSS.  getrusage's
 * ru_maxrss is not used: Linux keeps it across exec, so a process started by
 * a big parent would report the parent's peak. */
double peak_rss_mb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	double kb = -1;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmHWM:", 6)) {
			kb = strtod(line + 6, NULL);
			break;
		}
	if (f) fclose(f);
	if (kb < 0) {
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		kb = (double)ru.ru_maxrss;
	}
	return kb / 1024.0;
}
