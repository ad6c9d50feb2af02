/* cli.h — what the command files of the reprint CLI share. */
#ifndef RP_CLI_H
#define RP_CLI_H
#include <stdio.h>
#include <stdint.h>
#include "reprint.h"

enum { EXIT_OK = 0, EXIT_DATA = 1, EXIT_USAGE = 2 };

int cmd_dedup(int argc, char **argv);
int cmd_params(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_reuse(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_query(int argc, char **argv);

/* Messages on stderr prefixed with "reprint: ". */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_rp_error(const rp_error *err);
/* Usage error: message plus a hint, returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse helpers: return 0 or print a usage error and return -1. */
int parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, int *out);
int parse_size(const char *cmd, const char *opt, const char *s, int allow_zero, uint64_t *out);
int parse_seed(const char *cmd, const char *s, uint64_t *out);
int parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out);

/* The inputs named on the command line from argv[first], or "-" (standard
 * input) when there are none; *n gets their count. */
const char *const *input_args(int argc, char **argv, int first, size_t *n);

/* An output file written under a temporary name and renamed into place on
 * success, so a failed run leaves no partial file.  path "-" is stdout. */
typedef struct {
	char *path, *tmp;
	FILE *f;
	int direct; /* not a regular file: written in place */
} out_file;
/* Refuses (cli_usage_failed set: the command exits 2) a path already opened
 * as an output or that is one of input_args' inputs. */
int out_open(out_file *o, const char *path);
/* Set when a command fails on a usage error found late (a refused output
 * path, the library's RP_EUSAGE): main then exits 2. */
extern int cli_usage_failed;
/* Outputs inside dir (an index directory the command uses) are refused too. */
void out_protect(const char *dir);
int out_commit(out_file *o); /* flush, fsync, rename; 0 or -1 (message printed) */
/* Start writing what o holds so far to the disk, without waiting, so that the
 * commit's fsync has less to wait for: a temporary file only; advice. */
void out_writeback(out_file *o);
/* Commit several outputs together: all are written and closed before any is
 * renamed into place, so one failing output leaves none of them. */
int out_commit_all(out_file **o, size_t n);
void out_abort(out_file *o); /* remove the temporary file */

/* Write s as a JSON string (with quotes). */
void json_string(FILE *f, const char *s, size_t n);
/* The body of s as a JSON string (no quotes) at o, which has room for 6n
 * bytes; returns its end.  json_string writes it quoted. */
char *json_escape(char *o, const char *s, size_t n);

double now_seconds(void);
double peak_rss_mb(void);
#endif
