import Foundation
import QuiverEngine
import QuiverStorage
import Testing

/// Transactions have one owner (`Connection.transaction`/`savepoint`, which `Database` exposes):
/// committed when the body returns, rolled back when it throws or is interrupted, savepoints
/// nesting inside, and the work waiting for the outcome — index files, the executor's state of
/// one transaction, index checkpoints — done after a real commit only, by the funnel itself.
@Suite struct TransactionTests {
    let directory = TemporaryDirectory("quiver-transactions")

    static let rowCount = 600
    static let vectors = clusteredVectors(count: rowCount, dimension: 8, seed: 17)
    static let createIndex =
        "CREATE INDEX ix ON items USING hnsw (emb vector_l2_ops) WITH (m = 8, ef_construction = 40)"
    /// Far from every row, so a row with this vector is the nearest to it whenever it exists.
    static let far: [Float] = [40, 40, 40, 40, 40, 40, 40, 40]

    struct Refused: Error {}

    /// `items(id, emb VECTOR(8))` with `rowCount` rows and, when asked, the hnsw index `ix`.
    func makeDatabase(_ name: String, indexed: Bool = true) throws -> (db: Database, path: String) {
        let path = directory.file(name)
        let db = try Database(path: path)
        _ = try db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, emb VECTOR(8))")
        try db.executeMany(
            "INSERT INTO items VALUES (?, ?)",
            Self.vectors.enumerated().map {
                SQLBindings([.integer(Int64($0.offset + 1)), .vector($0.element)])
            })
        if indexed { _ = try db.execute(Self.createIndex) }
        return (db, path)
    }

    func insertFar(_ db: Database, id: Int64 = 100_000) throws {
        _ = try db.execute("INSERT INTO items VALUES (?, ?)", SQLBindings([.integer(id), .vector(Self.far)]))
    }

    func nearestToFar(_ db: Database) throws -> Int64? {
        try db.integers("SELECT id FROM items ORDER BY emb <-> ? LIMIT 1", SQLBindings([.vector(Self.far)])).first
    }

    /// `_quiver_indexes`' checkpoint sequence of `ix`, read on a plain connection: a query
    /// through the database would write a due checkpoint after its own commit.
    func recordedCheckpoint(_ path: String) throws -> Int64? {
        let connection = try Connection(path: (path as NSString).appendingPathComponent("rows.sqlite"))
        return try connection.scalar("SELECT checkpoint_sequence FROM _quiver_indexes WHERE name = 'ix'")?.integerValue
    }

    @Test func commitsWhenTheBodyReturns() throws {
        let (db, path) = try makeDatabase("commit", indexed: false)
        let answer = try db.transaction(.immediate) {
            try insertFar(db)
            return 42
        }
        #expect(answer == 42)
        #expect(!db.isInTransaction)
        // Committed: another connection sees the row.
        #expect(try Database(path: path).integers("SELECT count(*) FROM items") == [Int64(Self.rowCount + 1)])
    }

    @Test func rollsBackRowsAndIndexWhenTheBodyThrows() throws {
        let (db, _) = try makeDatabase("rollback")
        let sequence = try db.latestChangeSequence()
        #expect(throws: Refused.self) {
            try db.transaction(.immediate) {
                try insertFar(db)
                // Its own uncommitted row: the exact scan answers, as the graph takes committed rows only.
                #expect(try nearestToFar(db) == 100_000)
                #expect(db.lastReport.strategy == .exactScan)
                throw Refused()
            }
        }
        #expect(!db.isInTransaction)
        #expect(try db.integers("SELECT count(*) FROM items") == [Int64(Self.rowCount)])
        #expect(try db.latestChangeSequence() == sequence)
        // The index answers again (the transaction's writes are forgotten) and knows no such row.
        #expect(try nearestToFar(db) != 100_000)
        #expect(db.lastReport.strategy == .hnsw)
    }

    @Test func aRolledBackSavepointKeepsTheOuterTransaction() throws {
        let (db, _) = try makeDatabase("savepoint", indexed: false)
        try db.transaction(.immediate) {
            try insertFar(db, id: 100_001)
            #expect(throws: Refused.self) {
                try db.savepoint("inner") {
                    try insertFar(db, id: 100_002)
                    let kept = try db.savepoint("innermost") {
                        try insertFar(db, id: 100_003)
                        return true
                    }
                    #expect(kept)
                    throw Refused()
                }
            }
            #expect(db.isInTransaction)
            try insertFar(db, id: 100_004)
        }
        #expect(try db.integers("SELECT id FROM items WHERE id > 100000 ORDER BY id") == [100_001, 100_004])
    }

    @Test func aSavepointOutsideATransactionIsOne() throws {
        let (db, path) = try makeDatabase("lone-savepoint", indexed: false)
        try db.savepoint("alone") { try insertFar(db) }
        #expect(!db.isInTransaction)
        #expect(try Database(path: path).integers("SELECT count(*) FROM items WHERE id = 100000") == [1])
        #expect(throws: Refused.self) {
            try db.savepoint("alone") {
                try insertFar(db, id: 100_001)
                throw Refused()
            }
        }
        #expect(try db.integers("SELECT count(*) FROM items WHERE id = 100001") == [0])
    }

    /// Transactions do not nest: the inner one is refused before its body runs, and the outer
    /// one — the engine's or a caller's own BEGIN — goes on untouched.
    @Test func aTransactionInsideAnOpenOneIsRefusedAndLeavesItAlone() throws {
        let (db, _) = try makeDatabase("nested", indexed: false)
        try db.transaction(.immediate) {
            try insertFar(db, id: 100_001)
            var ran = false
            #expect(throws: SQLiteError.self) { try db.transaction(.immediate) { ran = true } }
            #expect(!ran)
            #expect(db.isInTransaction)
        }
        #expect(try db.integers("SELECT count(*) FROM items WHERE id = 100001") == [1])

        _ = try db.execute("BEGIN; INSERT INTO items VALUES (100002, NULL)")
        #expect(throws: SQLiteError.self) { try db.transaction(.deferred) {} }
        #expect(db.isInTransaction)
        _ = try db.execute("COMMIT")
        #expect(try db.integers("SELECT count(*) FROM items WHERE id = 100002") == [1])
    }

    @Test func setLocalEndsWithTheTransaction() throws {
        let (db, _) = try makeDatabase("set-local", indexed: false)
        try db.transaction(.deferred) {
            _ = try db.execute("SET LOCAL hnsw.ef_search = 300")
            #expect(try db.integers("SHOW hnsw.ef_search") == [300])
        }
        #expect(try db.integers("SHOW hnsw.ef_search") == [40])
    }

    @Test func aDroppedIndexFileGoesWithTheCommitOnly() throws {
        let (db, path) = try makeDatabase("drop")
        let files = filesInIndexFolder(path)
        #expect(files.count == 1)
        #expect(throws: Refused.self) {
            try db.transaction(.immediate) {
                _ = try db.execute("DROP INDEX ix")
                throw Refused()
            }
        }
        #expect(filesInIndexFolder(path) == files)
        #expect(try nearestToFar(db) != nil)
        #expect(db.lastReport.strategy == .hnsw)

        try db.transaction(.immediate) {
            _ = try db.execute("DROP INDEX ix")
            #expect(filesInIndexFolder(path) == files, "removed before the commit")
        }
        #expect(filesInIndexFolder(path).isEmpty)
    }

    /// A caller's own BEGIN … COMMIT (the shell user's) ends outside the funnel: the statement
    /// runner settles it, so the file still goes at that COMMIT.
    @Test func aScriptsOwnCommitRemovesTheDroppedIndexFile() throws {
        let (db, path) = try makeDatabase("script-commit")
        let files = filesInIndexFolder(path)
        _ = try db.execute("BEGIN; DROP INDEX ix;")
        #expect(db.isInTransaction)
        #expect(filesInIndexFolder(path) == files)
        _ = try db.execute("COMMIT")
        #expect(filesInIndexFolder(path).isEmpty)
    }

    @Test func anIndexBuiltInARolledBackTransactionLeavesNoFile() throws {
        let (db, path) = try makeDatabase("build")
        let files = filesInIndexFolder(path)
        #expect(throws: Refused.self) {
            try db.transaction(.immediate) {
                _ = try db.execute("CREATE INDEX ix2 ON items USING hnsw (emb vector_cosine_ops)")
                #expect(filesInIndexFolder(path).count == 2)
                throw Refused()
            }
        }
        #expect(filesInIndexFolder(path) == files)
        #expect(try db.indexRecords().map(\.name) == ["ix"])
    }

    /// An interrupt stops a write inside the transaction; SQLite or the funnel rolls all of it
    /// back, and the index built earlier in it is removed as after any rollback.
    @Test func anInterruptRollsTheTransactionBack() throws {
        let (db, path) = try makeDatabase("interrupt")
        let files = filesInIndexFolder(path)
        let interrupter = RepeatedInterrupt(db)
        let error = try #require(throws: Database.StatementError.self) {
            try db.transaction(.immediate) {
                _ = try db.execute("CREATE INDEX ix2 ON items USING hnsw (emb vector_cosine_ops)")
                try insertFar(db)
                interrupter.start()
                defer { interrupter.stop() }
                // Counts to three billion before it writes its one row: only an interrupt ends it soon.
                _ = try db.execute(
                    """
                    INSERT INTO items SELECT x, NULL FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c
                    WHERE x < 3000000000) SELECT max(x) + 200000 AS x FROM c)
                    """)
            }
        }
        #expect(error.underlying.isInterrupt, "\(error)")
        #expect(!db.isInTransaction)
        #expect(try db.integers("SELECT count(*) FROM items") == [Int64(Self.rowCount)])
        #expect(try db.indexRecords().map(\.name) == ["ix"])
        #expect(filesInIndexFolder(path) == files)
    }

    /// A database whose index has a checkpoint due (more than 10,000 changes since its file):
    /// a rolled-back transaction must not write it, the next commit must.
    @Test func aDueCheckpointIsWrittenAfterACommitNeverAfterARollback() throws {
        let (db, path) = try makeDatabase("checkpoint")
        for round in 1...17 {
            try db.executeMany(
                "UPDATE items SET emb = ? WHERE id = ?",
                Self.vectors.enumerated().map {
                    SQLBindings([.vector($0.element.map { $0 + Float(round) * 0.001 }), .integer(Int64($0.offset + 1))])
                })
        }
        #expect(try recordedCheckpoint(path) == 0)
        let file = try #require(filesInIndexFolder(path).first)
        let bytes = try Data(
            contentsOf: URL(fileURLWithPath: (indexFolder(path) as NSString).appendingPathComponent(file)))

        #expect(throws: Refused.self) {
            try db.transaction(.immediate) {
                try insertFar(db)
                throw Refused()
            }
        }
        #expect(try recordedCheckpoint(path) == 0)
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: (indexFolder(path) as NSString).appendingPathComponent(file)))
                == bytes)

        try db.transaction(.immediate) { try insertFar(db) }
        #expect(db.checkpointError == nil)
        // The log is trimmed up to the checkpoint: its high-water mark is in sqlite_sequence.
        let latest = try Connection(path: (path as NSString).appendingPathComponent("rows.sqlite"))
            .scalar("SELECT seq FROM sqlite_sequence WHERE name = '_quiver_changes'")?.integerValue
        #expect(try recordedCheckpoint(path) == latest)
        #expect(try recordedCheckpoint(path) ?? 0 > 10_000)
    }

    // MARK: no transaction SQL outside the funnel

    static let funnel = "Storage/Transaction.swift"

    @Test func noTransactionSQLOutsideTheFunnel() throws {
        let sources = (repositoryRoot as NSString).appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(atPath: sources)).compactMap { $0 as? String }.filter {
            $0.hasSuffix(".swift")
        }
        #expect(files.count > 50, "the Sources tree was not found at \(sources)")
        var found: [String] = []
        for file in files where file != Self.funnel {
            let text = try String(contentsOfFile: (sources as NSString).appendingPathComponent(file), encoding: .utf8)
            found += TransactionSQLScan.findings(in: text).map { "\(file):\($0.line): \($0.text)" }
        }
        #expect(
            found.isEmpty,
            "transaction SQL outside \(Self.funnel); use Connection.transaction/savepoint or Database.transaction/savepoint:\n\(found.joined(separator: "\n"))"
        )
    }

    /// The scan finds the funnel's own statements, the forms the engine used to run by hand,
    /// and not the keyword lists that recognise a caller's statements.
    @Test func theScanFindsTransactionSQLAndOnlyThat() throws {
        let funnel = try String(
            contentsOfFile: (repositoryRoot as NSString).appendingPathComponent("Sources/" + Self.funnel),
            encoding: .utf8)
        #expect(TransactionSQLScan.findings(in: funnel).count >= 6)
        for line in [
            #"try connection.execute("BEGIN IMMEDIATE")"#, #"defer { try? connection.execute("COMMIT") }"#,
            #"_ = try? database.execute("ROLLBACK")"#, #"try connection.execute("SAVEPOINT quiver_dedupe")"#,
            #"try? connection.execute("ROLLBACK TO quiver_dedupe")"#,
            #"try connection.execute("RELEASE quiver_dedupe")"#,
            #"try connection.execute(readOnly ? "BEGIN" : "BEGIN IMMEDIATE")"#,
            #"let sql = "begin deferred transaction""#,
            #"run("SAVEPOINT w; \(script) RELEASE w")"#, "let script = \"\"\"\n    BEGIN;\n    \"\"\"",
        ] {
            #expect(TransactionSQLScan.findings(in: line).count == 1, "not found in: \(line)")
        }
        for line in [
            #"case "BEGIN", "COMMIT", "END":"#, #"["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"]"#,
            #"if token.isKeyword("BEGIN") { depth += 1 }"#, #"return "\(first ?? "BEGIN") is not allowed here""#,
            #"return "ROLLBACK is not allowed here: the script runs as one transaction""#,
            #"/// `try connection.execute("COMMIT")` in a comment"#,
        ] {
            #expect(TransactionSQLScan.findings(in: line).isEmpty, "wrongly found in: \(line)")
        }
    }
}

/// Where Swift source holds SQL that opens or ends a transaction: a string literal that is such
/// a statement (`"BEGIN IMMEDIATE"`, `"SAVEPOINT \(name)"`, `"BEGIN; …"`, a multi-line string
/// whose first line is one), or a lone keyword handed straight to a function that runs SQL
/// (`execute("COMMIT")`). A lone keyword anywhere else — a list, a `case` label — only
/// recognises a caller's statements. Comment lines are skipped.
enum TransactionSQLScan {
    static let keyword = "(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)"
    // Regex is not Sendable; these are only ever read.
    /// A whole transaction statement, maybe followed by more statements.
    nonisolated(unsafe) static let statement = try! Regex(
        #"^\s*"# + keyword + #"((\s+(DEFERRED|IMMEDIATE|EXCLUSIVE|TRANSACTION|TO|SAVEPOINT))*\s+[^\s;]+)?\s*(;.*)?$"#
    )
    .ignoresCase()
    nonisolated(unsafe) static let bareKeyword = try! Regex(#"^"# + keyword + #"$"#).ignoresCase()
    nonisolated(unsafe) static let runCall = try! Regex(
        #"(^|[^\w])(execute|executeMany|query|prepare|scalar|cachedStatement)\s*\(\s*""# + keyword + #"\b"#
    )
    .ignoresCase()
    nonisolated(unsafe) static let literal = try! Regex(#""((?:[^"\\]|\\.)*)""#)
    static let tripleQuote = "\"\"\""

    static func findings(in source: String) -> [(line: Int, text: String)] {
        var found: [(Int, String)] = []
        // Inside a multi-line string only its first line counts: later ones may be a trigger's
        // BEGIN … END body.
        var multiLine: (inside: Bool, firstLine: Bool) = (false, false)
        for (number, line) in source.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if line.contains(tripleQuote) {
                multiLine = (!multiLine.inside, !multiLine.inside)
                continue
            }
            if multiLine.inside {
                if multiLine.firstLine, trimmed.wholeMatch(of: statement) != nil { found.append((number + 1, trimmed)) }
                multiLine.firstLine = false
                continue
            }
            if trimmed.hasPrefix("//") { continue }
            if line.contains(runCall) {
                found.append((number + 1, trimmed))
                continue
            }
            for match in line.matches(of: literal) {
                let content = String(match.output[1].substring ?? "")
                if content.wholeMatch(of: statement) != nil && content.wholeMatch(of: bareKeyword) == nil {
                    found.append((number + 1, trimmed))
                    break
                }
            }
        }
        return found
    }
}

/// Interrupts a database's running statement every millisecond between `start` and `stop`, as
/// the server's watchdog does, so the interrupt lands whatever statement is running then.
final class RepeatedInterrupt: @unchecked Sendable {
    private let database: Database
    private let lock = NSLock()
    private var running = false
    private var thread: Thread?

    init(_ database: Database) { self.database = database }

    func start() {
        lock.withLock { running = true }
        let thread = Thread { [self] in
            while lock.withLock({ running }) {
                database.interrupt()
                usleep(1_000)
            }
        }
        self.thread = thread
        thread.start()
    }

    func stop() { lock.withLock { running = false } }
}
