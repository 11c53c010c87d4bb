import Foundation
import QuiverEngine
import QuiverIndex
import QuiverKernels
import QuiverStorage
import Testing

/// A table `items(id INTEGER PRIMARY KEY, tag TEXT, emb VECTOR(d))` of clustered vectors and
/// the model of what it holds, for checking index answers against brute force.
final class IndexedItems {
    let directory: TemporaryDirectory
    let path: String
    var db: Database
    let dimension: Int
    /// What the table holds: id → vector (rows with a NULL vector are absent).
    var rows: [Int64: [Float]] = [:]

    init(count: Int, dimension: Int, seed: UInt64, normalised: Bool = false) throws {
        directory = TemporaryDirectory("quiver-index-sql")
        path = directory.file("db")
        self.dimension = dimension
        db = try Database(path: path)
        _ = try db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, tag TEXT, emb VECTOR(\(dimension)))")
        let vectors = clusteredVectors(count: count, dimension: dimension, seed: seed, normalised: normalised)
        for (i, v) in vectors.enumerated() { rows[Int64(i + 1)] = v }
        try db.executeMany(
            "INSERT INTO items VALUES (?, ?, ?)",
            vectors.enumerated().map {
                SQLBindings([.integer(Int64($0.offset + 1)), .text("t\($0.offset % 5)"), .vector($0.element)])
            })
    }

    var indexesPath: String { indexFolder(path) }
    var list: [(id: Int64, vector: [Float])] { rows.map { ($0.key, $0.value) } }

    func createIndex(
        _ metric: DistanceMetric, name: String = "ix", options: String = "WITH (m = 16, ef_construction = 64)"
    ) throws {
        _ = try db.execute("CREATE INDEX \(name) ON items USING hnsw (emb \(metric.operatorClass)) \(options)")
    }

    func truth(_ query: [Float], _ metric: DistanceMetric, k: Int) -> [Int64] {
        bruteForce(list, query: query, metric: metric, k: k).map(\.id)
    }

    /// The index's raw labels for `queries` through BatchSearch (no SQL filtering of the hits).
    func indexKeys(_ queries: [[Float]], _ metric: DistanceMetric, k: Int, ef: Int = IndexSQLTests.ef) throws -> (
        keys: [[Int64]], strategy: String
    ) {
        let outcome = try BatchSearch(table: "items", column: "emb", k: k, metric: metric, ef: ef)
            .run(on: db, queries: queries.flatMap { $0 }, queryCount: queries.count)
        return ((0..<queries.count).map { Array(outcome.keys[($0 * k)..<(($0 + 1) * k)]) }, outcome.strategy)
    }

    func exactKeys(_ queries: [[Float]], _ metric: DistanceMetric, k: Int) throws -> [[Int64]] {
        let outcome = try BatchSearch(table: "items", column: "emb", k: k, metric: metric, exact: true)
            .run(on: db, queries: queries.flatMap { $0 }, queryCount: queries.count)
        #expect(outcome.strategy == "exact scan")
        return (0..<queries.count).map { Array(outcome.keys[($0 * k)..<(($0 + 1) * k)]) }
    }
}

extension DistanceMetric {
    var operatorClass: String {
        switch self {
        case .l2: "vector_l2_ops"
        case .cosine: "vector_cosine_ops"
        case .innerProduct: "vector_ip_ops"
        }
    }
}

/// Vector indexes through SQL: CREATE/DROP/REINDEX INDEX … USING hnsw, the change log, the
/// ef_search settings, reopening, damaged files.
@Suite struct IndexSQLTests {
    /// The ef_search at which recall@10 must reach 0.95 on these data sets (2,000–4,000 clustered
    /// vectors of 8–32 dimensions, m = 16, ef_construction = 64). Measured on this build at
    /// dimension 32: about 0.93 at ef 64, 0.975 at ef 100, 0.995 at ef 200.
    static let ef = 100

    // MARK: - 1. CREATE INDEX, recall, fallbacks, syntax errors

    @Test(arguments: DistanceMetric.allCases)
    func createIndexThenQueriesUseItWithHighRecall(metric: DistanceMetric) throws {
        let items = try IndexedItems(count: 3000, dimension: 24, seed: 11, normalised: metric == .innerProduct)
        try items.createIndex(metric)
        #expect(try items.db.indexRecords().map(\.name) == ["ix"])
        #expect(filesInIndexFolder(items.path).count == 1)
        _ = try items.db.execute("SET hnsw.ef_search = \(Self.ef)")
        let queries = clusteredVectors(count: 40, dimension: 24, seed: 12, normalised: metric == .innerProduct)
        var found: [[Int64]] = []
        var truth: [[Int64]] = []
        for query in queries {
            let result = try items.db.nearest(query, metric: metric, k: 10)
            #expect(items.db.lastReport.strategy == .hnsw)
            #expect(items.db.lastReport.efSearch == Self.ef)
            #expect(result.count == 10)
            // Distances are those of the stored vectors, in order.
            for row in result {
                let exact = PairDistance.precise(metric, try #require(items.rows[row.id]), query)
                #expect(abs(row.distance - exact) <= 1e-9 * max(1, abs(exact)))
            }
            #expect(result.map(\.distance) == result.map(\.distance).sorted())
            found.append(result.map(\.id))
            truth.append(items.truth(query, metric, k: 10))
        }
        let recall = recallOf(found: found, truth: truth)
        #expect(recall >= 0.95, "SQL recall@10 at ef \(Self.ef) for \(metric): \(recall)")

        // The batch interface: index versus its own exact oracle.
        let (keys, strategy) = try items.indexKeys(queries, metric, k: 10)
        #expect(strategy == "hnsw index")
        let exact = try items.exactKeys(queries, metric, k: 10)
        #expect(exact == truth)
        let batchRecall = recallOf(found: keys, truth: exact)
        #expect(batchRecall >= 0.95, "BatchSearch recall@10 at ef \(Self.ef) for \(metric): \(batchRecall)")
    }

    @Test func metricMismatchFallsBackToTheExactScan() throws {
        let items = try IndexedItems(count: 2000, dimension: 16, seed: 21)
        try items.createIndex(.cosine)
        let queries = clusteredVectors(count: 10, dimension: 16, seed: 22)
        for query in queries {
            for metric in [DistanceMetric.l2, .innerProduct] {
                let result = try items.db.nearest(query, metric: metric, k: 10)
                #expect(items.db.lastReport.strategy == .exactScan, "\(metric) on a cosine index")
                #expect(result.map(\.id) == items.truth(query, metric, k: 10))
            }
            _ = try items.db.nearest(query, metric: .cosine, k: 10)
            #expect(items.db.lastReport.strategy == .hnsw)
        }
        // A filtered query with another metric than the index's: the exact scan, exact answers.
        let query = queries[0]
        let filtered = try items.db.integers(
            "SELECT id FROM items WHERE tag = 't1' ORDER BY emb <-> ? LIMIT 10", SQLBindings([.vector(query)]))
        #expect(items.db.lastReport.strategy == .exactScan)
        #expect(
            filtered
                == bruteForce(items.list.filter { ($0.id - 1) % 5 == 1 }, query: query, metric: .l2, k: 10).map(\.id))
    }

    static let badStatements: [(sql: String, message: String)] = [
        ("CREATE INDEX ix ON items USING hnsw (emb vector_hamming_ops)", "unknown operator class"),
        ("CREATE INDEX ix ON items USING hnsw (emb cosine)", "unknown operator class"),
        ("CREATE INDEX ix ON items USING ivfflat (emb vector_l2_ops)", "unknown index method"),
        ("CREATE INDEX ix ON items USING hnsw (emb vector_l2_ops) WITH (lists = 100)", "unknown hnsw option"),
        ("CREATE INDEX ix ON items USING hnsw (emb vector_l2_ops) WITH (m = sixteen)", "name = integer"),
        ("CREATE INDEX ix ON items USING hnsw (emb vector_l2_ops) WITH (m = 1)", "m must be between 2 and 100"),
        ("CREATE INDEX ix ON items USING hnsw (emb vector_l2_ops) WITH (m = 101)", "m must be between 2 and 100"),
        (
            "CREATE INDEX ix ON items USING hnsw (emb vector_l2_ops) WITH (m = 16, ef_construction = 3)",
            "ef_construction"
        ),
        (
            "CREATE INDEX ix ON items USING hnsw (emb vector_l2_ops) WITH (m = 16, ef_construction = 5000)",
            "ef_construction"
        ),
        ("CREATE INDEX ix ON items USING hnsw (emb vector_l2_ops) m = 16", "WITH"),
        ("CREATE INDEX ix ON items USING hnsw (tag)", "needs a VECTOR column"),
        ("CREATE INDEX ix ON nowhere USING hnsw (emb)", "no such table"),
        ("CREATE INDEX ix ON items USING hnsw (nothing)", "no such column"),
    ]

    @Test(arguments: badStatements)
    func badCreateIndexGivesAClearErrorAndCreatesNothing(sql: String, message: String) throws {
        let items = try IndexedItems(count: 300, dimension: 8, seed: 31)
        let error = try #require(throws: (any Error).self) { try items.db.execute(sql) }
        #expect("\(error)".contains(message), "\(sql) → \(error)")
        #expect(try items.db.indexRecords().isEmpty)
        #expect(filesInIndexFolder(items.path).isEmpty)
        #expect(try items.db.logTriggerNames().isEmpty)
        #expect(items.db.catalog.indexes.isEmpty)
        _ = try items.db.nearest(items.rows[1]!, metric: .l2, k: 5)
        #expect(items.db.lastReport.strategy == .exactScan)
    }

    @Test func duplicateIndexNamesAreRefused() throws {
        let items = try IndexedItems(count: 300, dimension: 8, seed: 32)
        try items.createIndex(.l2)
        let error = try #require(throws: (any Error).self) { try items.createIndex(.cosine) }
        #expect("\(error)".contains("already exists"))
        _ = try items.db.execute("CREATE INDEX IF NOT EXISTS ix ON items USING hnsw (emb vector_cosine_ops)")
        #expect(try items.db.indexRecords().map(\.metric) == ["l2"])
        #expect(filesInIndexFolder(items.path).count == 1)
    }

    /// A script whose CREATE INDEX succeeded but whose later statement failed is rolled back
    /// whole: no record and no file may remain once `execute` has thrown.
    @Test func failedScriptLeavesNoIndexFile() throws {
        let items = try IndexedItems(count: 500, dimension: 8, seed: 33)
        #expect(throws: (any Error).self) {
            try items.db.execute(
                "CREATE INDEX ix ON items USING hnsw (emb vector_l2_ops); SELECT no_such_column FROM items")
        }
        #expect(try items.db.indexRecords().isEmpty)
        #expect(items.db.catalog.indexes.isEmpty)
        #expect(
            filesInIndexFolder(items.path).isEmpty,
            "orphan index file after a rolled-back CREATE INDEX: \(filesInIndexFolder(items.path))")
    }

    @Test func failedCLIScriptLeavesNoIndexFile() throws {
        let items = try IndexedItems(count: 500, dimension: 8, seed: 34)
        let outcome = try QuiverBinary.run([
            "sql", "--db", items.path,
            "CREATE INDEX ix ON items USING hnsw (emb vector_l2_ops); SELECT no_such_column FROM items",
        ])
        #expect(outcome.status == 1 && outcome.stderr.contains("no_such_column"), "\(outcome)")
        #expect(try items.db.indexRecords().isEmpty)
        #expect(
            filesInIndexFolder(items.path).isEmpty,
            "orphan index file after quiver sql rolled back CREATE INDEX: \(filesInIndexFolder(items.path))")
    }

    // MARK: - 2. Writes after CREATE INDEX

    @Test func insertsUpdatesAndDeletesReachTheIndex() throws {
        let items = try IndexedItems(count: 2000, dimension: 16, seed: 41)
        try items.createIndex(.l2)
        _ = try items.db.execute("SET hnsw.ef_search = \(Self.ef)")
        // New vectors come from the same distribution (other seeds): see outOfRangeVectors… for far ones.
        var pool = clusteredVectors(count: 200, dimension: 16, seed: 42)
        func another() -> [Float] { pool.removeLast() }
        // Warm the index (it is caught up from the log from here on).
        _ = try items.db.nearest(items.rows[1]!, metric: .l2, k: 10)
        #expect(items.db.lastReport.strategy == .hnsw)

        let deleted: [Int64] = stride(from: 3, to: 2000, by: 97).map { Int64($0) }
        var oldVectors: [Int64: [Float]] = [:]
        for id in deleted { oldVectors[id] = items.rows.removeValue(forKey: id) }
        _ = try items.db.execute("DELETE FROM items WHERE id IN (\(deleted.map(String.init).joined(separator: ",")))")

        let updated: [Int64] = stride(from: 10, to: 2000, by: 101).map { Int64($0) }
        for id in updated {
            oldVectors[id] = items.rows[id]
            let v = another()
            items.rows[id] = v
            _ = try items.db.execute("UPDATE items SET emb = ? WHERE id = ?", SQLBindings([.vector(v), .integer(id)]))
        }
        let inserted: [Int64] = (10_001...10_040).map { Int64($0) }
        let newVectors = clusteredVectors(count: inserted.count, dimension: 16, seed: 43)
        for (id, v) in zip(inserted, newVectors) { items.rows[id] = v }
        _ = try items.db.execute(
            "INSERT INTO items (id, tag, emb) VALUES "
                + zip(inserted, newVectors).map { "(\($0), 'new', '\(vectorLiteral($1))')" }.joined(separator: ", "))

        // A primary-key change moves the row: the old id must vanish from the index.
        let moved: [Int64] = [20, 21, 22, 23]
        for id in moved { items.rows[id + 50_000] = items.rows.removeValue(forKey: id) }
        _ = try items.db.execute("UPDATE items SET id = id + 50000 WHERE id IN (20, 21, 22, 23)")
        // A vector set to NULL leaves the index.
        let nulled: [Int64] = [30, 31, 32]
        for id in nulled { oldVectors[id] = items.rows.removeValue(forKey: id) }
        _ = try items.db.execute("UPDATE items SET emb = NULL WHERE id IN (30, 31, 32)")
        // Deleted and reinserted under the same id with another vector.
        let reborn: [Int64] = [40, 41]
        for id in reborn {
            oldVectors[id] = items.rows[id]
            let v = another()
            items.rows[id] = v
            _ = try items.db.execute(
                "DELETE FROM items WHERE id = :id; INSERT INTO items VALUES (:id, 'again', :v)",
                SQLBindings(named: ["id": .integer(id), "v": .vector(v)]))
        }

        // Deleted, nulled and moved-away ids never come back; neither through SQL nor as raw labels.
        let gone = Set(deleted + nulled + moved)
        let probes = (deleted + nulled + moved.map { $0 + 50_000 }).compactMap { oldVectors[$0] ?? items.rows[$0] }
        let (probeKeys, strategy) = try items.indexKeys(probes, .l2, k: 10)
        #expect(strategy == "hnsw index")
        for keys in probeKeys {
            #expect(keys.allSatisfy { !gone.contains($0) && ($0 == -1 || items.rows[$0] != nil) }, "\(keys)")
        }
        for probe in probes {
            let result = try items.db.nearest(probe, metric: .l2, k: 10)
            #expect(items.db.lastReport.strategy == .hnsw)
            #expect(result.count == 10, "a deleted row took a place among the hits")
            #expect(result.allSatisfy { !gone.contains($0.id) })
        }
        // Updated (and reborn) rows: found by the new vector at distance 0, never by the old one.
        for id in updated + reborn {
            let top = try items.db.nearest(items.rows[id]!, metric: .l2, k: 1)
            #expect(items.db.lastReport.strategy == .hnsw)
            #expect(top.first?.id == id && abs(top.first?.distance ?? 1) < 1e-6, "row \(id) by its new vector: \(top)")
            // By its old vector it may only appear where its new vector ranks it.
            let old = oldVectors[id]!
            let rightful = items.truth(old, .l2, k: 10).contains(id)
            let (keys, _) = try items.indexKeys([old], .l2, k: 10)
            #expect(rightful || !keys[0].contains(id), "row \(id) still ranked by its old vector")
            for row in try items.db.nearest(old, metric: .l2, k: 10) {
                #expect(rightful || row.id != id)
                #expect(abs(row.distance - PairDistance.precise(.l2, items.rows[row.id]!, old)) < 1e-9)
            }
        }
        // New and moved rows are found by their own vectors.
        for id in inserted + moved.map({ $0 + 50_000 }) {
            let top = try items.db.nearest(items.rows[id]!, metric: .l2, k: 1)
            #expect(top.first?.id == id && abs(top.first?.distance ?? 1) < 1e-6, "row \(id): \(top)")
        }
        // Overall recall after the changes.
        let queries = clusteredVectors(count: 30, dimension: 16, seed: 44)
        let (keys, _) = try items.indexKeys(queries, .l2, k: 10)
        let truth = queries.map { items.truth($0, .l2, k: 10) }
        #expect(try items.exactKeys(queries, .l2, k: 10) == truth)
        #expect(recallOf(found: keys, truth: truth) >= 0.95)
    }

    /// Rows whose vectors lie outside the range of the data the index was built on (a new
    /// cluster, an update that moves a row far away) must be found like any other.
    @Test func outOfRangeVectorsAreFoundByTheirOwnVector() throws {
        let items = try IndexedItems(count: 2000, dimension: 16, seed: 45)
        try items.createIndex(.l2)
        _ = try items.db.nearest(items.rows[1]!, metric: .l2, k: 10)
        var random = SeededRandom(seed: 46)
        var far: [Int64: [Float]] = [:]
        for id in Int64(30_001)...30_003 { far[id] = (0..<16).map { _ in Float.random(in: 4...6, using: &random) } }
        for id in Int64(11)...13 { far[id] = (0..<16).map { _ in Float.random(in: -6 ... -4, using: &random) } }
        for (id, v) in far.sorted(by: { $0.key < $1.key }) {
            _ = try items.db.execute(
                "INSERT OR REPLACE INTO items VALUES (?, 'far', ?)", SQLBindings([.integer(id), .vector(v)]))
            items.rows[id] = v
        }
        for (id, v) in far.sorted(by: { $0.key < $1.key }) {
            let top = try items.db.nearest(v, metric: .l2, k: 1)
            #expect(items.db.lastReport.strategy == .hnsw)
            #expect(
                top.first?.id == id && top.first?.distance == 0,
                "row \(id) by its own (out-of-range) vector at ef 40: \(top)")
            let hinted = try items.db.nearest(v, metric: .l2, k: 1, hint: "/*+ hnsw.ef_search = 500 */ ")
            #expect(hinted.first?.id == id, "row \(id) by its own (out-of-range) vector at ef 500: \(hinted)")
        }
    }

    @Test func aTransactionThatWroteReadsItsOwnWritesExactly() throws {
        let items = try IndexedItems(count: 2000, dimension: 16, seed: 51)
        try items.createIndex(.l2)
        _ = try items.db.execute("SET hnsw.ef_search = \(Self.ef)")
        let queries = clusteredVectors(count: 20, dimension: 16, seed: 52)
        let before = try queries.map { try items.db.nearest($0, metric: .l2, k: 10).map(\.id) }
        let beforeKeys = try items.indexKeys(queries, .l2, k: 10).keys
        let extra = clusteredVectors(count: 2, dimension: 16, seed: 53)
        let newVector = extra[0]
        let moved = extra[1]

        _ = try items.db.execute("BEGIN")
        // Before any write the index still answers inside the transaction.
        _ = try items.db.nearest(queries[0], metric: .l2, k: 10)
        #expect(items.db.lastReport.strategy == .hnsw)
        _ = try items.db.execute("INSERT INTO items VALUES (90001, 'tx', ?)", SQLBindings([.vector(newVector)]))
        var top = try items.db.nearest(newVector, metric: .l2, k: 1)
        #expect(top.first?.id == 90001 && top.first?.distance == 0)
        #expect(items.db.lastReport.strategy == .exactScan)
        _ = try items.db.execute("DELETE FROM items WHERE id = 7")
        #expect(try items.db.nearest(items.rows[7]!, metric: .l2, k: 10).allSatisfy { $0.id != 7 })
        _ = try items.db.execute("UPDATE items SET emb = ? WHERE id = 8", SQLBindings([.vector(moved)]))
        top = try items.db.nearest(moved, metric: .l2, k: 1)
        #expect(top.first?.id == 8 && top.first?.distance == 0)
        #expect(try items.db.nearest(items.rows[8]!, metric: .l2, k: 10).allSatisfy { $0.id != 8 })
        // The exact answer over the transaction's own rows.
        var inside = items.rows
        inside[90001] = newVector
        inside[7] = nil
        inside[8] = moved
        for query in queries.prefix(5) {
            #expect(
                try items.db.nearest(query, metric: .l2, k: 10).map(\.id)
                    == bruteForce(inside.map { ($0.key, $0.value) }, query: query, metric: .l2, k: 10).map(\.id))
            #expect(items.db.lastReport.strategy == .exactScan)
        }
        let (insideKeys, insideStrategy) = try items.indexKeys([newVector], .l2, k: 1)
        #expect(insideStrategy == "exact scan" && insideKeys == [[90001]])
        _ = try items.db.execute("ROLLBACK")

        // After the rollback the index answers exactly as before.
        let after = try queries.map { try items.db.nearest($0, metric: .l2, k: 10).map(\.id) }
        #expect(items.db.lastReport.strategy == .hnsw)
        #expect(after == before)
        #expect(try items.indexKeys(queries, .l2, k: 10).keys == beforeKeys)
        #expect(try items.db.nearest(newVector, metric: .l2, k: 3).allSatisfy { $0.id != 90001 })
        #expect(try items.db.nearest(items.rows[7]!, metric: .l2, k: 1).first?.id == 7)
        #expect(try items.db.nearest(items.rows[8]!, metric: .l2, k: 1).first?.id == 8)
        #expect(!(try items.indexKeys([newVector, moved], .l2, k: 5).keys.joined().contains(90001)))

        // The same transaction committed reaches the index.
        _ = try items.db.execute(
            "BEGIN; INSERT INTO items VALUES (90001, 'tx', ?); DELETE FROM items WHERE id = 7; COMMIT",
            SQLBindings([.vector(newVector)]))
        top = try items.db.nearest(newVector, metric: .l2, k: 1)
        #expect(items.db.lastReport.strategy == .hnsw)
        #expect(top.first?.id == 90001)
        #expect(!(try items.indexKeys([items.rows[7]!], .l2, k: 10).keys[0].contains(7)))
    }

    // MARK: - 3. Churn

    @Test func churnKeepsTheIndexFileBoundedAndTheGraphWhole() throws {
        let live = 1200
        let items = try IndexedItems(count: live, dimension: 8, seed: 61)
        try items.createIndex(.l2)
        let record = try #require(try items.db.indexRecords().first)
        let path = (items.indexesPath as NSString).appendingPathComponent(record.file)
        let initialSize = fileSize(path)
        #expect(initialSize > 0)
        var random = SeededRandom(seed: 62)
        var nextId: Int64 = 100_000
        var checkpoints = 0
        var lastCheckpoint = record.checkpointSequence
        // Delete and insert the same number of rows, round after round, querying in between
        // (which replays the log) until several checkpoints have been written.
        var round = 0
        while round < 80 && checkpoints < 2 {
            round += 1
            let victims = Array(items.rows.keys.shuffled(using: &random).prefix(250))
            for id in victims { items.rows[id] = nil }
            _ = try items.db.execute(
                "DELETE FROM items WHERE id IN (\(victims.map(String.init).joined(separator: ",")))")
            let fresh = clusteredVectors(count: 250, dimension: 8, seed: 1000 + UInt64(round))
            var bindings: [SQLBindings] = []
            for v in fresh {
                items.rows[nextId] = v
                bindings.append(SQLBindings([.integer(nextId), .text("churn"), .vector(v)]))
                nextId += 1
            }
            try items.db.executeMany("INSERT INTO items VALUES (?, ?, ?)", bindings)
            _ = try items.db.nearest(fresh[0], metric: .l2, k: 10)
            #expect(items.db.lastReport.strategy == .hnsw)
            let now = try #require(try items.db.indexRecords().first)
            #expect(now.file == record.file, "a checkpoint must not rebuild the index under a new file")
            if now.checkpointSequence != lastCheckpoint {
                checkpoints += 1
                lastCheckpoint = now.checkpointSequence
            }
        }
        try #require(checkpoints >= 2, "no checkpoint after \(round) rounds of churn")
        #expect(items.rows.count == live)
        // The log was trimmed at the checkpoint.
        #expect(try items.db.integers("SELECT count(*) FROM _quiver_changes")[0] < 10_000)

        // Freed slots are reused: the checkpoint file holds about `live` slots, not one per insert.
        let size = fileSize(path)
        #expect(
            size <= initialSize * 2, "index file grew from \(initialSize) to \(size) bytes with a constant row count")
        let opened = try HNSWIndex.open(path: path)
        #expect(opened.appliedSequence == lastCheckpoint)
        #expect(opened.slotCount <= 2 * live, "slots \(opened.slotCount) for \(live) live rows")
        let report = opened.check()
        #expect(report.danglingLinks == 0, "\(report)")
        #expect(report.unreachable == 0, "\(report)")
        #expect(report.live == opened.count)

        // And the live index still finds what is there, and only that.
        let sample = Array(items.rows.keys.sorted().shuffled(using: &random).prefix(200))
        let (keys, strategy) = try items.indexKeys(sample.map { items.rows[$0]! }, .l2, k: 3)
        #expect(strategy == "hnsw index")
        let foundOwn = zip(sample, keys).filter { $1.contains($0) }.count
        // An approximate graph: at most 0.5% (at least 2) of the rows may be missed by their own vector.
        #expect(
            foundOwn >= sample.count - CrashTests.tolerableMisses(sample.count),
            "\(sample.count - foundOwn) live rows not found by their own vector")
        #expect(keys.joined().allSatisfy { $0 == -1 || items.rows[$0] != nil })
        let queries = clusteredVectors(count: 30, dimension: 8, seed: 63)
        #expect(
            recallOf(
                found: try items.indexKeys(queries, .l2, k: 10).keys, truth: queries.map { items.truth($0, .l2, k: 10) }
            ) >= 0.95)
    }

    /// Updates, deletes and inserts replayed in batches (what a catch-up or a checkpoint does)
    /// must keep every live node reachable from the entry point and findable by its own vector
    /// at a generous ef (256 on fewer than 1,000 nodes). Built single-threaded so that the
    /// graph, and so this test, is deterministic.
    @Test(arguments: [UInt64(1), 2]) func updateChurnKeepsEveryLiveNodeReachable(seed: UInt64) throws {
        let directory = TemporaryDirectory("quiver-update-churn")
        var random = SeededRandom(seed: seed)
        var versions: [Int64: Int64] = [:]
        func vector(_ id: Int64) -> [Float] { CrashTests.vector(id: id, version: versions[id]!) }
        var nextId: Int64 = 0
        for _ in 0..<900 {
            versions[nextId] = 0
            nextId += 1
        }
        let ids = versions.keys.sorted()
        let index = try HNSWIndex.build(
            path: directory.file("i.hnsw"),
            parameters: HNSWParameters(dimension: 8, metric: .l2, m: 12, efConstruction: 48),
            labels: ids, vectors: ids.flatMap(vector), sequence: 0, threads: 1)
        #expect(index.check().unreachable == 0)
        for batch in 1...6 {
            var changes: [(label: Int64, vector: [Float]?)] = []
            for _ in 0..<600 {
                let roll = random.next() % 10
                let keys = versions.keys.sorted()
                if roll < 5 {
                    let id = keys[Int(random.next() % UInt64(keys.count))]
                    versions[id]! += 1
                    changes.append((id, vector(id)))
                } else if roll < 7 || versions.count < 600 {
                    versions[nextId] = 0
                    changes.append((nextId, vector(nextId)))
                    nextId += 1
                } else {
                    let id = keys[Int(random.next() % UInt64(keys.count))]
                    versions[id] = nil
                    changes.append((id, nil))
                }
            }
            try index.apply(changes, through: Int64(batch))
            let report = index.check()
            #expect(report.live == versions.count)
            #expect(
                report.unreachable == 0 && report.danglingLinks == 0, "after batch \(batch) of 600 changes: \(report)")
            let lost = versions.keys.sorted().filter { id in
                !index.search(vector(id), k: 3, ef: 256).hits.contains { $0.label == id }
            }
            #expect(lost.isEmpty, "after batch \(batch): rows not found by their own vector at ef 256: \(lost)")
            if report.unreachable > 0 || !lost.isEmpty { break }
        }
    }

    // MARK: - 4. Reopening; ef_search

    @Test func reopenedDatabasesAndNewProcessesGiveTheSameAnswers() throws {
        let items = try IndexedItems(count: 2500, dimension: 16, seed: 71)
        try items.createIndex(.cosine)
        let queries = clusteredVectors(count: 25, dimension: 16, seed: 72)
        let truth = queries.map { items.truth($0, .cosine, k: 10) }
        func sqlAnswers(_ db: Database) throws -> [[Int64]] {
            _ = try db.execute("SET hnsw.ef_search = \(Self.ef)")
            return try queries.map { q in
                let ids = try db.nearest(q, metric: .cosine, k: 10).map(\.id)
                #expect(db.lastReport.strategy == .hnsw)
                return ids
            }
        }
        func childAnswers() throws -> [[Int64]] {
            let script =
                "SET hnsw.ef_search = \(Self.ef);\n"
                + queries.map {
                    "SELECT id FROM items ORDER BY emb <=> '\(vectorLiteral($0))' LIMIT 10;"
                }.joined(separator: "\n")
            let (outcome, results) = try QuiverBinary.selectResults(db: items.path, script)
            #expect(outcome.succeeded, "\(outcome)")
            return results.map { $0.map { ($0["id"] as? NSNumber)?.int64Value ?? -999 } }
        }
        let first = try sqlAnswers(items.db)
        #expect(recallOf(found: first, truth: truth) >= 0.95)
        // Nothing changed since the file was written: every reader holds the same graph.
        items.db = try Database(path: items.path)
        #expect(try sqlAnswers(items.db) == first)
        #expect(try childAnswers() == first)
        let searched = try QuiverBinary.search(
            db: items.path, queries: queries, k: 10, metric: .cosine, ef: Self.ef,
            scratch: items.directory.path)
        #expect(searched.outcome.succeeded, "\(searched.outcome)")
        #expect(searched.keys == first)
        let exactChild = try QuiverBinary.search(
            db: items.path, queries: queries, k: 10, metric: .cosine, exact: true, scratch: items.directory.path)
        #expect(exactChild.keys == truth)

        // Changes since the checkpoint are replayed from the log by every new reader.
        let added = clusteredVectors(count: 300, dimension: 16, seed: 73)
        try items.db.executeMany(
            "INSERT INTO items VALUES (?, 'late', ?)",
            added.enumerated().map {
                SQLBindings([.integer(Int64(20_000 + $0.offset)), .vector($0.element)])
            })
        for (i, v) in added.enumerated() { items.rows[Int64(20_000 + i)] = v }
        _ = try items.db.execute("DELETE FROM items WHERE id <= 300")
        for id in Int64(1)...300 { items.rows[id] = nil }
        let newTruth = queries.map { items.truth($0, .cosine, k: 10) }
        let inProcess = try sqlAnswers(items.db)
        items.db = try Database(path: items.path)
        let reopened = try sqlAnswers(items.db)
        let child = try childAnswers()
        for answers in [inProcess, reopened, child] {
            #expect(recallOf(found: answers, truth: newTruth) >= 0.95)
            #expect(answers.joined().allSatisfy { items.rows[$0] != nil })
        }
        let childSearch = try QuiverBinary.search(
            db: items.path, queries: queries + added.prefix(20), k: 10, metric: .cosine, ef: Self.ef,
            scratch: items.directory.path)
        #expect(childSearch.outcome.succeeded, "\(childSearch.outcome)")
        #expect(recallOf(found: Array(childSearch.keys.prefix(queries.count)), truth: newTruth) >= 0.95)
        #expect(
            childSearch.keys.joined().allSatisfy { $0 == -1 || items.rows[$0] != nil },
            "a deleted row came back in a new process")
        for (i, keys) in childSearch.keys.dropFirst(queries.count).enumerated() {
            #expect(
                keys.first == Int64(20_000 + i),
                "a row added after the checkpoint is found by its vector in a new process")
        }
    }

    @Test func efSearchSettingsShowSetResetAndHint() throws {
        let items = try IndexedItems(count: 1500, dimension: 16, seed: 81)
        try items.createIndex(.l2)
        func show() throws -> Int64? { try items.db.integers("SHOW hnsw.ef_search").first }
        let q = clusteredVectors(count: 1, dimension: 16, seed: 82)[0]
        #expect(try show() == 40)
        _ = try items.db.nearest(q, metric: .l2, k: 10)
        #expect(items.db.lastReport.efSearch == 40)
        _ = try items.db.execute("SET hnsw.ef_search = 100")
        #expect(try show() == 100)
        _ = try items.db.nearest(q, metric: .l2, k: 10)
        #expect(items.db.lastReport.strategy == .hnsw && items.db.lastReport.efSearch == 100)
        _ = try items.db.execute("SET hnsw.ef_search TO 120")
        #expect(try show() == 120)
        // ef below k: k wins.
        _ = try items.db.execute("SET hnsw.ef_search = 5")
        _ = try items.db.nearest(q, metric: .l2, k: 10)
        #expect(items.db.lastReport.efSearch == 10)
        _ = try items.db.execute("SET hnsw.ef_search = 100")
        // SET LOCAL lasts until the transaction ends.
        _ = try items.db.execute("BEGIN")
        _ = try items.db.execute("SET LOCAL hnsw.ef_search = 300")
        #expect(try show() == 300)
        _ = try items.db.nearest(q, metric: .l2, k: 10)
        #expect(items.db.lastReport.efSearch == 300)
        _ = try items.db.execute("COMMIT")
        #expect(try show() == 100)
        _ = try items.db.execute("BEGIN; SET LOCAL hnsw.ef_search = 77; ROLLBACK")
        #expect(try show() == 100)
        // The hint applies to its own statement only.
        let hinted = try items.db.nearest(q, metric: .l2, k: 10, hint: "/*+ hnsw.ef_search = 200 */ ")
        #expect(items.db.lastReport.strategy == .hnsw && items.db.lastReport.efSearch == 200)
        #expect(hinted.map(\.id) == items.truth(q, .l2, k: 10))
        #expect(try show() == 100)
        _ = try items.db.nearest(q, metric: .l2, k: 10)
        #expect(items.db.lastReport.efSearch == 100)
        _ = try items.db.execute("RESET hnsw.ef_search")
        #expect(try show() == 40)
        // Out of range and malformed settings are refused and change nothing.
        for bad in ["SET hnsw.ef_search = 0", "SET hnsw.ef_search = 10001", "SET hnsw.ef_search = many"] {
            let error = try #require(throws: (any Error).self) { try items.db.execute(bad) }
            #expect("\(error)".contains("ef_search"), "\(bad) → \(error)")
            #expect(try show() == 40)
        }
        // Settings are per connection.
        _ = try items.db.execute("SET hnsw.ef_search = 90")
        let other = try Database(path: items.path)
        #expect(try other.integers("SHOW hnsw.ef_search") == [40])
    }

    @Test func largerEfNeverLowersRecall() throws {
        let items = try IndexedItems(count: 4000, dimension: 32, seed: 91)
        try items.createIndex(.cosine, options: "WITH (m = 8, ef_construction = 32)")
        let queries = clusteredVectors(count: 60, dimension: 32, seed: 92)
        let truth = queries.map { items.truth($0, .cosine, k: 10) }
        var previous = (recall: -1.0, work: 0)
        for ef in [10, 20, 40, 80, 160, 320] {
            _ = try items.db.execute("SET hnsw.ef_search = \(ef)")
            var work = 0
            let found = try queries.map { q in
                let ids = try items.db.nearest(q, metric: .cosine, k: 10).map(\.id)
                #expect(items.db.lastReport.strategy == .hnsw && items.db.lastReport.efSearch == ef)
                work += items.db.lastReport.distanceComputations
                return ids
            }
            let recall = recallOf(found: found, truth: truth)
            #expect(recall >= previous.recall, "recall fell from \(previous.recall) to \(recall) raising ef to \(ef)")
            #expect(work >= previous.work, "ef \(ef) computed fewer distances")
            // The hint gives the same as the setting.
            let viaHint = try queries.prefix(5).map {
                try items.db.nearest($0, metric: .cosine, k: 10, hint: "/*+ hnsw.ef_search = \(ef) */ ").map(\.id)
            }
            #expect(viaHint == Array(found.prefix(5)))
            previous = (recall, work)
        }
        #expect(previous.recall >= 0.8)
    }

    // MARK: - 5. Damaged index files

    enum Damage: String, CaseIterable, Sendable {
        case truncateToHeader, truncateToHalf, overwriteMagic, flipHeaderByte

        func apply(to path: String) throws {
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            switch self {
            case .truncateToHeader: bytes = bytes.prefix(1000)
            case .truncateToHalf: bytes = bytes.prefix(bytes.count / 2)
            case .overwriteMagic: bytes.replaceSubrange(0..<8, with: Array("NOTANIDX".utf8))
            case .flipHeaderByte: bytes[40] ^= 0x01 // the live count, covered by the checksum
            }
            // In place, as a disk or a careless tool would.
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.truncate(atOffset: 0)
            try handle.write(contentsOf: bytes)
            try handle.close()
        }
    }

    /// Builds through the binary, so this process never maps the file before it is damaged.
    @Test(arguments: Damage.allCases)
    func damagedIndexFileGivesAClearErrorAndReindexRepairsIt(damage: Damage) throws {
        let directory = TemporaryDirectory("quiver-damage")
        let path = directory.file("db")
        let vectors = clusteredVectors(count: 1500, dimension: 8, seed: 101)
        var script = "CREATE TABLE items (id INTEGER PRIMARY KEY, tag TEXT, emb VECTOR(8));\n"
        for (i, v) in vectors.enumerated() {
            script += "INSERT INTO items VALUES (\(i + 1), 'x', '\(vectorLiteral(v))');\n"
        }
        script += "CREATE INDEX ix ON items USING hnsw (emb vector_l2_ops);\n"
        let setup = try QuiverBinary.run(["sql", "--db", path], stdin: script)
        try #require(setup.succeeded, "\(setup)")
        let files = filesInIndexFolder(path)
        try #require(files.count == 1)
        let file = (indexFolder(path) as NSString).appendingPathComponent(files[0])
        try damage.apply(to: file)
        let query = "SELECT id FROM items ORDER BY emb <-> '\(vectorLiteral(vectors[4]))' LIMIT 3"

        // A new process: a clean failure (exit 1, not a signal) that names the index and REINDEX.
        let failed = try QuiverBinary.run(["sql", "--db", path, query])
        #expect(failed.status == 1 && !failed.timedOut, "\(failed)")
        #expect(failed.stderr.contains("REINDEX") && failed.stderr.contains("ix"), "\(failed)")
        let failedSearch = try QuiverBinary.search(
            db: path, queries: [vectors[4]], k: 3, metric: .l2, scratch: directory.path)
        #expect(
            failedSearch.outcome.status == 1 && failedSearch.outcome.stderr.contains("REINDEX"),
            "\(failedSearch.outcome)")

        // This process: the same clear error, while queries that do not need the index still run.
        let db = try Database(path: path)
        let error = try #require(throws: (any Error).self) { try db.execute(query) }
        #expect("\(error)".contains("REINDEX"), "\(error)")
        #expect(try db.integers("SELECT count(*) FROM items") == [1500])
        #expect(
            try db.integers("SELECT id FROM items ORDER BY emb <=> ? LIMIT 1", SQLBindings([.vector(vectors[4])])) == [
                5
            ],
            "a metric without an index does not touch the damaged file")

        // REINDEX repairs it.
        _ = try db.execute("REINDEX ix")
        let rows = vectors.enumerated().map { (id: Int64($0.offset + 1), vector: $0.element) }
        for i in [4, 100, 1000] {
            let top = try db.nearest(vectors[i], metric: .l2, k: 10)
            #expect(db.lastReport.strategy == .hnsw)
            #expect(
                recallOf(
                    found: [top.map(\.id)], truth: [bruteForce(rows, query: vectors[i], metric: .l2, k: 10).map(\.id)])
                    >= 0.9)
            #expect(top.first?.id == Int64(i + 1))
        }
        let record = try #require(try db.indexRecords().first)
        #expect(record.file != files[0], "REINDEX writes a new file")
        let repaired = try HNSWIndex.open(path: (indexFolder(path) as NSString).appendingPathComponent(record.file))
        #expect(repaired.count == 1500)
        let ok = try QuiverBinary.run(["sql", "--db", path, "--format", "json", query])
        #expect(ok.succeeded && (ok.stdout.contains("\"id\":5") || ok.stdout.contains("\"id\": 5")), "\(ok)")
        // Once settled, only the new file remains.
        _ = try db.execute("SELECT 1")
        #expect(filesInIndexFolder(path) == [record.file])
    }

    // MARK: - 6. DROP INDEX

    @Test func dropIndexRemovesFileTriggersAndFallsBack() throws {
        let items = try IndexedItems(count: 1500, dimension: 8, seed: 111)
        try items.createIndex(.l2)
        #expect(try items.db.logTriggerNames().count == 4)
        let file = try #require(filesInIndexFolder(items.path).first)
        let query = clusteredVectors(count: 1, dimension: 8, seed: 112)[0]
        _ = try items.db.nearest(query, metric: .l2, k: 10)
        #expect(items.db.lastReport.strategy == .hnsw)

        _ = try items.db.execute("DROP INDEX ix")
        // Committed: the file must be gone now, not at some later statement.
        #expect(filesInIndexFolder(items.path).isEmpty, "DROP INDEX committed but \(file) is still there")
        #expect(try items.db.indexRecords().isEmpty)
        #expect(try items.db.logTriggerNames().isEmpty)
        #expect(items.db.catalog.indexes.isEmpty)
        #expect(try items.db.nearest(query, metric: .l2, k: 10).map(\.id) == items.truth(query, .l2, k: 10))
        #expect(items.db.lastReport.strategy == .exactScan)
        #expect(filesInIndexFolder(items.path).isEmpty)
        // Writes no longer feed a log.
        let before = try items.db.integers("SELECT count(*) FROM _quiver_changes")
        _ = try items.db.execute("INSERT INTO items VALUES (99999, 'x', ?)", SQLBindings([.vector(query)]))
        #expect(try items.db.integers("SELECT count(*) FROM _quiver_changes") == before)
        // A vector-index name that no longer exists is an error, or nothing with IF EXISTS.
        #expect(throws: (any Error).self) { try items.db.execute("DROP INDEX ix") }
        _ = try items.db.execute("DROP INDEX IF EXISTS ix")
    }

    @Test func dropIndexThroughTheCLIRemovesTheFile() throws {
        let items = try IndexedItems(count: 800, dimension: 8, seed: 113)
        try items.createIndex(.l2)
        #expect(filesInIndexFolder(items.path).count == 1)
        let outcome = try QuiverBinary.run(["sql", "--db", items.path, "DROP INDEX ix"])
        #expect(outcome.succeeded, "\(outcome)")
        #expect(try items.db.indexRecords().isEmpty)
        #expect(
            filesInIndexFolder(items.path).isEmpty, "quiver sql 'DROP INDEX ix' left \(filesInIndexFolder(items.path))")
    }

    @Test func dropIndexKeepsTriggersWhileAnotherIndexNeedsThem() throws {
        let items = try IndexedItems(count: 1000, dimension: 8, seed: 114)
        try items.createIndex(.l2, name: "a")
        try items.createIndex(.cosine, name: "b")
        #expect(try items.db.logTriggerNames().count == 4)
        _ = try items.db.execute("DROP INDEX a")
        #expect(try items.db.logTriggerNames().count == 4)
        let q = items.rows[5]!
        _ = try items.db.nearest(q, metric: .cosine, k: 5)
        #expect(items.db.lastReport.strategy == .hnsw)
        _ = try items.db.nearest(q, metric: .l2, k: 5)
        #expect(items.db.lastReport.strategy == .exactScan)
        _ = try items.db.execute("DROP INDEX b")
        #expect(try items.db.logTriggerNames().isEmpty)
        _ = try items.db.execute("SELECT 1")
        #expect(filesInIndexFolder(items.path).isEmpty)
    }

    @Test func dropIndexInARolledBackTransactionKeepsTheIndex() throws {
        let items = try IndexedItems(count: 1500, dimension: 8, seed: 115)
        try items.createIndex(.l2)
        let files = filesInIndexFolder(items.path)
        let query = clusteredVectors(count: 1, dimension: 8, seed: 116)[0]
        let before = try items.db.nearest(query, metric: .l2, k: 10).map(\.id)
        _ = try items.db.execute("BEGIN")
        _ = try items.db.execute("DROP INDEX ix")
        #expect(try items.db.indexRecords().isEmpty)
        _ = try items.db.nearest(query, metric: .l2, k: 10)
        #expect(items.db.lastReport.strategy == .exactScan)
        _ = try items.db.execute("ROLLBACK")
        _ = try items.db.execute("SELECT 1")
        #expect(try items.db.indexRecords().map(\.name) == ["ix"])
        #expect(try items.db.logTriggerNames().count == 4)
        #expect(filesInIndexFolder(items.path) == files)
        #expect(try items.db.nearest(query, metric: .l2, k: 10).map(\.id) == before)
        #expect(items.db.lastReport.strategy == .hnsw)
        // The index still follows writes.
        _ = try items.db.execute("INSERT INTO items VALUES (5000, 'x', ?)", SQLBindings([.vector(query)]))
        #expect(try items.db.nearest(query, metric: .l2, k: 1).first?.id == 5000)
        #expect(items.db.lastReport.strategy == .hnsw)
        // A new process agrees.
        let child = try QuiverBinary.search(
            db: items.path, queries: [query], k: 1, metric: .l2, scratch: items.directory.path)
        #expect(child.keys == [[5000]], "\(child.outcome)")
    }

    /// The same with a second index on the column: then no trigger changes, so the schema
    /// version does not move, and the connection must still notice the rollback.
    @Test func dropIndexRolledBackBesideAnotherIndexOnTheColumn() throws {
        let items = try IndexedItems(count: 1000, dimension: 8, seed: 117)
        try items.createIndex(.l2, name: "a")
        try items.createIndex(.cosine, name: "b")
        let q = items.rows[9]!
        _ = try items.db.execute("BEGIN; DROP INDEX a; ROLLBACK")
        #expect(try items.db.indexRecords().map(\.name) == ["a", "b"])
        _ = try items.db.nearest(q, metric: .l2, k: 5)
        #expect(
            items.db.lastReport.strategy == .hnsw,
            "index a was dropped in a rolled-back transaction but is no longer used")
        _ = try items.db.execute("DROP INDEX a")
        #expect(try items.db.indexRecords().map(\.name) == ["b"])
    }

    /// A CREATE INDEX rolled back on a column that already has an index must leave no trace
    /// in the connection: queries for its metric fall back to the exact scan without error.
    @Test func createIndexRolledBackBesideAnotherIndexOnTheColumn() throws {
        let items = try IndexedItems(count: 1000, dimension: 8, seed: 118)
        try items.createIndex(.cosine, name: "a")
        _ = try items.db.execute("BEGIN; CREATE INDEX b ON items USING hnsw (emb vector_l2_ops); ROLLBACK")
        #expect(try items.db.indexRecords().map(\.name) == ["a"])
        let q = items.rows[9]!
        let result = try items.db.nearest(q, metric: .l2, k: 5)
        #expect(items.db.lastReport.strategy == .exactScan)
        #expect(result.map(\.id) == items.truth(q, .l2, k: 5))
        #expect(filesInIndexFolder(items.path).count == 1)
    }

    /// Another connection (another Database on the same directory) must see a DROP INDEX that
    /// left the column's triggers in place (a second index still needs them).
    @Test func otherConnectionsSeeADroppedIndex() throws {
        let items = try IndexedItems(count: 1000, dimension: 8, seed: 119)
        try items.createIndex(.l2, name: "a")
        try items.createIndex(.cosine, name: "b")
        let other = try Database(path: items.path)
        let q = items.rows[3]!
        _ = try other.nearest(q, metric: .l2, k: 5)
        #expect(other.lastReport.strategy == .hnsw)
        _ = try items.db.execute("DROP INDEX a")
        _ = try items.db.execute("SELECT 1")
        let result = try other.nearest(q, metric: .l2, k: 5)
        #expect(other.lastReport.strategy == .exactScan)
        #expect(result.map(\.id) == items.truth(q, .l2, k: 5))
    }

    /// And a CREATE INDEX on an already indexed column, made by another connection.
    @Test func otherConnectionsSeeANewIndexOnAnIndexedColumn() throws {
        let items = try IndexedItems(count: 1000, dimension: 8, seed: 120)
        try items.createIndex(.cosine, name: "a")
        let other = try Database(path: items.path)
        let q = items.rows[3]!
        _ = try other.nearest(q, metric: .l2, k: 5)
        #expect(other.lastReport.strategy == .exactScan)
        try items.createIndex(.l2, name: "b")
        let result = try other.nearest(q, metric: .l2, k: 5)
        #expect(other.lastReport.strategy == .hnsw, "a new index made by another connection is not used")
        #expect(result.first?.id == 3)
    }
}
