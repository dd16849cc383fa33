// eigennet's own GEMM kernel, for one scalar type and one vector instruction set (internal).
//
// simd_backend.cpp includes this file once per scalar type (float, double) and instruction set
// (AVX-512, AVX2 + FMA), each time inside a `#pragma GCC target(...)` region and a namespace of
// its own, with EIGENNET_SIMD_BITS (512 or 256) and EIGENNET_SIMD_DOUBLE (0 or 1) set; so it has
// no include guard. It uses raw pointers and intrinsics only: no Eigen, no standard-library
// templates, whose instantiations compiled here could carry these instructions into code that
// runs on other CPUs.
//
// The algorithm is Goto's (as in BLIS), for row-major C = alpha·op(A)·op(B) + beta·C:
//   for each block of at most kKc steps of the depth k (blocks of equal size):
//     for each block of nc columns (sized to L2, block_columns): B's block is packed into strips
//     of kNr columns (depth-major, zero-padded) — for op(B) = B by the first panel's micro-kernels
//     as they read it — unless op(B) = B and either C has few rows or B is small (half a block: it
//     stays in L2 as it is); then whole strips are read in place (packing would cost as much as it
//     saves) and only a last, partial strip is packed;
//       for each panel of at most kMr rows of op(A) (held in L1): for each strip of the block
//       (held in L2): the micro-kernel keeps the panel × strip tile of C in registers through the
//       block's depth, each step broadcasting the panel's elements against a row of the strip.
// op(A) is read in place (A's rows, or each step's run of a row of A for Aᵀ) unless the rows of a
// panel alias in L1 (A's rows 16 KiB apart all share one set); then it is packed first.
// Accumulation is in Scalar, in the order of the depth within a block; blocks add into C in order.
// The blocks are the same size in bytes for both scalar types (kKc steps of a double are half as
// many), so the same caches hold them.

namespace EIGENNET_SIMD_NAMESPACE {

#if EIGENNET_SIMD_DOUBLE
using Scalar = double;
#else
using Scalar = float;
#endif

// Vectors of kW scalars: load, store, broadcast, fused multiply-add; the "_first" forms touch the
// first n ≤ kW elements only (loads fill the rest with zeros); gathers read p[j·stride] (stride·kW
// fits in an int: checked by the caller).
#if EIGENNET_SIMD_BITS == 512 && !EIGENNET_SIMD_DOUBLE
using Vec = __m512;
constexpr int kW = 16;
inline Vec vec_zero() { return _mm512_setzero_ps(); }
inline Vec vec_load(const Scalar* p) { return _mm512_loadu_ps(p); }
inline void vec_store(Scalar* p, Vec v) { _mm512_storeu_ps(p, v); }
inline Vec vec_set(Scalar x) { return _mm512_set1_ps(x); }
inline Vec vec_fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
inline Vec vec_mul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
inline Vec vec_load_first(const Scalar* p, int n) { return _mm512_maskz_loadu_ps(__mmask16((1u << n) - 1), p); }
inline void vec_store_first(Scalar* p, Vec v, int n) { _mm512_mask_storeu_ps(p, __mmask16((1u << n) - 1), v); }
inline Vec vec_gather_first(const Scalar* p, Index stride, int n) {
  const __m512i index = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32(int(stride)));
  return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), __mmask16((1u << n) - 1), index, p, 4);
}
#elif EIGENNET_SIMD_BITS == 512
using Vec = __m512d;
constexpr int kW = 8;
inline Vec vec_zero() { return _mm512_setzero_pd(); }
inline Vec vec_load(const Scalar* p) { return _mm512_loadu_pd(p); }
inline void vec_store(Scalar* p, Vec v) { _mm512_storeu_pd(p, v); }
inline Vec vec_set(Scalar x) { return _mm512_set1_pd(x); }
inline Vec vec_fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_pd(a, b, c); }
inline Vec vec_mul(Vec a, Vec b) { return _mm512_mul_pd(a, b); }
inline Vec vec_load_first(const Scalar* p, int n) { return _mm512_maskz_loadu_pd(__mmask8((1u << n) - 1), p); }
inline void vec_store_first(Scalar* p, Vec v, int n) { _mm512_mask_storeu_pd(p, __mmask8((1u << n) - 1), v); }
inline Vec vec_gather_first(const Scalar* p, Index stride, int n) {
  const __m256i index = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(int(stride)));
  return _mm512_mask_i32gather_pd(_mm512_setzero_pd(), __mmask8((1u << n) - 1), index, p, 8);
}
#elif EIGENNET_SIMD_BITS == 256 && !EIGENNET_SIMD_DOUBLE
using Vec = __m256;
constexpr int kW = 8;
inline Vec vec_zero() { return _mm256_setzero_ps(); }
inline Vec vec_load(const Scalar* p) { return _mm256_loadu_ps(p); }
inline void vec_store(Scalar* p, Vec v) { _mm256_storeu_ps(p, v); }
inline Vec vec_set(Scalar x) { return _mm256_set1_ps(x); }
inline Vec vec_fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
inline Vec vec_mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
inline __m256i first_lanes(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline Vec vec_load_first(const Scalar* p, int n) { return _mm256_maskload_ps(p, first_lanes(n)); }
inline void vec_store_first(Scalar* p, Vec v, int n) { _mm256_maskstore_ps(p, first_lanes(n), v); }
inline Vec vec_gather_first(const Scalar* p, Index stride, int n) {
  const __m256i index = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(int(stride)));
  return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), p, index, _mm256_castsi256_ps(first_lanes(n)), 4);
}
#elif EIGENNET_SIMD_BITS == 256
using Vec = __m256d;
constexpr int kW = 4;
inline Vec vec_zero() { return _mm256_setzero_pd(); }
inline Vec vec_load(const Scalar* p) { return _mm256_loadu_pd(p); }
inline void vec_store(Scalar* p, Vec v) { _mm256_storeu_pd(p, v); }
inline Vec vec_set(Scalar x) { return _mm256_set1_pd(x); }
inline Vec vec_fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_pd(a, b, c); }
inline Vec vec_mul(Vec a, Vec b) { return _mm256_mul_pd(a, b); }
inline __m256i first_lanes(int n) { return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3)); }
inline Vec vec_load_first(const Scalar* p, int n) { return _mm256_maskload_pd(p, first_lanes(n)); }
inline void vec_store_first(Scalar* p, Vec v, int n) { _mm256_maskstore_pd(p, first_lanes(n), v); }
inline Vec vec_gather_first(const Scalar* p, Index stride, int n) {
  const __m128i index = _mm_mullo_epi32(_mm_setr_epi32(0, 1, 2, 3), _mm_set1_epi32(int(stride)));
  return _mm256_mask_i32gather_pd(_mm256_setzero_pd(), p, index, _mm256_castsi256_pd(first_lanes(n)), 8);
}
#else
#error "EIGENNET_SIMD_BITS must be 256 or 512"
#endif

// Rows of a micro-tile: 2·kMr accumulators + 2 vectors of a row of B + 1 broadcast fill the
// registers (AVX-512 has 32, AVX2 16).
constexpr int kMr = EIGENNET_SIMD_BITS == 512 ? 14 : 6;
constexpr int kNr = 2 * kW;                             // columns of C per micro-tile
constexpr Index kKc = 1024 / Index(sizeof(Scalar));     // depth block: a panel of op(A) (kMr·kKc) stays in L1
constexpr Index kNcMax = 512;                           // columns of a block of B at most (see block_columns)
constexpr Index kDirectBRows = 4 * kMr;                 // up to this many rows of C, B is read in place
constexpr Index kMaxGatherStride = (Index(1) << 31) / kW - 1;  // gathers index with int32

// Columns of a block of B, for a core with `l2_bytes` of L2: B's packed block (kKc·nc) fills half
// of it at most, so that it stays there beside the strips of C and op(A) that pass through (Zen 3,
// 512 KiB: 256 columns; Zen 5, 1 MiB: 512); a multiple of kNr, from kNr to kNcMax. On the Zen 3,
// 256 columns (and B in place up to half of that block) against 512: W1's weight gradient
// 784×1000×40 TN 79 → 91 GFLOP/s, one thread.
inline Index block_columns(Index l2_bytes) {
  const Index nc = l2_bytes / 2 / (kKc * Index(sizeof(Scalar))) / kNr * kNr;
  return nc < kNr ? kNr : nc > kNcMax ? kNcMax : nc;
}

// Workspace of one thread: B's packed block, then op(A) packed for a depth block of m rows (where
// it is packed, see gemm), with a vector's slack.
inline Index work_elements(Index m) { return kNcMax * kKc + m * kKc + kW; }

// Whether kMr rows `stride` elements apart fall into fewer of L1's 64 sets (of 64-byte lines) than
// there are rows: then reading a panel of op(A) in place evicts its own lines (A's rows 4096
// floats, 2048 doubles, apart all share one set), and it is packed instead.
inline bool rows_alias(Index stride) {
  unsigned long long sets = 0;
  for (Index i = 0; i < kMr; ++i) sets |= 1ull << ((i * stride * Index(sizeof(Scalar)) / 64) % 64);
  return __builtin_popcountll(sets) < kMr;
}

// Whether Aᵀ read in place would miss the L1 TLB on every step: a panel walks down `block` rows of
// A, `lda` elements apart, and past 64 pages (256 KiB) of them the TLB's entries run out. Packed
// instead where the rows span well past that (512 KiB) and B is wide enough (320 columns) that the
// packed copy, read once for each column of B, repays its pass over A. Zen 3, one thread, depth
// blocks of 256 (800 KiB): 784×1000×256 TN (W2's weight gradient) 85–86 → 90–91 GFLOP/s packed,
// 784×4096×1024 83 → 91, 784×320×256 65–82 → 84–85, but 784×256×256 81–84 against 85–87 in place
// and 784×128×256 72 against 85; at 313 KiB (depth 100) packing never gained: 784×1000×100 89–92
// either way, 784×500×100 84–89 against 90–91 in place, 784×128×100 59 against 85.
inline bool transposed_a_spans_pages(Index block, Index lda, Index n) {
  return block * lda * Index(sizeof(Scalar)) > 128 * 4096 && n >= 320;
}

// How a tile is written: C = alpha·T (beta 0: C's old values, NaN included, are not read),
// C += alpha·T (beta 1, and every depth block after the first), or C = beta·C + alpha·T.
enum class Write { Overwrite, Add, Scale };

inline float fma_one(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
inline double fma_one(double a, double b, double c) { return __builtin_fma(a, b, c); }

inline Scalar write_one(Write write, Scalar alpha, Scalar beta, Scalar t, Scalar c) {
  if (write == Write::Overwrite) return alpha * t;
  if (write == Write::Add) return fma_one(alpha, t, c);
  return fma_one(alpha, t, beta * c);
}

// What a micro-kernel works on: the tile T = op(A)·op(B) over depth kc, then its first `cols`
// columns written to C (c, ldc) as `write` says. op(A)[i, p] is a[i·as + p] (A's rows read in place)
// or a[p·as + i] (a packed panel, as = its rows; or Aᵀ read in place, as = lda); op(B)[p, j] is
// b[p·ldb + j]. `packed`: where the strip is packed as it is read (micro_kernel's PackB).
struct Tile {
  Index kc;
  const Scalar* a;
  Index as;
  const Scalar* b;
  Index ldb;
  Scalar* packed;
  Scalar* c;
  Index ldc;
  int cols;
  Scalar alpha, beta;
  Write write;
};

// The tile of MR × NV·kW (ARows: op(A)'s rows are A's, read in place). MR·NV accumulators stay in
// registers through the depth: per step, NV vectors of a row of B and MR broadcasts of op(A),
// MR·NV FMAs.
// PrefetchB (a large B read in place, its rows ldb elements apart): each step also prefetches the
// same row of the next strip (the kNr elements after it). Rows of a large B are a page apart or
// more, where the hardware prefetchers do not follow, so without it the first panel to read a strip
// waits on every line (W1's forward product was 1.3-2× slower than oneDNN's whenever the machine was
// busy, 1.05-1.1× with it). A small B (in L2 after the first panel) is not prefetched: there the
// prefetches only take load slots (Zen 3, one thread: W3's weight gradient 784×64×100 TN 80-82 →
// 86-89 GFLOP/s, 784×320×100 TN 61 → 83).
// PackB (B read in place): each step also stores its row of the strip to `packed` (kNr a row), so
// that the next panels read the strip packed.
template <int MR, int NV, bool ARows, bool PrefetchB, bool PackB>
inline void micro_kernel(const Tile& t) {
  // Copies of the operands: stores through `packed` and `c` then cannot alias them.
  const Index kc = t.kc, as = t.as, ldb = t.ldb, ldc = t.ldc;
  const Scalar *a = t.a, *b = t.b;
  Scalar *packed = t.packed, *c = t.c;
  const int cols = t.cols;
  const Scalar alpha = t.alpha, beta = t.beta;
  const Write write = t.write;
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
      if (PackB) vec_store(packed + p * kNr + v * kW, row[v]);
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
        Scalar* cv = c + i * ldc + v * kW;
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
  alignas(64) Scalar tile[MR * NV * kW];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) vec_store(tile + (i * NV + v) * kW, acc[i][v]);
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < cols; ++j) c[i * ldc + j] = write_one(write, alpha, beta, tile[i * NV * kW + j], c[i * ldc + j]);
}

// micro_kernel<rows, NV, ARows, PrefetchB, PackB> for a panel of 1 ≤ rows ≤ kMr rows.
template <int NV, bool ARows, bool PrefetchB, bool PackB = false, int MR = kMr>
inline void micro_kernel_rows(int rows, const Tile& t) {
  if constexpr (MR > 0) {
    if (rows == MR) return micro_kernel<MR, NV, ARows, PrefetchB, PackB>(t);
    micro_kernel_rows<NV, ARows, PrefetchB, PackB, MR - 1>(rows, t);
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
// op(A)[r0 + i, depth + p]. A step of a panel (h ≤ kMr elements) takes one vector, or two where
// kMr > kW (doubles). Gathers from A's rows store whole vectors, so `out` needs kW elements of
// slack. Aᵀ is read a row of A at a time, across all panels: its rows are far apart (a page or
// more), and a sweep along one row is what the hardware prefetchers follow.
inline void pack_a(Op op_a, const Scalar* a, Index lda, Index rows, Index depth, Index kc, Scalar* out) {
  const Panels panels = panels_of(rows);
  if (op_a == Op::Transpose) {
    for (Index p = 0; p < kc; ++p)
      for (Index q = 0; q < panels.count; ++q) {
        const Index r0 = panels.begin(q);
        const int h = int(panels.begin(q + 1) - r0);
        for (int v = 0; v < h; v += kW) {
          const int n = h - v < kW ? h - v : kW;
          // A whole vector is stored where it spills only into this panel's later steps, written
          // after it; near the panel's end it would spill into the next panel's first steps, so n
          // elements are stored (AVX2's masked store is slow on AMD: packing every Aᵀ with it took
          // 784×64×100 TN from 87 to 50 GFLOP/s on a Zen 3).
          const Vec run = vec_load_first(a + (depth + p) * lda + r0 + v, n);
          if (p * h + v + kW <= kc * h)
            vec_store(out + r0 * kc + p * h + v, run);
          else
            vec_store_first(out + r0 * kc + p * h + v, run, n);
        }
      }
    return;
  }
  for (Index q = 0; q < panels.count; ++q) {
    const Index r0 = panels.begin(q);
    const int h = int(panels.begin(q + 1) - r0);
    Scalar* panel = out + r0 * kc;
    if (lda <= kMaxGatherStride)
      for (Index p = 0; p < kc; ++p)
        for (int v = 0; v < h; v += kW)
          vec_store(panel + p * h + v, vec_gather_first(a + (r0 + v) * lda + depth + p, lda, h - v < kW ? h - v : kW));
    else
      for (Index p = 0; p < kc; ++p)
        for (int i = 0; i < h; ++i) panel[p * h + i] = a[(r0 + i) * lda + depth + p];
  }
}

// One strip of `cols` ≤ kNr columns of op(B)[depth.., col..] over depth kc, zero-padded to
// `width` (kW or kNr) elements a row: out[p·width + j] = op(B)[depth + p, col + j].
inline void pack_b_strip(Op op_b, const Scalar* b, Index ldb, Index depth, Index kc, Index col, int cols, int width,
                         Scalar* out) {
  for (int v = 0; v < width; v += kW) {
    const int n = cols - v < 0 ? 0 : cols - v < kW ? cols - v : kW;
    if (op_b == Op::None) {
      const Scalar* src = b + depth * ldb + col + v;
      for (Index p = 0; p < kc; ++p) vec_store(out + p * width + v, vec_load_first(src + p * ldb, n));
    } else if (ldb <= kMaxGatherStride) {
      // op(B)[p, j] = b[j·ldb + p]: a column of kW rows of b per vector.
      const Scalar* src = b + (col + v) * ldb + depth;
      for (Index p = 0; p < kc; ++p) vec_store(out + p * width + v, vec_gather_first(src + p, ldb, n));
    } else {
      for (Index p = 0; p < kc; ++p)
        for (int j = 0; j < kW; ++j) out[p * width + v + j] = j < n ? b[(col + v + j) * ldb + depth + p] : Scalar(0);
    }
  }
}

// The product on the calling thread, in blocks of `nc` ≤ kNcMax columns (block_columns); `work`
// holds work_elements(m) elements. k > 0.
inline void gemm(Op op_a, Op op_b, Index m, Index n, Index k, Scalar alpha, const Scalar* a, Index lda, const Scalar* b,
                 Index ldb, Scalar beta, Scalar* c, Index ldc, Index nc_block, Scalar* work) {
  // B read in place: op(B) = B, and few enough rows of C that a block of B is read a few times, or
  // B small enough to stay in L2 unpacked, half a block (W3's first layer, 784×64, where L2 holds
  // 1 MiB: its epoch 2-6% faster).
  const bool small_b = k * n <= kKc * nc_block / 2;
  const bool direct_b = op_b == Op::None && (m <= kDirectBRows || small_b);
  const Panels panels = panels_of(m);
  // Depth blocks of equal size, at most kKc each.
  const Index blocks = (k + kKc - 1) / kKc, block = (k + blocks - 1) / blocks;
  // op(A) is read in place unless its rows (None) or its steps of the depth (Transpose) alias in L1,
  // or Aᵀ's steps span too many pages.
  const bool packed_a = rows_alias(lda) || (op_a == Op::Transpose && transposed_a_spans_pages(block, lda, n));
  Scalar* work_a = work + kNcMax * kKc;
  for (Index depth = 0; depth < k; depth += block) {
    const Index kc = k - depth < block ? k - depth : block;
    const Write write = depth > 0 || beta == Scalar(1) ? Write::Add : beta == Scalar(0) ? Write::Overwrite : Write::Scale;
    if (packed_a) pack_a(op_a, a, lda, m, depth, kc, work_a);
    for (Index col = 0; col < n; col += nc_block) {
      const Index nc = n - col < nc_block ? n - col : nc_block;
      // The block's strips: whole ones of kNr columns, then the rest, one vector wide where it fits.
      // B's whole strips are read in place, or packed by the first panel's micro-kernels as they
      // read them in place (its loads of B serve both; a separate pass over B cost ~18% of W1's
      // forward product, 40×1000×784, on a Zen 3). Bᵀ's strips and partial strips are packed one
      // by one first.
      const bool pack_in_kernel = !direct_b && op_b == Op::None;
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
        const Scalar* panel = packed_a ? work_a + r0 * kc : op_a == Op::None ? a + r0 * lda + depth : a + depth * lda + r0;
        const bool rows_in_place = !packed_a && op_a == Op::None;
        const Index as = packed_a ? rows : lda;
        for (Index j = 0; j < nc; j += kNr) {
          const int cols = int(nc - j < kNr ? nc - j : kNr);
          Scalar* packed = work + (j / kNr) * kc * kNr;
          const bool pack = pack_in_kernel && q == 0 && cols == kNr;
          const bool in_place = (direct_b || pack) && cols == kNr;
          const Scalar* strip = in_place ? b + depth * ldb + col + j : packed;
          const Index strip_ld = in_place ? ldb : cols <= kW ? kW : kNr;
          const Tile tile{kc, panel, as, strip, strip_ld, packed, c + r0 * ldc + col + j, ldc, cols, alpha, beta, write};
          // (A strip read in place is always whole: cols = kNr.)
          const bool prefetch = in_place && !small_b;
          if (cols <= kW && rows_in_place)
            micro_kernel_rows<1, true, false>(rows, tile);
          else if (cols <= kW)
            micro_kernel_rows<1, false, false>(rows, tile);
          else if (rows_in_place && pack)
            micro_kernel_rows<2, true, true, true>(rows, tile);
          else if (pack)
            micro_kernel_rows<2, false, true, true>(rows, tile);
          else if (rows_in_place && prefetch)
            micro_kernel_rows<2, true, true>(rows, tile);
          else if (rows_in_place)
            micro_kernel_rows<2, true, false>(rows, tile);
          else if (prefetch)
            micro_kernel_rows<2, false, true>(rows, tile);
          else
            micro_kernel_rows<2, false, false>(rows, tile);
        }
      }
    }
  }
}

}  // namespace EIGENNET_SIMD_NAMESPACE
