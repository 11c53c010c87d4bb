import Dispatch
import QuiverKernels
import QuiverProgress

/// All pairs at or above a cosine threshold without comparing all pairs (SemDeDup's idea):
/// spherical k-means cuts the unit sphere into cells; near-duplicates lie in the same cell or
/// in cells whose centroids are nearly as close. Each row is compared, on BLAS, with the
/// members of every cell within its probe margin, and each candidate is confirmed in double
/// precision, so every pair reported is a true pair; a true pair is missed only when neither
/// row probes the other's cell.
///
/// Probe margin: row x (unit vector) probes cell c when ‖x − c‖² ≤ ‖x − c₀‖² + 2(1 − t), c₀ its
/// own cell: the squared distance between two unit vectors at similarity t is 2(1 − t), so a
/// cell is probed when it is at most "one duplicate away" farther than the nearest. (A margin
/// that guarantees exactness — the bisector bound — covers most cells in 384 dimensions; this
/// one found every pair at 0.95 on the real set, see BENCHMARKS.md.)
public enum KMeansBlocking {
    public struct Outcome: Sendable {
        public var pairs: [SimilarPair]
        /// Vector pairs scored (the work), and all pairs n(n−1)/2 for comparison.
        public var comparedPairs: Int
        public var allPairs: Int
        /// Cells probed per row, on average.
        public var probesPerRow: Double
        /// True when the cells would have covered most pairs and brute force ran instead.
        public var fellBackToExact: Bool
        /// Seconds per phase (training, assigning, comparing), for EXPLAIN ANALYZE and benchmarks.
        public var phases: [(name: String, seconds: Double)] = []
    }

    /// Blocking stops paying when the probed cells hold more than this share of all pairs.
    static let fallbackShare = 0.5
    static let trainingIterations = 8
    static let chunkRows = 2048

    /// About 2√n cells: the pairs inside cells shrink as n²/cells while assigning rows to
    /// cells grows as n·cells.
    public static func clusterCount(forRows n: Int) -> Int { max(8, min(4096, Int((Double(n)).squareRoot() * 2))) }

    public static func pairs(
        in rows: VectorRows, threshold: Double, clusters requested: Int,
        progress: ProgressReporter = .silent
    ) throws -> Outcome {
        let d = rows.dimension
        let live = (0..<rows.count).filter { rows.norms[$0] > 0 }
        let n = live.count
        let allPairs = n > 1 ? n * (n - 1) / 2 : 0
        let k = max(1, min(requested, n / 4))
        var phases: [(name: String, seconds: Double)] = []
        var clock = DispatchTime.now().uptimeNanoseconds
        func lap(_ name: String) {
            let now = DispatchTime.now().uptimeNanoseconds
            phases.append((name, Double(now - clock) / 1e9))
            clock = now
        }
        let centroids = try SphericalKMeans.train(
            rows, live: live, clusters: k, iterations: trainingIterations, progress: progress)
        lap("k-means training")
        let margin = Float(2 * (1 - threshold))

        // Assign every row to its cell and to the cells it probes.
        var members = [[Int]](repeating: [], count: k)
        var probers = [[Int]](repeating: [], count: k)
        var probes = 0
        var block = [Float](repeating: 0, count: chunkRows * d)
        var scores = [Float](repeating: 0, count: chunkRows * k)
        for start in stride(from: 0, to: n, by: chunkRows) {
            try progress.report("assigning rows to cells", start, of: n, .rows)
            let chunk = live[start..<min(n, start + chunkRows)]
            block.withUnsafeMutableBufferPointer { rows.normalize(chunk, into: $0.baseAddress!) }
            centroids.score(block, count: chunk.count, into: &scores)
            for (offset, row) in chunk.enumerated() {
                let line = offset * k
                var best = 0
                var bestDistance = Float.infinity
                for c in 0..<k {
                    let distance = centroids.squaredNorms[c] - 2 * scores[line + c] // ‖x − c‖² − 1
                    scores[line + c] = distance
                    if distance < bestDistance {
                        bestDistance = distance
                        best = c
                    }
                }
                members[best].append(row)
                for c in 0..<k where c != best && scores[line + c] <= bestDistance + margin {
                    probers[c].append(row)
                    probes += 1
                }
            }
        }
        lap("assigning rows to cells")
        var compared = 0
        for c in 0..<k { compared += (members[c].count + probers[c].count) * members[c].count }
        let probesPerRow = n > 0 ? 1 + Double(probes) / Double(n) : 0
        if Double(compared) > fallbackShare * Double(2 * allPairs) {
            let pairs = try ExactPairSearch.pairs(in: rows, threshold: threshold, progress: progress)
            lap("all pairs")
            return Outcome(
                pairs: pairs, comparedPairs: allPairs, allPairs: allPairs, probesPerRow: probesPerRow,
                fellBackToExact: true,
                phases: phases)
        }

        // Compare each cell's members with its members and its probers.
        var collector = PairCollector()
        let cut = Float(threshold - ExactPairSearch.screeningMargin)
        var queryBlock: [Float] = []
        var memberBlock: [Float] = []
        var out: [Float] = []
        let order = (0..<k).sorted { members[$0].count > members[$1].count }
        for (done, c) in order.enumerated() where !members[c].isEmpty {
            if done % 16 == 0 { try progress.report("comparing cells", done, of: k, .cells) }
            let cell = members[c]
            let queries = cell + probers[c]
            memberBlock = [Float](repeating: 0, count: cell.count * d)
            memberBlock.withUnsafeMutableBufferPointer { rows.normalize(cell, into: $0.baseAddress!) }
            for q0 in stride(from: 0, to: queries.count, by: chunkRows) {
                let batch = queries[q0..<min(queries.count, q0 + chunkRows)]
                if queryBlock.count < batch.count * d { queryBlock = [Float](repeating: 0, count: batch.count * d) }
                if out.count < batch.count * cell.count { out = [Float](repeating: 0, count: batch.count * cell.count) }
                queryBlock.withUnsafeMutableBufferPointer { rows.normalize(batch, into: $0.baseAddress!) }
                queryBlock.withUnsafeBufferPointer { qp in
                    memberBlock.withUnsafeBufferPointer { mp in
                        out.withUnsafeMutableBufferPointer { op in
                            BLASScoring.dots(
                                rows: mp.baseAddress!, rowCount: cell.count, dimension: d,
                                queries: qp.baseAddress!, queryCount: batch.count, into: op.baseAddress!)
                        }
                    }
                }
                out.withUnsafeBufferPointer { op in
                    for (offset, query) in batch.enumerated() {
                        // Members meet each other twice (as query and as member): keep one order.
                        let isMember = q0 + offset < cell.count
                        let line = op.baseAddress! + offset * cell.count
                        ExactPairSearch.scanLine(line, from: isMember ? q0 + offset + 1 : 0, to: cell.count, cut: cut) {
                            m in
                            let other = cell[m]
                            guard other != query, !collector.contains(query, other) else { return }
                            let s = rows.similarity(query, other)
                            if s >= threshold { collector.add(query, other, similarity: s) }
                        }
                    }
                }
            }
        }
        try progress.report("comparing cells", k, of: k, .cells)
        lap("comparing within cells")
        return Outcome(
            pairs: collector.pairs, comparedPairs: compared, allPairs: allPairs, probesPerRow: probesPerRow,
            fellBackToExact: false, phases: phases)
    }
}

/// Spherical k-means (unit vectors, mean centroids) trained on a sample on BLAS.
struct SphericalKMeans {
    let dimension: Int
    let count: Int
    var centroids: [Float]
    var squaredNorms: [Float]

    /// `scores[i·count + c] = x_i · centroid_c` for `rows` unit vectors in `block`.
    func score(_ block: [Float], count rows: Int, into scores: inout [Float]) {
        block.withUnsafeBufferPointer { bp in
            centroids.withUnsafeBufferPointer { cp in
                scores.withUnsafeMutableBufferPointer { sp in
                    BLASScoring.dots(
                        rows: cp.baseAddress!, rowCount: count, dimension: dimension,
                        queries: bp.baseAddress!, queryCount: rows, into: sp.baseAddress!)
                }
            }
        }
    }

    /// Trains on 16 rows per cell (at least 8,000; cells need not be perfect, only consistent), drawn with a fixed seed so that the
    /// same rows give the same cells.
    static func train(
        _ rows: VectorRows, live: [Int], clusters k: Int, iterations: Int,
        progress: ProgressReporter
    ) throws -> SphericalKMeans {
        let d = rows.dimension
        var random = SplitMix(seed: UInt64(live.count) &* 0x9E37_79B9)
        var sample = live
        let m = min(live.count, max(8_000, 16 * k))
        for i in 0..<m { // partial Fisher–Yates shuffle
            let j = i + Int(random.next() % UInt64(sample.count - i))
            sample.swapAt(i, j)
        }
        sample.removeLast(sample.count - m)
        var data = [Float](repeating: 0, count: m * d)
        data.withUnsafeMutableBufferPointer { rows.normalize(sample, into: $0.baseAddress!) }
        var model = SphericalKMeans(
            dimension: d, count: k, centroids: Array(data[0..<(k * d)]),
            squaredNorms: [Float](repeating: 1, count: k))
        var assignment = [Int](repeating: 0, count: m)
        var scores = [Float](repeating: 0, count: KMeansBlocking.chunkRows * k)
        for iteration in 0..<iterations {
            try progress.report("clustering", iteration, of: iterations, .iterations)
            var worst = (distance: -Float.infinity, row: 0)
            for start in stride(from: 0, to: m, by: KMeansBlocking.chunkRows) {
                let rowsInChunk = min(KMeansBlocking.chunkRows, m - start)
                let chunk = Array(data[(start * d)..<((start + rowsInChunk) * d)])
                model.score(chunk, count: rowsInChunk, into: &scores)
                for r in 0..<rowsInChunk {
                    var best = 0
                    var bestDistance = Float.infinity
                    for c in 0..<k {
                        let distance = model.squaredNorms[c] - 2 * scores[r * k + c]
                        if distance < bestDistance {
                            bestDistance = distance
                            best = c
                        }
                    }
                    assignment[start + r] = best
                    if bestDistance > worst.distance { worst = (bestDistance, start + r) }
                }
            }
            // New centroids: member means; an empty cell restarts at the worst-served row.
            var sums = [Double](repeating: 0, count: k * d)
            var sizes = [Int](repeating: 0, count: k)
            for r in 0..<m {
                let c = assignment[r]
                sizes[c] += 1
                for i in 0..<d { sums[c * d + i] += Double(data[r * d + i]) }
            }
            for c in 0..<k {
                var norm: Float = 0
                for i in 0..<d {
                    let value = sizes[c] > 0 ? Float(sums[c * d + i] / Double(sizes[c])) : data[worst.row * d + i]
                    model.centroids[c * d + i] = value
                    norm += value * value
                }
                model.squaredNorms[c] = norm
            }
        }
        return model
    }
}

/// SplitMix64, for the training sample.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return mix(state &- 0x9E37_79B9_7F4A_7C15)
    }
}
