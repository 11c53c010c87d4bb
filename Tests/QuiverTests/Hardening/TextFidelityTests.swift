import Foundation
import QuiverClient
import QuiverEngine
import QuiverFormats
import QuiverImport
import QuiverStorage
import Testing

/// Text reaches SQLite and comes back byte for byte: a NUL inside text is kept (never a cut), or
/// refused with an error where SQLite cannot hold it (SQL text, vector literals); a value of a
/// `TEXT COMPRESSED` column is valid compressed text or is refused, naming the row.
@Suite struct TextFidelityTests {
    let tmp = TemporaryDirectory("quiver-text-fidelity")
    static let withNUL = "before\u{0}after"

    func database() throws -> Database {
        let db = try Database(path: tmp.file("db"))
        _ = try db.execute(
            """
            CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT, long TEXT COMPRESSED, v VECTOR(2));
            """)
        return db
    }

    func describe(_ error: (any Error)?) -> String { error.map { "\($0)" } ?? "no error" }

    @Test func nulInBoundTextIsStoredReadAndCompared() throws {
        let db = try database()
        let long = String(repeating: "compressible text\u{0}with NULs\r\n", count: 8)
        _ = try db.execute(
            "INSERT INTO t (id, body, long) VALUES (1, ?, ?), (2, 'before', 'short')",
            SQLBindings([.text(Self.withNUL), .text(long)]))
        let row = try #require(
            db.rows("SELECT body, length(CAST(body AS BLOB)), long, typeof(long) FROM t WHERE id = 1").first)
        #expect(row[0] == .text(Self.withNUL))
        #expect(row[1] == .integer(12))
        #expect(row[2] == .text(long))
        #expect(row[3] == .text("text")) // decompressed for readers
        #expect(
            try db.rows(
                "SELECT compressed_size(long) < length(CAST(? AS BLOB)) FROM t WHERE id = 1",
                SQLBindings([.text(long)])) == [[.integer(1)]])
        // A filter on the text with a NUL matches only that text, not its prefix.
        #expect(try db.integers("SELECT id FROM t WHERE body = ?", SQLBindings([.text("before\u{0}junk")])) == [])
        #expect(try db.integers("SELECT id FROM t WHERE body = ?", SQLBindings([.text(Self.withNUL)])) == [1])
        #expect(try db.integers("SELECT id FROM t WHERE body = ?", SQLBindings([.text("before")])) == [2])
        // Text made by SQL and text passed through SQL functions keep their NULs too.
        #expect(try db.rows("SELECT 'a' || char(0) || 'b'") == [[.text("a\u{0}b")]])
        #expect(
            try db.rows(
                "SELECT upper(?), replace(?, 'after', 'x')", SQLBindings([.text(Self.withNUL), .text(Self.withNUL)]))
                == [[.text("BEFORE\u{0}AFTER"), .text("before\u{0}x")]])
        // Quiver's own functions: compressed text written by an UPDATE and read through quiver_text.
        _ = try db.execute("UPDATE t SET long = body || ? WHERE id = 1", SQLBindings([.text(long)]))
        #expect(try db.rows("SELECT long FROM t WHERE id = 1") == [[.text(Self.withNUL + long)]])
        #expect(
            try db.rows("SELECT CAST(long AS BLOB) FROM t WHERE id = 1") == [[.blob(Array((Self.withNUL + long).utf8))]]
        )
    }

    /// A quote followed by a combining mark is one Swift Character but still a quote to SQLite
    /// and to CSV readers: quoting doubles it, so the text stays one literal or identifier.
    /// Lengths go to SQLite as 64-bit numbers: a value over 2 GiB is SQLite's "too big" error,
    /// not a trap converting its length to 32 bits. (The zeroed pages are never touched.)
    @Test func aValueLargerThanSQLiteTakesIsAnErrorNotACrash() throws {
        let db = try database()
        let huge = [UInt8](repeating: 0, count: (1 << 31) + 8)
        #expect { try db.execute("INSERT INTO t (id, body) VALUES (3, ?)", SQLBindings([.blob(huge)])) } throws: {
            error in
            "\(error)".contains("too big")
        }
        #expect(try db.execute("SELECT count(*) FROM t").first?.rows == [[.integer(0)]])
    }

    /// JSON has no infinity: an infinite REAL must not come out as null, which reads as NULL.
    @Test func infiniteRealsAreWrittenNotTurnedIntoNull() throws {
        let db = try database()
        let result = try #require(try db.execute("SELECT 1e999 AS up, -1e999 AS down, NULL AS none").first)
        #expect(ResultRenderer.render([result], as: .jsonl).contains(#"{"up":Infinity,"down":-Infinity,"none":null}"#))

        let server = try ServerProcess(database: tmp.file("served"))
        let answer = try server.client().call(
            "POST", "/sql", ["sql": "SELECT 1e999 AS up, -1e999 AS down, NULL AS none"])
        #expect(answer["results"]?[0]?["rows"]?[0] == ["Infinity", "-Infinity", nil], "\(answer)")
    }

    @Test func quotesFollowedByCombiningMarksAreDoubled() throws {
        let db = try database()
        let tricky = "x'\u{301}) ; DROP TABLE t; --\"\u{301}"
        #expect(try db.rows("SELECT \(quoteLiteral(tricky)) AS \(quoteIdentifier(tricky))") == [[.text(tricky)]])
        #expect(try db.execute("SELECT 1 AS \(quoteIdentifier(tricky))").first?.columns == [tricky])
        _ = try db.execute("CREATE TABLE \(quoteIdentifier(tricky)) (\(quoteIdentifier(tricky)) TEXT)")
        #expect(db.catalog.table(named: tricky)?.columns.map(\.name) == [tricky])
        #expect(db.catalog.table(named: "t") != nil)
        let csv = ResultRenderer.render([ResultSet(columns: ["c"], rows: [[.text(tricky)]])], as: .csv)
        #expect(csv == "c\r\n\"x'\u{301}) ; DROP TABLE t; --\"\"\u{301}\"\r\n")
    }

    @Test func fullTextSearchSeesTextAfterANUL() throws {
        let db = try database()
        _ = try db.execute("CREATE VIRTUAL TABLE f USING fts5(x)")
        _ = try db.execute("INSERT INTO f (rowid, x) VALUES (1, ?)", SQLBindings([.text("alpha\u{0}omega")]))
        #expect(try db.integers("SELECT rowid FROM f WHERE f MATCH 'omega'") == [1])
        #expect(try db.rows("SELECT x FROM f") == [[.text("alpha\u{0}omega")]])
    }

    @Test func nulInSQLTextOrAVectorLiteralIsRefused() throws {
        let db = try database()
        _ = try db.execute("INSERT INTO t (id, body) VALUES (1, 'keep')")
        // SQLite would stop reading at the NUL: here the statement would lose its WHERE clause.
        let error = #expect(throws: (any Error).self) { try db.execute("DELETE FROM t\u{0} WHERE id = 99") }
        #expect(describe(error).contains("NUL character at byte 13"))
        #expect(try db.integers("SELECT id FROM t") == [1])

        for literal in ["'[1,2]' || char(0) || 'junk'", "'[1,2' || char(0) || ']'"] {
            let refused = #expect(throws: (any Error).self) {
                try db.execute("UPDATE t SET v = \(literal) WHERE id = 1")
            }
            #expect(describe(refused).contains("NUL"), "\(literal): \(describe(refused))")
        }
        let bound = #expect(throws: (any Error).self) {
            try db.execute("SELECT '[1,0]' <=> ?", SQLBindings([.text("[1,2]\u{0}[3,4]")]))
        }
        #expect(describe(bound).contains("NUL"))
        #expect(try db.rows("SELECT v FROM t") == [[.null]])
    }

    @Test func everyOutputFormatShowsTheWholeText() throws {
        let result = ResultSet(columns: ["body"], rows: [[.text("a\u{0}b,\"c\"")]])
        #expect(ResultRenderer.render([result], as: .json).contains(#""a\u0000b,\"c\"""#))
        #expect(ResultRenderer.render([result], as: .jsonl) == #"{"body":"a\u0000b,\"c\""}"# + "\n")
        #expect(ResultRenderer.render([result], as: .csv) == "body\r\n\"a\u{0}b,\"\"c\"\"\"\r\n")
        #expect(ResultRenderer.render([result], as: .table).contains("a\u{2400}b,\"c\""))
        #expect(LineRenderer.render([result]).contains("a\u{2400}b,\"c\""))
    }

    @Test func importKeepsNULFromJSONEscapesAndRawCSV() throws {
        let db = try database()
        let jsonl = tmp.file("in.jsonl")
        try Data(Array(#"{"id": 1, "body": "a\u0000b"}"#.utf8) + [0x0A]).write(to: URL(fileURLWithPath: jsonl))
        let csv = tmp.file("in.csv")
        let csvBytes = Array("id,body\n2,c".utf8) + [0] + Array("d\n3,\"e".utf8) + [0] + Array("f\"\n".utf8)
        try Data(csvBytes).write(to: URL(fileURLWithPath: csv))
        for path in [jsonl, csv] {
            _ = try Importer(database: db, options: ImportOptions(table: "t", inputPath: path)).run()
        }
        #expect(
            try db.rows("SELECT id, body FROM t ORDER BY id")
                == [[1, .text("a\u{0}b")], [2, .text("c\u{0}d")], [3, .text("e\u{0}f")]])
    }

    // MARK: TEXT COMPRESSED values

    /// "QLZ1", a stated length of 5, then one byte that is no LZ4 block of 5 bytes.
    static let damaged: [UInt8] = [0x51, 0x4C, 0x5A, 0x31, 0x05, 0x00, 0x00, 0x00, 0xFF]
    /// A well-formed frame whose one literal byte, 0xFF, is not UTF-8.
    static let notUTF8: [UInt8] = [0x51, 0x4C, 0x5A, 0x31, 0x01, 0x00, 0x00, 0x00, 0x10, 0xFF]

    @Test func aTextCompressedColumnRefusesBlobsThatAreNotCompressedText() throws {
        let db = try database()
        let text = String(repeating: "valid compressed text ", count: 10)
        _ = try db.execute("INSERT INTO t (id, long) VALUES (1, 'kept')")
        for (label, blob) in [("damaged", Self.damaged), ("not UTF-8", Self.notUTF8), ("plain blob", [1, 2, 3])] {
            for sql in [
                "INSERT INTO t (id, long) VALUES (7, ?)", "UPDATE t SET long = ? WHERE id = 1",
                "INSERT INTO t (id, long) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET long = excluded.long",
            ] {
                let error = #expect(throws: (any Error).self, "\(label): \(sql)") {
                    try db.execute(sql, SQLBindings([.blob(blob)]))
                }
                let message = describe(error)
                // (An upsert's excluded.long is read through quiver_text first, which refuses the
                // damaged frame before the trigger can name the row.)
                #expect(
                    message.contains("t.long") && message.contains("row id=")
                        || sql.contains("excluded") && message.contains("compressed text is damaged"),
                    "\(label): \(message)")
            }
        }
        #expect(try db.rows("SELECT id, long FROM t") == [[1, "kept"]])
        // A valid frame (what bulk writers bind) is taken as it is and reads back as its text.
        let frame = try #require(TextCompression.compress(text))
        _ = try db.execute("INSERT INTO t (id, long) VALUES (2, ?)", SQLBindings([.blob(frame)]))
        #expect(
            try db.rows("SELECT long, compressed_size(long) FROM t WHERE id = 2") == [
                [.text(text), .integer(Int64(frame.count))]
            ])
    }

    @Test func aDamagedValueAlreadyStoredIsAnErrorNamingTheColumnNotWrongText() throws {
        do {
            let db = try database()
            _ = try db.execute("INSERT INTO t (id, long) VALUES (1, 'fine'), (2, 'also fine')")
        }
        // An older file: the value went in without the check (no Quiver functions here).
        do {
            let raw = try Connection(path: tmp.file("db") + "/rows.sqlite")
            try raw.execute("DROP TRIGGER \"quiver:compress_update:t.long\"")
            _ = try raw.query("UPDATE t SET long = ? WHERE id = 2", SQLBindings([.blob(Self.notUTF8)]))
        }
        let db = try Database(path: tmp.file("db"))
        for sql in ["SELECT * FROM t", "SELECT long FROM t", "SELECT upper(long) FROM t"] {
            let error = #expect(throws: (any Error).self, "\(sql)") { try db.execute(sql) }
            #expect(describe(error).contains("damaged"), "\(sql): \(describe(error))")
        }
        let named = #expect(throws: (any Error).self) { try db.execute("SELECT * FROM t") }
        #expect(
            describe(named).contains("column t.long in row rowid=2: compressed text is damaged"), "\(describe(named))")
        #expect(try db.rows("SELECT long FROM t WHERE id = 1") == [["fine"]])
    }

    // MARK: over HTTP

    @Test func nulSurvivesUpsertsParametersFiltersAndReadsOverHTTP() throws {
        let server = try ServerProcess(database: tmp.file("served"))
        let client = server.client()
        try client.call(
            "POST", "/tables",
            [
                "name": "docs",
                "columns": [
                    ["name": "id", "type": "INTEGER", "primary_key": true],
                    ["name": "lang", "type": "TEXT"],
                    ["name": "body", "type": "TEXT COMPRESSED"],
                    ["name": "embedding", "type": "VECTOR(2)"],
                ],
            ])
        let long = String(repeating: "x\u{0}y ", count: 40)
        try client.call(
            "POST", "/tables/docs/rows",
            [
                "rows": [
                    ["id": 1, "lang": "zh", "body": .string(Self.withNUL), "embedding": [1, 0]],
                    ["id": 2, "lang": "zh\u{0}junk", "body": .string(long), "embedding": [0, 1]],
                ]
            ])
        let got = try client.call(
            "POST", "/tables/docs/rows/get", ["ids": [1, 2], "columns": ["id", "lang", "body"]])
        #expect(got["rows"]?[0]?["body"] == .string(Self.withNUL))
        #expect(got["rows"]?[1]?["lang"] == .string("zh\u{0}junk"))
        #expect(got["rows"]?[1]?["body"] == .string(long))

        let sql = try client.sql(
            "SELECT length(CAST(? AS BLOB)), ?, 'a' || char(0) || 'b'",
            parameters: [.string(Self.withNUL), .string(Self.withNUL)])
        #expect(sql.first?.rows == [[12, .string(Self.withNUL), "a\u{0}b"]])
        _ = try client.sql("UPDATE docs SET lang = ? WHERE id = 1", parameters: [.string("en\u{0}x")])
        #expect(try client.sql("SELECT lang FROM docs WHERE id = 1").first?.rows == [[.string("en\u{0}x")]])

        for (filter, expected) in [("zh\u{0}junk", [2]), ("zh", []), ("en\u{0}x", [1]), ("en", [])]
            as [(String, [Int64])]
        {
            let answer = try client.call(
                "POST", "/tables/docs/query", ["vector": [1, 1], "k": 5, "filter": ["lang": .string(filter)]])
            let ids = answer["results"]?.arrayValue?.compactMap { $0["id"]?.integerValue } ?? []
            #expect(ids == expected, "filter \(filter.debugDescription)")
        }
        // A NUL in the SQL text itself is refused, not cut.
        let refused = #expect(throws: ClientError.self) { try client.sql("DELETE FROM docs\u{0} WHERE id = 99") }
        #expect(refused?.status == 400)
        #expect(try client.sql("SELECT count(*) FROM docs").first?.rows == [[2]])
    }
}
