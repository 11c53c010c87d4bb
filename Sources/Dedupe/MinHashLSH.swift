import QuiverProgress

/// Locality-sensitive hashing over MinHash signatures: each signature is cut into bands of
/// `rowsPerBand` values; rows whose signatures agree on a whole band share a bucket and become
/// candidate pairs. Built by sorting band keys (no hash tables of buckets), one band at a time.
public struct MinHashLSH {
    public let parameters: MinHashParameters
    private var signatures: [UInt32] = []
    public private(set) var count = 0

    public init(parameters: MinHashParameters) { self.parameters = parameters }

    /// Adds the next row's signature (rows are numbered in the order they are added).
    public mutating func add(_ signature: [UInt32]) {
        precondition(signature.count == MinHashParameters.permutations)
        signatures.append(contentsOf: signature)
        count += 1
    }

    /// The share of signature positions where rows `a` and `b` agree: an unbiased estimate of
    /// their Jaccard similarity, with a standard deviation of at most 0.045 (128 hashes).
    public func estimatedSimilarity(_ a: Int, _ b: Int) -> Double {
        let k = MinHashParameters.permutations
        return signatures.withUnsafeBufferPointer { s in
            var agree = 0
            for i in 0..<k where s[a * k + i] == s[b * k + i] { agree += 1 }
            return Double(agree) / Double(k)
        }
    }

    /// Candidates whose estimate lies this far below the threshold are dropped before the exact
    /// comparison: over 3.5 standard deviations, so a pair at the threshold survives with
    /// probability above 0.9998, while the many chance candidates of templated text
    /// (similar pages at Jaccard 0.5–0.7) cost 128 comparisons instead of a set intersection.
    public static let estimateSlack = 0.16

    /// Pairs of rows that share a bucket in at least one band, each once, `first < second`.
    public func candidatePairs(progress: ProgressReporter = .silent) throws -> [(Int, Int)] {
        let k = MinHashParameters.permutations
        let r = parameters.rowsPerBand
        var seen: Set<UInt64> = []
        var pairs: [(Int, Int)] = []
        var keyed = [(key: UInt64, row: Int32)](repeating: (0, 0), count: count)
        for band in 0..<parameters.bands {
            try progress.report("hashing bands", band, of: parameters.bands, .bands)
            signatures.withUnsafeBufferPointer { s in
                for row in 0..<count {
                    var h: UInt64 = mix(UInt64(band))
                    for v in s[(row * k + band * r)..<(row * k + band * r + r)] { h = mix(h ^ UInt64(v)) }
                    keyed[row] = (h, Int32(row))
                }
            }
            keyed.sort { $0.key != $1.key ? $0.key < $1.key : $0.row < $1.row }
            var start = 0
            while start < count {
                var end = start + 1
                while end < count && keyed[end].key == keyed[start].key { end += 1 }
                if end - start > 1 {
                    for x in start..<end {
                        for y in (x + 1)..<end {
                            let a = Int(keyed[x].row)
                            let b = Int(keyed[y].row)
                            if seen.insert(UInt64(a) << 32 | UInt64(b)).inserted { pairs.append((a, b)) }
                        }
                    }
                }
                start = end
            }
        }
        return pairs
    }
}
