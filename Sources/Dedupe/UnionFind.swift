/// Disjoint sets over `0..<count` with path halving and union by size: the connected
/// components of the "is a duplicate of" graph.
public struct UnionFind: Sendable {
    private var parent: [Int32]
    private var size: [Int32]

    public init(count: Int) {
        precondition(count < Int(Int32.max), "too many elements for UnionFind")
        parent = (0..<Int32(count)).map { $0 }
        size = Array(repeating: 1, count: count)
    }

    public mutating func find(_ x: Int) -> Int {
        var x = Int32(x)
        while parent[Int(x)] != x {
            parent[Int(x)] = parent[Int(parent[Int(x)])]
            x = parent[Int(x)]
        }
        return Int(x)
    }

    /// Joins the sets of `a` and `b`; true when they were apart.
    @discardableResult
    public mutating func union(_ a: Int, _ b: Int) -> Bool {
        var ra = find(a)
        var rb = find(b)
        guard ra != rb else { return false }
        if size[ra] < size[rb] { swap(&ra, &rb) }
        parent[rb] = Int32(ra)
        size[ra] += size[rb]
        return true
    }

    /// The sets with more than one member, each sorted ascending, ordered by their smallest member.
    public mutating func groups() -> [[Int]] {
        var byRoot: [Int: [Int]] = [:]
        for x in 0..<parent.count where size[find(x)] > 1 {
            byRoot[find(x), default: []].append(x)
        }
        return byRoot.values.sorted { $0[0] < $1[0] }
    }
}
