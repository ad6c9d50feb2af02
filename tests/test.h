/* test.h — a tiny test harness.  Each tests/t_*.c is one program; every
 * CHECK counts as a check, every TEST function prints "ok" or "FAIL" lines,
 * and main() ends with TEST_END, printing "# N passed, M failed" for
 * tests/run.sh to add up. */
#ifndef RP_TEST_H
#define RP_TEST_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_passed, test_failed, test_cur_failed;
static const char *test_cur;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "FAIL %s: %s:%d: %s\n", test_cur, __FILE__, __LINE__, #cond); \
		test_cur_failed = 1; \
	} } while (0)
#define CHECKF(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "FAIL %s: %s:%d: %s: ", test_cur, __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); \
		test_cur_failed = 1; \
	} } while (0)

#define RUN(fn) do { \
	test_cur = #fn; test_cur_failed = 0; fn(); \
	if (test_cur_failed) test_failed++; else { test_passed++; printf("ok %s\n", #fn); } \
	} while (0)
#define TEST_END() do { printf("# %d passed, %d failed\n", test_passed, test_failed); \
	return test_failed ? 1 : 0; } while (0)

/* Path of the shared corpora, relative to the project root. */
#define SHARED_DATA "../shared/data"
#endif
