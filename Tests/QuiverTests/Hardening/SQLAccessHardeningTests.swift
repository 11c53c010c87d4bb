import Foundation
import QuiverEngine
import QuiverStorage
import Testing

/// What SQL from a caller (restricted access: a server's user) may reach, engine-level: every
/// function and PRAGMA of the linked SQLite classified, no pointer-passing function on any
/// connection, no setting or TEMP object that outlives the script, one transaction per script.
@Suite struct SQLAccessHardeningTests {
    let directory = TemporaryDirectory("quiver-access")

    func database() throws -> Database {
        let db = try Database(path: directory.file("db"))
        _ = try db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, name TEXT)")
        return db
    }

    func names(_ db: Database, _ sql: String) throws -> [String] {
        try db.execute(sql).first?.rows.compactMap { $0.first?.textValue } ?? []
    }

    /// The refusal message of `sql` run with `access`, nil when it ran.
    func refusal(_ db: Database, _ sql: String, _ access: SQLAccess, _ bindings: SQLBindings = .none) -> String? {
        do {
            _ = try db.execute(sql, bindings, access: access)
            return nil
        } catch {
            let text = "\(error)"
            if text.contains("not authorized") || text.contains("is prohibited"), let denial = db.lastAccessDenial {
                return "\(text): \(denial)"
            }
            return text
        }
    }

    // MARK: - Inventories of this SQLite build

    @Test func everyFunctionOfThisSQLiteBuildIsClassified() throws {
        let db = try database()
        let functions = Set(try names(db, "SELECT name FROM pragma_function_list"))
        #expect(functions.count > 100 && functions.contains("json_extract") && functions.contains("cosine_distance"))
        let unclassified = functions.filter { SQLFunctionPolicy.verdict(for: $0) == nil }.sorted()
        #expect(
            unclassified.isEmpty,
            "classify these in SQLFunctionPolicy (allowed, or denied with a reason): \(unclassified)")
        for name in ["fts3_tokenizer", "load_extension", "fts5"] {
            guard case .denied = SQLFunctionPolicy.verdict(for: name) else {
                Issue.record("\(name) must be denied")
                continue
            }
        }
    }

    @Test func everyPragmaOfThisSQLiteBuildIsClassified() throws {
        let db = try database()
        let pragmas = try names(db, "SELECT name FROM pragma_pragma_list")
        #expect(pragmas.count > 50 && pragmas.contains("schema_version"))
        let unclassified = pragmas.filter { PragmaPolicy.rule(for: $0) == nil }
        #expect(unclassified.isEmpty, "classify these in PragmaPolicy: \(unclassified)")
    }

    // MARK: - Functions

    @Test func fts3TokenizerIsUnreachableOnEveryConnectionEmbeddedIncluded() throws {
        let db = try database()
        for sql in ["SELECT hex(fts3_tokenizer('simple'))", "SELECT fts3_tokenizer('simple', X'4141414141414141')"] {
            #expect(throws: (any Error).self, "embedded: \(sql)") { try db.execute(sql) }
            for access in [SQLAccess.readWrite, .readOnly] {
                let message = refusal(db, sql, access)
                #expect(
                    message?.contains("fts3_tokenizer is not allowed") == true,
                    "\(access): \(String(describing: message))")
            }
        }
        // A plain connection, outside any Database, too.
        let connection = try Connection(path: directory.file("plain.sqlite"))
        #expect(throws: (any Error).self) { try connection.query("SELECT fts3_tokenizer('simple')") }
        // The tokenizers themselves still work.
        _ = try db.execute("CREATE VIRTUAL TABLE notes USING fts3(body); INSERT INTO notes VALUES ('hello world')")
        #expect(try db.rows("SELECT count(*) FROM notes WHERE notes MATCH 'hello'") == [[.integer(1)]])
    }

    @Test func everyDeniedFunctionIsRefusedToCallers() throws {
        let db = try database()
        let calls = [
            "fts3_tokenizer": "fts3_tokenizer('simple')", "fts5": "fts5(NULL)", "load_extension": "load_extension('x')",
            "sqlite_log": "sqlite_log(1, 'x')", "total_changes": "total_changes()",
        ]
        let denied = try names(db, "SELECT DISTINCT name FROM pragma_function_list").filter {
            if case .denied = SQLFunctionPolicy.verdict(for: $0) { return true }
            return false
        }
        #expect(!denied.isEmpty)
        for name in denied {
            let call = try #require(calls[name], "add a call of \(name) to this test")
            for access in [SQLAccess.readWrite, .readOnly] {
                let message = refusal(db, "SELECT \(call)", access)
                #expect(
                    message?.contains("\(name) is not allowed") == true,
                    "\(name), \(access): \(String(describing: message))")
            }
        }
        #expect(refusal(db, "SELECT sqlite_version(), json_extract('{\"a\": 1}', '$.a'), abs(-1)", .readOnly) == nil)
    }

    // MARK: - PRAGMAs

    /// Generated from the build's list: a caller may read every PRAGMA that has a value, and set
    /// only what PragmaPolicy allows writers to set; a refused setting leaves the value as it was.
    @Test func callersSetNoPragmaOutsideTheAllowList() throws {
        let db = try database()
        for name in try names(db, "SELECT name FROM pragma_pragma_list") {
            let rule = try #require(PragmaPolicy.rule(for: name))
            let before = try db.execute("PRAGMA \(name)").first?.rows
            for access in [SQLAccess.readWrite, .readOnly] {
                let message = refusal(db, "PRAGMA \(name) = 0", access)
                switch rule {
                case .readable:
                    #expect(
                        message?.contains("cannot be set here") == true,
                        "\(name), \(access): \(String(describing: message))")
                case .writerMaySet, .writerMayRun:
                    if access == .readOnly {
                        #expect(message?.contains("read-only") == true, "\(name): \(String(describing: message))")
                    }
                case .describes:
                    continue
                }
                if case .readable = rule {
                    #expect(try db.execute("PRAGMA \(name)").first?.rows == before, "PRAGMA \(name) changed")
                    #expect(refusal(db, "PRAGMA \(name)", access) == nil, "reading \(name)")
                }
            }
        }
        #expect(refusal(db, "PRAGMA user_version = 7", .readWrite) == nil)
        #expect(try db.rows("PRAGMA user_version") == [[.integer(7)]])
        #expect(refusal(db, "PRAGMA table_info(t)", .readOnly) == nil)
        #expect(refusal(db, "SELECT * FROM pragma_table_info('t')", .readOnly) == nil)
        #expect(refusal(db, "PRAGMA no_such_pragma = 1", .readWrite)?.contains("not allowed here") == true)
    }

    @Test func schemaVersionCannotBeSetEvenEmbedded() throws {
        let db = try database()
        let version = try db.rows("PRAGMA schema_version")
        #expect(refusal(db, "PRAGMA schema_version = 1000", .readWrite)?.contains("cannot be set here") == true)
        #expect(refusal(db, "PRAGMA writable_schema = ON", .readWrite)?.contains("cannot be set here") == true)
        #expect(try db.rows("PRAGMA schema_version") == version)
        // Embedded, SQLite's defensive mode makes it do nothing.
        _ = try? db.execute("PRAGMA schema_version = 1000")
        #expect(try db.rows("PRAGMA schema_version") == version)
    }

    // MARK: - TEMP objects

    @Test func callersCreateNoTemporaryObjects() throws {
        let db = try database()
        let attempts = [
            "CREATE TEMP TABLE secret (a)", "CREATE TEMPORARY TABLE secret (a)", "CREATE TABLE temp.secret (a)",
            "CREATE TEMP TABLE t (id INTEGER PRIMARY KEY, name TEXT)", "CREATE TEMP VIEW v AS SELECT 1",
            "CREATE VIEW temp.v AS SELECT 1", "CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END",
            "CREATE TRIGGER temp.tr AFTER INSERT ON t BEGIN SELECT 1; END",
            "CREATE TEMP TABLE x AS SELECT * FROM t",
        ]
        for sql in attempts {
            for access in [SQLAccess.readWrite, .readOnly] {
                let message = refusal(db, sql, access)
                #expect(message != nil, "\(access): \(sql) ran")
                if access == .readWrite {
                    #expect(
                        message?.contains("TEMP tables, views, triggers and indexes are not allowed") == true,
                        "\(sql): \(String(describing: message))")
                }
            }
        }
        #expect(try db.rows("SELECT count(*) FROM temp.sqlite_schema") == [[.integer(0)]])
        // Embedded use keeps them.
        _ = try db.execute("CREATE TEMP TABLE mine (a)")
        #expect(try db.rows("SELECT count(*) FROM temp.sqlite_schema") == [[.integer(1)]])
    }

    // MARK: - One transaction per script

    @Test func aCallersScriptIsAllOrNothingAndCannotControlTheTransaction() throws {
        let db = try database()
        let script =
            "INSERT INTO t VALUES (400, 'a'); BEGIN; INSERT INTO t VALUES (401, 'b'); COMMIT; INSERT INTO t VALUES (400, 'dup')"
        let message = refusal(db, script, .readWrite)
        #expect(message?.contains("statement 2: BEGIN is not allowed here") == true, "\(String(describing: message))")
        for sql in [
            "COMMIT", "END", "ROLLBACK", "BEGIN IMMEDIATE", "VACUUM", "VACUUM INTO '\(directory.file("copy.db"))'",
        ] {
            #expect(refusal(db, "INSERT INTO t VALUES (402, 'c'); \(sql)", .readWrite) != nil, "\(sql)")
        }
        #expect(
            refusal(db, "VACUUM", .readWrite)?.contains(
                "VACUUM is not allowed here: it cannot run inside the transaction") == true)
        #expect(try db.rows("SELECT count(*) FROM t") == [[.integer(0)]], "nothing of the refused scripts ran")
        #expect(!FileManager.default.fileExists(atPath: directory.file("copy.db")))

        // Savepoints nest inside the script's transaction; a later error still undoes all of it.
        #expect(
            refusal(
                db,
                "INSERT INTO t VALUES (1, 'a'); SAVEPOINT s; INSERT INTO t VALUES (2, 'b'); ROLLBACK TO s; RELEASE s; INSERT INTO t VALUES (3, 'c')",
                .readWrite) == nil)
        #expect(try db.rows("SELECT id FROM t ORDER BY id") == [[.integer(1)], [.integer(3)]])
        #expect(
            refusal(
                db,
                "INSERT INTO t VALUES (4, 'd'); SAVEPOINT s; INSERT INTO t VALUES (5, 'e'); RELEASE s; INSERT INTO t VALUES (1, 'dup')",
                .readWrite) != nil)
        #expect(try db.rows("SELECT id FROM t ORDER BY id") == [[.integer(1)], [.integer(3)]])
        #expect(!db.isInTransaction)
        // Embedded use keeps BEGIN … COMMIT.
        _ = try db.execute("BEGIN; INSERT INTO t VALUES (10, 'x'); COMMIT")
        #expect(try db.rows("SELECT count(*) FROM t") == [[.integer(3)]])
    }

    @Test func aCallersEfSearchLastsForItsScript() throws {
        let db = try database()
        #expect(
            try db.execute("SET hnsw.ef_search = 7; SHOW hnsw.ef_search", access: .readOnly).first?.rows == [
                [.integer(7)]
            ])
        #expect(try db.execute("SHOW hnsw.ef_search", access: .readOnly).first?.rows == [[.integer(40)]])
        #expect(
            try db.execute("SET LOCAL hnsw.ef_search = 9; SHOW hnsw.ef_search", access: .readWrite).first?.rows == [
                [.integer(9)]
            ])
        #expect(
            try db.execute("SET hnsw.ef_search = 11; RESET hnsw.ef_search; SHOW hnsw.ef_search", access: .readWrite)
                .first?.rows == [[.integer(40)]])
        #expect(try db.execute("SHOW hnsw.ef_search", access: .readWrite).first?.rows == [[.integer(40)]])
        // Embedded, SET keeps its meaning: the connection's setting from now on.
        _ = try db.execute("SET hnsw.ef_search = 123")
        #expect(try db.rows("SHOW hnsw.ef_search") == [[.integer(123)]])
        #expect(
            try db.execute("SET hnsw.ef_search = 5; SHOW hnsw.ef_search", access: .readOnly).first?.rows == [
                [.integer(5)]
            ])
        #expect(
            try db.rows("SHOW hnsw.ef_search") == [[.integer(123)]],
            "a caller's SET does not change the connection's own")
    }

    @Test func everyParameterValueACallerGivesIsUsed() throws {
        let db = try database()
        #expect(
            refusal(db, "SELECT ?1", .readOnly, SQLBindings([.integer(1), .integer(2)]))?.contains(
                "?2 given but used by no statement") == true)
        #expect(
            refusal(db, "SELECT ?", .readOnly, SQLBindings([.integer(1), .integer(2)]))?.contains(
                "?2 given but used by no statement") == true)
        #expect(
            refusal(db, "SELECT ?2", .readOnly, SQLBindings([.integer(1), .integer(2)]))?.contains(
                "?1 given but used by no statement") == true)
        #expect(
            refusal(db, "SELECT :a", .readOnly, SQLBindings(named: ["a": .integer(1), "b": .integer(2)]))?.contains(
                ":b given but used by no statement") == true)
        #expect(
            refusal(db, "SELECT 1", .readOnly, SQLBindings(named: ["a": .integer(1)]))?.contains(":a given") == true)
        #expect(
            refusal(
                db, "SELECT ?1, ?2, :a, @b, $c", .readOnly,
                SQLBindings([.integer(1), .integer(2)], named: ["a": .integer(1), "b": .integer(2), "c": .integer(3)]))
                == nil)
        #expect(refusal(db, "SELECT ?; SELECT ?", .readOnly, SQLBindings([.integer(1), .integer(2)])) == nil)
        #expect(refusal(db, "SELECT ?1; SELECT ?1 + 1", .readOnly, SQLBindings([.integer(1)])) == nil)
    }

    @Test func aStatementNamesABoundedNumberOfParameters() throws {
        let db = try database()
        let names = (1...1_000).map { "p\($0)" }
        let values = Dictionary(uniqueKeysWithValues: names.map { ($0, SQLValue.integer(1)) })
        let atLimit = "SELECT 1 IN (" + names.map { ":\($0)" }.joined(separator: ", ")
        #expect(refusal(db, atLimit + ")", .readOnly, SQLBindings(named: values)) == nil)
        #expect(
            try db.execute(atLimit + ")", SQLBindings(named: values), access: .readOnly).first?.rows == [[.integer(1)]])
        let over = atLimit + ", :extra)"
        var overValues = values
        overValues["extra"] = .integer(1)
        #expect(
            refusal(db, over, .readOnly, SQLBindings(named: overValues))?.contains(
                "named or numbered parameters in one statement; the limit is 1000") == true)
        // Plain ? are numbered without a look-up: no such bound.
        let plain = "SELECT 1 IN (" + Array(repeating: "?", count: 5_000).joined(separator: ", ") + ")"
        #expect(
            try db.execute(plain, SQLBindings(Array(repeating: .integer(1), count: 5_000)), access: .readOnly).first?
                .rows == [[.integer(1)]])
    }

    @Test func callersReadNoConnectionInternalsAndCreateOnlyDataModules() throws {
        let db = try database()
        #expect(
            refusal(db, "SELECT sql FROM sqlite_stmt", .readOnly)?.contains("sqlite_stmt is not readable here") == true)
        #expect(
            refusal(db, "CREATE VIRTUAL TABLE s USING sqlite_stmt", .readWrite)?.contains(
                "USING sqlite_stmt are not allowed") == true)
        #expect(refusal(db, "CREATE VIRTUAL TABLE docs_fts USING fts5(body)", .readWrite) == nil)
        #expect(refusal(db, "CREATE VIRTUAL TABLE boxes USING rtree(id, x0, x1)", .readWrite) == nil)
    }
}
