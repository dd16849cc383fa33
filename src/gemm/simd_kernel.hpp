// eigennet's own float GEMM kernel, for one vector instruction set (internal).
//
// simd_backend.cpp includes this file once per instruction set, each time inside a
// `#pragma GCC target(...)` region and a namespace of its own, with EIGENNET_SIMD_WIDTH set to
// the floats per vector (16: AVX-512, 8: AVX2 + FMA); so it has no include guard. It uses raw
// pointers and intrinsics only: no Eigen, no standard-library templates, whose instantiations
// compiled here could carry these instructions into code that runs on other CPUs.
//
// The algorithm is Goto's (as in BLIS), for row-major C = alpha·op(A)·op(B) + beta·C:
//   for each block of at most kKc steps of the depth k (blocks of equal size):
//     for each block of kNc columns: B's block is packed into strips of kNr columns (depth-major,
//     zero-padded), unless op(B) = B and C has few rows — then whole strips are read in place
//     (packing would cost as much as it saves) and only a last, partial strip is packed;
//       for each panel of at most kMr rows of op(A) (held in L1): for each strip of the block
//       (held in L2): the micro-kernel keeps the panel × strip tile of C in registers through the
//       block's depth, each step broadcasting the panel's elements against a row of the strip.
// op(A) is read in place (A's rows, or each step's run of a row of A for Aᵀ) unless the rows of a
// panel alias in L1 (A's rows 4096 floats apart all share one set); then it is packed first.
// Accumulation is float32, in the order of the depth within a block; blocks add into C in order.

namespace EIGENNET_SIMD_NAMESPACE {

#if EIGENNET_SIMD_WIDTH == 16
using Vec = __m512;
inline Vec vec_zero() { return _mm512_setzero_ps(); }
inline Vec vec_load(const float* p) { return _mm512_loadu_ps(p); }
inline void vec_store(float* p, Vec v) { _mm512_storeu_ps(p, v); }
inline Vec vec_set(float x) { return _mm512_set1_ps(x); }
inline Vec vec_fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
inline Vec vec_mul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
// The first n ≤ 16 floats at p, the rest zero.
inline Vec vec_load_first(const float* p, int n) { return _mm512_maskz_loadu_ps(__mmask16((1u << n) - 1), p); }
// Stores the first n ≤ 16 floats of v at p.
inline void vec_store_first(float* p, Vec v, int n) { _mm512_mask_storeu_ps(p, __mmask16((1u << n) - 1), v); }
// p[j·stride] for j < n ≤ 16, the rest zero (stride·16 fits in an int: checked by the caller).
inline Vec vec_gather_first(const float* p, Index stride, int n) {
  const __m512i index = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32(int(stride)));
  return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), __mmask16((1u << n) - 1), index, p, 4);
}
constexpr int kMr = 14;  // 2·14 accumulators + 2 rows of B + 1 broadcast of AVX-512's 32 registers
#elif EIGENNET_SIMD_WIDTH == 8
using Vec = __m256;
inline Vec vec_zero() { return _mm256_setzero_ps(); }
inline Vec vec_load(const float* p) { return _mm256_loadu_ps(p); }
inline void vec_store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
inline Vec vec_set(float x) { return _mm256_set1_ps(x); }
inline Vec vec_fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
inline Vec vec_mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
inline __m256i first_lanes(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
// The first n ≤ 8 floats at p, the rest zero.
inline Vec vec_load_first(const float* p, int n) { return _mm256_maskload_ps(p, first_lanes(n)); }
// Stores the first n ≤ 8 floats of v at p.
inline void vec_store_first(float* p, Vec v, int n) { _mm256_maskstore_ps(p, first_lanes(n), v); }
// p[j·stride] for j < n ≤ 8, the rest zero (stride·8 fits in an int: checked by the caller).
inline Vec vec_gather_first(const float* p, Index stride, int n) {
  const __m256i index = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(int(stride)));
  return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), p, index, _mm256_castsi256_ps(first_lanes(n)), 4);
}
constexpr int kMr = 6;  // 2·6 accumulators + 2 rows of B + 1 broadcast of AVX2's 16 registers
#else
#error "EIGENNET_SIMD_WIDTH must be 8 or 16"
#endif

constexpr int kW = EIGENNET_SIMD_WIDTH;
constexpr int kNr = 2 * kW;             // columns of C per micro-tile
constexpr Index kKc = 256;  // depth block: a panel of op(A) (kMr·kKc floats) stays in L1
constexpr Index kNc = 512;  // column block: B's block (kKc·kNc floats, 512 KiB) stays in L2
constexpr Index kDirectBRows = 4 * kMr;  // up to this many rows of C, B is read in place
constexpr Index kMaxGatherStride = (Index(1) << 31) / kW - 1;  // gathers index with int32

// Workspace of one thread: B's packed block, then op(A) packed for a depth block of m rows (where
// it is packed, see gemm), with a vector's slack.
inline Index work_floats(Index m) { return kNc * kKc + m * kKc + kW; }

// Whether kMr rows `stride` floats apart fall into fewer of L1's 64 sets (of 64-byte lines) than
// there are rows: then reading a panel of op(A) in place evicts its own lines (A's rows 4096
// floats apart all share one set), and it is packed instead.
inline bool rows_alias(Index stride) {
  unsigned long long sets = 0;
  for (Index i = 0; i < kMr; ++i) sets |= 1ull << ((i * stride * Index(sizeof(float)) / 64) % 64);
  return __builtin_popcountll(sets) < kMr;
}

// How a tile is written: C = alpha·T (beta 0: C's old values, NaN included, are not read),
// C += alpha·T (beta 1, and every depth block after the first), or C = beta·C + alpha·T.
enum class Write { Overwrite, Add, Scale };

inline float write_one(Write write, float alpha, float beta, float t, float c) {
  if (write == Write::Overwrite) return alpha * t;
  if (write == Write::Add) return __builtin_fmaf(alpha, t, c);
  return __builtin_fmaf(alpha, t, beta * c);
}

// The tile T[MR × NV·kW] = op(A)·op(B) over depth kc, then its first `cols` columns written to C as
// `write` says. op(A)[i, p] is a[i·as + p] (ARows: A's rows read in place) or a[p·as + i] (a
// packed panel, as = MR; or Aᵀ read in place, as = lda); op(B)[p, j] is b[p·ldb + j].
// MR·NV accumulators stay in registers through the depth: per step, NV vectors of a row of B and
// MR broadcasts of op(A), MR·NV FMAs.
// PrefetchB (B read in place, its rows ldb floats apart): each step also prefetches the same row
// of the next strip (the kNr floats after it). Rows of B in place are a page apart or more, where
// the hardware prefetchers do not follow, so without it the first panel to read a strip waits on
// every line (W1's forward product was 1.3-2× slower than oneDNN's whenever the machine was busy,
// 1.05-1.1× with it).
template <int MR, int NV, bool ARows, bool PrefetchB>
inline void micro_kernel(Index kc, const float* a, Index as, const float* b, Index ldb, float* c, Index ldc, int cols,
                         float alpha, float beta, Write write) {
  Vec acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[i][v] = vec_zero();
  for (Index p = 0; p < kc; ++p) {
    Vec row[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      if (PrefetchB) _mm_prefetch(reinterpret_cast<const char*>(b + p * ldb + kNr + v * kW), _MM_HINT_T0);
      row[v] = vec_load(b + p * ldb + v * kW);
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const Vec ai = vec_set(ARows ? a[i * as + p] : a[p * as + i]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[i][v] = vec_fma(ai, row[v], acc[i][v]);
    }
  }
  if (cols == NV * kW) {
    const Vec va = vec_set(alpha), vb = vec_set(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) {
        float* cv = c + i * ldc + v * kW;
        if (write == Write::Overwrite)
          vec_store(cv, vec_mul(va, acc[i][v]));
        else if (write == Write::Add)
          vec_store(cv, vec_fma(va, acc[i][v], vec_load(cv)));
        else
          vec_store(cv, vec_fma(va, acc[i][v], vec_mul(vb, vec_load(cv))));
      }
    return;
  }
  // A partial strip: through a tile on the stack, the same arithmetic element by element.
  alignas(64) float tile[MR * NV * kW];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) vec_store(tile + (i * NV + v) * kW, acc[i][v]);
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < cols; ++j) c[i * ldc + j] = write_one(write, alpha, beta, tile[i * NV * kW + j], c[i * ldc + j]);
}

// micro_kernel<rows, NV, ARows, PrefetchB> for a panel of 1 ≤ rows ≤ kMr rows.
template <int NV, bool ARows, bool PrefetchB, int MR = kMr>
inline void micro_kernel_rows(int rows, Index kc, const float* a, Index as, const float* b, Index ldb, float* c,
                              Index ldc, int cols, float alpha, float beta, Write write) {
  if constexpr (MR > 0) {
    if (rows == MR) return micro_kernel<MR, NV, ARows, PrefetchB>(kc, a, as, b, ldb, c, ldc, cols, alpha, beta, write);
    micro_kernel_rows<NV, ARows, PrefetchB, MR - 1>(rows, kc, a, as, b, ldb, c, ldc, cols, alpha, beta, write);
  }
}

// The heights of the panels a block of `rows` rows is cut into: as few as kMr allows, as even as
// possible (40 rows: 14, 13, 13), so that no panel computes padding. Panel q starts at row
// panel_begin(q) and ends before panel_begin(q + 1).
struct Panels {
  Index count;
  Index rows;
  Index begin(Index q) const { return rows * q / count; }
};
inline Panels panels_of(Index rows) { return {(rows + kMr - 1) / kMr, rows}; }

// op(A)[0..rows, depth..depth + kc] packed panel after panel (the panels of panels_of(rows)): the
// panel of rows [r0, r1) at out + r0·kc, depth-major, out[r0·kc + p·(r1 − r0) + i] =
// op(A)[r0 + i, depth + p]. Each step writes a whole vector, so `out` needs kW floats of slack.
// Aᵀ is read a row of A at a time, across all panels: its rows are far apart (a page or more),
// and a sweep along one row is what the hardware prefetchers follow.
inline void pack_a(Op op_a, const float* a, Index lda, Index rows, Index depth, Index kc, float* out) {
  const Panels panels = panels_of(rows);
  if (op_a == Op::Transpose) {
    for (Index p = 0; p < kc; ++p)
      for (Index q = 0; q < panels.count; ++q) {
        const Index r0 = panels.begin(q);
        const int h = int(panels.begin(q + 1) - r0);
        vec_store_first(out + r0 * kc + p * h, vec_load_first(a + (depth + p) * lda + r0, h), h);
      }
    return;
  }
  for (Index q = 0; q < panels.count; ++q) {
    const Index r0 = panels.begin(q);
    const int h = int(panels.begin(q + 1) - r0);
    float* panel = out + r0 * kc;
    if (lda <= kMaxGatherStride)
      for (Index p = 0; p < kc; ++p) vec_store(panel + p * h, vec_gather_first(a + r0 * lda + depth + p, lda, h));
    else
      for (Index p = 0; p < kc; ++p)
        for (int i = 0; i < h; ++i) panel[p * h + i] = a[(r0 + i) * lda + depth + p];
  }
}

// One strip of `cols` ≤ kNr columns of op(B)[depth.., col..] over depth kc, zero-padded to
// `width` (kW or kNr) floats a row: out[p·width + j] = op(B)[depth + p, col + j].
inline void pack_b_strip(Op op_b, const float* b, Index ldb, Index depth, Index kc, Index col, int cols, int width,
                         float* out) {
  for (int v = 0; v < width; v += kW) {
    const int n = cols - v < 0 ? 0 : cols - v < kW ? cols - v : kW;
    if (op_b == Op::None) {
      const float* src = b + depth * ldb + col + v;
      for (Index p = 0; p < kc; ++p) vec_store(out + p * width + v, vec_load_first(src + p * ldb, n));
    } else if (ldb <= kMaxGatherStride) {
      // op(B)[p, j] = b[j·ldb + p]: a column of kW rows of b per vector.
      const float* src = b + (col + v) * ldb + depth;
      for (Index p = 0; p < kc; ++p) vec_store(out + p * width + v, vec_gather_first(src + p, ldb, n));
    } else {
      for (Index p = 0; p < kc; ++p)
        for (int j = 0; j < kW; ++j) out[p * width + v + j] = j < n ? b[(col + v + j) * ldb + depth + p] : 0.0f;
    }
  }
}

// The whole strips of op(B) = B's block [depth.., col..col + strips·kNr), each packed as
// pack_b_strip does (strip s at out + s·kc·kNr), read a row of B at a time across all strips (not
// a strip at a time down the rows: rows a page or more apart defeat the hardware prefetchers).
inline void pack_b_rows(const float* b, Index ldb, Index depth, Index kc, Index col, Index strips, float* out) {
  for (Index p = 0; p < kc; ++p) {
    const float* src = b + (depth + p) * ldb + col;
    for (Index s = 0; s < strips; ++s)
#pragma GCC unroll 2
      for (int v = 0; v < kNr; v += kW) vec_store(out + s * kc * kNr + p * kNr + v, vec_load(src + s * kNr + v));
  }
}

// The product on the calling thread; `work` holds work_floats(m) floats. k > 0.
inline void gemm(Op op_a, Op op_b, Index m, Index n, Index k, float alpha, const float* a, Index lda, const float* b,
                 Index ldb, float beta, float* c, Index ldc, float* work) {
  // B read in place: op(B) = B and few enough rows of C that a block of B is read a few times.
  const bool direct_b = op_b == Op::None && m <= kDirectBRows;
  const Panels panels = panels_of(m);
  // op(A) is read in place unless its rows (None) or its steps of the depth (Transpose) alias in L1.
  const bool packed_a = rows_alias(lda);
  float* work_a = work + kNc * kKc;
  // Depth blocks of equal size, at most kKc each.
  const Index blocks = (k + kKc - 1) / kKc, block = (k + blocks - 1) / blocks;
  for (Index depth = 0; depth < k; depth += block) {
    const Index kc = k - depth < block ? k - depth : block;
    const Write write = depth > 0 || beta == 1.0f ? Write::Add : beta == 0.0f ? Write::Overwrite : Write::Scale;
    if (packed_a) pack_a(op_a, a, lda, m, depth, kc, work_a);
    for (Index col = 0; col < n; col += kNc) {
      const Index nc = n - col < kNc ? n - col : kNc;
      // The block's strips: whole ones of kNr columns, then the rest, one vector wide where it fits.
      // B's whole strips are read in place or packed a row of B at a time; Bᵀ's strips and partial
      // strips are packed one by one.
      if (!direct_b && op_b == Op::None) pack_b_rows(b, ldb, depth, kc, col, nc / kNr, work);
      for (Index j = 0; j < nc; j += kNr) {
        const int cols = int(nc - j < kNr ? nc - j : kNr);
        if (cols < kNr || op_b == Op::Transpose)
          pack_b_strip(op_b, b, ldb, depth, kc, col + j, cols, cols <= kW ? kW : kNr, work + (j / kNr) * kc * kNr);
      }
      // Panel after panel of op(A) (in L1), each times every strip of the block (in L2).
      for (Index q = 0; q < panels.count; ++q) {
        const Index r0 = panels.begin(q);
        const int rows = int(panels.begin(q + 1) - r0);
        // op(A)'s panel: packed, or read in place from A's rows (None) or each step's run of A's row (Transpose).
        const float* panel = packed_a ? work_a + r0 * kc : op_a == Op::None ? a + r0 * lda + depth : a + depth * lda + r0;
        const bool rows_in_place = !packed_a && op_a == Op::None;
        const Index as = packed_a ? rows : lda;
        for (Index j = 0; j < nc; j += kNr) {
          const int cols = int(nc - j < kNr ? nc - j : kNr);
          const bool in_place = direct_b && cols == kNr;
          const float* strip = in_place ? b + depth * ldb + col + j : work + (j / kNr) * kc * kNr;
          const Index strip_ld = in_place ? ldb : cols <= kW ? kW : kNr;
          float* tile = c + r0 * ldc + col + j;
          // (A strip read in place is always whole: cols = kNr.)
          if (cols <= kW && rows_in_place)
            micro_kernel_rows<1, true, false>(rows, kc, panel, as, strip, strip_ld, tile, ldc, cols, alpha, beta, write);
          else if (cols <= kW)
            micro_kernel_rows<1, false, false>(rows, kc, panel, as, strip, strip_ld, tile, ldc, cols, alpha, beta, write);
          else if (rows_in_place && in_place)
            micro_kernel_rows<2, true, true>(rows, kc, panel, as, strip, strip_ld, tile, ldc, cols, alpha, beta, write);
          else if (rows_in_place)
            micro_kernel_rows<2, true, false>(rows, kc, panel, as, strip, strip_ld, tile, ldc, cols, alpha, beta, write);
          else if (in_place)
            micro_kernel_rows<2, false, true>(rows, kc, panel, as, strip, strip_ld, tile, ldc, cols, alpha, beta, write);
          else
            micro_kernel_rows<2, false, false>(rows, kc, panel, as, strip, strip_ld, tile, ldc, cols, alpha, beta, write);
        }
      }
    }
  }
}

}  // namespace EIGENNET_SIMD_NAMESPACE
