/* pool.c — a small thread pool passed explicitly to whoever needs it.
 *
 * rp_pool_run(pool, n, fn, arg) runs fn(arg, i, worker) for every i in [0, n)
 * on the pool's threads and the calling thread, handing out indices one at a
 * time, and returns when all have finished.  worker is in [0, size): 0 is the
 * caller, so per-worker scratch can be indexed by it.  Callers place results
 * by index, so the outcome does not depend on the number of threads.
 * rp_pool_side(pool, fn, arg) has the next job run fn(arg) on the calling
 * thread before it takes items (the command's reader reads the next batch
 * there while the other threads sketch this one).  Threads out of work spin
 * a little before they sleep (SPIN_NS). */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "internal.h"

struct rp_pool {
	int size;            /* threads including the caller */
	pthread_t *threads;
	pthread_mutex_t lock;
	pthread_cond_t work, done;
	void (*fn)(void *, size_t, int);
	void *arg;
	size_t n, next;      /* indices handed out so far */
	atomic_int active;   /* workers inside the current job (changed under lock) */
	_Atomic uint64_t generation; /* bumped for every job (under lock) */
	int spin;            /* wait a while spinning before sleeping */
	int quit;
	void (*side)(void *); /* for the next job's caller (rp_pool_side) */
	void *side_arg;
};

typedef struct { rp_pool *pool; int id; } worker_arg;

/* A thread that has run out of work spins this long before it sleeps on a
 * condition variable, when the pool has no more threads than the CPUs it
 * may run on.  Woken from sleep, a worker took 50 us on average to start a
 * posted job on a 2-vCPU VM (76 jobs on scaled 100 MB at -j2: 4 ms of its
 * time), and while the input is read a job comes every 1-2 ms. */
enum { SPIN_NS = 200000 };

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* One turn of a spin that began at t0; 0 once SPIN_NS have passed. */
static inline int spin_on(unsigned *turn, uint64_t t0)
{
#ifdef __SSE2__
	_mm_pause();
#endif
	return ++*turn % 64 || now_ns() - t0 < SPIN_NS;
}

/* Indices go out in chunks, so neighbouring items, whose results often share
 * cache lines, mostly stay on one thread.  Chunks shrink as the job drains
 * (a quarter of what is left per thread, at most n / (16 x threads)), so the
 * threads finish together instead of waiting on one last large chunk. */
static void run_items(rp_pool *p, int id)
{
	for (;;) {
		pthread_mutex_lock(&p->lock);
		size_t n = p->n, i = p->next < n ? p->next : n;
		size_t chunk = n / ((size_t)p->size * 16), guided = (n - i) / ((size_t)p->size * 4);
		if (guided < chunk) chunk = guided;
		if (chunk < 1) chunk = 1;
		size_t end = i + chunk < n ? i + chunk : n;
		p->next = end;
		void (*fn)(void *, size_t, int) = p->fn;
		void *arg = p->arg;
		pthread_mutex_unlock(&p->lock);
		if (i >= n) return;
		for (; i < end; i++) fn(arg, i, id);
	}
}

static void *worker_main(void *v)
{
	rp_pool *p = ((worker_arg *)v)->pool;
	int id = ((worker_arg *)v)->id;
	rp_free(v);
	uint64_t seen = 0;
	for (;;) {
		if (p->spin) { /* for the next job */
			uint64_t t0 = now_ns();
			unsigned turn = 0;
			while (atomic_load_explicit(&p->generation, memory_order_relaxed) == seen && spin_on(&turn, t0)) {}
		}
		pthread_mutex_lock(&p->lock);
		while (!p->quit && p->generation == seen) pthread_cond_wait(&p->work, &p->lock);
		if (p->quit) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		seen = p->generation;
		p->active++;
		pthread_mutex_unlock(&p->lock);
		run_items(p, id);
		pthread_mutex_lock(&p->lock);
		if (--p->active == 0) pthread_cond_broadcast(&p->done);
		pthread_mutex_unlock(&p->lock);
	}
}

rp_pool *rp_pool_new(int nthreads)
{
	long cpus = rp_cpu_limit(); /* taskset, cpusets and the cgroup's CPU quota count */
	if (nthreads <= 0) nthreads = (int)(cpus < 256 ? cpus : 256);
	if (nthreads > 256) nthreads = 256;
	rp_pool *p = rp_malloc(sizeof *p);
	if (!p) return NULL;
	*p = (rp_pool){.size = 1, .spin = nthreads <= cpus}; /* a spinning thread must not hold up a working one */
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	if (nthreads > 1) {
		p->threads = rp_malloc_array((size_t)nthreads - 1, sizeof *p->threads);
		if (!p->threads) { rp_pool_free(p); return NULL; }
	}
	for (int i = 1; i < nthreads; i++) {
		worker_arg *wa = rp_malloc(sizeof *wa);
		if (!wa) { rp_pool_free(p); return NULL; }
		*wa = (worker_arg){p, i};
		if (pthread_create(&p->threads[i - 1], NULL, worker_main, wa)) {
			rp_free(wa);
			rp_pool_free(p);
			return NULL;
		}
		p->size++;
	}
	return p;
}

int rp_pool_size(const rp_pool *pool) { return pool ? pool->size : 1; }

void rp_pool_side(rp_pool *p, void (*side)(void *), void *arg)
{
	if (!p) return;
	p->side = side;
	p->side_arg = side ? arg : NULL;
}

void rp_pool_run(rp_pool *p, size_t n, void (*fn)(void *, size_t, int), void *arg)
{
	void (*side)(void *) = p ? p->side : NULL;
	void *side_arg = p ? p->side_arg : NULL;
	if (side) p->side = NULL, p->side_arg = NULL;
	if (!p || p->size == 1 || n <= 1) {
		if (side) side(side_arg);
		for (size_t i = 0; i < n; i++) fn(arg, i, 0);
		return;
	}
	pthread_mutex_lock(&p->lock);
	p->fn = fn;
	p->arg = arg;
	p->n = n;
	p->next = 0;
	p->generation++;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	if (side) side(side_arg);
	run_items(p, 0);
	if (p->spin) { /* for the workers still inside the job */
		uint64_t t0 = now_ns();
		unsigned turn = 0;
		while (atomic_load_explicit(&p->active, memory_order_relaxed) > 0 && spin_on(&turn, t0)) {}
	}
	pthread_mutex_lock(&p->lock);
	/* All indices are handed out; wait for workers still inside the job. */
	while (p->active > 0) pthread_cond_wait(&p->done, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void rp_pool_free(rp_pool *p)
{
	if (!p) return;
	pthread_mutex_lock(&p->lock);
	p->quit = 1;
	p->generation++; /* spinning workers look no further */
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (int i = 1; i < p->size; i++) pthread_join(p->threads[i - 1], NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	rp_free(p->threads);
	rp_free(p);
}
