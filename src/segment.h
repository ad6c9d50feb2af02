/* segment.h — the on-disk format of the persistent index, shared by
 * segment.c (files, sections, packed tables, verification, merging) and
 * index.c (manifest, writer, queries).  Private to the library; the format
 * itself is specified in docs/FORMAT.md. */
#ifndef RP_SEGMENT_H
#define RP_SEGMENT_H

#include <stdint.h>
#include <string.h>
#include "internal.h"

#define SEG_VERSION 1
#define SEG_MAGIC "RPRTSEG1"
#define MAN_MAGIC "RPRTMAN1"
#define SEG_PARAMS_BYTES 64
#define SEG_HEADER_FIXED 104 /* bytes before the section table */
#define SEG_SECTION_BYTES 48
#define MAN_FIXED 104        /* bytes before the segment list */
#define MAN_ENTRY_BYTES 48

/* Key bits kept, as written by this version; readers use the values a
 * segment records (band 16..32, fingerprint 32..40).  A band key of 24 bits
 * makes about bands x documents / 2^24 false candidates per query (1.3 at a
 * million documents), each rejected by its signature; a fingerprint needs
 * more, as one false hit would count as shared text. */
#define BAND_KEY_BITS 24
#define FP_KEY_BITS 40
#define ID_KEY_BITS 32   /* top bits of XXH3-64(id) */
#define EMPTY_KEY_BITS 32

/* Section kinds. */
enum {
	SEC_DOCS = 1,     /* ndocs x 16 bytes: u64 id_end | flags << 62, u32 text_len, u32 nfp */
	SEC_IDS = 2,      /* the ids, concatenated */
	SEC_SIGS = 3,     /* ndocs x sig_bytes: sig_bits-bit MinHash values, packed */
	SEC_TEXT_END = 4, /* ndocs x u64: end of each text in SEC_TEXT (store_text only) */
	SEC_TEXT = 5,     /* the texts, concatenated (store_text only) */
	SEC_DIR = 6,      /* a packed table's bucket directory: (2^d + 1) x u32 */
	SEC_ENT = 7       /* a packed table's entries: bit-packed (key remainder, doc) */
};
static inline int key_bits_valid(unsigned band, unsigned fp)
{
	return band >= 16 && band <= 32 && fp >= 32 && fp <= 40;
}
/* Packed tables: bands 0..bands-1, then these. */
enum { TAB_FP = 1024, TAB_EMPTY = 1025, TAB_ID = 1026 };

#define DOC_EMPTY_FLAG (1ULL << 63)  /* no token: matched by content hash only */
#define DOC_NUMBER_FLAG (1ULL << 62) /* the id was a JSON number */
#define DOC_END_MASK ((1ULL << 62) - 1)

/* The parameters stored in the manifest and in every segment. */
typedef struct {
	uint32_t norm_version, ngram, char_shingles, num_perm, bands, rows;
	double threshold;
	uint64_t seed;
	uint32_t min_words, sig_bits, store_text, band_key_bits, fp_key_bits;
} seg_params;

void seg_params_from(seg_params *sp, const rp_index_params *ip);
void seg_params_to(const seg_params *sp, rp_index_params *ip);
void seg_params_put(uint8_t *b, const seg_params *sp);
void seg_params_get(const uint8_t *b, seg_params *sp);
/* 0 if equal, else fills err naming the first difference ("what" says which
 * files are compared). */
int seg_params_compare(const seg_params *a, const seg_params *b, const char *what, rp_error *err);
static inline size_t seg_sig_bytes(const seg_params *sp) { return ((size_t)sp->num_perm * sp->sig_bits + 7) / 8; }

/* Little-endian encoding (one unaligned load or store on little-endian
 * hosts: the table coders run these per entry). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static inline void put_u32(uint8_t *b, uint32_t v) { memcpy(b, &v, 4); }
static inline void put_u64(uint8_t *b, uint64_t v) { memcpy(b, &v, 8); }
static inline uint32_t get_u32(const uint8_t *b)
{
	uint32_t v;
	memcpy(&v, b, 4);
	return v;
}
static inline uint64_t get_u64(const uint8_t *b)
{
	uint64_t v;
	memcpy(&v, b, 8);
	return v;
}
#else
static inline void put_u32(uint8_t *b, uint32_t v) { for (int i = 0; i < 4; i++) b[i] = (uint8_t)(v >> (8 * i)); }
static inline void put_u64(uint8_t *b, uint64_t v) { for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i)); }
static inline uint32_t get_u32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static inline uint64_t get_u64(const uint8_t *b) { return (uint64_t)get_u32(b) | (uint64_t)get_u32(b + 4) << 32; }
#endif
/* width (<= 57) bits at bit position pos of a little-endian bit stream; the
 * buffer must hold 8 readable bytes from pos / 8. */
static inline uint64_t get_bits(const uint8_t *b, uint64_t pos, unsigned width)
{
	return (get_u64(b + (pos >> 3)) >> (pos & 7)) & ((1ULL << width) - 1);
}

/* A writer's durable steps (every write, fsync, rename, unlink) are announced
 * to this hook first, so a test can stop the process at any of them.  Table
 * writes run on the pool: the hook must be thread-safe. */
typedef struct {
	void (*fn)(void *ctx, const char *step);
	void *ctx;
} seg_hook;
static inline void seg_step(const seg_hook *h, const char *step)
{
	if (h && h->fn) h->fn(h->ctx, step);
}
int seg_pwrite(const seg_hook *h, int fd, const void *buf, size_t len, uint64_t off);
int seg_pread(int fd, void *buf, size_t len, uint64_t off); /* -1 on error or short read */
int seg_fsync(const seg_hook *h, int fd);
int seg_fsync_dir(const seg_hook *h, const char *dir);

/* One section of a segment file. */
typedef struct {
	uint32_t kind, index;
	uint64_t off, len, count;
	uint32_t a, b;     /* SEC_ENT: a = bucket bits d; b = key bits << 8 | doc bits */
	uint64_t checksum; /* XXH64, seed 0, of the section's bytes */
} seg_section;

/* A packed table: entries (key, doc) sorted by key then doc.  Bucket k of
 * the directory holds the entries whose key's top d bits are k; an entry
 * stores the other key bits (rem) and the doc. */
typedef struct {
	const seg_section *dir, *ent;
	uint64_t n;
	unsigned d, keybits, rbits, docbits, width;
} seg_table;

void seg_table_shape(uint64_t n, unsigned keybits, uint64_t ndocs, unsigned *d, unsigned *docbits);

/* ---- writing ---- */
typedef struct segw segw;
/* Plan a segment: sections are added with their exact lengths before any
 * byte is written, so that each is streamed in place. */
rp_status segw_new(segw **out, const seg_params *sp, uint64_t number, uint64_t ndocs, const seg_hook *hook,
                   rp_error *err);
/* Returns the section's index in the plan. */
int segw_plan(segw *w, uint32_t kind, uint32_t index, uint64_t len, uint64_t count, uint32_t a, uint32_t b);
/* Plans a table's directory and entries; returns the entries' plan index. */
int segw_plan_table(segw *w, uint32_t table, uint64_t n, unsigned keybits);
rp_status segw_open(segw *w, const char *path, rp_error *err);
/* Streams: bytes appended to one planned section, through a buffer. */
typedef struct secw secw;
rp_status secw_open(segw *w, int section, secw **out, rp_error *err);
rp_status secw_put(secw *s, const void *buf, size_t len, rp_error *err);
rp_status secw_close(secw *s, rp_error *err); /* checks the length; frees s */
void secw_abort(secw *s);
/* A table writer: entries in (key, doc) order. */
typedef struct tabw tabw;
rp_status tabw_open(segw *w, int ent_section, tabw **out, rp_error *err);
rp_status tabw_add(tabw *t, uint64_t key, uint32_t doc, rp_error *err);
rp_status tabw_close(tabw *t, rp_error *err);
void tabw_abort(tabw *t);
/* Write the header, fsync and close.  *size and *checksum (the header's)
 * identify the file in the manifest. */
rp_status segw_finish(segw *w, uint64_t *size, uint64_t *checksum, rp_error *err);
void segw_free(segw *w); /* closes; the caller removes an unfinished file */

/* ---- reading ---- */
typedef struct seg {
	char *path;
	int fd;
	uint64_t size, checksum, number, ndocs;
	seg_params p;
	seg_section *sec;
	uint32_t nsec;
	const seg_section *docs, *ids, *sigs, *text_end, *text;
	seg_table *tab; /* bands, then fp, empty, id */
	uint64_t non_empty, empty, nfp_total;
	uint8_t *deleted; /* bitmap, or NULL */
	uint64_t ndeleted;
	uint64_t part_bytes[5]; /* docs+ids, sigs, bands, fingerprints, text (see rp_index_info) */
} seg;

/* Open and verify every byte of a segment: the header and each section's
 * checksum, the layout, and the counts that tie the sections together.
 * expect: the parameters it must have; size and checksum: what the manifest
 * says (0 to skip). */
rp_status seg_open(seg **out, const char *path, const seg_params *expect, uint64_t size, uint64_t checksum,
                   rp_error *err);
void seg_close(seg *s);
seg_table *seg_tab(seg *s, uint32_t table);
static inline int seg_is_deleted(const seg *s, uint64_t doc)
{
	return s->deleted && (s->deleted[doc >> 3] >> (doc & 7) & 1);
}
/* Read bytes of a section (bounds-checked). */
rp_status seg_read(seg *s, const seg_section *sec, uint64_t off, void *buf, size_t len, rp_error *err);
typedef struct {
	uint64_t id_start, id_end, text_len;
	uint32_t nfp;
	int empty, id_is_number;
} seg_doc;
rp_status seg_doc_get(seg *s, uint64_t doc, seg_doc *d, rp_error *err);
/* Growable byte buffer for lookups. */
typedef struct { uint8_t *p; size_t cap; } seg_buf;
/* Docs of the entries with this key, appended to *docs (grown as needed). */
rp_status seg_table_find(seg *s, const seg_table *t, uint64_t key, seg_buf *buf, uint32_t **docs, size_t *n,
                         size_t *cap, rp_error *err);
/* Same, but only the number of entries with the key when there are more than
 * limit (then nothing is appended). */
rp_status seg_table_find_limit(seg *s, const seg_table *t, uint64_t key, uint64_t limit, seg_buf *buf,
                               uint32_t **docs, size_t *n, size_t *cap, uint64_t *count, rp_error *err);

/* Sequential reading of a table. */
typedef struct tabr tabr;
rp_status tabr_open(seg *s, const seg_table *t, tabr **out, rp_error *err);
int tabr_next(tabr *r, uint64_t *key, uint32_t *doc, rp_error *err); /* 1, 0 at the end, < 0 error */
void tabr_free(tabr *r);

/* ---- merging ---- */
typedef struct {
	seg *s;
	const uint8_t *drop; /* bitmap of docs left out (deleted), or NULL */
} merge_input;
/* Merge segments into one new segment `number` written at path: documents
 * in input order, minus dropped ones and minus ids already seen in an earlier
 * input (counted in *dups); the tables are merged on the pool (NULL: this
 * thread).  *docs == 0: nothing was written. */
rp_status seg_merge(merge_input *in, size_t k, const seg_params *sp, const char *path, uint64_t number,
                    const seg_hook *hook, rp_pool *pool, uint64_t *docs, uint64_t *dups, uint64_t *size,
                    uint64_t *checksum, rp_error *err);

/* Id hashing. */
uint64_t seg_id_hash(const char *id, size_t len);
/* Compare id of doc with (id, len): 1 equal, 0 not, < 0 error. */
int seg_id_equal(seg *s, uint64_t doc, const char *id, size_t len, seg_buf *buf, rp_error *err);
int seg_error(rp_error *err, int code, const char *path, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* RP_EIO for a failed system call (errno): "what: strerror(errno)", or, when
 * the process (EMFILE) or the system (ENFILE) has no file descriptor left,
 * a message starting with SEG_EMFILE, which index.c completes with the
 * number of segments (each holds a descriptor) and what to do. */
#define SEG_EMFILE "too many open files"
int seg_sys_error(rp_error *err, const char *path, const char *what);
#endif
