/* refetch.h — where each record's text can be read again, so that dedup's
 * exact checks fetch the few texts they compare instead of the library
 * spilling every document's shingles to a temporary file. */
#ifndef RP_REFETCH_H
#define RP_REFETCH_H
#include "reprint.h"

typedef struct refetch refetch;

/* A store for a run whose exact checks run on nslots threads; NULL if out of
 * memory. */
refetch *refetch_new(int nslots);
/* Note where record rec (the next seq) is: its place in its input file when
 * the reader says it can be read there again, else its text goes to a
 * temporary spool file.  A bad record is noted as empty.  A failure to spool
 * is reported by refetch_ready. */
void refetch_add(refetch *f, const rp_record *rec);
/* Reading is over: flush the spool.  0, or -1 after printing an error. */
int refetch_ready(refetch *f);
/* The rp_dedup_fetch_fn: record seq's text, read again. */
rp_status refetch_text(void *ctx, int slot, uint64_t seq, const char **text, size_t *len, rp_error *err);
/* After the checks: 0 if no file whose texts were read again has changed
 * since it was first read (size or modification time), else -1 after
 * printing which did. */
int refetch_unchanged(refetch *f);
void refetch_free(refetch *f);
#endif
