"""Signatures: reprint.sketch, the datasketch-style MinHash/MinHashLSH, and the
estimates' error against exact Jaccard and against datasketch."""
import math
import random

import pytest

import reprint
from conftest import records

K = 128


def test_sketch_shape_and_fallback():
    texts = [r["text"] for r in records("bbc-news")[:300]]
    sig = reprint.sketch(texts, num_perm=K, as_numpy=False)
    assert isinstance(sig, reprint.Signatures) and sig.shape == (300, K) and len(sig) == 300
    assert len(sig.tobytes()) == 300 * K * 4 and sig.memoryview().shape == (300, K)
    assert sig[299].tolist() == list(memoryview(sig.tobytes())[299 * K * 4:].cast("I"))
    gen = reprint.sketch((t for t in texts), num_perm=K, as_numpy=False)
    assert gen.tobytes() == sig.tobytes()
    assert reprint.sketch(texts, num_perm=K, threads=1, as_numpy=False).tobytes() == sig.tobytes()
    np = pytest.importorskip("numpy")
    arr = reprint.sketch(texts, num_perm=K)
    assert arr.shape == (300, K) and arr.dtype == np.uint32 and arr.tobytes() == sig.tobytes()
    assert reprint.sketch([""], num_perm=16, as_numpy=False)[0].tolist() == [0xFFFFFFFF] * 16
    keys = reprint.band_keys(arr, 9, 14)
    assert keys.shape == (300, 9)


def test_minhash_from_text_equals_sketch():
    texts = [r["text"] for r in records("reuters21578")[:200]]
    sig = reprint.sketch(texts, num_perm=64, ngram=4, seed=3, as_numpy=False)
    for i, t in enumerate(texts):
        m = reprint.MinHash.from_text(t, num_perm=64, seed=3, ngram=4)
        assert m.digest_bytes() == bytes(sig[i]), i


def test_minhash_update_merge_and_lsh():
    a, b, u = reprint.MinHash(), reprint.MinHash(), reprint.MinHash()
    words = [f"w{i}".encode() for i in range(400)]
    a.update_batch(words[:300])
    for w in words[100:]:
        b.update(w)
    u.update_batch(words)
    assert abs(a.jaccard(b) - 0.5) < 4 * math.sqrt(0.25 / 128) + 1 / 128
    m = a.copy()
    m.merge(b)
    assert m == u and m.digest_bytes() == u.digest_bytes()
    assert reprint.MinHash().is_empty() and not a.is_empty()
    with pytest.raises(ValueError):
        a.jaccard(reprint.MinHash(num_perm=64))
    lsh = reprint.MinHashLSH(threshold=0.5, num_perm=128)
    lsh.insert("a", a)
    lsh.insert("u", u)
    other = reprint.MinHash()
    other.update_batch([f"x{i}".encode() for i in range(300)])
    lsh.insert("other", other)
    assert lsh.query(b) == ["a", "u"] and "a" in lsh and len(lsh) == 3
    verified = lsh.query(b, verify=True)
    assert "u" in verified and all({"a": a, "u": u}[k].jaccard(b) >= 0.5 for k in verified)
    lsh.remove("a")
    assert lsh.query(b) == ["u"] and "a" not in lsh
    with pytest.raises(ValueError):
        lsh.insert("u", u)
    assert (lsh.b, lsh.r) == reprint.lsh_params(0.5, 128)


def edited(text, rng, rate):
    words = text.split()
    out = []
    for w in words:
        r = rng.random()
        if r < rate / 2:
            continue
        out.append(f"x{rng.randrange(10**6)}" if r < rate else w)
    return " ".join(out)


def test_estimates_agree_with_exact_and_datasketch():
    datasketch = pytest.importorskip("datasketch", reason="pip install datasketch to compare with it")
    np = pytest.importorskip("numpy")
    rng = random.Random(2024)
    recs = [r["text"] for r in records("reuters21578") if len(r["text"].split()) >= 80]
    pairs = []
    for _ in range(400):
        a = rng.choice(recs)
        b = edited(a, rng, rng.choice([0.02, 0.05, 0.1, 0.2, 0.35, 0.6, 0.9]))
        pairs.append((a, b))
    sa = reprint.sketch([a for a, _ in pairs], num_perm=K)
    sb = reprint.sketch([b for _, b in pairs], num_perm=K)
    err_r, err_d = [], []
    for i, (a, b) in enumerate(pairs):
        ha, hb = reprint.shingles(a), reprint.shingles(b)
        A, B = set(ha.tolist()), set(hb.tolist())
        j = len(A & B) / len(A | B)
        assert j == pytest.approx(reprint.text_jaccard(a, b))
        est = reprint.jaccard(sa[i], sb[i])
        # datasketch over the very same shingle sets
        ma, mb = datasketch.MinHash(num_perm=K, seed=1), datasketch.MinHash(num_perm=K, seed=1)
        ma.update_batch([int(h).to_bytes(8, "little") for h in A])
        mb.update_batch([int(h).to_bytes(8, "little") for h in B])
        ds = ma.jaccard(mb)
        sigma = math.sqrt(j * (1 - j) / K)
        assert abs(est - j) <= 4 * sigma + 1.0 / K, (i, j, est)
        assert abs(est - ds) <= 4 * math.sqrt(2) * sigma + 2.0 / K, (i, j, est, ds)
        err_r.append(est - j)
        err_d.append(ds - j)
    mae_r, mae_d = np.mean(np.abs(err_r)), np.mean(np.abs(err_d))
    # the same error as datasketch's K-permutation MinHash, and no bias
    assert mae_r <= 1.25 * mae_d + 0.003, (mae_r, mae_d)
    assert abs(np.mean(err_r)) < 0.01, np.mean(err_r)


def test_minhash_update_refuses_non_bytes():
    # bytes(5) is five zero bytes: an int must not pass for a shingle
    m = reprint.MinHash()
    with pytest.raises(TypeError):
        m.update(5)
    with pytest.raises(TypeError):
        m.update_batch([b"a", 7])


def test_lsh_params_refuses_bad_thresholds():
    for t in (1.5, 0.0, -0.2, float("nan")):
        with pytest.raises(reprint.ReprintError):
            reprint.lsh_params(t)
    assert reprint.lsh_params(0.8) == (18, 7)


def test_empty_input_list_reads_nothing_from_stdin():
    # an empty glob must not wait on standard input
    with pytest.raises(reprint.ReprintError, match="no inputs"):
        list(reprint.read_records([]))


def test_lone_surrogates_raise_reprint_error():
    # a str with a lone surrogate has no UTF-8: ReprintError, as invalid
    # UTF-8 in bytes, never UnicodeEncodeError
    bad = "one two \ud800 three"
    calls = [lambda: reprint.sketch([bad]), lambda: reprint.sketch(iter(["a b", bad])),
             lambda: reprint.shingles(bad), lambda: reprint.text_jaccard(bad, "x"),
             lambda: reprint.compare("a b c", bad), lambda: reprint.compare({"id": 1, "text": bad}, "x"),
             lambda: reprint.reuse(["a b c", bad]), lambda: reprint.MinHash().update("\udc80"),
             lambda: reprint.MinHash().update_batch(["a", "\ud800"]), lambda: reprint.MinHash.from_text(bad)]
    for call in calls:
        with pytest.raises(reprint.ReprintError, match="not valid Unicode"):
            call()
    with pytest.raises(reprint.ReprintError, match="document 1: text is not valid Unicode"):
        reprint.reuse(["a b c", bad])
    with pytest.raises(reprint.ReprintError, match="document 1: .*lone surrogate"):
        reprint.reuse([{"id": "a", "text": "x y"}, {"id": "b\udc80", "text": "x y"}])


def test_lsh_refused_insert_changes_nothing():
    lsh = reprint.MinHashLSH(0.5, num_perm=64)
    with pytest.raises(ValueError, match="num_perm"):
        lsh.insert("x", reprint.MinHash(num_perm=128, seed=1))
    with pytest.raises(TypeError):
        lsh.insert("x", "not a MinHash")
    with pytest.raises(TypeError):
        lsh.insert(["unhashable"], reprint.MinHash(num_perm=64, seed=3))
    assert len(lsh) == 0 and "x" not in lsh
    m = reprint.MinHash(num_perm=64, seed=2)
    m.update(b"a")
    lsh.insert("y", m)  # the first valid insert fixes the seed
    assert lsh.query(m) == ["y"]
    with pytest.raises(ValueError, match="seeds differ"):
        lsh.insert("z", reprint.MinHash(num_perm=64, seed=1))
    assert lsh.keys() == ["y"]
