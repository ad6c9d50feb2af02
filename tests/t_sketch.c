/* Shingles, the MinHash sketch and LSH banding, checked against exact
 * computation: the Jaccard estimate on thousands of random set pairs, and the
 * S-curve that `reprint params` prints against simulation on real sketches. */
#include <math.h>
#include <string.h>
#include "test.h"
#include "reprint.h"
#include "internal.h"

static uint64_t rng = 0x1234567;
static uint64_t next(void)
{
	rng += 0x9e3779b97f4a7c15ULL;
	return rp_mix64(rng);
}

static void shingles_rolling_equals_direct(void)
{
	uint64_t tok[200], out[200];
	for (int i = 0; i < 200; i++) tok[i] = next();
	tok[7] = tok[12]; /* repeated tokens */
	/* lengths and n for the eight-at-a-time path, its tail, and rotations past 63 */
	const int ns[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 63, 64, 65, 70};
	const size_t lens[] = {40, 200, 16, 17};
	for (size_t q = 0; q < sizeof ns / sizeof *ns * 4; q++) {
		int n = ns[q / 4];
		size_t len = lens[q % 4];
		if ((size_t)n > len) continue;
		size_t m = rp_shingles(tok, len, n, out);
		CHECK(m == len - (size_t)n + 1);
		for (size_t j = 0; j < m; j++) {
			uint64_t h = 0;
			for (int i = 0; i < n; i++) h ^= rp_rotl64(tok[j + i], (unsigned)(n - 1 - i));
			CHECKF(out[j] == rp_mix64(h ^ (0x9e3779b97f4a7c15ULL * (uint64_t)n)), "n=%d j=%zu", n, j);
		}
	}
	/* Short streams: one shingle of everything; empty: none. */
	CHECK(rp_shingles(tok, 3, 5, out) == 1);
	uint64_t one = out[0];
	CHECK(rp_shingles(tok, 3, 5, out) == 1 && out[0] == one);
	CHECK(rp_shingles(tok, 0, 5, out) == 0);
	/* Order matters. */
	uint64_t ab[2] = {tok[0], tok[1]}, ba[2] = {tok[1], tok[0]}, x, y;
	rp_shingles(ab, 2, 2, &x);
	rp_shingles(ba, 2, 2, &y);
	CHECK(x != y);
}

/* Winnowing against its definition: in every window of w hashes the
 * rightmost minimum, each newly selected position once; random hashes, and
 * hashes from a few values (many ties), w around the vector width. */
static void winnow_equals_definition(void)
{
	static uint64_t h[3000];
	static rp_fingerprint fp[3000];
	const size_t ws[] = {1, 2, 7, 8, 15, 16, 17, 24, 46, 47, 64, 100};
	size_t bad = 0;
	for (int round = 0; round < 120; round++) {
		size_t n = 1 + (size_t)(next() % 3000), w = ws[round % 12];
		uint64_t range = round % 3 == 0 ? 3 : round % 3 == 1 ? 1000 : UINT64_MAX;
		for (size_t i = 0; i < n; i++) h[i] = range == UINT64_MAX ? next() : next() % range;
		size_t m = rp_winnow(h, n, w, fp), k = 0;
		size_t prev = SIZE_MAX;
		for (size_t s = 0; n >= w && s + w <= n; s++) {
			size_t p = s;
			for (size_t i = s + 1; i < s + w; i++)
				if (h[i] <= h[p]) p = i;
			if (p == prev) continue;
			prev = p;
			if (k >= m || fp[k].pos != p || fp[k].hash != h[p]) bad++;
			k++;
		}
		if (k != m) bad++;
	}
	CHECK(bad == 0);
}

static void test_winnow_equals_definition(void)
{
	for (rp_simd_off = 1; rp_simd_off >= 0; rp_simd_off--) winnow_equals_definition(); /* both paths */
	rp_simd_off = 0;
}

static void test_shingles_rolling_equals_direct(void)
{
	for (rp_simd_off = 1; rp_simd_off >= 0; rp_simd_off--) shingles_rolling_equals_direct(); /* both paths */
	rp_simd_off = 0;
}

/* Two random sets with |A ∩ B| = c, |A| = a, |B| = b (sorted for exact J). */
static void make_pair(uint64_t *A, size_t a, uint64_t *B, size_t b, size_t c)
{
	for (size_t i = 0; i < c; i++) A[i] = B[i] = next();
	for (size_t i = c; i < a; i++) A[i] = next();
	for (size_t i = c; i < b; i++) B[i] = next();
}

static void test_estimate_unbiased_with_stated_error(void)
{
	enum { PAIRS = 3000, K = 128 };
	static uint64_t A[8192], B[8192];
	uint32_t sa[K], sb[K];
	double sum_err = 0, sum_z2 = 0;
	int outliers = 0;
	for (int t = 0; t < PAIRS; t++) {
		/* Sizes from 2 to 3000 shingles so densification is exercised. */
		size_t a = 2 + next() % (t % 3 == 0 ? 30 : 3000);
		size_t c = next() % (a + 1);
		size_t b = c + next() % (a + 1);
		if (b < 1) b = 1;
		make_pair(A, a, B, b, c);
		double j = (double)c / (double)(a + b - c);
		rp_sketch(A, a, K, 7, sa);
		rp_sketch(B, b, K, 7, sb);
		double e = rp_sig_jaccard(sa, sb, K);
		double sd = sqrt(j * (1 - j) / K) + 1e-9;
		sum_err += e - j;
		sum_z2 += (e - j) * (e - j) / (sd * sd + 1.0 / (K * K));
		if (fabs(e - j) > 4 * sd + 1.0 / K) outliers++;
	}
	double bias = sum_err / PAIRS, rms_z = sqrt(sum_z2 / PAIRS);
	printf("# bias %.5f, rms error / stated error %.3f, outliers %d of %d\n", bias, rms_z, outliers, PAIRS);
	CHECKF(fabs(bias) < 0.004, "bias %.5f", bias);
	CHECKF(rms_z < 1.25, "rms z %.3f", rms_z);
	CHECKF(outliers <= PAIRS / 200, "%d outliers", outliers);
}

static void test_sketch_properties(void)
{
	enum { K = 128 };
	uint64_t s[100];
	uint32_t a[K], b[K];
	for (int i = 0; i < 100; i++) s[i] = next();
	rp_sketch(s, 0, K, 0, a);
	for (int i = 0; i < K; i++) CHECK(a[i] == RP_SIG_EMPTY);
	rp_sketch(s, 100, K, 0, a);
	for (int i = 0; i < K; i++) CHECK(a[i] != RP_SIG_EMPTY);
	/* Order and repetition do not change a set's sketch. */
	uint64_t r[200];
	for (int i = 0; i < 100; i++) r[i] = s[99 - i], r[100 + i] = s[i];
	rp_sketch(r, 200, K, 0, b);
	CHECK(rp_sig_jaccard(a, b, K) == 1.0);
	/* A single shingle fills every bin. */
	rp_sketch(s, 1, K, 0, a);
	for (int i = 1; i < K; i++) CHECK(a[i] == a[0]);
}

static void test_exact_jaccard(void)
{
	uint64_t a[] = {1, 2, 3, 4}, b[] = {3, 4, 5};
	CHECK(fabs(rp_set_jaccard(a, 4, b, 3) - 0.4) < 1e-12);
	CHECK(rp_set_jaccard(a, 0, b, 0) == 1.0);
	CHECK(rp_set_jaccard(a, 4, b, 0) == 0.0);
}

static void test_lsh_choice(void)
{
	int b, r;
	rp_lsh_choose(0.8, 128, &b, &r);
	CHECK(b == 18 && r == 7);
	CHECK(rp_lsh_probability(b, r, 0.8) >= 0.98);
	CHECK(rp_lsh_probability(b, 8, 0.8) < 0.98 || 128 / 8 < b); /* r = 8 would miss */
	for (int k = 16; k <= 512; k *= 2)
		for (double t = 0.5; t <= 0.95; t += 0.05) {
			rp_lsh_choose(t, k, &b, &r);
			CHECK(b * r <= k);
			if (r > 1) CHECK(rp_lsh_probability(b, r, t) >= 0.98);
		}
	rp_params p;
	rp_params_default(&p);
	rp_error e;
	CHECK(rp_params_resolve(&p, &e) == 0 && p.bands == 18 && p.rows == 7);
	p.bands = 20; p.rows = 7;
	CHECK(rp_params_resolve(&p, &e) == RP_EUSAGE);
	p.bands = 0; p.rows = 0; p.threshold = 1.5;
	CHECK(rp_params_resolve(&p, &e) == RP_EUSAGE);
}

/* The S-curve: fraction of real sketch pairs at Jaccard s sharing a band key,
 * against 1 - (1 - s^r)^b. */
static void test_lsh_curve_by_simulation(void)
{
	enum { K = 128, TRIALS = 1500, SIZE = 400 };
	static uint64_t A[SIZE], B[SIZE];
	uint32_t sa[K], sb[K];
	int bands, rows;
	rp_lsh_choose(0.8, K, &bands, &rows);
	for (int step = 0; step <= 10; step++) {
		double s = 0.5 + 0.05 * step;
		/* |A| = |B| = SIZE, |A ∩ B| = c gives J = c / (2 SIZE - c). */
		size_t c = (size_t)llround(2.0 * SIZE * s / (1 + s));
		double j = (double)c / (2.0 * SIZE - c);
		int hits = 0;
		for (int t = 0; t < TRIALS; t++) {
			make_pair(A, SIZE, B, SIZE, c);
			rp_sketch(A, SIZE, K, 3, sa);
			rp_sketch(B, SIZE, K, 3, sb);
			for (int band = 0; band < bands; band++)
				if (rp_band_key(sa, band, rows) == rp_band_key(sb, band, rows)) { hits++; break; }
		}
		double p = rp_lsh_probability(bands, rows, j), f = (double)hits / TRIALS;
		double sd = sqrt(p * (1 - p) / TRIALS);
		printf("# s=%.2f simulated %.4f predicted %.4f\n", j, f, p);
		CHECKF(fabs(f - p) <= 4 * sd + 0.01, "s=%.3f simulated %.4f predicted %.4f", j, f, p);
	}
}

/* The one-pass path dedup takes equals rp_shingles then rp_sketch, with the
 * low 32 bits of every shingle, for every stream length around n and every K
 * shape (densification on short streams, a full sketch on long ones). */
/* The inverse of rp_mix64 (x ^= x >> 33 is its own inverse; the multipliers
 * are odd, so invertible modulo 2^64). */
static uint64_t unmix64(uint64_t x)
{
	uint64_t m1 = 0xff51afd7ed558ccdULL, m2 = 0xc4ceb9fe1a85ec53ULL, i1 = m1, i2 = m2;
	for (int k = 0; k < 6; k++) i1 *= 2 - m1 * i1, i2 *= 2 - m2 * i2;
	x ^= x >> 33;
	x *= i2;
	x ^= x >> 33;
	x *= i1;
	x ^= x >> 33;
	return x;
}

static void test_fused_equals_two_steps(void)
{
	static uint64_t tok[700], sh[700];
	static uint32_t low[700];
	uint32_t a[1024], b[1024], c[1024];
	const int Ks[] = {1, 7, 64, 128, 1024};
	const int ns[] = {1, 2, 5, 9, 16, 17, 64};
	int bad = 0, cases = 0;
	for (int kind = 0; kind < 2; kind++) {
		for (size_t i = 0; i < 700; i++) tok[i] = next();
		if (kind) /* 1-token shingles whose value is the empty marker: sketch_add's adjustment */
			for (size_t i = 0; i < 700; i += 3)
				tok[i] = unmix64((next() << 32 | 0xffffffffULL)) ^ 0x9e3779b97f4a7c15ULL;
		for (int ki = 0; ki < 5; ki++)
			for (int ni = 0; ni < 7; ni++)
				for (size_t ntok = 0; ntok <= 700; ntok += ntok < 40 ? 1 : 97) {
					int K = Ks[ki], n = kind ? 1 : ns[ni];
					if (kind && ni) continue;
					uint64_t seed = next();
					size_t m = rp_shingles(tok, ntok, n, sh);
					rp_sketch(sh, m, K, seed, a);
					static rp_probes pr;
					rp_probes_init(&pr, K, seed);
					/* every path: the CPU's widest and the portable one, with and without the table */
					for (int portable = 0; portable < 2; portable++) {
						rp_sketch_portable(portable);
						memset(low, 0, sizeof low);
						size_t m2 = rp_sketch_tokens(tok, ntok, n, K, seed, b, low, &pr);
						size_t m3 = rp_sketch_tokens(tok, ntok, n, K, seed, c, NULL, NULL);
						cases++;
						if (m != m2 || m != m3 || memcmp(a, b, (size_t)K * sizeof *a) ||
						    memcmp(a, c, (size_t)K * sizeof *a)) {
							bad++;
							continue;
						}
						for (size_t j = 0; j < m; j++) bad += low[j] != (uint32_t)sh[j];
					}
					rp_sketch_portable(0);
				}
	}
	CHECKF(bad == 0, "%d of %d cases differ", bad, cases);
	CHECK(cases > 3000);
	/* The crafted tokens did give the empty marker. */
	CHECK(rp_shingles(tok, 1, 1, sh) == 1 && (uint32_t)sh[0] == 0xffffffffu);
}

/* The signature estimate on both paths: the share of equal positions. */
static void test_sig_jaccard_paths(void)
{
	uint32_t a[1024], b[1024];
	const int Ks[] = {1, 16, 64, 100, 128, 1024};
	int bad = 0;
	for (int t = 0; t < 200; t++) {
		int K = Ks[t % 6], eq = 0;
		for (int i = 0; i < K; i++) {
			a[i] = (uint32_t)next();
			b[i] = next() % 3 ? a[i] : (uint32_t)next();
			eq += a[i] == b[i];
		}
		/* kept as 16 bits: positions equal there, some only there */
		uint16_t a16[1024], b16[1024], want[1024];
		int eq16 = 0;
		for (int i = 0; i < K; i++) {
			if (a[i] != b[i] && next() % 4 == 0) b[i] = a[i] ^ (uint32_t)(1 + next() % 65535) << 16;
			want[i] = (uint16_t)a[i];
			eq16 += (uint16_t)a[i] == (uint16_t)b[i];
		}
		for (int portable = 0; portable < 2; portable++) {
			rp_sketch_portable(portable);
			bad += rp_sig_jaccard(a, b, K) != (double)eq / K;
			rp_sig_low16(a, K, a16);
			rp_sig_low16(b, K, b16);
			bad += memcmp(a16, want, (size_t)K * sizeof *a16) != 0;
			bad += rp_sig16_jaccard(a16, b16, K) != (double)eq16 / K;
		}
		rp_sketch_portable(0);
	}
	CHECKF(bad == 0, "%d differ", bad);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The radix sort against qsort: every length up to 300 (both sides of the
 * insertion-sort cutoff), some up to 2,472 and a long one, with values spread
 * over all bytes, sharing high bytes (passes skipped) or drawn from a few
 * (many repeats). */
static void test_radix_sort_equals_qsort(void)
{
	enum { MAX = 20000 };
	uint64_t *b = malloc(MAX * 8), *bt = malloc(MAX * 8), *br = malloc(MAX * 8);
	for (int kind = 0; kind < 3; kind++)
		for (size_t n = 0; n <= MAX; n = n < 300 ? n + 1 : n < 2300 ? n + 181 : MAX + (n == MAX)) {
			for (size_t i = 0; i < n; i++) {
				uint64_t x = next();
				b[i] = kind == 0 ? x : kind == 1 ? x & 0x00ff0f0f00ff0000ULL : (x % 5) << 40;
			}
			memcpy(br, b, n * 8);
			qsort(br, n, 8, cmp_u64);
			rp_sort_u64_tmp(b, bt, n);
			CHECKF(!n || !memcmp(b, br, n * 8), "u64 kind %d n %zu", kind, n);
		}
	free(b), free(bt), free(br);
}

/* The sorted distinct values of v[0..m) widened to 64 bits, in out. */
static size_t sorted_set(const uint32_t *v, size_t m, uint64_t *out)
{
	for (size_t i = 0; i < m; i++) out[i] = v[i];
	qsort(out, m, 8, cmp_u64);
	size_t u = 0;
	for (size_t i = 0; i < m; i++)
		if (!u || out[i] != out[u - 1]) out[u++] = out[i];
	return u;
}

/* Hashed sets (dedup's exact checks) give exactly the Jaccard of the merge
 * of sorted distinct values: pairs of every size from empty to 5,000, with
 * repeats, the value 0 (the table's empty mark) on either side or both,
 * and sets reused, rebuilt smaller into the same buffers. */
static void test_hset_equals_sorted_merge(void)
{
	enum { MAX = 5000 };
	uint32_t *va = malloc(MAX * 4), *vb = malloc(MAX * 4);
	uint64_t *sa = malloc(MAX * 8), *sb = malloc(MAX * 8);
	rp_hset ha = {0}, hb = {0};
	int trials = 0;
	for (size_t ma = 0; ma <= MAX; ma = ma < 40 ? ma + 1 : ma * 3 / 2)
		for (int kind = 0; kind < 4; kind++) {
			size_t mb = kind == 3 ? ma / 3 : ma + (size_t)(next() % 7);
			if (mb > MAX) mb = MAX;
			for (size_t i = 0; i < ma; i++) {
				uint32_t x = (uint32_t)next();
				va[i] = kind == 1 ? x % (ma / 2 + 1) : kind == 2 ? x & 0xff : x; /* repeats and 0 */
			}
			for (size_t i = 0; i < mb; i++) /* about 70% shared */
				vb[i] = ma && next() % 10 < 7 ? va[next() % ma] : kind == 2 ? (uint32_t)next() & 0xff : (uint32_t)next();
			size_t na = sorted_set(va, ma, sa), nb = sorted_set(vb, mb, sb);
			CHECK(rp_hset_build(&ha, va, ma) == 0 && rp_hset_build(&hb, vb, mb) == 0);
			CHECK(ha.n + (size_t)ha.zero == na && hb.n + (size_t)hb.zero == nb);
			double want = rp_set_jaccard(sa, na, sb, nb);
			CHECKF(rp_hset_jaccard(&ha, &hb) == want && rp_hset_jaccard(&hb, &ha) == want,
			       "ma %zu mb %zu kind %d: %g", ma, mb, kind, want);
			trials++;
		}
	CHECK(trials > 200);
	rp_hset_free(&ha), rp_hset_free(&hb);
	free(va), free(vb), free(sa), free(sb);
}

int main(void)
{
	RUN(test_radix_sort_equals_qsort);
	RUN(test_hset_equals_sorted_merge);
	RUN(test_fused_equals_two_steps);
	RUN(test_sig_jaccard_paths);
	RUN(test_shingles_rolling_equals_direct);
	RUN(test_winnow_equals_definition);
	RUN(test_estimate_unbiased_with_stated_error);
	RUN(test_sketch_properties);
	RUN(test_exact_jaccard);
	RUN(test_lsh_choice);
	RUN(test_lsh_curve_by_simulation);
	TEST_END();
}
