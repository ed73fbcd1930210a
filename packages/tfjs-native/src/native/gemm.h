// The built-in single-precision GEMM: row-major C = op(A) op(B) (alpha 1, beta 0), used when the
// addon is built without OpenBLAS or VZERO_NATIVE_BLAS=builtin asks for it. Single-threaded, like
// the OpenBLAS calls it replaces: addon.cc splits work over its own pool and calls this per block.
//
// Goto/BLIS structure: op(B) is packed in KC x NR panels, op(A) in MR x KC panels, and a
// register-blocked micro-kernel multiplies one A panel by one B panel into an MR x NR tile of C
// held in vector registers (GCC/Clang vector extensions, as the row loops). Built per x86-64 level
// with its own tile, picked at load time by the CPU like the row loops' target_clones:
//   x86-64-v4 (AVX-512, 32 registers): 12 x 16 tile, 12 accumulators of 16 lanes
//   x86-64-v3 (AVX2 + FMA, 16 registers): 6 x 16 tile, 12 accumulators of 8 lanes
//   baseline (SSE2): 6 x 8 tile, 12 accumulators of 4 lanes
// Fused multiply-adds are allowed here (fp-contract=fast, below), unlike in the row loops: so
// GEMM results depend on the level (as OpenBLAS's depend on its core type) and are checked with
// tolerances. They do not depend on the thread count or on where a block starts: every element
// of C sums its products in k order, in KC-long pieces added in order.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#pragma GCC push_options
#pragma GCC optimize("fp-contract=fast")
// The vector helpers below are always inlined into the per-level functions, so the ABI of
// passing wide vectors between functions built for different levels never comes up.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"

namespace vzero_gemm {

typedef float G4 __attribute__((vector_size(16), aligned(4)));
typedef float G8 __attribute__((vector_size(32), aligned(4)));
typedef float G16 __attribute__((vector_size(64), aligned(4)));

#define VZERO_GEMM_INLINE inline __attribute__((always_inline))

template <typename V>
VZERO_GEMM_INLINE V LoadV(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename V>
VZERO_GEMM_INLINE void StoreV(float* p, const V& v) {
  std::memcpy(p, &v, sizeof v);
}

// Cache blocking: an A block (MC x KC, 144 KiB) stays in L2, a B panel (KC x NR, 16 KiB) in L1.
// MC is a multiple of every MR.
constexpr int64_t kKC = 256;
constexpr int64_t kMC = 144;
constexpr int64_t kNC = 3072;

// Rows [i0, i0 + mc) and columns [p0, p0 + kc) of op(A) as MR-row panels: for each p, MR values
// (rows past mc are zero, so edge tiles run the same code).
template <int MR>
VZERO_GEMM_INLINE void PackA(const float* A, int64_t lda, bool ta, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
                             float* dst) {
  for (int64_t ir = 0; ir < mc; ir += MR, dst += MR * kc) {
    const int rows = static_cast<int>(std::min<int64_t>(MR, mc - ir));
    if (ta) {
      // op(A)[i][p] = A[p][i]: MR contiguous values per p.
      for (int64_t p = 0; p < kc; ++p) {
        const float* src = A + (p0 + p) * lda + i0 + ir;
        float* d = dst + p * MR;
        for (int r = 0; r < rows; ++r) d[r] = src[r];
        for (int r = rows; r < MR; ++r) d[r] = 0.f;
      }
    } else {
      for (int r = 0; r < rows; ++r) {
        const float* src = A + (i0 + ir + r) * lda + p0;
        for (int64_t p = 0; p < kc; ++p) dst[p * MR + r] = src[p];
      }
      for (int r = rows; r < MR; ++r)
        for (int64_t p = 0; p < kc; ++p) dst[p * MR + r] = 0.f;
    }
  }
}

// Rows [p0, p0 + kc) and columns [j0, j0 + nc) of op(B) as NR-column panels: for each p, NR
// values (columns past nc are zero).
template <int NR>
VZERO_GEMM_INLINE void PackB(const float* B, int64_t ldb, bool tb, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                             float* dst) {
  for (int64_t jr = 0; jr < nc; jr += NR, dst += NR * kc) {
    const int cols = static_cast<int>(std::min<int64_t>(NR, nc - jr));
    if (tb) {
      // op(B)[p][j] = B[j][p]: one strided column of the panel per row of B.
      for (int c = 0; c < cols; ++c) {
        const float* src = B + (j0 + jr + c) * ldb + p0;
        for (int64_t p = 0; p < kc; ++p) dst[p * NR + c] = src[p];
      }
      for (int c = cols; c < NR; ++c)
        for (int64_t p = 0; p < kc; ++p) dst[p * NR + c] = 0.f;
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        const float* src = B + (p0 + p) * ldb + j0 + jr;
        float* d = dst + p * NR;
        if (cols == NR) {
          std::memcpy(d, src, sizeof(float) * NR);
        } else {
          for (int c = 0; c < cols; ++c) d[c] = src[c];
          for (int c = cols; c < NR; ++c) d[c] = 0.f;
        }
      }
    }
  }
}

// The micro-kernel: an MR x (NV vectors of V) tile of C from MR rows of op(A) and a B panel of
// depth kc. The rows come from a packed A panel (kDirect false: MR values per p), or straight
// from a row-major, untransposed A (kDirect true: row i at a + i * lda), which skips packing A:
// packing costs as much as the products when few B panels reuse it (attention's n = head width).
// Both read the same values in the same order, so they give the same bits. `add` adds to C
// (later KC pieces); otherwise C is only written (beta 0: it may hold garbage). Only the top-left
// mr x nr of the tile is stored (edge tiles). kBStride is the B panel's width: NR, or more for
// the narrower kernel that computes a last panel's first half (nr <= NR / 2, e.g. a head width
// of 24 with 16-wide panels) without multiplying its zero padding.
template <typename V, int MR, int NV, bool kDirect, int kBStride = static_cast<int>(sizeof(V) / sizeof(float)) * NV>
VZERO_GEMM_INLINE void MicroKernel(int64_t kc, const float* __restrict a, int64_t lda, const float* __restrict b,
                                   float* c, int64_t ldc, bool add, int mr, int nr) {
  constexpr int W = static_cast<int>(sizeof(V) / sizeof(float));
  constexpr int NR = W * NV;
  V acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = V{};
  const float* rows[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) rows[i] = a + i * lda;
  for (int64_t p = 0; p < kc; ++p, b += kBStride) {
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = LoadV<V>(b + v * W);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const float ai = kDirect ? rows[i][p] : a[p * MR + i];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] += ai * bv[v];
    }
  }
  if (mr == MR && nr == NR) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        float* dst = c + i * ldc + v * W;
        StoreV(dst, add ? LoadV<V>(dst) + acc[i][v] : acc[i][v]);
      }
    return;
  }
  float tile[MR * NR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) StoreV(tile + i * NR + v * W, acc[i][v]);
  for (int i = 0; i < mr; ++i) {
    float* dst = c + i * ldc;
    const float* t = tile + i * NR;
    if (add) {
      for (int j = 0; j < nr; ++j) dst[j] += t[j];
    } else {
      for (int j = 0; j < nr; ++j) dst[j] = t[j];
    }
  }
}

inline int64_t RoundUp(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

// Runs the micro-kernel on one tile: the half-width kernel VH (one vector of NR / 2 lanes) when
// the tile's columns fit in it, else the full one.
template <typename V, int MR, int NV, typename VH, bool kDirect>
VZERO_GEMM_INLINE void Tile(int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc, bool add,
                            int mr, int nr) {
  constexpr int NR = static_cast<int>(sizeof(V) / sizeof(float)) * NV;
  static_assert(sizeof(VH) * 2 == sizeof(V) * NV, "VH is half a panel");
  if (nr <= NR / 2) {
    MicroKernel<VH, MR, 1, kDirect, NR>(kc, a, lda, b, c, ldc, add, mr, nr);
  } else {
    MicroKernel<V, MR, NV, kDirect>(kc, a, lda, b, c, ldc, add, mr, nr);
  }
}

// The blocked loops around the micro-kernel (k >= 1; m, n >= 0): MR x (NV vectors of V) tiles,
// VH the vector of a half panel. Pack buffers are per thread and kept between calls.
template <typename V, int MR, int NV, typename VH>
VZERO_GEMM_INLINE void GemmT(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* A, int64_t lda,
                             const float* B, int64_t ldb, float* C, int64_t ldc) {
  constexpr int NR = static_cast<int>(sizeof(V) / sizeof(float)) * NV;
  thread_local std::vector<float> apack, bpack;
  const int64_t kc_max = std::min(kKC, k);
  apack.resize(static_cast<size_t>(RoundUp(std::min(kMC, m), MR) * kc_max));
  bpack.resize(static_cast<size_t>(RoundUp(std::min(kNC, n), NR) * kc_max));
  for (int64_t jc = 0; jc < n; jc += kNC) {
    const int64_t nc = std::min(kNC, n - jc);
    for (int64_t pc = 0; pc < k; pc += kKC) {
      const int64_t kc = std::min(kKC, k - pc);
      PackB<NR>(B, ldb, tb, pc, kc, jc, nc, bpack.data());
      for (int64_t ic = 0; ic < m; ic += kMC) {
        const int64_t mc = std::min(kMC, m - ic);
        // An untransposed A is read in place, except a last panel of fewer than MR rows.
        const int64_t direct_rows = ta ? 0 : mc / MR * MR;
        PackA<MR>(A, lda, ta, ic + direct_rows, mc - direct_rows, pc, kc, apack.data());
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int nr = static_cast<int>(std::min<int64_t>(NR, nc - jr));
          const float* bp = bpack.data() + jr * kc;
          for (int64_t ir = 0; ir < direct_rows; ir += MR) {
            Tile<V, MR, NV, VH, true>(kc, A + (ic + ir) * lda + pc, lda, bp, C + (ic + ir) * ldc + jc + jr, ldc,
                                      pc > 0, MR, nr);
          }
          for (int64_t ir = direct_rows; ir < mc; ir += MR) {
            Tile<V, MR, NV, VH, false>(kc, apack.data() + (ir - direct_rows) * kc, 0, bp,
                                       C + (ic + ir) * ldc + jc + jr, ldc, pc > 0,
                                       static_cast<int>(std::min<int64_t>(MR, mc - ir)), nr);
          }
        }
      }
    }
  }
}

#undef VZERO_GEMM_INLINE

typedef void (*GemmFn)(bool, bool, int64_t, int64_t, int64_t, const float*, int64_t, const float*, int64_t, float*,
                       int64_t);

#if defined(__x86_64__) && defined(__GNUC__) && !defined(VZERO_NO_CLONES)
__attribute__((target("arch=x86-64-v4"))) inline void GemmV4(bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                                                              const float* A, int64_t lda, const float* B, int64_t ldb,
                                                              float* C, int64_t ldc) {
  GemmT<G16, 12, 1, G8>(ta, tb, m, n, k, A, lda, B, ldb, C, ldc);
}
__attribute__((target("arch=x86-64-v3"))) inline void GemmV3(bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                                                              const float* A, int64_t lda, const float* B, int64_t ldb,
                                                              float* C, int64_t ldc) {
  GemmT<G8, 6, 2, G8>(ta, tb, m, n, k, A, lda, B, ldb, C, ldc);
}
inline void GemmBase(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* A, int64_t lda, const float* B,
                     int64_t ldb, float* C, int64_t ldc) {
  GemmT<G4, 6, 2, G4>(ta, tb, m, n, k, A, lda, B, ldb, C, ldc);
}
struct Level {
  GemmFn fn;
  const char* name;
};
// The same pick as the row loops' resolver.
inline Level PickLevel() {
  if (__builtin_cpu_supports("x86-64-v4")) return {GemmV4, "x86-64-v4 (AVX-512), 12x16 tile"};
  if (__builtin_cpu_supports("x86-64-v3")) return {GemmV3, "x86-64-v3 (AVX2), 6x16 tile"};
  return {GemmBase, "x86-64 baseline, 6x8 tile"};
}
#else
// One build for the compiler's target (VZERO_NO_CLONES, or not x86-64): the tile that fits its
// vector registers.
#if defined(__AVX512F__)
#define VZERO_GEMM_TILE G16, 12, 1, G8
#define VZERO_GEMM_NAME "portable (AVX-512), 12x16 tile"
#elif defined(__AVX__)
#define VZERO_GEMM_TILE G8, 6, 2, G8
#define VZERO_GEMM_NAME "portable (AVX), 6x16 tile"
#else
#define VZERO_GEMM_TILE G4, 6, 2, G4
#define VZERO_GEMM_NAME "portable (128-bit vectors), 6x8 tile"
#endif
inline void GemmPortable(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* A, int64_t lda,
                         const float* B, int64_t ldb, float* C, int64_t ldc) {
  GemmT<VZERO_GEMM_TILE>(ta, tb, m, n, k, A, lda, B, ldb, C, ldc);
}
struct Level {
  GemmFn fn;
  const char* name;
};
inline Level PickLevel() { return {GemmPortable, VZERO_GEMM_NAME}; }
#undef VZERO_GEMM_TILE
#undef VZERO_GEMM_NAME
#endif

inline const Level& TheLevel() {
  static const Level level = PickLevel();
  return level;
}

// Row-major C (ldc) = op(A) (lda) op(B) (ldb), m x n, depth k; k == 0 writes zeros.
inline void Sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* A, int64_t lda, const float* B,
                  int64_t ldb, float* C, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (int64_t i = 0; i < m; ++i) std::fill(C + i * ldc, C + i * ldc + n, 0.f);
    return;
  }
  TheLevel().fn(ta, tb, m, n, k, A, lda, B, ldb, C, ldc);
}

}  // namespace vzero_gemm

#pragma GCC diagnostic pop
#pragma GCC pop_options
