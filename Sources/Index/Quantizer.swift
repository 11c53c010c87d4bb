import CQuiverSIMD

/// Scalar quantisation to 8 bits per dimension, used to walk the graph.
///
/// Each dimension i maps [minimum[i], minimum[i] + 255·step[i]] onto codes 0…255. A walk
/// compares the query (kept in float32) against codes: dot(q, x̂) = Σ q[i]·minimum[i] +
/// Σ (q[i]·step[i])·code[i], one multiply-add per byte. The codes are a quarter of the size of
/// the vectors, so the graph's working set stays in cache; the final candidates are re-ranked
/// with the float32 vectors, so results are ordered by exact distances.
struct Quantizer: Sendable, Equatable {
    var minimum: [Float]
    var step: [Float]

    var dimension: Int { minimum.count }

    /// Ranges fitted to `vectors` (row-major), widened by a margin so that later rows of the
    /// same distribution rarely fall outside; `fallback` when there are too few rows to fit.
    static func fitted(to vectors: UnsafeBufferPointer<Float>, dimension: Int, fallbackRange: Float) -> Quantizer {
        let count = dimension == 0 ? 0 : vectors.count / dimension
        guard count >= 256 else {
            let r = max(fallbackRange, vectors.map { abs($0) }.max() ?? 0)
            // r / 127.5, not 2r / 255: 2r overflows for elements of 2^127 and more.
            return Quantizer(
                minimum: [Float](repeating: -r, count: dimension),
                step: [Float](repeating: max(r / 127.5, .leastNormalMagnitude), count: dimension))
        }
        var low = [Float](repeating: .infinity, count: dimension)
        var high = [Float](repeating: -.infinity, count: dimension)
        for row in 0..<count {
            for i in 0..<dimension {
                let v = vectors[row * dimension + i]
                if v < low[i] { low[i] = v }
                if v > high[i] { high[i] = v }
            }
        }
        var step = [Float](repeating: 0, count: dimension)
        for i in 0..<dimension {
            // In halves and clamped: the width of a range near ±Float.max overflows float32.
            let margin = (high[i] * 0.5 - low[i] * 0.5) * 0.1 + 1e-6
            let lowest = max(low[i] - margin, -.greatestFiniteMagnitude)
            let highest = min(high[i] + margin, .greatestFiniteMagnitude)
            low[i] = lowest
            step[i] = max(highest / 255 - lowest / 255, .leastNormalMagnitude)
        }
        return Quantizer(minimum: low, step: step)
    }

    /// Writes the codes of `vector`; returns how many elements fell outside the ranges.
    @discardableResult
    func encode(_ vector: UnsafePointer<Float>, into codes: UnsafeMutablePointer<UInt8>) -> Int {
        var clamped = 0
        for i in 0..<dimension {
            let scaled = ((vector[i] - minimum[i]) / step[i]).rounded()
            if scaled.isNaN || scaled < 0 {
                codes[i] = 0
                clamped += 1
            } // NaN: inf / inf, for elements near ±Float.max
            else if scaled > 255 {
                codes[i] = 255
                clamped += 1
            } else {
                codes[i] = UInt8(scaled)
            }
        }
        return clamped
    }

    /// The walk form of a query: weights q·step and the constant Σ q·minimum.
    func prepare(_ query: UnsafePointer<Float>, weights: UnsafeMutablePointer<Float>) -> Float {
        var constant: Float = 0
        for i in 0..<dimension {
            weights[i] = query[i] * step[i]
            constant += query[i] * minimum[i]
        }
        return constant
    }
}

/// A query prepared for walking: float32 values, code weights, and the constants the metric needs.
struct WalkQuery {
    let vector: UnsafePointer<Float>
    let weights: UnsafePointer<Float>
    let constant: Float
    let squaredNorm: Float

    /// dot(query, x̂) for a node's codes.
    @inline(__always)
    func dot(_ codes: UnsafePointer<UInt8>, _ dimension: Int) -> Float {
        constant + quiver_dot_f32_u8(weights, codes, dimension)
    }
}
