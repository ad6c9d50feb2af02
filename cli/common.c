/* common.c — helpers shared by the CLI commands: messages, number parsing,
 * atomic output files, JSON string escaping, clocks. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

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

const char *const *input_args(int argc, char **argv, int first, size_t *n)
{
	static const char *const stdin_only[] = {"-"};
	if (first < argc) {
		*n = (size_t)(argc - first);
		return (const char *const *)argv + first;
	}
	*n = 1;
	return stdin_only;
}

int out_open(out_file *o, const char *path)
{
	memset(o, 0, sizeof *o);
	if (!strcmp(path, "-")) {
		o->f = stdout;
		return 0;
	}
	/* Devices, pipes and symbolic links (/dev/null, /dev/full, a FIFO,
	 * /dev/stdout) are written in place: only a regular file is replaced by
	 * rename, which would turn a link into a file. */
	struct stat st, lst;
	if ((stat(path, &st) == 0 && !S_ISREG(st.st_mode)) || (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode))) {
		o->f = fopen(path, "w");
		if (!o->f) {
			cli_error("%s: cannot open: %s", path, strerror(errno));
			return -1;
		}
		o->direct = 1;
		o->path = strdup(path); /* for messages */
		return 0;
	}
	size_t n = strlen(path);
	o->path = strdup(path);
	o->tmp = malloc(n + 32);
	if (!o->path || !o->tmp) {
		cli_error("out of memory");
		return -1;
	}
	snprintf(o->tmp, n + 32, "%s.tmp.%ld", path, (long)getpid());
	o->f = fopen(o->tmp, "w");
	if (!o->f) {
		cli_error("%s: cannot create: %s", o->tmp, strerror(errno));
		free(o->path); free(o->tmp);
		o->path = o->tmp = NULL;
		return -1;
	}
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
		if (c >= 0x20 && c != '"' && c != '\\') {
			*o++ = (char)c;
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
