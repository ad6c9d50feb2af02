/* fail_alloc.h — an allocation hook for rp_alloc_set that fails the
 * allocation at which countdown reaches 0 (-1: never) and counts how many it
 * failed.  Shared by the allocation-failure sweeps (t_alloc.c, t_reuse.c). */
#ifndef FAIL_ALLOC_H
#define FAIL_ALLOC_H
#include <stdatomic.h>
#include <stdlib.h>

static _Atomic long countdown = -1; /* fail the allocation when it reaches 0; -1 never */
static _Atomic long failures;

static void *fail_malloc(void *ctx, size_t n)
{
	(void)ctx;
	if (atomic_fetch_sub(&countdown, 1) == 0) { atomic_fetch_add(&failures, 1); return NULL; }
	return malloc(n);
}
static void *fail_realloc(void *ctx, void *p, size_t n)
{
	(void)ctx;
	if (atomic_fetch_sub(&countdown, 1) == 0) { atomic_fetch_add(&failures, 1); return NULL; }
	return realloc(p, n);
}
static void fail_free(void *ctx, void *p) { (void)ctx; free(p); }
#endif
