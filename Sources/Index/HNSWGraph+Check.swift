import CQuiverSIMD

/// Structural checks of a graph, for tests and for diagnosing a damaged index.
public struct IndexCheckReport: Sendable, Equatable, CustomStringConvertible {
    public var nodes = 0
    public var live = 0
    /// Links pointing outside the graph (damage).
    public var danglingLinks = 0
    /// Live nodes that a walk over level 0 from the entry point never reaches.
    public var unreachable = 0
    /// Live nodes with no level-0 links at all.
    public var isolated = 0
    /// Average number of level-0 links per node.
    public var averageDegree = 0.0
    /// Live nodes whose codes or stored norm do not match their float32 vector (damage), and
    /// whose vector lies outside the quantiser's ranges (scored exactly until the next refit).
    public var staleCodes = 0
    public var outliers = 0

    public var description: String {
        "nodes \(nodes), live \(live), unreachable \(unreachable), isolated \(isolated), dangling links \(danglingLinks), stale codes \(staleCodes), outliers \(outliers), average degree \(averageDegree)"
    }
}

extension HNSWGraph {
    /// Which nodes a walk over level 0 from the entry point can reach (links followed whether or
    /// not their target is deleted, as searches do).
    func reachableFromEntry() -> [Bool] {
        var reached = [Bool](repeating: false, count: nodeCount)
        guard entryPoint != Self.noNode, Int(entryPoint) < nodeCount else { return reached }
        var stack = [entryPoint]
        reached[Int(entryPoint)] = true
        while let n = stack.popLast() {
            let list = links(n, 0)
            for i in 0..<Int(min(list[0], UInt32(layout.m0))) {
                let next = Int(list[1 + i])
                if next < nodeCount, !reached[next] {
                    reached[next] = true
                    stack.append(UInt32(next))
                }
            }
        }
        return reached
    }

    func check() -> IndexCheckReport {
        var report = IndexCheckReport()
        report.nodes = nodeCount
        guard nodeCount > 0 else { return report }
        var totalDegree = 0
        for n in 0..<UInt32(nodeCount) {
            let list = links(n, 0)
            let count = Int(min(list[0], UInt32(layout.m0)))
            totalDegree += count
            if !isDeleted(n) {
                report.live += 1
                if count == 0 { report.isolated += 1 }
            }
            for i in 0..<count where Int(list[1 + i]) >= nodeCount { report.danglingLinks += 1 }
        }
        report.averageDegree = Double(totalDegree) / Double(nodeCount)
        report.outliers = outliers.count
        var fresh = [UInt8](repeating: 0, count: dimension)
        for n in 0..<UInt32(nodeCount) where !isDeleted(n) {
            let clamped = fresh.withUnsafeMutableBufferPointer { quantizer.encode(vector(n), into: $0.baseAddress!) }
            let codesMatch = (0..<dimension).allSatisfy { fresh[$0] == codes(n)[$0] }
            let normMatches = squaredNorm(n) == quiver_dot_f32(vector(n), vector(n), dimension)
            if !codesMatch || !normMatches || (clamped > 0 && !outliers.contains(n)) { report.staleCodes += 1 }
        }
        let reached = reachableFromEntry()
        report.unreachable = (0..<nodeCount).filter { !reached[$0] && !isDeleted(UInt32($0)) }.count
        return report
    }
}
