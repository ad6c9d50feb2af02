/* input.h — reading records in batches, the next one read while the pool
 * works on the last, and what the output needs of every record, for the
 * commands that read corpora. */
#ifndef RP_INPUT_H
#define RP_INPUT_H
#include <stdio.h>
#include "reprint.h"

/* A batch's text is fresh memory the first time, a page fault per 4 KB for
 * both slots: 2 MB batches fault 4 MB in, 8 MB ones faulted 16 MB (11 ms less
 * CPU at -j1 on scaled 100 MB, the same at -j2). */
#define BATCH_BYTES (2u << 20)
#define BATCH_RECORDS 8192

typedef struct {
	size_t n, cap;
	char *text;
	size_t text_len, text_cap;
	size_t *off, *len;
	int *bad;
	const char **ptr;
	/* Filled only by read_id_batches (an index add or a query, which must
	 * not keep every id of the run): each record's id,
	 * and for a bad one its error, "message\0file\0" at errs + eoff[i]. */
	char *ids, *errs;
	size_t ids_len, ids_cap, errs_len, errs_cap;
	size_t *ioff, *ilen, *eoff;
	uint64_t *eline, *ebyte;
	uint8_t *idf; /* RP_ID_NUMBER, RP_ID_DEFAULT, as record_meta.id_flags */
} batch;

typedef struct {
	uint64_t seq;
	char *file, *message;
	uint64_t line, byte;
} bad_record;

/* What the output needs of every record. */
typedef struct {
	size_t n, cap;
	char *ids;
	size_t ids_len, ids_cap;
	uint64_t *id_end;   /* id i is ids[id_end[i-1] .. id_end[i]) */
	uint8_t *id_flags;  /* RP_ID_NUMBER: the id was a JSON number; RP_ID_DEFAULT: it is
	                     * PATH:LINE, the record had no id field */
	uint64_t *raw_end;  /* spool offsets, when --kept/--removed */
	FILE *spool;
	uint64_t spool_len;
	int spool_error;    /* errno of the first failed spool write, 0 if none */
	bad_record *bad;
	size_t nbad, bad_cap;
	uint64_t bytes;     /* input bytes read */
	rp_texts *texts;    /* set by the caller: note where every text can be read again */
	rp_error texts_err; /* its first failure (texts_err.code), reported by read_batches */
	int keep_extra[RP_MAX_EXTRA]; /* set by the caller: keep rec->extra[k] */
	char *extra[RP_MAX_EXTRA];    /* their values, concatenated */
	size_t extra_len[RP_MAX_EXTRA], extra_cap[RP_MAX_EXTRA];
	uint64_t *extra_end[RP_MAX_EXTRA]; /* value of record i is [extra_end[k][i-1], extra_end[k][i]) */
} record_meta;

typedef struct feeder {
	rp_reader *reader;
	int skip_errors;
	batch slot[2];
	int fatal;           /* the reader failed: err */
	rp_error err;
	record_meta *meta;   /* NULL: the batches carry the ids instead */
	size_t max_records, max_bytes; /* of a batch */
	unsigned ramp;       /* batches read so far, up to 4: the first are smaller */
	uint64_t records, bytes; /* read so far, for the progress line */
} feeder;

/* realloc that grows geometrically and exits with a message on failure. */
void *xgrow(void *p, size_t *cap, size_t need, size_t el);
/* Read every record of reader in batches of at most BATCH_RECORDS and
 * BATCH_BYTES, calling consume(ctx, batch, err) on the calling thread for
 * each; the next batch is read by the calling thread at the start of the
 * first job consume runs on pool (rp_pool_side), while the pool's other
 * threads start on the batch; a progress line goes to stderr when it is a
 * terminal and quiet is 0.  meta: what the output needs of every record,
 * kept for the whole run; NULL to have each batch carry its records' ids
 * and errors instead (bounded memory).  Returns 0, or -1 after printing the
 * error (a bad record with skip_errors 0, a fatal stream error, or
 * consume's error). */
int read_batches(rp_reader *reader, int skip_errors, record_meta *meta, int quiet, rp_pool *pool,
                 int (*consume)(void *ctx, batch *b, rp_error *err), void *ctx);
/* The same in batches of at most max_bytes of text: reuse takes smaller
 * ones, as the two batch buffers are memory touched for the first time. */
int read_batches_max(rp_reader *reader, int skip_errors, record_meta *meta, int quiet, rp_pool *pool,
                     size_t max_bytes, int (*consume)(void *ctx, batch *b, rp_error *err), void *ctx);
/* The same without a record_meta, in batches of the given size: index add
 * takes larger ones, as each is one job on the thread pool and fewer jobs
 * mean fewer waits of one thread for the other at their ends. */
int read_id_batches(rp_reader *reader, int skip_errors, int quiet, rp_pool *pool, size_t max_records, size_t max_bytes,
                    int (*consume)(void *ctx, batch *b, rp_error *err), void *ctx);
/* Record seq's kept extra field k (length 0 when absent). */
const char *meta_extra(const record_meta *m, int k, uint64_t seq, size_t *len);
/* Write record seq's id as JSON. */
void write_id(FILE *f, const record_meta *m, uint64_t seq);
void meta_free(record_meta *m);
#endif
