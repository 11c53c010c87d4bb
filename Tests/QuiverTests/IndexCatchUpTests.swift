import Foundation
import QuiverIndex
import QuiverKernels
import Testing

/// Replaying a large change log into an index on several threads (what follows a big import
/// that did not rebuild the index) must leave the same graph contents as one thread would.
@Suite struct IndexCatchUpTests {
    let directory = TemporaryDirectory()

    @Test func largeParallelCatchUpInsertsUpdatesAndDeletes() throws {
        let dimension = 24
        let base = HNSWIndexTests.dataset(count: 2_000, dimension: dimension, seed: 5)
        let index = try HNSWIndex.build(
            path: directory.file("i.hnsw"),
            parameters: HNSWParameters(dimension: dimension, metric: .l2, m: 12, efConstruction: 64),
            labels: (0..<2_000).map(Int64.init), vectors: base.flatMap { $0 }, sequence: 0, threads: 2)
        var expected = Dictionary(uniqueKeysWithValues: base.enumerated().map { (Int64($0.offset), $0.element) })
        // 4,000 new labels, 300 replaced vectors, 200 deletions, in one batch applied on 2 threads.
        let fresh = HNSWIndexTests.dataset(count: 4_300, dimension: dimension, seed: 6)
        var changes: [(label: Int64, vector: [Float]?)] = []
        for i in 0..<4_000 {
            changes.append((Int64(10_000 + i), fresh[i]))
            expected[Int64(10_000 + i)] = fresh[i]
        }
        for i in 0..<300 {
            changes.append((Int64(i), fresh[4_000 + i]))
            expected[Int64(i)] = fresh[4_000 + i]
        }
        for i in 500..<700 {
            changes.append((Int64(i), nil))
            expected[Int64(i)] = nil
        }
        try index.apply(changes, through: 1, threads: 2)

        #expect(index.count == expected.count)
        #expect(index.appliedSequence == 1)
        var misses = 0
        for (label, vector) in expected where label % 7 == 0 {
            if index.search(vector, k: 1, ef: 64).hits.first?.label != label { misses += 1 }
        }
        #expect(misses <= expected.count / 7 / 100, "\(misses) rows not found by their own vector")
        for i in 500..<700 {
            #expect(
                !index.search(base[i], k: 5, ef: 64).hits.contains { $0.label == Int64(i) },
                "deleted row \(i) came back")
        }
        // Replaced rows answer with their new vector, never the old one.
        for i in stride(from: 0, to: 300, by: 10) {
            let hit = try #require(index.search(fresh[4_000 + i], k: 1, ef: 64).hits.first)
            #expect(hit.label == Int64(i) && hit.distance < 1e-3)
        }
        let report = index.check()
        #expect(
            report.live == expected.count && report.danglingLinks == 0 && report.staleCodes == 0
                && report.unreachable == 0, "\(report)")
    }

    /// An index created on an empty table has a quantiser fitted to nothing; a new process then
    /// replays the whole log since that checkpoint in one batch (a restarted server, say). The
    /// batch must not be linked by walks over those meaningless codes: own-vector searches find
    /// their rows as in a built index (before the fix, about 9% of them missed at ef 40).
    @Test(arguments: [(1_400, 1), (3_000, 2)])
    func aBacklogReplayedIntoAnIndexCreatedEmptyIsSearchable(rows: Int, threads: Int) throws {
        let dimension = 16
        let index = try HNSWIndex.build(
            path: directory.file("empty-\(threads).hnsw"),
            parameters: HNSWParameters(dimension: dimension, metric: .l2, m: 12, efConstruction: 48),
            labels: [], vectors: [], sequence: 0)
        let vectors = HNSWIndexTests.dataset(count: rows, dimension: dimension, seed: 9)
        try index.apply(vectors.enumerated().map { (Int64($0.offset), $0.element) }, through: 1, threads: threads)
        var misses = 0
        for (label, vector) in vectors.enumerated()
        where !index.search(vector, k: 3, ef: 40).hits.contains(where: { $0.label == Int64(label) }) {
            misses += 1
        }
        #expect(misses * 100 <= rows, "\(misses) of \(rows) rows not found by their own vector")
    }
}
