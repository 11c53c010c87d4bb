import CQuiverSIMD
import Foundation
import QuiverKernels

/// The HNSW graph over node records in mapped memory: storage accessors and search.
/// Changes are in HNSWGraph+Insert.swift; files in IndexFile.swift.
///
/// Distances: a walk compares the float32 query with 8-bit codes (`walkDistance`); final
/// candidates are re-ranked with the float32 vectors (`exactDistance`). Both are in "walk
/// units" where smaller is closer: negative dot product for cosine (on normalised vectors) and
/// inner product, squared distance for L2; `DistanceMetric.reported` converts for SQL.
///
/// Thread safety: any number of concurrent searches, or inserts running in parallel with each
/// other (bulk build), never both at once — `HNSWIndex` guarantees that with a read-write lock.
final class HNSWGraph: @unchecked Sendable {
    let parameters: HNSWParameters
    let layout: NodeLayout
    let nodes: MappedRegion
    let vectors: MappedRegion
    let upper: MappedRegion
    let labels: LabelMap
    var quantizer: Quantizer

    // Shared state, changed under `allocationLock`.
    var nodeCount: Int
    var liveCount: Int
    var entryPoint: UInt32
    var topLevel: Int
    var upperWords: Int
    var freeSlots: [UInt32]
    /// Nodes whose vectors fell outside the quantiser's ranges since it was fitted: their codes
    /// are clamped, so a walk may misjudge them; every search scores them exactly. A checkpoint
    /// refits the quantiser first, so a file never holds any.
    var outliers = Set<UInt32>()
    let allocationLock = NSLock()
    /// Held for a whole insert that raises the top level (hnswlib does the same).
    let topLevelLock = NSLock()
    let linkLocks = StripedLocks()
    var random: SplitMix64

    static let noNode = UInt32.max
    /// A link list with no entries, for nodes that lack a level.
    private let emptyLinks: UnsafeMutablePointer<UInt32> = {
        let p = UnsafeMutablePointer<UInt32>.allocate(capacity: 2)
        p.initialize(repeating: 0, count: 2)
        return p
    }()

    struct State {
        var nodeCount = 0, liveCount = 0, entryPoint = HNSWGraph.noNode, topLevel = 0, upperWords = 0
        var freeSlots: [UInt32] = []
    }

    init(
        parameters: HNSWParameters, quantizer: Quantizer, nodes: MappedRegion, vectors: MappedRegion,
        upper: MappedRegion, labels: LabelMap, state: State, seed: UInt64
    ) {
        self.parameters = parameters
        self.layout = NodeLayout(dimension: parameters.dimension, m: parameters.m)
        self.quantizer = quantizer
        self.nodes = nodes
        self.vectors = vectors
        self.upper = upper
        self.labels = labels
        nodeCount = state.nodeCount
        liveCount = state.liveCount
        entryPoint = state.entryPoint
        topLevel = state.topLevel
        upperWords = state.upperWords
        freeSlots = state.freeSlots
        random = SplitMix64(seed: seed)
    }

    deinit { emptyLinks.deallocate() }

    var dimension: Int { layout.dimension }

    // MARK: node records

    @inline(__always) func record(_ n: UInt32) -> UnsafeMutableRawPointer { nodes.base + Int(n) * layout.stride }
    @inline(__always) func codes(_ n: UInt32) -> UnsafeMutablePointer<UInt8> {
        (record(n) + layout.codesOffset).assumingMemoryBound(to: UInt8.self)
    }
    @inline(__always) func vector(_ n: UInt32) -> UnsafeMutablePointer<Float> {
        (vectors.base + Int(n) * layout.vectorBytes).assumingMemoryBound(to: Float.self)
    }
    @inline(__always) func squaredNorm(_ n: UInt32) -> Float {
        record(n).load(fromByteOffset: layout.normOffset, as: Float.self)
    }
    @inline(__always) func label(_ n: UInt32) -> Int64 {
        record(n).load(fromByteOffset: layout.labelOffset, as: Int64.self)
    }
    @inline(__always) func flags(_ n: UInt32) -> UInt32 {
        record(n).load(fromByteOffset: layout.flagsOffset, as: UInt32.self)
    }
    @inline(__always) func isDeleted(_ n: UInt32) -> Bool { flags(n) & NodeFlags.deleted != 0 }
    @inline(__always) func isLinking(_ n: UInt32) -> Bool { flags(n) & NodeFlags.linking != 0 }
    @inline(__always) func level(_ n: UInt32) -> Int {
        Int(record(n).load(fromByteOffset: layout.levelOffset, as: UInt32.self))
    }

    /// The link list of `n` at `level`: word 0 is the count, then up to M0 (level 0) or M ids.
    /// A node without that level (or with a damaged record) reads as an empty list.
    @inline(__always) func links(_ n: UInt32, _ level: Int) -> UnsafePointer<UInt32> {
        UnsafePointer(linksIfPresent(n, level) ?? emptyLinks)
    }

    /// The link list for writing; nil when the node has no such level. Bounded by the mapped
    /// size of the arena (which only grows, and grows before a node's lists are handed out),
    /// not by a counter another thread may be updating.
    @inline(__always) func linksIfPresent(_ n: UInt32, _ level: Int) -> UnsafeMutablePointer<UInt32>? {
        if level == 0 { return record(n).assumingMemoryBound(to: UInt32.self) }
        let offset =
            Int(record(n).load(fromByteOffset: layout.upperOffset, as: UInt32.self)) + (level - 1)
            * layout.upperBlockWords
        guard level <= self.level(n), (offset + layout.upperBlockWords) * 4 <= upper.committed else { return nil }
        return upper.base.assumingMemoryBound(to: UInt32.self) + offset
    }

    @inline(__always) func maxLinks(_ level: Int) -> Int { level == 0 ? layout.m0 : layout.m }

    // MARK: distances

    /// Distance from a prepared query to a node's codes.
    @inline(__always)
    func walkDistance(_ query: WalkQuery, _ n: UInt32) -> Float {
        let dot = query.dot(codes(n), dimension)
        return parameters.metric == .l2 ? query.squaredNorm - 2 * dot + squaredNorm(n) : -dot
    }

    /// Distance from a float32 vector (prepared) to a node's float32 vector.
    @inline(__always)
    func exactDistance(_ query: UnsafePointer<Float>, _ n: UInt32) -> Float {
        parameters.metric == .l2
            ? quiver_l2sq_f32(query, vector(n), dimension) : -quiver_dot_f32(query, vector(n), dimension)
    }

    /// Prepares `source` (as the row stores it) for the graph: normalised for cosine.
    func prepare(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>) {
        target.update(from: source, count: dimension)
        guard parameters.metric.normalisesVectors else { return }
        let norm = quiver_dot_f32(target, target, dimension).squareRoot()
        guard norm > 0 else { return }
        let inverse = 1 / norm
        for i in 0..<dimension { target[i] *= inverse }
    }

    /// A walk query over `prepared` (already in graph form), using `scratch` for its weights.
    func walkQuery(_ prepared: UnsafePointer<Float>, scratch: SearchScratch) -> WalkQuery {
        let constant = quantizer.prepare(prepared, weights: scratch.weights)
        return WalkQuery(
            vector: prepared, weights: scratch.weights, constant: constant,
            squaredNorm: quiver_dot_f32(prepared, prepared, dimension))
    }

    // MARK: search

    /// The `k` nearest accepted nodes to `query` (as the row stores it), nearest first, with
    /// exact distances in walk units. `accept` decides which nodes may be results; every node
    /// still routes the walk.
    func search(
        _ query: UnsafePointer<Float>, k: Int, ef: Int, scratch: SearchScratch,
        accept: ((UInt32) -> Bool)? = nil, twoHop: Bool = false, seeds: [UInt32] = []
    ) -> [Candidate] {
        guard entryPoint != Self.noNode, k > 0 else { return [] }
        prepare(query, into: scratch.query)
        let walk = walkQuery(scratch.query, scratch: scratch)
        var current = entryPoint
        var currentDistance = walkDistance(walk, current)
        scratch.distanceCount += 1
        if topLevel > 0 {
            for level in stride(from: topLevel, to: 0, by: -1) {
                (current, currentDistance) = greedyStep(
                    walk, from: current, distance: currentDistance, level: level, scratch: scratch)
            }
        }
        let found: [Candidate]
        if let accept, twoHop {
            found = searchLevel0TwoHop(
                walk, entry: current, entryDistance: currentDistance, ef: max(ef, k), scratch: scratch,
                accept: accept, seeds: seeds)
        } else if let accept {
            found = searchLevel0(
                walk, entry: current, entryDistance: currentDistance, ef: max(ef, k), scratch: scratch, accept: accept)
        } else {
            found = searchLevel0(walk, entry: current, entryDistance: currentDistance, ef: max(ef, k), scratch: scratch)
            { [self] in
                !isDeleted($0)
            }
        }
        // Re-rank the walk's candidates by their float32 vectors, with the outliers beside them.
        var ranked = found.map { Candidate(distance: exactDistance(scratch.query, $0.node), node: $0.node) }
        if !outliers.isEmpty {
            let seen = Set(found.map(\.node))
            for node in outliers where !seen.contains(node) && !isDeleted(node) && (accept?(node) ?? true) {
                ranked.append(Candidate(distance: exactDistance(scratch.query, node), node: node))
            }
        }
        ranked.sort { $0.distance != $1.distance ? $0.distance < $1.distance : label($0.node) < label($1.node) }
        return Array(ranked.prefix(k))
    }

    /// Greedy descent on one upper level: move to any closer neighbour until none is closer.
    @inline(__always)
    private func greedyStep(
        _ query: WalkQuery, from start: UInt32, distance: Float, level: Int,
        scratch: SearchScratch
    ) -> (UInt32, Float) {
        var current = start
        var best = distance
        var changed = true
        while changed {
            changed = false
            let list = links(current, level)
            let count = Int(min(list[0], UInt32(layout.m)))
            var i = 1
            while i <= count {
                let candidate = list[i]
                i += 1
                guard Int(candidate) < nodeCount else { continue }
                let d = walkDistance(query, candidate)
                scratch.distanceCount += 1
                if d < best {
                    best = d
                    current = candidate
                    changed = true
                }
            }
        }
        return (current, best)
    }

    /// Best-first search of level 0 with a result set of `ef` (hnswlib's searchBaseLayerST).
    private func searchLevel0(
        _ query: WalkQuery, entry: UInt32, entryDistance: Float, ef: Int,
        scratch: SearchScratch, accept: (UInt32) -> Bool
    ) -> [Candidate] {
        let visited = scratch.visited
        visited.reset(capacity: nodeCount)
        scratch.frontier.removeAll()
        scratch.results.removeAll()
        _ = visited.insert(entry)
        scratch.frontier.push(Candidate(distance: entryDistance, node: entry))
        var bound = Float.infinity
        if accept(entry) {
            scratch.results.push(Candidate(distance: entryDistance, node: entry))
            if ef == 1 { bound = entryDistance }
        }
        let m0 = UInt32(layout.m0)
        let limit = UInt32(nodeCount)
        var computed = 0
        while !scratch.frontier.isEmpty {
            let nearest = scratch.frontier.top
            if nearest.distance > bound { break }
            scratch.frontier.pop()
            let list = links(nearest.node, 0)
            let count = Int(min(list[0], m0))
            if count > 0, list[1] < limit { quiver_prefetch(codes(list[1])) }
            var i = 1
            while i <= count {
                let candidate = list[i]
                if i < count, list[i + 1] < limit { quiver_prefetch(codes(list[i + 1])) }
                i += 1
                guard candidate < limit, visited.insert(candidate) else { continue }
                let d = walkDistance(query, candidate)
                computed += 1
                guard scratch.results.count < ef || d < bound else { continue }
                scratch.frontier.push(Candidate(distance: d, node: candidate))
                if accept(candidate) {
                    scratch.results.push(Candidate(distance: d, node: candidate))
                    if scratch.results.count > ef { scratch.results.pop() }
                    if scratch.results.count == ef { bound = scratch.results.top.distance }
                }
            }
        }
        scratch.distanceCount += computed
        return scratch.results.drainAscending()
    }
}

extension HNSWGraph {
    /// Best-first search of level 0 that only steps on accepted nodes (ACORN-1's idea): when a
    /// neighbour is rejected, its own neighbours are considered instead, so the walk stays
    /// connected through the filtered-out part of the graph without computing distances there.
    /// For selective filters, where routing through rejected nodes would spend most distance
    /// computations on rows that can never be results.
    /// `seeds` are allowed nodes spread over the graph: extra starting points, so that a filter
    /// whose rows lie far from the entry point is still reached.
    fileprivate func searchLevel0TwoHop(
        _ query: WalkQuery, entry: UInt32, entryDistance: Float, ef: Int,
        scratch: SearchScratch, accept: (UInt32) -> Bool, seeds: [UInt32]
    ) -> [Candidate] {
        let visited = scratch.visited
        visited.reset(capacity: nodeCount)
        scratch.frontier.removeAll()
        scratch.results.removeAll()
        var bound = Float.infinity
        for (i, start) in ([entry] + seeds).enumerated() where Int(start) < nodeCount && visited.insert(start) {
            let d = i == 0 ? entryDistance : walkDistance(query, start)
            scratch.frontier.push(Candidate(distance: d, node: start))
            if accept(start) {
                scratch.results.push(Candidate(distance: d, node: start))
                if scratch.results.count > ef { scratch.results.pop() }
                if scratch.results.count == ef { bound = scratch.results.top.distance }
            }
        }
        let m0 = UInt32(layout.m0)
        let limit = UInt32(nodeCount)
        var computed = 0
        var expanded = [UInt32]()
        expanded.reserveCapacity(layout.m0 * 2)
        // Rejected nodes whose neighbours were already looked at (a separate mark from `visited`,
        // which records nodes whose distance is known).
        let hopped = scratch.hopped
        hopped.reset(capacity: nodeCount)
        while !scratch.frontier.isEmpty {
            let nearest = scratch.frontier.top
            if nearest.distance > bound { break }
            scratch.frontier.pop()
            expanded.removeAll(keepingCapacity: true)
            let list = links(nearest.node, 0)
            let count = Int(min(list[0], m0))
            for i in 0..<count {
                let n = list[1 + i]
                guard n < limit else { continue }
                if accept(n) {
                    expanded.append(n)
                } else if hopped.insert(n) {
                    let second = links(n, 0)
                    for j in 0..<Int(min(second[0], m0)) where second[1 + j] < limit && accept(second[1 + j]) {
                        expanded.append(second[1 + j])
                    }
                }
                if expanded.count >= 2 * layout.m0 { break }
            }
            for candidate in expanded where visited.insert(candidate) {
                let d = walkDistance(query, candidate)
                computed += 1
                guard scratch.results.count < ef || d < bound else { continue }
                scratch.frontier.push(Candidate(distance: d, node: candidate))
                scratch.results.push(Candidate(distance: d, node: candidate))
                if scratch.results.count > ef { scratch.results.pop() }
                if scratch.results.count == ef { bound = scratch.results.top.distance }
            }
        }
        scratch.distanceCount += computed
        return scratch.results.drainAscending()
    }
}

extension DistanceMetric {
    /// Converts a walk-unit distance to the metric's distance as SQL reports it.
    func reported(fromWalk d: Float) -> Float {
        switch self {
        case .l2: max(0, d).squareRoot()
        case .cosine: 1 + d
        case .innerProduct: d
        }
    }

    /// Vectors are stored normalised for cosine, so that walking by dot product is exact.
    var normalisesVectors: Bool { self == .cosine }
}
