"""reprint: near-duplicate documents, passage reuse and pair explanations.

A Python binding of libreprint (the C library behind the ``reprint`` command).
Every call is batch-first: give it all the texts (a list, or any iterable),
and the C core does the work with the GIL released, on all usable cores, in batches
between which Ctrl-C is honoured.

    >>> import reprint
    >>> res = reprint.dedup(["a b c d e f", "a b c d e f", "x y z"], threshold=0.8)
    >>> [r["cluster"] for r in res]
    [0, 0, 2]

Answers equal the command line's byte for byte: ``reprint.dedup_jsonl`` reads
files with the library's own reader and writes the lines ``reprint dedup``
writes; ``DedupResult.write_jsonl`` writes the same lines for in-memory
records.  ``reprint.spark`` runs the same dedup on Spark.

``reprint.Index`` is the persistent index (``reprint index ...`` and
``reprint query``): add documents in batches, query new ones against it.
"""
from __future__ import annotations

import array
import io
import math
import os
import stat
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, Any, Union

from . import _core
from ._core import ReprintError, ReprintIOError
from .minhash import MinHash, MinHashLSH

__version__ = "0.1.0"
LIBRARY_VERSION: str = _core.VERSION
NORM_VERSION: int = _core.NORM_VERSION

__all__ = [
    "ReprintError", "ReprintIOError", "sketch", "shingles", "Signatures", "dedup", "dedup_jsonl",
    "DedupResult", "compare", "compare_json", "reuse", "reuse_jsonl", "jaccard", "text_jaccard",
    "band_keys", "lsh_params", "MinHash", "MinHashLSH", "read_records", "Index", "query_json_line", "ELOCKED",
]

Text = Union[str, bytes]
PathLike = Union[str, "os.PathLike[str]"]

_BATCH = 8192  # documents handed to the C core per call (Ctrl-C is checked at least this often)

_np: Any
try:  # numpy is optional: arrays come back as ndarrays when it is there
    import numpy as _np
except ImportError:  # pragma: no cover - exercised when numpy is absent
    _np = None
_memoryview = memoryview

_VERIFY = {"auto": _core.VERIFY_AUTO, "estimate": _core.VERIFY_ESTIMATE, "exact": _core.VERIFY_EXACT}
_FORMATS = {"auto": 0, "jsonl": 1, "lines": 2, "file": 3}
_ID_NUMBER, _ID_DEFAULT = 1, 2  # a reader's id flags: RP_ID_NUMBER, RP_ID_DEFAULT


# ---- parameters ------------------------------------------------------------

def _shingle_params(shingle: str, ngram: int) -> tuple[int, int]:
    """(char_shingles, ngram) from shingle="word" | "char" | "word:N" | "char:N"."""
    kind, _, n = shingle.partition(":")
    if kind not in ("word", "char"):
        raise ReprintError(f"shingle: expected word, word:N, char or char:N, got {shingle!r}")
    if n:
        try:
            ngram = int(n)
        except ValueError:
            raise ReprintError(f"shingle: bad length in {shingle!r}") from None
    return (1 if kind == "char" else 0), ngram


def _params(*, threshold: float = 0.8, num_perm: int = 128, ngram: int = 5, shingle: str = "word",
            bands: int | None = None, rows: int | None = None, verify: str = "auto", keep: str = "first",
            seed: int = 0) -> dict[str, Any]:
    char, ngram = _shingle_params(shingle, ngram)
    if verify not in _VERIFY:
        raise ReprintError(f"verify: expected auto, estimate or exact, got {verify!r}")
    if keep not in ("first", "longest"):
        raise ReprintError(f"keep: expected first or longest, got {keep!r}")
    if (bands is None) != (rows is None):
        raise ReprintError("bands and rows go together")
    return dict(threshold=float(threshold), num_perm=int(num_perm), ngram=int(ngram), char_shingles=char,
                bands=int(bands or 0), rows=int(rows or 0), verify=_VERIFY[verify],
                keep_longest=1 if keep == "longest" else 0, seed=int(seed))


def lsh_params(threshold: float = 0.8, num_perm: int = 128) -> tuple[int, int]:
    """(bands, rows) that ``reprint dedup`` uses for this threshold and sketch size:
    the largest rows for which a pair at the threshold is a candidate with
    probability >= 0.98."""
    t = float(threshold)
    if not 0.0 < t <= 1.0:  # NaN too
        raise ReprintError(f"threshold: expected a number in (0, 1], got {threshold!r}")
    return _core.lsh_choose(t, int(num_perm))


# ---- arrays ----------------------------------------------------------------

class Signatures:
    """An (n, K) array of uint32 signatures kept in one bytes object; what
    ``sketch`` returns when numpy is not installed.  ``len()`` is n, ``shape``
    is (n, K), ``sig[i]`` is row i (a memoryview of K uint32), ``tobytes()``
    the raw native-order bytes, ``memoryview()`` a 2-D view (and on Python >=
    3.12 the object itself supports the buffer protocol)."""

    __slots__ = ("_data", "_n", "_k")

    def __init__(self, data: bytes, n: int, k: int) -> None:
        if len(data) != n * k * 4:
            raise ValueError("data does not hold n x K uint32 values")
        self._data, self._n, self._k = data, n, k

    @property
    def shape(self) -> tuple[int, int]:
        return (self._n, self._k)

    @property
    def num_perm(self) -> int:
        return self._k

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> _memoryview:
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError("signature index out of range")
        row = self._k * 4
        return memoryview(self._data)[i * row:(i + 1) * row].cast("I")

    def __iter__(self) -> Iterator[_memoryview]:
        for i in range(self._n):
            yield self[i]

    def tobytes(self) -> bytes:
        return self._data

    def memoryview(self) -> _memoryview:
        return _memoryview(self._data).cast("I", (self._n, self._k))

    def __buffer__(self, flags: int) -> _memoryview:  # Python >= 3.12
        return self.memoryview()

    def tolist(self) -> list[list[int]]:
        return [list(r) for r in self]

    def __repr__(self) -> str:
        return f"Signatures(shape=({self._n}, {self._k}))"


def _sig_array(data: bytes, n: int, k: int, as_numpy: bool | None) -> Any:
    if as_numpy is None:
        as_numpy = _np is not None
    if as_numpy:
        if _np is None:
            raise ImportError("as_numpy=True needs numpy")
        return _np.frombuffer(data, dtype=_np.uint32).reshape(n, k)
    return Signatures(data, n, k)


def _array(data: bytes, typecode: str) -> Any:
    """A numpy array (read-only view) when numpy is there, else array.array."""
    if _np is not None:
        dt = {"Q": _np.uint64, "I": _np.uint32, "B": _np.bool_, "f": _np.float32, "d": _np.float64}[typecode]
        return _np.frombuffer(data, dtype=dt)
    a = array.array(typecode)
    a.frombytes(data)
    return a


def _array_u32(data: bytes) -> Any:
    return _array(data, "I")


def _chunks(items: Iterable[Any], size: int = _BATCH) -> Iterator[list[Any]]:
    if isinstance(items, list):
        for i in range(0, len(items), size):
            yield items[i:i + size]
        return
    chunk: list[Any] = []
    for x in items:
        chunk.append(x)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ---- sketch ----------------------------------------------------------------

def sketch(texts: Iterable[Text], num_perm: int = 128, ngram: int = 5, shingle: str = "word", seed: int = 0,
           threads: int = 0, as_numpy: bool | None = None) -> Any:
    """Sketch texts (str or UTF-8 bytes) into one-permutation MinHash signatures.

    Returns an (n, num_perm) array of uint32: a numpy ndarray (read-only) when
    numpy is importable, else a ``Signatures`` object.  Row i is what
    ``reprint dedup`` computes for document i; ``jaccard(sig[i], sig[j])``
    estimates the Jaccard of their shingle sets with standard error about
    sqrt(J(1 - J) / num_perm).  A text with no token gives all 0xffffffff.
    threads=0 uses every core the process may use (its CPU affinity and
    cgroup CPU quota)."""
    char, ngram = _shingle_params(shingle, ngram)
    kw = dict(num_perm=int(num_perm), ngram=int(ngram), char_shingles=char, seed=int(seed))
    if isinstance(texts, list):
        data = _core.sketch(texts, threads, False, **kw)
        n = len(texts)
    else:
        parts, n = [], 0
        for chunk in _chunks(texts):
            parts.append(_core.sketch(chunk, threads, False, **kw))
            n += len(chunk)
        data = b"".join(parts)
    return _sig_array(data, n, int(num_perm), as_numpy)


def shingles(text: Text, ngram: int = 5, shingle: str = "word", seed: int = 0) -> Any:
    """The 64-bit shingle hashes of one text, in text order (uint64 array):
    the set the sketch is made from (``MinHash.update_hashes`` takes them)."""
    char, ngram = _shingle_params(shingle, ngram)
    return _array(_core.shingles(text, ngram=int(ngram), char_shingles=char, seed=int(seed)), "Q")


def _row_bytes(sig: Any) -> bytes | bytearray | memoryview:
    if isinstance(sig, (bytes, bytearray, memoryview)):
        return sig
    if isinstance(sig, MinHash):
        return sig.digest_bytes()
    if _np is not None and isinstance(sig, _np.ndarray):
        return _np.ascontiguousarray(sig, dtype=_np.uint32).tobytes()
    return array.array("I", sig).tobytes()


def jaccard(a: Any, b: Any) -> float:
    """Estimated Jaccard of two signatures (rows of ``sketch``, or MinHash
    objects): the fraction of equal values."""
    return _core.sig_jaccard(_row_bytes(a), _row_bytes(b))


def text_jaccard(a: Text, b: Text, ngram: int = 5, shingle: str = "word", seed: int = 0) -> float:
    """Exact Jaccard of the shingle sets of two texts (what --verify exact uses)."""
    char, ngram = _shingle_params(shingle, ngram)
    return _core.text_jaccard(a, b, ngram=int(ngram), char_shingles=char, seed=int(seed))


def band_keys(signatures: Any, bands: int, rows: int) -> Any:
    """LSH band keys, (n, bands) uint64: what ``reprint dedup`` buckets on."""
    if isinstance(signatures, Signatures):
        data, n, k = signatures.tobytes(), len(signatures), signatures.num_perm
    elif _np is not None and isinstance(signatures, _np.ndarray):
        s = _np.ascontiguousarray(signatures, dtype=_np.uint32)
        if s.ndim == 1:
            s = s.reshape(1, -1)
        data, n, k = s.tobytes(), s.shape[0], s.shape[1]
    else:
        raise TypeError("signatures must come from reprint.sketch")
    out = _core.band_keys(data, k, int(bands), int(rows))
    if _np is not None:
        return _np.frombuffer(out, dtype=_np.uint64).reshape(n, bands)
    a = array.array("Q")
    a.frombytes(out)
    return [a[i * bands:(i + 1) * bands] for i in range(n)]


# ---- JSON as the command line writes it -----------------------------------

_ESC = {i: f"\\u{i:04x}" for i in range(0x20)}
_ESC.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", ord('"'): '\\"', ord("\\"): "\\\\"})


def _json_str(s: str) -> str:
    """A JSON string exactly as the CLI writes it: only '"', '\\' and control
    characters escaped; everything else as UTF-8, except a file name's bytes
    that are not UTF-8 (in a str from the reader, as \\udcXX surrogates:
    Python's surrogateescape), which the CLI writes as the escape \\udcXX.
    A str with any other lone surrogate raises UnicodeEncodeError."""
    if s.isascii():
        return '"' + s.translate(_ESC) + '"'
    # the bytes the CLI would hold, read back as it escapes them: the UTF-8
    # decoder rejects what rp_utf8_sequence rejects, one \udcXX per byte
    b = s.encode("utf-8", "surrogateescape")
    t = b.decode("utf-8", "surrogateescape").translate(_ESC)
    if t.isascii() or _encodes(t):
        return '"' + t + '"'
    return '"' + "".join(f"\\u{ord(c):04x}" if 0xdc80 <= ord(c) <= 0xdcff else c for c in t) + '"'


class _NumberId(str):
    """An id that came from a JSON number: written unquoted, as the CLI does."""
    __slots__ = ()


def _json_id(v: Any) -> str:
    if isinstance(v, _NumberId):
        return str.__str__(v)
    if isinstance(v, str):
        return _json_str(v)
    if isinstance(v, bool) or v is None:
        raise ReprintError(f"id {v!r} is not a string or number")
    if isinstance(v, float) and not math.isfinite(v):
        raise ReprintError(f"id {v!r} is not a finite number")
    if isinstance(v, (int, float)):
        return repr(v)
    raise ReprintError(f"id {v!r} is not a string or number")


def _g6(x: float) -> str:
    return "%.6g" % x


# ---- records ---------------------------------------------------------------

def _lookup(rec: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    # As the CLI's reader (src/reader.c): a dotted path goes through nested
    # objects, and only that; a key holding the dots itself ("a.b": ...) is
    # not the field "a.b" (the record is then missing its field).
    cur: Any = rec
    for part in path.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return False, None
        cur = cur[part]
    return True, cur


def _check_fields(text_field: str, id_field: str) -> None:
    """Refuse the field paths the CLI refuses (empty, or with an empty part)."""
    for what, path in (("text", text_field), ("id", id_field)):
        if not isinstance(path, str):
            raise TypeError(f"{what}_field must be a str, not {type(path).__name__}")
        if not path:
            raise ReprintError(f"empty {what} field path")
        if "" in path.split("."):
            raise ReprintError(f'{what} field path "{path}" has an empty part')


def _split_records(chunk: list[Any], start: int, text_field: str, id_field: str,
                   errors: dict[int, str]) -> tuple[list[Any], list[Any] | None]:
    """Texts (None for a bad record, its reason in errors) and ids (None when
    the chunk is plain texts) of a chunk of items."""
    if all(type(x) is str for x in chunk):
        return chunk, None
    texts: list[Any] = []
    ids: list[Any] = []
    for k, x in enumerate(chunk):
        i = start + k
        if isinstance(x, (str, bytes)):
            texts.append(x)
            ids.append(i)
            continue
        if not isinstance(x, Mapping):
            raise TypeError(f"document {i}: expected str, bytes or a mapping, got {type(x).__name__}")
        found, rid = _lookup(x, id_field)
        if not found:
            rid = i
        elif isinstance(rid, bool) or not isinstance(rid, (str, int, float)):
            errors[i] = f'id field "{id_field}" is not a string or number'
            rid = i
        elif isinstance(rid, float) and not math.isfinite(rid):  # JSON has no NaN or infinity
            errors[i] = f'id field "{id_field}" is not a finite number'
            rid = i
        elif isinstance(rid, str) and not rid.isascii() and not _encodes(rid):
            # a lone surrogate (json.loads makes one of "\ud800"): the CLI's
            # reader refuses the record
            errors[i] = f'id field "{id_field}" is not valid Unicode (lone surrogate)'
            rid = i
        ids.append(rid)
        found, t = _lookup(x, text_field)
        if not found:
            errors.setdefault(i, f'missing text field "{text_field}"')
            texts.append(None)
        elif not isinstance(t, (str, bytes)):
            errors.setdefault(i, f'text field "{text_field}" is not a string')
            texts.append(None)
        else:
            texts.append(t if i not in errors else None)
    return texts, ids


def _add_chunk(core: Any, texts: list[Any], start: int, on_error: str, errors: dict[int, Any]) -> None:
    """Add one chunk of texts whose first one takes position start.  With
    on_error="skip" a text the library refuses (NUL byte, invalid UTF-8 in
    bytes, a str that is not valid Unicode) becomes a bad record and the rest
    goes on; with "fail" it raises ReprintError naming the document."""
    if on_error == "fail" and errors:
        i = min(errors)
        raise ReprintError(f"document {i}: {errors[i]}")
    while True:
        added = core.count() - start  # a failed batch is dropped whole
        try:
            core.add(texts[added:] if added else texts)
            return
        except ReprintError as e:  # a lone surrogate in a str too (the core names the document)
            if on_error != "skip" or e.index is None:
                raise
            i, msg = e.index, e.message
        errors[i] = msg
        texts = list(texts)
        texts[i - start] = None


def _encodes(t: str) -> bool:
    try:
        t.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


class DedupResult(Sequence[dict[str, Any]]):
    """What ``dedup`` found, per document in input order.

    ``res[i]`` is a dict ``{"id", "cluster", "duplicate", "similarity"}``
    (plus ``"error"`` for a skipped bad record); ``cluster`` is the index of
    the representative for plain texts, its id for records.  The arrays
    ``cluster_index`` (uint64: representative's position), ``duplicate``
    (bool) and ``similarity`` (float32: Jaccard to the representative,
    exact with verify="exact" and, with verify="auto", where the estimate is
    within the margin of the threshold) hold the same compactly
    (numpy arrays when numpy is installed).  ``pairs`` are the verified pairs
    that joined clusters.  ``write_jsonl`` writes the lines ``reprint dedup``
    writes."""

    def __init__(self, cluster: bytes, duplicate: bytes, similarity: bytes, ids: list[Any] | None,
                 errors: dict[int, Any], pairs: tuple[bytes, bytes, bytes], params: dict[str, Any]) -> None:
        self._raw = (cluster, duplicate, similarity)
        self._id_strs: list[str] | None = None
        self._id_nums: bytes | None = None
        self._id_store: Any = None  # a _core.Ids (dedup_jsonl): ids made into Python objects when asked
        self._ids: list[Any] | None = None
        self.cluster_index = _array(cluster, "Q")
        self.duplicate = _array(duplicate, "B")
        self.similarity = _array(similarity, "f")
        self.ids = ids
        self.errors = errors
        self.params = params
        self._pairs = pairs

    @property
    def ids(self) -> list[Any] | None:
        """The records' ids in input order (None for plain texts)."""
        if self._ids is None and self._id_store is not None:
            strs, nums = self._id_store.tolist()
            self._id_strs, self._id_nums = strs, nums
            self._ids = [_NumberId(x) if f else x for x, f in zip(strs, nums)] if any(nums) else strs
        return self._ids

    @ids.setter
    def ids(self, value: list[Any] | None) -> None:
        self._ids = value
        self._id_store = None
        self._id_strs = self._id_nums = None

    def __getstate__(self) -> dict[str, Any]:
        ids = self.ids  # the compact store does not pickle: its ids as Python objects
        state = dict(self.__dict__)
        state["_id_store"], state["_ids"] = None, ids
        return state

    def __len__(self) -> int:
        return len(self.cluster_index)

    def _id(self, i: int) -> Any:
        return self.ids[i] if self.ids is not None else i

    def _one(self, i: int) -> dict[str, Any]:
        if i in self.errors:
            e = self.errors[i]
            return {"id": self._id(i), "error": e if isinstance(e, str) else e[0]}
        return {"id": self._id(i), "cluster": self._id(int(self.cluster_index[i])),
                "duplicate": bool(self.duplicate[i]), "similarity": float(self.similarity[i])}

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self._one(k) for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("document index out of range")
        return self._one(i)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i in range(len(self)):
            yield self._one(i)

    def to_list(self) -> list[dict[str, Any]]:
        return list(self)

    def kept(self) -> list[int]:
        """Positions of the documents kept (representatives and singletons; not errored)."""
        return [i for i in range(len(self)) if not self.duplicate[i] and i not in self.errors]

    def removed(self) -> list[int]:
        """Positions of the duplicates."""
        return [i for i in range(len(self)) if self.duplicate[i]]

    @property
    def pairs(self) -> list[tuple[Any, Any, float]]:
        """Verified pairs (a, b, jaccard) that joined clusters, a < b in input order; ids for records."""
        a, b, j = (_array_list(self._pairs[0], "Q"), _array_list(self._pairs[1], "Q"),
                   _array_list(self._pairs[2], "d"))
        return [(self._id(x), self._id(y), z) for x, y, z in zip(a, b, j)]

    def clusters(self) -> dict[Any, list[Any]]:
        """Clusters with at least one duplicate: representative -> members (ids for records)."""
        out: dict[int, list[int]] = {}
        for i in range(len(self)):
            if self.duplicate[i]:
                out.setdefault(int(self.cluster_index[i]), []).append(i)
        return {self._id(r): [self._id(r)] + [self._id(m) for m in ms] for r, ms in sorted(out.items())}

    def _id_columns(self) -> tuple[Any, Any]:
        """ids as str plus a flag per id written unquoted (JSON numbers)."""
        if self._id_store is not None:
            return self._id_store, None
        if self.ids is None:
            return None, None
        if self._id_strs is None:
            strs: list[str] = []
            nums = bytearray(len(self.ids))
            for i, v in enumerate(self.ids):
                if isinstance(v, _NumberId):
                    strs.append(str.__str__(v))
                    nums[i] = 1
                elif isinstance(v, str):
                    strs.append(v)
                elif isinstance(v, (int, float)) and not isinstance(v, bool):
                    if isinstance(v, float) and not math.isfinite(v):
                        raise ReprintError(f"id {v!r} is not a finite number")
                    strs.append(repr(v))
                    nums[i] = 1
                else:
                    raise ReprintError(f"id {v!r} is not a string or number")
            self._id_strs, self._id_nums = strs, bytes(nums)
        return self._id_strs, self._id_nums

    def jsonl_bytes(self) -> bytes:
        """The output of ``reprint dedup`` for this result (UTF-8), formatted by the C core."""
        return self._lines(None)  # type: ignore[no-any-return]

    def _lines(self, write: Any) -> Any:
        """The lines, as bytes, or handed to write(chunk) in chunks of whole lines."""
        strs, nums = self._id_columns()
        err_lines = None
        if self.errors:
            if self._id_store is not None:
                store = self._id_store
                jid = lambda i: (lambda v, num: v if num else _json_str(v))(*store.item(i))  # noqa: E731
            else:
                jid = (lambda i: _json_id(self.ids[i])) if self.ids is not None else str  # type: ignore[index]
            err_lines = {}
            for i, e in self.errors.items():
                msg, file, line, byte = (e, "", 0, 0) if isinstance(e, str) else e
                err_lines[i] = (f'{{"id": {jid(i)}, "error": {_json_str(msg)}, "file": {_json_str(file)}, '
                                f'"line": {line}, "byte": {byte}}}\n')
        return _core.dedup_lines(strs, nums, self._raw[0], self._raw[1], self._raw[2], err_lines, write)

    def jsonl_lines(self) -> Iterator[str]:
        """The lines ``reprint dedup`` writes for this result (each ends in a newline)."""
        text = self.jsonl_bytes().decode("utf-8", "surrogateescape")
        start = 0
        while start < len(text):
            end = text.index("\n", start) + 1
            yield text[start:end]
            start = end

    def write_jsonl(self, out: PathLike | IO[str] | IO[bytes]) -> None:
        """Write the lines ``reprint dedup`` writes to a path or an open file.

        A path is written as the command writes -o: a regular file under a
        temporary name renamed over it (through a symbolic link, the file
        the link names: the link stays, the file keeps its permissions);
        a FIFO or device in place; /dev/stdout, /dev/fd/N through the
        descriptor, never replaced."""
        # streamed in chunks (the whole output is never one object, as in the CLI)
        if _is_path(out):
            _write_output(out, lambda f: self._lines(f.write))
        elif isinstance(out, (io.BufferedIOBase, io.RawIOBase)) or "b" in getattr(out, "mode", ""):
            self._lines(out.write)
        else:
            self._lines(lambda chunk: out.write(chunk.decode("utf-8", "surrogateescape")))  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"DedupResult({len(self)} documents, {len(self.removed())} duplicates)"


def _array_list(data: bytes, typecode: str) -> list[Any]:
    a = array.array(typecode)
    a.frombytes(data)
    return a.tolist()


def _descriptor_of(path: str) -> int:
    """The descriptor a path names, or -1: /dev/stdout, /dev/stderr,
    /dev/fd/N, /proc/self/fd/N, or a link to one of them (cli/common.c)."""
    for _ in range(2):
        if path == "/dev/stdout":
            return 1
        if path == "/dev/stderr":
            return 2
        n = path[8:] if path.startswith("/dev/fd/") else path[14:] if path.startswith("/proc/self/fd/") else None
        if n is not None and n[:1].isascii() and n[:1].isdigit():
            return int(n) if n.isascii() and n.isdigit() and int(n) <= 1 << 20 else -1
        try:
            path = os.readlink(path)
        except (OSError, ValueError):
            return -1
        if not path:
            return -1
    return -1


def _write_output(path: Any, fill: Any) -> None:
    """Write fill(f) (f a binary file) to the file path names, as the CLI
    opens its outputs (out_open in cli/common.c): /dev/stdout, /dev/fd/N and
    the like through a duplicate of the descriptor, at its offset, never
    truncated or replaced; other files that are not regular (a FIFO, a
    device) in place; a regular file under a temporary name beside it,
    renamed over it on success (it keeps its permissions); through a
    symbolic link, beside the file the link names, so the link stays a link."""
    p = os.fsdecode(os.fspath(path))
    try:
        st: os.stat_result | None = os.stat(p)
    except (OSError, ValueError):
        st = None
    fd = _descriptor_of(p) if st is not None else -1
    if fd >= 0:
        if fd in (1, 2):  # what Python buffered for it goes first
            for stream in (sys.stdout, sys.stderr):
                try:
                    if stream is not None and stream.fileno() == fd:
                        stream.flush()
                except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
                    pass
        with os.fdopen(os.dup(fd), "wb") as f:
            fill(f)
        return
    if st is not None and not stat.S_ISREG(st.st_mode):
        with open(p, "wb") as f:
            fill(f)
        return
    target = p
    try:
        link = stat.S_ISLNK(os.lstat(p).st_mode)
    except OSError:
        link = False
    if link:
        # the file the link names (a dangling link: relative to the link's directory)
        target = os.path.realpath(p) if st is not None else os.path.join(os.path.dirname(p), os.readlink(p))
    tmp = f"{target}.tmp.{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            if st is not None:  # the file it replaces keeps its permissions
                os.fchmod(f.fileno(), stat.S_IMODE(st.st_mode))
            fill(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _is_path(out: Any) -> bool:
    return isinstance(out, (str, bytes, os.PathLike))


def _write_lines(out: Any, lines: Iterable[str]) -> None:
    if _is_path(out):
        _write_output(out, lambda f: _write_to(f, lines))
        return
    _write_to(out, lines)


def _write_to(f: Any, lines: Iterable[str]) -> None:
    buf: list[str] = []
    binary = isinstance(f, (io.BufferedIOBase, io.RawIOBase)) or "b" in getattr(f, "mode", "")
    for line in lines:
        buf.append(line)
        if len(buf) >= 4096:
            s = "".join(buf)
            f.write(s.encode("utf-8", "surrogateescape") if binary else s)
            buf = []
    s = "".join(buf)
    if s:
        f.write(s.encode("utf-8", "surrogateescape") if binary else s)


# ---- dedup -----------------------------------------------------------------

def dedup(texts_or_records: Iterable[Any], threshold: float = 0.8, num_perm: int = 128, ngram: int = 5,
          bands: int | None = None, rows: int | None = None, verify: str = "auto", keep: str = "first",
          threads: int = 0, text_field: str = "text", id_field: str = "id", shingle: str = "word",
          seed: int = 0, on_error: str = "fail", tmpdir: str | None = None) -> DedupResult:
    """Cluster near-duplicate documents, as ``reprint dedup`` does.

    texts_or_records: str/bytes texts, or mappings (e.g. parsed JSON lines)
    with the text under ``text_field`` and the id under ``id_field`` (a dotted
    path "a.b" is rec["a"]["b"], as in the CLI's reader: a key "a.b" is not
    looked at, and a record without the nested field is a bad record); any
    iterable, consumed in batches.  A pair of documents
    is a duplicate when its Jaccard (estimated from num_perm values, checked
    exactly near the threshold with verify="auto") is at least threshold;
    clusters are the connected components of verified candidate pairs, the
    representative is the first document (keep="longest": the longest).
    on_error="fail" raises ReprintError at the first bad document (no text
    field, NUL byte, invalid UTF-8); "skip" reports it in the result
    (``res.errors``) and goes on.  Returns a DedupResult."""
    if on_error not in ("fail", "skip"):
        raise ReprintError(f"on_error: expected fail or skip, got {on_error!r}")
    _check_fields(text_field, id_field)
    p = _params(threshold=threshold, num_perm=num_perm, ngram=ngram, shingle=shingle, bands=bands, rows=rows,
                verify=verify, keep=keep, seed=seed)
    core = _core.Dedup(int(threads), tmpdir, **p)
    ids: list[Any] | None = None
    errors: dict[int, Any] = {}
    n = 0
    for chunk in _chunks(texts_or_records):
        texts, chunk_ids = _split_records(chunk, n, text_field, id_field, errors)
        if chunk_ids is not None and ids is None:
            ids = list(range(n))
        if ids is not None:
            ids.extend(chunk_ids if chunk_ids is not None else range(n, n + len(chunk)))
        _add_chunk(core, texts, n, on_error, errors)
        n += len(chunk)
    core.finish()
    cluster, dup, sim = core.results()
    return DedupResult(cluster, dup, sim, ids, errors, core.pairs(), core.params())


def read_records(inputs: PathLike | Sequence[PathLike], format: str = "auto", text_field: str = "text",
                 id_field: str = "id", max_record: int = 64 << 20) -> Iterator[dict[str, Any]]:
    """Records of files as the CLI reads them (JSON Lines, lines, or whole
    files; gzip and zstd by magic): dicts {"id", "text"} in input order; a bad
    record is {"id", "error", "file", "line", "byte"}.  An id that was a JSON
    number is a str subclass written unquoted by write_jsonl."""
    for rid, flags, text, err in _reader_batches(inputs, format, text_field, id_field, max_record):
        num = flags & _ID_NUMBER
        if err is None and text is not None:
            yield {"id": _NumberId(rid) if num else rid, "text": text.decode("utf-8")}
        else:
            yield {"id": _NumberId(rid) if num else rid, "error": err[0], "file": err[1], "line": err[2],
                   "byte": err[3]}


def _inputs(inputs: Any) -> list[str]:
    if isinstance(inputs, (str, bytes, os.PathLike)):
        inputs = [inputs]
    out = [os.fsdecode(os.fspath(p)) for p in inputs]
    if not out:  # an empty glob would otherwise wait on standard input
        raise ReprintError("no inputs (pass \"-\" to read standard input)")
    return out


def _reader_batches(inputs: Any, format: str, text_field: str, id_field: str,
                    max_record: int) -> Iterator[tuple[str, int, bytes | None, Any]]:
    if format not in _FORMATS:
        raise ReprintError(f"format: expected auto, jsonl, lines or file, got {format!r}")
    r = _core.Reader(_inputs(inputs), _FORMATS[format], text_field, id_field, int(max_record))
    while True:
        batch = r.read()
        if not batch:
            return
        yield from batch


def _format_error(err: tuple[str, str, int, int]) -> str:
    msg, file, line, byte = err
    where = ":".join(str(x) for x in (file, line if line else None, byte) if x not in (None, ""))
    return f"{where}: {msg}" if where else msg


def dedup_jsonl(inputs: PathLike | Sequence[PathLike], output: PathLike | IO[str] | IO[bytes] | None = None,
                threshold: float = 0.8, num_perm: int = 128, ngram: int = 5, bands: int | None = None,
                rows: int | None = None, verify: str = "auto", keep: str = "first", threads: int = 0,
                text_field: str = "text", id_field: str = "id", shingle: str = "word", seed: int = 0,
                format: str = "auto", max_record: int = 64 << 20, on_error: str = "fail",
                tmpdir: str | None = None) -> DedupResult:
    """``reprint dedup INPUT... -o OUTPUT`` from Python: read files with the
    library's reader (JSON Lines by default; gzip/zstd by magic), cluster, and
    write one JSON line per record to output (a path, written as the command
    writes -o: see DedupResult.write_jsonl; an open file; or None for no
    output).  The lines equal the command's byte for byte.  Returns the
    DedupResult (ids are the records' ids).  As the command, the exact checks
    read the texts they compare again: in place from uncompressed files
    (which must not change meanwhile, or ReprintError), from a copy in tmpdir
    for gzip, zstd or stdin."""
    if on_error not in ("fail", "skip"):
        raise ReprintError(f"on_error: expected fail or skip, got {on_error!r}")
    p = _params(threshold=threshold, num_perm=num_perm, ngram=ngram, shingle=shingle, bands=bands, rows=rows,
                verify=verify, keep=keep, seed=seed)
    core = _core.Dedup(int(threads), tmpdir, True, **p)  # reread: the exact checks read texts again
    if format not in _FORMATS:
        raise ReprintError(f"format: expected auto, jsonl, lines or file, got {format!r}")
    reader = _core.Reader(_inputs(inputs), _FORMATS[format], text_field, id_field, int(max_record))
    # the command's read loop in C (Dedup.add_reader): the next batch is read
    # on a thread while this one is sketched, texts never become Python
    # objects and ids stay in one compact store until asked for
    ids = _core.Ids()
    errors: dict[int, Any] = {}
    bad = core.add_reader(reader, ids, errors if on_error == "skip" else None)
    if bad is not None:
        raise ReprintError(_format_error(bad))
    core.finish()
    cluster, dup, sim = core.results()
    res = DedupResult(cluster, dup, sim, None, errors, core.pairs(), core.params())
    res._id_store = ids
    if output is not None:
        res.write_jsonl(output)
    return res


def _prefetch(reader: Any) -> Iterator[list[Any]]:
    """Batches of a reader, the next one read on a thread while the caller
    works on this one (the reader releases the GIL), as the CLI does."""
    import queue
    import threading

    q: queue.Queue[Any] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def run() -> None:
        try:
            while not stop.is_set():
                b = reader.read()
                q.put(b)
                if not b:
                    return
        except BaseException as e:  # handed to the consumer
            q.put(e)

    t = threading.Thread(target=run, name="reprint-reader", daemon=True)
    t.start()
    try:
        while True:
            b = q.get()
            if isinstance(b, BaseException):
                raise b
            if not b:
                return
            yield b
    finally:
        stop.set()
        while t.is_alive():
            try:
                q.get(timeout=0.05)
            except Exception:
                pass
        t.join()


# ---- compare ---------------------------------------------------------------

def _text_and_id(x: Any, default_id: Any, text_field: str, id_field: str) -> tuple[Text, Any]:
    if isinstance(x, (str, bytes)):
        return x, default_id
    if isinstance(x, Mapping):
        found, t = _lookup(x, text_field)
        if not found or not isinstance(t, (str, bytes)):
            raise ReprintError(f'missing text field "{text_field}"')
        found, i = _lookup(x, id_field)
        return t, (i if found and default_id is None else default_id)
    raise TypeError(f"expected str, bytes or a mapping, got {type(x).__name__}")


def compare(a: Any, b: Any, ngram: int = 5, min_words: int = 8, shingle: str = "word", seed: int = 0,
            a_id: Any = None, b_id: Any = None, text_field: str = "text", id_field: str = "id") -> dict[str, Any]:
    """Explain one pair, as ``reprint compare --json``: a dict with
    ``a`` and ``b`` ({"id", "bytes", "words"}), ``jaccard`` (exact, of the
    shingle sets), ``containment`` ({"a_in_b", "b_in_a"}), ``passages``
    ([{"a": [start, end], "b": [start, end], "words"}], shared passages of at
    least min_words words in any order), ``only_a`` and ``only_b`` (byte
    ranges in no passage).  Offsets are UTF-8 byte offsets into each text
    (slice ``text.encode()[start:end]``).  a and b are str/bytes or records.
    min_words must be in 1..1000000 and at least ngram, as the command's
    --min-words (ReprintError otherwise)."""
    _check_fields(text_field, id_field)
    ta, ia = _text_and_id(a, a_id, text_field, id_field)
    tb, ib = _text_and_id(b, b_id, text_field, id_field)
    char, ngram = _shingle_params(shingle, ngram)
    aw, bw, j, ainb, bina, passages, only_a, only_b = _core.compare(
        ta, tb, _min_words(min_words, ngram), ngram=int(ngram), char_shingles=char, seed=int(seed))
    nbytes = lambda t: len(t) if isinstance(t, bytes) else len(t.encode("utf-8", "surrogatepass"))  # noqa: E731
    return {
        "a": {"id": ia, "bytes": nbytes(ta), "words": aw},
        "b": {"id": ib, "bytes": nbytes(tb), "words": bw},
        "jaccard": j,
        "containment": {"a_in_b": ainb, "b_in_a": bina},
        "passages": [{"a": [p[0], p[1]], "b": [p[2], p[3]], "words": p[4]} for p in passages],
        "only_a": only_a,
        "only_b": only_b,
    }


def compare_json(result: Mapping[str, Any]) -> str:
    """The line ``reprint compare --json`` prints for this ``compare`` result."""
    def jid(v: Any) -> str:
        return "null" if v is None else _json_id(v)

    def ranges(rs: list[list[int]]) -> str:
        return "[" + ", ".join(f"[{s}, {e}]" for s, e in rs) + "]"

    a, b, c = result["a"], result["b"], result["containment"]
    ps = ", ".join(f'{{"a": [{p["a"][0]}, {p["a"][1]}], "b": [{p["b"][0]}, {p["b"][1]}], "words": {p["words"]}}}'
                   for p in result["passages"])
    return (f'{{"a": {{"id": {jid(a["id"])}, "bytes": {a["bytes"]}, "words": {a["words"]}}}, '
            f'"b": {{"id": {jid(b["id"])}, "bytes": {b["bytes"]}, "words": {b["words"]}}}, '
            f'"jaccard": {_g6(result["jaccard"])}, "containment": {{"a_in_b": {_g6(c["a_in_b"])}, '
            f'"b_in_a": {_g6(c["b_in_a"])}}}, "passages": [{ps}], "only_a": {ranges(result["only_a"])}, '
            f'"only_b": {ranges(result["only_b"])}}}\n')


# ---- reuse -----------------------------------------------------------------

def _reuse_pairs(core: Any, ids: list[Any] | None) -> Iterator[dict[str, Any]]:
    while True:
        chunk = core.next()
        if not chunk:
            return
        for a, b, j, ainb, bina, ps in chunk:
            yield {"a": ids[a] if ids is not None else a, "b": ids[b] if ids is not None else b, "jaccard": j,
                   "a_in_b": ainb, "b_in_a": bina,
                   "passages": [{"a": [p[0], p[1]], "b": [p[2], p[3]], "words": p[4]} for p in ps]}


def _min_words(min_words: int, ngram: int) -> int:
    """min_words as the CLI takes it (compare, reuse: -m in 1..1000000, at
    least the n-gram length)."""
    if not 1 <= int(ngram) <= 64:
        raise ReprintError("ngram must be in 1..64")
    if isinstance(min_words, bool) or not 1 <= int(min_words) <= 1000000:
        raise ReprintError(f"min_words: expected 1..1000000, got {min_words!r}")
    if int(min_words) < int(ngram):
        raise ReprintError(f"--min-words ({int(min_words)}) must be at least the n-gram length ({int(ngram)})")
    return int(min_words)


def _reuse_opts(min_words: int, template_df: int | None, max_df: int | None, ngram: int) -> tuple[int, int, int]:
    """(min_words, template_df, max_df) for the core; refused as the CLI
    refuses them (--template-df and --max-df in 2..2^30; None: the
    library's default, 40 and 1000)."""
    out = [_min_words(min_words, ngram)]
    for name, v in (("template_df", template_df), ("max_df", max_df)):
        if v is None:
            out.append(0)
        elif isinstance(v, bool) or not 2 <= int(v) <= 1 << 30:
            raise ReprintError(f"{name}: expected 2..{1 << 30} or None, got {v!r}")
        else:
            out.append(int(v))
    return out[0], out[1], out[2]


def _memory(memory: int | None) -> int:
    if memory is None:
        return -1
    if int(memory) < 0:
        raise ReprintError(f"memory: expected a number of bytes >= 0, got {memory!r}")
    return int(memory)


def reuse(texts: Iterable[Any], min_words: int = 50, ngram: int = 5, template_df: int | None = None,
          max_df: int | None = None,
          threads: int = 0, text_field: str = "text", id_field: str = "id", shingle: str = "word",
          seed: int = 0, memory: int | None = None) -> list[dict[str, Any]]:
    """Every pair of documents sharing passages of at least min_words words, as
    ``reprint reuse``: dicts {"a", "b", "jaccard", "a_in_b", "b_in_a",
    "passages": [{"a": [start, end], "b": [start, end], "words"}]} in (a, b)
    input order; a and b are positions for plain texts, ids for records.
    Boilerplate (passages in at least template_df documents at one distance
    from their start or end, a header or footer, unless those documents are
    almost nothing else; elsewhere, in documents that share little else; or
    in more than max_df; None: the library's defaults, as the command's) is
    left out.  memory: bytes of token streams held in memory,
    the rest in a temporary file (None: a quarter of the memory the process
    may use, its cgroup's limit included; 0: all in the file), as --memory.
    Refused as by the command (ReprintError): min_words outside 1..1000000
    or below ngram; template_df or max_df outside 2..2^30, or max_df below
    template_df."""
    _check_fields(text_field, id_field)
    char, ngram = _shingle_params(shingle, ngram)
    core = _core.Reuse(*_reuse_opts(min_words, template_df, max_df, ngram), int(threads), _memory(memory),
                       ngram=int(ngram), char_shingles=char, seed=int(seed))
    ids: list[Any] | None = None
    errors: dict[int, Any] = {}
    n = 0
    for chunk in _chunks(texts):
        ts, chunk_ids = _split_records(chunk, n, text_field, id_field, errors)
        if errors:
            i = min(errors)
            raise ReprintError(f"document {i}: {errors[i]}")
        if chunk_ids is not None and ids is None:
            ids = list(range(n))
        if ids is not None:
            ids.extend(chunk_ids if chunk_ids is not None else range(n, n + len(chunk)))
        core.add(ts, n)
        n += len(chunk)
    core.finish()
    return list(_reuse_pairs(core, ids))


def _reuse_line(p: Mapping[str, Any]) -> str:
    ps = ", ".join(f'{{"a": [{q["a"][0]}, {q["a"][1]}], "b": [{q["b"][0]}, {q["b"][1]}], "words": {q["words"]}}}'
                   for q in p["passages"])
    return (f'{{"a": {_json_id(p["a"])}, "b": {_json_id(p["b"])}, "jaccard": {p["jaccard"]:.4f}, '
            f'"a_in_b": {p["a_in_b"]:.4f}, "b_in_a": {p["b_in_a"]:.4f}, "passages": [{ps}]}}\n')


def reuse_jsonl(inputs: PathLike | Sequence[PathLike], output: PathLike | IO[str] | IO[bytes] | None = None,
                min_words: int = 50, ngram: int = 5, template_df: int | None = None, max_df: int | None = None,
                threads: int = 0,
                text_field: str = "text", id_field: str = "id", format: str = "auto",
                max_record: int = 64 << 20, memory: int | None = None) -> list[dict[str, Any]]:
    """``reprint reuse INPUT... -o OUTPUT`` from Python: the same lines, byte
    for byte (bad records stop the run, as with --on-error fail).  Returns the
    pairs.  memory as for reuse()."""
    core = _core.Reuse(*_reuse_opts(min_words, template_df, max_df, ngram), int(threads), _memory(memory),
                       ngram=int(ngram))
    if format not in _FORMATS:
        raise ReprintError(f"format: expected auto, jsonl, lines or file, got {format!r}")
    reader = _core.Reader(_inputs(inputs), _FORMATS[format], text_field, id_field, int(max_record))
    ids: list[Any] = []
    for batch in _prefetch(reader):
        texts = []
        for rid, flags, text, err in batch:
            if err is not None:
                raise ReprintError(_format_error(err))
            ids.append(_NumberId(rid) if flags & _ID_NUMBER else rid)
            texts.append(text)
        core.add(texts)
    core.finish()
    pairs = list(_reuse_pairs(core, ids))
    if output is not None:
        _write_lines(output, (_reuse_line(p) for p in pairs))
    return pairs


def reuse_json_lines(pairs: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """The lines ``reprint reuse`` writes for these pairs (from ``reuse``)."""
    return (_reuse_line(p) for p in pairs)


from .index import ELOCKED, Index, query_json_line  # noqa: E402  (it uses the helpers above)
