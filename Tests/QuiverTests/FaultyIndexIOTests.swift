import Foundation
import QuiverEngine
import QuiverIndex
import QuiverKernels
import QuiverStorage
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Index file writes that fail — the Nth write, an fsync, a full disk, creating or renaming the
/// file — during CREATE INDEX, REINDEX and a checkpoint. Each must leave a database that opens
/// and agrees with its rows (the previous file intact), and tell the caller which file and what
/// failed. Serialized: the fault table is process-wide (though scoped to this test's directory).
@Suite(.serialized) struct FaultyIndexIOTests {
    static let faults: [FaultyIndexIO.Fault] = [
        .write(nth: 1, code: EIO), .write(nth: 3, code: EIO), .diskFull(afterBytes: 20_000), .sync(nth: 1),
        .open(code: ENOSPC), .rename,
    ]
    static let rowCount = 600
    static let vectors = clusteredVectors(count: rowCount, dimension: 8, seed: 91)
    static let rows = vectors.enumerated().map { (id: Int64($0.offset + 1), vector: $0.element) }
    static let createIndex =
        "CREATE INDEX ix ON items USING hnsw (emb vector_l2_ops) WITH (m = 8, ef_construction = 40)"

    static func makeDatabase(_ path: String) throws -> Database {
        let db = try Database(path: path)
        _ = try db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, emb VECTOR(8))")
        try db.executeMany(
            "INSERT INTO items VALUES (?, ?)", rows.map { SQLBindings([.integer($0.id), .vector($0.vector)]) })
        return db
    }

    /// The message of the error `body` throws (a failure when it throws none).
    static func failure(_ fault: FaultyIndexIO.Fault, in directory: String, _ body: () throws -> Void) -> String {
        let faulty = FaultyIndexIO(scope: directory, fault: fault)
        do {
            try faulty.during(body)
            Issue.record("\(fault): the statement succeeded")
            return ""
        } catch {
            #expect(faulty.triggered > 0, "\(fault) was never hit")
            return "\(error)"
        }
    }

    /// The index answers, agrees with the exact scan up to recall, and returns only rows.
    static func expectIndexAgrees(_ db: Database, _ context: String, rows: [(id: Int64, vector: [Float])] = rows) throws
    {
        let ids = Set(rows.map(\.id))
        var found: [[Int64]] = []
        var truth: [[Int64]] = []
        for q in stride(from: 0, to: rows.count, by: 60) {
            let hits = try db.nearest(rows[q].vector, metric: .l2, k: 10)
            #expect(db.lastReport.strategy == .hnsw, "\(context): the index was not used")
            #expect(hits.allSatisfy { ids.contains($0.id) }, "\(context): a hit that is no row")
            found.append(hits.map(\.id))
            truth.append(bruteForce(rows, query: rows[q].vector, metric: .l2, k: 10).map(\.id))
        }
        #expect(recallOf(found: found, truth: truth) >= 0.9, "\(context): recall against the exact scan")
    }

    @Test(arguments: faults) func createIndexThatCannotBeWrittenLeavesNoIndex(_ fault: FaultyIndexIO.Fault) throws {
        let directory = TemporaryDirectory("quiver-faulty-create")
        let path = directory.file("db")
        let db = try Self.makeDatabase(path)
        let message = Self.failure(fault, in: directory.path) { _ = try db.execute(Self.createIndex) }
        print("FaultyIndexIOTests CREATE INDEX, \(fault): \(message)")
        #expect(
            message.contains("index ix") && message.contains(".hnsw") && message.contains(fault.expectedText),
            "\(fault): unclear error: \(message)")
        // No trace: no catalog entry, no triggers, no file (not even the temporary one).
        #expect(try db.indexRecords().isEmpty)
        #expect(try db.logTriggerNames().isEmpty)
        #expect(filesInIndexFolder(path).isEmpty, "\(fault): left \(filesInIndexFolder(path))")
        let reopened = try Database(path: path)
        let query = Self.vectors[5]
        #expect(
            try reopened.nearest(query, metric: .l2, k: 5).map(\.id)
                == bruteForce(Self.rows, query: query, metric: .l2, k: 5).map(\.id))
        #expect(reopened.lastReport.strategy == .exactScan)
        // Once the disk behaves, the same statement works.
        _ = try reopened.execute(Self.createIndex)
        try Self.expectIndexAgrees(reopened, "\(fault), after the retry")
    }

    @Test(arguments: faults) func reindexThatCannotBeWrittenKeepsTheOldIndex(_ fault: FaultyIndexIO.Fault) throws {
        let directory = TemporaryDirectory("quiver-faulty-reindex")
        let path = directory.file("db")
        let db = try Self.makeDatabase(path)
        _ = try db.execute(Self.createIndex)
        let before = try #require(try db.indexRecords().first)
        let file = (indexFolder(path) as NSString).appendingPathComponent(before.file)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        let message = Self.failure(fault, in: directory.path) { _ = try db.execute("REINDEX ix") }
        #expect(
            message.contains("index ix") && message.contains(".hnsw") && message.contains(fault.expectedText),
            "\(fault): unclear error: \(message)")
        #expect(try db.indexRecords() == [before])
        #expect(filesInIndexFolder(path) == [before.file], "\(fault): left \(filesInIndexFolder(path))")
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == bytes, "\(fault): the old file changed")
        try Self.expectIndexAgrees(db, "\(fault), same connection")
        let opened = try HNSWIndex.open(path: file)
        #expect(opened.count == Self.rowCount)
        let report = opened.check()
        #expect(report.danglingLinks == 0 && report.unreachable == 0, "\(report)")
    }

    /// A database with more than 10,000 changes logged since its index's checkpoint, so the next
    /// `execute` that commits writes a checkpoint (executeMany never does).
    static func makePendingCheckpoint(_ path: String) throws {
        let db = try makeDatabase(path)
        _ = try db.execute(createIndex)
        for round in 1...17 {
            try db.executeMany(
                "UPDATE items SET emb = ? WHERE id = ?",
                rows.map {
                    SQLBindings([.vector($0.vector.map { $0 + Float(round) * 0.001 }), .integer($0.id)])
                })
        }
    }

    /// One database with a checkpoint due (10,000 changes take a while to log), copied per fault;
    /// the faults of each kind (a write, a sync, the rename) — every step is the same code as above.
    @Test func checkpointThatCannotBeWrittenKeepsTheCommitAndTheOldFile() throws {
        let directory = TemporaryDirectory("quiver-faulty-checkpoint")
        try Self.makePendingCheckpoint(directory.file("template"))
        let faults: [FaultyIndexIO.Fault] = [.diskFull(afterBytes: 20_000), .sync(nth: 1), .rename]
        for (n, fault) in faults.enumerated() {
            let path = directory.file("db\(n)")
            try FileManager.default.copyItem(atPath: directory.file("template"), toPath: path)
            try checkpointFailure(fault, path: path, scope: directory.path)
        }
    }

    func checkpointFailure(_ fault: FaultyIndexIO.Fault, path: String, scope: String) throws {
        // Nothing here runs `execute` before the INSERT: its end would write the due checkpoint.
        let fileName = try #require(filesInIndexFolder(path).first)
        let file = (indexFolder(path) as NSString).appendingPathComponent(fileName)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        let db = try Database(path: path)
        let extra: [Float] = [9, 9, 9, 9, 9, 9, 9, 9]

        // The INSERT commits: no error is thrown, and the failed checkpoint is reported beside it.
        let faulty = FaultyIndexIO(scope: scope, fault: fault)
        try faulty.during { _ = try db.execute("INSERT INTO items VALUES (100000, ?)", SQLBindings([.vector(extra)])) }
        #expect(faulty.triggered > 0, "\(fault) was never hit")
        let message = db.checkpointError.map { "\($0)" } ?? ""
        print("FaultyIndexIOTests checkpoint, \(fault): \(message)")
        #expect(
            message.contains("index ix") && message.contains(fileName) && message.contains("checkpoint not written")
                && message.contains(fault.expectedText), "\(fault): unclear report: \(message)")
        // Looked at in one transaction: `execute` outside one would retry the checkpoint at its end.
        _ = try db.execute("BEGIN")
        #expect(try db.integers("SELECT count(*) FROM items") == [Int64(Self.rowCount + 1)])
        #expect(try db.indexRecords().map(\.file) == [fileName])
        #expect(try db.indexRecords().first?.checkpointSequence == 0, "\(fault): the record moved without a file")
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == bytes, "\(fault): the old file changed")
        #expect(filesInIndexFolder(path) == [fileName], "\(fault): left \(filesInIndexFolder(path))")

        // Consistent: the old file plus the log give every row, the new one included.
        let latest = try db.latestChangeSequence()
        let replayed = try HNSWIndex.open(path: file)
        let changed = try db.rows(
            "SELECT DISTINCT row_id FROM _quiver_changes WHERE seq > ?",
            SQLBindings([.integer(replayed.appliedSequence)]))
        var current: [Int64: [Float]] = [:]
        for row in try db.rows("SELECT id, emb FROM items") { current[row[0].integerValue!] = row[1].vectorValue }
        try replayed.apply(changed.map { ($0[0].integerValue!, current[$0[0].integerValue!]) }, through: latest)
        #expect(replayed.count == Self.rowCount + 1)
        #expect(replayed.search(extra, k: 1, ef: 64).hits.first?.label == 100000)
        let rowsNow = current.map { (id: $0.key, vector: $0.value) }.sorted { $0.id < $1.id }
        try Self.expectIndexAgrees(db, "\(fault), after the failed checkpoint", rows: rowsNow)

        // Once the disk behaves, the next commit writes it.
        _ = try db.execute("COMMIT")
        #expect(db.checkpointError == nil, "\(String(describing: db.checkpointError))")
        let after = try #require(try db.indexRecords().first)
        #expect(after.checkpointSequence == (try db.latestChangeSequence()))
        #expect(try HNSWIndex.open(path: file).count == Self.rowCount + 1)
    }
}
