/*
 * kernels/x86/tern2_avx512_lut.c - tern2, AVX-512 (BW + VBMI-era vpermw), table lookup:
 * multiply-free, bit-exact with tern2-scalar-ref.  Method and index codes: ternary_lut.h.
 *
 * Groups and tables.  Every 8 consecutive weights of a row (a "word") split into groups
 * of 3 + 3 + 2: A = weights 8w..8w+2, B = 8w+3..8w+5, C = 8w+6..8w+7.  Their plain indices
 * (27, 27 and 9 values) take 5 + 5 + 4 bits, one 16-bit word per row per 8 weights:
 *   word = iA | iB << 5 | iC << 10        (bits 14, 15 zero)
 * which is exactly tern2's 2 bits per weight.  Per token and word the table build makes
 * three 32-entry int16 tables (A, B: 27 used; C: 9 used), one zmm each, 192 bytes per 8
 * activations.  vpermw looks a word up in a 32-entry table and reads only the low 5 bits
 * of its index, so iA is the word itself, iB is word >> 5 and iC is word >> 10 (the two
 * zero bits above iC keep it below 16): one shift per lookup after the first, no masking.
 *
 * Repacked layout (repack, untimed).  Rows in tiles of 32 (one word lane per row; m is
 * padded to 32 with zero weights); tiles in passes of up to 4 (128 rows), the last pass of
 * a matrix holding the 1..4 tiles that are left.  A pass is word-major: word w of tile t at
 * pass_base + (w * nt + t) * 64, so one pass is one contiguous stream.  k is padded to a
 * multiple of 8 with zero weights.  Bytes: ceil(m / 32) * 64 * ceil(k / 8) - the same as
 * tern2's m * k / 4 when 32 | m and 256 | k (bb_kernel_work reports this size).
 *
 * Hot loop (bb_tern2_avx512_lut_pass, the hot symbol): per word, three table loads shared
 * by the pass's 4 tiles; per tile one 64-byte load, 2 shifts, 3 vpermw, 3 int16 adds:
 * 8 vector ops per 256 weights.  int16 accumulators take 32 words (256 weights: at most
 * 256 * 127 = 32512 <= 32767) and are then widened into int32 (even and odd rows by shifts,
 * no vpmovsx).  The int32 sums leave the hot function; the caller rescales them with
 * bb_rescale_i32 (its float multiplies stay out of the hot symbol).
 */
#include "list_ternary_lut.h"

#include "act_q8_simd.h"
#include "ternary_lut.h"

#include <immintrin.h>
#include <string.h>

enum {
    TILE_ROWS = 32,
    PASS_TILES = 4,
    PASS_ROWS = TILE_ROWS * PASS_TILES,
    WORD_WEIGHTS = 8,
    WORD_BYTES = 2,
    TABLES_PER_WORD = 3,
    VEC_BYTES = 64,                                      /* one zmm */
    TABLE_BYTES = 64,                                    /* 32 int16 entries */
    WORD_TABLE_BYTES = TABLES_PER_WORD * TABLE_BYTES,    /* 192 per 8 activations */
    CHUNK_WORDS = 32,                                    /* int16 accumulation: 256 weights */
    ZERO_SLOT = 16,                                      /* a zero entry of the build vector */
};

#ifndef TLUT_PREFETCH
#define TLUT_PREFETCH 1024
#endif
enum { PREFETCH_BYTES = TLUT_PREFETCH };

static size_t words_of(size_t k) { return (k + WORD_WEIGHTS - 1) / WORD_WEIGHTS; }
static size_t tiles_of(size_t m) { return (m + TILE_ROWS - 1) / TILE_ROWS; }

static size_t layout_bytes(const bb_weights *w)
{
    return tiles_of(w->m) * TILE_ROWS * WORD_BYTES * words_of(w->k);
}

/* ------------------------------------------------------------------ repack */

static uint16_t pack_word(const uint8_t *c)
{
    return (uint16_t)(tlut_plain_index(c, 3) | tlut_plain_index(c + 3, 3) << 5 |
                      tlut_plain_index(c + 6, 2) << 10);
}

static void repack(const bb_weights *w, void *layout)
{
    size_t words = words_of(w->k), tiles = tiles_of(w->m);
    uint8_t *codes = malloc(words * WORD_WEIGHTS);
    uint16_t *out = layout;
    if (!codes) {
        fprintf(stderr, "tern2-avx512-lut: out of memory repacking %zu x %zu\n", w->m, w->k);
        abort();
    }
    for (size_t r = 0; r < tiles * TILE_ROWS; r++) {
        size_t pass = r / PASS_ROWS, tile = r % PASS_ROWS / TILE_ROWS;
        size_t nt = tiles - pass * PASS_TILES < PASS_TILES ? tiles - pass * PASS_TILES : PASS_TILES;
        uint16_t *base = out + pass * PASS_ROWS * words + tile * TILE_ROWS + r % TILE_ROWS;
        if (r < w->m)
            tlut_row_codes(w, r, codes, words * WORD_WEIGHTS);
        else
            memset(codes, TLUT_CODE_ZERO, words * WORD_WEIGHTS);
        for (size_t i = 0; i < words; i++)
            base[i * nt * TILE_ROWS] = pack_word(codes + i * WORD_WEIGHTS);
    }
    free(codes);
}

/* ------------------------------------------------------------------ activations */

/* Blob: the standard q8 blob (bb_act_q8_view), then per token words_of(k) * 192 bytes of
 * tables.  Both parts are 64-byte aligned (bb_act_q8_bytes is a multiple of 64). */
static size_t token_table_bytes(size_t k) { return words_of(k) * WORD_TABLE_BYTES; }

static size_t act_bytes(size_t k, size_t n) { return bb_act_q8_bytes(k, n) + n * token_table_bytes(k); }

static const int16_t *token_tables(const bb_gemm_args *a, size_t t)
{
    const uint8_t *blob = a->act;
    return (const int16_t *)(blob + bb_act_q8_bytes(a->w->k, a->n) + t * token_table_bytes(a->w->k));
}

/* Build-vector slots of activation j of the word: +x_j at j, -x_j at 8 + j, 0 at 16. */
static int16_t slot_of(int digit, unsigned j)
{
    return (int16_t)(digit > 0 ? j : digit < 0 ? 8 + j : ZERO_SLOT);
}

/* vpermw index vectors for the table build: entry e of table A is the sum over digits t of
 * the slot picked by index vector sel[t]; B the same with activations 3..5, C with 6, 7. */
typedef struct build_indices {
    __m512i a[3], b[3], c[2];
} build_indices;

static build_indices make_build_indices(void)
{
    int16_t a[3][32], b[3][32], c[2][32];
    build_indices bi;
    for (unsigned e = 0; e < 32; e++) {
        for (unsigned t = 0; t < 3; t++) {
            int d = e < 27 ? tlut_plain_digit(e, 3, t) : 0;
            a[t][e] = slot_of(d, t);
            b[t][e] = slot_of(d, 3 + t);
        }
        for (unsigned t = 0; t < 2; t++)
            c[t][e] = slot_of(e < 9 ? tlut_plain_digit(e, 2, t) : 0, 6 + t);
    }
    for (unsigned t = 0; t < 3; t++) {
        bi.a[t] = _mm512_loadu_si512(a[t]);
        bi.b[t] = _mm512_loadu_si512(b[t]);
    }
    for (unsigned t = 0; t < 2; t++)
        bi.c[t] = _mm512_loadu_si512(c[t]);
    return bi;
}

static void build_token_tables(const int8_t *q, size_t words, const build_indices *bi,
                               int16_t *tables)
{
    for (size_t w = 0; w < words; w++, q += WORD_WEIGHTS, tables += WORD_TABLE_BYTES / 2) {
        __m128i x = _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)q));
        __m128i nx = _mm_sub_epi16(_mm_setzero_si128(), x);
        __m512i v = _mm512_inserti32x4(_mm512_zextsi128_si512(x), nx, 1);
        __m512i ta = _mm512_add_epi16(_mm512_permutexvar_epi16(bi->a[0], v),
                                      _mm512_add_epi16(_mm512_permutexvar_epi16(bi->a[1], v),
                                                       _mm512_permutexvar_epi16(bi->a[2], v)));
        __m512i tb = _mm512_add_epi16(_mm512_permutexvar_epi16(bi->b[0], v),
                                      _mm512_add_epi16(_mm512_permutexvar_epi16(bi->b[1], v),
                                                       _mm512_permutexvar_epi16(bi->b[2], v)));
        __m512i tc = _mm512_add_epi16(_mm512_permutexvar_epi16(bi->c[0], v),
                                      _mm512_permutexvar_epi16(bi->c[1], v));
        _mm512_store_si512(tables, ta);
        _mm512_store_si512(tables + 32, tb);
        _mm512_store_si512(tables + 64, tc);
    }
}

static void prepare_act(const bb_gemm_args *a, size_t t0, size_t t1)
{
    size_t k = a->w->k, words = words_of(k);
    bb_act_q8 view = bb_act_q8_view(a->act, k, a->n);
    build_indices bi = make_build_indices();
    /* q is zero from k to k_stride, a multiple of 64 >= words * 8: whole words read zeros. */
    bb_act_q8_quantize_avx512(a->x, a->x_stride, &view, t0, t1);
    for (size_t t = t0; t < t1; t++)
        build_token_tables(view.q + t * view.k_stride, words, &bi, (int16_t *)token_tables(a, t));
}

/* ------------------------------------------------------------------ hot loop */

/* The int32 sums of one pass of NT tiles over all words; out[t * 32 + row]. */
static inline __attribute__((always_inline)) void
pass_tiles(const uint8_t *wp, const int16_t *tab, const int16_t *tab_end, int32_t *out,
           const unsigned NT)
{
    __m512i even[PASS_TILES], odd[PASS_TILES];
    _Pragma("GCC unroll 4") for (unsigned t = 0; t < NT; t++)
        even[t] = odd[t] = _mm512_setzero_si512();
    while (tab < tab_end) {
        const int16_t *chunk_end = tab + CHUNK_WORDS * WORD_TABLE_BYTES / 2;
        if (chunk_end > tab_end)
            chunk_end = tab_end;
        __m512i acc[PASS_TILES];
        _Pragma("GCC unroll 4") for (unsigned t = 0; t < NT; t++)
            acc[t] = _mm512_setzero_si512();
        for (; tab < chunk_end; tab += WORD_TABLE_BYTES / 2, wp += NT * VEC_BYTES) {
            __m512i ta = _mm512_load_si512(tab);
            __m512i tb = _mm512_load_si512(tab + 32);
            __m512i tc = _mm512_load_si512(tab + 64);
            _Pragma("GCC unroll 4") for (unsigned t = 0; t < NT; t++) {
                _mm_prefetch((const char *)(wp + PREFETCH_BYTES + t * VEC_BYTES), _MM_HINT_T0);
                __m512i word = _mm512_load_si512(wp + t * VEC_BYTES);
                __m512i sa = _mm512_permutexvar_epi16(word, ta);
                __m512i sb = _mm512_permutexvar_epi16(_mm512_srli_epi16(word, 5), tb);
                __m512i sc = _mm512_permutexvar_epi16(_mm512_srli_epi16(word, 10), tc);
                acc[t] = _mm512_add_epi16(acc[t], _mm512_add_epi16(sa, _mm512_add_epi16(sb, sc)));
            }
        }
        /* Widen: lane i of the int16 accumulator is row i; even rows sign-extend from the
         * low half of each dword, odd rows are the high half. */
        _Pragma("GCC unroll 4") for (unsigned t = 0; t < NT; t++) {
            even[t] = _mm512_add_epi32(even[t], _mm512_srai_epi32(_mm512_slli_epi32(acc[t], 16), 16));
            odd[t] = _mm512_add_epi32(odd[t], _mm512_srai_epi32(acc[t], 16));
        }
    }
    const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i hi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    _Pragma("GCC unroll 4") for (unsigned t = 0; t < NT; t++, out += TILE_ROWS) {
        _mm512_storeu_si512(out, _mm512_permutex2var_epi32(even[t], lo, odd[t]));
        _mm512_storeu_si512(out + 16, _mm512_permutex2var_epi32(even[t], hi, odd[t]));
    }
}

/* External and not inlined: `make check-addonly` disassembles it (no multiply inside). */
void bb_tern2_avx512_lut_pass(const uint8_t *wp, const int16_t *tab, const int16_t *tab_end,
                              int32_t *out, unsigned nt);

__attribute__((noinline)) void bb_tern2_avx512_lut_pass(const uint8_t *wp, const int16_t *tab,
                                                        const int16_t *tab_end, int32_t *out,
                                                        unsigned nt)
{
    switch (nt) {
    case 1: pass_tiles(wp, tab, tab_end, out, 1); break;
    case 2: pass_tiles(wp, tab, tab_end, out, 2); break;
    case 3: pass_tiles(wp, tab, tab_end, out, 3); break;
    default: pass_tiles(wp, tab, tab_end, out, 4); break;
    }
}

/* ------------------------------------------------------------------ driver */

static void gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    const bb_weights *w = a->w;
    size_t words = words_of(w->k), tiles = tiles_of(w->m);
    bb_act_q8 act = bb_act_q8_view(a->act, w->k, a->n);
    int32_t sums[PASS_ROWS] __attribute__((aligned(64)));
    tlut_check_k("tern2-avx512-lut", w->k);
    for (size_t p0 = r0 - r0 % PASS_ROWS; p0 < r1; p0 += PASS_ROWS) {
        size_t pass = p0 / PASS_ROWS, left = tiles - pass * PASS_TILES;
        unsigned nt = left < PASS_TILES ? (unsigned)left : PASS_TILES;
        const uint8_t *wp = (const uint8_t *)a->layout + pass * PASS_ROWS * WORD_BYTES * words;
        size_t lo = p0 > r0 ? p0 : r0, hi = p0 + nt * TILE_ROWS;
        if (hi > r1)
            hi = r1;
        for (size_t t = 0; t < a->n; t++) {
            const int16_t *tab = token_tables(a, t);
            bb_tern2_avx512_lut_pass(wp, tab, tab + words * WORD_TABLE_BYTES / 2, sums, nt);
            for (size_t r = lo; r < hi; r++)
                a->y[t * a->y_stride + r] = bb_rescale_i32(sums[r - p0], w->scales[0], act.scale[t]);
        }
    }
}

const bb_kernel bb_kernel_tern2_avx512_lut = {
    .name = "tern2-avx512-lut",
    .format = BB_FMT_TERN2,
    .method = "lut",
    .isa = BB_ISA_AVX512,
    .needs = BB_CPU_AVX512F | BB_CPU_AVX512BW | BB_ACT_Q8_AVX512_NEEDS,
    .priority = 20,
    .multiply_free = true,
    .hot_symbol = "bb_tern2_avx512_lut_pass",
    .row_block = PASS_ROWS,
    .layout_bytes = layout_bytes,
    .repack = repack,
    .act_bytes = act_bytes,
    .prepare_act = prepare_act,
    .gemm_rows = gemm_rows,
};
