/* params.c — `reprint params`: the LSH bands and rows chosen for a threshold
 * and sketch size, and the S-curve they give. */
#include <getopt.h>
#include <string.h>
#include "cli.h"

static void help(void)
{
	puts("Usage: reprint params [--threshold T] [--num-perm K] [--bands B --rows R]\n"
	     "Print the LSH banding reprint dedup uses and the probability that a pair of\n"
	     "documents with Jaccard s becomes a candidate, for s = 0.50, 0.55, ..., 1.00.\n\n"
	     "  -t, --threshold T  Jaccard threshold (default 0.8)\n"
	     "  -k, --num-perm K   sketch size (default 128)\n"
	     "      --bands B      number of bands, given with --rows (default: both chosen\n"
	     "      --rows R       rows per band, given with --bands   for recall >= 0.98 at T)\n"
	     "      --json         print one JSON object instead of a table\n"
	     "  -h, --help         this help");
}

int cmd_params(int argc, char **argv)
{
	static const struct option opts[] = {
		{"threshold", required_argument, 0, 't'}, {"num-perm", required_argument, 0, 'k'},
		{"bands", required_argument, 0, 'b'},     {"rows", required_argument, 0, 'r'},
		{"json", no_argument, 0, 'J'},            {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}};
	rp_params p;
	rp_params_default(&p);
	int json = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "t:k:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': if (parse_double("params ", "--threshold", optarg, 0, 1, &p.threshold)) return EXIT_USAGE; break;
		case 'k': if (parse_int("params ", "--num-perm", optarg, 1, RP_MAX_PERM, &p.num_perm)) return EXIT_USAGE; break;
		case 'b': if (parse_int("params ", "--bands", optarg, 1, RP_MAX_PERM, &p.bands)) return EXIT_USAGE; break;
		case 'r': if (parse_int("params ", "--rows", optarg, 1, RP_MAX_PERM, &p.rows)) return EXIT_USAGE; break;
		case 'J': json = 1; break;
		case 'h': help(); return EXIT_OK;
		default: return cli_usage("params ", "bad option");
		}
	}
	if (optind < argc) return cli_usage("params ", "unexpected argument '%s'", argv[optind]);
	rp_error err;
	if (rp_params_resolve(&p, &err)) return cli_usage("params ", "%s", err.message);
	if (json) {
		printf("{\"threshold\": %g, \"num_perm\": %d, \"bands\": %d, \"rows\": %d, \"curve\": [",
		       p.threshold, p.num_perm, p.bands, p.rows);
		for (int i = 0; i <= 10; i++)
			printf("%s[%.2f, %.6f]", i ? ", " : "", 0.5 + 0.05 * i,
			       rp_lsh_probability(p.bands, p.rows, 0.5 + 0.05 * i));
		puts("]}");
		return EXIT_OK;
	}
	printf("threshold %g, num-perm %d: bands %d, rows %d (%d of %d values used)\n",
	       p.threshold, p.num_perm, p.bands, p.rows, p.bands * p.rows, p.num_perm);
	printf("P(candidate) at the threshold: %.4f\n\n", rp_lsh_probability(p.bands, p.rows, p.threshold));
	puts("similarity  P(candidate)");
	for (int i = 0; i <= 10; i++) {
		double s = 0.5 + 0.05 * i;
		printf("%10.2f  %12.6f\n", s, rp_lsh_probability(p.bands, p.rows, s));
	}
	return EXIT_OK;
}
