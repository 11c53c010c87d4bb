import CQuiverSIMD

/// Distances between single pairs of vectors.
///
/// The float kernels are SIMD C (AVX-512 / AVX2+FMA / SSE, chosen at load time): at 384 dims a
/// per-pair BLAS call costs several times more than the arithmetic, so pairs never go to BLAS.
/// The `precise` variants accumulate in Double; exact search re-ranks its final candidates with
/// them so that results do not depend on how a BLAS kernel happened to split the work.
public enum PairDistance {
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        quiver_dot_f32(a, b, count)
    }

    @inline(__always)
    public static func l2Squared(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        quiver_l2sq_f32(a, b, count)
    }

    /// The metric's distance, accumulated in Double. Cosine with a zero vector is NaN (reported as NULL).
    public static func precise(
        _ metric: DistanceMetric, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
        count: Int
    ) -> Double {
        switch metric {
        case .l2:
            return quiver_l2sq_f64acc(a, b, count).squareRoot()
        case .innerProduct:
            return -quiver_dot_f64acc(a, b, count)
        case .cosine:
            let dot = quiver_dot_f64acc(a, b, count)
            let normA = quiver_dot_f64acc(a, a, count).squareRoot()
            let normB = quiver_dot_f64acc(b, b, count).squareRoot()
            guard normA > 0, normB > 0 else { return .nan }
            return 1 - dot / (normA * normB)
        }
    }

    public static func precise(_ metric: DistanceMetric, _ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "vectors of different dimensions")
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in precise(metric, pa.baseAddress!, pb.baseAddress!, count: a.count) }
        }
    }
}
