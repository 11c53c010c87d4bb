import Foundation
import QuiverEngine
import QuiverStorage
import Testing

@Suite struct SQLTests {
    let directory = TemporaryDirectory()
    var path: String { directory.file("db") }

    @Test func databaseIsADirectoryCreatedOnFirstUse() throws {
        _ = try Database(path: path)
        #expect(FileManager.default.fileExists(atPath: path + "/QUIVER"))
        #expect(FileManager.default.fileExists(atPath: path + "/rows.sqlite"))
        // An unrelated, non-empty directory is refused and left as it was.
        let other = directory.file("other")
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try "notes".write(toFile: other + "/notes.txt", atomically: true, encoding: .utf8)
        #expect(throws: DatabaseDirectory.InvalidDirectory.self) { try Database(path: other) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: other) == ["notes.txt"])
        #expect(throws: DatabaseDirectory.InvalidDirectory.self) {
            try Database(path: directory.file("missing"), create: false)
        }
    }

    @Test func sqliteDialectWorksAsIs() throws {
        let db = try Database(path: path)
        _ = try db.execute(
            """
            CREATE TABLE documents (id INTEGER PRIMARY KEY, title TEXT, dept TEXT, year INTEGER);
            CREATE TABLE chunks (id INTEGER PRIMARY KEY, doc_id INTEGER REFERENCES documents(id), body TEXT);
            CREATE INDEX chunks_doc ON chunks(doc_id);
            INSERT INTO documents VALUES (1, 'Policy', 'legal', 2023), (2, 'Guide', 'eng', 2021), (3, 'Memo', 'legal', 2020);
            INSERT INTO chunks (doc_id, body) VALUES (1, 'a'), (1, 'b'), (2, 'c'), (3, 'd');
            UPDATE documents SET year = year + 1 WHERE dept = 'eng';
            DELETE FROM chunks WHERE body = 'd';
            """)
        let joined = try db.rows(
            """
            WITH per_doc AS (SELECT doc_id, count(*) AS n FROM chunks GROUP BY doc_id)
            SELECT d.title, p.n FROM documents d JOIN per_doc p ON p.doc_id = d.id
            WHERE d.year >= 2022 ORDER BY d.title
            """)
        #expect(joined == [[.text("Guide"), .integer(1)], [.text("Policy"), .integer(2)]])
        #expect(try db.rows("SELECT journal_mode FROM pragma_journal_mode") == [[.text("wal")]])
    }

    @Test func scriptsAreAllOrNothing() throws {
        let db = try Database(path: path)
        _ = try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
        #expect(throws: Database.StatementError.self) {
            try db.execute("INSERT INTO t VALUES (1, 'a'); INSERT INTO t VALUES (2, NULL)")
        }
        #expect(try db.integers("SELECT count(*) FROM t") == [0])
        do {
            _ = try db.execute("INSERT INTO t VALUES (1, 'a'); SELEC 1")
            Issue.record("expected a syntax error")
        } catch let error as Database.StatementError {
            #expect(error.statementIndex == 2)
            #expect(error.description.contains("statement 2"))
            #expect(error.underlying.message.contains("syntax error"))
        }
        #expect(try db.integers("SELECT count(*) FROM t") == [0])
        // A script that manages its own transaction keeps what it committed.
        #expect(throws: Database.StatementError.self) {
            try db.execute("BEGIN; INSERT INTO t VALUES (1, 'a'); COMMIT; INSERT INTO t VALUES (2, NULL)")
        }
        #expect(try db.integers("SELECT id FROM t") == [1])
    }

    /// PRAGMAs that cannot change inside a transaction work as in sqlite3, and take effect.
    @Test func pragmasThatSetConnectionStateWork() throws {
        let db = try Database(path: path)
        _ = try db.execute("PRAGMA synchronous = OFF")
        #expect(try db.integers("PRAGMA synchronous") == [0])
        _ = try db.execute("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL")
        #expect(try db.integers("PRAGMA foreign_keys") == [1])
        #expect(try db.integers("PRAGMA synchronous") == [1])
        _ = try db.execute(
            "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (id INTEGER PRIMARY KEY, p INTEGER REFERENCES p(id))"
        )
        #expect(throws: Database.StatementError.self) { try db.execute("INSERT INTO c VALUES (1, 42)") }
        #expect(try db.integers("SELECT count(*) FROM c") == [0])
    }

    @Test func severalSelectsReturnSeveralResults() throws {
        let db = try Database(path: path)
        let results = try db.execute("SELECT 1 AS a; CREATE TABLE x (y); SELECT 'two' AS b, NULL AS c")
        #expect(results.count == 2)
        #expect(results[1].columns == ["b", "c"])
        #expect(results[1].rows == [[.text("two"), .null]])
    }

    @Test func boundParametersPositionalAndNamed() throws {
        let db = try Database(path: path)
        _ = try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        _ = try db.execute("INSERT INTO t VALUES (?, ?), (?, :name)", SQLBindings([1, "a", 2], named: ["name": "b"]))
        #expect(try db.rows("SELECT v FROM t WHERE id = ?", SQLBindings([2])) == [[.text("b")]])
        #expect(throws: Database.StatementError.self) { try db.execute("SELECT :missing") }
        #expect { try db.execute("INSERT INTO t VALUES (?, ?)", SQLBindings([9])) } throws: {
            "\($0)".contains("2 ? parameters but 1 value given")
        }
        #expect { try db.execute("SELECT ?") } throws: { "\($0)".contains("1 ? parameter but 0 values given") }

        // Across a script, each plain ? takes the next value, as the text reads.
        _ = try db.execute(
            "INSERT INTO t VALUES (?, ?); UPDATE t SET v = ? WHERE id = ?", SQLBindings([3, "c", "B", 2]))
        #expect(
            try db.rows("SELECT id, v FROM t ORDER BY id") == [
                [.integer(1), .text("a")], [.integer(2), .text("B")], [.integer(3), .text("c")],
            ])
        #expect {
            try db.execute("INSERT INTO t VALUES (?, 'x'); DELETE FROM t WHERE id = ?", SQLBindings([4]))
        } throws: {
            "\($0)".contains("2 ? parameters and 1 values")
        }
        #expect(try db.integers("SELECT count(*) FROM t") == [3], "the refused script changed nothing")
        // Numbered and named parameters mean the same values in every statement.
        _ = try db.execute(
            "INSERT INTO t VALUES (?1, ?2); UPDATE t SET v = ?2 || '!' WHERE id = ?1", SQLBindings([5, "e"]))
        #expect(try db.rows("SELECT v FROM t WHERE id = 5") == [[.text("e!")]])
    }

    @Test func readersAreNotBlockedByAWriter() throws {
        let writer = try Database(path: path)
        _ = try writer.execute("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1)")
        let reader = try Database(path: path)
        _ = try writer.execute("BEGIN IMMEDIATE; INSERT INTO t VALUES (2)")
        // The reader sees the last committed state at once, not the writer's open transaction.
        #expect(try reader.integers("SELECT count(*) FROM t") == [1])
        _ = try writer.execute("COMMIT")
        #expect(try reader.integers("SELECT count(*) FROM t") == [2])
    }

    @Test func vectorColumnsAreDeclaredWithADimension() throws {
        let db = try Database(path: path)
        #expect { try db.execute("CREATE TABLE bad (e VECTOR)") } throws: { "\($0)".contains("needs its dimension") }
        #expect { try db.execute("CREATE TABLE bad (e VECTOR(0))") } throws: { "\($0)".contains("between 1 and") }
        #expect { try db.execute("CREATE TABLE bad (id TEXT PRIMARY KEY, e VECTOR(2)) WITHOUT ROWID") } throws: {
            "\($0)".contains("WITHOUT ROWID")
        }
        #expect(
            try db.integers("SELECT count(*) FROM sqlite_schema WHERE name = 'bad'") == [0], "failed DDL is rolled back"
        )
        _ = try db.execute("CREATE TABLE ok (id INTEGER PRIMARY KEY, e vector ( 3 ) NOT NULL)")
        #expect(db.catalog.table(named: "ok")?.column(named: "e")?.kind == .vector(dimension: 3))
    }

    @Test(arguments: [
        ("'[1, 2]'", "expected 3 dimensions, got 2"),
        ("'[1, NaN, 2]'", "element 2 is NaN"),
        ("'[1, 2, 1e40]'", "element 3 (1e40) is out of float32 range"),
        ("'[1, two, 3]'", "element 2 is not a number: 'two'"),
        ("'hello'", "expected a vector literal"),
        ("42", "a number is not a vector"),
        ("x'00000000'", "expected 3 dimensions, got 1"),
        ("x'0000c07f00000000000080bf'", "element 1 is NaN"),
        ("x'000000'", "not a float32 vector"),
    ])
    func badVectorsAreRejectedWithWhereAndWhy(value: String, problem: String) throws {
        let db = try Database(path: path)
        _ = try db.execute(
            "CREATE TABLE docs (id INTEGER PRIMARY KEY, e VECTOR(3)); INSERT INTO docs VALUES (1, '[0,0,1]')")
        let before = try db.rows("SELECT id, e FROM docs")
        for sql in [
            "INSERT INTO docs VALUES (7, \(value))", "UPDATE docs SET e = \(value) WHERE id = 1",
            "INSERT INTO docs VALUES (8, '[1,1,1]'), (9, \(value))",
        ] {
            #expect {
                try db.execute(sql)
            } throws: { error in
                let message = "\(error)"
                return message.contains("docs.e") && message.contains("row id=") && message.contains(problem)
            }
            #expect(try db.rows("SELECT id, e FROM docs") == before, "\(sql) must change nothing")
        }
    }

    @Test func vectorsAreStoredAsFloat32AndReadBackAsVectors() throws {
        let db = try Database(path: path)
        _ = try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, e VECTOR(3))")
        _ = try db.execute(
            "INSERT INTO t VALUES (1, '[0.1, -2, 3e-3]'), (2, ?), (3, ?), (4, NULL)",
            SQLBindings([.text("[1,2,3]"), .vector([4, 5, 6])]))
        #expect(
            try db.rows("SELECT typeof(e), length(e) FROM t WHERE id < 4")
                == Array(repeating: [.text("blob"), .integer(12)], count: 3))
        #expect(
            try db.rows("SELECT e FROM t ORDER BY id") == [
                [.vector([0.1, -2, 0.003])], [.vector([1, 2, 3])], [.vector([4, 5, 6])], [.null],
            ])
        #expect(
            try db.rows("SELECT vector_dims(e), vector_to_json(e) FROM t WHERE id = 2") == [
                [.integer(3), .text("[1,2,3]")]
            ])
        _ = try db.execute("UPDATE t SET e = '[9, 9, 9]' WHERE id = 1")
        #expect(try db.rows("SELECT e FROM t WHERE id = 1") == [[.vector([9, 9, 9])]])
        // UPSERT takes the same path.
        _ = try db.execute("INSERT INTO t VALUES (2, '[7,7,7]') ON CONFLICT (id) DO UPDATE SET e = excluded.e")
        #expect(try db.rows("SELECT e FROM t WHERE id = 2") == [[.vector([7, 7, 7])]])
    }

    @Test func distanceFunctionsMatchPgvector() throws {
        let db = try Database(path: path)
        let row = try db.rows(
            """
            SELECT '[0,0]' <-> '[3,4]', '[1,0]' <=> '[0,1]', '[1,2]' <#> '[3,4]', inner_product('[1,2]', '[3,4]'),
                   vector_norm('[3,4]'), '[0,0]' <=> '[1,1]'
            """)
        #expect(row == [[.real(5), .real(1), .real(-11), .real(11), .real(5), .null]])
        #expect { try db.execute("SELECT '[1,2]' <-> '[1,2,3]'") } throws: {
            "\($0)".contains("different dimensions (2 and 3)")
        }
    }

    @Test func columnsCanBeDroppedAndTablesRenamed() throws {
        let db = try Database(path: path)
        _ = try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, e VECTOR(2), body TEXT COMPRESSED, keep TEXT)")
        _ = try db.execute("ALTER TABLE t DROP COLUMN e")
        _ = try db.execute("ALTER TABLE t RENAME TO u")
        _ = try db.execute("ALTER TABLE u ADD COLUMN f VECTOR(2)")
        #expect { try db.execute("INSERT INTO u (id, f) VALUES (1, '[1]')") } throws: { "\($0)".contains("u.f") }
        let triggers = try db.rows("SELECT name FROM sqlite_schema WHERE type = 'trigger' ORDER BY name").map { $0[0] }
        #expect(
            triggers
                == [
                    "quiver:compress_insert:u.body", "quiver:compress_update:u.body",
                    "quiver:vector_insert:u.f", "quiver:vector_update:u.f",
                ].map { SQLValue.text($0) })
    }
}
