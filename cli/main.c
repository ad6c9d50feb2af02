/* main.c — the reprint command: dispatches to one file per command. */
#include <string.h>
#include <sys/resource.h>
#include "cli.h"

/* An open index holds a file per segment: take every descriptor the hard
 * limit allows, as servers do (the soft limit is often 1024). */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void usage(FILE *f)
{
	fputs("Usage: reprint COMMAND [OPTION]... [INPUT]...\n"
	      "Find reprinted text: near-duplicate documents in large text collections.\n\n"
	      "Commands:\n"
	      "  dedup    cluster near-duplicate documents (Jaccard of word n-grams)\n"
	      "  reuse    find passages shared across a corpus, boilerplate left out\n"
	      "  compare  explain one pair: scores, shared passages, what each side adds\n"
	      "  index    a persistent index: create, add, remove, compact, info\n"
	      "  query    find near-duplicates and reprints of documents in an index\n"
	      "  params   print the LSH bands and rows chosen for a threshold, with the S-curve\n\n"
	      "Options:\n"
	      "  -h, --help     this help; 'reprint COMMAND --help' lists a command's options\n"
	      "  -V, --version  print the version and the normalisation version\n\n"
	      "Exit status: 0 success, 1 data or I/O error, 2 usage error.\n", f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	raise_fd_limit();
	const char *cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("reprint %s (normalisation %d)\n", RP_VERSION, RP_NORM_VERSION);
		return EXIT_OK;
	}
	int rc;
	if (!strcmp(cmd, "dedup")) rc = cmd_dedup(argc - 1, argv + 1);
	else if (!strcmp(cmd, "params")) rc = cmd_params(argc - 1, argv + 1);
	else if (!strcmp(cmd, "compare")) rc = cmd_compare(argc - 1, argv + 1);
	else if (!strcmp(cmd, "reuse")) rc = cmd_reuse(argc - 1, argv + 1);
	else if (!strcmp(cmd, "index")) rc = cmd_index(argc - 1, argv + 1);
	else if (!strcmp(cmd, "query")) rc = cmd_query(argc - 1, argv + 1);
	else return cli_usage(NULL, "unknown command '%s'", cmd);
	/* a usage error found late (an output path refused, a bad field path) */
	return rc && cli_usage_failed ? EXIT_USAGE : rc;
}
