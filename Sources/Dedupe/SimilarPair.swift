/// Two rows (by row number) whose similarity reaches the threshold; `first < second`.
public struct SimilarPair: Sendable, Equatable {
    public var first: Int32
    public var second: Int32
    public var similarity: Double

    public init(_ a: Int, _ b: Int, similarity: Double) {
        first = Int32(min(a, b))
        second = Int32(max(a, b))
        self.similarity = similarity
    }
}

/// Collects pairs found by a search that may meet the same pair more than once (blocked
/// searches that probe a row's neighbourhood from both sides).
struct PairCollector {
    private var seen: Set<UInt64> = []
    private(set) var pairs: [SimilarPair] = []

    mutating func add(_ a: Int, _ b: Int, similarity: Double) {
        let pair = SimilarPair(a, b, similarity: similarity)
        if seen.insert(UInt64(UInt32(pair.first)) << 32 | UInt64(UInt32(pair.second))).inserted { pairs.append(pair) }
    }

    /// True when the pair was already collected.
    func contains(_ a: Int, _ b: Int) -> Bool {
        seen.contains(UInt64(UInt32(min(a, b))) << 32 | UInt64(UInt32(max(a, b))))
    }
}
