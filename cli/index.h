/* index.h — what `reprint dedup --index DIR [--add]` uses of the index
 * (cli/index.c): query each batch against the index as it is read, and with
 * --add, add the documents dedup keeps once it has decided. */
#ifndef RP_CLI_INDEX_H
#define RP_CLI_INDEX_H
#include "reprint.h"
#include "input.h"

typedef struct dedup_index dedup_index;
/* Open DIR (for writing with add) and check that p are its parameters.
 * Returns 0, or the exit status after printing the error. */
int dedup_index_open(dedup_index **out, const rp_params *p, const char *dir, int add, rp_pool *pool);
/* Records seq .. seq + n - 1, in input order: find their near-duplicates
 * in the index; with add, sketch them for adding. */
rp_status dedup_index_batch(dedup_index *x, size_t n, const char *const *texts, const size_t *lens,
                            const int *bad, rp_error *err);
/* 1 if record seq near-duplicates an indexed document: its id (valid until
 * dedup_index_free) and the estimated Jaccard. */
int dedup_index_match(const dedup_index *x, uint64_t seq, const char **id, size_t *len, int *is_number,
                      double *jaccard);
/* With add: add every record whose drop[seq] is 0 (ids from meta) and
 * publish.  Returns 0 or -1 after printing the error. */
int dedup_index_commit(dedup_index *x, const record_meta *meta, const uint8_t *drop, int quiet);
void dedup_index_free(dedup_index *x);
#endif
