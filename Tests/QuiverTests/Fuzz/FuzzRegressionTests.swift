import Foundation
import QuiverEngine
import QuiverImport
import QuiverStorage
import Testing

/// What the fuzzers found, pinned down where a direct test says more than the replayed input
/// in Tests/FuzzCorpus/*/regressions.
@Suite struct FuzzRegressionTests {
    /// Finite float32 elements of 2^127 and more overflowed the quantiser's range arithmetic
    /// (2r, high − low) into inf/inf = NaN, which trapped converting to a code: CREATE INDEX
    /// crashed the process. Both the small-table fallback and the fitted ranges (256 rows+).
    @Test(arguments: [10, 300]) func indexOverVectorsNearFloatMax(_ rows: Int) throws {
        let directory = TemporaryDirectory("quiver-fuzz-regression")
        let db = try Database(path: directory.file("db"))
        _ = try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v VECTOR(3))")
        var random = SeededRandom(seed: 8)
        let vectors: [[Float]] = (0..<rows).map { i in
            i == 0
                ? [0x1p127, 0, -0x1p127]
                : i == 1 ? [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1] : random.vector(3)
        }
        try db.executeMany(
            "INSERT INTO t VALUES (?, ?)",
            vectors.enumerated().map { SQLBindings([.integer(Int64($0.offset)), .vector($0.element)]) })
        _ = try db.execute("CREATE INDEX t_v ON t USING hnsw (v vector_l2_ops)")
        let hits = try db.nearest(vectors[5], metric: .l2, k: 1, table: "t", column: "v")
        #expect(db.lastReport.strategy == .hnsw)
        #expect(hits.first?.id == 5)
    }

    /// `LIMIT 0` (or `-0`) trapped in the exact top-k, which had no k-th row to compare with.
    @Test func limitZeroReturnsNoRows() throws {
        let directory = TemporaryDirectory("quiver-fuzz-regression")
        let db = try Database(path: directory.file("db"))
        _ = try db.execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v VECTOR(2)); INSERT INTO t VALUES (1, '[1,2]'), (2, '[3,4]')")
        for hint in ["", "/*+ exact */ "] {
            for limit in ["0", "-0", "(1 - 1)"] {
                #expect(try db.rows("SELECT \(hint)id FROM t ORDER BY v <-> '[0,0]' LIMIT \(limit)").isEmpty)
            }
            _ = try db.execute("CREATE INDEX IF NOT EXISTS t_v ON t USING hnsw (v vector_l2_ops)")
        }
        #expect(try db.rows("SELECT id FROM t ORDER BY v <-> '[0,0]' LIMIT 0").isEmpty)
        #expect(try db.rows("SELECT id FROM t ORDER BY v <-> '[0,0]' LIMIT 1").map { $0[0].integerValue } == [1])
    }

    /// A JSON field name holding \u0000 became a column name SQLite cut short at the NUL
    /// ("unrecognized token"), an error that named neither the file nor the field.
    @Test func fieldNameWithANulIsAPlanError() throws {
        let directory = TemporaryDirectory("quiver-fuzz-regression")
        let db = try Database(path: directory.file("db"))
        let input = (FuzzCorpus.root as NSString).appendingPathComponent("jsonl/regressions/nul-in-field-name.jsonl")
        #expect {
            _ = try Importer(database: db, options: ImportOptions(table: "fresh", inputPath: input)).run()
        } throws: { error in
            "\(error)".contains("NUL") && "\(error)".contains(input)
        }
        #expect(db.catalog.table(named: "fresh") == nil)
    }

    @Test func limitWithoutAValueIsASyntaxError() throws {
        let directory = TemporaryDirectory("quiver-fuzz-regression")
        let db = try Database(path: directory.file("db"))
        _ = try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v VECTOR(2))")
        // SQLite's EXPLAIN of ANALYZE; it trapped when Quiver looked for a query after it.
        _ = try db.execute("EXPLAIN ANALYZE")
        for sql in [
            "SELECT id FROM t ORDER BY v <-> '[0,0]' LIMIT", "SELECT id FROM t ORDER BY v <-> '[0,0]' LIMIT 0x1p3",
            "SELECT id, v <-> '[",
        ] {
            #expect { _ = try db.execute(sql) } throws: { error in
                guard let error = error as? Database.StatementError else { return false }
                print(
                    "FuzzRegressionTests: \(sql.debugDescription): \(error.underlying.message) at \(String(describing: error.underlying.offset)) of \(sql.utf8.count)"
                )
                // The position is the statement's own (it was the generated SQL's, past the end).
                return
                    (error.underlying.message.contains("syntax error")
                    || error.underlying.message.contains("incomplete input")
                    || error.underlying.message.contains("unrecognized token"))
                    && (error.underlying.offset ?? 0) <= sql.utf8.count
            }
        }
    }
}
