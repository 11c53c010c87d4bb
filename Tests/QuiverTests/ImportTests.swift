import Foundation
import QuiverEngine
import QuiverFormats
import QuiverImport
import QuiverStorage
import Testing

/// `quiver import` / `quiver export` through the library: formats, schemas, bad records in both
/// modes, upserts, dedupe, indexes and round trips. (The CLI's output and kill -9 resume are in
/// ImportCLITests.)
@Suite struct ImportTests {
    let tmp = TemporaryDirectory("quiver-import")

    func write(_ name: String, _ text: String) -> String {
        let path = tmp.file(name)
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    func importFile(
        _ db: Database, table: String = "docs", _ path: String,
        configure: (inout ImportOptions) -> Void = { _ in }
    ) throws -> ImportSummary {
        var options = ImportOptions(table: table, inputPath: path)
        configure(&options)
        return try Importer(database: db, options: options).run()
    }

    func rows(_ db: Database, _ sql: String) throws -> [[SQLValue]] {
        try db.execute(sql).first?.rows ?? []
    }

    static let threeRecords = """
        {"id": 1, "title": "Hello", "lang": "en", "score": 1.5, "meta": {"a": [1, 2]}, "embedding": [0.1, 0.2, 0.3]}
        {"id": 2, "title": "你好，世界", "lang": "zh", "score": 2, "meta": null, "embedding": [0.3, 0.2, 0.1]}

        {"id": 3, "title": "Third\\nline \\u00e9\\ud83d\\ude00", "lang": "en", "score": null, "meta": [], "embedding": [1e-3, -2, 3.5]}
        """

    // MARK: formats

    @Test func jsonlCreatesTheTableFromTheDataAndWritesEveryRow() throws {
        let db = try Database(path: tmp.file("db"))
        let summary = try importFile(db, write("a.jsonl", Self.threeRecords))
        #expect(summary.read == 3 && summary.written == 3 && summary.skipped == 0 && summary.createdTable)
        let table = try #require(db.catalog.table(named: "docs"))
        #expect(table.columns.map(\.declaredType) == ["INTEGER", "TEXT", "TEXT", "REAL", "TEXT", "VECTOR(3)"])
        #expect(table.primaryKeyColumn?.name == "id")
        let got = try rows(db, "SELECT id, title, lang, score, meta, embedding FROM docs ORDER BY id")
        #expect(
            got[0] == [
                .integer(1), .text("Hello"), .text("en"), .real(1.5), .text("{\"a\": [1, 2]}"),
                .vector([0.1, 0.2, 0.3]),
            ])
        #expect(got[1] == [.integer(2), .text("你好，世界"), .text("zh"), .real(2), .null, .vector([0.3, 0.2, 0.1])])
        #expect(
            got[2] == [
                .integer(3), .text("Third\nline é😀"), .text("en"), .null, .text("[]"), .vector([0.001, -2, 3.5]),
            ])
    }

    @Test func gzipIsReadByItsContentAndConcatenatedMembersToo() throws {
        let plain = write("a.jsonl", Self.threeRecords + "\n")
        let gz = tmp.file("a.jsonl.gz")
        // Two gzip members back to back, as `cat a.gz b.gz` makes: rows 1–3 then 3 again (an upsert).
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = [
            "-c",
            "gzip -c '\(plain)' > '\(gz)' && printf '%s\\n' '{\"id\": 3, \"title\": \"again\", \"embedding\": [0,0,1]}' | gzip -c >> '\(gz)'",
        ]
        try gzip.run()
        gzip.waitUntilExit()
        #expect(gzip.terminationStatus == 0)
        let db = try Database(path: tmp.file("db"))
        let summary = try importFile(db, gz)
        #expect(summary.read == 4 && summary.written == 4)
        #expect(try rows(db, "SELECT count(*), max(title) FROM docs WHERE id = 3") == [[.integer(1), .text("again")]])
    }

    @Test func csvAndTsvKeepQuotesLineBreaksAndNullApartFromEmpty() throws {
        let csv = write(
            "a.csv",
            "id,title,note,embedding\r\n1,\"Hello, \"\"world\"\"\",,\"[1,2]\"\r\n2,\"two\nlines\",\"\",\"[3, 4]\"\r\n")
        let db = try Database(path: tmp.file("db"))
        let summary = try importFile(db, csv)
        #expect(summary.written == 2)
        #expect(
            try rows(db, "SELECT id, title, note, embedding FROM docs ORDER BY id") == [
                [.integer(1), .text("Hello, \"world\""), .null, .vector([1, 2])],
                [.integer(2), .text("two\nlines"), .text(""), .vector([3, 4])],
            ])
        let tsv = write("b.tsv", "id\tscore\tname\n10\t2.5\tx\n11\t3\ty\n")
        let tsvSummary = try importFile(db, table: "t", tsv)
        #expect(tsvSummary.written == 2)
        #expect(db.catalog.table(named: "t")?.columns.map(\.declaredType) == ["INTEGER", "REAL", "TEXT"])
        #expect(
            try rows(db, "SELECT id, score, name FROM t ORDER BY id") == [
                [.integer(10), .real(2.5), .text("x")], [.integer(11), .real(3), .text("y")],
            ])
    }

    @Test func vectorsComeFromNpyFloat32Float16AndFvecsSideFiles() throws {
        let records = write("m.jsonl", (1...4).map { "{\"id\": \($0), \"name\": \"n\($0)\"}" }.joined(separator: "\n"))
        let vectors: [Float] = (0..<12).map { Float($0) / 4 }
        let f32 = tmp.file("v32.npy")
        try NumPy.writeFloatMatrix(path: f32, rows: 4, columns: 3, values: vectors)
        let f16 = tmp.file("v16.npy")
        try Self.writeFloat16(path: f16, rows: 4, columns: 3, values: vectors)
        let fvecs = tmp.file("v.fvecs")
        var bytes = Data()
        for row in 0..<4 {
            withUnsafeBytes(of: Int32(3).littleEndian) { bytes.append(contentsOf: $0) }
            for j in 0..<3 {
                withUnsafeBytes(of: vectors[row * 3 + j].bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            }
        }
        FileManager.default.createFile(atPath: fvecs, contents: bytes)
        for (name, side) in [("a", f32), ("b", f16), ("c", fvecs)] {
            let db = try Database(path: tmp.file("db-\(name)"))
            let summary = try importFile(db, records) {
                $0.vectorsPath = side
                $0.vectorColumn = "vec"
            }
            #expect(summary.written == 4, "\(side)")
            #expect(db.catalog.table(named: "docs")?.column(named: "vec")?.declaredType == "VECTOR(3)")
            let got = try rows(db, "SELECT vec FROM docs ORDER BY id").compactMap { $0[0].vectorValue }
            #expect(got.flatMap { $0 } == vectors, "\(side): every record takes its row of the side file")
        }
    }

    /// A float16 .npy (exact for these quarter values).
    static func writeFloat16(path: String, rows: Int, columns: Int, values: [Float]) throws {
        let header = "{'descr': '<f2', 'fortran_order': False, 'shape': (\(rows), \(columns)), }"
        var padded = header
        while (10 + padded.utf8.count + 1) % 64 != 0 { padded += " " }
        padded += "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        withUnsafeBytes(of: UInt16(padded.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: padded.utf8)
        for value in values {
            withUnsafeBytes(of: Float16(value).bitPattern.littleEndian) { data.append(contentsOf: $0) }
        }
        FileManager.default.createFile(atPath: path, contents: data)
    }

    // MARK: bad records

    /// One bad record of each kind, after good ones, into a table that already has rows.
    static let badCases: [(name: String, line: String, reason: String)] = [
        ("bad JSON", #"{"id": 50, "title": "x", "embedding": [1, 2, 3]"#, "bad JSON at column"),
        ("wrong dimension", #"{"id": 51, "title": "x", "embedding": [1, 2]}"#, "expected 3 dimensions, got 2"),
        ("NaN", #"{"id": 52, "title": "x", "embedding": [1, NaN, 3]}"#, "element 2 is NaN"),
        ("missing required field", #"{"title": "no key", "embedding": [1, 2, 3]}"#, "missing required field \"id\""),
        ("type mismatch", #"{"id": "fifty-four", "title": "x", "embedding": [1, 2, 3]}"#, "column id is INTEGER"),
        (
            "unknown field", #"{"id": 55, "title": "x", "colour": "red", "embedding": [1, 2, 3]}"#,
            "field \"colour\" is not a column"
        ),
    ]

    func seededDatabase(_ name: String) throws -> Database {
        let db = try Database(path: tmp.file(name))
        _ = try db.execute(
            """
            CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT NOT NULL, embedding VECTOR(3));
            INSERT INTO docs VALUES (1, 'kept', '[1, 1, 1]');
            """)
        return db
    }

    @Test(arguments: badCases.indices)
    func abortNamesFileAndLineAndChangesNothing(_ index: Int) throws {
        let bad = Self.badCases[index]
        let db = try seededDatabase("db")
        let before = try rows(db, "SELECT * FROM docs ORDER BY id")
        let path = write(
            "in.jsonl",
            """
            {"id": 1, "title": "would update", "embedding": [0, 0, 1]}
            {"id": 2, "title": "good", "embedding": [0, 1, 0]}
            \(bad.line)
            {"id": 3, "title": "after", "embedding": [1, 0, 0]}
            """)
        #expect {
            _ = try importFile(db, path)
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("\(path):3: ") && text.contains(bad.reason)
        }
        #expect(
            try rows(db, "SELECT * FROM docs ORDER BY id") == before, "\(bad.name): the database is exactly as before")
    }

    @Test func abortIntoANewTableLeavesNoTable() throws {
        let db = try Database(path: tmp.file("db"))
        let path = write("in.jsonl", "{\"id\": 1, \"v\": [1, 2]}\n{\"id\": 2, \"v\": [1, 2}\n")
        #expect(throws: ImportError.self) { _ = try importFile(db, path) }
        #expect(db.catalog.table(named: "docs") == nil)
        #expect(try rows(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'docs'") == [[.integer(0)]])
    }

    @Test func skipWritesGoodRecordsAndListsEveryRejectWithItsReason() throws {
        let db = try seededDatabase("db")
        var lines = [#"{"id": 2, "title": "good", "embedding": [0, 1, 0]}"#]
        lines += Self.badCases.map(\.line)
        lines.append(#"{"id": 3, "title": "after", "embedding": [1, 0, 0]}"#)
        let path = write("in.jsonl", lines.joined(separator: "\n"))
        let rejects = tmp.file("rejects.jsonl")
        let summary = try importFile(db, path) {
            $0.onError = .skip
            $0.rejectsPath = rejects
        }
        #expect(summary.read == lines.count && summary.written == 2 && summary.rejected == Self.badCases.count)
        #expect(
            try rows(db, "SELECT id, title FROM docs ORDER BY id") == [
                [.integer(1), .text("kept")], [.integer(2), .text("good")], [.integer(3), .text("after")],
            ])
        let entries = try String(contentsOfFile: rejects, encoding: .utf8).split(separator: "\n").map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(entries.count == Self.badCases.count)
        for (offset, entry) in entries.enumerated() {
            let bad = Self.badCases[offset]
            #expect(entry["line"] as? Int == offset + 2, "\(bad.name)")
            #expect((entry["reason"] as? String)?.contains(bad.reason) == true, "\(bad.name): \(entry)")
            #expect(entry["record"] as? String == bad.line, "\(bad.name): the record as written")
            #expect(entry["file"] as? String == path)
        }
    }

    @Test func badCSVRecordsAreReportedByLine() throws {
        let db = try seededDatabase("db")
        let path = write(
            "in.csv",
            "id,title,embedding\n2,ok,\"[1,2,3]\"\n3,too,many,fields\n4,x\"y,\"[1,2,3]\"\n5,nan,\"[1,NaN,3]\"\n6,fine,\"[0,0,0]\"\n"
        )
        let rejects = tmp.file("r.jsonl")
        let summary = try importFile(db, path) {
            $0.onError = .skip
            $0.rejectsPath = rejects
        }
        #expect(summary.written == 2 && summary.rejected == 3)
        let reasons = try String(contentsOfFile: rejects, encoding: .utf8)
        #expect(reasons.contains("\"line\":3") && reasons.contains("expected 3 fields as in the header, found 4"))
        #expect(reasons.contains("\"line\":4") && reasons.contains("a quote inside an unquoted field"))
        #expect(reasons.contains("\"line\":5") && reasons.contains("element 2 is NaN"))
    }

    @Test func planErrorsComeBeforeAnythingIsWritten() throws {
        let db = try seededDatabase("db")
        let before = try rows(db, "SELECT * FROM docs")
        let unknown = write("u.csv", "id,title,colour\n9,t,red\n")
        #expect { _ = try importFile(db, unknown) } throws: {
            "\($0)".contains("field \"colour\"") && "\($0)".contains("not a column of docs")
        }
        let noKey = write("k.jsonl", #"{"title": "t"}"#)
        #expect { _ = try importFile(db, noKey) } throws: { "\($0)".contains("no field \"id\"") }
        let wrongSide = tmp.file("v.npy")
        try NumPy.writeFloatMatrix(path: wrongSide, rows: 1, columns: 4, values: [1, 2, 3, 4])
        let one = write("one.jsonl", #"{"id": 9, "title": "t"}"#)
        #expect { _ = try importFile(db, one) { $0.vectorsPath = wrongSide } } throws: {
            "\($0)".contains("4-dimensional") && "\($0)".contains("VECTOR(3)")
        }
        let schema = write(
            "s.json",
            #"{"key": "id", "columns": [{"name": "id", "type": "INTEGER"}, {"name": "v", "type": "VECTOR(0)"}]}"#)
        #expect { _ = try importFile(db, table: "other", one) { $0.schemaPath = schema } } throws: {
            "\($0)".contains("s.json") && "\($0)".contains("VECTOR dimension")
        }
        #expect(try rows(db, "SELECT * FROM docs") == before)
        #expect(db.catalog.table(named: "other") == nil)
    }

    @Test func sideFileWithTooFewOrTooManyVectorsIsAnError() throws {
        let db = try Database(path: tmp.file("db"))
        let records = write("r.jsonl", "{\"id\": 1}\n{\"id\": 2}\n")
        let three = tmp.file("three.npy")
        try NumPy.writeFloatMatrix(path: three, rows: 3, columns: 2, values: [1, 0, 0, 1, 1, 1])
        #expect { _ = try importFile(db, records) { $0.vectorsPath = three } } throws: {
            "\($0)".contains("holds 3 vectors but the input has 2 records")
        }
        let one = tmp.file("one.npy")
        try NumPy.writeFloatMatrix(path: one, rows: 1, columns: 2, values: [1, 0])
        #expect { _ = try importFile(db, records) { $0.vectorsPath = one } } throws: {
            "\($0)".contains(":2: no vector for record 2")
        }
        #expect(db.catalog.table(named: "docs") == nil)
    }

    // MARK: upserts, schemas, indexes

    @Test func reimportingUpsertsByKeyWithoutDuplicates() throws {
        let db = try Database(path: tmp.file("db"))
        let first = write("a.jsonl", (1...50).map { "{\"id\": \"k\($0)\", \"n\": \($0)}" }.joined(separator: "\n"))
        _ = try importFile(db, first)
        #expect(
            db.catalog.table(named: "docs")?.primaryKeyColumn?.declaredType == "TEXT",
            "text keys make a TEXT primary key")
        let second = write(
            "b.jsonl", (25...75).map { "{\"id\": \"k\($0)\", \"n\": \($0 * 10)}" }.joined(separator: "\n"))
        let summary = try importFile(db, second)
        #expect(summary.written == 51)
        let expectedSum: Int64 = Int64((1...24).reduce(0, +)) + Int64((25...75).reduce(0, +)) * 10
        let expected: [[SQLValue]] = [[.integer(75), .integer(75), .integer(expectedSum)]]
        #expect(try rows(db, "SELECT count(*), count(DISTINCT id), sum(n) FROM docs") == expected)
    }

    @Test func schemaFileCreatesCompressedTextRequiredColumnsAndAnIndex() throws {
        let db = try Database(path: tmp.file("db"))
        let schema = write(
            "s.json",
            """
            {"key": "id", "columns": [
              {"name": "id", "type": "INTEGER"}, {"name": "body", "type": "text compressed", "required": true},
              {"name": "embedding", "type": "VECTOR(8)"}],
             "indexes": [{"name": "docs_embedding", "column": "embedding", "metric": "cosine", "m": 8, "ef_construction": 32}]}
            """)
        var random = SeededRandom(seed: 7)
        var vectors: [Int: [Float]] = [:]
        let lines = (1...300).map { id -> String in
            vectors[id] = random.vector(8)
            return
                "{\"id\": \(id), \"body\": \"passage \(id) \(String(repeating: "text ", count: 20))\", \"embedding\": \(ValueText.vectorJSON(vectors[id]!))}"
        }
        let summary = try importFile(db, write("in.jsonl", lines.joined(separator: "\n"))) { $0.schemaPath = schema }
        #expect(summary.written == 300)
        #expect(summary.indexes.map(\.name) == ["docs_embedding"] && summary.indexes[0].rebuilt)
        let table = try #require(db.catalog.table(named: "docs"))
        #expect(table.column(named: "body")?.kind == .compressedText && table.column(named: "body")?.notNull == true)
        #expect(
            try rows(db, "SELECT body FROM docs WHERE id = 7") == [
                [.text("passage 7 \(String(repeating: "text ", count: 20))")]
            ])
        // Every row finds itself through the index, which the import rebuilt in bulk.
        var misses = 0
        for (id, vector) in vectors {
            let hit = try rows(
                db, "SELECT id FROM docs ORDER BY embedding <=> '\(ValueText.vectorJSON(vector))' LIMIT 1")
            if hit.first?.first != .integer(Int64(id)) { misses += 1 }
            #expect(db.lastReport.strategy != .sqlite)
        }
        #expect(misses <= 2, "\(misses) of 300 rows not found by their own vector")
        let missing = write("bad.jsonl", "{\"id\": 301, \"embedding\": \(ValueText.vectorJSON(random.vector(8)))}")
        #expect { _ = try importFile(db, missing) } throws: { "\($0)".contains("docs.body is required") }
    }

    // MARK: dedupe

    @Test func exactDedupeFoldsCaseWidthAndSpaceAgainstTableAndImport() throws {
        let db = try Database(path: tmp.file("db"))
        _ = try db.execute(
            "CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO docs VALUES (1, 'Hello,  World')")
        let path = write(
            "in.jsonl",
            """
            {"id": 2, "body": "hello, world"}
            {"id": 3, "body": "数据，模型"}
            {"id": 4, "body": "数据,模型"}
            {"id": 5, "body": "Ｈｅｌｌｏ， ｗｏｒｌｄ"}
            {"id": 6, "body": "something else"}
            """)
        let summary = try importFile(db, path) { $0.dedupe = .exact }
        #expect(summary.duplicates == 3 && summary.written == 2)
        #expect(try rows(db, "SELECT id FROM docs ORDER BY id") == [[.integer(1)], [.integer(3)], [.integer(6)]])
    }

    @Test func vectorDedupeSkipsNearCopiesOfRowsAndOfEarlierRecords() throws {
        let db = try Database(path: tmp.file("db"))
        var random = SeededRandom(seed: 11)
        let base = (0..<200).map { _ in random.vector(16) }
        _ = try db.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, embedding VECTOR(16))")
        _ = try db.execute("INSERT INTO docs VALUES (1000, '\(ValueText.vectorJSON(base[0]))')")
        var lines: [String] = []
        var expectedKept = 0
        for (i, vector) in base.enumerated() where i > 0 {
            lines.append("{\"id\": \(i), \"embedding\": \(ValueText.vectorJSON(vector))}")
            expectedKept += 1
        }
        // Near copies (cosine ≥ 0.999) of the existing row and of earlier records, and one in the same batch.
        for (n, i) in [0, 5, 120, 199].enumerated() {
            let near = base[i].map { $0 * 1.01 + 0.001 }
            lines.append("{\"id\": \(5000 + n), \"embedding\": \(ValueText.vectorJSON(near))}")
        }
        let summary = try importFile(db, write("in.jsonl", lines.joined(separator: "\n"))) {
            $0.dedupe = .similarity(0.99)
        }
        #expect(summary.duplicates == 4 && summary.written == expectedKept)
        #expect(try rows(db, "SELECT count(*) FROM docs WHERE id >= 5000") == [[.integer(0)]])
    }

    // MARK: export

    @Test func exportThenImportGivesTheSameTableInJSONLAndCSVWithAndWithoutNpy() throws {
        let db = try Database(path: tmp.file("src"))
        _ = try db.execute(
            """
            CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, body TEXT COMPRESSED, score REAL, n INTEGER, raw BLOB, embedding VECTOR(4));
            CREATE INDEX docs_embedding ON docs USING hnsw (embedding vector_l2_ops) WITH (m = 8);
            """)
        var random = SeededRandom(seed: 3)
        var bindings: [SQLBindings] = []
        for id in 1...120 {
            let title: SQLValue = id % 7 == 0 ? .null : (id % 5 == 0 ? .text("") : .text("标题 \(id), \"quoted\"\nline"))
            bindings.append(
                SQLBindings([
                    .integer(Int64(id)), title, .text("body \(id) " + String(repeating: "常见 ", count: id % 13)),
                    id % 3 == 0 ? .null : .real(Double(id) / 3), .integer(Int64(id * 1_000_003)),
                    id % 4 == 0 ? .null : .blob([0, 255, UInt8(id % 256)]), .vector(random.vector(4)),
                ]))
        }
        try db.executeMany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?)", bindings)
        let original = try rows(db, "SELECT * FROM docs ORDER BY id")

        for format in ExportOptions.Format.allCases {
            for useNpy in [false, true] {
                let label = "\(format)-\(useNpy)"
                var options = ExportOptions(table: "docs")
                options.format = format
                options.outputPath = tmp.file("out-\(label).\(format)")
                options.schemaPath = tmp.file("schema-\(label).json")
                if useNpy { options.vectorsPath = tmp.file("vec-\(label).npy") }
                #expect(try Exporter(database: db, options: options).run() == 120)
                let copy = try Database(path: tmp.file("copy-\(label)"))
                let summary = try importFile(copy, options.outputPath!) {
                    $0.schemaPath = options.schemaPath
                    $0.vectorsPath = options.vectorsPath
                }
                #expect(summary.written == 120, "\(label)")
                #expect(
                    try rows(copy, "SELECT * FROM docs ORDER BY id") == original, "\(label): import(export(T)) == T")
                #expect(
                    copy.catalog.table(named: "docs") == db.catalog.table(named: "docs"),
                    "\(label): same columns and types")
                #expect(copy.catalog.indexes(on: "docs").map(\.metric) == [.l2], "\(label): the index comes back too")
            }
        }
        var filtered = ExportOptions(table: "docs")
        filtered.whereClause = "id <= 10 AND title IS NOT NULL"
        filtered.outputPath = tmp.file("few.jsonl")
        #expect(try Exporter(database: db, options: filtered).run() == 9)
        let first = try String(contentsOfFile: filtered.outputPath!, encoding: .utf8).split(separator: "\n")[0]
        let object = try #require(JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])
        #expect(
            Set(object.keys) == ["id", "title", "body", "score", "n", "raw", "embedding"],
            "field names are the column names")
        #expect((object["embedding"] as? [Any])?.count == 4, "vectors are JSON arrays without --vectors")
    }
}
