/// Which row of a group of duplicates stays.
///
/// Rows are numbered in primary-key order (rowid order when the table has no single-column
/// key) before deduplication, so:
/// - `first`: the row with the smallest key;
/// - `last`: the row with the largest key;
/// - `longest`: the row with the longest text (see `DEDUPE`: the deduplicated column for text,
///   the row's text columns together for vectors); ties go to the smallest key;
/// - `largest`: the row with the largest value of an expression (`KEEP BY expr`), compared as
///   SQLite orders values (NULL lowest, then numbers, then text, then blobs); ties go to the
///   smallest key.
public enum KeepRule: Sendable, Equatable {
    case first
    case last
    case longest
    case largest

    /// The member of `members` (row numbers in key order) to keep; `scores[row]` holds each
    /// row's length (`longest`) or expression value (`largest`).
    public func representative(of members: [Int], scores: [KeepScore]) -> Int {
        precondition(!members.isEmpty)
        switch self {
        case .first: return members.min()!
        case .last: return members.max()!
        case .longest, .largest:
            var best = members[0]
            for row in members.dropFirst() {
                if scores[row] > scores[best] || (scores[row] == scores[best] && row < best) { best = row }
            }
            return best
        }
    }
}

/// A value that decides `KEEP LONGEST` and `KEEP BY`, ordered as SQLite orders values.
public enum KeepScore: Sendable, Comparable {
    case null
    case number(Double)
    case text(String)
    case blob([UInt8])

    private var typeRank: Int {
        switch self {
        case .null: 0
        case .number: 1
        case .text: 2
        case .blob: 3
        }
    }

    public static func < (a: KeepScore, b: KeepScore) -> Bool {
        switch (a, b) {
        case (.number(let x), .number(let y)): return x < y
        // BINARY collation: bytes, not characters.
        case (.text(let x), .text(let y)): return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
        case (.blob(let x), .blob(let y)): return x.lexicographicallyPrecedes(y)
        default: return a.typeRank < b.typeRank
        }
    }
}
