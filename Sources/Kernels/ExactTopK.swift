/// One result of an exact search: a row id and its distance, computed in double precision.
public struct ScoredRow: Sendable, Equatable {
    public var id: Int64
    /// NaN when the distance is undefined (cosine with a zero vector); such rows rank last.
    public var distance: Double

    public init(id: Int64, distance: Double) {
        self.id = id
        self.distance = distance
    }

    /// Ascending distance, undefined distances last, ties by id.
    public static func ranksBefore(_ a: ScoredRow, _ b: ScoredRow) -> Bool {
        switch (a.distance.isNaN, b.distance.isNaN) {
        case (false, true): return true
        case (true, false): return false
        case (true, true): return a.id < b.id
        case (false, false): return a.distance != b.distance ? a.distance < b.distance : a.id < b.id
        }
    }
}

/// Exact k-nearest-neighbour selection over blocks of rows, for one query.
///
/// Blocks are scored on BLAS in single precision. Float rounding can reorder rows whose
/// distances are within a few ulps, so the collector keeps every row whose *lower* error bound
/// could still beat the k-th row's *upper* bound, and `finish()` re-ranks those candidates in
/// double precision. The result is the true top-k, independent of block sizes and BLAS kernels,
/// with ties broken by id.
public struct ExactTopK {
    public let metric: DistanceMetric
    public let k: Int
    public let dimension: Int
    private let query: [Float]
    private let queryNorm: Float
    /// Relative error allowed for a single-precision dot product of this dimension (generous).
    private let epsilon: Float

    private var heap: [Candidate] = [] // max-heap on `upper`, at most k entries
    private var near: [Candidate] = [] // evicted or rejected rows whose `lower` may still qualify
    private var scores: [Float] = []

    private struct Candidate {
        var id: Int64
        var lower: Float
        var upper: Float
        var vector: [Float]
    }

    public init(metric: DistanceMetric, query: [Float], k: Int) {
        precondition(k >= 0)
        self.metric = metric
        self.k = k
        self.dimension = query.count
        self.query = query
        self.queryNorm = query.withUnsafeBufferPointer {
            PairDistance.dot($0.baseAddress!, $0.baseAddress!, count: query.count).squareRoot()
        }
        self.epsilon = max(1e-4, Float(query.count) * 2.5e-7)
    }

    /// The k-th best upper bound so far; rows whose lower bound exceeds it cannot qualify.
    /// (None qualifies for k = 0, `LIMIT 0`: the heap stays empty and has no top.)
    private var threshold: Float { k == 0 ? -.infinity : heap.count < k ? .infinity : heap[0].upper }

    /// Scores a block of `count` row-major vectors with their ids.
    public mutating func add(rows: UnsafePointer<Float>, ids: UnsafePointer<Int64>, count: Int) {
        guard k > 0, count > 0 else { return }
        if scores.count < count { scores = [Float](repeating: 0, count: count) }
        scores.withUnsafeMutableBufferPointer { out in
            query.withUnsafeBufferPointer { q in
                BLASScoring.dots(
                    rows: rows, rowCount: count, dimension: dimension, query: q.baseAddress!,
                    into: out.baseAddress!)
            }
        }
        for r in 0..<count {
            let row = rows + r * dimension
            let (score, margin) = rankScore(dot: scores[r], row: row)
            let lower = score - margin
            let upper = score + margin
            guard lower <= threshold else { continue }
            let candidate = Candidate(
                id: ids[r], lower: lower, upper: upper,
                vector: Array(UnsafeBufferPointer(start: row, count: dimension)))
            if heap.count < k {
                push(candidate)
            } else if upper < heap[0].upper {
                let evicted = replaceTop(with: candidate)
                near.append(evicted)
            } else {
                near.append(candidate)
            }
            if near.count > 4 * k + 256 { pruneNear() }
        }
    }

    /// The re-ranked top-k, plus any further rows tied exactly with the k-th; best first.
    public func finish() -> [ScoredRow] {
        let limit = threshold
        var rows: [ScoredRow] = []
        rows.reserveCapacity(heap.count + near.count)
        query.withUnsafeBufferPointer { q in
            for candidate in heap + near where candidate.lower <= limit {
                let distance = candidate.vector.withUnsafeBufferPointer {
                    PairDistance.precise(metric, $0.baseAddress!, q.baseAddress!, count: dimension)
                }
                rows.append(ScoredRow(id: candidate.id, distance: distance))
            }
        }
        rows.sort(by: ScoredRow.ranksBefore)
        guard rows.count > k, k > 0 else { return rows }
        let last = rows[k - 1].distance
        var end = k
        while end < rows.count, rows[end].distance == last { end += 1 }
        return Array(rows[..<end])
    }

    /// A single-precision score that orders like the metric, with its error margin.
    @inline(__always)
    private func rankScore(dot: Float, row: UnsafePointer<Float>) -> (Float, Float) {
        switch metric {
        case .innerProduct:
            let norm = PairDistance.dot(row, row, count: dimension).squareRoot()
            return (-dot, epsilon * norm * queryNorm + .leastNormalMagnitude)
        case .l2:
            let normSquared = PairDistance.dot(row, row, count: dimension)
            let norm = normSquared.squareRoot()
            let scale = (norm + queryNorm) * (norm + queryNorm)
            return (normSquared - 2 * dot + queryNorm * queryNorm, epsilon * scale + .leastNormalMagnitude)
        case .cosine:
            let norm = PairDistance.dot(row, row, count: dimension).squareRoot()
            guard norm > 0, queryNorm > 0 else { return (.greatestFiniteMagnitude, 0) }
            return (1 - dot / (norm * queryNorm), epsilon)
        }
    }

    private mutating func pruneNear() {
        let limit = threshold
        near.removeAll { $0.lower > limit }
    }

    // MARK: binary max-heap on `upper`

    private mutating func push(_ candidate: Candidate) {
        heap.append(candidate)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].upper > heap[parent].upper else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func replaceTop(with candidate: Candidate) -> Candidate {
        let top = heap[0]
        heap[0] = candidate
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var largest = parent
            if left < heap.count, heap[left].upper > heap[largest].upper { largest = left }
            if right < heap.count, heap[right].upper > heap[largest].upper { largest = right }
            if largest == parent { break }
            heap.swapAt(parent, largest)
            parent = largest
        }
        return top
    }
}
