import Foundation
import QuiverClient
import QuiverEngine
import QuiverImport
import QuiverJSON
import QuiverKernels
import QuiverStorage
import Testing

/// Full-text indexes as an index kind: CREATE/DROP/REINDEX … USING fts, `column MATCH query`,
/// and the index agreeing with the rows after every kind of write. "Agrees" means: for a set
/// of queries, MATCH gives exactly the rows an oracle over the current rows gives (a Chinese
/// word: the rows containing it; an English word: the rows holding it as a word), and the index
/// holds one document per row with text, so nothing stale is left behind.
@Suite struct FullTextIndexTests {
    static let chinese = ["价格", "钢铁", "语料", "月", "山", "下跌", "知识库", "今年", "市场", "数据"]
    static let english = ["steel", "price", "corpus", "moon", "market", "data", "falls", "year"]
    static let queries = chinese + english

    /// A document of a few Chinese and English words, from the seed.
    static func document(_ random: inout SeededRandom) -> String {
        (0..<Int.random(in: 2...6, using: &random)).map { _ in
            Bool.random(using: &random)
                ? chinese.randomElement(using: &random)! : english.randomElement(using: &random)!
        }.joined(separator: Bool.random(using: &random) ? " " : "，")
    }

    /// Whether `text` holds `query` as the oracle reads it.
    static func oracle(_ text: String, holds query: String) -> Bool {
        guard query.unicodeScalars.allSatisfy({ $0.isASCII }) else { return text.contains(query) }
        return text.lowercased().split(whereSeparator: { !$0.isLetter || !$0.isASCII }).contains { $0 == query }
    }

    /// Checks that MATCH on every query gives exactly the oracle's rows, and that the index holds
    /// one document per row with text in an indexed column. Outside a transaction, also that
    /// every commit left nothing to apply (a search applies what its own transaction wrote).
    static func expectAgreement(
        _ db: Database, table: String = "docs", column: String = "body", index: String = "docs_body",
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let pending = try db.rows("SELECT count(*) FROM \"_quiver_fts_\(index)_pending\"")[0][0].integerValue
        #expect(db.isInTransaction || pending == 0, "notes left unapplied", sourceLocation: sourceLocation)
        var texts: [Int64: String] = [:]
        for row in try db.rows("SELECT rowid, \(column) FROM \(table)") {
            if case .text(let text) = row[1] { texts[row[0].integerValue!] = text }
        }
        for query in queries {
            let found = Set(
                try db.rows("SELECT rowid FROM \(table) WHERE \(column) MATCH ?", SQLBindings([.text(query)])).map {
                    $0[0].integerValue!
                })
            let expected = Set(texts.filter { oracle($0.value, holds: query) }.keys)
            #expect(found == expected, "query \(query)", sourceLocation: sourceLocation)
        }
        let documents = try db.rows("SELECT count(*) FROM \"_quiver_fts_\(index)_docsize\"")[0][0].integerValue
        #expect(documents == Int64(texts.count), "documents in the index", sourceLocation: sourceLocation)
    }

    static func seededDatabase(
        _ directory: TemporaryDirectory, rows: Int = 200, type: String = "TEXT", seed: UInt64 = 7
    ) throws -> Database {
        let db = try Database(path: directory.file("db"))
        try db.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, lang TEXT, body \(type))")
        var random = SeededRandom(seed: seed)
        try db.transaction(.immediate) {
            for id in 1...rows {
                try db.execute(
                    "INSERT INTO docs VALUES (?, ?, ?)",
                    SQLBindings([.integer(Int64(id)), .text(id % 3 == 0 ? "en" : "zh"), .text(document(&random))]))
            }
        }
        return db
    }

    @Test func createFindsEveryRowThenDropAndReindex() throws {
        let directory = TemporaryDirectory()
        let db = try Self.seededDatabase(directory)
        try db.execute("CREATE INDEX docs_body ON docs USING fts (body)")
        try Self.expectAgreement(db)
        #expect(try db.currentCatalog().fullTextIndexes.map(\.name) == ["docs_body"])
        try db.execute("CREATE INDEX IF NOT EXISTS docs_body ON docs USING fts (body)")
        #expect(Self.failure(db, "CREATE INDEX docs_body ON docs USING fts (body)") == "index docs_body already exists")
        #expect(
            Self.failure(db, "CREATE INDEX docs_body ON docs USING hnsw (body)") == "index docs_body already exists")

        try db.execute("REINDEX docs_body")
        try Self.expectAgreement(db)

        try db.execute("DROP INDEX docs_body")
        #expect(try db.currentCatalog().fullTextIndexes.isEmpty)
        #expect(try db.rows("SELECT count(*) FROM sqlite_schema WHERE name LIKE '%quiver_fts%'")[0][0] == .integer(0))
        #expect(try db.rows("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'quiver:fts%'")[0][0] == .integer(0))
        try db.execute("DROP INDEX IF EXISTS docs_body")
    }

    @Test func errorsNameTheProblemAndLeaveNothing() throws {
        let directory = TemporaryDirectory()
        let db = try Self.seededDatabase(directory, rows: 5)
        try db.execute("CREATE TABLE v (id INTEGER PRIMARY KEY, e VECTOR(2), n INTEGER)")
        let schemaBefore = try db.rows("SELECT name FROM sqlite_schema ORDER BY name")
        func failure(_ sql: String) -> String {
            do {
                try db.execute(sql)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(failure("CREATE INDEX x ON v USING fts (e)").contains("TEXT or TEXT COMPRESSED"))
        #expect(failure("CREATE INDEX x ON v USING fts (n)").contains("TEXT or TEXT COMPRESSED"))
        #expect(failure("CREATE INDEX x ON docs USING fts (nope)").contains("no such column"))
        #expect(failure("CREATE INDEX x ON nope USING fts (body)").contains("no such table"))
        #expect(failure("CREATE INDEX x ON docs USING fts (body, BODY)").contains("twice"))
        #expect(failure("CREATE INDEX x ON docs USING fts ()").contains("expected (column"))
        #expect(failure("CREATE INDEX x ON docs USING fts (body) extra").contains("unexpected"))
        // A failure after the tables were made (the name of a SQLite index) leaves nothing either.
        try db.execute("CREATE INDEX docs_lang ON docs (lang)")
        #expect(failure("CREATE INDEX docs_lang ON docs USING fts (body)").contains("already exists"))
        try db.execute("DROP INDEX docs_lang")
        #expect(try db.rows("SELECT name FROM sqlite_schema ORDER BY name") == schemaBefore)

        #expect(failure("SELECT id FROM docs WHERE body MATCH '价格'").contains("no full-text index on docs.body"))
        try db.execute("CREATE INDEX docs_body ON docs USING fts (body)")
        #expect(failure("SELECT id FROM docs WHERE lang MATCH 'zh'").contains("no full-text index on docs.lang"))
        #expect(failure("SELECT id FROM docs WHERE body MATCH '\"价格'").contains("docs.body"))
        #expect(failure("SELECT id FROM docs WHERE body MATCH ''").contains("empty"))
        #expect(failure("SELECT id FROM docs WHERE body MATCH 'NOT'").contains("docs.body"))
        // An index from another tokenizer version is refused until REINDEX.
        try db.execute("UPDATE _quiver_fulltext_indexes SET tokenizer_version = 0")
        let reopened = try Database(path: directory.file("db"))
        #expect(Self.failure(reopened, "SELECT id FROM docs WHERE body MATCH '价格'").contains("REINDEX \"docs_body\""))
        try reopened.execute("REINDEX docs_body")
        try Self.expectAgreement(reopened)
    }

    static func failure(_ db: Database, _ sql: String) -> String {
        do {
            try db.execute(sql)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test(arguments: ["TEXT", "TEXT COMPRESSED"])
    func everyKindOfWriteKeepsTheIndexInStep(type: String) throws {
        let directory = TemporaryDirectory()
        let db = try Self.seededDatabase(directory, type: type)
        try db.execute("CREATE INDEX docs_body ON docs USING fts (body)")
        var random = SeededRandom(seed: 11)
        let long = String(repeating: "钢铁价格今年持续下跌 steel prices fall ", count: 6)
        let writes: [(String, SQLBindings)] = [
            ("INSERT INTO docs (lang, body) VALUES ('zh', ?)", SQLBindings([.text(Self.document(&random))])),
            ("INSERT INTO docs (lang, body) VALUES ('zh', ?)", SQLBindings([.text(long)])),
            ("UPDATE docs SET body = ? WHERE id % 7 = 0", SQLBindings([.text(Self.document(&random))])),
            ("UPDATE docs SET body = body || ' moon 山' WHERE id % 5 = 1", .none),
            ("UPDATE docs SET body = NULL WHERE id % 11 = 0", .none),
            ("UPDATE docs SET body = ? WHERE id = 22", SQLBindings([.text(long)])),
            ("UPDATE docs SET id = id + 1000 WHERE id % 13 = 0", .none),
            ("UPDATE docs SET lang = 'xx' WHERE id % 2 = 0", .none),
            ("DELETE FROM docs WHERE id % 17 = 0", .none),
            (
                "INSERT INTO docs VALUES (3, 'en', 'corpus data') ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                .none
            ),
            ("INSERT OR REPLACE INTO docs VALUES (4, 'en', 'market year')", .none),
            ("REPLACE INTO docs VALUES (1000, 'zh', '语料 知识库')", .none),
            ("INSERT OR IGNORE INTO docs VALUES (5, 'en', 'ignored words')", .none),
            ("INSERT INTO docs (id, lang, body) SELECT id + 5000, lang, body FROM docs WHERE id < 50", .none),
        ]
        for (sql, bindings) in writes {
            try db.execute(sql, bindings)
            try Self.expectAgreement(db)
        }
        // Several writes in one transaction, a search inside it seeing them, then a rollback.
        let before = try db.rows("SELECT id, body FROM docs ORDER BY id")
        #expect(throws: (any Error).self) {
            try db.transaction(.immediate) {
                try db.execute("UPDATE docs SET body = 'moon' WHERE id < 100")
                try db.execute("DELETE FROM docs WHERE id > 150")
                try Self.expectAgreement(db)
                throw CancellationError()
            }
        }
        #expect(try db.rows("SELECT id, body FROM docs ORDER BY id") == before)
        try Self.expectAgreement(db)
        // A savepoint rolled back inside a transaction that commits.
        try db.transaction(.immediate) {
            try db.execute("UPDATE docs SET body = 'falls' WHERE id < 30")
            try? db.savepoint("inner") {
                try db.execute("DELETE FROM docs WHERE id < 60")
                try db.execute("INSERT INTO docs (lang, body) VALUES ('en', 'price corpus')")
                throw CancellationError()
            }
        }
        try Self.expectAgreement(db)
        // A script that manages its own transaction, and statements outside any.
        try db.execute(
            "PRAGMA foreign_keys = ON; UPDATE docs SET body = 'steel' WHERE id = 40; BEGIN; DELETE FROM docs WHERE id = 41; COMMIT"
        )
        try Self.expectAgreement(db)
        // executeMany (prepared once, run per binding set).
        try db.executeMany(
            "UPDATE docs SET body = ? WHERE id = ?",
            [SQLBindings([.text("数据 data"), .integer(42)]), SQLBindings([.text("月"), .integer(43)])])
        try Self.expectAgreement(db)
    }

    @Test func severalColumnsAndQualifiedColumnsInJoins() throws {
        let directory = TemporaryDirectory()
        let db = try Database(path: directory.file("db"))
        try db.execute(
            """
            CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, body TEXT COMPRESSED);
            CREATE TABLE tags (doc_id INTEGER, tag TEXT);
            INSERT INTO docs VALUES (1, '钢铁价格', 'steel prices fall'), (2, 'market', '语料 corpus'), (3, NULL, NULL);
            INSERT INTO tags VALUES (1, 'a'), (2, 'b');
            CREATE INDEX docs_text ON docs USING fts (title, body);
            """)
        #expect(try db.rows("SELECT id FROM docs WHERE title MATCH '价格'").map { $0[0] } == [.integer(1)])
        #expect(try db.rows("SELECT id FROM docs WHERE body MATCH '价格'").isEmpty)
        #expect(try db.rows("SELECT id FROM docs WHERE body MATCH 'corpus OR steel' ORDER BY id").count == 2)
        #expect(
            try db.rows("SELECT t.tag FROM docs AS d JOIN tags t ON t.doc_id = d.id WHERE d.body MATCH '语料'")
                == [[.text("b")]])
        #expect(
            try db.rows("SELECT tag FROM tags, docs WHERE doc_id = docs.id AND title MATCH 'market'") == [[.text("b")]])
        #expect(try db.rows("SELECT count(*) FROM \"_quiver_fts_docs_text_docsize\"")[0][0] == .integer(2))
        // Renames follow; dropping an indexed column drops the index.
        try db.execute("ALTER TABLE docs RENAME TO articles")
        try db.execute("ALTER TABLE articles RENAME COLUMN body TO content")
        try db.execute("INSERT INTO articles VALUES (4, 'moon', '山')")
        #expect(try db.rows("SELECT id FROM articles WHERE content MATCH '山'") == [[.integer(4)]])
        #expect(try db.currentCatalog().fullTextIndexes.first?.columns == ["title", "content"])
        try db.execute("ALTER TABLE articles DROP COLUMN content")
        #expect(try db.currentCatalog().fullTextIndexes.isEmpty)
        #expect(try db.rows("SELECT count(*) FROM sqlite_schema WHERE name LIKE '%quiver_fts%'")[0][0] == .integer(0))
        try db.execute("CREATE INDEX a_title ON articles USING fts (title)")
        try db.execute("DROP TABLE articles")
        #expect(try db.currentCatalog().fullTextIndexes.isEmpty)
        #expect(try db.rows("SELECT count(*) FROM sqlite_schema WHERE name LIKE '%quiver_fts%'")[0][0] == .integer(0))
    }

    @Test func matchCombinesWithFiltersAndNearestNeighbours() throws {
        let directory = TemporaryDirectory()
        let db = try Database(path: directory.file("db"))
        try db.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, lang TEXT, body TEXT, emb VECTOR(8))")
        var random = SeededRandom(seed: 3)
        var rows: [(id: Int64, lang: String, body: String, vector: [Float])] = []
        try db.transaction(.immediate) {
            for id in 1...600 {
                let row = (Int64(id), id % 4 == 0 ? "en" : "zh", Self.document(&random), random.vector(8))
                rows.append(row)
                try db.execute(
                    "INSERT INTO docs VALUES (?, ?, ?, ?)",
                    SQLBindings([.integer(row.0), .text(row.1), .text(row.2), .text(vectorLiteral(row.3))]))
            }
        }
        try db.execute("CREATE INDEX docs_emb ON docs USING hnsw (emb)")
        try db.execute("CREATE INDEX docs_body ON docs USING fts (body)")
        let query = random.vector(8)
        for term in ["语料", "steel", "月"] {
            let matching = rows.filter { $0.lang == "zh" && Self.oracle($0.body, holds: term) }
            let expected = bruteForce(matching.map { ($0.id, $0.vector) }, query: query, metric: .cosine, k: 10)
            let found = try db.rows(
                "SELECT id FROM docs WHERE lang = 'zh' AND body MATCH ? ORDER BY emb <=> ? LIMIT 10",
                SQLBindings([.text(term), .text(vectorLiteral(query))]))
            #expect(found.map { $0[0].integerValue! } == expected.map(\.id), "term \(term)")
            let filtered = try db.rows(
                "SELECT id FROM docs WHERE body MATCH ? AND lang = 'zh' ORDER BY id", SQLBindings([.text(term)]))
            #expect(filtered.map { $0[0].integerValue! } == matching.map(\.id))
        }
    }

    @Test func importsAndDedupeDeletionsKeepTheIndexInStep() throws {
        let directory = TemporaryDirectory()
        let db = try Self.seededDatabase(directory, rows: 50)
        try db.execute("CREATE INDEX docs_body ON docs USING fts (body)")
        var random = SeededRandom(seed: 5)
        let lines = (40...140).map { id in
            let body = Self.document(&random).replacingOccurrences(of: "\"", with: "")
            return "{\"id\": \(id), \"lang\": \"zh\", \"body\": \"\(body)\"}"
        }
        let file = directory.file("docs.jsonl")
        FileManager.default.createFile(atPath: file, contents: Data(lines.joined(separator: "\n").utf8))
        var options = ImportOptions(table: "docs", inputPath: file)
        options.batchSize = 16
        _ = try Importer(database: db, options: options).run()
        #expect(try db.rows("SELECT count(*) FROM docs")[0][0] == .integer(140))
        try Self.expectAgreement(db)

        try db.execute("INSERT INTO docs (lang, body) SELECT lang, body FROM docs WHERE id <= 30")
        let inScope = try db.execute("DEDUPE docs ON body EXACT WHERE body MATCH '价格' DRY RUN")[0].rows
        let priced = Set(try db.rows("SELECT id FROM docs WHERE body MATCH '价格'").map { $0[0].integerValue! })
        #expect(!inScope.isEmpty && inScope.allSatisfy { priced.contains($0[2].integerValue!) })
        try db.execute("DEDUPE docs ON body EXACT")
        try Self.expectAgreement(db)
    }

    /// kill -9 at moments spread over a large UPDATE (and the notes applied before its commit)
    /// in a child `quiver sql`: reopened, the index agrees with the rows, with no rebuild. The
    /// first run finishes and sets the pace; the others are killed at fractions of its time.
    @Test func killDuringALargeUpdateLeavesTheIndexInStep() throws {
        let binary = try QuiverBinary.path()
        let directory = TemporaryDirectory()
        let path = directory.file("db")
        do {
            let db = try Self.seededDatabase(directory, rows: 20_000, type: "TEXT COMPRESSED")
            try db.execute("CREATE INDEX docs_body ON docs USING fts (body)")
        }
        let scriptPath = directory.file("update.sql")
        var fullRun: TimeInterval = 120
        var kills = 0
        for (attempt, fraction) in [1.0, 0.1, 0.25, 0.4, 0.55, 0.7].enumerated() {
            let word = Self.queries[attempt % Self.queries.count]
            let script = """
                UPDATE docs SET body = body || ' \(word) moon' WHERE id % 3 = \(attempt % 3);
                UPDATE docs SET body = replace(body, '价格', '月') WHERE id % 2 = 0;
                DELETE FROM docs WHERE id % 97 = \(attempt);
                INSERT INTO docs (lang, body) SELECT lang, body || ' 山' FROM docs WHERE id % 50 = \(attempt);
                """
            try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
            let outcome = try KillableChild.run(
                binary, ["sql", "--db", path], stdinPath: scriptPath, killAfter: fullRun * fraction)
            if attempt == 0 { fullRun = outcome.elapsed }
            if outcome.killed { kills += 1 } else { #expect(outcome.status == 0, "\(outcome.stderr.prefix(500))") }
            let reopened = try Database(path: path)
            try Self.expectAgreement(reopened)
        }
        #expect(kills >= 2, "only \(kills) of 5 runs were killed")
    }

    @Test func bm25RanksTheRowsMatchFinds() throws {
        let directory = TemporaryDirectory()
        let db = try Database(path: directory.file("db"))
        try db.execute(
            """
            CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT);
            INSERT INTO docs VALUES (1, 'steel market data year falls'), (2, 'steel steel steel'), (3, 'moon'),
                (4, 'steel price'), (5, '钢铁价格');
            CREATE INDEX docs_body ON docs USING fts (body);
            """)
        let ranked = try db.rows(
            "SELECT id, bm25(body) FROM docs WHERE body MATCH ? ORDER BY bm25(body), id", SQLBindings([.text("steel")]))
        #expect(ranked.map { $0[0] } == [.integer(2), .integer(4), .integer(1)])
        let scores = ranked.compactMap { $0[1].doubleValue }
        #expect(scores.count == 3 && scores == scores.sorted() && scores.allSatisfy { $0 < 0 })
        #expect(
            try db.rows("SELECT d.id FROM docs d WHERE d.body MATCH '价格' ORDER BY bm25(d.body)") == [[.integer(5)]])
        #expect(Self.failure(db, "SELECT id FROM docs ORDER BY bm25(body)").contains("add body MATCH"))
    }

    /// A server's upserts keep the index in step, a caller's SQL searches it, and GET /tables
    /// lists it with its kind and columns.
    @Test func serverUpsertsKeepTheIndexInStepAndTablesListIt() throws {
        let directory = TemporaryDirectory("quiver-serve")
        let path = directory.file("db")
        do {
            let db = try Self.seededDatabase(directory, rows: 30)
            try db.execute("CREATE INDEX docs_body ON docs USING fts (body)")
        }
        let server = try ServerProcess(database: path)
        let client = server.client()
        let rows: [JSONValue] = [
            ["id": 3, "lang": "zh", "body": "语料 知识库"], ["id": 31, "lang": "en", "body": "moon market"],
            ["id": 4, "lang": "en", "body": .null],
        ]
        try client.call("POST", "/tables/docs/rows", ["rows": .array(rows)])
        let found = try client.sql("SELECT id FROM docs WHERE body MATCH '语料' AND id = 3")
        #expect(found.first?.rows == [[.integer(3)]])
        let table = try client.call("GET", "/tables/docs")
        #expect(table["indexes"]?[0]?["kind"]?.stringValue == "fts")
        #expect(table["indexes"]?[0]?["columns"]?[0]?.stringValue == "body")
        #expect(server.stop() == 0)
        try Self.expectAgreement(try Database(path: path))
    }

    /// The shell lists a full-text index beside a vector index: `.indexes` with its kind and
    /// columns, `.schema` with the statement that makes it.
    @Test func theShellListsFullTextIndexes() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("db")
        do {
            let db = try Database(path: path)
            try db.execute(
                """
                CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, body TEXT COMPRESSED, emb VECTOR(2));
                CREATE INDEX docs_emb ON docs USING hnsw (emb);
                CREATE INDEX docs_text ON docs USING fts (title, body);
                """)
        }
        let outcome = try QuiverBinary.run(["shell", "--db", path], stdin: ".indexes\n.schema docs\n")
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let lines = outcome.stdout.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        #expect(lines.contains { $0.contains("| docs_text | docs | fts | title, body |") })
        #expect(lines.contains { $0.contains("| docs_emb | docs | hnsw |") })
        #expect(lines.contains("CREATE INDEX docs_text ON docs USING fts (title, body);"))
    }

    /// A connection opened before the index was made keeps it in step with its own writes, and
    /// one opened before a REINDEX searches the rebuilt index.
    @Test func otherConnectionsFollowCreateAndReindex() throws {
        let directory = TemporaryDirectory()
        let first = try Self.seededDatabase(directory, rows: 40)
        let second = try Database(path: directory.file("db"))
        #expect(try second.rows("SELECT count(*) FROM docs")[0][0] == .integer(40))
        try first.execute("CREATE INDEX docs_body ON docs USING fts (body)")
        try second.execute("INSERT INTO docs (lang, body) VALUES ('zh', '语料 moon'); DELETE FROM docs WHERE id = 1")
        try second.execute("UPDATE docs SET body = '知识库' WHERE id = 2")
        try Self.expectAgreement(first)
        try first.execute("REINDEX docs_body")
        try Self.expectAgreement(second)
    }
}
