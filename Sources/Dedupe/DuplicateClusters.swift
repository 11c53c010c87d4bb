/// Groups of duplicates: the connected components of the pairs at or above the threshold, one
/// row kept per group by the keep rule, every other member reported as its duplicate.
public struct DuplicateClusters: Sendable {
    /// One duplicate row: its group (numbered from 1 in the order of the kept rows' keys), the
    /// kept row and the duplicate (row numbers), and the similarity that makes it a duplicate.
    public struct Entry: Sendable, Equatable {
        public var cluster: Int
        public var kept: Int
        public var duplicate: Int
        public var similarity: Double
    }

    public private(set) var entries: [Entry] = []
    public private(set) var clusterCount = 0

    /// `similarity` reported for each duplicate: its similarity to the kept row when that pair
    /// reached the threshold, else the strongest pair that links it to the rest of its group
    /// (in a chain a ≈ b ≈ c, c may be below the threshold from a) — so it is never below the
    /// threshold.
    public init(rowCount: Int, pairs: [SimilarPair], keep: KeepRule, scores: [KeepScore]) {
        var sets = UnionFind(count: rowCount)
        var strongest: [Int: Double] = [:]
        var direct: [UInt64: Double] = [:]
        for pair in pairs {
            let a = Int(pair.first)
            let b = Int(pair.second)
            sets.union(a, b)
            strongest[a] = max(strongest[a] ?? -.infinity, pair.similarity)
            strongest[b] = max(strongest[b] ?? -.infinity, pair.similarity)
            direct[UInt64(a) << 32 | UInt64(b)] = pair.similarity
        }
        let groups = sets.groups().map { members in
            (kept: keep.representative(of: members, scores: scores), members: members)
        }
        .sorted { $0.kept < $1.kept }
        clusterCount = groups.count
        for (number, group) in groups.enumerated() {
            for row in group.members where row != group.kept {
                let key = UInt64(min(row, group.kept)) << 32 | UInt64(max(row, group.kept))
                entries.append(
                    Entry(
                        cluster: number + 1, kept: group.kept, duplicate: row,
                        similarity: direct[key] ?? strongest[row]!))
            }
        }
    }
}
