"""reprint.Index: the persistent index (``reprint index ...`` and ``reprint query``).

    >>> idx = reprint.Index.create("news.idx", threshold=0.8, store_text=True)
    >>> idx.add([{"id": "a", "text": "..."}, {"id": "b", "text": "..."}])
    {'read': 2, 'added': 2, 'skipped': 0, 'errored': 0, ...}
    >>> idx.close()
    >>> with reprint.Index("news.idx") as idx:
    ...     idx.query(["some new text ..."])
    [[{'id': 'a', 'jaccard': 0.91, 'a_in_b': 0.95, 'b_in_a': 0.93}]]

A thin layer over the library's index (rp_index_*): the same files, the same
answers and the same rules as the command line, which this module mirrors
call for call (cli/index.c): one writer at a time (a second one gets
ReprintError with ``code == reprint.ELOCKED``), any number of readers, each
seeing the index as it was when it opened; every add publishes one new
segment atomically, and an add that fails or is interrupted (Ctrl-C) leaves
the index as it was.
"""
from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any, Union

from . import (_FORMATS, _ID_NUMBER, ReprintError, _check_fields, _chunks, _core, _encodes, _format_error, _inputs,
               _json_id, _json_str, _lookup, _NumberId, _prefetch, _shingle_params, _write_lines)

PathLike = Union[str, "os.PathLike[str]"]

ELOCKED: int = _core.ELOCKED
_PARTS = ("documents_and_ids", "signatures", "bands", "fingerprints", "text")


def _id_pair(v: Any, i: int) -> tuple[str, int]:
    """(text, is_number) of an id as the index keeps it."""
    if isinstance(v, _NumberId):
        return str.__str__(v), 1
    if isinstance(v, str):
        return v, 0
    if isinstance(v, bool) or v is None:
        raise ReprintError(f"document {i}: id {v!r} is not a string or number")
    if isinstance(v, int):
        return str(v), 1
    if isinstance(v, float):
        if not math.isfinite(v):  # JSON has no NaN or infinity
            raise ReprintError(f"document {i}: id {v!r} is not a finite number")
        return repr(v), 1
    raise ReprintError(f"document {i}: id {v!r} is not a string or number")


def _surrogateescaped(v: str) -> bool:
    """v is bytes decoded with surrogateescape (as the reader's ids are)."""
    try:
        return v.encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape") == v
    except UnicodeEncodeError:
        return False


def _id_value(s: str, number: bool) -> Any:
    """An id from the index: str, or for a JSON number an int when it is a
    plain integer, else a str that JSON output writes unquoted."""
    if not number:
        return s
    try:
        v = int(s)
        if str(v) == s:
            return v
    except ValueError:
        pass
    return _NumberId(s)


def _unusable(t: Any) -> bool:
    """A text the library refuses (NUL byte, invalid UTF-8 in bytes, a lone
    surrogate in str, as json.loads makes of "\\ud800")."""
    if isinstance(t, str):
        if "\x00" in t:
            return True
        if t.isascii():
            return False
        try:
            t.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(t, bytes):
        if b"\x00" in t:
            return True
        try:
            t.decode("utf-8")
        except UnicodeDecodeError:
            return True
    return False


def _texts_ids(chunk: list[Any], start: int, ids: Any, text_field: str, id_field: str, need_ids: bool,
               on_error: str, errors: dict[int, str]) -> tuple[list[Any], list[Any]]:
    """Texts (None for a bad record, its reason in errors) and ids of a chunk
    of str/bytes texts or mappings; ids, when given, is the chunk's ids."""
    texts: list[Any] = []
    out_ids: list[Any] = []
    for k, x in enumerate(chunk):
        i = start + k
        rid: Any = None
        if isinstance(x, (str, bytes)):
            t: Any = x
        elif x is None:  # a bad record, as for dedup
            errors[i] = "no text (None)"
            t = None
        elif isinstance(x, Mapping):
            found, rid = _lookup(x, id_field)
            if not found:
                rid = None
            found, t = _lookup(x, text_field)
            if not found:
                errors[i] = f'missing text field "{text_field}"'
                t = None
            elif not isinstance(t, (str, bytes)):
                errors[i] = f'text field "{text_field}" is not a string'
                t = None
        else:
            raise TypeError(f"document {i}: expected str, bytes or a mapping, got {type(x).__name__}")
        if ids is not None:
            rid = ids[k]
        if rid is None and need_ids:
            raise ReprintError(f"document {i}: no id (give records an \"{id_field}\" field, or pass ids=)")
        if isinstance(rid, str) and not rid.isascii() and not _encodes(rid):
            # a lone surrogate (json.loads makes one of "\ud800"): the CLI's
            # reader refuses the record; its id is not used
            errors.setdefault(i, f'id field "{id_field}" is not valid Unicode (lone surrogate)')
            rid, t = "", None
        if t is not None and on_error == "skip" and _unusable(t):
            errors[i] = "NUL byte or invalid Unicode in text"
            t = None
        if t is None and on_error == "fail":
            raise ReprintError(f"document {i}: {errors[i]}")
        texts.append(t)
        out_ids.append(rid)
    return texts, out_ids


def _warn_default_ids(path: str, n: int) -> None:
    """The command's warning (given even with -q): records without an id got
    default ids (PATH:LINE) that an earlier add had, and were left out."""
    if not n:
        return
    one = n == 1
    warnings.warn(f"{n} record{' has' if one else 's have'} no id field; {'its' if one else 'their'} default "
                  f"id{'' if one else 's'} PATH:LINE {'was' if one else 'were'} already in the index {path}, so "
                  f"{'it was' if one else 'they were'} skipped; give every record an id (--id-field)",
                  UserWarning, stacklevel=3)


def _match(m: tuple[Any, ...], passages: bool) -> dict[str, Any]:
    d = {"id": _id_value(m[0], m[1]), "jaccard": m[2], "a_in_b": m[3], "b_in_a": m[4]}
    if passages:
        d["passages"] = [{"a": [p[0], p[1]], "b": [p[2], p[3]], "words": p[4]} for p in m[5]]
    return d


def query_json_line(id: Any, matches: Sequence[Mapping[str, Any]] | None, error: Any = None) -> str:
    """The line ``reprint query`` writes for one document: its id and the
    matches that ``Index.query`` returned for it (or, for a bad record, the
    error: a message, or (message, file, line, byte))."""
    if error is not None:
        msg, file, line, byte = (error, "", 0, 0) if isinstance(error, str) else error
        return (f'{{"id": {_json_id(id)}, "error": {_json_str(msg)}, "file": {_json_str(file)}, '
                f'"line": {line}, "byte": {byte}}}\n')
    parts = []
    for m in matches or ():
        s = (f'{{"id": {_json_id(m["id"])}, "jaccard": {m["jaccard"]:.4g}, "a_in_b": {m["a_in_b"]:.4g}, '
             f'"b_in_a": {m["b_in_a"]:.4g}')
        if "passages" in m:
            s += ", \"passages\": [" + ", ".join(
                f'{{"a": [{p["a"][0]}, {p["a"][1]}], "b": [{p["b"][0]}, {p["b"][1]}], "words": {p["words"]}}}'
                for p in m["passages"]) + "]"
        parts.append(s + "}")
    return f'{{"id": {_json_id(id)}, "matches": [{", ".join(parts)}]}}\n'


class Index:
    """A persistent index of documents to query new ones against.

    ``Index(path, mode="r")`` opens an index for querying; ``mode="w"`` also
    takes the writer's lock (ReprintError with ``code == reprint.ELOCKED``
    while another process or handle holds it) for ``add``, ``remove`` and
    ``compact``.  Opening verifies every byte of every segment: a corrupt or
    truncated file raises ReprintError naming it.  ``Index.create(path, ...)``
    (or ``Index(path, "w", create=True, ...)``) makes a new index first.
    threads=0 uses every core the process may use (its CPU affinity and cgroup
    CPU quota).  Use it as a context manager, or close() it.
    One call at a time per object (a second thread gets RuntimeError); open
    several objects to query from several threads."""

    def __init__(self, path: PathLike, mode: str = "r", threads: int = 0, create: bool = False,
                 **params: Any) -> None:
        if mode not in ("r", "w"):
            raise ReprintError(f"mode: expected 'r' or 'w', got {mode!r}")
        if params and not create:
            raise TypeError(f"unexpected arguments {sorted(params)} (index parameters go with create=True)")
        if create:
            _create(path, **params)
        self.path = os.fspath(path)
        self.mode = mode
        self._core = _core.Index(path, mode == "w", int(threads))

    @classmethod
    def create(cls, path: PathLike, threshold: float = 0.8, ngram: int = 5, shingle: str = "word",
               num_perm: int = 128, bands: int | None = None, rows: int | None = None, seed: int = 0,
               min_words: int = 50, sig_bits: int = 8, store_text: bool = False, mode: str = "w",
               threads: int = 0) -> "Index":
        """``reprint index create``: make an empty index in path (a new or
        empty directory) with these parameters, fixed for its life, and open
        it (for writing by default).  threshold: Jaccard of near-duplicates;
        ngram / shingle ("word", "word:N", "char:N"): shingles; num_perm: sketch
        size; bands and rows: LSH banding (default: chosen for recall >= 0.98 at
        the threshold); min_words: containment finds shared passages of this
        many words; sig_bits: bits kept per MinHash value (1, 2, 4, 8, 16 or 32);
        store_text: keep every text, for query(passages=True)."""
        _create(path, threshold=threshold, ngram=ngram, shingle=shingle, num_perm=num_perm, bands=bands, rows=rows,
                seed=seed, min_words=min_words, sig_bits=sig_bits, store_text=store_text)
        return cls(path, mode, threads)

    # ---- life ----

    def close(self) -> None:
        """Release the index (and the writer's lock).  An add under way is dropped."""
        self._core.close()

    @property
    def closed(self) -> bool:
        return self._core.closed()

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self.closed:
            return f"Index({self.path!r}, closed)"
        i = self._core.info()
        return f"Index({self.path!r}, mode={self.mode!r}, {i['docs']} documents, {i['segments']} segments)"

    # ---- adding ----

    def add(self, texts_or_records: Iterable[Any], ids: Iterable[Any] | None = None, text_field: str = "text",
            id_field: str = "id", on_error: str = "fail", memory: int | None = None) -> dict[str, Any]:
        """``reprint index add``: add documents, as one new segment published
        atomically at the end (an exception or Ctrl-C before then leaves the
        index as it was).

        texts_or_records: mappings with the text under ``text_field`` and the
        id under ``id_field`` (a dotted path "a.b" is rec["a"]["b"], as in the
        CLI's reader; never a key "a.b"), or str/bytes texts with ``ids``
        (one per text: str, or int for a JSON number); any iterable, consumed
        in batches.  A document whose id is already in the index, or earlier
        in this add, is skipped and counted, as the command does.
        on_error="fail" raises at the first bad document (no text field, NUL
        byte, invalid UTF-8); "skip" counts it as errored and goes on.
        memory: bytes of sorted runs kept before spilling (None: 256 MB, or
        a quarter of the memory the process may use if less).  Returns
        {"read", "added", "skipped", "repeated", "skipped_default", "errored",
        "runs", "bytes", "segment"} (repeated: of skipped, ids repeated within
        this add; skipped_default: of skipped, default ids, always 0 here, see
        add_jsonl; segment: the new segment's number, 0 if nothing was added), plus
        "errors": {position: reason} of the skipped bad documents."""
        if on_error not in ("fail", "skip"):
            raise ReprintError(f"on_error: expected fail or skip, got {on_error!r}")
        if memory is not None and memory <= 0:
            raise ReprintError("memory must be positive")
        _check_fields(text_field, id_field)
        id_iter = iter(ids) if ids is not None else None
        errors: dict[int, str] = {}
        n = 0
        self._core.add_begin(int(memory or 0))
        try:
            for chunk in _chunks(texts_or_records):
                chunk_ids = None
                if id_iter is not None:
                    chunk_ids = [next(id_iter, None) for _ in chunk]
                    if chunk_ids and chunk_ids[-1] is None:
                        raise ReprintError("ids: fewer ids than documents")
                texts, rids = _texts_ids(chunk, n, chunk_ids, text_field, id_field, True, on_error, errors)
                pairs = [_id_pair(v, n + k) for k, v in enumerate(rids)]
                bad = bytes(t is None for t in texts) if any(t is None for t in texts) else None
                self._core.add_batch(texts, [p[0] for p in pairs], bytes(p[1] for p in pairs), bad, n)
                n += len(chunk)
            if id_iter is not None and next(id_iter, None) is not None:
                raise ReprintError("ids: more ids than documents")
            st = self._core.add_commit()
        except BaseException:
            self._core.add_abort()
            raise
        return {"read": n, **st, "errors": errors}

    def add_jsonl(self, inputs: PathLike | Sequence[PathLike], format: str = "auto", text_field: str = "text",
                  id_field: str = "id", max_record: int = 64 << 20, on_error: str = "fail",
                  memory: int | None = None) -> dict[str, Any]:
        """``reprint index add DIR INPUT...``: read files with the library's
        reader (JSON Lines by default; gzip/zstd by magic; a record without an
        id is PATH:LINE) and add them as ``add`` does.  Bad records stop the add
        (on_error="fail", with the file, line and byte) or are counted
        (on_error="skip").  Returns the same statistics as ``add``; when
        records without an id got default ids already in the index (an
        earlier add of the same file) and were skipped, "skipped_default"
        counts them and a UserWarning says so, as the command warns even
        with -q."""
        if on_error not in ("fail", "skip"):
            raise ReprintError(f"on_error: expected fail or skip, got {on_error!r}")
        if format not in _FORMATS:
            raise ReprintError(f"format: expected auto, jsonl, lines or file, got {format!r}")
        if memory is not None and memory <= 0:
            raise ReprintError("memory must be positive")
        reader = _core.Reader(_inputs(inputs), _FORMATS[format], text_field, id_field, int(max_record))
        errors: dict[int, str] = {}
        n = 0
        self._core.add_begin(int(memory or 0))
        try:
            for batch in _prefetch(reader):
                bad = None
                if any(r[3] is not None for r in batch):
                    for k, r in enumerate(batch):
                        if r[3] is not None:
                            if on_error == "fail":
                                raise ReprintError(_format_error(r[3]))
                            errors[n + k] = _format_error(r[3])
                    bad = bytes(r[3] is not None for r in batch)
                # an id holding a file name's bytes that are not UTF-8 (PATH:LINE,
                # surrogateescape) goes in as those bytes, as the CLI adds it
                ids = [r[0] if r[0].isascii() or _encodes(r[0]) else r[0].encode("utf-8", "surrogateescape")
                       for r in batch]
                self._core.add_batch([r[2] for r in batch], ids, bytes(r[1] for r in batch), bad, n)
                n += len(batch)
            st = self._core.add_commit()
        except BaseException:
            self._core.add_abort()
            raise
        _warn_default_ids(self.path, st["skipped_default"])
        return {"read": n, **st, "errors": errors}

    # ---- querying ----

    def _query_opts(self, passages: bool, containment: Any, max_matches: int | None,
                    max_df: int | None) -> tuple[bool, float, int, int]:
        if containment is None or containment == "off":
            c = 2.0  # as the command's --containment off
        else:
            c = float(containment)
            if not 0 < c <= 1:
                raise ReprintError("containment must be in (0, 1], or None (off)")
        if max_matches is not None and max_matches < 1:
            raise ReprintError("max_matches must be at least 1")
        if max_df is not None and max_df < 1:
            raise ReprintError("max_df must be at least 1")
        return bool(passages), c, int(max_matches or 0), int(max_df or 0)

    def query(self, texts_or_records: Iterable[Any], passages: bool = False, containment: float | None = 0.5,
              max_matches: int | None = None, max_df: int | None = None, text_field: str = "text",
              id_field: str = "id", on_error: str = "fail") -> list[list[dict[str, Any]] | None]:
        """``reprint query``: for every document (str/bytes or a mapping with
        ``text_field``), the documents of the index that are near-duplicates
        of it (estimated Jaccard at least the index's threshold) or reprints
        (one contained in the other by at least ``containment``; None: off).
        Returns one list per document, in input order, of match dicts with
        the keys and order of the command's JSON: {"id", "jaccard", "a_in_b",
        "b_in_a"} (a_in_b: the share of the query found in the indexed
        document), plus "passages" ([{"a": [start, end], "b": [start, end],
        "words"}], byte ranges of the query and of the indexed text) with
        passages=True (needs store_text).  Sorted by the largest score, then
        id.  max_matches keeps the best N; max_df: fingerprints in more
        documents are boilerplate (default 1000).  A bad document raises
        (on_error="fail") or gets None (on_error="skip")."""
        if on_error not in ("fail", "skip"):
            raise ReprintError(f"on_error: expected fail or skip, got {on_error!r}")
        _check_fields(text_field, id_field)
        ps, c, mm, df = self._query_opts(passages, containment, max_matches, max_df)
        out: list[list[dict[str, Any]] | None] = []
        errors: dict[int, str] = {}
        n = 0
        for chunk in _chunks(texts_or_records):
            texts, _ = _texts_ids(chunk, n, None, text_field, id_field, False, on_error, errors)
            bad = bytes(t is None for t in texts) if any(t is None for t in texts) else None
            res = self._core.query(texts, bad, ps, c, mm, df, n)
            for k, ms in enumerate(res):
                out.append(None if texts[k] is None else [_match(m, ps) for m in ms])
            n += len(chunk)
        return out

    def query_jsonl(self, inputs: PathLike | Sequence[PathLike], output: PathLike | IO[str] | IO[bytes] | None = None,
                    passages: bool = False, containment: float | None = 0.5, max_matches: int | None = None,
                    max_df: int | None = None, format: str = "auto", text_field: str = "text", id_field: str = "id",
                    max_record: int = 64 << 20, on_error: str = "fail") -> dict[str, int]:
        """``reprint query DIR INPUT... -o OUTPUT``: read files with the
        library's reader, query, and write the command's lines byte for byte
        (output: a path, written as the command writes -o: see
        DedupResult.write_jsonl; an open file; or None).  Returns
        {"queries", "matched", "matches"}, the command's summary."""
        if on_error not in ("fail", "skip"):
            raise ReprintError(f"on_error: expected fail or skip, got {on_error!r}")
        if format not in _FORMATS:
            raise ReprintError(f"format: expected auto, jsonl, lines or file, got {format!r}")
        ps, c, mm, df = self._query_opts(passages, containment, max_matches, max_df)
        reader = _core.Reader(_inputs(inputs), _FORMATS[format], text_field, id_field, int(max_record))
        stats = {"queries": 0, "matched": 0, "matches": 0}
        lines: list[str] = []
        n = 0
        for batch in _prefetch(reader):
            bad = None
            if any(r[3] is not None for r in batch):
                if on_error == "fail":
                    raise ReprintError(_format_error(next(r[3] for r in batch if r[3] is not None)))
                bad = bytes(r[3] is not None for r in batch)
            res = self._core.query([r[2] for r in batch], bad, ps, c, mm, df, n)
            for r, ms in zip(batch, res):
                rid = _NumberId(r[0]) if r[1] & _ID_NUMBER else r[0]
                if r[3] is not None:
                    lines.append(query_json_line(rid, None, r[3]))
                    continue
                stats["queries"] += 1
                stats["matched"] += bool(ms)
                stats["matches"] += len(ms)
                lines.append(query_json_line(rid, [_match(m, ps) for m in ms]))
            n += len(batch)
        if output is not None:
            _write_lines(output, lines)
        return stats

    # ---- removing, compacting, describing ----

    def remove(self, ids: Any) -> int:
        """``reprint index remove``: remove documents by id (str, or int for
        JSON-number ids; bytes for an id's raw bytes); they stop matching at
        once, their space is reclaimed by compact().  ids is an iterable of
        ids, or one id: a str or bytes given alone is one id (``remove("abc")``
        removes the id "abc", not "a", "b" and "c"), as is an int.  Returns
        how many of the ids were in the index."""
        if isinstance(ids, (str, bytes)) or (isinstance(ids, (int, float)) and not isinstance(ids, bool)):
            ids = [ids]
        keys: list[Any] = []
        for i, v in enumerate(ids):
            if isinstance(v, (bytes, bytearray, memoryview)):
                keys.append(bytes(v))
            elif isinstance(v, str) and not isinstance(v, _NumberId) and not v.isascii() and not _encodes(v):
                # a reader's id holding a file name's bytes (surrogateescape):
                # those bytes; any other lone surrogate is in no index
                b = v.encode("utf-8", "surrogateescape") if _surrogateescaped(v) else None
                if b is not None:
                    keys.append(b)
            else:
                keys.append(_id_pair(v, i)[0])
        return self._core.remove(keys)

    def compact(self) -> dict[str, int]:
        """``reprint index compact``: merge every live segment into one,
        leaving removed documents out.  Returns {"segments_before",
        "bytes_before", "segments", "bytes", "documents", "removed_dropped"}."""
        before = self._core.info()
        self._core.compact()
        after = self._core.info()
        return {"segments_before": before["segments"], "bytes_before": before["bytes"],
                "segments": after["segments"], "bytes": after["bytes"], "documents": after["docs"],
                "removed_dropped": before["deleted"]}

    def info(self) -> dict[str, Any]:
        """``reprint index info --json`` as a dict, the same keys and values:
        parameters, documents, removed, segments, bytes, bytes per document
        (overall, without text, and by part), and segment_list.  Values are
        rounded as the command prints them: bytes per document to one
        decimal (%.1f), the threshold to 6 significant digits (%g; ``params``
        has it exactly)."""
        i = self._core.info()
        per = 1.0 / i["docs"] if i["docs"] else 0.0

        def r1(x: float) -> float:
            return float("%.1f" % x)

        return {
            "format_version": 1, "norm_version": _core.NORM_VERSION, "generation": i["generation"],
            "shingle": "char" if i["char_shingles"] else "word", "ngram": i["ngram"], "num_perm": i["num_perm"],
            "bands": i["bands"], "rows": i["rows"], "threshold": float("%g" % i["threshold"]), "seed": i["seed"],
            "min_words": i["min_words"], "sig_bits": i["sig_bits"], "store_text": i["store_text"],
            "documents": i["docs"], "removed": i["deleted"], "segments": i["segments"], "bytes": i["bytes"],
            "bytes_per_document": r1(i["bytes"] * per),
            "bytes_per_document_without_text": r1((i["bytes"] - i["part_bytes"][4]) * per),
            "parts": {name: r1(b * per) for name, b in zip(_PARTS, i["part_bytes"])},
            "segment_list": [{"number": s[0], "documents": s[1], "removed": s[2], "bytes": s[3]}
                             for s in i["segment_list"]],
        }

    @property
    def params(self) -> dict[str, Any]:
        """The index's sketch parameters (fixed when it was created)."""
        i = self._core.info()
        return {k: i[k] for k in ("threshold", "ngram", "num_perm", "bands", "rows", "seed", "min_words",
                                  "sig_bits", "store_text")} | {"shingle": "char" if i["char_shingles"] else "word"}


def _create(path: PathLike, threshold: float = 0.8, ngram: int = 5, shingle: str = "word", num_perm: int = 128,
            bands: int | None = None, rows: int | None = None, seed: int = 0, min_words: int = 50,
            sig_bits: int = 8, store_text: bool = False) -> None:
    char, ngram = _shingle_params(shingle, ngram)
    # the command's option ranges (cli/index.c); the library checks the rest
    if not 0 <= threshold <= 1:
        raise ReprintError("threshold must be in [0, 1]")
    if not 1 <= ngram <= 64:
        raise ReprintError("ngram must be in 1..64")
    if not 1 <= num_perm <= _core.MAX_PERM:
        raise ReprintError(f"num_perm must be in 1..{_core.MAX_PERM}")
    for name, v in (("bands", bands), ("rows", rows)):
        if v is not None and not 1 <= v <= _core.MAX_PERM:
            raise ReprintError(f"{name} must be in 1..{_core.MAX_PERM}")
    if not 1 <= min_words <= 1000000:
        raise ReprintError("min_words must be in 1..1000000")
    if not 1 <= sig_bits <= 32:
        raise ReprintError("sig_bits must be 1, 2, 4, 8, 16 or 32")
    _core.index_create(path, int(min_words), int(sig_bits), bool(store_text), threshold=float(threshold),
                       ngram=int(ngram), char_shingles=char, num_perm=int(num_perm), bands=int(bands or 0),
                       rows=int(rows or 0), seed=int(seed))
