/// How to find every pair of vectors at or above a cosine-similarity threshold.
public enum PairSearchStrategy: Sendable, Equatable {
    /// Every pair, in blocks on BLAS (ExactPairSearch): exact.
    case exactBlocks
    /// Spherical k-means into `clusters` cells; each row is compared with the cells it lies
    /// near (KMeansBlocking): a few percent of the pairs, approximate.
    case kMeansBlocks(clusters: Int)
}

public struct PairSearchPlan: Sendable, Equatable {
    public var strategy: PairSearchStrategy
    /// Why, in words EXPLAIN shows.
    public var reason: String
}

/// Chooses the pair search for a deduplication by its size and threshold.
///
/// Brute force compares n²/2 pairs; k-means blocking costs the clustering (about 15 passes
/// over a sample and one over all rows against √n-ish centroids) plus the pairs inside the
/// probed cells, which real embedding sets put at 1–5% of n²/2 for thresholds of 0.9 and up.
/// Below about 20,000 rows brute force takes well under a second and is exact, so it wins;
/// with low thresholds the neighbourhoods a row must probe cover most cells, so blocking saves
/// little and loses exactness.
public enum PairSearchPlanner {
    public static let exactBelowRows = 20_000
    public static let blockingFromThreshold = 0.8

    public static func plan(rowCount n: Int, threshold: Double, exactRequested: Bool) -> PairSearchPlan {
        let pairs = n > 1 ? n * (n - 1) / 2 : 0
        if exactRequested {
            return PairSearchPlan(
                strategy: .exactBlocks, reason: "/*+ exact */ hint: all \(pairs) pairs compared on BLAS")
        }
        if n < exactBelowRows {
            return PairSearchPlan(
                strategy: .exactBlocks,
                reason: "\(n) rows (under \(exactBelowRows)): all \(pairs) pairs compared on BLAS, exact and fast")
        }
        if threshold < blockingFromThreshold {
            return PairSearchPlan(
                strategy: .exactBlocks,
                reason:
                    "threshold \(threshold) is below \(blockingFromThreshold): neighbourhoods too wide for blocking to prune; all \(pairs) pairs compared on BLAS"
            )
        }
        let clusters = KMeansBlocking.clusterCount(forRows: n)
        return PairSearchPlan(
            strategy: .kMeansBlocks(clusters: clusters),
            reason:
                "\(n) rows at threshold \(threshold): k-means blocking into \(clusters) cells, each row compared with the cells within its probe margin (approximate; /*+ exact */ compares all \(pairs) pairs); falls back to all pairs when the cells would cover more than half of them"
        )
    }
}
