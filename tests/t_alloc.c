/* Allocation failure: fail the 1st, 2nd, ... Nth allocation of representative
 * operations until they complete.  Every failure must come back as an error
 * (never a crash), and nothing may leak (LeakSanitizer checks at exit). */
#include <stdatomic.h>
#include <unistd.h>
#include "test.h"
#include "fail_alloc.h"
#include "reprint.h"

static const char *texts[] = {
	"The committee met on Tuesday to discuss the new budget, which includes significant cuts.",
	"The committee met on Tuesday to discuss the new budget, which includes \xe2\x80\x9csignificant\xe2\x80\x9d cuts.",
	"Caf\xc3\xa9 na\xc3\xafve \xef\xac\x81ne \xef\xbc\xa1\xef\xbc\xa2 infor-\nmation",
	"", "short", "A completely different story about football and the late rally in the second half.",
};

/* One whole dedup run; returns its status. */
static int dedup_run(int verify, int threads)
{
	rp_params p;
	rp_params_default(&p);
	p.verify = verify;
	rp_pool *pool = rp_pool_new(threads);
	if (!pool) return RP_ENOMEM;
	rp_dedup *d = NULL;
	rp_error e;
	size_t lens[6];
	for (int i = 0; i < 6; i++) lens[i] = strlen(texts[i]);
	int rc = rp_dedup_new(&d, &p, pool, &e);
	if (!rc) rc = rp_dedup_add(d, 3, texts, lens, NULL, &e);
	if (!rc) rc = rp_dedup_add(d, 3, texts + 3, lens + 3, NULL, &e);
	if (!rc) rc = rp_dedup_finish(d, &e);
	if (!rc) {
		rp_dedup_result r;
		rp_dedup_get(d, 1, &r);
		if (r.cluster != 0) rc = 99; /* a wrong answer is worse than an error */
	}
	if (rc && rc != 99 && e.code != rc) rc = 98; /* the error must be filled */
	rp_dedup_free(d);
	rp_pool_free(pool);
	return rc;
}

static int reader_run(const char *path)
{
	const char *in[] = {path};
	rp_reader_opts ro = {RP_FORMAT_AUTO, "text", "id", 0};
	rp_reader *r = NULL;
	rp_error e;
	int rc = rp_reader_new(&r, in, 1, &ro, &e), n = 0;
	if (rc) return rc;
	rp_record rec;
	while ((rc = rp_reader_next(r, &rec, &e)) > 0) n++;
	rp_reader_free(r);
	if (rc == 0 && n != 4) return 99;
	return rc;
}

static int tokenize_run(void)
{
	rp_tokens t = {0};
	rp_error e;
	int rc = 0;
	for (int i = 0; i < 6 && !rc; i++) rc = rp_tokenize(texts[i], strlen(texts[i]), i & 1, 0, &t, &e);
	rp_tokens_free(&t);
	return rc;
}

/* Sweep N = 0, 1, 2, ... until the operation succeeds; each failing run must
 * report RP_ENOMEM (or, for I/O stages, an error) and never a wrong answer. */
static long sweep(const char *name, int (*op)(void *), void *arg)
{
	long n;
	for (n = 0;; n++) {
		atomic_store(&countdown, n);
		long before = atomic_load(&failures);
		int rc = op(arg);
		long failed = atomic_load(&failures) - before;
		atomic_store(&countdown, -1);
		if (!failed) {
			CHECKF(rc == 0, "%s: no allocation failed at N=%ld but rc=%d", name, n, rc);
			break;
		}
		CHECKF(rc != 0 && rc != 99 && rc != 98, "%s: allocation %ld failed, rc=%d", name, n, rc);
		if (rc == 0 || rc == 99 || rc == 98) break;
	}
	printf("# %s: %ld allocation failure points swept\n", name, n);
	return n;
}

static int op_dedup_auto(void *a) { (void)a; return dedup_run(RP_VERIFY_AUTO, 1); }
static int op_dedup_exact(void *a) { (void)a; return dedup_run(RP_VERIFY_EXACT, 1); }
static int op_dedup_threads(void *a) { (void)a; return dedup_run(RP_VERIFY_ESTIMATE, 3); }
static int op_reader(void *a) { return reader_run(a); }
static int op_tokenize(void *a) { (void)a; return tokenize_run(); }

static char gz_path[64];

static void test_sweeps(void)
{
	rp_allocator al = {fail_malloc, fail_realloc, fail_free, NULL};
	rp_alloc_set(&al);
	long total = 0;
	total += sweep("tokenize", op_tokenize, NULL);
	total += sweep("dedup auto", op_dedup_auto, NULL);
	total += sweep("dedup exact", op_dedup_exact, NULL);
	total += sweep("dedup 3 threads", op_dedup_threads, NULL);
	total += sweep("reader gzip", op_reader, gz_path);
	rp_alloc_set(NULL);
	printf("# %ld allocation failure points in all\n", total);
	CHECK(total > 50);
}

int main(void)
{
	strcpy(gz_path, "/tmp/rp-alloc-XXXXXX");
	int fd = mkstemp(gz_path);
	close(fd);
	char cmd[200];
	snprintf(cmd, sizeof cmd,
	         "printf '{\"id\": 1, \"text\": \"a b c\"}\\n{\"id\": 2, \"text\": \"d\\\\u00e9\"}\\nbad\\n\\n{\"text\": \"x\"}\\n' | gzip -c > %s",
	         gz_path);
	if (system(cmd) != 0) return 1;
	RUN(test_sweeps);
	unlink(gz_path);
	TEST_END();
}
