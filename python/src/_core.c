/* _core.c — reprint._core: the CPython extension over libreprint.
 *
 * Built against the limited API of Python 3.11 (one abi3 wheel for every
 * Python >= 3.11).  Everything here is thin: it turns Python objects into the
 * pointers and lengths the library takes, runs the library with the GIL
 * released, and turns results back into compact bytes objects that the
 * Python layer (reprint/__init__.py) views as arrays.  Long calls work in
 * batches (BATCH_DOCS documents or BATCH_BYTES bytes of text) and check for
 * Ctrl-C between batches with the GIL held, so KeyboardInterrupt arrives
 * within one batch.  Library errors become reprint.ReprintError (a
 * ValueError), reprint.ReprintIOError (also an OSError) or MemoryError, with
 * the library's message.
 *
 * Objects that hold a library handle (Dedup, Reuse, Reader) refuse to be
 * used by two Python threads at once (RuntimeError): the library handles are
 * not thread-safe and the GIL is released while they work. */
#ifndef Py_LIMITED_API
#define Py_LIMITED_API 0x030B0000
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "reprint.h"
#include "internal.h" /* rp_utf8_sequence: JSON strings as the CLI writes them */

#define BATCH_DOCS 8192
#define BATCH_BYTES (2u << 20) /* as the command's (cli/input.h): fewer fresh pages */

static PyObject *ReprintError;   /* ValueError */
static PyObject *ReprintIOError; /* ReprintError and OSError */

/* ---- errors ---------------------------------------------------------------- */

/* Raise the Python exception for a library error.  index >= 0 names the
 * document (0-based position in the whole call) the error belongs to. */
static PyObject *raise_rp(const rp_error *err, int code, Py_ssize_t index)
{
	char buf[1200], msg[1300];
	if (code == 0) code = err->code;
	rp_error_format(err, buf, sizeof buf);
	if (index >= 0) snprintf(msg, sizeof msg, "document %zd: %s", index, buf);
	else snprintf(msg, sizeof msg, "%s", buf);
	if (code == RP_ENOMEM) {
		PyErr_SetString(PyExc_MemoryError, msg);
		return NULL;
	}
	if (code == RP_EINTR) {
		PyErr_SetNone(PyExc_KeyboardInterrupt);
		return NULL;
	}
	PyObject *cls = code == RP_EIO ? ReprintIOError : ReprintError;
	/* a file name that is not UTF-8 (reprint: nu/f\xff.jsonl: cannot open)
	 * printable in the message; its bytes back from .file (surrogateescape,
	 * as os.fsdecode) */
	PyObject *text = PyUnicode_DecodeUTF8(msg, (Py_ssize_t)strlen(msg), "backslashreplace");
	if (!text) return NULL;
	PyObject *exc = PyObject_CallFunctionObjArgs(cls, text, NULL);
	Py_DECREF(text);
	if (!exc) return NULL;
	PyObject *v;
	if ((v = PyLong_FromLong(code))) PyObject_SetAttrString(exc, "code", v), Py_DECREF(v);
	if ((v = PyUnicode_DecodeUTF8(err->message, (Py_ssize_t)strnlen(err->message, sizeof err->message), "replace")))
		PyObject_SetAttrString(exc, "message", v), Py_DECREF(v);
	if ((v = PyUnicode_DecodeUTF8(err->file, (Py_ssize_t)strnlen(err->file, sizeof err->file), "surrogateescape")))
		PyObject_SetAttrString(exc, "file", v), Py_DECREF(v);
	if ((v = PyLong_FromUnsignedLongLong(err->line))) PyObject_SetAttrString(exc, "line", v), Py_DECREF(v);
	if ((v = PyLong_FromUnsignedLongLong(err->byte))) PyObject_SetAttrString(exc, "byte", v), Py_DECREF(v);
	if (index >= 0) {
		if ((v = PyLong_FromSsize_t(index))) PyObject_SetAttrString(exc, "index", v), Py_DECREF(v);
	} else {
		PyObject_SetAttrString(exc, "index", Py_None);
	}
	PyErr_Clear(); /* a failed SetAttr above must not mask the exception */
	PyErr_SetObject(cls, exc);
	Py_DECREF(exc);
	return NULL;
}

static PyObject *raise_usage(const char *msg)
{
	rp_error e = {0};
	e.code = RP_EUSAGE;
	snprintf(e.message, sizeof e.message, "%s", msg);
	return raise_rp(&e, RP_EUSAGE, -1);
}

/* ---- parameters -------------------------------------------------------- */

static const char *const param_kw[] = {"ngram", "char_shingles", "num_perm", "bands", "rows", "threshold",
                                       "verify", "keep_longest", "seed", NULL};

/* Parameters from keyword arguments (any missing keeps its default), then
 * resolved.  Returns 0 or -1 with an exception set. */
static int params_from(PyObject *kw, rp_params *p, int resolve)
{
	rp_params_default(p);
	if (kw) {
		PyObject *v;
		int *ints[] = {&p->ngram, &p->char_shingles, &p->num_perm, &p->bands, &p->rows};
		for (int i = 0; i < 5; i++) {
			if (!(v = PyDict_GetItemString(kw, param_kw[i]))) continue;
			long x = PyLong_AsLong(v);
			if (x == -1 && PyErr_Occurred()) return -1;
			if (x < -1000000 || x > 1000000) return raise_usage("integer parameter out of range"), -1;
			*ints[i] = (int)x;
		}
		if ((v = PyDict_GetItemString(kw, "threshold"))) {
			p->threshold = PyFloat_AsDouble(v);
			if (p->threshold == -1.0 && PyErr_Occurred()) return -1;
		}
		if ((v = PyDict_GetItemString(kw, "verify"))) {
			long x = PyLong_AsLong(v);
			if (x == -1 && PyErr_Occurred()) return -1;
			p->verify = (int)x;
		}
		if ((v = PyDict_GetItemString(kw, "keep_longest"))) {
			int x = PyObject_IsTrue(v);
			if (x < 0) return -1;
			p->keep_longest = x;
		}
		if ((v = PyDict_GetItemString(kw, "seed"))) {
			unsigned long long x = PyLong_AsUnsignedLongLong(v);
			if (x == (unsigned long long)-1 && PyErr_Occurred()) return -1;
			p->seed = x;
		}
	}
	if (resolve) {
		rp_error err = {0};
		if (rp_params_resolve(p, &err)) return raise_rp(&err, 0, -1), -1;
	} else if (p->num_perm < 1 || p->num_perm > RP_MAX_PERM) {
		return raise_usage("num_perm must be in 1..1024"), -1;
	} else if (p->ngram < 1 || p->ngram > 64) {
		return raise_usage("ngram must be in 1..64"), -1;
	}
	return 0;
}

/* resolve_params(**params) -> dict: the parameters after rp_params_resolve,
 * plus the verification margin. */
static PyObject *py_resolve_params(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	if (PyTuple_Size(args) != 0) return PyErr_SetString(PyExc_TypeError, "keyword arguments only"), NULL;
	rp_params p;
	if (params_from(kw, &p, 1)) return NULL;
	return Py_BuildValue("{s:i,s:i,s:i,s:i,s:i,s:d,s:i,s:i,s:K,s:d}", "ngram", p.ngram, "char_shingles",
	                     p.char_shingles, "num_perm", p.num_perm, "bands", p.bands, "rows", p.rows, "threshold",
	                     p.threshold, "verify", p.verify, "keep_longest", p.keep_longest, "seed",
	                     (unsigned long long)p.seed, "margin", rp_verify_margin(&p));
}

static PyObject *py_lsh_choose(PyObject *self, PyObject *args)
{
	(void)self;
	double t;
	int k, b, r;
	if (!PyArg_ParseTuple(args, "di", &t, &k)) return NULL;
	if (k < 1 || k > RP_MAX_PERM) return raise_usage("num_perm must be in 1..1024");
	rp_lsh_choose(t, k, &b, &r);
	return Py_BuildValue("(ii)", b, r);
}

static PyObject *py_lsh_probability(PyObject *self, PyObject *args)
{
	(void)self;
	int b, r;
	double s;
	if (!PyArg_ParseTuple(args, "iid", &b, &r, &s)) return NULL;
	return PyFloat_FromDouble(rp_lsh_probability(b, r, s));
}

/* ---- texts ------------------------------------------------------------- */

/* A str that has no UTF-8 (a lone surrogate, as json.loads makes of
 * "\ud800"): a bad text, ReprintError (RP_EDATA) like invalid UTF-8 in
 * bytes, naming the document when index >= 0; never UnicodeEncodeError. */
static int bad_unicode(Py_ssize_t index)
{
	if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) return -1;
	PyErr_Clear();
	rp_error e = {0};
	e.code = RP_EDATA;
	snprintf(e.message, sizeof e.message, "text is not valid Unicode: surrogates not allowed");
	raise_rp(&e, RP_EDATA, index);
	return -1;
}

/* The UTF-8 bytes of a str or bytes object (borrowed from it); index names
 * the document in an error (-1: none). */
static int text_at(PyObject *o, const char **s, size_t *n, Py_ssize_t index)
{
	Py_ssize_t len;
	if (PyUnicode_Check(o)) {
		const char *p = PyUnicode_AsUTF8AndSize(o, &len);
		if (!p) return bad_unicode(index);
		*s = p, *n = (size_t)len;
		return 0;
	}
	if (PyBytes_Check(o)) {
		char *p;
		if (PyBytes_AsStringAndSize(o, &p, &len)) return -1;
		*s = p, *n = (size_t)len;
		return 0;
	}
	PyErr_Format(PyExc_TypeError, "expected str or bytes, got %S", (PyObject *)Py_TYPE(o));
	return -1;
}

static int text_of(PyObject *o, const char **s, size_t *n)
{
	return text_at(o, s, n, -1);
}

/* A batch of texts taken from a list: pointers into the objects, which it
 * holds references to, so the GIL can be released while the library reads
 * them even if the caller's list changes meanwhile. */
typedef struct {
	size_t n, cap;
	const char **ptr;
	size_t *len;
	int *bad;
	PyObject **ref;
	size_t bytes;
} text_batch;

static void batch_clear(text_batch *b)
{
	for (size_t i = 0; i < b->n; i++) Py_XDECREF(b->ref[i]);
	b->n = 0;
	b->bytes = 0;
}

static void batch_free(text_batch *b)
{
	batch_clear(b);
	PyMem_Free(b->ptr), PyMem_Free(b->len), PyMem_Free(b->bad), PyMem_Free(b->ref);
	memset(b, 0, sizeof *b);
}

static int batch_reserve(text_batch *b, size_t n)
{
	if (n <= b->cap) return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < n) cap *= 2;
	void *q;
	if (!(q = PyMem_Realloc(b->ptr, cap * sizeof *b->ptr))) goto nomem;
	b->ptr = q;
	if (!(q = PyMem_Realloc(b->len, cap * sizeof *b->len))) goto nomem;
	b->len = q;
	if (!(q = PyMem_Realloc(b->bad, cap * sizeof *b->bad))) goto nomem;
	b->bad = q;
	if (!(q = PyMem_Realloc(b->ref, cap * sizeof *b->ref))) goto nomem;
	b->ref = q;
	b->cap = cap;
	return 0;
nomem:
	PyErr_NoMemory();
	return -1;
}

/* Fill b from list items [*at, ...) until BATCH_DOCS or BATCH_BYTES; a None
 * item (or bad[i] != 0) is a bad record, passed to the library as such.  A
 * str that has no UTF-8 raises ReprintError naming document first + its
 * position in the list (first < 0: naming none). */
static int batch_fill_at(text_batch *b, PyObject *list, Py_ssize_t *at, const char *bad, Py_ssize_t first)
{
	batch_clear(b);
	Py_ssize_t n = PyList_Size(list);
	if (n < 0) return -1;
	while (*at < n && b->n < BATCH_DOCS && b->bytes < BATCH_BYTES) {
		if (batch_reserve(b, b->n + 1)) return -1;
		PyObject *o = PyList_GetItem(list, *at);
		if (!o) return -1;
		size_t i = b->n;
		b->ref[i] = NULL;
		if (o == Py_None || (bad && bad[*at])) {
			b->ptr[i] = "";
			b->len[i] = 0;
			b->bad[i] = 1;
		} else {
			if (text_at(o, &b->ptr[i], &b->len[i], first < 0 ? -1 : first + *at)) return -1;
			b->bad[i] = 0;
			Py_INCREF(o);
			b->ref[i] = o;
			b->bytes += b->len[i];
		}
		b->n++;
		(*at)++;
	}
	return 0;
}

static int batch_fill(text_batch *b, PyObject *list, Py_ssize_t *at, const char *bad)
{
	return batch_fill_at(b, list, at, bad, -1);
}

/* The first text of a batch the tokenizer refuses, and its error. */
static size_t find_bad_text(const text_batch *b, int char_tokens, uint64_t seed, rp_error *err)
{
	rp_tokens t = {0};
	size_t i;
	for (i = 0; i < b->n; i++)
		if (!b->bad[i] && rp_tokenize(b->ptr[i], b->len[i], char_tokens, seed, &t, err)) break;
	rp_tokens_free(&t);
	return i;
}

static int list_check(PyObject *o, const char *what)
{
	if (PyList_Check(o)) return 0;
	PyErr_Format(PyExc_TypeError, "%s must be a list", what);
	return -1;
}

/* Bytes of a buffer (bytes, bytearray, memoryview, array, ndarray) as a
 * contiguous read-only view. */
static int view_of(PyObject *o, Py_buffer *v, int writable)
{
	return PyObject_GetBuffer(o, v, (writable ? PyBUF_WRITABLE : 0) | PyBUF_C_CONTIGUOUS);
}

static PyObject *new_bytes(size_t n, char **data)
{
	PyObject *b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n ? n : 0));
	if (!b) return NULL;
	*data = PyBytes_AsString(b);
	return b;
}

static int default_threads(int threads)
{
	if (threads > 0) return threads;
	long c = sysconf(_SC_NPROCESSORS_ONLN);
	return c > 0 ? (int)c : 1;
}

/* ---- sketching many texts on threads ------------------------------------ */

typedef struct {
	const char *const *ptr;
	const size_t *len;
	const int *bad;
	size_t n;
	const rp_params *p;
	uint32_t *sig;       /* n x K */
	uint64_t *nshingles; /* n, or NULL */
	uint64_t *content;   /* n, or NULL */
	atomic_size_t next;
	pthread_mutex_t mu;
	size_t fail;         /* lowest failing index, n if none */
	rp_error err;
} sketch_job;

static void *sketch_worker(void *v)
{
	sketch_job *j = v;
	rp_tokens tok = {0};
	const size_t K = (size_t)j->p->num_perm;
	for (;;) {
		size_t i0 = atomic_fetch_add(&j->next, 16);
		if (i0 >= j->n) break;
		size_t i1 = i0 + 16 < j->n ? i0 + 16 : j->n;
		for (size_t i = i0; i < i1; i++) {
			size_t ns = 0;
			uint64_t content = 0;
			rp_error e;
			if (j->bad && j->bad[i]) {
				for (size_t k = 0; k < K; k++) j->sig[i * K + k] = RP_SIG_EMPTY;
			} else if (rp_sketch_text(j->ptr[i], j->len[i], j->p, &tok, j->sig + i * K, &ns, &content, &e)) {
				pthread_mutex_lock(&j->mu);
				if (i < j->fail) j->fail = i, j->err = e;
				pthread_mutex_unlock(&j->mu);
				continue;
			}
			if (j->nshingles) j->nshingles[i] = ns;
			if (j->content) j->content[i] = content;
		}
	}
	rp_tokens_free(&tok);
	return NULL;
}

/* Sketch j->n texts on up to `threads` threads (the caller is one).  Called
 * without the GIL. */
static void sketch_run(sketch_job *j, int threads)
{
	atomic_init(&j->next, 0);
	pthread_mutex_init(&j->mu, NULL);
	j->fail = j->n;
	size_t most = j->n / 64 + 1;
	if ((size_t)threads > most) threads = (int)most;
	pthread_t th[256];
	int started = 0;
	for (int t = 1; t < threads && t < 256; t++, started++)
		if (pthread_create(&th[started], NULL, sketch_worker, j)) break;
	sketch_worker(j);
	for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
	pthread_mutex_destroy(&j->mu);
}

/* sketch(texts, threads=0, meta=False, **params) -> sigs or (sigs, nshingles, content)
 * sigs: bytes of n x K uint32 (native order); nshingles, content: n uint64. */
static PyObject *py_sketch(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	PyObject *list;
	int threads = 0, meta = 0;
	if (!PyArg_ParseTuple(args, "O|ip", &list, &threads, &meta)) return NULL;
	if (list_check(list, "texts")) return NULL;
	rp_params p;
	if (params_from(kw, &p, 0)) return NULL;
	threads = default_threads(threads);
	Py_ssize_t n = PyList_Size(list);
	const size_t K = (size_t)p.num_perm;
	char *sd, *nd = NULL, *cd = NULL;
	PyObject *sigs = new_bytes((size_t)n * K * 4, &sd), *nsh = NULL, *content = NULL;
	if (!sigs) return NULL;
	if (meta) {
		nsh = new_bytes((size_t)n * 8, &nd);
		content = new_bytes((size_t)n * 8, &cd);
		if (!nsh || !content) goto fail;
	}
	text_batch b = {0};
	Py_ssize_t at = 0;
	while (at < n) {
		Py_ssize_t base = at;
		if (batch_fill(&b, list, &at, NULL)) goto fail_batch;
		sketch_job j = {.ptr = b.ptr, .len = b.len, .bad = b.bad, .n = b.n, .p = &p,
		                .sig = (uint32_t *)sd + (size_t)base * K,
		                .nshingles = meta ? (uint64_t *)nd + base : NULL,
		                .content = meta ? (uint64_t *)cd + base : NULL};
		Py_BEGIN_ALLOW_THREADS
		sketch_run(&j, threads);
		Py_END_ALLOW_THREADS
		if (j.fail < j.n) {
			raise_rp(&j.err, 0, base + (Py_ssize_t)j.fail);
			goto fail_batch;
		}
		if (PyErr_CheckSignals()) goto fail_batch;
	}
	batch_free(&b);
	if (!meta) return sigs;
	return Py_BuildValue("(NNN)", sigs, nsh, content);
fail_batch:
	batch_free(&b);
fail:
	Py_XDECREF(sigs);
	Py_XDECREF(nsh);
	Py_XDECREF(content);
	return NULL;
}

/* sketch_arrow(data, offsets, offset_bytes, n, threads=0, **params) ->
 * (sigs, nshingles, content): the texts of an Arrow string column, given as
 * its value buffer and its n + 1 offsets (4 or 8 bytes each, already sliced
 * to the array's offset), sketched without making a Python object per text. */
static PyObject *py_sketch_arrow(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	PyObject *data_o, *off_o;
	int width, threads = 0;
	Py_ssize_t n;
	if (!PyArg_ParseTuple(args, "OOin|i", &data_o, &off_o, &width, &n, &threads)) return NULL;
	if ((width != 4 && width != 8) || n < 0) return raise_usage("offsets must be 4 or 8 bytes wide");
	rp_params p;
	if (params_from(kw, &p, 0)) return NULL;
	threads = default_threads(threads);
	Py_buffer data, off;
	if (view_of(data_o, &data, 0)) return NULL;
	if (view_of(off_o, &off, 0)) {
		PyBuffer_Release(&data);
		return NULL;
	}
	PyObject *sigs = NULL, *nsh = NULL, *content = NULL;
	const char **ptr = NULL;
	size_t *len = NULL;
	if ((size_t)off.len < ((size_t)n + 1) * (size_t)width) {
		raise_usage("offsets buffer too short");
		goto out;
	}
	const size_t K = (size_t)p.num_perm;
	char *sd, *nd, *cd;
	sigs = new_bytes((size_t)n * K * 4, &sd);
	nsh = new_bytes((size_t)n * 8, &nd);
	content = new_bytes((size_t)n * 8, &cd);
	ptr = PyMem_Malloc(((size_t)n + 1) * sizeof *ptr);
	len = PyMem_Malloc(((size_t)n + 1) * sizeof *len);
	if (!sigs || !nsh || !content || !ptr || !len) {
		if (!PyErr_Occurred()) PyErr_NoMemory();
		goto fail;
	}
	for (Py_ssize_t i = 0; i < n; i++) {
		int64_t a, e;
		if (width == 4) a = ((const int32_t *)off.buf)[i], e = ((const int32_t *)off.buf)[i + 1];
		else a = ((const int64_t *)off.buf)[i], e = ((const int64_t *)off.buf)[i + 1];
		if (a < 0 || e < a || e > data.len) {
			raise_usage("Arrow offsets out of range");
			goto fail;
		}
		ptr[i] = (const char *)data.buf + a;
		len[i] = (size_t)(e - a);
	}
	for (Py_ssize_t base = 0; base < n;) {
		Py_ssize_t m = n - base < BATCH_DOCS ? n - base : BATCH_DOCS;
		sketch_job j = {.ptr = ptr + base, .len = len + base, .n = (size_t)m, .p = &p,
		                .sig = (uint32_t *)sd + (size_t)base * K,
		                .nshingles = (uint64_t *)nd + base, .content = (uint64_t *)cd + base};
		Py_BEGIN_ALLOW_THREADS
		sketch_run(&j, threads);
		Py_END_ALLOW_THREADS
		if (j.fail < j.n) {
			raise_rp(&j.err, 0, base + (Py_ssize_t)j.fail);
			goto fail;
		}
		if (PyErr_CheckSignals()) goto fail;
		base += m;
	}
	PyMem_Free(ptr);
	PyMem_Free(len);
	PyBuffer_Release(&data);
	PyBuffer_Release(&off);
	return Py_BuildValue("(NNN)", sigs, nsh, content);
fail:
	Py_XDECREF(sigs);
	Py_XDECREF(nsh);
	Py_XDECREF(content);
out:
	PyMem_Free(ptr);
	PyMem_Free(len);
	PyBuffer_Release(&data);
	PyBuffer_Release(&off);
	return NULL;
}

/* shingles(text, **params) -> bytes of uint64 shingle hashes, in text order
 * (what the sketch is computed from). */
static PyObject *py_shingles(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	PyObject *o;
	if (!PyArg_ParseTuple(args, "O", &o)) return NULL;
	rp_params p;
	if (params_from(kw, &p, 0)) return NULL;
	const char *s;
	size_t n;
	if (text_of(o, &s, &n)) return NULL;
	rp_tokens t = {0};
	rp_error err;
	int rc;
	Py_BEGIN_ALLOW_THREADS
	rc = rp_tokenize(s, n, p.char_shingles, p.seed, &t, &err);
	Py_END_ALLOW_THREADS
	if (rc) {
		rp_tokens_free(&t);
		return raise_rp(&err, rc, -1);
	}
	char *d;
	PyObject *out = new_bytes((t.n ? t.n : 1) * 8, &d);
	if (out) {
		size_t m = rp_shingles(t.hash, t.n, p.ngram, (uint64_t *)d);
		if (m < (t.n ? t.n : 1)) {
			PyObject *cut = PyBytes_FromStringAndSize(d, (Py_ssize_t)(m * 8));
			Py_DECREF(out);
			out = cut;
		}
	}
	rp_tokens_free(&t);
	return out;
}

/* sig_jaccard(a, b) -> float: fraction of equal values of two signatures
 * (buffers of uint32 of the same length). */
static PyObject *py_sig_jaccard(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *ao, *bo;
	if (!PyArg_ParseTuple(args, "OO", &ao, &bo)) return NULL;
	Py_buffer a, b;
	if (view_of(ao, &a, 0)) return NULL;
	if (view_of(bo, &b, 0)) {
		PyBuffer_Release(&a);
		return NULL;
	}
	PyObject *r = NULL;
	if (a.len != b.len || a.len % 4) raise_usage("signatures differ in length");
	else r = PyFloat_FromDouble(rp_sig_jaccard(a.buf, b.buf, (int)(a.len / 4)));
	PyBuffer_Release(&a);
	PyBuffer_Release(&b);
	return r;
}

/* sig_jaccard_many(a, b, K) -> bytes of n doubles: row i of a against row i
 * of b, both n x K uint32. */
static PyObject *py_sig_jaccard_many(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *ao, *bo;
	int K;
	if (!PyArg_ParseTuple(args, "OOi", &ao, &bo, &K)) return NULL;
	if (K < 1 || K > RP_MAX_PERM) return raise_usage("num_perm must be in 1..1024");
	Py_buffer a, b;
	if (view_of(ao, &a, 0)) return NULL;
	if (view_of(bo, &b, 0)) {
		PyBuffer_Release(&a);
		return NULL;
	}
	PyObject *r = NULL;
	size_t row = (size_t)K * 4;
	if (a.len != b.len || (size_t)a.len % row) {
		raise_usage("signature arrays differ in shape");
	} else {
		size_t n = (size_t)a.len / row;
		char *d;
		if ((r = new_bytes(n * 8, &d))) {
			Py_BEGIN_ALLOW_THREADS
			for (size_t i = 0; i < n; i++)
				((double *)d)[i] = rp_sig_jaccard((const uint32_t *)a.buf + i * (size_t)K,
				                                  (const uint32_t *)b.buf + i * (size_t)K, K);
			Py_END_ALLOW_THREADS
		}
	}
	PyBuffer_Release(&a);
	PyBuffer_Release(&b);
	return r;
}

/* band_keys(sigs, K, bands, rows) -> bytes of n x bands uint64: what rp_dedup
 * buckets documents by. */
static PyObject *py_band_keys(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *so;
	int K, bands, rows;
	if (!PyArg_ParseTuple(args, "Oiii", &so, &K, &bands, &rows)) return NULL;
	if (K < 1 || K > RP_MAX_PERM || bands < 1 || rows < 1 || (long)bands * rows > K)
		return raise_usage("bands x rows must be at most num_perm");
	Py_buffer s;
	if (view_of(so, &s, 0)) return NULL;
	PyObject *r = NULL;
	size_t row = (size_t)K * 4;
	if ((size_t)s.len % row) {
		raise_usage("signature buffer is not a whole number of signatures");
	} else {
		size_t n = (size_t)s.len / row;
		char *d;
		if ((r = new_bytes(n * (size_t)bands * 8, &d))) {
			Py_BEGIN_ALLOW_THREADS
			for (size_t i = 0; i < n; i++)
				for (int b = 0; b < bands; b++)
					((uint64_t *)d)[i * (size_t)bands + (size_t)b] =
						rp_band_key((const uint32_t *)s.buf + i * (size_t)K, b, rows);
			Py_END_ALLOW_THREADS
		}
	}
	PyBuffer_Release(&s);
	return r;
}

/* text_jaccard(a, b, **params) -> float: exact Jaccard of the shingle sets. */
static PyObject *py_text_jaccard(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	PyObject *ao, *bo;
	if (!PyArg_ParseTuple(args, "OO", &ao, &bo)) return NULL;
	rp_params p;
	if (params_from(kw, &p, 0)) return NULL;
	const char *a, *b;
	size_t na, nb;
	if (text_of(ao, &a, &na) || text_of(bo, &b, &nb)) return NULL;
	double j = 0;
	rp_error err;
	int rc;
	Py_INCREF(ao), Py_INCREF(bo);
	Py_BEGIN_ALLOW_THREADS
	rc = rp_text_jaccard(a, na, b, nb, &p, &j, &err);
	Py_END_ALLOW_THREADS
	Py_DECREF(ao), Py_DECREF(bo);
	if (rc) return raise_rp(&err, rc, -1);
	return PyFloat_FromDouble(j);
}

/* text_jaccard_many(a_list, b_list, **params) -> bytes of n doubles. */
static PyObject *py_text_jaccard_many(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	PyObject *al, *bl;
	if (!PyArg_ParseTuple(args, "OO", &al, &bl)) return NULL;
	if (list_check(al, "a") || list_check(bl, "b")) return NULL;
	rp_params p;
	if (params_from(kw, &p, 0)) return NULL;
	Py_ssize_t n = PyList_Size(al);
	if (PyList_Size(bl) != n) return raise_usage("the two lists differ in length");
	char *d;
	PyObject *out = new_bytes((size_t)n * 8, &d);
	if (!out) return NULL;
	text_batch a = {0}, b = {0};
	Py_ssize_t at_a = 0, at_b = 0;
	while (at_a < n) {
		Py_ssize_t base = at_a;
		if (batch_fill(&a, al, &at_a, NULL)) goto fail;
		at_b = base;
		/* b takes exactly as many items as a did */
		batch_clear(&b);
		if (batch_reserve(&b, a.n)) goto fail;
		for (size_t i = 0; i < a.n; i++, at_b++) {
			PyObject *o = PyList_GetItem(bl, at_b);
			if (!o || text_of(o, &b.ptr[i], &b.len[i])) goto fail;
			Py_INCREF(o);
			b.ref[i] = o;
			b.bad[i] = 0;
			b.n = i + 1;
		}
		for (size_t i = 0; i < a.n; i++)
			if (a.bad[i]) {
				PyErr_SetString(PyExc_TypeError, "expected str or bytes, got None");
				goto fail;
			}
		size_t failed = a.n;
		rp_error err;
		Py_BEGIN_ALLOW_THREADS
		for (size_t i = 0; i < a.n; i++)
			if (rp_text_jaccard(a.ptr[i], a.len[i], b.ptr[i], b.len[i], &p, (double *)d + base + i, &err)) {
				failed = i;
				break;
			}
		Py_END_ALLOW_THREADS
		if (failed < a.n) {
			raise_rp(&err, 0, base + (Py_ssize_t)failed);
			goto fail;
		}
		if (PyErr_CheckSignals()) goto fail;
	}
	batch_free(&a);
	batch_free(&b);
	return out;
fail:
	batch_free(&a);
	batch_free(&b);
	Py_DECREF(out);
	return NULL;
}

static PyObject *py_verify_margin(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	if (PyTuple_Size(args) != 0) return PyErr_SetString(PyExc_TypeError, "keyword arguments only"), NULL;
	rp_params p;
	if (params_from(kw, &p, 1)) return NULL;
	return PyFloat_FromDouble(rp_verify_margin(&p));
}

/* ---- MinHash (datasketch-style) helpers -------------------------------------
 * A MinHash keeps the K one-permutation bins before densification (K uint32,
 * RP_SIG_EMPTY where no shingle fell), so that updates and merges are bin-wise
 * minima.  The bin of a shingle hash and its value follow src/sketch.c: bin =
 * high bits of h * K, value = low 32 bits of h (RP_SIG_EMPTY moved down by
 * one).  The digest densifies by handing rp_sketch one synthetic hash per
 * filled bin that lands in the same bin with the same value, so it equals
 * rp_sketch over the original shingles bit for bit (tested). */

static inline void bin_update(uint32_t *bins, uint64_t K, uint64_t h)
{
	uint32_t bin = (uint32_t)(((unsigned __int128)h * K) >> 64);
	uint32_t v = (uint32_t)h;
	v -= v == RP_SIG_EMPTY;
	if (v < bins[bin]) bins[bin] = v;
}

static int bins_view(PyObject *o, Py_buffer *v)
{
	if (view_of(o, v, 1)) return -1;
	if (v->len < 4 || v->len % 4 || v->len / 4 > RP_MAX_PERM) {
		PyBuffer_Release(v);
		raise_usage("MinHash bins must be 1..1024 uint32 values");
		return -1;
	}
	return 0;
}

/* minhash_update(bins, data, seed): data (bytes) is one shingle, hashed as a
 * one-token shingle of rp_token_hash(data, seed). */
static PyObject *py_minhash_update(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *bo;
	const char *s;
	Py_ssize_t n;
	unsigned long long seed;
	if (!PyArg_ParseTuple(args, "Oy#K", &bo, &s, &n, &seed)) return NULL;
	Py_buffer b;
	if (bins_view(bo, &b)) return NULL;
	uint64_t tok = rp_token_hash(s, (size_t)n, seed), h;
	rp_shingles(&tok, 1, 1, &h);
	bin_update(b.buf, (uint64_t)(b.len / 4), h);
	PyBuffer_Release(&b);
	Py_RETURN_NONE;
}

/* minhash_update_batch(bins, list_of_bytes, seed) */
static PyObject *py_minhash_update_batch(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *bo, *list;
	unsigned long long seed;
	if (!PyArg_ParseTuple(args, "OOK", &bo, &list, &seed)) return NULL;
	PyObject *it = PyObject_GetIter(list);
	if (!it) return NULL;
	Py_buffer b;
	if (bins_view(bo, &b)) {
		Py_DECREF(it);
		return NULL;
	}
	PyObject *o;
	while ((o = PyIter_Next(it))) {
		char *s;
		Py_ssize_t n;
		if (PyBytes_AsStringAndSize(o, &s, &n)) {
			Py_DECREF(o);
			break;
		}
		uint64_t tok = rp_token_hash(s, (size_t)n, seed), h;
		rp_shingles(&tok, 1, 1, &h);
		bin_update(b.buf, (uint64_t)(b.len / 4), h);
		Py_DECREF(o);
	}
	Py_DECREF(it);
	PyBuffer_Release(&b);
	if (PyErr_Occurred()) return NULL;
	Py_RETURN_NONE;
}

/* minhash_update_hashes(bins, hashes): hashes is a buffer of uint64 shingle
 * hashes (as from shingles()). */
static PyObject *py_minhash_update_hashes(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *bo, *ho;
	if (!PyArg_ParseTuple(args, "OO", &bo, &ho)) return NULL;
	Py_buffer b, h;
	if (bins_view(bo, &b)) return NULL;
	if (view_of(ho, &h, 0)) {
		PyBuffer_Release(&b);
		return NULL;
	}
	if (h.len % 8) {
		PyBuffer_Release(&b);
		PyBuffer_Release(&h);
		return raise_usage("hashes must be uint64 values");
	}
	const uint64_t *hs = h.buf;
	for (Py_ssize_t i = 0; i < h.len / 8; i++) bin_update(b.buf, (uint64_t)(b.len / 4), hs[i]);
	PyBuffer_Release(&b);
	PyBuffer_Release(&h);
	Py_RETURN_NONE;
}

/* minhash_digest(bins, seed) -> bytes of K uint32: the densified signature. */
static PyObject *py_minhash_digest(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *bo;
	unsigned long long seed;
	if (!PyArg_ParseTuple(args, "OK", &bo, &seed)) return NULL;
	Py_buffer b;
	if (view_of(bo, &b, 0)) return NULL;
	if (b.len < 4 || b.len % 4 || b.len / 4 > RP_MAX_PERM) {
		PyBuffer_Release(&b);
		return raise_usage("MinHash bins must be 1..1024 uint32 values");
	}
	const uint64_t K = (uint64_t)(b.len / 4);
	const uint32_t *bins = b.buf;
	uint64_t synth[RP_MAX_PERM];
	size_t m = 0;
	for (uint64_t i = 0; i < K; i++) {
		if (bins[i] == RP_SIG_EMPTY) continue;
		/* the smallest multiple of 2^32 in bin i's hash range, plus the value */
		unsigned __int128 lo = (((unsigned __int128)i << 64) + K - 1) / K;
		uint64_t base = (uint64_t)((lo + 0xffffffffu) & ~(unsigned __int128)0xffffffffu);
		synth[m++] = base + bins[i];
	}
	char *d;
	PyObject *out = new_bytes(K * 4, &d);
	if (out) rp_sketch(synth, m, (int)K, seed, (uint32_t *)d);
	PyBuffer_Release(&b);
	return out;
}

/* ---- compare ------------------------------------------------------------- */

static PyObject *ranges_list(const rp_range *r, size_t n)
{
	PyObject *l = PyList_New((Py_ssize_t)n);
	if (!l) return NULL;
	for (size_t i = 0; i < n; i++) {
		PyObject *t = Py_BuildValue("[KK]", (unsigned long long)r[i].start, (unsigned long long)r[i].end);
		if (!t) {
			Py_DECREF(l);
			return NULL;
		}
		PyList_SetItem(l, (Py_ssize_t)i, t);
	}
	return l;
}

static PyObject *passages_list(const rp_passage *p, size_t n)
{
	PyObject *l = PyList_New((Py_ssize_t)n);
	if (!l) return NULL;
	for (size_t i = 0; i < n; i++) {
		PyObject *t = Py_BuildValue("(KKKKI)", (unsigned long long)p[i].a_byte_start,
		                            (unsigned long long)p[i].a_byte_end, (unsigned long long)p[i].b_byte_start,
		                            (unsigned long long)p[i].b_byte_end, (unsigned int)p[i].tokens);
		if (!t) {
			Py_DECREF(l);
			return NULL;
		}
		PyList_SetItem(l, (Py_ssize_t)i, t);
	}
	return l;
}

/* compare(a, b, min_words, **params) -> (a_words, b_words, jaccard, a_in_b,
 * b_in_a, passages [(a0, a1, b0, b1, words)], only_a [[s, e]], only_b) */
static PyObject *py_compare(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	PyObject *ao, *bo;
	int min_words = 8;
	if (!PyArg_ParseTuple(args, "OO|i", &ao, &bo, &min_words)) return NULL;
	if (min_words < 1) return raise_usage("min_words must be at least 1");
	rp_params p;
	if (params_from(kw, &p, 0)) return NULL;
	const char *a, *b;
	size_t na, nb;
	if (text_of(ao, &a, &na) || text_of(bo, &b, &nb)) return NULL;
	rp_comparison c;
	rp_error err;
	int rc;
	Py_INCREF(ao), Py_INCREF(bo);
	Py_BEGIN_ALLOW_THREADS
	rc = rp_compare(a, na, b, nb, &p, min_words, &c, &err);
	Py_END_ALLOW_THREADS
	Py_DECREF(ao), Py_DECREF(bo);
	if (rc) return raise_rp(&err, rc, -1);
	PyObject *r = Py_BuildValue("(nnddd NNN)", (Py_ssize_t)c.a_words, (Py_ssize_t)c.b_words, c.jaccard, c.a_in_b,
	                            c.b_in_a, passages_list(c.passages, c.npassages), ranges_list(c.only_a, c.nonly_a),
	                            ranges_list(c.only_b, c.nonly_b));
	rp_comparison_free(&c);
	return r;
}

/* ---- Dedup ------------------------------------------------------------------ */

typedef struct {
	PyObject_HEAD
	rp_params p;
	rp_pool *pool;
	rp_dedup *d;
	rp_texts *texts; /* reread: the exact checks read the texts again */
	char *tmpdir;
	int busy, finished;
} DedupObject;

static int claim(int *busy)
{
	if (*busy) {
		PyErr_SetString(PyExc_RuntimeError, "this object is in use by another thread");
		return -1;
	}
	*busy = 1;
	return 0;
}

/* Dedup(threads=0, tmpdir=None, reread=False, **params); reread: the exact
 * checks read the texts they compare again (rp_texts: in place from the
 * uncompressed files add_reader reads, else from a copy) instead of every
 * document's shingles being spilled. */
static int Dedup_init(PyObject *self_o, PyObject *args, PyObject *kw)
{
	DedupObject *self = (DedupObject *)self_o;
	int threads = 0, reread = 0;
	const char *tmpdir = NULL;
	if (!PyArg_ParseTuple(args, "|izp", &threads, &tmpdir, &reread)) return -1;
	if (self->d) return PyErr_SetString(PyExc_RuntimeError, "Dedup already initialised"), -1;
	if (params_from(kw, &self->p, 1)) return -1;
	if (tmpdir) {
		self->tmpdir = PyMem_Malloc(strlen(tmpdir) + 1);
		if (!self->tmpdir) return PyErr_NoMemory(), -1;
		strcpy(self->tmpdir, tmpdir);
		self->p.tmpdir = self->tmpdir;
	}
	self->pool = rp_pool_new(threads);
	if (!self->pool) return PyErr_SetString(PyExc_OSError, "cannot start threads"), -1;
	rp_error err;
	if (rp_dedup_new(&self->d, &self->p, self->pool, &err)) return raise_rp(&err, 0, -1), -1;
	if (reread && self->p.verify != RP_VERIFY_ESTIMATE &&
	    (rp_texts_new(&self->texts, rp_pool_size(self->pool), self->p.tmpdir, &err) ||
	     rp_dedup_set_fetch(self->d, rp_texts_fetch, self->texts, &err)))
		return raise_rp(&err, 0, -1), -1;
	return 0;
}

static void Dedup_dealloc(PyObject *self_o)
{
	DedupObject *self = (DedupObject *)self_o;
	rp_dedup_free(self->d);
	rp_texts_free(self->texts);
	rp_pool_free(self->pool);
	PyMem_Free(self->tmpdir);
	PyTypeObject *tp = Py_TYPE(self_o);
	freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
	f(self_o);
	Py_DECREF(tp);
}

static int dedup_ready(DedupObject *self, int want_finished)
{
	if (!self->d) return PyErr_SetString(PyExc_RuntimeError, "Dedup not initialised"), -1;
	if (want_finished && !self->finished) return PyErr_SetString(PyExc_RuntimeError, "call finish() first"), -1;
	if (!want_finished && self->finished)
		return PyErr_SetString(PyExc_RuntimeError, "documents cannot be added after finish()"), -1;
	return 0;
}

/* add(texts, bad=None): texts is a list of str/bytes/None (None: a bad
 * record that takes a position but joins no cluster); bad, if given, is a
 * bytes-like of one flag per text. */
static PyObject *Dedup_add(PyObject *self_o, PyObject *args)
{
	DedupObject *self = (DedupObject *)self_o;
	PyObject *list, *bad_o = Py_None;
	if (!PyArg_ParseTuple(args, "O|O", &list, &bad_o)) return NULL;
	if (dedup_ready(self, 0) || list_check(list, "texts")) return NULL;
	Py_buffer bad = {0};
	int have_bad = bad_o != Py_None;
	if (have_bad) {
		if (view_of(bad_o, &bad, 0)) return NULL;
		if (bad.len != PyList_Size(list)) {
			PyBuffer_Release(&bad);
			return raise_usage("bad flags differ in length from texts");
		}
	}
	if (claim(&self->busy)) {
		if (have_bad) PyBuffer_Release(&bad);
		return NULL;
	}
	size_t start = rp_dedup_count(self->d);
	text_batch b = {0};
	Py_ssize_t at = 0, n = PyList_Size(list);
	PyObject *ret = NULL;
	while (at < n) {
		Py_ssize_t base = at;
		if (batch_fill_at(&b, list, &at, have_bad ? bad.buf : NULL, (Py_ssize_t)start)) goto out;
		rp_error err;
		int rc;
		Py_BEGIN_ALLOW_THREADS
		rc = rp_dedup_add(self->d, b.n, b.ptr, b.len, b.bad, &err);
		for (size_t i = 0; !rc && self->texts && i < b.n; i++)
			if ((rc = rp_texts_add_text(self->texts, b.ptr[i], b.bad && b.bad[i] ? 0 : b.len[i], &err)))
				rp_texts_truncate(self->texts, start + (size_t)base); /* in step with the documents */
		Py_END_ALLOW_THREADS
		if (rc) {
			Py_ssize_t index = -1;
			if (rc == RP_EDATA) {
				rp_error e2;
				size_t i = find_bad_text(&b, self->p.char_shingles, self->p.seed, &e2);
				if (i < b.n) index = (Py_ssize_t)start + base + (Py_ssize_t)i, err = e2;
			}
			raise_rp(&err, rc, index);
			goto out;
		}
		if (PyErr_CheckSignals()) goto out;
	}
	ret = Py_None;
	Py_INCREF(ret);
out:
	batch_free(&b);
	if (have_bad) PyBuffer_Release(&bad);
	self->busy = 0;
	return ret;
}

static PyObject *Dedup_finish(PyObject *self_o, PyObject *unused)
{
	(void)unused;
	DedupObject *self = (DedupObject *)self_o;
	if (!self->d) return PyErr_SetString(PyExc_RuntimeError, "Dedup not initialised"), NULL;
	if (self->finished) Py_RETURN_NONE;
	if (claim(&self->busy)) return NULL;
	rp_error err;
	int rc;
	Py_BEGIN_ALLOW_THREADS
	rc = self->texts ? rp_texts_ready(self->texts, &err) : 0;
	if (!rc) rc = rp_dedup_finish(self->d, &err);
	if (!rc && self->texts) rc = rp_texts_unchanged(self->texts, &err);
	Py_END_ALLOW_THREADS
	self->busy = 0;
	if (rc) return raise_rp(&err, rc, -1);
	self->finished = 1;
	Py_RETURN_NONE;
}

/* results() -> (cluster: n uint64, duplicate: n uint8, similarity: n float32) */
static PyObject *Dedup_results(PyObject *self_o, PyObject *unused)
{
	(void)unused;
	DedupObject *self = (DedupObject *)self_o;
	if (dedup_ready(self, 1)) return NULL;
	size_t n = rp_dedup_count(self->d);
	char *cd, *dd, *sd;
	PyObject *c = new_bytes(n * 8, &cd), *dup = new_bytes(n, &dd), *sim = new_bytes(n * 4, &sd);
	if (!c || !dup || !sim) {
		Py_XDECREF(c), Py_XDECREF(dup), Py_XDECREF(sim);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		rp_dedup_result r;
		rp_dedup_get(self->d, i, &r);
		((uint64_t *)cd)[i] = r.cluster;
		dd[i] = (char)r.duplicate;
		((float *)sd)[i] = (float)r.similarity; /* the library keeps it as a float */
	}
	return Py_BuildValue("(NNN)", c, dup, sim);
}

/* pairs() -> (a: uint64, b: uint64, jaccard: float64), in (a, b) order */
static PyObject *Dedup_pairs(PyObject *self_o, PyObject *unused)
{
	(void)unused;
	DedupObject *self = (DedupObject *)self_o;
	if (dedup_ready(self, 1)) return NULL;
	const uint64_t *a, *b;
	const double *j;
	size_t n = rp_dedup_pairs(self->d, &a, &b, &j);
	PyObject *r = Py_BuildValue("(y#y#y#)", (const char *)a, (Py_ssize_t)(n * 8), (const char *)b,
	                            (Py_ssize_t)(n * 8), (const char *)j, (Py_ssize_t)(n * 8));
	return r;
}

static PyObject *Dedup_count(PyObject *self_o, PyObject *unused)
{
	(void)unused;
	DedupObject *self = (DedupObject *)self_o;
	if (!self->d) return PyLong_FromLong(0);
	return PyLong_FromSize_t(rp_dedup_count(self->d));
}

static PyObject *Dedup_params(PyObject *self_o, PyObject *unused)
{
	(void)unused;
	DedupObject *self = (DedupObject *)self_o;
	const rp_params *p = &self->p;
	return Py_BuildValue("{s:i,s:i,s:i,s:i,s:i,s:d,s:i,s:i,s:K,s:d,s:i}", "ngram", p->ngram, "char_shingles",
	                     p->char_shingles, "num_perm", p->num_perm, "bands", p->bands, "rows", p->rows,
	                     "threshold", p->threshold, "verify", p->verify, "keep_longest", p->keep_longest, "seed",
	                     (unsigned long long)p->seed, "margin", rp_verify_margin(p), "threads",
	                     self->pool ? rp_pool_size(self->pool) : 0);
}

static PyObject *Dedup_add_reader(PyObject *self_o, PyObject *args);

static PyMethodDef Dedup_methods[] = {
	{"add_reader", Dedup_add_reader, METH_VARARGS,
	 "add_reader(reader, ids, errors) -> None or the first bad record: sketch every record of a Reader."},
	{"add", Dedup_add, METH_VARARGS, "add(texts, bad=None): sketch a list of texts (str, bytes or None)."},
	{"finish", Dedup_finish, METH_NOARGS, "finish(): find candidates, verify them and cluster."},
	{"results", Dedup_results, METH_NOARGS, "results() -> (cluster u64[n], duplicate u8[n], similarity f32[n])."},
	{"pairs", Dedup_pairs, METH_NOARGS, "pairs() -> (a u64[m], b u64[m], jaccard f64[m]): verified pairs."},
	{"count", Dedup_count, METH_NOARGS, "count() -> documents added."},
	{"params", Dedup_params, METH_NOARGS, "params() -> the resolved parameters."},
	{NULL, NULL, 0, NULL}};

static PyType_Slot Dedup_slots[] = {
	{Py_tp_doc, "Dedup(threads=0, tmpdir=None, **params): a handle on rp_dedup."},
	{Py_tp_init, Dedup_init},
	{Py_tp_new, PyType_GenericNew},
	{Py_tp_dealloc, Dedup_dealloc},
	{Py_tp_methods, Dedup_methods},
	{0, NULL}};

static PyType_Spec Dedup_spec = {"reprint._core.Dedup", sizeof(DedupObject), 0, Py_TPFLAGS_DEFAULT, Dedup_slots};

/* ---- Reuse ------------------------------------------------------------------ */

typedef struct {
	PyObject_HEAD
	rp_params p;
	rp_reuse_opts o;
	rp_pool *pool;
	rp_reuse *r;
	int busy, finished;
} ReuseObject;

/* Reuse(min_words=0, template_df=0, max_df=0, threads=0, memory=-1, **params); 0 (memory: -1):
 * the library default */
static int Reuse_init(PyObject *self_o, PyObject *args, PyObject *kw)
{
	ReuseObject *self = (ReuseObject *)self_o;
	rp_reuse_opts_default(&self->o);
	int threads = 0, min_words = 0, template_df = 0, max_df = 0; /* 0: the library's default */
	long long memory = -1; /* bytes of token streams in memory; -1: the library's default */
	if (!PyArg_ParseTuple(args, "|iiiiL", &min_words, &template_df, &max_df, &threads, &memory)) return -1;
	if (min_words < 0 || template_df < 0 || max_df < 0) return raise_usage("reuse options must be positive"), -1;
	if (min_words) self->o.min_words = min_words;
	if (template_df) self->o.template_df = template_df;
	if (max_df) self->o.max_df = max_df;
	if (self->o.max_df < self->o.template_df) return raise_usage("max_df must be at least template_df"), -1;
	if (self->r) return PyErr_SetString(PyExc_RuntimeError, "Reuse already initialised"), -1;
	if (params_from(kw, &self->p, 0)) return -1;
	self->pool = rp_pool_new(threads);
	if (!self->pool) return PyErr_SetString(PyExc_OSError, "cannot start threads"), -1;
	rp_error err;
	if (rp_reuse_new(&self->r, &self->p, &self->o, self->pool, &err)) return raise_rp(&err, 0, -1), -1;
	if (memory >= 0 && rp_reuse_set_memory_budget(self->r, (uint64_t)memory, &err)) return raise_rp(&err, 0, -1), -1;
	return 0;
}

static void Reuse_dealloc(PyObject *self_o)
{
	ReuseObject *self = (ReuseObject *)self_o;
	rp_reuse_free(self->r);
	rp_pool_free(self->pool);
	PyTypeObject *tp = Py_TYPE(self_o);
	freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
	f(self_o);
	Py_DECREF(tp);
}

static PyObject *Reuse_add(PyObject *self_o, PyObject *args)
{
	ReuseObject *self = (ReuseObject *)self_o;
	PyObject *list;
	Py_ssize_t start = -1; /* the first text's position in the whole call, for errors */
	if (!PyArg_ParseTuple(args, "O|n", &list, &start)) return NULL;
	if (!self->r) return PyErr_SetString(PyExc_RuntimeError, "Reuse not initialised"), NULL;
	if (self->finished) return PyErr_SetString(PyExc_RuntimeError, "documents cannot be added after finish()"), NULL;
	if (list_check(list, "texts") || claim(&self->busy)) return NULL;
	text_batch b = {0};
	Py_ssize_t at = 0, n = PyList_Size(list);
	PyObject *ret = NULL;
	while (at < n) {
		if (batch_fill_at(&b, list, &at, NULL, start)) goto out;
		rp_error err;
		int rc;
		Py_BEGIN_ALLOW_THREADS
		rc = rp_reuse_add(self->r, b.n, b.ptr, b.len, b.bad, &err);
		Py_END_ALLOW_THREADS
		if (rc) {
			raise_rp(&err, rc, -1);
			goto out;
		}
		if (PyErr_CheckSignals()) goto out;
	}
	ret = Py_None;
	Py_INCREF(ret);
out:
	batch_free(&b);
	self->busy = 0;
	return ret;
}

static PyObject *Reuse_finish(PyObject *self_o, PyObject *unused)
{
	(void)unused;
	ReuseObject *self = (ReuseObject *)self_o;
	if (!self->r) return PyErr_SetString(PyExc_RuntimeError, "Reuse not initialised"), NULL;
	if (self->finished) Py_RETURN_NONE;
	if (claim(&self->busy)) return NULL;
	rp_error err;
	int rc;
	Py_BEGIN_ALLOW_THREADS
	rc = rp_reuse_finish(self->r, &err);
	Py_END_ALLOW_THREADS
	self->busy = 0;
	if (rc) return raise_rp(&err, rc, -1);
	self->finished = 1;
	Py_RETURN_NONE;
}

/* next() -> list of (a, b, jaccard, a_in_b, b_in_a, passages) for the next
 * chunk of candidates; [] at the end.  Each call aligns one chunk, so a loop
 * over next() is interruptible. */
static PyObject *Reuse_next(PyObject *self_o, PyObject *unused)
{
	(void)unused;
	ReuseObject *self = (ReuseObject *)self_o;
	if (!self->r || !self->finished) return PyErr_SetString(PyExc_RuntimeError, "call finish() first"), NULL;
	if (claim(&self->busy)) return NULL;
	const rp_reuse_pair *pr;
	size_t n;
	rp_error err;
	int rc;
	Py_BEGIN_ALLOW_THREADS
	rc = rp_reuse_next(self->r, &pr, &n, &err);
	Py_END_ALLOW_THREADS
	self->busy = 0;
	if (rc) return raise_rp(&err, rc, -1);
	PyObject *l = PyList_New((Py_ssize_t)n);
	if (!l) return NULL;
	for (size_t i = 0; i < n; i++) {
		const rp_reuse_pair *x = &pr[i];
		PyObject *t = Py_BuildValue("(KKdddN)", (unsigned long long)x->a, (unsigned long long)x->b, x->jaccard,
		                            x->a_in_b, x->b_in_a, passages_list(x->passages, x->npassages));
		if (!t) {
			Py_DECREF(l);
			return NULL;
		}
		PyList_SetItem(l, (Py_ssize_t)i, t);
	}
	return l;
}

static PyObject *Reuse_stats(PyObject *self_o, PyObject *unused)
{
	(void)unused;
	ReuseObject *self = (ReuseObject *)self_o;
	if (!self->r || !self->finished) return PyErr_SetString(PyExc_RuntimeError, "call finish() first"), NULL;
	return Py_BuildValue("{s:n,s:n,s:K}", "candidates", (Py_ssize_t)rp_reuse_candidates(self->r),
	                     "boilerplate_fingerprints", (Py_ssize_t)rp_reuse_template_fingerprints(self->r),
	                     "memory_budget", (unsigned long long)rp_reuse_memory_budget(self->r));
}

static PyObject *Reuse_boilerplate(PyObject *self_o, PyObject *args)
{
	ReuseObject *self = (ReuseObject *)self_o;
	unsigned long long doc;
	if (!PyArg_ParseTuple(args, "K", &doc)) return NULL;
	if (!self->r || !self->finished) return PyErr_SetString(PyExc_RuntimeError, "call finish() first"), NULL;
	if (claim(&self->busy)) return NULL;
	rp_range *rg;
	size_t nr;
	rp_error err;
	int rc = rp_reuse_template_spans(self->r, doc, &rg, &nr, &err);
	self->busy = 0;
	if (rc) return raise_rp(&err, rc, -1);
	PyObject *l = ranges_list(rg, nr);
	rp_free_ranges(rg);
	return l;
}

static PyMethodDef Reuse_methods[] = {
	{"add", Reuse_add, METH_VARARGS, "add(texts): index a list of texts (str, bytes or None)."},
	{"finish", Reuse_finish, METH_NOARGS, "finish(): find boilerplate and candidate pairs."},
	{"next", Reuse_next, METH_NOARGS, "next() -> the next pairs that share passages; [] at the end."},
	{"stats", Reuse_stats, METH_NOARGS, "stats() -> candidates, boilerplate fingerprints, memory budget."},
	{"boilerplate", Reuse_boilerplate, METH_VARARGS, "boilerplate(doc) -> byte ranges found to be boilerplate."},
	{NULL, NULL, 0, NULL}};

static PyType_Slot Reuse_slots[] = {
	{Py_tp_doc, "Reuse(min_words=0, template_df=0, max_df=0, threads=0, **params): rp_reuse (0: library default)."},
	{Py_tp_init, Reuse_init},
	{Py_tp_new, PyType_GenericNew},
	{Py_tp_dealloc, Reuse_dealloc},
	{Py_tp_methods, Reuse_methods},
	{0, NULL}};

static PyType_Spec Reuse_spec = {"reprint._core.Reuse", sizeof(ReuseObject), 0, Py_TPFLAGS_DEFAULT, Reuse_slots};

/* ---- Reader ------------------------------------------------------------------ */

typedef struct {
	PyObject_HEAD
	rp_reader *r;
	char **inputs;
	size_t ninputs;
	char *text_field, *id_field;
	int busy, done;
	/* one batch read without the GIL */
	char *buf;
	size_t buf_len, buf_cap;
	struct rec_meta {
		size_t id_at, id_len, text_at, text_len;
		int id_flags, bad; /* RP_ID_NUMBER | RP_ID_DEFAULT */
		size_t msg_at, msg_len, file_at, file_len;
		uint64_t line, byte;
	} *recs;
	size_t nrecs, recs_cap;
} ReaderObject;

static char *dup_str(const char *s)
{
	char *d = PyMem_Malloc(strlen(s) + 1);
	if (d) strcpy(d, s);
	return d;
}

/* Reader(inputs, format=0, text_field="text", id_field="id", max_record=64 MiB)
 * format: 0 auto, 1 jsonl, 2 lines, 3 file (rp_format). */
static int Reader_init(PyObject *self_o, PyObject *args, PyObject *kw)
{
	ReaderObject *self = (ReaderObject *)self_o;
	static char *kwlist[] = {"inputs", "format", "text_field", "id_field", "max_record", NULL};
	PyObject *list;
	int format = 0;
	const char *tf = "text", *idf = "id";
	Py_ssize_t max_record = 64 << 20;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|issn", kwlist, &list, &format, &tf, &idf, &max_record))
		return -1;
	if (self->r) return PyErr_SetString(PyExc_RuntimeError, "Reader already initialised"), -1;
	if (list_check(list, "inputs")) return -1;
	if (format < 0 || format > 3 || max_record < 1) return raise_usage("bad reader option"), -1;
	Py_ssize_t n = PyList_Size(list);
	self->inputs = PyMem_Calloc((size_t)(n ? n : 1), sizeof *self->inputs);
	if (!self->inputs) return PyErr_NoMemory(), -1;
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *o = PyList_GetItem(list, i), *b = NULL;
		if (!o || !PyUnicode_FSConverter(o, &b)) return -1;
		self->inputs[i] = dup_str(PyBytes_AsString(b));
		Py_DECREF(b);
		if (!self->inputs[i]) return PyErr_NoMemory(), -1;
		self->ninputs++;
	}
	self->text_field = dup_str(tf);
	self->id_field = dup_str(idf);
	if (!self->text_field || !self->id_field) return PyErr_NoMemory(), -1;
	rp_reader_opts o = {(rp_format)format, self->text_field, self->id_field, (size_t)max_record};
	rp_error err;
	int rc;
	Py_BEGIN_ALLOW_THREADS
	rc = rp_reader_new(&self->r, (const char *const *)self->inputs, self->ninputs, &o, &err);
	Py_END_ALLOW_THREADS
	if (rc) return raise_rp(&err, rc, -1), -1;
	return 0;
}

static void Reader_dealloc(PyObject *self_o)
{
	ReaderObject *self = (ReaderObject *)self_o;
	rp_reader_free(self->r);
	for (size_t i = 0; i < self->ninputs; i++) PyMem_Free(self->inputs[i]);
	PyMem_Free(self->inputs);
	PyMem_Free(self->text_field);
	PyMem_Free(self->id_field);
	free(self->buf);
	free(self->recs);
	PyTypeObject *tp = Py_TYPE(self_o);
	freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
	f(self_o);
	Py_DECREF(tp);
}

/* Append bytes to the batch buffer (no GIL: plain realloc). */
static int buf_put(ReaderObject *self, const char *s, size_t n, size_t *at)
{
	if (self->buf_len + n > self->buf_cap) {
		size_t cap = self->buf_cap ? self->buf_cap : 1 << 16;
		while (cap < self->buf_len + n) cap *= 2;
		char *q = realloc(self->buf, cap);
		if (!q) return -1;
		self->buf = q;
		self->buf_cap = cap;
	}
	if (n) memcpy(self->buf + self->buf_len, s, n);
	*at = self->buf_len;
	self->buf_len += n;
	return 0;
}

/* read(max_records=8192, max_bytes=8 MiB) -> list of (id, id_flags,
 * text bytes or None, error or None); id_flags: RP_ID_NUMBER (1: the id was
 * a JSON number) | RP_ID_DEFAULT (2: the record had no id, this is PATH:LINE
 * or the path); error = (message, file, line, byte).
 * [] at the end of input; a fatal stream error raises. */
static PyObject *Reader_read(PyObject *self_o, PyObject *args)
{
	ReaderObject *self = (ReaderObject *)self_o;
	Py_ssize_t max_records = BATCH_DOCS, max_bytes = BATCH_BYTES;
	if (!PyArg_ParseTuple(args, "|nn", &max_records, &max_bytes)) return NULL;
	if (!self->r) return PyErr_SetString(PyExc_RuntimeError, "Reader not initialised"), NULL;
	if (self->done) return PyList_New(0);
	if (claim(&self->busy)) return NULL;
	int rc = 1, nomem = 0;
	rp_error err = {0};
	self->nrecs = self->buf_len = 0;
	Py_BEGIN_ALLOW_THREADS
	while (self->nrecs < (size_t)max_records && self->buf_len < (size_t)max_bytes) {
		rp_record rec;
		rc = rp_reader_next(self->r, &rec, &err);
		if (rc <= 0) break;
		if (self->nrecs == self->recs_cap) {
			size_t cap = self->recs_cap ? self->recs_cap * 2 : 1024;
			void *q = realloc(self->recs, cap * sizeof *self->recs);
			if (!q) { nomem = 1; break; }
			self->recs = q;
			self->recs_cap = cap;
		}
		struct rec_meta *m = &self->recs[self->nrecs];
		memset(m, 0, sizeof *m);
		m->id_flags = (rec.id_is_number ? RP_ID_NUMBER : 0) | (rec.id_default ? RP_ID_DEFAULT : 0);
		m->bad = rec.bad;
		m->id_len = rec.id_len;
		m->text_len = rec.bad ? 0 : rec.text_len;
		if (buf_put(self, rec.id, rec.id_len, &m->id_at) || buf_put(self, rec.text, m->text_len, &m->text_at)) {
			nomem = 1;
			break;
		}
		if (rec.bad) {
			const char *file = err.file[0] ? err.file : rec.file;
			m->msg_len = strlen(err.message);
			m->file_len = strlen(file);
			m->line = err.line ? err.line : rec.line;
			m->byte = err.byte;
			if (buf_put(self, err.message, m->msg_len, &m->msg_at) || buf_put(self, file, m->file_len, &m->file_at)) {
				nomem = 1;
				break;
			}
		}
		self->nrecs++;
	}
	Py_END_ALLOW_THREADS
	self->busy = 0;
	if (nomem) return PyErr_NoMemory();
	if (rc < 0) return raise_rp(&err, rc, -1);
	if (rc == 0) self->done = 1;
	PyObject *l = PyList_New((Py_ssize_t)self->nrecs);
	if (!l) return NULL;
	for (size_t i = 0; i < self->nrecs; i++) {
		const struct rec_meta *m = &self->recs[i];
		const char *b = self->buf;
		PyObject *t;
		if (m->bad)
			t = Py_BuildValue("(NiO(NNKK))", PyUnicode_DecodeUTF8(b + m->id_at, (Py_ssize_t)m->id_len, "surrogateescape"),
			                  m->id_flags, Py_None,
			                  PyUnicode_DecodeUTF8(b + m->msg_at, (Py_ssize_t)m->msg_len, "replace"),
			                  PyUnicode_DecodeUTF8(b + m->file_at, (Py_ssize_t)m->file_len, "surrogateescape"),
			                  (unsigned long long)m->line, (unsigned long long)m->byte);
		else
			t = Py_BuildValue("(Niy#O)", PyUnicode_DecodeUTF8(b + m->id_at, (Py_ssize_t)m->id_len, "surrogateescape"),
			                  m->id_flags, b + m->text_at, (Py_ssize_t)m->text_len,
			                  Py_None);
		if (!t) {
			Py_DECREF(l);
			return NULL;
		}
		PyList_SetItem(l, (Py_ssize_t)i, t);
	}
	if (self->buf_cap > (64u << 20)) { /* do not keep a huge buffer between batches */
		free(self->buf);
		self->buf = NULL;
		self->buf_cap = 0;
	}
	return l;
}

static PyMethodDef Reader_methods[] = {
	{"read", Reader_read, METH_VARARGS, "read(max_records=8192, max_bytes=8 MiB) -> the next records; [] at the end."},
	{NULL, NULL, 0, NULL}};

static PyType_Slot Reader_slots[] = {
	{Py_tp_doc, "Reader(inputs, format=0, text_field='text', id_field='id', max_record=64 MiB): rp_reader."},
	{Py_tp_init, Reader_init},
	{Py_tp_new, PyType_GenericNew},
	{Py_tp_dealloc, Reader_dealloc},
	{Py_tp_methods, Reader_methods},
	{0, NULL}};

static PyType_Spec Reader_spec = {"reprint._core.Reader", sizeof(ReaderObject), 0, Py_TPFLAGS_DEFAULT, Reader_slots};

/* ---- Ids: the ids of a whole run, compactly ------------------------------ */

/* What dedup_jsonl keeps of every record: its id (UTF-8 bytes, one blob with
 * end offsets) and whether it was a JSON number.  Made into Python strs only
 * when asked (tolist, item): the output lines are written from the blob. */
typedef struct {
	PyObject_HEAD
	char *blob;
	size_t blob_len, blob_cap;
	uint64_t *end; /* id i is blob[end[i-1] .. end[i]) */
	uint8_t *num;
	size_t n, cap;
	int busy;
} IdsObject;

static PyObject *Ids_type, *Reader_type;

/* Grow *p (of *cap elements of el bytes) to hold need; no GIL needed. */
static int grow(void **p, size_t *cap, size_t need, size_t el)
{
	if (need <= *cap) return 0;
	size_t c = *cap ? *cap : 64;
	while (c < need) c *= 2;
	void *q = realloc(*p, c * el);
	if (!q) return -1;
	*p = q;
	*cap = c;
	return 0;
}

static int ids_push(IdsObject *x, const char *id, size_t len, int number)
{
	if (x->n == x->cap) {
		size_t c1 = x->cap, c2 = x->cap;
		if (grow((void **)&x->end, &c1, x->n + 1, sizeof *x->end) || grow((void **)&x->num, &c2, x->n + 1, 1))
			return -1;
		x->cap = c1 < c2 ? c1 : c2;
	}
	if (grow((void **)&x->blob, &x->blob_cap, x->blob_len + len + 1, 1)) return -1;
	if (len) memcpy(x->blob + x->blob_len, id, len);
	x->blob_len += len;
	x->end[x->n] = x->blob_len;
	x->num[x->n] = (uint8_t)(number != 0);
	x->n++;
	return 0;
}

static const char *ids_get(const IdsObject *x, size_t i, size_t *len)
{
	uint64_t a = i ? x->end[i - 1] : 0;
	*len = (size_t)(x->end[i] - a);
	return x->blob + a;
}

static void Ids_dealloc(PyObject *self_o)
{
	IdsObject *self = (IdsObject *)self_o;
	free(self->blob), free(self->end), free(self->num);
	PyTypeObject *tp = Py_TYPE(self_o);
	freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
	f(self_o);
	Py_DECREF(tp);
}

static Py_ssize_t Ids_len(PyObject *self_o)
{
	return (Py_ssize_t)((IdsObject *)self_o)->n;
}

/* tolist() -> (list of str, bytes of flags: 1 where the id was a JSON number) */
static PyObject *Ids_tolist(PyObject *self_o, PyObject *unused)
{
	(void)unused;
	IdsObject *self = (IdsObject *)self_o;
	PyObject *l = PyList_New((Py_ssize_t)self->n);
	if (!l) return NULL;
	for (size_t i = 0; i < self->n; i++) {
		size_t len;
		const char *s = ids_get(self, i, &len);
		PyObject *o = PyUnicode_DecodeUTF8(s, (Py_ssize_t)len, "surrogateescape");
		if (!o) {
			Py_DECREF(l);
			return NULL;
		}
		PyList_SetItem(l, (Py_ssize_t)i, o);
	}
	return Py_BuildValue("(Ny#)", l, (const char *)self->num, (Py_ssize_t)self->n);
}

/* item(i) -> (id str, was a JSON number) */
static PyObject *Ids_item(PyObject *self_o, PyObject *args)
{
	IdsObject *self = (IdsObject *)self_o;
	Py_ssize_t i;
	if (!PyArg_ParseTuple(args, "n", &i)) return NULL;
	if (i < 0 || (size_t)i >= self->n) return PyErr_SetString(PyExc_IndexError, "id index out of range"), NULL;
	size_t len;
	const char *s = ids_get(self, (size_t)i, &len);
	return Py_BuildValue("(NO)", PyUnicode_DecodeUTF8(s, (Py_ssize_t)len, "surrogateescape"),
	                     self->num[i] ? Py_True : Py_False);
}

static PyMethodDef Ids_methods[] = {
	{"tolist", Ids_tolist, METH_NOARGS, "tolist() -> (ids as str, bytes of flags: the id was a JSON number)."},
	{"item", Ids_item, METH_VARARGS, "item(i) -> (id, was a JSON number)."},
	{NULL, NULL, 0, NULL}};

static PyType_Slot Ids_slots[] = {
	{Py_tp_doc, "Ids(): the ids of the records Dedup.add_reader read, kept compactly."},
	{Py_tp_new, PyType_GenericNew},
	{Py_tp_dealloc, Ids_dealloc},
	{Py_tp_methods, Ids_methods},
	{Py_sq_length, Ids_len},
	{0, NULL}};

static PyType_Spec Ids_spec = {"reprint._core.Ids", sizeof(IdsObject), 0, Py_TPFLAGS_DEFAULT, Ids_slots};

/* ---- Dedup.add_reader: the command's read loop ---------------------------- */

/* As cli/input.c: the calling thread reads the next of two batches (reused,
 * so no memory is touched afresh per batch) as the pool's side task while
 * the pool's other threads sketch the last one, the GIL released.  Texts
 * never become Python objects. */
typedef struct {
	size_t n, cap;
	char *text;
	size_t text_len, text_cap;
	size_t *off, *len;
	int *bad;
	const char **ptr;
	struct bad_rec {
		size_t k, msg_at, file_at;
		uint64_t line, byte;
	} *bads; /* the bad records of the batch: "message\0" and "file\0" in errs */
	size_t nbad, bads_cap;
	char *errs;
	size_t errs_len, errs_cap;
} rbatch;

typedef struct {
	rp_reader *reader;
	IdsObject *ids;
	rp_texts *texts;     /* NULL, or where each record's text is noted */
	rbatch slot[2];
	int fatal, nomem;
	rp_error err;
	rp_error texts_err;  /* rp_texts_add's first failure (code 0: none) */
} rfeeder;

static int errs_put(rbatch *b, const char *s, size_t *at)
{
	size_t n = strlen(s) + 1;
	if (grow((void **)&b->errs, &b->errs_cap, b->errs_len + n, 1)) return -1;
	memcpy(b->errs + b->errs_len, s, n);
	*at = b->errs_len;
	b->errs_len += n;
	return 0;
}

static int rbatch_add(rbatch *b, const rp_record *rec, const rp_error *err)
{
	if (b->n == b->cap) {
		size_t c[4] = {b->cap, b->cap, b->cap, b->cap};
		if (grow((void **)&b->off, &c[0], b->n + 1, sizeof *b->off) ||
		    grow((void **)&b->len, &c[1], b->n + 1, sizeof *b->len) ||
		    grow((void **)&b->bad, &c[2], b->n + 1, sizeof *b->bad) ||
		    grow((void **)&b->ptr, &c[3], b->n + 1, sizeof *b->ptr))
			return -1;
		b->cap = c[0];
		for (int i = 1; i < 4; i++)
			if (c[i] < b->cap) b->cap = c[i];
	}
	size_t len = rec->bad ? 0 : rec->text_len;
	int decoded_here = rec->text == b->text + b->text_len; /* by the reader (its text sink) */
	if (grow((void **)&b->text, &b->text_cap, b->text_len + len + 1, 1)) return -1;
	if (len && !decoded_here) memcpy(b->text + b->text_len, rec->text, len);
	b->off[b->n] = b->text_len;
	b->len[b->n] = len;
	b->bad[b->n] = rec->bad;
	b->text_len += len;
	if (rec->bad) {
		if (grow((void **)&b->bads, &b->bads_cap, b->nbad + 1, sizeof *b->bads)) return -1;
		struct bad_rec *e = &b->bads[b->nbad];
		e->k = b->n;
		e->line = err->line ? err->line : rec->line;
		e->byte = err->byte;
		if (errs_put(b, err->message, &e->msg_at) || errs_put(b, err->file[0] ? err->file : rec->file, &e->file_at))
			return -1;
		b->nbad++;
	}
	b->n++;
	return 0;
}

static void rbatch_free(rbatch *b)
{
	free(b->text), free(b->off), free(b->len), free(b->bad), free(b->ptr), free(b->bads), free(b->errs);
}

/* Fill b with the next records and their ids; returns the reader's last
 * status (1: more may follow, 0: the end, -1: a fatal error in *err), or 2
 * when out of memory. */
static int rfill(rfeeder *fd, rbatch *b, rp_error *err)
{
	b->n = b->text_len = b->nbad = b->errs_len = 0;
	int rc = 1;
	rp_record rec;
	rp_reader_set_text_sink(fd->reader, &b->text, &b->text_len, &b->text_cap);
	while (b->n < BATCH_DOCS && b->text_len < BATCH_BYTES) {
		rc = rp_reader_next(fd->reader, &rec, err);
		if (rc <= 0) break;
		if (rbatch_add(b, &rec, err) || ids_push(fd->ids, rec.id, rec.id_len, rec.id_is_number)) {
			rc = 2;
			break;
		}
		if (fd->texts && !fd->texts_err.code) rp_texts_add(fd->texts, &rec, &fd->texts_err);
	}
	rp_reader_set_text_sink(fd->reader, NULL, NULL, NULL);
	return rc;
}

static PyObject *bad_tuple(const rbatch *b, const struct bad_rec *e)
{
	return Py_BuildValue("(NNKK)", PyUnicode_DecodeUTF8(b->errs + e->msg_at, (Py_ssize_t)strlen(b->errs + e->msg_at),
	                                                    "replace"),
	                     PyUnicode_DecodeUTF8(b->errs + e->file_at, (Py_ssize_t)strlen(b->errs + e->file_at),
	                                          "surrogateescape"),
	                     (unsigned long long)e->line, (unsigned long long)e->byte);
}

/* Sketch one batch; with errors (skip), a text the library refuses becomes a
 * bad record (errors[position] = the library's message) and the batch is
 * added again (a failed rp_dedup_add adds nothing).  0, or -1 with an
 * exception set. */
static int add_rbatch(DedupObject *self, rbatch *b, PyObject *errors)
{
	for (;;) {
		size_t start = rp_dedup_count(self->d);
		rp_error err;
		int rc;
		Py_BEGIN_ALLOW_THREADS
		rc = rp_dedup_add(self->d, b->n, b->ptr, b->len, b->bad, &err);
		Py_END_ALLOW_THREADS
		if (!rc) return 0;
		if (rc != RP_EDATA) return raise_rp(&err, rc, -1), -1;
		text_batch tb = {b->n, b->n, b->ptr, b->len, b->bad, NULL, 0};
		rp_error e2;
		size_t i = find_bad_text(&tb, self->p.char_shingles, self->p.seed, &e2);
		if (i >= b->n || rp_dedup_count(self->d) != start) return raise_rp(&err, rc, -1), -1;
		if (errors == Py_None) return raise_rp(&e2, rc, (Py_ssize_t)(start + i)), -1;
		PyObject *key = PyLong_FromSize_t(start + i);
		PyObject *msg = PyUnicode_DecodeUTF8(e2.message, (Py_ssize_t)strnlen(e2.message, sizeof e2.message),
		                                     "replace");
		int bad = !key || !msg || PyDict_SetItem(errors, key, msg);
		Py_XDECREF(key), Py_XDECREF(msg);
		if (bad) return -1;
		b->bad[i] = 1;
		b->len[i] = 0;
	}
}

/* Take one batch read by add_reader: report or record its bad records and
 * sketch the rest.  0, or 1 with *ret the first bad record (errors None) or
 * NULL and an exception set. */
static int take_rbatch(DedupObject *self, rbatch *b, PyObject *errors, PyObject **ret)
{
	for (size_t i = 0; i < b->n; i++) b->ptr[i] = b->text + b->off[i];
	if (b->nbad && errors == Py_None) { /* on_error="fail": the first bad record ends the run */
		*ret = bad_tuple(b, &b->bads[0]);
		return 1;
	}
	size_t base = rp_dedup_count(self->d);
	for (size_t i = 0; i < b->nbad; i++) {
		PyObject *key = PyLong_FromSize_t(base + b->bads[i].k), *val = bad_tuple(b, &b->bads[i]);
		int bad = !key || !val || PyDict_SetItem(errors, key, val);
		Py_XDECREF(key), Py_XDECREF(val);
		if (bad) return 1;
	}
	return add_rbatch(self, b, errors) || PyErr_CheckSignals() ? 1 : 0;
}

/* Reading the next batch, as the pool's side task (rp_pool_side). */
typedef struct {
	rfeeder *fd;
	rbatch *b;
	int rc, done;
	rp_error err;
} rread;

static void rread_next(void *v)
{
	rread *r = v;
	r->rc = rfill(r->fd, r->b, &r->err);
	r->done = 1;
}

/* Read and sketch every batch: the next batch is read on this thread while
 * the pool's other threads start sketching this one (the GIL released), as
 * the command does.  0, or 1 as take_rbatch. */
static int add_batches(DedupObject *self, rfeeder *fd, PyObject *errors, PyObject **ret)
{
	int k = 0;
	rread r = {fd, &fd->slot[0], 0, 0, {0}};
	Py_BEGIN_ALLOW_THREADS
	rread_next(&r);
	Py_END_ALLOW_THREADS
	for (;;) {
		rbatch *b = &fd->slot[k];
		int rc = r.rc;
		if (rc == 2) return fd->nomem = 1, 0;
		if (rc < 0) fd->fatal = rc, fd->err = r.err; /* raised after the records read before it */
		r = (rread){fd, &fd->slot[k ^ 1], 0, 0, {0}};
		if (rc > 0) rp_pool_side(self->pool, rread_next, &r);
		int failed = b->n && take_rbatch(self, b, errors, ret);
		if (rc > 0) {
			rp_pool_side(self->pool, NULL, NULL);
			if (!r.done && !failed) {
				Py_BEGIN_ALLOW_THREADS
				rread_next(&r);
				Py_END_ALLOW_THREADS
			}
		}
		if (failed) return 1;
		if (rc <= 0) return 0;
		k ^= 1;
	}
}

/* add_reader(reader, ids, errors) -> None, or the first bad record's
 * (message, file, line, byte) when errors is None (on_error="fail"; nothing
 * after it is added).  Reads every record of reader, appends its id to ids
 * and sketches its text; with errors a dict (on_error="skip"), bad records
 * go in it as {position: (message, file, line, byte)} and join no cluster.
 * Ctrl-C is checked between batches. */
static PyObject *Dedup_add_reader(PyObject *self_o, PyObject *args)
{
	DedupObject *self = (DedupObject *)self_o;
	PyObject *reader_o, *ids_o, *errors;
	if (!PyArg_ParseTuple(args, "O!O!O", (PyTypeObject *)Reader_type, &reader_o, (PyTypeObject *)Ids_type, &ids_o,
	                      &errors))
		return NULL;
	if (errors != Py_None && !PyDict_Check(errors)) return PyErr_SetString(PyExc_TypeError, "errors: a dict or None"), NULL;
	if (dedup_ready(self, 0)) return NULL;
	ReaderObject *rd = (ReaderObject *)reader_o;
	IdsObject *ids = (IdsObject *)ids_o;
	if (!rd->r) return PyErr_SetString(PyExc_RuntimeError, "Reader not initialised"), NULL;
	if (ids->n != rp_dedup_count(self->d))
		return raise_usage("add_reader: ids and documents differ in number");
	if (rd->done) Py_RETURN_NONE;
	if (claim(&self->busy)) return NULL;
	if (claim(&rd->busy)) return self->busy = 0, NULL;
	if (claim(&ids->busy)) return self->busy = rd->busy = 0, NULL;
	rfeeder fd;
	memset(&fd, 0, sizeof fd);
	fd.reader = rd->r;
	fd.ids = ids;
	fd.texts = self->texts;
	PyObject *ret = NULL;
	if (add_batches(self, &fd, errors, &ret)) goto out; /* ret: the bad record, or NULL with the exception */
	if (fd.texts_err.code) {
		raise_rp(&fd.texts_err, fd.texts_err.code, -1);
		goto out;
	}
	if (fd.nomem) {
		PyErr_NoMemory();
		goto out;
	}
	if (fd.fatal) {
		raise_rp(&fd.err, fd.fatal, -1);
		goto out;
	}
	rd->done = 1;
	ret = Py_None;
	Py_INCREF(ret);
out:
	/* the texts stay in step with the documents: those read ahead, or of a
	 * refused batch, are forgotten (the ids are not: add_reader's failure
	 * leaves this Dedup for finish() or nothing) */
	if (self->texts) rp_texts_truncate(self->texts, rp_dedup_count(self->d));
	for (int i = 0; i < 2; i++) rbatch_free(&fd.slot[i]);
	self->busy = rd->busy = ids->busy = 0;
	return ret;
}

/* ---- Index ------------------------------------------------------------------ */

typedef struct {
	PyObject_HEAD
	rp_index *ix;
	rp_pool *pool;
	rp_index_add *add; /* between add_begin and add_commit */
	int write, busy;
} IndexObject;

/* index_create(path, min_words=50, sig_bits=8, store_text=False, **params):
 * rp_index_create; params as for Dedup (ngram, char_shingles, num_perm,
 * bands, rows, threshold, seed). */
static PyObject *py_index_create(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	PyObject *path_o, *path_b = NULL;
	int min_words = 0, sig_bits = 0, store_text = 0;
	if (!PyArg_ParseTuple(args, "O|iip", &path_o, &min_words, &sig_bits, &store_text)) return NULL;
	rp_index_params ip;
	rp_index_params_default(&ip);
	if (params_from(kw, &ip.p, 0)) return NULL;
	if (min_words) ip.min_words = min_words;
	if (sig_bits) ip.sig_bits = sig_bits;
	ip.store_text = store_text;
	if (!PyUnicode_FSConverter(path_o, &path_b)) return NULL;
	rp_error err = {0};
	int rc;
	const char *path = PyBytes_AsString(path_b);
	Py_BEGIN_ALLOW_THREADS
	rc = rp_index_create(path, &ip, &err);
	Py_END_ALLOW_THREADS
	Py_DECREF(path_b);
	if (rc) return raise_rp(&err, rc, -1);
	Py_RETURN_NONE;
}

/* Index(path, write=False, threads=0): rp_index_open (every segment is
 * verified); write takes the writer's lock (ReprintError with code
 * RP_ELOCKED when another writer holds it). */
static int Index_init(PyObject *self_o, PyObject *args, PyObject *kw)
{
	IndexObject *self = (IndexObject *)self_o;
	static char *kwlist[] = {"path", "write", "threads", NULL};
	PyObject *path_o, *path_b = NULL;
	int write = 0, threads = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|pi", kwlist, &path_o, &write, &threads)) return -1;
	if (self->ix) return PyErr_SetString(PyExc_RuntimeError, "Index already open"), -1;
	if (!PyUnicode_FSConverter(path_o, &path_b)) return -1;
	rp_error err = {0};
	int rc;
	const char *path = PyBytes_AsString(path_b);
	Py_BEGIN_ALLOW_THREADS
	rc = rp_index_open(&self->ix, path, write ? RP_INDEX_WRITE : RP_INDEX_READ, &err);
	Py_END_ALLOW_THREADS
	Py_DECREF(path_b);
	if (rc) {
		self->ix = NULL;
		return raise_rp(&err, rc, -1), -1;
	}
	self->write = write;
	self->pool = rp_pool_new(threads);
	if (!self->pool) {
		rp_index_close(self->ix);
		self->ix = NULL;
		return PyErr_SetString(PyExc_OSError, "cannot start threads"), -1;
	}
	return 0;
}

static void index_add_drop(IndexObject *self);

static void index_close(IndexObject *self)
{
	index_add_drop(self);
	rp_index_close(self->ix);
	rp_pool_free(self->pool);
	self->ix = NULL;
	self->pool = NULL;
}

static void Index_dealloc(PyObject *self_o)
{
	index_close((IndexObject *)self_o);
	PyTypeObject *tp = Py_TYPE(self_o);
	freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
	f(self_o);
	Py_DECREF(tp);
}

/* Claim the handle for one call: open, (writable), not in use. */
static int index_claim(IndexObject *self, int need_write)
{
	if (!self->ix) return PyErr_SetString(PyExc_ValueError, "the index is closed"), -1;
	if (need_write && !self->write)
		return raise_usage("the index is open for reading: open it with mode=\"w\" to change it"), -1;
	return claim(&self->busy);
}

static PyObject *Index_close(PyObject *self_o, PyObject *unused)
{
	(void)unused;
	IndexObject *self = (IndexObject *)self_o;
	if (self->busy) return PyErr_SetString(PyExc_RuntimeError, "this object is in use by another thread"), NULL;
	index_close(self);
	Py_RETURN_NONE;
}

static PyObject *Index_closed(PyObject *self_o, PyObject *unused)
{
	(void)unused;
	return PyBool_FromLong(((IndexObject *)self_o)->ix == NULL);
}

/* The UTF-8 of a str id, or a bytes id's bytes (borrowed from it). */
static int id_of(PyObject *o, const char **s, size_t *n)
{
	Py_ssize_t len;
	if (PyBytes_Check(o)) {
		char *p;
		if (PyBytes_AsStringAndSize(o, &p, &len)) return -1;
		*s = p, *n = (size_t)len;
		return 0;
	}
	if (!PyUnicode_Check(o)) {
		PyErr_Format(PyExc_TypeError, "ids must be str or bytes, got %S", (PyObject *)Py_TYPE(o));
		return -1;
	}
	const char *p = PyUnicode_AsUTF8AndSize(o, &len);
	if (!p && PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
		PyErr_Clear();
		return raise_usage("id is not valid Unicode (lone surrogate)"), -1;
	}
	if (!p) return -1;
	*s = p, *n = (size_t)len;
	return 0;
}

static int docs_reserve(rp_index_doc **docs, size_t *cap, size_t n)
{
	if (n <= *cap) return 0;
	rp_index_doc *q = PyMem_Realloc(*docs, n * sizeof *q);
	if (!q) return PyErr_NoMemory(), -1;
	*docs = q;
	*cap = n;
	return 0;
}

/* Adding runs over several calls, so that Python can feed batches from any
 * iterable: add_begin(memory=0), then add_batch(texts, ids, numbers=None,
 * bad=None, start=0) any number of times, then add_commit() -> stats, which
 * publishes one new segment; add_abort() (or a failed batch, or close())
 * drops everything since add_begin and leaves the index as it was.
 * ids: list of str, one per text; numbers: bytes-like flags, RP_ID_NUMBER
 * (the id was a JSON number) | RP_ID_DEFAULT (a reader's PATH:LINE); bad: flags of errored records (not added, counted); start:
 * the position of texts[0] in the whole add, for error messages. */
static PyObject *Index_add_begin(PyObject *self_o, PyObject *args)
{
	IndexObject *self = (IndexObject *)self_o;
	Py_ssize_t memory = 0;
	if (!PyArg_ParseTuple(args, "|n", &memory)) return NULL;
	if (memory < 0) return raise_usage("memory must be positive");
	if (index_claim(self, 1)) return NULL;
	if (self->add) {
		self->busy = 0;
		return PyErr_SetString(PyExc_RuntimeError, "an add is already under way"), NULL;
	}
	rp_error err = {0};
	int rc;
	Py_BEGIN_ALLOW_THREADS
	rc = rp_index_add_new(&self->add, self->ix, self->pool, (size_t)memory, &err);
	Py_END_ALLOW_THREADS
	self->busy = 0;
	if (rc) {
		self->add = NULL;
		return raise_rp(&err, rc, -1);
	}
	Py_RETURN_NONE;
}

static void index_add_drop(IndexObject *self)
{
	rp_index_add *a = self->add;
	self->add = NULL;
	if (!a) return;
	Py_BEGIN_ALLOW_THREADS
	rp_index_add_free(a);
	Py_END_ALLOW_THREADS
}

static PyObject *Index_add_abort(PyObject *self_o, PyObject *unused)
{
	(void)unused;
	IndexObject *self = (IndexObject *)self_o;
	if (claim(&self->busy)) return NULL;
	index_add_drop(self);
	self->busy = 0;
	Py_RETURN_NONE;
}

static PyObject *Index_add_batch(PyObject *self_o, PyObject *args)
{
	IndexObject *self = (IndexObject *)self_o;
	PyObject *list, *ids_o, *num_o = Py_None, *bad_o = Py_None;
	Py_ssize_t start = 0;
	if (!PyArg_ParseTuple(args, "OO|OOn", &list, &ids_o, &num_o, &bad_o, &start)) return NULL;
	if (list_check(list, "texts") || list_check(ids_o, "ids")) return NULL;
	Py_ssize_t n = PyList_Size(list);
	if (PyList_Size(ids_o) != n) return raise_usage("ids differ in length from texts");
	Py_buffer num = {0}, bad = {0};
	if (num_o != Py_None && view_of(num_o, &num, 0)) return NULL;
	if (bad_o != Py_None && view_of(bad_o, &bad, 0)) {
		if (num.obj) PyBuffer_Release(&num);
		return NULL;
	}
	if ((num.obj && num.len != n) || (bad.obj && bad.len != n)) {
		if (num.obj) PyBuffer_Release(&num);
		if (bad.obj) PyBuffer_Release(&bad);
		return raise_usage("flags differ in length from texts");
	}
	/* a private copy: the ids stay alive (their UTF-8 with them) while the
	 * GIL is released, whatever the caller does to the list */
	PyObject *ids = PyList_AsTuple(ids_o);
	if (!ids || index_claim(self, 1)) {
		Py_XDECREF(ids);
		if (num.obj) PyBuffer_Release(&num);
		if (bad.obj) PyBuffer_Release(&bad);
		return NULL;
	}
	rp_index_doc *docs = NULL;
	size_t docs_cap = 0;
	text_batch b = {0};
	PyObject *ret = NULL;
	if (!self->add) {
		PyErr_SetString(PyExc_RuntimeError, "add_batch without add_begin");
		goto out;
	}
	Py_ssize_t at = 0;
	while (at < n) {
		Py_ssize_t base = at;
		if (batch_fill_at(&b, list, &at, bad.obj ? bad.buf : NULL, start) || docs_reserve(&docs, &docs_cap, b.n))
			goto out;
		for (size_t i = 0; i < b.n; i++) {
			rp_index_doc *d = &docs[i];
			Py_ssize_t k = base + (Py_ssize_t)i;
			if (id_of(PyTuple_GetItem(ids, k), &d->id, &d->id_len)) goto out;
			d->text = b.ptr[i];
			d->len = b.len[i];
			int flags = num.obj ? ((const unsigned char *)num.buf)[k] : 0; /* RP_ID_NUMBER | RP_ID_DEFAULT */
			d->id_is_number = (flags & RP_ID_NUMBER) != 0;
			d->bad = b.bad[i];
			d->id_default = (flags & RP_ID_DEFAULT) != 0; /* from the reader: counted in skipped_default */
		}
		rp_error err = {0};
		int rc;
		Py_BEGIN_ALLOW_THREADS
		rc = rp_index_add_docs(self->add, b.n, docs, &err);
		Py_END_ALLOW_THREADS
		if (rc) {
			Py_ssize_t index = -1;
			if (rc == RP_EDATA) {
				const rp_index_params *ip = rp_index_get_params(self->ix);
				rp_error e2;
				size_t i = find_bad_text(&b, ip->p.char_shingles, ip->p.seed, &e2);
				if (i < b.n) index = start + base + (Py_ssize_t)i, err = e2;
			}
			raise_rp(&err, rc, index);
			goto out;
		}
		if (PyErr_CheckSignals()) goto out;
	}
	ret = Py_None;
	Py_INCREF(ret);
out:
	if (!ret) index_add_drop(self); /* the library's handle is unusable after a failure */
	batch_free(&b);
	PyMem_Free(docs);
	Py_DECREF(ids);
	if (num.obj) PyBuffer_Release(&num);
	if (bad.obj) PyBuffer_Release(&bad);
	self->busy = 0;
	return ret;
}

static PyObject *Index_add_commit(PyObject *self_o, PyObject *unused)
{
	(void)unused;
	IndexObject *self = (IndexObject *)self_o;
	if (index_claim(self, 1)) return NULL;
	PyObject *ret = NULL;
	if (!self->add) {
		PyErr_SetString(PyExc_RuntimeError, "add_commit without add_begin");
		goto out;
	}
	rp_index_add_stats st = {0};
	rp_error err = {0};
	int rc;
	Py_BEGIN_ALLOW_THREADS
	rc = rp_index_add_commit(self->add, NULL, &st, &err);
	Py_END_ALLOW_THREADS
	if (rc) raise_rp(&err, rc, -1);
	else
		ret = Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K}", "added", (unsigned long long)st.added, "skipped",
		                    (unsigned long long)st.skipped, "repeated", (unsigned long long)st.repeated,
		                    "skipped_default", (unsigned long long)st.skipped_default, "errored",
		                    (unsigned long long)st.errored, "runs", (unsigned long long)st.runs, "bytes",
		                    (unsigned long long)st.bytes, "segment", (unsigned long long)st.number);
	index_add_drop(self);
out:
	self->busy = 0;
	return ret;
}

/* The Python form of one match: (id, id_is_number, jaccard, a_in_b, b_in_a,
 * passages or None). */
static PyObject *match_tuple(const rp_index_match *m, int passages)
{
	PyObject *ps;
	if (passages) {
		ps = passages_list(m->passages, m->npassages);
		if (!ps) return NULL;
	} else {
		ps = Py_None;
		Py_INCREF(ps);
	}
	return Py_BuildValue("(NOdddN)", PyUnicode_DecodeUTF8(m->id, (Py_ssize_t)m->id_len, "surrogateescape"),
	                     m->id_is_number ? Py_True : Py_False, m->jaccard, m->a_in_b, m->b_in_a, ps);
}

/* query(texts, bad=None, passages=False, containment=0, max_matches=0,
 * max_df=0, start=0) -> list (one per text) of lists of match tuples (see
 * match_tuple), best first; a bad record (None or flagged) has none.
 * containment > 1 turns containment off; 0: library defaults; start: the
 * position of texts[0] for error messages. */
static PyObject *Index_query(PyObject *self_o, PyObject *args)
{
	IndexObject *self = (IndexObject *)self_o;
	PyObject *list, *bad_o = Py_None;
	int passages = 0, max_df = 0;
	double containment = 0;
	Py_ssize_t max_matches = 0, start = 0;
	if (!PyArg_ParseTuple(args, "O|Opdnin", &list, &bad_o, &passages, &containment, &max_matches, &max_df, &start))
		return NULL;
	if (list_check(list, "texts")) return NULL;
	if (containment < 0 || max_matches < 0 || max_df < 0) return raise_usage("query options must be positive");
	Py_ssize_t n = PyList_Size(list);
	Py_buffer bad = {0};
	if (bad_o != Py_None) {
		if (view_of(bad_o, &bad, 0)) return NULL;
		if (bad.len != n) {
			PyBuffer_Release(&bad);
			return raise_usage("bad flags differ in length from texts");
		}
	}
	if (index_claim(self, 0)) {
		if (bad.obj) PyBuffer_Release(&bad);
		return NULL;
	}
	rp_index_query_opts qo;
	rp_index_query_opts_default(&qo);
	if (containment > 0) qo.containment = containment;
	qo.passages = passages;
	if (max_df) qo.max_df = max_df;
	qo.max_matches = (size_t)max_matches;
	if (passages && !rp_index_get_params(self->ix)->store_text) {
		raise_usage("passages: the index does not store text (create it with store_text=True)");
		self->busy = 0;
		if (bad.obj) PyBuffer_Release(&bad);
		return NULL;
	}
	rp_index_doc *docs = NULL;
	rp_index_result *res = NULL;
	size_t docs_cap = 0;
	text_batch b = {0};
	PyObject *out = PyList_New(n), *ret = NULL;
	if (!out) goto done;
	Py_ssize_t at = 0;
	while (at < n) {
		Py_ssize_t base = at;
		if (batch_fill_at(&b, list, &at, bad.obj ? bad.buf : NULL, start)) goto done;
		if (b.n > docs_cap) {
			PyMem_Free(res);
			res = PyMem_Malloc(b.n * sizeof *res);
			if (!res || docs_reserve(&docs, &docs_cap, b.n)) {
				if (!PyErr_Occurred()) PyErr_NoMemory();
				docs_cap = 0;
				goto done;
			}
		}
		for (size_t i = 0; i < b.n; i++) docs[i] = (rp_index_doc){b.ptr[i], b.len[i], NULL, 0, 0, b.bad[i], 0};
		rp_error err = {0};
		int rc;
		Py_BEGIN_ALLOW_THREADS
		rc = rp_index_query(self->ix, self->pool, b.n, docs, &qo, res, &err);
		Py_END_ALLOW_THREADS
		if (rc) {
			Py_ssize_t index = -1;
			if (rc == RP_EDATA) {
				const rp_index_params *ip = rp_index_get_params(self->ix);
				rp_error e2;
				size_t i = find_bad_text(&b, ip->p.char_shingles, ip->p.seed, &e2);
				if (i < b.n) index = start + base + (Py_ssize_t)i, err = e2;
			}
			raise_rp(&err, rc, index);
			goto done;
		}
		int failed = 0;
		for (size_t i = 0; i < b.n && !failed; i++) {
			PyObject *l = PyList_New((Py_ssize_t)res[i].n);
			if (!l) {
				failed = 1;
				break;
			}
			for (size_t k = 0; k < res[i].n; k++) {
				PyObject *t = match_tuple(&res[i].matches[k], passages);
				if (!t) {
					failed = 1;
					break;
				}
				PyList_SetItem(l, (Py_ssize_t)k, t);
			}
			PyList_SetItem(out, base + (Py_ssize_t)i, l);
		}
		rp_index_results_free(res, b.n);
		if (failed || PyErr_CheckSignals()) goto done;
	}
	ret = out;
	out = NULL;
done:
	Py_XDECREF(out);
	batch_free(&b);
	PyMem_Free(docs);
	PyMem_Free(res);
	if (bad.obj) PyBuffer_Release(&bad);
	self->busy = 0;
	return ret;
}

/* remove(ids) -> number of ids found (tombstoned in a new manifest). */
static PyObject *Index_remove(PyObject *self_o, PyObject *args)
{
	IndexObject *self = (IndexObject *)self_o;
	PyObject *ids_o;
	if (!PyArg_ParseTuple(args, "O", &ids_o)) return NULL;
	if (list_check(ids_o, "ids")) return NULL;
	PyObject *ids = PyList_AsTuple(ids_o);
	if (!ids) return NULL;
	Py_ssize_t n = PyTuple_Size(ids);
	const char **ptr = PyMem_Malloc(((size_t)n + 1) * sizeof *ptr);
	size_t *len = PyMem_Malloc(((size_t)n + 1) * sizeof *len);
	PyObject *ret = NULL;
	if (!ptr || !len) {
		PyErr_NoMemory();
		goto out;
	}
	for (Py_ssize_t i = 0; i < n; i++)
		if (id_of(PyTuple_GetItem(ids, i), &ptr[i], &len[i])) goto out;
	if (index_claim(self, 1)) goto out;
	rp_error err = {0};
	uint64_t removed = 0;
	int rc;
	Py_BEGIN_ALLOW_THREADS
	rc = rp_index_remove(self->ix, (size_t)n, ptr, len, &removed, &err);
	Py_END_ALLOW_THREADS
	self->busy = 0;
	if (rc) raise_rp(&err, rc, -1);
	else ret = PyLong_FromUnsignedLongLong(removed);
out:
	PyMem_Free(ptr);
	PyMem_Free(len);
	Py_DECREF(ids);
	return ret;
}

static PyObject *Index_compact(PyObject *self_o, PyObject *unused)
{
	(void)unused;
	IndexObject *self = (IndexObject *)self_o;
	if (index_claim(self, 1)) return NULL;
	rp_error err = {0};
	int rc;
	Py_BEGIN_ALLOW_THREADS
	rc = rp_index_compact(self->ix, self->pool, &err);
	Py_END_ALLOW_THREADS
	self->busy = 0;
	if (rc) return raise_rp(&err, rc, -1);
	Py_RETURN_NONE;
}

/* info() -> dict: the parameters (rp_index_get_params), the counts
 * (rp_index_info_get: segments, docs, deleted, bytes, generation,
 * part_bytes) and segment_list [(number, docs, deleted, bytes)]. */
static PyObject *Index_info(PyObject *self_o, PyObject *unused)
{
	(void)unused;
	IndexObject *self = (IndexObject *)self_o;
	if (!self->ix) return PyErr_SetString(PyExc_ValueError, "the index is closed"), NULL;
	const rp_index_params *ip = rp_index_get_params(self->ix);
	rp_index_info in;
	rp_index_info_get(self->ix, &in);
	PyObject *segs = PyList_New((Py_ssize_t)in.segments);
	if (!segs) return NULL;
	for (size_t i = 0; i < in.segments; i++) {
		rp_index_segment_info si;
		rp_index_segment_get(self->ix, i, &si);
		PyObject *t = Py_BuildValue("(KKKK)", (unsigned long long)si.number, (unsigned long long)si.docs,
		                            (unsigned long long)si.deleted, (unsigned long long)si.bytes);
		if (!t) {
			Py_DECREF(segs);
			return NULL;
		}
		PyList_SetItem(segs, (Py_ssize_t)i, t);
	}
	return Py_BuildValue("{s:i,s:i,s:i,s:i,s:i,s:d,s:K,s:i,s:i,s:O,s:n,s:K,s:K,s:K,s:K,s:(KKKKK),s:N}", "ngram",
	                     ip->p.ngram, "char_shingles", ip->p.char_shingles, "num_perm", ip->p.num_perm, "bands",
	                     ip->p.bands, "rows", ip->p.rows, "threshold", ip->p.threshold, "seed",
	                     (unsigned long long)ip->p.seed, "min_words", ip->min_words, "sig_bits", ip->sig_bits,
	                     "store_text", ip->store_text ? Py_True : Py_False, "segments", (Py_ssize_t)in.segments,
	                     "docs", (unsigned long long)in.docs, "deleted", (unsigned long long)in.deleted, "bytes",
	                     (unsigned long long)in.bytes, "generation", (unsigned long long)in.generation, "part_bytes",
	                     (unsigned long long)in.part_bytes[0], (unsigned long long)in.part_bytes[1],
	                     (unsigned long long)in.part_bytes[2], (unsigned long long)in.part_bytes[3],
	                     (unsigned long long)in.part_bytes[4], "segment_list", segs);
}

static PyMethodDef Index_methods[] = {
	{"add_begin", Index_add_begin, METH_VARARGS, "add_begin(memory=0): start adding (one new segment)."},
	{"add_batch", Index_add_batch, METH_VARARGS,
	 "add_batch(texts, ids, numbers=None, bad=None, start=0): sketch and add documents."},
	{"add_commit", Index_add_commit, METH_NOARGS, "add_commit() -> stats: write and publish the segment."},
	{"add_abort", Index_add_abort, METH_NOARGS, "add_abort(): drop everything added since add_begin."},
	{"query", Index_query, METH_VARARGS,
	 "query(texts, bad=None, passages=False, containment=0, max_matches=0, max_df=0) -> matches per text."},
	{"remove", Index_remove, METH_VARARGS, "remove(ids) -> how many were in the index."},
	{"compact", Index_compact, METH_NOARGS, "compact(): merge the live segments, dropping removed documents."},
	{"info", Index_info, METH_NOARGS, "info() -> parameters, counts and segments."},
	{"close", Index_close, METH_NOARGS, "close(): release the handle (and the writer's lock)."},
	{"closed", Index_closed, METH_NOARGS, "closed() -> whether close() was called."},
	{NULL, NULL, 0, NULL}};

static PyType_Slot Index_slots[] = {
	{Py_tp_doc, "Index(path, write=False, threads=0): a handle on rp_index."},
	{Py_tp_init, Index_init},
	{Py_tp_new, PyType_GenericNew},
	{Py_tp_dealloc, Index_dealloc},
	{Py_tp_methods, Index_methods},
	{0, NULL}};

static PyType_Spec Index_spec = {"reprint._core.Index", sizeof(IndexObject), 0, Py_TPFLAGS_DEFAULT, Index_slots};

/* ---- output as the command line writes it -------------------------------- */

typedef struct {
	char *p;
	size_t n, cap;
} strbuf;

static int sb_put(strbuf *b, const char *s, size_t n)
{
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 1 << 16;
		while (cap < b->n + n) cap *= 2;
		char *q = PyMem_Realloc(b->p, cap);
		if (!q) return -1;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	return 0;
}

#define WRITE_CHUNK (1u << 20)

/* Hand the buffered lines to write(bytes) and empty the buffer. */
static int sb_flush(strbuf *b, PyObject *write)
{
	PyObject *chunk = PyBytes_FromStringAndSize(b->p, (Py_ssize_t)b->n);
	if (!chunk) return -1;
	PyObject *r = PyObject_CallFunctionObjArgs(write, chunk, NULL);
	Py_DECREF(chunk);
	if (!r) return -1;
	Py_DECREF(r);
	b->n = 0;
	return 0;
}

/* A JSON string as cli/common.c's json_string writes it: '"', '\\' and
 * control characters escaped, valid UTF-8 as it is, and each byte that is not
 * (a file name's, in a default PATH:LINE id) as \udcXX, Python's
 * surrogateescape. */
static int sb_json_string(strbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	if (sb_put(b, "\"", 1)) return -1;
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = u[i];
		if (c >= 0x80) {
			size_t k = rp_utf8_sequence(u + i, u + n);
			if (k) {
				i += k - 1;
				continue;
			}
		} else if (c >= 0x20 && c != '"' && c != '\\') {
			continue;
		}
		if (sb_put(b, s + run, i - run)) return -1;
		run = i + 1;
		char esc[6] = {'\\', 0};
		size_t len = 2;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, c >= 0x80 ? "udc" : "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			len = 6;
		}
		if (sb_put(b, esc, len)) return -1;
	}
	return sb_put(b, s + run, n - run) || sb_put(b, "\"", 1);
}

/* The JSON of id i: ids[i] (str) quoted, or unquoted when numbers[i]; the
 * number i when ids is None; from the blob when ids is an Ids. */
static int sb_id(strbuf *b, PyObject *ids, const char *numbers, Py_ssize_t i)
{
	if (ids == Py_None) {
		char num[32];
		int k = snprintf(num, sizeof num, "%zd", i);
		return sb_put(b, num, (size_t)k);
	}
	if ((PyObject *)Py_TYPE(ids) == Ids_type) {
		size_t len;
		const char *s = ids_get((IdsObject *)ids, (size_t)i, &len);
		if (((IdsObject *)ids)->num[i]) return sb_put(b, s, len);
		return sb_json_string(b, s, len);
	}
	PyObject *o = PyList_GetItem(ids, i);
	if (!o) return -1;
	Py_ssize_t n;
	const char *s = PyUnicode_AsUTF8AndSize(o, &n);
	if (s) {
		if (numbers && numbers[i]) return sb_put(b, s, (size_t)n);
		return sb_json_string(b, s, (size_t)n);
	}
	/* a str from the reader holding a file name's bytes that are not UTF-8
	 * (surrogateescape): its bytes, written as the CLI writes them */
	if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) return -1;
	PyErr_Clear();
	PyObject *raw = PyUnicode_AsEncodedString(o, "utf-8", "surrogateescape");
	if (!raw) return -1;
	char *rs;
	Py_ssize_t rn;
	int rc = PyBytes_AsStringAndSize(raw, &rs, &rn);
	if (!rc) rc = numbers && numbers[i] ? sb_put(b, rs, (size_t)rn) : sb_json_string(b, rs, (size_t)rn);
	Py_DECREF(raw);
	return rc;
}

/* dedup_lines(ids, numbers, cluster, duplicate, similarity, errors, write=None)
 * -> bytes: the lines `reprint dedup` writes; with write (a callable), they
 * are handed to it in chunks of whole lines (about 1 MiB) and None returned.  ids: list of str, an Ids (which has its
 * own flags: numbers is then ignored) or None (positions);
 * numbers: bytes of flags (id written unquoted) or None; cluster (uint64),
 * duplicate (uint8), similarity (float32) as from Dedup.results(); errors:
 * dict {position: line (str, with its newline)} for bad records, or None. */
static PyObject *py_dedup_lines(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *ids, *numbers_o, *co, *dupo, *simo, *errors, *write = Py_None;
	if (!PyArg_ParseTuple(args, "OOOOOO|O", &ids, &numbers_o, &co, &dupo, &simo, &errors, &write)) return NULL;
	if (write != Py_None && !PyCallable_Check(write)) return PyErr_SetString(PyExc_TypeError, "write: a callable"), NULL;
	int ids_store = (PyObject *)Py_TYPE(ids) == Ids_type;
	if (ids != Py_None && !ids_store && list_check(ids, "ids")) return NULL;
	Py_buffer c = {0}, dup = {0}, sim = {0}, num = {0};
	strbuf b = {0};
	PyObject *out = NULL;
	if (view_of(co, &c, 0) || view_of(dupo, &dup, 0) || view_of(simo, &sim, 0)) goto done;
	if (numbers_o != Py_None && view_of(numbers_o, &num, 0)) goto done;
	Py_ssize_t n = c.len / 8;
	if (dup.len != n || sim.len != n * 4 || (ids_store ? (Py_ssize_t)((IdsObject *)ids)->n != n : ids != Py_None && PyList_Size(ids) != n) ||
	    (numbers_o != Py_None && num.len != n)) {
		raise_usage("dedup_lines: arrays differ in length");
		goto done;
	}
	const uint64_t *cl = c.buf;
	const char *dp = dup.buf, *numbers = numbers_o != Py_None ? num.buf : NULL;
	const float *sp = sim.buf;
	int have_errors = errors != Py_None && PyDict_Size(errors) > 0;
	for (Py_ssize_t i = 0; i < n; i++) {
		if (have_errors) {
			PyObject *k = PyLong_FromSsize_t(i);
			if (!k) goto done;
			PyObject *line = PyDict_GetItemWithError(errors, k);
			Py_DECREF(k);
			if (line) {
				Py_ssize_t ln;
				const char *ls = PyUnicode_AsUTF8AndSize(line, &ln);
				if (!ls || sb_put(&b, ls, (size_t)ln)) goto nomem_or_err;
				if (write != Py_None && b.n >= WRITE_CHUNK && sb_flush(&b, write)) goto done;
				continue;
			}
			if (PyErr_Occurred()) goto done;
		}
		if ((Py_ssize_t)cl[i] >= n || cl[i] > (uint64_t)PY_SSIZE_T_MAX) {
			raise_usage("dedup_lines: cluster out of range");
			goto done;
		}
		char tail[96];
		/* as cli/dedup.c: similarity 1 (most records) without printf's float formatting */
		static const char kept1[] = ", \"duplicate\": false, \"similarity\": 1}\n",
		                  dup1[] = ", \"duplicate\": true, \"similarity\": 1}\n";
		if (sb_put(&b, "{\"id\": ", 7) || sb_id(&b, ids, numbers, i) || sb_put(&b, ", \"cluster\": ", 13) ||
		    sb_id(&b, ids, numbers, (Py_ssize_t)cl[i]))
			goto nomem_or_err;
		if (sp[i] == 1.0f) {
			if (dp[i] ? sb_put(&b, dup1, sizeof dup1 - 1) : sb_put(&b, kept1, sizeof kept1 - 1)) goto nomem_or_err;
		} else {
			int k = snprintf(tail, sizeof tail, ", \"duplicate\": %s, \"similarity\": %.6g}\n",
			                 dp[i] ? "true" : "false", (double)sp[i]);
			if (sb_put(&b, tail, (size_t)k)) goto nomem_or_err;
		}
		if (write != Py_None && b.n >= WRITE_CHUNK && sb_flush(&b, write)) goto done;
	}
	if (write != Py_None) {
		if (b.n && sb_flush(&b, write)) goto done;
		out = Py_None;
		Py_INCREF(out);
		goto done;
	}
	out = PyBytes_FromStringAndSize(b.p ? b.p : "", (Py_ssize_t)b.n);
	goto done;
nomem_or_err:
	if (!PyErr_Occurred()) PyErr_NoMemory();
done:
	PyMem_Free(b.p);
	if (c.obj) PyBuffer_Release(&c);
	if (dup.obj) PyBuffer_Release(&dup);
	if (sim.obj) PyBuffer_Release(&sim);
	if (num.obj) PyBuffer_Release(&num);
	return out;
}

/* ---- module ------------------------------------------------------------------ */

static PyMethodDef core_methods[] = {
	{"resolve_params", (PyCFunction)(void (*)(void))py_resolve_params, METH_VARARGS | METH_KEYWORDS,
	 "resolve_params(**params) -> dict: parameters after rp_params_resolve, plus the verify margin."},
	{"lsh_choose", py_lsh_choose, METH_VARARGS, "lsh_choose(threshold, num_perm) -> (bands, rows)."},
	{"lsh_probability", py_lsh_probability, METH_VARARGS, "lsh_probability(bands, rows, s) -> float."},
	{"sketch", (PyCFunction)(void (*)(void))py_sketch, METH_VARARGS | METH_KEYWORDS,
	 "sketch(texts, threads=0, meta=False, **params) -> signatures (bytes, n x K uint32)."},
	{"sketch_arrow", (PyCFunction)(void (*)(void))py_sketch_arrow, METH_VARARGS | METH_KEYWORDS,
	 "sketch_arrow(data, offsets, offset_bytes, n, threads=0, **params) -> (sigs, nshingles, content)."},
	{"shingles", (PyCFunction)(void (*)(void))py_shingles, METH_VARARGS | METH_KEYWORDS,
	 "shingles(text, **params) -> bytes of uint64 shingle hashes."},
	{"sig_jaccard", py_sig_jaccard, METH_VARARGS, "sig_jaccard(a, b) -> fraction of equal signature values."},
	{"sig_jaccard_many", py_sig_jaccard_many, METH_VARARGS, "sig_jaccard_many(a, b, K) -> bytes of doubles."},
	{"band_keys", py_band_keys, METH_VARARGS, "band_keys(sigs, K, bands, rows) -> bytes of n x bands uint64."},
	{"text_jaccard", (PyCFunction)(void (*)(void))py_text_jaccard, METH_VARARGS | METH_KEYWORDS,
	 "text_jaccard(a, b, **params) -> exact Jaccard of the shingle sets."},
	{"text_jaccard_many", (PyCFunction)(void (*)(void))py_text_jaccard_many, METH_VARARGS | METH_KEYWORDS,
	 "text_jaccard_many(a_list, b_list, **params) -> bytes of doubles."},
	{"verify_margin", (PyCFunction)(void (*)(void))py_verify_margin, METH_VARARGS | METH_KEYWORDS,
	 "verify_margin(**params) -> rp_verify_margin."},
	{"compare", (PyCFunction)(void (*)(void))py_compare, METH_VARARGS | METH_KEYWORDS,
	 "compare(a, b, min_words=8, **params) -> tuple (see reprint.compare)."},
	{"minhash_update", py_minhash_update, METH_VARARGS, "minhash_update(bins, data, seed)."},
	{"minhash_update_batch", py_minhash_update_batch, METH_VARARGS, "minhash_update_batch(bins, items, seed)."},
	{"minhash_update_hashes", py_minhash_update_hashes, METH_VARARGS, "minhash_update_hashes(bins, hashes)."},
	{"minhash_digest", py_minhash_digest, METH_VARARGS, "minhash_digest(bins, seed) -> densified signature."},
	{"index_create", (PyCFunction)(void (*)(void))py_index_create, METH_VARARGS | METH_KEYWORDS,
	 "index_create(path, min_words=0, sig_bits=0, store_text=False, **params): rp_index_create (0: defaults)."},
	{"dedup_lines", py_dedup_lines, METH_VARARGS,
	 "dedup_lines(ids, numbers, cluster, duplicate, similarity, errors, write=None) -> the lines reprint dedup\n"
	 "writes (to write(chunk) in chunks when given)."},
	{NULL, NULL, 0, NULL}};

static struct PyModuleDef core_module = {PyModuleDef_HEAD_INIT, "reprint._core",
                                         "The C core of reprint (libreprint " RP_VERSION ").", -1, core_methods,
                                         NULL, NULL, NULL, NULL};

static int add_type(PyObject *m, PyType_Spec *spec, const char *name, PyObject **type)
{
	PyObject *t = PyType_FromSpec(spec);
	if (!t) return -1;
	if (type) *type = t; /* borrowed: the module keeps it */
	if (PyModule_AddObject(m, name, t)) {
		Py_DECREF(t);
		return -1;
	}
	return 0;
}

PyMODINIT_FUNC PyInit__core(void)
{
	PyObject *m = PyModule_Create(&core_module);
	if (!m) return NULL;
	ReprintError = PyErr_NewExceptionWithDoc(
		"reprint.ReprintError",
		"An error from libreprint: bad input data or a bad parameter.  Attributes: code (RP_E*), message,\n"
		"file, line, byte (where in the input, when known) and index (the document, when known).",
		PyExc_ValueError, NULL);
	if (!ReprintError) goto fail;
	PyObject *bases = PyTuple_Pack(2, ReprintError, PyExc_OSError);
	if (!bases) goto fail;
	ReprintIOError = PyErr_NewExceptionWithDoc("reprint.ReprintIOError",
	                                           "A read or write error in libreprint (also an OSError).", bases, NULL);
	Py_DECREF(bases);
	if (!ReprintIOError) goto fail;
	Py_INCREF(ReprintError);
	Py_INCREF(ReprintIOError);
	if (PyModule_AddObject(m, "ReprintError", ReprintError) || PyModule_AddObject(m, "ReprintIOError", ReprintIOError))
		goto fail;
	if (add_type(m, &Dedup_spec, "Dedup", NULL) || add_type(m, &Reuse_spec, "Reuse", NULL) ||
	    add_type(m, &Reader_spec, "Reader", &Reader_type) || add_type(m, &Ids_spec, "Ids", &Ids_type) ||
	    add_type(m, &Index_spec, "Index", NULL))
		goto fail;
	if (PyModule_AddStringConstant(m, "VERSION", RP_VERSION) || PyModule_AddIntConstant(m, "NORM_VERSION", RP_NORM_VERSION) ||
	    PyModule_AddIntConstant(m, "MAX_PERM", RP_MAX_PERM) || PyModule_AddIntConstant(m, "VERIFY_AUTO", RP_VERIFY_AUTO) ||
	    PyModule_AddIntConstant(m, "VERIFY_ESTIMATE", RP_VERIFY_ESTIMATE) ||
	    PyModule_AddIntConstant(m, "VERIFY_EXACT", RP_VERIFY_EXACT) ||
	    PyModule_AddIntConstant(m, "ELOCKED", RP_ELOCKED) ||
	    PyModule_AddObject(m, "SIG_EMPTY", PyLong_FromUnsignedLong(RP_SIG_EMPTY)))
		goto fail;
	return m;
fail:
	Py_DECREF(m);
	return NULL;
}
