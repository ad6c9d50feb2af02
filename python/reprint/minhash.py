"""datasketch-style MinHash and MinHashLSH over reprint's sketch, for people
porting code.

Differences from datasketch, on purpose:

* One-permutation hashing with optimal densification (what reprint dedup
  uses): each shingle lands in one of num_perm bins and competes for its
  minimum, so an update costs O(1), not O(num_perm).  Values are 32-bit.  The
  estimator is unbiased with standard error about sqrt(J(1 - J) / num_perm),
  as datasketch's; the two sketches are not interchangeable bit for bit.
* ``MinHash.update(b)`` hashes the given bytes as one shingle, as they are
  (no normalisation, no n-grams): feed it the shingles your code made.  To get
  exactly the signature ``reprint.sketch`` and ``reprint dedup`` compute for a
  text, use ``MinHash.from_text(text)`` or ``update_hashes(reprint.shingles(text))``.
* ``MinHashLSH`` chooses bands x rows as ``reprint dedup`` does (the largest
  rows for which a pair at the threshold is a candidate with probability
  >= 0.98), not by datasketch's weighted false-positive/false-negative
  optimum; ``params=(bands, rows)`` overrides.  ``query`` returns candidates
  (keys sharing a band), like datasketch, in insertion order; ``query(m,
  verify=True)`` keeps only those whose estimated Jaccard reaches the
  threshold.  Storage backends (Redis, Cassandra) are not supported.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from . import _core

_EMPTY = 0xFFFFFFFF


def _utf8(s: str) -> bytes:
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError as e:  # a lone surrogate, as json.loads makes of "\ud800"
        raise _core.ReprintError(f"shingle is not valid Unicode: {e.reason}") from None


class MinHash:
    """A one-permutation MinHash of num_perm 32-bit values.

    >>> m1, m2 = MinHash(), MinHash()
    >>> for w in b"the quick brown fox".split(): m1.update(w)
    >>> for w in b"the quick brown dog".split(): m2.update(w)
    >>> 0.0 <= m1.jaccard(m2) <= 1.0
    True
    """

    __slots__ = ("num_perm", "seed", "_bins", "_digest")

    def __init__(self, num_perm: int = 128, seed: int = 0) -> None:
        if not 1 <= int(num_perm) <= _core.MAX_PERM:
            raise ValueError(f"num_perm must be in 1..{_core.MAX_PERM}")
        self.num_perm = int(num_perm)
        self.seed = int(seed)
        self._bins = bytearray(b"\xff" * (4 * self.num_perm))  # bins before densification
        self._digest: bytes | None = None

    @classmethod
    def from_text(cls, text: str | bytes, num_perm: int = 128, seed: int = 0, ngram: int = 5,
                  shingle: str = "word") -> "MinHash":
        """The MinHash of a text's shingles: its digest equals
        ``reprint.sketch([text], num_perm, ngram, shingle, seed)[0]``."""
        from . import shingles

        m = cls(num_perm, seed)
        m.update_hashes(shingles(text, ngram=ngram, shingle=shingle, seed=seed))
        return m

    def update(self, b: bytes | bytearray | memoryview | str) -> None:
        """Add one shingle: the bytes as given (a str is encoded as UTF-8; one
        with a lone surrogate, which has no UTF-8, raises ReprintError)."""
        if isinstance(b, str):
            b = _utf8(b)
        elif not isinstance(b, (bytes, bytearray, memoryview)):  # bytes(5) would be five zero bytes
            raise TypeError(f"update: expected bytes or str, got {type(b).__name__}")
        _core.minhash_update(self._bins, bytes(b), self.seed)
        self._digest = None

    def update_batch(self, bs: Iterable[bytes | str]) -> None:
        """Add many shingles (datasketch's update_batch)."""
        def one(x: Any) -> bytes:
            if isinstance(x, str):
                return _utf8(x)
            if not isinstance(x, (bytes, bytearray, memoryview)):
                raise TypeError(f"update_batch: expected bytes or str, got {type(x).__name__}")
            return bytes(x)
        _core.minhash_update_batch(self._bins, [one(x) for x in bs], self.seed)
        self._digest = None

    def update_hashes(self, hashes: Any) -> None:
        """Add 64-bit shingle hashes (a uint64 buffer, e.g. ``reprint.shingles(text)``)."""
        _core.minhash_update_hashes(self._bins, hashes)
        self._digest = None

    def digest_bytes(self) -> bytes:
        """The densified signature as num_perm native uint32 (bytes)."""
        if self._digest is None:
            self._digest = _core.minhash_digest(self._bins, self.seed)
        return self._digest

    def digest(self) -> Any:
        """The signature: a numpy uint32 array if numpy is there, else array('I')."""
        from . import _array_u32

        return _array_u32(self.digest_bytes())

    @property
    def hashvalues(self) -> Any:
        return self.digest()

    def _check(self, other: "MinHash") -> None:
        if not isinstance(other, MinHash):
            raise TypeError("expected a reprint.MinHash")
        if other.num_perm != self.num_perm:
            raise ValueError("cannot compare MinHash objects with different num_perm")
        if other.seed != self.seed:
            raise ValueError("cannot compare MinHash objects with different seeds")

    def jaccard(self, other: "MinHash") -> float:
        """Estimated Jaccard: the fraction of equal signature values."""
        self._check(other)
        return _core.sig_jaccard(self.digest_bytes(), other.digest_bytes())

    def merge(self, other: "MinHash") -> None:
        """Become the MinHash of the union of both shingle sets."""
        self._check(other)
        a, b = memoryview(self._bins).cast("I"), memoryview(other._bins).cast("I")
        for i in range(self.num_perm):
            if b[i] < a[i]:
                a[i] = b[i]
        self._digest = None

    def is_empty(self) -> bool:
        return self._bins.count(b"\xff") == len(self._bins)

    def clear(self) -> None:
        self._bins[:] = b"\xff" * len(self._bins)
        self._digest = None

    def copy(self) -> "MinHash":
        m = MinHash(self.num_perm, self.seed)
        m._bins[:] = self._bins
        m._digest = self._digest
        return m

    def __len__(self) -> int:
        return self.num_perm

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, MinHash) and other.num_perm == self.num_perm and other.seed == self.seed
                and other.digest_bytes() == self.digest_bytes())

    __hash__ = None  # type: ignore[assignment]  # mutable, like datasketch's

    def __repr__(self) -> str:
        return f"MinHash(num_perm={self.num_perm}, seed={self.seed})"


class MinHashLSH:
    """Banded LSH index of MinHash objects, datasketch's MinHashLSH interface.

    insert(key, minhash), query(minhash) -> keys sharing at least one band,
    remove(key), ``key in lsh``.  Band keys are rp_band_key, the keys
    ``reprint dedup`` buckets on."""

    def __init__(self, threshold: float = 0.8, num_perm: int = 128, weights: Any = None,
                 params: tuple[int, int] | None = None) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        self.threshold = float(threshold)
        self.num_perm = int(num_perm)
        if params is None:
            self.b, self.r = _core.lsh_choose(self.threshold, self.num_perm)
        else:
            self.b, self.r = int(params[0]), int(params[1])
            if self.b * self.r > self.num_perm or self.b < 1 or self.r < 1:
                raise ValueError("bands x rows must be at most num_perm")
        self._tables: list[dict[int, list[Hashable]]] = [{} for _ in range(self.b)]
        self._keys: dict[Hashable, tuple[list[int], bytes]] = {}  # key -> (band keys, digest)
        self._seed: int | None = None

    def _band_keys(self, m: MinHash) -> tuple[list[int], bytes]:
        if not isinstance(m, MinHash):
            raise TypeError("expected a reprint.MinHash")
        if m.num_perm != self.num_perm:
            raise ValueError(f"MinHash has num_perm {m.num_perm}, the index {self.num_perm}")
        d = m.digest_bytes()
        raw = _core.band_keys(d, self.num_perm, self.b, self.r)
        return list(memoryview(raw).cast("Q")), d

    def insert(self, key: Hashable, minhash: MinHash, check_duplication: bool = True) -> None:
        """Add minhash under key.  A refused insert (duplicate key, not a
        MinHash, another num_perm or seed) changes nothing: the first
        accepted insert fixes the index's seed."""
        if check_duplication and key in self._keys:
            raise ValueError("the given key already exists")
        bk, d = self._band_keys(minhash)  # validates before any state changes
        if self._seed is not None and minhash.seed != self._seed:
            raise ValueError("MinHash seeds differ within one index")
        hash(key)  # an unhashable key fails here, not halfway through the tables
        self._seed = minhash.seed
        if key in self._keys:
            self.remove(key)
        self._keys[key] = (bk, d)
        for table, k in zip(self._tables, bk):
            table.setdefault(k, []).append(key)

    def query(self, minhash: MinHash, verify: bool = False) -> list[Hashable]:
        """Keys sharing at least one band with minhash, in insertion order
        (verify=True: only those whose estimated Jaccard >= threshold)."""
        bk, d = self._band_keys(minhash)
        seen: dict[Hashable, None] = {}
        for table, k in zip(self._tables, bk):
            for key in table.get(k, ()):
                seen[key] = None
        keys = list(seen)
        if verify:
            keys = [k for k in keys if _core.sig_jaccard(self._keys[k][1], d) >= self.threshold]
        order = {k: i for i, k in enumerate(self._keys)}
        keys.sort(key=order.__getitem__)
        return keys

    def remove(self, key: Hashable) -> None:
        if key not in self._keys:
            raise ValueError("the given key does not exist")
        bk, _ = self._keys.pop(key)
        for table, k in zip(self._tables, bk):
            bucket = table[k]
            bucket.remove(key)
            if not bucket:
                del table[k]

    def __contains__(self, key: Hashable) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def is_empty(self) -> bool:
        return not self._keys

    def keys(self) -> list[Hashable]:
        return list(self._keys)
