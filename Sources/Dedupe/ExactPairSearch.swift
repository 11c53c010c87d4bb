import QuiverKernels
import QuiverProgress

/// Every pair of rows whose cosine similarity reaches the threshold, by brute force on BLAS:
/// the upper triangle of the similarity matrix in blocks, each one `sgemm` of unit vectors.
/// Entries within `screeningMargin` of the threshold or above are confirmed in double precision,
/// so the result is exact whatever the BLAS kernel's rounding: the oracle for other strategies.
public enum ExactPairSearch {
    static let queryBlock = 1024
    static let rowBlock = 4096
    /// Float32 dot products of unit vectors of a few thousand dimensions are off by well under this.
    static let screeningMargin = 2e-4

    public static func pairs(in rows: VectorRows, threshold: Double, progress: ProgressReporter = .silent) throws
        -> [SimilarPair]
    {
        let n = rows.count
        let d = rows.dimension
        guard n > 1 else { return [] }
        var found: [SimilarPair] = []
        var queries = [Float](repeating: 0, count: queryBlock * d)
        var block = [Float](repeating: 0, count: rowBlock * d)
        var scores = [Float](repeating: 0, count: queryBlock * rowBlock)
        let cut = Float(threshold - screeningMargin)
        let blocks = (n + queryBlock - 1) / queryBlock
        for (number, q0) in stride(from: 0, to: n, by: queryBlock).enumerated() {
            try progress.report("comparing blocks", number, of: blocks, .blocks)
            let q1 = min(n, q0 + queryBlock)
            queries.withUnsafeMutableBufferPointer { rows.normalize(q0..<q1, into: $0.baseAddress!) }
            for r0 in stride(from: q0, to: n, by: rowBlock) {
                let r1 = min(n, r0 + rowBlock)
                block.withUnsafeMutableBufferPointer { rows.normalize(r0..<r1, into: $0.baseAddress!) }
                queries.withUnsafeBufferPointer { qp in
                    block.withUnsafeBufferPointer { bp in
                        scores.withUnsafeMutableBufferPointer { sp in
                            BLASScoring.dots(
                                rows: bp.baseAddress!, rowCount: r1 - r0, dimension: d,
                                queries: qp.baseAddress!, queryCount: q1 - q0, into: sp.baseAddress!)
                        }
                    }
                }
                scores.withUnsafeBufferPointer { sp in
                    for q in q0..<q1 {
                        let line = sp.baseAddress! + (q - q0) * (r1 - r0)
                        // Only the upper triangle: rows after q.
                        let from = max(r0, q + 1) - r0
                        scanLine(line, from: from, to: r1 - r0, cut: cut) { r in
                            let s = rows.similarity(q, r0 + r)
                            if s >= threshold { found.append(SimilarPair(q, r0 + r, similarity: s)) }
                        }
                    }
                }
            }
        }
        try progress.report("comparing blocks", blocks, of: blocks, .blocks)
        return found
    }

    /// Calls `hit` with every index in `from..<to` whose score reaches `cut`; eight lanes at a
    /// time, since almost no entry does.
    @inline(__always)
    static func scanLine(_ line: UnsafePointer<Float>, from: Int, to: Int, cut: Float, _ hit: (Int) -> Void) {
        var i = from
        let limit = SIMD8<Float>(repeating: cut)
        while i + 8 <= to {
            let lanes = UnsafeRawPointer(line + i).loadUnaligned(as: SIMD8<Float>.self)
            if any(lanes .>= limit) {
                for j in i..<(i + 8) where line[j] >= cut { hit(j) }
            }
            i += 8
        }
        while i < to {
            if line[i] >= cut { hit(i) }
            i += 1
        }
    }
}
