#include "quiver_simd.h"
#include <string.h>

// Explicit vector types rather than auto-vectorisation: the compiler may not reorder a
// float reduction on its own, and we want four independent accumulators to hide FMA latency.
typedef float v16f __attribute__((ext_vector_type(16)));
typedef float v16f_unaligned __attribute__((ext_vector_type(16), aligned(4)));

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define QUIVER_CLONES __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define QUIVER_CLONES
#endif

// Macros, not functions: passing 512-bit vectors across a call would tie the ABI to AVX-512.
#define load16(p) (*(const v16f_unaligned *)(p))
#define HSUM16(v, out) do { float t_ = 0; for (int j_ = 0; j_ < 16; j_++) t_ += (v)[j_]; (out) = t_; } while (0)

QUIVER_CLONES
float quiver_dot_f32(const float *a, const float *b, size_t n) {
    v16f s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 += load16(a + i) * load16(b + i);
        s1 += load16(a + i + 16) * load16(b + i + 16);
        s2 += load16(a + i + 32) * load16(b + i + 32);
        s3 += load16(a + i + 48) * load16(b + i + 48);
    }
    for (; i + 16 <= n; i += 16) s0 += load16(a + i) * load16(b + i);
    float s;
    HSUM16((s0 + s1) + (s2 + s3), s);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

QUIVER_CLONES
float quiver_l2sq_f32(const float *a, const float *b, size_t n) {
    v16f s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        v16f d0 = load16(a + i) - load16(b + i);
        v16f d1 = load16(a + i + 16) - load16(b + i + 16);
        v16f d2 = load16(a + i + 32) - load16(b + i + 32);
        v16f d3 = load16(a + i + 48) - load16(b + i + 48);
        s0 += d0 * d0; s1 += d1 * d1; s2 += d2 * d2; s3 += d3 * d3;
    }
    for (; i + 16 <= n; i += 16) {
        v16f d = load16(a + i) - load16(b + i);
        s0 += d * d;
    }
    float s;
    HSUM16((s0 + s1) + (s2 + s3), s);
    for (; i < n; i++) {
        float d = a[i] - b[i];
        s += d * d;
    }
    return s;
}

typedef unsigned char u8x16 __attribute__((ext_vector_type(16), aligned(1)));

QUIVER_CLONES
float quiver_dot_f32_u8(const float *w, const unsigned char *codes, size_t n) {
    v16f s0 = 0, s1 = 0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        v16f c0 = __builtin_convertvector(*(const u8x16 *)(codes + i), v16f);
        v16f c1 = __builtin_convertvector(*(const u8x16 *)(codes + i + 16), v16f);
        s0 += load16(w + i) * c0;
        s1 += load16(w + i + 16) * c1;
    }
    for (; i + 16 <= n; i += 16) {
        s0 += load16(w + i) * __builtin_convertvector(*(const u8x16 *)(codes + i), v16f);
    }
    float s;
    HSUM16(s0 + s1, s);
    for (; i < n; i++) s += w[i] * (float)codes[i];
    return s;
}

double quiver_dot_f64acc(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
    return s;
}

double quiver_l2sq_f64acc(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        s += d * d;
    }
    return s;
}

// MARK: CRC32C

#include <stdint.h>
#include <pthread.h>

static uint32_t crc32c_table[8][256];
static pthread_once_t crc32c_table_once = PTHREAD_ONCE_INIT;

static void crc32c_fill_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc32c_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc32c_table[t][i] = (crc32c_table[t - 1][i] >> 8) ^ crc32c_table[0][crc32c_table[t - 1][i] & 0xFF];
}

// Slicing by 8: the fallback for CPUs without the instruction.
static uint32_t crc32c_portable(uint32_t crc, const unsigned char *p, size_t n) {
    pthread_once(&crc32c_table_once, crc32c_fill_table);
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        word ^= crc;
        crc = crc32c_table[7][word & 0xFF] ^ crc32c_table[6][(word >> 8) & 0xFF] ^ crc32c_table[5][(word >> 16) & 0xFF]
            ^ crc32c_table[4][(word >> 24) & 0xFF] ^ crc32c_table[3][(word >> 32) & 0xFF] ^ crc32c_table[2][(word >> 40) & 0xFF]
            ^ crc32c_table[1][(word >> 48) & 0xFF] ^ crc32c_table[0][word >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *p++) & 0xFF];
    return crc;
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const unsigned char *p, size_t n) {
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

unsigned int quiver_crc32c(unsigned int crc, const void *bytes, size_t n) {
    // Little-endian words are assumed by the slicing tables (the only targets built).
    uint32_t c = ~(uint32_t)crc;
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (__builtin_cpu_supports("sse4.2")) return ~crc32c_sse42(c, bytes, n);
#endif
    return ~crc32c_portable(c, bytes, n);
}
