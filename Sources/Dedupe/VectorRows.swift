import Foundation
import QuiverKernels

/// The vectors to deduplicate, row after row as the rows store them (not normalized), with
/// their norms. Search strategies normalize blocks on the fly rather than keep a second copy.
public struct VectorRows: Sendable {
    public let dimension: Int
    public private(set) var values: [Float] = []
    /// Euclidean norms in double precision; 0 for a zero vector, which has no cosine
    /// similarity to anything and is therefore never a duplicate.
    public private(set) var norms: [Double] = []
    public var count: Int { norms.count }

    public init(dimension: Int) {
        precondition(dimension > 0)
        self.dimension = dimension
    }

    public mutating func append(_ vector: UnsafeBufferPointer<Float>) {
        precondition(vector.count == dimension)
        values.append(contentsOf: vector)
        var sum = 0.0
        for x in vector { sum += Double(x) * Double(x) }
        norms.append(sum.squareRoot())
    }

    public mutating func append(_ vector: [Float]) { vector.withUnsafeBufferPointer { append($0) } }

    /// Writes the unit vectors of `rows` one after another into `target` (zeros for zero vectors).
    func normalize<Rows: Sequence<Int>>(_ rows: Rows, into target: UnsafeMutablePointer<Float>) {
        values.withUnsafeBufferPointer { source in
            var out = target
            for row in rows {
                let scale = norms[row] > 0 ? Float(1 / norms[row]) : 0
                let start = source.baseAddress! + row * dimension
                for i in 0..<dimension { out[i] = start[i] * scale }
                out += dimension
            }
        }
    }

    /// Cosine similarity of two rows in double precision, as `1 - (a <=> b)` computes it in SQL;
    /// exactly 1 for identical vectors; NaN when either is a zero vector.
    public func similarity(_ a: Int, _ b: Int) -> Double {
        values.withUnsafeBufferPointer { v in
            let pa = v.baseAddress! + a * dimension
            let pb = v.baseAddress! + b * dimension
            if memcmp(pa, pb, dimension * 4) == 0 { return norms[a] > 0 ? 1 : .nan }
            return 1 - PairDistance.precise(.cosine, pa, pb, count: dimension)
        }
    }
}
