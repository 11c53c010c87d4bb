#ifndef QUIVER_SIMD_H
#define QUIVER_SIMD_H

#include <stddef.h>

/// Distance kernels for single pairs of float32 vectors (the traversal hot path).
/// Each is compiled for AVX-512, AVX2+FMA and baseline x86-64 and picked at load time,
/// so one binary runs everywhere and uses the widest unit present. For a given CPU the
/// summation order is fixed, so equal inputs always give bit-identical results.
float quiver_dot_f32(const float *a, const float *b, size_t n);
float quiver_l2sq_f32(const float *a, const float *b, size_t n);

/// Σ w[i] · codes[i] for 8-bit codes: the inner loop of a graph walk over scalar-quantised
/// vectors (a quarter of the memory traffic of float32).
float quiver_dot_f32_u8(const float *w, const unsigned char *codes, size_t n);

/// Double-precision accumulation, used to re-rank the final candidates of an exact search.
double quiver_dot_f64acc(const float *a, const float *b, size_t n);
double quiver_l2sq_f64acc(const float *a, const float *b, size_t n);

/// CRC32C (Castagnoli) of `n` bytes, continuing from `crc` (0 to start): the checksum of
/// index file regions. SSE4.2's crc32 instruction where the CPU has it (about 8 bytes a
/// cycle), else a table-driven loop; both give the same value.
unsigned int quiver_crc32c(unsigned int crc, const void *bytes, size_t n);

/// Hints the CPU to start loading the cache line at `p` (the next node of a graph walk).
static inline void quiver_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
