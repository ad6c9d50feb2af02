/* alloc.c — the one allocation hook of libreprint, and the error helpers.
 * rp_alloc_set() swaps the allocator (tests fail the Nth allocation with it);
 * array allocations are overflow-checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

static void *std_malloc(void *ctx, size_t size) { (void)ctx; return malloc(size); }
static void *std_realloc(void *ctx, void *p, size_t size) { (void)ctx; return realloc(p, size); }
static void std_free(void *ctx, void *p) { (void)ctx; free(p); }

/* The hook is process configuration set once by a test harness before any
 * handle exists, like zstd's customMem default; it is not mutated while the
 * library runs. */
static rp_allocator hook = {std_malloc, std_realloc, std_free, NULL};

void rp_alloc_set(const rp_allocator *a)
{
	if (a) hook = *a;
	else hook = (rp_allocator){std_malloc, std_realloc, std_free, NULL};
}

void *rp_malloc(size_t size) { return hook.malloc_fn(hook.ctx, size ? size : 1); }
void *rp_realloc(void *p, size_t size) { return hook.realloc_fn(hook.ctx, p, size ? size : 1); }
void rp_free(void *p) { if (p) hook.free_fn(hook.ctx, p); }

void *rp_malloc_array(size_t nmemb, size_t size)
{
	if (nmemb && size > SIZE_MAX / nmemb) return NULL;
	return rp_malloc(nmemb * size);
}

void *rp_realloc_array(void *p, size_t nmemb, size_t size)
{
	if (nmemb && size > SIZE_MAX / nmemb) return NULL;
	return rp_realloc(p, nmemb * size);
}

char *rp_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = rp_malloc(n);
	if (p) memcpy(p, s, n);
	return p;
}

int rp_grow(void **ptr, size_t *cap, size_t need, size_t elsize)
{
	if (need <= *cap) return 0;
	size_t ncap = *cap ? *cap : 16;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) return RP_ENOMEM;
		ncap *= 2;
	}
	void *p = rp_realloc_array(*ptr, ncap, elsize);
	if (!p) return RP_ENOMEM;
	*ptr = p;
	*cap = ncap;
	return 0;
}

int rp_set_error(rp_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof err->message, fmt, ap);
		va_end(ap);
		err->code = code;
		err->file[0] = 0;
		err->line = err->byte = 0;
	}
	return code;
}

int rp_set_error_at(rp_error *err, int code, const char *file, uint64_t line, uint64_t byte,
                    const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof err->message, fmt, ap);
		va_end(ap);
		err->code = code;
		snprintf(err->file, sizeof err->file, "%s", file ? file : "");
		err->line = line;
		err->byte = byte;
	}
	return code;
}

const char *rp_error_format(const rp_error *err, char *buf, size_t size)
{
	if (!size) return buf;
	if (err->file[0] && err->line)
		snprintf(buf, size, "%s:%llu:%llu: %s", err->file, (unsigned long long)err->line,
		         (unsigned long long)err->byte, err->message);
	else if (err->file[0] && err->byte)
		snprintf(buf, size, "%s: byte %llu: %s", err->file, (unsigned long long)err->byte, err->message);
	else if (err->file[0])
		snprintf(buf, size, "%s: %s", err->file, err->message);
	else
		snprintf(buf, size, "%s", err->message);
	return buf;
}
