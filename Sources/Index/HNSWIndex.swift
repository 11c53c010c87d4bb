import Dispatch
import Foundation
import QuiverKernels

/// One hit of an index search.
public struct IndexHit: Sendable, Equatable {
    public var label: Int64
    /// The metric's distance as SQL reports it (single precision).
    public var distance: Float
}

/// An HNSW index over one vector column: a graph in memory mapped from its file, plus the
/// position in the row store's change log it reflects.
///
/// The file is a checkpoint: `checkpointSequence` says which change it holds last. Changes
/// after it are applied in memory (copy-on-write over the mapping) and recorded in the row
/// store's log; `checkpoint()` writes a new file. A crash loses only the in-memory part, which
/// the log replays on the next open — so the file never needs a rebuild unless it is damaged.
public final class HNSWIndex: @unchecked Sendable {
    public let path: String
    public let parameters: HNSWParameters
    private var graph: HNSWGraph
    private let lock = ReadWriteLock()
    private var scratchPool: [SearchScratch] = []
    private let poolLock = NSLock()

    /// The last change-log entry applied in memory.
    public private(set) var appliedSequence: Int64
    /// The last change-log entry the file on disk holds.
    public private(set) var checkpointSequence: Int64

    private init(path: String, graph: HNSWGraph, sequence: Int64) {
        self.path = path
        self.parameters = graph.parameters
        self.graph = graph
        appliedSequence = sequence
        checkpointSequence = sequence
    }

    /// Maps an existing index file, checking its header and every region's checksum.
    public static func open(path: String) throws -> HNSWIndex {
        let (graph, sequence) = try IndexFile.open(path: path)
        return HNSWIndex(path: path, graph: graph, sequence: sequence)
    }

    /// Watches a bulk build: told how many rows are linked so far (from the building threads,
    /// one call at a time), and asked now and then whether to stop (Ctrl-C in the shell).
    public struct BuildMonitor: Sendable {
        public var progress: @Sendable (_ done: Int, _ total: Int) -> Void
        public var isCancelled: @Sendable () -> Bool

        public init(
            progress: @escaping @Sendable (_ done: Int, _ total: Int) -> Void = { _, _ in },
            isCancelled: @escaping @Sendable () -> Bool = { false }
        ) {
            self.progress = progress
            self.isCancelled = isCancelled
        }

        public static let none = BuildMonitor()
    }

    /// A build stopped because its monitor asked; the index it was building is discarded.
    public struct BuildCancelled: Error, CustomStringConvertible {
        public var description: String { "index build cancelled" }
    }

    /// Builds an index over `vectors` (row-major, one per label) with `threads` threads and
    /// writes its file. `sequence` is the change-log position the rows were read at.
    public static func build(
        path: String, parameters: HNSWParameters, labels: [Int64], vectors: [Float],
        sequence: Int64, threads: Int = 2, monitor: BuildMonitor = .none
    ) throws -> HNSWIndex {
        try parameters.validate()
        precondition(vectors.count == labels.count * parameters.dimension)
        let quantizer = vectors.withUnsafeBufferPointer {
            Quantizer.fitted(
                to: $0, dimension: parameters.dimension, fallbackRange: parameters.metric == .cosine ? 1 : 0)
        }
        let index = HNSWIndex(
            path: path, graph: try IndexFile.empty(parameters, quantizer: quantizer), sequence: sequence)
        try index.insertBatch(labels: labels, vectors: vectors, threads: threads, monitor: monitor)
        try index.checkpoint()
        return index
    }

    public var count: Int { lock.read { graph.liveCount } }
    /// Node slots in use, deleted ones included (what the file must hold).
    public var slotCount: Int { lock.read { graph.nodeCount } }

    // MARK: changes

    /// Inserts many rows at once, in parallel: the bulk path. A batch its monitor cancels throws
    /// `BuildCancelled` and leaves the graph holding part of the batch (`build` discards it).
    public func insertBatch(labels: [Int64], vectors: [Float], threads: Int, monitor: BuildMonitor = .none) throws {
        let (labels, vectors) = withoutDistance(labels: labels, vectors: vectors)
        try lock.write { try insertHoldingLock(labels: labels, vectors: vectors, threads: threads, monitor: monitor) }
    }

    /// Whether the metric gives `vector` no distance to anything (a zero vector under cosine).
    /// Such rows stay out of the graph, as rows with a NULL vector do, so every search ranks
    /// them after all rows with a distance — as the exact scan and SQL's NULLS LAST do.
    public func hasNoDistance(_ vector: UnsafeBufferPointer<Float>) -> Bool {
        parameters.metric == .cosine && !vector.contains { $0 != 0 }
    }

    /// The rows of a batch that have a distance (see `hasNoDistance`).
    private func withoutDistance(labels: [Int64], vectors: [Float]) -> ([Int64], [Float]) {
        let dimension = parameters.dimension
        let keep = vectors.withUnsafeBufferPointer { all in
            labels.indices.filter {
                !hasNoDistance(UnsafeBufferPointer(rebasing: all[($0 * dimension)..<(($0 + 1) * dimension)]))
            }
        }
        guard keep.count < labels.count else { return (labels, vectors) }
        var kept: [Float] = []
        kept.reserveCapacity(keep.count * dimension)
        for i in keep { kept += vectors[(i * dimension)..<((i + 1) * dimension)] }
        return (keep.map { labels[$0] }, kept)
    }

    /// The parallel insert; the caller holds the write lock.
    private func insertHoldingLock(labels: [Int64], vectors: [Float], threads: Int, monitor: BuildMonitor) throws {
        let dimension = parameters.dimension
        try graph.reserve(additional: labels.count)
        let workers = max(1, min(threads, labels.count / 1000 + 1))
        for region in [graph.nodes, graph.vectors, graph.upper] { region.allowsRelocation = workers == 1 }
        defer { for region in [graph.nodes, graph.vectors, graph.upper] { region.allowsRelocation = true } }
        let next = AtomicCounter()
        let failure = FailureBox()
        let reporting = NSLock()
        let graph = self.graph
        vectors.withUnsafeBufferPointer { buffer in
            nonisolated(unsafe) let base = buffer.baseAddress!
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                let scratch = SearchScratch(capacity: graph.nodeCount + labels.count, dimension: dimension)
                while true {
                    let i = next.increment()
                    guard i < labels.count, !failure.isSet else { break }
                    if i % 512 == 0 {
                        if monitor.isCancelled() {
                            failure.set(BuildCancelled())
                            break
                        }
                        reporting.withLock { monitor.progress(i, labels.count) }
                    }
                    do {
                        try graph.upsert(label: labels[i], vector: base + i * dimension, scratch: scratch)
                    } catch {
                        failure.set(error)
                    }
                }
            }
        }
        if let error = failure.error { throw error }
    }

    /// Applies row changes from the log: a vector inserts or replaces, nil deletes. Each label
    /// appears at most once. With `threads` > 1, a large batch inserts the labels the graph does
    /// not hold yet in parallel, as a bulk build does (after a big import, say); replacements and
    /// deletions stay sequential.
    public func apply(_ changes: [(label: Int64, vector: [Float]?)], through sequence: Int64, threads: Int = 1) throws {
        // A vector without a distance is applied as a deletion: the row leaves the graph.
        let changes = changes.map { change in
            (
                label: change.label,
                vector: change.vector.flatMap { v in v.withUnsafeBufferPointer { hasNoDistance($0) } ? nil : v }
            )
        }
        try lock.write {
            var sequential = changes
            if threads > 1, changes.count >= 2_000 {
                var labels: [Int64] = []
                var vectors: [Float] = []
                sequential = []
                for change in changes {
                    if let vector = change.vector, graph.labels.node(for: change.label) == nil {
                        labels.append(change.label)
                        vectors += vector
                    } else {
                        sequential.append(change)
                    }
                }
                // A backlog larger than the graph (an index created on an empty or small table)
                // is linked by walks over codes: fit the quantiser to it first, as a build does.
                if labels.count > graph.liveCount { graph.refitQuantizer(including: vectors) }
                try insertHoldingLock(labels: labels, vectors: vectors, threads: threads, monitor: .none)
            }
            let scratch = SearchScratch(capacity: graph.nodeCount + sequential.count, dimension: parameters.dimension)
            for change in sequential {
                if let vector = change.vector {
                    precondition(vector.count == parameters.dimension)
                    try vector.withUnsafeBufferPointer {
                        _ = try graph.upsert(label: change.label, vector: $0.baseAddress!, scratch: scratch)
                    }
                } else {
                    graph.delete(label: change.label)
                }
                // Refit as soon as too many rows fall outside the ranges, not after the batch:
                // the rest of it would be linked by walks over meaningless codes. (O(1) to ask.)
                if graph.quantizerNeedsRefit { graph.refitQuantizer() }
            }
            // A batch that touched a noticeable share of the graph gets the reachability check
            // (O(n), so not after every few rows; checkpoints always run it).
            if changes.count * 1000 >= graph.nodeCount { graph.repairReachability(scratch: scratch) }
            appliedSequence = max(appliedSequence, sequence)
        }
    }

    /// Writes the in-memory state as the new file.
    public func checkpoint() throws {
        try lock.write {
            if !graph.outliers.isEmpty { graph.refitQuantizer() }
            graph.repairReachability(scratch: SearchScratch(capacity: graph.nodeCount, dimension: parameters.dimension))
            try IndexFile.write(graph, appliedSequence: appliedSequence, to: path)
            checkpointSequence = appliedSequence
        }
    }

    /// Walks the whole graph and reports damage and unreachable nodes (O(n); not for hot paths).
    public func check() -> IndexCheckReport { lock.read { graph.check() } }

    // MARK: search

    /// Rows allowed by a filter, as the graph's node ids (built once per query from the rowids
    /// the filter selected), so that the walk tests membership with one bit.
    public final class AllowSet: @unchecked Sendable {
        // Raw storage: membership is tested once per node a walk meets, so no array checks.
        fileprivate let words: Int
        fileprivate let bits: UnsafeMutablePointer<UInt64>
        public fileprivate(set) var count = 0
        fileprivate init(nodes: Int) {
            words = (nodes + 63) / 64
            bits = .allocate(capacity: max(words, 1))
            bits.initialize(repeating: 0, count: max(words, 1))
        }
        deinit { bits.deallocate() }
        @inline(__always) fileprivate func contains(_ node: UInt32) -> Bool {
            let word = Int(node >> 6)
            return word < words && bits[word] & (1 << UInt64(node & 63)) != 0
        }

        /// Up to `limit` members spread evenly over the node ids: extra entry points for a walk
        /// that must stay on allowed nodes.
        fileprivate func spread(_ limit: Int) -> [UInt32] {
            guard count > 0 else { return [] }
            let every = max(1, count / limit)
            var seen = 0
            var picked: [UInt32] = []
            for w in 0..<words where bits[w] != 0 {
                var rest = bits[w]
                while rest != 0 {
                    let bit = rest.trailingZeroBitCount
                    rest &= rest - 1
                    if seen % every == 0, picked.count < limit { picked.append(UInt32(w * 64 + bit)) }
                    seen += 1
                }
            }
            return picked
        }
    }

    /// Up to `count` labels of live rows drawn at random (for estimating a filter's selectivity).
    public func sampleLabels(_ count: Int) -> [Int64] {
        lock.read {
            let n = graph.nodeCount
            guard n > 0 else { return [] }
            if n <= count { return (0..<UInt32(n)).filter { !graph.isDeleted($0) }.map { graph.label($0) } }
            var generator = SplitMix64(seed: UInt64(n) &* 0x9E37_79B9)
            var picked = Set<UInt32>()
            var attempts = 0
            while picked.count < count, attempts < count * 4 {
                attempts += 1
                let node = UInt32(generator.next() % UInt64(n))
                if !graph.isDeleted(node) { picked.insert(node) }
            }
            return picked.map { graph.label($0) }
        }
    }

    /// The allow-set for `labels` (rowids); labels the index does not hold are skipped.
    public func allowSet(labels: some Sequence<Int64>) -> AllowSet {
        lock.read {
            let set = AllowSet(nodes: graph.nodeCount)
            for label in labels {
                guard let node = graph.labels.node(for: label), Int(node) < graph.nodeCount else { continue }
                let word = Int(node >> 6)
                let bit = UInt64(1) << UInt64(node & 63)
                if set.bits[word] & bit == 0 {
                    set.bits[word] |= bit
                    set.count += 1
                }
            }
            return set
        }
    }

    /// Exact distances from `query` to every allowed row, computed from the index's own float32
    /// copies in blocks of `blockRows` (handed to `body` with their labels): exact search over a
    /// small allow-set without reading the rows' vectors back from the row store.
    public func forEachAllowedBlock(
        _ allowed: AllowSet, blockRows: Int = 1024,
        _ body: (UnsafePointer<Float>, [Int64], Int) -> Void
    ) {
        lock.read {
            let dimension = parameters.dimension
            var block = [Float](repeating: 0, count: blockRows * dimension)
            var labels: [Int64] = []
            labels.reserveCapacity(blockRows)
            func flush() {
                guard !labels.isEmpty else { return }
                block.withUnsafeBufferPointer { body($0.baseAddress!, labels, labels.count) }
                labels.removeAll(keepingCapacity: true)
            }
            for w in 0..<allowed.words where allowed.bits[w] != 0 {
                var rest = allowed.bits[w]
                while rest != 0 {
                    let node = UInt32(w * 64 + rest.trailingZeroBitCount)
                    rest &= rest - 1
                    guard Int(node) < graph.nodeCount, !graph.isDeleted(node) else { continue }
                    block.withUnsafeMutableBufferPointer {
                        ($0.baseAddress! + labels.count * dimension).update(from: graph.vector(node), count: dimension)
                    }
                    labels.append(graph.label(node))
                    if labels.count == blockRows { flush() }
                }
            }
            flush()
        }
    }

    /// The k nearest rows among an allow-set. `twoHop` walks only allowed nodes, looking past
    /// rejected neighbours to theirs (for selective filters); otherwise the walk routes through
    /// every node and keeps only allowed ones as results.
    public func search(_ query: [Float], k: Int, ef: Int, allowed: AllowSet, twoHop: Bool) -> (
        hits: [IndexHit], distances: Int
    ) {
        walk(query) { graph, q, scratch in
            graph.search(
                q, k: k, ef: ef, scratch: scratch,
                accept: { node in
                    allowed.contains(node) && !graph.isDeleted(node)
                }, twoHop: twoHop, seeds: twoHop ? allowed.spread(16) : [])
        }
    }

    /// The k nearest rows to `query`; `accept` (when given) limits which labels may be results.
    public func search(_ query: [Float], k: Int, ef: Int, accept: ((Int64) -> Bool)? = nil) -> (
        hits: [IndexHit], distances: Int
    ) {
        walk(query) { graph, q, scratch in
            guard let accept else { return graph.search(q, k: k, ef: ef, scratch: scratch) }
            return graph.search(q, k: k, ef: ef, scratch: scratch) { node in
                !graph.isDeleted(node) && accept(graph.label(node))
            }
        }
    }

    /// Runs one search under the read lock with a pooled scratch, and reports its hits as rows
    /// and distances as SQL does.
    @inline(__always)
    private func walk(
        _ query: [Float],
        _ search: (HNSWGraph, UnsafePointer<Float>, SearchScratch) -> [Candidate]
    ) -> (hits: [IndexHit], distances: Int) {
        precondition(query.count == parameters.dimension)
        let scratch = takeScratch()
        defer { returnScratch(scratch) }
        scratch.distanceCount = 0
        return lock.read {
            let graph = self.graph
            let found = query.withUnsafeBufferPointer { search(graph, $0.baseAddress!, scratch) }
            let hits = found.map {
                IndexHit(label: graph.label($0.node), distance: parameters.metric.reported(fromWalk: $0.distance))
            }
            return (hits, scratch.distanceCount)
        }
    }

    private func takeScratch() -> SearchScratch {
        poolLock.lock()
        defer { poolLock.unlock() }
        return scratchPool.popLast() ?? SearchScratch(capacity: graph.nodeCount, dimension: parameters.dimension)
    }

    private func returnScratch(_ scratch: SearchScratch) {
        poolLock.lock()
        scratchPool.append(scratch)
        poolLock.unlock()
    }
}

final class AtomicCounter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value - 1
    }
}

final class FailureBox: @unchecked Sendable {
    private(set) var error: Error?
    private let lock = NSLock()
    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return error != nil
    }
    func set(_ error: Error) {
        lock.lock()
        if self.error == nil { self.error = error }
        lock.unlock()
    }
}
