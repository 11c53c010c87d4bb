import CQuiverSIMD
import Dispatch
import QuiverKernels

/// `quiver-bench kernels`: the measurements behind the choice of distance kernels
/// (recorded in BENCHMARKS.md). One thread; 384 dimensions unless --dim says otherwise.
enum KernelBench {
    static func run(dimension: Int) {
        var random = SystemRandomNumberGenerator()
        func vector(_ n: Int) -> [Float] { (0..<n).map { _ in Float.random(in: -1...1, using: &random) } }
        let rows = 10_000
        let block = vector(rows * dimension)
        let query = vector(dimension)
        let codes = (0..<(rows * dimension)).map { _ in UInt8.random(in: 0...255, using: &random) }

        /// Nanoseconds per distance, best of 5 passes.
        func perDistance(_ count: Int, _ body: () -> Float) -> Double {
            var best = Double.infinity
            var sink: Float = 0
            for _ in 0..<5 {
                let start = DispatchTime.now().uptimeNanoseconds
                sink += body()
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / Double(count))
            }
            if sink == .infinity { print("") }
            return best
        }

        var results: [(String, Double)] = []
        block.withUnsafeBufferPointer { b in
            query.withUnsafeBufferPointer { q in
                let bp = b.baseAddress!
                let qp = q.baseAddress!
                results.append(
                    (
                        "pair: scalar Swift loop",
                        perDistance(rows) {
                            var total: Float = 0
                            for r in 0..<rows {
                                var s: Float = 0
                                for i in 0..<dimension { s += bp[r * dimension + i] * qp[i] }
                                total += s
                            }
                            return total
                        }
                    ))
                results.append(
                    (
                        "pair: Swift SIMD16<Float>",
                        perDistance(rows) {
                            var total: Float = 0
                            let chunks = dimension / 16
                            UnsafeRawPointer(qp).withMemoryRebound(to: SIMD16<Float>.self, capacity: chunks) { qv in
                                for r in 0..<rows {
                                    UnsafeRawPointer(bp + r * dimension).withMemoryRebound(
                                        to: SIMD16<Float>.self, capacity: chunks
                                    ) { rv in
                                        var acc = SIMD16<Float>()
                                        for c in 0..<chunks { acc += rv[c] * qv[c] }
                                        total += acc.sum()
                                    }
                                }
                            }
                            return total
                        }
                    ))
                results.append(
                    (
                        "pair: C kernel (AVX-512/AVX2 clone)",
                        perDistance(rows) {
                            var total: Float = 0
                            for r in 0..<rows { total += quiver_dot_f32(bp + r * dimension, qp, dimension) }
                            return total
                        }
                    ))
                results.append(
                    (
                        "pair: cblas_sdot per pair",
                        perDistance(rows) {
                            var total: Float = 0
                            for r in 0..<rows { total += BLASScoring.dot(bp + r * dimension, qp, count: dimension) }
                            return total
                        }
                    ))
                codes.withUnsafeBufferPointer { c in
                    results.append(
                        (
                            "pair: float × 8-bit codes (graph walk)",
                            perDistance(rows) {
                                var total: Float = 0
                                for r in 0..<rows {
                                    total += quiver_dot_f32_u8(qp, c.baseAddress! + r * dimension, dimension)
                                }
                                return total
                            }
                        ))
                }
                var out = [Float](repeating: 0, count: rows * 64)
                results.append(
                    (
                        "block: 1 query × 10k rows, sgemv",
                        perDistance(rows) {
                            out.withUnsafeMutableBufferPointer {
                                BLASScoring.dots(
                                    rows: bp, rowCount: rows, dimension: dimension, query: qp, into: $0.baseAddress!)
                            }
                            return out[0]
                        }
                    ))
                let queries = vector(64 * dimension)
                queries.withUnsafeBufferPointer { qs in
                    results.append(
                        (
                            "block: 64 queries × 10k rows, 64 × sgemv",
                            perDistance(rows * 64) {
                                out.withUnsafeMutableBufferPointer { o in
                                    for j in 0..<64 {
                                        BLASScoring.dots(
                                            rows: bp, rowCount: rows, dimension: dimension,
                                            query: qs.baseAddress! + j * dimension,
                                            into: o.baseAddress! + j * rows)
                                    }
                                }
                                return out[0]
                            }
                        ))
                    results.append(
                        (
                            "block: 64 queries × 10k rows, one sgemm",
                            perDistance(rows * 64) {
                                out.withUnsafeMutableBufferPointer {
                                    BLASScoring.dots(
                                        rows: bp, rowCount: rows, dimension: dimension, queries: qs.baseAddress!,
                                        queryCount: 64, into: $0.baseAddress!)
                                }
                                return out[0]
                            }
                        ))
                }
            }
        }
        print("| kernel (\(dimension) dims, one thread) | ns per distance | distances/s |")
        print("|---|---:|---:|")
        for (name, ns) in results {
            print("| \(name) | \(String(format: "%.1f", ns)) | \(String(format: "%.1f M", 1000 / ns)) |")
        }
    }
}
