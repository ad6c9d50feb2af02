#!/usr/bin/env python3
"""fuzz/seeds.py — write the hand-made seed inputs of every fuzz target into
fuzz/corpus/<target>/seed-*: fixtures for each rule of the reader,
tokenizer, sketch and dedup, and each kind of change to each file of an
index, plus small cuts of ../shared/data (a few records, texts cut to at
most about 1.5 KB).  Deterministic; rerun after
changing it and commit the result.  Inputs found by fuzzing live next to the
seeds under their SHA-1 names (fuzz/run.sh merges them), and inputs that once
exposed a bug under regress-*.

The layout of each target's parameter bytes is described at the top of
fuzz/fuzz_<target>.c."""
import gzip
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, '..', 'shared', 'data')
LIMIT = 4096  # the -max_len fuzz/run.sh gives every target


def out(target, name, data):
    d = os.path.join(ROOT, 'fuzz', 'corpus', target)
    os.makedirs(d, exist_ok=True)
    if len(data) > LIMIT:
        sys.exit('seed %s/%s is %d bytes, over %d' % (target, name, len(data), LIMIT))
    with open(os.path.join(d, 'seed-' + name), 'wb') as f:
        f.write(data)


def real_records(name, n, cut, skip=0):
    """The first n records (after skip) of a shared corpus, texts cut short."""
    recs = []
    with gzip.open(os.path.join(DATA, name + '.jsonl.gz'), 'rt', encoding='utf-8') as f:
        for i, line in enumerate(f):
            if i < skip:
                continue
            r = json.loads(line)
            recs.append({'id': r['id'], 'text': r['text'][:cut]})
            if len(recs) == n:
                break
    return recs


def jsonl(recs, ascii=False):
    return b''.join(json.dumps(r, ensure_ascii=ascii).encode() + b'\n' for r in recs)


def zstd(data):
    return subprocess.run(['zstd', '-q', '-c', '-1'], input=data, stdout=subprocess.PIPE, check=True).stdout


# ---- reader: 5 parameter bytes (codec/format/fields, max_record, cut/split,
# padding, pipe chunks), then the bytes of the file ----
def reader():
    good = (b'{"id": "a", "text": "hello world"}\n'
            b'{"id": 2, "text": "caf\\u00e9 \\ud83d\\ude00 tab\\tquote\\" slash\\/"}\r\n'
            b'\n   \t \n'
            b'{"text": "no id here", "extra": [1, 2.5e-3, -0, true, false, null, {"k": "v"}]}\n'
            b'{"id": -12.5E+3, "text": "numeric id"}\n'
            b'{"id": "\xc3\xa9t\xc3\xa9", "text": "\xe2\x80\x9cutf-8\xe2\x80\x9d \xf0\x9f\x98\x80 raw"}')
    bad = (b'{"id": "g", "text": "good text here"}\n'
           b'{"id": "h", "text": "broken\n'
           b'{"id": "i"}\n'
           b'{"id": "j", "text": "bad \xff utf8"}\n'
           b'{"id": "k", "text": "nul \\u0000 here"}\n'
           b'{"id": "l", "text": "lone \\ud800 surrogate"}\n'
           b'{"id": "m", "text": "lone low \\udc00"}\n'
           b'{"id": {"x": 1}, "text": "id is an object"}\n'
           b'{"id": "n", "text": 5}\n'
           b'["not", "an", "object"]\n'
           b'{"id": "o", "text": "trailing"} x\n'
           b'{"id": "p", "text": "raw \x01 control"}\n'
           b'{"id": "q", "text": "bad escape \\x"}\n'
           b'{"id": "r", "text": "ok", "skip": "\\ud800 lone in another field is fine"}\n'
           b'{"id": "s", "text": "overlong \xc0\xaf and surrogate \xed\xa0\x80"}\n'
           b'{"id": 01, "text": "leading zero"}\n'
           b'{"id": "t" "text": "missing comma"}\n'
           b'{"id": "u", "text": "two texts", "text": "last wins"}\n'
           b'\xef\xbb\xbf{"id": "v", "text": "bom not at start"}\n'
           b'{"id": "w", "text": "fine again"}')
    bom = b'\xef\xbb\xbf{"id": "bom", "text": "a byte-order mark starts the stream"}\n{"text": "second"}\n'
    dotted = (b'{"doc": {"id": 7, "body": "nested body"}}\n'
              b'{"doc": {"body": "first"}, "doc": {"id": "z"}}\n'
              b'{"doc": {"b\\u006fdy": "escaped key", "id": "esc"}}\n'
              b'{"doc": {"body": ["not", "a", "string"]}}\n'
              b'{"doc": "not an object", "body": "wrong level"}\n'
              b'{"meta": {"doc": {"body": "too deep"}}}\n')
    deep = (b'{"t": {"x": {"y": "three levels"}}, "m": {"id": 1}}\n'
            b'{"t": {"x": {"y": {"z": "object"}}}}\n'
            b'{"t": {"x": "short path"}, "m": {"id": null}}\n'
            + b'{"t": ' + b'[' * 40 + b']' * 40 + b', "x": 1}\n'
            + b'{"a": ' + b'{"a": ' * 30 + b'1' + b'}' * 30 + b', "t": {"x": {"y": "after nesting"}}}\n')
    nested600 = b'{"text": "deep", "d": ' + b'[' * 600 + b']' * 600 + b'}\n{"text": "next"}\n'
    same_field = b'{"text": "id and text are one field"}\n{"text": 42}\n{"text": "\\u0000"}\n'
    lines = (b'line one\r\nline two \xff invalid\n\nline with nul \x00 byte\n'
             b'caf\xc3\xa9 \xe2\x80\x94 dash\n\rlast line without newline\r')
    longline = b'{"text": "' + b'x' * 300 + b'"}\n{"text": "short"}\n' + b'y' * 200 + b'\n{"text": "end"}'
    blanks = b'\n\n \r\n\t\n' + b' ' * 100 + b'\n{"text": "after blanks"}\n\r'
    fixtures = {'good': good, 'bad': bad, 'bom': bom, 'dotted': dotted, 'deep': deep,
                'nested600': nested600, 'same-field': same_field, 'lines': lines, 'long': longline,
                'blanks': blanks, 'empty': b'', 'cr': b'\r', 'nl': b'\n'}
    # header: b0 = codec | format << 2 | fields << 4 | cut 0x40 | zstd-multi 0x80
    F = {'good': 0, 'bad': 0, 'bom': 0, 'dotted': 1, 'deep': 3, 'nested600': 0, 'same-field': 2,
         'lines': 0, 'long': 0, 'blanks': 0, 'empty': 0, 'cr': 0, 'nl': 0}
    for name, data in fixtures.items():
        f = F[name] << 4
        fmt = 2 if name == 'lines' else 0
        out('reader', name + '-plain', bytes([f | fmt << 2, 0, 0, 0, 0]) + data)
        out('reader', name + '-gzip', bytes([f | fmt << 2 | 1, 0, 0, 0, 0]) + data)
        out('reader', name + '-zstd-pipe', bytes([f | fmt << 2 | 2, 0, 0, 0, 7]) + data)
        out('reader', name + '-members', bytes([f | fmt << 2 | 3, 0, 0x80, 0, 0]) + data)
    # formats, small max_record, pipe chunks, cuts
    out('reader', 'bad-lines-format', bytes([2 << 2, 0, 0, 0, 3]) + bad)
    out('reader', 'bad-file-format', bytes([3 << 2, 0, 0, 0, 0]) + bad)
    out('reader', 'lines-file-small-max', bytes([3 << 2, 100, 0, 0, 0]) + lines)
    out('reader', 'long-max7', bytes([0, 7, 0, 0, 1]) + longline)
    out('reader', 'long-max64-pipe', bytes([0, 64, 0, 0, 5]) + longline)
    out('reader', 'good-max-cr', bytes([0, 128 + 1, 0, 0, 2]) + good)
    out('reader', 'good-gzip-cut', bytes([0x41, 0, 0xc0, 0, 0]) + good)
    out('reader', 'good-zstd-cut', bytes([0x42, 0, 0x80, 0, 3]) + good)
    out('reader', 'good-members-cut', bytes([0x43, 0, 0xf0, 0, 0]) + good)
    out('reader', 'good-zstd-frames', bytes([0x83, 0, 0x60, 0, 9]) + good)
    # the fuzzer's own compressed streams (codec 0): gzip, two members, zstd
    out('reader', 'raw-gzip', bytes([0, 0, 0, 0, 0]) + gzip.compress(good, mtime=0))
    out('reader', 'raw-gzip-members', bytes([0, 0, 0, 0, 4]) + gzip.compress(bad[:300], mtime=0)
        + gzip.compress(bad[300:], mtime=0))
    out('reader', 'raw-gzip-empty-member', bytes([0, 0, 0, 0, 0]) + gzip.compress(b'', mtime=0)
        + gzip.compress(b'{"text": "x"}\n', mtime=0))
    # a reserved FLG bit (RFC 1952: must be refused) in the first member, and
    # in the second read 1..2 bytes at a time (its header across reads)
    flagged = bytearray(gzip.compress(good[100:], mtime=0))
    flagged[3] |= 0x20
    out('reader', 'raw-gzip-reserved-first', bytes([0, 0, 0, 0, 0]) + bytes(flagged))
    flagged[3] = 0x80
    out('reader', 'raw-gzip-reserved-second', bytes([0, 0, 0, 0, 1]) + gzip.compress(good[:100], mtime=0)
        + bytes(flagged))
    out('reader', 'raw-zstd', bytes([0, 0, 0, 0, 0]) + zstd(good))
    out('reader', 'raw-zstd-frames', bytes([0, 0, 0, 0, 2]) + zstd(dotted) + zstd(good))
    skippable = b'\x50\x2a\x4d\x18' + (5).to_bytes(4, 'little') + b'skip!'
    out('reader', 'raw-zstd-skippable', bytes([0, 0, 0, 0, 3]) + skippable + zstd(good) + skippable)
    out('reader', 'raw-zstd-only-skippable', bytes([0, 0, 0, 0, 0]) + skippable)
    # padding across the buffer boundaries: lines / one long line, 1 MiB / 768 KiB
    out('reader', 'pad-lines-1m', bytes([0, 0, 0, 0xe0, 0]) + good)
    out('reader', 'pad-lines-768k-pipe', bytes([0, 0, 0x11, 0xe8 | 3, 16]) + bad)
    out('reader', 'pad-long-1m', bytes([0, 0, 5, 0xf0 | 1, 0]) + good)
    out('reader', 'pad-long-small-max', bytes([0, 200, 0, 0xf0, 0]) + longline)
    out('reader', 'pad-gzip', bytes([1, 0, 0, 0xe0 | 2, 0]) + good)
    out('reader', 'pad-zstd-long', bytes([2, 0, 0, 0xf8, 0]) + lines)
    # real data
    for corpus, n, cut, skip in (('bbc-news', 3, 600, 0), ('bbc-news-summary', 2, 700, 10),
                                 ('reuters21578', 8, 300, 0), ('20news-bydate', 2, 1200, 0),
                                 ('gutenberg', 2, 1500, 0)):
        data = jsonl(real_records(corpus, n, cut, skip))
        out('reader', 'real-' + corpus, bytes([0, 0, 0, 0, 0]) + data)
        out('reader', 'real-%s-gzip-pipe' % corpus, bytes([1, 0, 0, 0, 31]) + data)
    recs = real_records('20news-bydate', 3, 900, 100)
    out('reader', 'real-20news-ascii-escapes', bytes([0, 0, 0, 0, 0]) + jsonl(recs, ascii=True))
    out('reader', 'real-20news-lines', bytes([2 << 2, 0, 0, 0, 0])
        + '\n'.join(r['text'] for r in recs).encode()[:3000])


# ---- tokenize: 1 flag byte (seed, prefix length), then the text ----
def tokenize():
    texts = {
        'english': 'The committee met on Tuesday to discuss the new budget, which includes "significant" cuts.',
        'hyphen': 'infor-\n  mation well-known infor- \r\n\tmation end-\nEND- \n\n x- -\n y a-\n\xe9t\xe9 a-\n-b',
        'typography': 'curly \u201cquotes\u201d \u2018single\u2019 dash \u2014 en \u2013 ellipsis\u2026 nbsp\u00a0here',
        'ligatures': '\ufb01ne \ufb02ow \uff21\uff22\uff23 fullwidth \u2122 trade \u00bd half \u2460 circled',
        'accents': 'caf\u00e9 cafe\u0301 na\u00efve Stra\u00dfe STRASSE \u03a3\u039f\u03a6\u0399\u0391 \u1e9e',
        'ignorables': 'infor\u00admation zero\u200bwidth join\u200dhere \ufeffbom word\u2060joiner',
        'scripts': '\u4e2d\u6587\u5b57 \u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u0939\u093f\u0928\u094d\u0926\u0940 '
                   '\ud55c\uad6d\uc5b4 \u0e44\u0e17\u0e22 emoji \U0001f600\U0001f44d\U0001f3fd',
        'symbols': 'a\u2260b x\u00b2 10\u00b0C \u00a9 \u00ae $5 \u20ac10 \u00bc \u2153 \u2167 \u33a1 \u2116 \u212b',
        'markdown': '**bold** _em_ [link text](#) `code` # heading \\*escaped\\* ~~strike~~ > quote',
        'lengths': 'abcdefghijklmno abcdefghijklmnop abcdefghijklmnopq ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 '
                   'a bb ccc 0123456789abcdef- x',
        'digits': '1987 3.14 1,000,000 0x1F 2nd 4th \u0661\u0662\u0663 \u0967\u0968',
        'spaces': ' \t\r\n\u2003\u3000\u2028\u2029 ',
        'case': 'HELLO World hElLo \u0130stanbul \u0131 \u01c5 \u1f88 \ufb00',
    }
    for name, s in texts.items():
        b = s.encode('utf-8')
        out('tokenize', name, bytes([0]) + b)
        out('tokenize', name + '-char', bytes([1 | 3 << 2]) + b)
    invalid = {
        'overlong': b'abc \xc0\xaf def', 'surrogate': b'x \xed\xa0\x80 y', 'above-max': b'z \xf4\x90\x80\x80',
        'truncated': b'word \xe2\x82', 'lone-cont': b'\x80start', 'nul': b'before\x00after',
        'ff': b'caf\xc3\xa9 \xff', 'in-word': b'abcdefghijklmnopqrstu\xffvwxyz', 'after-hyphen': b'a-\n\xff',
        'sixteen': b'0123456789abcde\xe9 0123456789abcdef\x00',
    }
    for name, b in invalid.items():
        out('tokenize', 'invalid-' + name, bytes([2]) + b)
    for corpus, cut, skip in (('bbc-news', 1500, 0), ('20news-bydate', 1500, 3), ('gutenberg', 1500, 6),
                              ('reuters21578', 800, 5), ('bbc-news-summary', 1000, 50)):
        t = real_records(corpus, 1, cut, skip)[0]['text'].encode('utf-8')
        out('tokenize', 'real-' + corpus, bytes([5 << 2]) + t)
    pg = real_records('gutenberg', 1, 1200, 3)[0]['text']  # starts with a byte-order mark
    out('tokenize', 'real-gutenberg-bom-char', bytes([1]) + pg.encode('utf-8'))


# ---- sketch: 5 parameter bytes (n, K, seed/alphabet, split), then data ----
def sketch():
    text = b'the quick brown fox jumps over the lazy dog and the quick brown cat'
    cases = {
        'n5-k128': (bytes([4, 0, 127, 0, 128]), text + text),
        'n1-k1': (bytes([0, 0, 0, 0, 100]), text),
        'n3-k1024': (bytes([2, 0x83, 0xff, 1, 128]), text),
        'n64': (bytes([0x40 | 63, 0, 64, 2, 90]), text * 2),
        'same-halves': (bytes([3, 0, 200, 0x10, 128]), b'abcdefgh' * 8),
        'disjoint': (bytes([2, 0, 31, 0xfc, 128]), bytes(range(0, 64)) + bytes(range(64, 128))),
        'empty-b': (bytes([2, 0, 63, 0, 255]), text),
        'empty-both': (bytes([2, 0, 63, 0, 0]), b''),
        'short-stream': (bytes([7, 0, 15, 0, 128]), b'abcdef'),
        'alphabet2': (bytes([1, 0, 99, 0, 128]), bytes(i % 3 for i in range(400))),
        'k-odd': (bytes([4, 0x81, 0x2b, 3, 77]), text * 3),
    }
    for name, (h, d) in cases.items():
        out('sketch', name, h + d)
    # raw shingle hashes: a low word of 0xffffffff (the empty marker), bins at both ends
    raw = b''.join(v.to_bytes(8, 'little') for v in (
        0xffffffff, 0x00000000ffffffff, 0xffffffffffffffff, 0, 1, 0x8000000000000000, 0x7fffffff00000001,
        0x123456789abcdef0, 0xfedcba9876543210))
    out('sketch', 'raw-marker', bytes([0x80, 0, 15, 0, 128]) + raw + raw[:40])
    out('sketch', 'raw-k1024', bytes([0x80, 0x83, 0xff, 2, 100]) + raw)
    out('sketch', 'raw-one-value', bytes([0x80, 0, 255, 0, 128]) + raw[:8] + raw[:8])
    t = real_records('bbc-news', 2, 1200, 0)
    out('sketch', 'real-bbc', bytes([4, 0, 127, 0x40, 128]) + (t[0]['text'] + t[1]['text']).encode()[:2400])


# ---- dedup: 6 parameter bytes (verify/shingles/keep/ngram, K, threshold,
# bands, seed/batch, bad marker), then documents separated by '\n' ----
def dedup():
    A = 'The committee met on Tuesday to discuss the new budget, which includes "significant" cuts to the transport department and a rise in spending on schools.'
    B = 'The committee met on Tuesday to discuss the new budget, which includes \u201csignificant\u201d cuts to the transport department and a rise in spending on schools.'
    C = 'THE COMMITTEE met on Tuesday to discuss the new budget,\u00a0which includes *significant* cuts to the transport depart- ment and a rise in spending on schools.'
    U = 'A completely different story about football: the home side won three nil after a late rally in the second half.'
    small = '\n'.join([A, B, U, '', C, '!!', '!!', '', 'short', 'short', A + ' And one more sentence here.']).encode()
    invalid = '\n'.join([A, 'bad \udcff utf8', B, 'nul \x00 here', U, '#marked bad ' + A, A]).encode('utf-8', 'surrogateescape')
    # header: b0 = verify | char << 2 | longest << 3 | (ngram - 1) << 4
    heads = {
        'auto-default': bytes([0 | 4 << 4, 0x80 | 127, 204, 0, 0, 0]),
        'estimate': bytes([1 | 4 << 4, 31, 204, 0, 1 << 2, 0]),
        'exact': bytes([2 | 4 << 4, 0x80 | 63, 179, 0, 2 | 3 << 2, 0]),
        'char5': bytes([0 | 1 << 2 | 4 << 4, 0x80 | 127, 204, 0, 0, 0]),
        'longest': bytes([2 | 1 << 3 | 2 << 4, 31, 127, 0, 1, 0]),
        'bands': bytes([0 | 2 << 4, 31, 150, 0x13, 0, 0]),
        'low-threshold': bytes([0 | 1 << 4, 15, 10, 0, 15 << 2, 0]),
        'threshold-1': bytes([1 | 4 << 4, 31, 255, 0, 0, 0]),
        'ngram1': bytes([2, 7, 200, 0, 3, 0]),
    }
    for name, h in heads.items():
        out('dedup', name, h + small)
    out('dedup', 'invalid-batches', bytes([0 | 4 << 4, 31, 204, 0, 1 << 2, ord('#')]) + invalid)
    out('dedup', 'invalid-exact-one', bytes([2 | 4 << 4, 31, 204, 0, 0, ord('#')]) + invalid)
    out('dedup', 'empties', bytes([0, 31, 204, 0, 2 << 2, 0]) + b'\n\n!!\n\n??\n!!\n \n\n')
    out('dedup', 'ngram16', bytes([0 | 15 << 4, 31, 128, 0, 0, 0]) + small)
    # real near-duplicates: the same BBC articles twice, the second copies edited
    recs = real_records('bbc-news', 6, 400, 0)
    docs = [r['text'].replace('\n', ' ') for r in recs]
    edited = [d.replace(' the ', ' a ', 1) for d in docs[:3]] + [docs[3][:200]]
    data = '\n'.join(docs + edited).encode()
    out('dedup', 'real-bbc-auto', bytes([0 | 4 << 4, 0x80 | 127, 204, 0, 7 << 2, 0]) + data)
    out('dedup', 'real-bbc-exact-longest', bytes([2 | 1 << 3 | 4 << 4, 63, 150, 0, 1, 0]) + data)
    recs = real_records('reuters21578', 12, 200, 0)
    out('dedup', 'real-reuters-char', bytes([1 | 1 << 2 | 4 << 4, 31, 180, 0, 0, 0])
        + '\n'.join(r['text'].replace('\n', ' ') for r in recs).encode())


# ---- index: 2 parameter bytes (base | change << 1 | file << 4, flags), then
# the change's bytes (fuzz/fuzz_index.c) ----
def index():
    def u16(v):
        return bytes([v & 255, v >> 8])

    def flips(*pairs):
        return b''.join(u16(p) + bytes([x]) for p, x in pairs)

    for base in (0, 1):
        def put(name, change, target, flags, body):
            out('index', 'b%d-%s' % (base, name), bytes([base | change << 1 | target << 4, flags]) + body)
        put('unchanged', 0, 0, 0, b'')
        put('unchanged-write', 0, 1, 1, flips((5, 0)))
        for target, what in ((0, 'manifest'), (1, 'seg1'), (2, 'seg2')):
            put('flip-%s' % what, 0, target, 0, flips((20, 1), (90, 0x80)))
            put('flip-end-%s' % what, 0, target, 0, flips((0xffff, 0x40)))
            put('truncate-%s' % what, 1, target, 0, u16(100))
            put('truncate-grow-%s' % what, 1, target, 0, u16(0xffff) + b'tail')
            put('splice-%s' % what, 2, target, 0, u16(120) + b'\x00' * 9)
            put('replace-%s' % what, 3, target, 0, b'RPRTMAN1RPRTSEG1')
            for pos in (24, 80, 96, 104, 130, 200, 400, 700, 1500, 3000):
                put('flip-rechecksum-%s-%d' % (what, pos), 4, target, 0, flips((pos, 1)))
            put('flip-rechecksum-unbound-%s' % what, 4, target, 4, flips((300, 1)))
            put('splice-rechecksum-%s' % what, 5, target, 0, u16(600) + bytes(range(64)))
        # fuzzer-made manifests: no segment, one segment named twice
        put('own-manifest-empty', 6, 0, 0, (1).to_bytes(8, 'little') + (9).to_bytes(8, 'little') + bytes(8))
        put('own-manifest-params', 6, 0, 2, bytes(64) + (1).to_bytes(8, 'little') + (9).to_bytes(8, 'little')
            + bytes(8))
        # fuzzer-made segments: no section; the three sections every segment needs
        put('own-segment-empty', 6, 1, 0, b'\x00')
        put('own-segment-three', 6, 1, 0, b'\x03' + b''.join(
            bytes([k - 1, 0, 0, 16, 0, 0, 0, 0, 0, 0]) for k in (1, 2, 3)) + bytes(48))
        for target, name in ((0, 'manifest-tmp'), (1, 'unnamed-segment'), (2, 'segment-suffix'), (3, 'short-name'),
                             (4, 'other')):
            put('extra-%s' % name, 7, target, 1 if target == 1 else 0, b'RPRTSEG1 garbage')
        put('removed-manifest', 7, 0, 0, b'')
        put('removed-segment', 7, 1, 0, b'')


# ---- reuse: 5 parameter bytes (n-gram, min_words, flags, df, errored byte),
# then documents, one per line (fuzz/fuzz_reuse.c) ----
def reuse():
    recs = real_records('bbc-news', 8, 420, 40)
    arts = [r['text'].replace('\n', ' ') for r in recs]
    words = [a.split() for a in arts]
    # a passage of article 0 quoted in 1 and 2 (with an edit in 2), the whole
    # of article 3 syndicated twice under other headers, the rest unrelated
    quote = words[0][10:40]
    edited = quote[:12] + ['(sic)'] + quote[13:]
    docs = [arts[0],
            ' '.join(words[1][:20] + quote + words[1][20:40]),
            ' '.join(words[2][:15] + edited + words[2][15:30]),
            'Site One News home sport weather ' + arts[3],
            'Other Site home news contact ' + arts[3] + ' share print email',
            arts[4], arts[5], '', 'bad \udcff utf8 ' + arts[0], '#marked ' + arts[0]]
    data = '\n'.join(docs).encode('utf-8', 'surrogateescape')
    # b0: custom n-gram (bit 3) (n - 1) << 4 | min_words index; b2 flags; b3 df
    heads = {
        'default': (0, 10, 0, 0, 0),
        'ngram3-min8': (8 | 2 << 4, 5, 0, 0, 0),
        'all-candidates': (8 | 4 << 4, 3, 1, 0, 0),
        'token-file-mapped': (0, 3, 1 << 1 | 8, 0, 0),
        'token-file-pread': (0, 3, 2 << 1 | 8, 0, 0),
        'token-file-split': (8 | 2 << 4, 6, 3 << 1 | 8, 0, 0),
        'keep-texts-split': (8 | 2 << 4, 6, 3 << 1, 0, 0),
        'boilerplate': (8 | 3 << 4, 4, 1 << 4, 0x20, 0),
        'boilerplate-groups': (8 | 3 << 4, 4, 1 << 4 | 0x80, 0x10, 0),
        'marked': (0, 2, 0x40, 0, ord('#')),
        'ngram1': (8, 0, 1, 0, 0),
    }
    for name, h in heads.items():
        out('reuse', name, bytes(h) + data)
    # one template around four unrelated stories: boilerplate when df allows
    tpl_head = 'Home News Sport Weather Contact About Privacy Terms Subscribe Newsletter Share'
    tpl_foot = 'Copyright all rights reserved advertise careers local world business politics'
    pages = '\n'.join('%s %s %s' % (tpl_head, ' '.join(w[:40]), tpl_foot) for w in words[4:8]).encode()
    out('reuse', 'template-df2', bytes((8 | 4 << 4, 4, 1 << 4, 0, 0)) + pages)
    out('reuse', 'template-none', bytes((8 | 4 << 4, 4, 0, 0, 0)) + pages)


if __name__ == '__main__':
    reader()
    tokenize()
    sketch()
    dedup()
    index()
    reuse()
