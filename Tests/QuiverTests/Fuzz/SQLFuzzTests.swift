import Foundation
import QuiverEngine
import QuiverStorage
import Testing

/// Mutated SQL through `Database.execute` on a scratch database with a VECTOR column, a
/// compressed column and an HNSW index: every input either runs or fails with a message; a
/// script that fails changes nothing; no input hangs (the watchdog interrupts, and one that
/// cannot be interrupted is reported); and afterwards the index still agrees with the rows.
@Suite struct SQLFuzzTests {
    static let dictionary = [
        "<->", "<=>", "<#>", "::vector", "'[1,2,3,4]'", "'[", "]'", "/*+ exact */", "/*+ hnsw.ef_search = 0 */",
        " ORDER BY emb <=> ", " LIMIT ", " LIMIT -1", " LIMIT 0", ";", "BEGIN;", "COMMIT;", "ROLLBACK;",
        "SAVEPOINT s;", "RELEASE s;", " WHERE ", " JOIN docs ", " USING hnsw ", "vector_cosine_ops", "WITH (m = 1)",
        "WITH (ef_construction = 100000)", "DEDUPE docs ON ", " THRESHOLD ", "EXPLAIN ANALYZE ", "'", "\"", "--",
        "/*", "*/", "(SELECT emb FROM docs)", "NULL", "?", "?1", ":q", "$x", "@y", "VECTOR(0)", "VECTOR(16001)",
        "TEXT COMPRESSED", "x'00'", "1e39", "NaN", "'[NaN]'", "'[1,2,3]'", "'[]'", "(", ")", "CASE WHEN 1 THEN ",
        " END", "SET hnsw.ef_search = ", "REINDEX ", "CREATE INDEX i ON docs USING hnsw (emb) ", "DROP INDEX docs_emb;",
    ]

    /// A scratch database, rebuilt every few hundred inputs (the mutants delete and drop things).
    final class Scratch: @unchecked Sendable {
        let directory = TemporaryDirectory("quiver-fuzz-sql")
        private(set) var db: Database!
        private var generation = 0
        var uses = 0

        func reset() throws {
            db = nil
            generation += 1
            db = try Database(path: directory.file("db\(generation)"))
            // Scratch data: no fsync per commit.
            _ = try db.execute("PRAGMA synchronous = OFF")
            _ = try db.execute(
                "CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, lang TEXT, body TEXT COMPRESSED, emb VECTOR(4))"
            )
            var random = SeededRandom(seed: 5)
            try db.executeMany(
                "INSERT INTO docs VALUES (?, ?, ?, ?, ?)",
                (1...50).map { i in
                    SQLBindings([
                        .integer(Int64(i)), .text("title \(i) 世界"), .text(i % 3 == 0 ? "zh" : "en"),
                        .text(String(repeating: "passage \(i % 7) text ", count: 1 + i % 5)), .vector(random.vector(4)),
                    ])
                })
            _ = try db.execute(
                "CREATE INDEX docs_emb ON docs USING hnsw (emb vector_cosine_ops) WITH (m = 8, ef_construction = 32)")
            uses = 0
        }

        /// What a failed script must not change; nil once the table is gone.
        func fingerprint() -> String? {
            guard
                let rows = try? db.execute(
                    "SELECT count(*), total(id), total(length(title)), total(length(body)), total(vector_norm(emb)) FROM docs; SELECT count(*), group_concat(name) FROM sqlite_schema"
                )
            else { return nil }
            return rows.map { $0.rows.map { $0.map { "\($0)" }.joined(separator: ",") }.joined(separator: ";") }.joined(
                separator: "|")
        }
    }

    static let controlWords = ["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "VACUUM", "PRAGMA"]

    @Test func mutatedStatementsRunOrFailCleanly() throws {
        let corpus = FuzzCorpus.entries("sql")
        #expect(!corpus.isEmpty)
        let scratch = Scratch()
        try scratch.reset()
        let next = FuzzCorpus.inputs("sql", seed: FuzzLoop.seed(0x5A1), corpus: corpus, dictionary: Self.dictionary)
        let stall: @Sendable () -> Void = { scratch.db.interrupt() }
        let summary = FuzzLoop.run(
            "sql", inputs: FuzzLoop.count(5_000), next: next, onStall: stall
        ) { input in
            scratch.uses += 1
            if scratch.uses > 250 || scratch.fingerprint() == nil {
                do { try scratch.reset() } catch { return .problem("cannot rebuild the scratch database: \(error)") }
            }
            let text = String(decoding: input, as: UTF8.self)
            let upper = text.uppercased()
            let managesTransaction = Self.controlWords.contains { upper.contains($0) }
            let before = managesTransaction ? nil : scratch.fingerprint()
            defer { if managesTransaction { _ = try? scratch.db.execute("ROLLBACK") } }
            do {
                _ = try scratch.db.execute(text)
                return .accepted
            } catch {
                let message = "\(error)"
                if message.isEmpty || message.contains("Swift.") || message.contains("Optional(") {
                    return .problem("unclear error: \(message.debugDescription)")
                }
                if let statementError = error as? Database.StatementError,
                    let offset = statementError.underlying.offset,
                    offset < 0 || offset > text.utf8.count
                {
                    return .problem("error offset \(offset) outside the text: \(message)")
                }
                if let before, let after = scratch.fingerprint(), before != after {
                    return .problem("a failed script changed the database (\(message)): \(before) → \(after)")
                }
                return .rejected
            }
        }
        #expect(summary.accepted > 20 && summary.rejected > 20, "the mutants explored too little: \(summary)")

        // The index and the rows still agree, whatever the mutants did to them.
        let db = scratch.db!
        guard try db.integers("SELECT count(*) FROM sqlite_schema WHERE name = 'docs'") == [1],
            try db.integers("SELECT count(*) FROM pragma_table_info('docs') WHERE name = 'emb' AND type = 'VECTOR(4)'")
                == [1]
        else { return }
        #expect(
            try db.integers(
                "SELECT count(*) FROM docs WHERE emb IS NOT NULL AND (typeof(emb) != 'blob' OR length(emb) != 16)") == [
                    0
                ])
        let rows = try db.rows("SELECT id, emb FROM docs WHERE emb IS NOT NULL").map {
            (id: $0[0].integerValue!, vector: $0[1].vectorValue!)
        }
        var random = SeededRandom(seed: 11)
        for _ in 0..<5 {
            let q = random.vector(4)
            let viaIndex = try db.nearest(q, metric: .cosine, k: 5, table: "docs")
            let exact = try db.nearest(q, metric: .cosine, k: 5, table: "docs", hint: "/*+ exact */ ")
            let ids = Set(rows.map(\.id))
            #expect(viaIndex.allSatisfy { ids.contains($0.id) })
            #expect(
                recallOf(found: [viaIndex.map(\.id)], truth: [exact.map(\.id)]) >= 0.8,
                "index \(viaIndex.map(\.id)) vs exact \(exact.map(\.id))")
        }
    }
}
