import Foundation
import QuiverIndex
import QuiverKernels
import Testing

@Suite struct HNSWIndexTests {
    let directory = TemporaryDirectory()

    /// Clustered random data: harder for a graph than uniform noise, closer to real embeddings.
    static func dataset(count: Int, dimension: Int, seed: UInt64) -> [[Float]] {
        var random = SeededRandom(seed: seed)
        let centres = (0..<20).map { _ in random.vector(dimension) }
        return (0..<count).map { _ in
            let centre = centres[Int(random.next() % 20)]
            return centre.map { $0 + Float.random(in: -0.4...0.4, using: &random) }
        }
    }

    static func recall(
        _ index: HNSWIndex, rows: [(id: Int64, vector: [Float])], queries: [[Float]], metric: DistanceMetric,
        k: Int = 10, ef: Int = 64
    ) -> Double {
        var hits = 0
        for query in queries {
            let truth = Set(bruteForce(rows, query: query, metric: metric, k: k).map(\.id))
            hits += index.search(query, k: k, ef: ef).hits.filter { truth.contains($0.label) }.count
        }
        return Double(hits) / Double(queries.count * k)
    }

    @Test(arguments: DistanceMetric.allCases)
    func recallAgainstExactSearch(metric: DistanceMetric) throws {
        var vectors = Self.dataset(count: 3000, dimension: 32, seed: 1)
        if metric == .innerProduct {
            // Inner product is used on (nearly) normalised embeddings; on raw magnitudes no
            // graph index, hnswlib included, keeps its recall.
            vectors = vectors.map { v in
                let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                return v.map { $0 / n }
            }
        }
        let rows = vectors.enumerated().map { (id: Int64($0.offset * 3 + 1), vector: $0.element) }
        let index = try HNSWIndex.build(
            path: directory.file("i.hnsw"),
            parameters: HNSWParameters(dimension: 32, metric: metric, m: 12, efConstruction: 80),
            labels: rows.map(\.id), vectors: vectors.flatMap { $0 }, sequence: 0, threads: 2)
        let queries = Self.dataset(count: 50, dimension: 32, seed: 2)
        let recall = Self.recall(index, rows: rows, queries: queries, metric: metric)
        #expect(recall >= 0.95, "recall@10 \(recall) for \(metric)")
        // Reported distances are the metric's.
        let hit = try #require(index.search(queries[0], k: 1, ef: 64).hits.first)
        let exact = PairDistance.precise(metric, rows.first { $0.id == hit.label }!.vector, queries[0])
        #expect(abs(Double(hit.distance) - exact) < 1e-3)
    }

    @Test func reopenedIndexAnswersTheSame() throws {
        let vectors = Self.dataset(count: 1500, dimension: 16, seed: 3)
        let path = directory.file("i.hnsw")
        let built = try HNSWIndex.build(
            path: path, parameters: HNSWParameters(dimension: 16, metric: .cosine),
            labels: (0..<1500).map { Int64($0) }, vectors: vectors.flatMap { $0 }, sequence: 41)
        let queries = Self.dataset(count: 20, dimension: 16, seed: 4)
        let before = queries.map { built.search($0, k: 10, ef: 50).hits }
        let reopened = try HNSWIndex.open(path: path)
        #expect(reopened.appliedSequence == 41)
        #expect(reopened.count == 1500)
        #expect(queries.map { reopened.search($0, k: 10, ef: 50).hits } == before)
    }

    @Test func deletesAndUpdatesNeverReturnOldVectors() throws {
        let dimension = 16
        var vectors = Self.dataset(count: 2000, dimension: dimension, seed: 5)
        let path = directory.file("i.hnsw")
        let index = try HNSWIndex.build(
            path: path, parameters: HNSWParameters(dimension: dimension, metric: .l2),
            labels: (0..<2000).map { Int64($0) }, vectors: vectors.flatMap { $0 }, sequence: 0)
        // Delete every third row, move every fifth elsewhere.
        var random = SeededRandom(seed: 6)
        var changes: [(label: Int64, vector: [Float]?)] = []
        var live: [Int64: [Float]] = [:]
        for id in 0..<2000 {
            if id % 3 == 0 {
                changes.append((Int64(id), nil))
            } else if id % 5 == 0 {
                vectors[id] = random.vector(dimension).map { $0 * 3 }
                changes.append((Int64(id), vectors[id]))
                live[Int64(id)] = vectors[id]
            } else {
                live[Int64(id)] = vectors[id]
            }
        }
        try index.apply(changes, through: 10)
        #expect(index.count == live.count)
        let rows = live.map { (id: $0.key, vector: $0.value) }
        let queries =
            Self.dataset(count: 30, dimension: dimension, seed: 7)
            + (0..<10).map { _ in random.vector(dimension).map { $0 * 3 } }
        for query in queries {
            for hit in index.search(query, k: 10, ef: 80).hits {
                let stored = try #require(live[hit.label], "deleted row \(hit.label) returned")
                #expect(
                    abs(Double(hit.distance) - PairDistance.precise(.l2, stored, query)) < 1e-3,
                    "row \(hit.label) ranked by an old vector")
            }
        }
        #expect(Self.recall(index, rows: rows, queries: queries, metric: .l2, ef: 80) >= 0.9)
        // Deleted slots are reused: inserting as many rows as were deleted does not grow the graph.
        let slots = index.slotCount
        let fresh = (0..<666).map { (label: Int64(10_000 + $0), vector: Optional(random.vector(dimension))) }
        try index.apply(fresh, through: 11)
        #expect(index.slotCount == slots)
        #expect(index.count == live.count + 666)
        // And all of that survives a checkpoint and reopen.
        try index.checkpoint()
        let reopened = try HNSWIndex.open(path: path)
        #expect(reopened.count == index.count)
        #expect(reopened.appliedSequence == 11)
        let query = try #require(fresh.first?.vector)
        #expect(reopened.search(query, k: 1, ef: 64).hits.first?.label == 10_000)
    }

    @Test func damagedFilesGiveClearErrors() throws {
        let path = directory.file("i.hnsw")
        _ = try HNSWIndex.build(
            path: path, parameters: HNSWParameters(dimension: 8, metric: .cosine),
            labels: (0..<300).map { Int64($0) },
            vectors: Self.dataset(count: 300, dimension: 8, seed: 8).flatMap { $0 }, sequence: 0)
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        func expectFailure(_ data: Data, _ message: String) throws {
            try data.write(to: URL(fileURLWithPath: path))
            #expect { try HNSWIndex.open(path: path) } throws: { error in
                let text = "\(error)"
                return text.contains(message) && text.contains("REINDEX")
            }
        }
        try expectFailure(Data(), "too short")
        try expectFailure(good.prefix(5000), "inconsistent")
        var foreign = good
        foreign[0] = UInt8(ascii: "X")
        try expectFailure(foreign, "not a Quiver HNSW index")
        var newer = good
        newer[8] = 9
        try expectFailure(newer, "version 9")
        var flipped = good
        flipped[40] ^= 1
        try expectFailure(flipped, "checksum")
        // Damage in the graph body (not the header) is caught by the region checksums.
        var body = good
        for i in stride(from: 4096, to: min(body.count, 4096 + 300 * 128), by: 7) { body[i] = 0xFF }
        try expectFailure(body, "damaged")
    }
}
