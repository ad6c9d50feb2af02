/* input.c — records read in batches, two slots: while the pool's threads
 * work on one batch, the calling thread reads the next into the other slot
 * (rp_pool_side), then joins them, so reading needs no thread of its own and
 * -j1 uses one core; what the output needs of each
 * record (its id, the reason it was bad, where its original bytes went in the
 * spool) is kept in compact arrays for the whole run (dedup, reuse), or
 * carried by each batch (index add, query: bounded memory). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "input.h"

void *xgrow(void *p, size_t *cap, size_t need, size_t el)
{
	if (need <= *cap) return p;
	size_t c = *cap ? *cap : 64;
	while (c < need) c *= 2;
	void *q = realloc(p, c * el);
	if (!q) {
		cli_error("out of memory");
		exit(EXIT_DATA);
	}
	*cap = c;
	return q;
}

static void meta_add(record_meta *m, const rp_record *rec, const rp_error *err)
{
	size_t cap = m->cap;
	if (m->n == m->cap) {
		m->id_end = xgrow(m->id_end, &cap, m->n + 1, sizeof *m->id_end);
		cap = m->cap;
		m->id_flags = xgrow(m->id_flags, &cap, m->n + 1, 1);
		if (m->spool) {
			cap = m->cap;
			m->raw_end = xgrow(m->raw_end, &cap, m->n + 1, sizeof *m->raw_end);
		}
		for (int k = 0; k < RP_MAX_EXTRA; k++)
			if (m->keep_extra[k]) {
				cap = m->cap;
				m->extra_end[k] = xgrow(m->extra_end[k], &cap, m->n + 1, sizeof *m->extra_end[k]);
			}
		m->cap = cap;
	}
	for (int k = 0; k < RP_MAX_EXTRA; k++) {
		if (!m->keep_extra[k]) continue;
		size_t len = rec->bad ? 0 : rec->extra_len[k];
		m->extra[k] = xgrow(m->extra[k], &m->extra_cap[k], m->extra_len[k] + len + 1, 1);
		if (len) memcpy(m->extra[k] + m->extra_len[k], rec->extra[k], len);
		m->extra_len[k] += len;
		m->extra_end[k][m->n] = m->extra_len[k];
	}
	m->ids = xgrow(m->ids, &m->ids_cap, m->ids_len + rec->id_len, 1);
	memcpy(m->ids + m->ids_len, rec->id, rec->id_len);
	m->ids_len += rec->id_len;
	m->id_end[m->n] = m->ids_len;
	m->id_flags[m->n] = (uint8_t)((rec->id_is_number ? RP_ID_NUMBER : 0) | (rec->id_default ? RP_ID_DEFAULT : 0));
	m->bytes += rec->raw_len + (rec->line ? 1 + (uint64_t)rec->crlf : 0);
	if (m->spool) {
		/* the record and its line end as they were ("\r\n" or "\n"; "\n"
		 * after a last line without one, and after a whole file) */
		const char *eol = rec->crlf ? "\r\n" : "\n";
		size_t el = rec->crlf ? 2 : 1;
		if (!m->spool_error && ((rec->raw_len && fwrite(rec->raw, 1, rec->raw_len, m->spool) != rec->raw_len) ||
		                        fwrite(eol, 1, el, m->spool) != el))
			m->spool_error = errno ? errno : EIO; /* reported by read_batches, which cleans up */
		m->spool_len += rec->raw_len + el;
		m->raw_end[m->n] = m->spool_len;
	}
	if (m->texts && !m->texts_err.code) rp_texts_add(m->texts, rec, &m->texts_err);
	if (rec->bad) {
		m->bad = xgrow(m->bad, &m->bad_cap, m->nbad + 1, sizeof *m->bad);
		bad_record *b = &m->bad[m->nbad++];
		b->seq = rec->seq;
		b->file = strdup(err->file[0] ? err->file : rec->file);
		b->message = strdup(err->message);
		b->line = err->line ? err->line : rec->line;
		b->byte = err->byte;
		if (!b->file || !b->message) {
			cli_error("out of memory");
			exit(EXIT_DATA);
		}
	}
	m->n++;
}

static void batch_add(batch *b, const rp_record *rec, const rp_error *err, int with_ids)
{
	size_t cap = b->cap;
	if (b->n == b->cap) {
#define G(f) cap = b->cap; b->f = xgrow(b->f, &cap, b->n + 1, sizeof *b->f);
		G(off) G(len) G(bad) G(ptr)
		if (with_ids) { G(ioff) G(ilen) G(eoff) G(eline) G(ebyte) G(idf) }
#undef G
		b->cap = cap;
	}
	size_t len = rec->bad ? 0 : rec->text_len;
	int decoded_here = rec->text == b->text + b->text_len; /* by the reader, into the batch (its text sink) */
	b->text = xgrow(b->text, &b->text_cap, b->text_len + len + 1, 1);
	if (len && !decoded_here) memcpy(b->text + b->text_len, rec->text, len);
	b->off[b->n] = b->text_len;
	b->len[b->n] = len;
	b->bad[b->n] = rec->bad;
	b->text_len += len;
	if (with_ids) {
		b->ids = xgrow(b->ids, &b->ids_cap, b->ids_len + rec->id_len + 1, 1);
		memcpy(b->ids + b->ids_len, rec->id, rec->id_len);
		b->ioff[b->n] = b->ids_len;
		b->ilen[b->n] = rec->id_len;
		b->ids_len += rec->id_len;
		b->idf[b->n] = (uint8_t)((rec->id_is_number ? RP_ID_NUMBER : 0) | (rec->id_default ? RP_ID_DEFAULT : 0));
		b->eoff[b->n] = b->errs_len;
		if (rec->bad) {
			const char *file = err->file[0] ? err->file : rec->file;
			size_t ml = strlen(err->message), fl = strlen(file);
			b->errs = xgrow(b->errs, &b->errs_cap, b->errs_len + ml + fl + 2, 1);
			memcpy(b->errs + b->errs_len, err->message, ml + 1);
			memcpy(b->errs + b->errs_len + ml + 1, file, fl + 1);
			b->errs_len += ml + fl + 2;
			b->eline[b->n] = err->line ? err->line : rec->line;
			b->ebyte[b->n] = err->byte;
		}
	}
	b->n++;
}

static void batch_free(batch *b)
{
	free(b->text); free(b->off); free(b->len); free(b->bad); free(b->ptr);
	free(b->ids); free(b->errs); free(b->ioff); free(b->ilen); free(b->eoff); free(b->eline); free(b->ebyte);
	free(b->idf);
}

/* Fill b with the next records; returns the reader's last status (1: more
 * may follow, 0: the end, -1: a fatal error or a bad record not skipped, in
 * *err) and adds what it read to *bytes. */
static int fill_batch(feeder *fd, batch *b, rp_error *err, uint64_t *bytes)
{
	b->n = b->text_len = b->ids_len = b->errs_len = 0;
	int rc = 1;
	rp_record rec;
	/* The first batches are small, so the workers start at once: 1/16 of
	 * the size, doubling up to the full size. */
	size_t max_bytes = fd->max_bytes >> (fd->ramp < 4 ? 4 - fd->ramp : 0);
	size_t max_records = fd->max_records >> (fd->ramp < 4 ? 4 - fd->ramp : 0);
	fd->ramp++;
	if (!max_records) max_records = 1;
	rp_reader_set_text_sink(fd->reader, &b->text, &b->text_len, &b->text_cap);
	while (b->n < max_records && b->text_len < max_bytes) {
		rc = rp_reader_next(fd->reader, &rec, err);
		if (rc <= 0) break;
		if (rec.bad && !fd->skip_errors) {
			rc = -1;
			break;
		}
		if (fd->meta) meta_add(fd->meta, &rec, err);
		batch_add(b, &rec, err, !fd->meta);
		*bytes += rec.raw_len + (rec.line ? 1 + (uint64_t)rec.crlf : 0);
	}
	rp_reader_set_text_sink(fd->reader, NULL, NULL, NULL);
	return rc;
}

void write_id(FILE *f, const record_meta *m, uint64_t seq)
{
	uint64_t a = seq ? m->id_end[seq - 1] : 0, b = m->id_end[seq];
	if (m->id_flags[seq] & RP_ID_NUMBER) fwrite(m->ids + a, 1, b - a, f);
	else json_string(f, m->ids + a, b - a);
}

static void show_progress(uint64_t nrec, uint64_t nbytes, double t0)
{
	fprintf(stderr, "\rreprint: %llu documents, %.0f MB, %.0f MB/s   ", (unsigned long long)nrec, nbytes / 1e6,
	        nbytes / 1e6 / (now_seconds() - t0));
}

/* Reading the next batch, as the pool's side task. */
typedef struct {
	feeder *fd;
	batch *b;
	int rc, done;
	uint64_t bytes;
	rp_error err;
} read_ahead;

static void read_next(void *v)
{
	read_ahead *r = v;
	r->rc = fill_batch(r->fd, r->b, &r->err, &r->bytes);
	r->done = 1;
}

static int run_batches(rp_reader *reader, int skip_errors, record_meta *meta, int quiet, rp_pool *pool,
                       size_t max_records, size_t max_bytes, int (*consume)(void *ctx, batch *b, rp_error *err),
                       void *ctx)
{
	feeder fd = {0};
	fd.max_records = max_records;
	fd.max_bytes = max_bytes;
	fd.reader = reader;
	fd.skip_errors = skip_errors;
	fd.meta = meta;
	rp_error err = {0};
	int progress = !quiet && isatty(2), failed = 0, k = 0;
	double t0 = now_seconds(), last = t0;
	/* r: the reading of slot k's records, done.  Each turn reads slot k ^ 1
	 * on the pool's calling thread while the other threads start on slot k
	 * (rp_pool_side), or after slot k when consume runs no job. */
	read_ahead r = {&fd, &fd.slot[0], 0, 0, 0, {0}};
	read_next(&r);
	for (;;) {
		batch *b = &fd.slot[k];
		int rc = r.rc;
		fd.records += b->n;
		fd.bytes += r.bytes;
		if (rc < 0) fd.err = r.err; /* reported after the records read before it */
		r = (read_ahead){&fd, &fd.slot[k ^ 1], 0, 0, 0, {0}};
		if (rc > 0) rp_pool_side(pool, read_next, &r);
		if (b->n) {
			for (size_t i = 0; i < b->n; i++) b->ptr[i] = b->text + b->off[i];
			failed = consume(ctx, b, &err) != 0;
		}
		if (rc > 0) {
			rp_pool_side(pool, NULL, NULL);
			if (!r.done && !failed) read_next(&r);
		}
		if (failed) break;
		if (rc <= 0) {
			fd.fatal = rc < 0;
			break;
		}
		k ^= 1;
		if (progress && now_seconds() - last > 0.5) {
			last = now_seconds();
			show_progress(fd.records, fd.bytes, t0);
		}
	}
	if (progress) fputs("\r\033[K", stderr);
	for (int i = 0; i < 2; i++) batch_free(&fd.slot[i]);
	if (failed) { cli_rp_error(&err); return -1; }
	if (fd.fatal) { cli_rp_error(&fd.err); return -1; }
	if (meta && meta->texts_err.code) {
		cli_rp_error(&meta->texts_err);
		return -1;
	}
	if (meta && meta->spool_error) {
		cli_error("spool file: write failed: %s", strerror(meta->spool_error));
		return -1;
	}
	return 0;
}

int read_batches(rp_reader *reader, int skip_errors, record_meta *meta, int quiet, rp_pool *pool,
                 int (*consume)(void *ctx, batch *b, rp_error *err), void *ctx)
{
	return run_batches(reader, skip_errors, meta, quiet, pool, BATCH_RECORDS, BATCH_BYTES, consume, ctx);
}

int read_batches_max(rp_reader *reader, int skip_errors, record_meta *meta, int quiet, rp_pool *pool,
                     size_t max_bytes, int (*consume)(void *ctx, batch *b, rp_error *err), void *ctx)
{
	return run_batches(reader, skip_errors, meta, quiet, pool, BATCH_RECORDS, max_bytes, consume, ctx);
}

int read_id_batches(rp_reader *reader, int skip_errors, int quiet, rp_pool *pool, size_t max_records, size_t max_bytes,
                    int (*consume)(void *ctx, batch *b, rp_error *err), void *ctx)
{
	return run_batches(reader, skip_errors, NULL, quiet, pool, max_records, max_bytes, consume, ctx);
}

const char *meta_extra(const record_meta *m, int k, uint64_t seq, size_t *len)
{
	if (!m->keep_extra[k] || seq >= m->n) {
		*len = 0;
		return "";
	}
	uint64_t a = seq ? m->extra_end[k][seq - 1] : 0;
	*len = m->extra_end[k][seq] - a;
	return m->extra[k] + a;
}

void meta_free(record_meta *m)
{
	for (int k = 0; k < RP_MAX_EXTRA; k++) free(m->extra[k]), free(m->extra_end[k]);
	for (size_t i = 0; i < m->nbad; i++) free(m->bad[i].file), free(m->bad[i].message);
	free(m->bad); free(m->ids); free(m->id_end); free(m->id_flags); free(m->raw_end);
	if (m->spool) fclose(m->spool);
	memset(m, 0, sizeof *m);
}
