import Foundation
import QuiverEngine
import QuiverImport
import QuiverStorage
import Testing

/// Export then import gives back every value, of the same type, or the export stops naming the
/// row and column it cannot write so; import reads what export writes and bounds what it holds.
@Suite struct RoundTripTests {
    let tmp = TemporaryDirectory("quiver-round-trip")

    static let schema =
        "id INTEGER PRIMARY KEY, i INTEGER, r REAL, n NUMERIC, t TEXT, b BLOB, u, c TEXT COMPRESSED, v VECTOR(3)"
    static let columns = ["i", "r", "n", "t", "b", "u", "c", "v"]

    // MARK: values of every kind

    struct Values {
        var random: SeededRandom

        static let reals: [Double] = [
            0.0, -0.0, 1.5, -2.25, 0.1, 1e300, -1e-300, .infinity, -.infinity,
            .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude, 1e19, 9.2e18,
        ]
        static let integers: [Int64] = [0, -1, .min, .max, 1 << 53 + 1, -(1 << 53) - 1]
        static let texts = [
            "", " ", "a\r\nb", "\"\u{301}, '\u{301}", "e\u{301}\"", "\r", "\n", "a\r\r\n", "x\u{0}y",
            "\"quoted\", comma", "naïve ☃ 日本語 🙂 \u{2028}",
            "12", "-0.0", "1.5", "inf", "NULL", "null", "{\"base64\":\"AA==\"}", "[1,2,3]", "  padded  ", "\ttab\t",
            "\u{FEFF}bom",
        ]

        mutating func real() -> Double {
            if Bool.random(using: &random) { return Self.reals.randomElement(using: &random)! }
            while true {
                let value = Double(bitPattern: random.next())
                if value.isFinite { return value }
            }
        }

        mutating func integer() -> Int64 {
            Bool.random(using: &random)
                ? Self.integers.randomElement(using: &random)! : Int64(bitPattern: random.next())
        }

        mutating func text() -> String {
            if Bool.random(using: &random) { return Self.texts.randomElement(using: &random)! }
            let ranges: [ClosedRange<UInt32>] = [
                0...0x7F, 0x80...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF,
            ]
            return String(
                String.UnicodeScalarView(
                    (0..<Int.random(in: 0...24, using: &random)).map { _ in
                        Unicode.Scalar(UInt32.random(in: ranges.randomElement(using: &random)!, using: &random))!
                    }))
        }

        mutating func word() -> String {
            "w"
                + String(
                    (0..<Int.random(in: 0...8, using: &random)).map { _ in "abcdefghij".randomElement(using: &random)! }
                )
        }

        mutating func blob() -> [UInt8] {
            (0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        }

        /// A value for `column`, of a kind that column can hold and `format` can carry.
        mutating func value(_ column: String, csv: Bool) -> SQLValue {
            if Int.random(in: 0..<8, using: &random) == 0 { return .null }
            let pick = Int.random(in: 0..<4, using: &random)
            switch column {
            case "i": return pick < 2 ? .integer(integer()) : .real(real())
            case "r": return pick < 3 ? .real(real()) : .integer(integer())
            case "n": return [.integer(integer()), .real(real()), .text(word()), .integer(integer())][pick]
            case "t": return .text(text())
            case "b": return csv || pick < 2 ? .blob(blob()) : pick == 2 ? .integer(integer()) : .real(real())
            case "u":
                return [.integer(integer()), .real(real()), .text(text()), csv ? .text(text()) : .blob(blob())][pick]
            case "c": return .text(pick < 2 ? text() : String(repeating: text() + "\r\n\u{0}", count: 12))
            default:
                let specials: [Float] = [-0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1e-20]
                return .vector(
                    (0..<3).map { _ in
                        pick == 0 ? specials.randomElement(using: &random)! : Float.random(in: -1...1, using: &random)
                    })
            }
        }
    }

    /// Every column as `typeof(c), c`, in key order.
    func contents(_ db: Database, _ table: String) throws -> [[SQLValue]] {
        try db.rows(
            "SELECT id, " + Self.columns.map { "typeof(\($0)), \($0)" }.joined(separator: ", ")
                + " FROM \(table) ORDER BY id")
    }

    /// Same type and value; reals and vector elements bit for bit (-0.0 is not 0.0).
    static func same(_ a: SQLValue, _ b: SQLValue) -> Bool {
        switch (a, b) {
        case (.real(let x), .real(let y)): x.bitPattern == y.bitPattern
        case (.vector(let x), .vector(let y)): x.map(\.bitPattern) == y.map(\.bitPattern)
        default: a == b
        }
    }

    func export(_ db: Database, _ table: String, format: ExportOptions.Format, to path: String, schema: String? = nil)
        throws -> Int
    {
        var options = ExportOptions(table: table)
        options.format = format
        options.outputPath = path
        options.schemaPath = schema
        return try Exporter(database: db, options: options).run()
    }

    @Test(arguments: [ExportOptions.Format.jsonl, .csv], [UInt64(1), 2, 3])
    func everyValueComesBackWithItsType(format: ExportOptions.Format, seed: UInt64) throws {
        let db = try Database(path: tmp.file("db"))
        _ = try db.execute("CREATE TABLE src (\(Self.schema))")
        var values = Values(random: SeededRandom(seed: seed))
        let rows = (1...200).map { id in
            [SQLValue.integer(Int64(id))] + Self.columns.map { values.value($0, csv: format == .csv) }
        }
        try db.executeMany(
            "INSERT INTO src VALUES (\(Array(repeating: "?", count: rows[0].count).joined(separator: ", ")))",
            rows.map { SQLBindings($0) })
        let before = try contents(db, "src")

        let file = tmp.file("src.\(format.rawValue)")
        let schema = tmp.file("src.schema.json")
        #expect(try export(db, "src", format: format, to: file, schema: schema) == 200)
        var options = ImportOptions(table: "dst", inputPath: file)
        options.schemaPath = schema
        let summary = try Importer(database: db, options: options).run()
        #expect(summary.written == 200)

        let after = try contents(db, "dst")
        #expect(after.count == before.count)
        for (old, new) in zip(before, after) {
            for (index, (a, b)) in zip(old, new).enumerated() where !Self.same(a, b) {
                Issue.record("row \(old[0]), column \(index): exported \(a), imported \(b)")
            }
        }
        #expect(
            try db.rows("SELECT sql FROM sqlite_schema WHERE name = 'dst'").first?.first?.textValue?.contains("\"u\",")
                == true)
    }

    @Test(arguments: [ExportOptions.Format.jsonl, .csv])
    func aValueTheFormatCannotCarryBackStopsTheExportNamingRowAndColumn(format: ExportOptions.Format) throws {
        let db = try Database(path: tmp.file("db"))
        _ = try db.execute("CREATE TABLE src (\(Self.schema))")
        var cases: [(column: String, value: SQLValue)] = [
            ("i", .text("twelve")), ("r", .text("x")), ("t", .blob([1, 2])),
            ("b", .text("AAAA")),
        ]
        if format == .csv { cases += [("u", .blob([1, 2])), ("b", .integer(5))] }
        for (index, item) in cases.enumerated() {
            _ = try db.execute(
                "DELETE FROM src; INSERT INTO src (id) VALUES (1); INSERT INTO src (id, \(item.column)) VALUES (\(index + 40), ?)",
                SQLBindings([item.value]))
            let path = tmp.file("out-\(index).\(format.rawValue)")
            let error = #expect(throws: (any Error).self, "\(item)") { try export(db, "src", format: format, to: path) }
            let message = error.map { "\($0)" } ?? "no error"
            #expect(message.contains("row id=\(index + 40), column \(item.column)"), "\(message)")
            #expect(!FileManager.default.fileExists(atPath: path), "a refused export leaves no file")
        }
    }

    /// The cases of the report, through the command line: CRLF inside text, an empty blob, an
    /// infinite REAL, an untyped column, text that is NUL-bearing.
    @Test(arguments: ["jsonl", "csv"])
    func theCommandLineRoundTripsTheReportedValues(format: String) throws {
        let binary = try #require(
            ImportCLIBinary.path, "the quiver executable was not found; build it with `swift build --build-tests`")
        do {
            let db = try Database(path: tmp.file("db"))
            _ = try db.execute("CREATE TABLE src (id INTEGER PRIMARY KEY, t TEXT, b BLOB, r REAL, u)")
            _ = try db.execute(
                "INSERT INTO src VALUES (1, ?, ?, 9e999, 'text'), (2, '', NULL, -9e999, 7), (3, NULL, X'00', 0.5, 2.5)",
                SQLBindings([.text("a\r\nb\u{0}c"), .blob([])]))
        }
        let file = tmp.file("src.\(format)")
        let schema = tmp.file("schema.json")
        let exported = try ProcessRunner.run(
            binary,
            [
                "export", "--db", tmp.file("db"), "--table", "src", "--format", format,
                "-o", file, "--schema", schema,
            ])
        #expect(exported.succeeded, "\(exported)")
        let imported = try ProcessRunner.run(
            binary, ["import", "--db", tmp.file("db"), "--table", "dst", "--schema", schema, file])
        #expect(imported.succeeded, "\(imported)")
        let db = try Database(path: tmp.file("db"))
        let query = "SELECT id, typeof(t), t, typeof(b), b, typeof(r), r, typeof(u), u FROM %@ ORDER BY id"
        let before = try db.rows(query.replacingOccurrences(of: "%@", with: "src"))
        let after = try db.rows(query.replacingOccurrences(of: "%@", with: "dst"))
        #expect(before.count == 3)
        #expect(after == before)
    }

    // MARK: import: inference and limits

    func write(_ name: String, _ lines: [String]) -> String {
        let path = tmp.file(name)
        FileManager.default.createFile(atPath: path, contents: Data(lines.map { $0 + "\n" }.joined().utf8))
        return path
    }

    func importing(_ path: String, into db: Database, configure: (inout ImportOptions) -> Void = { _ in }) throws
        -> ImportSummary
    {
        var options = ImportOptions(table: "docs", inputPath: path)
        configure(&options)
        return try Importer(database: db, options: options).run()
    }

    @Test func arraysOfTwoLengthsMakeAVectorOfTheCommonOneAndRejectTheOdd() throws {
        let db = try Database(path: tmp.file("db"))
        let path = write(
            "v.jsonl", [#"{"id": 1, "v": [1, 2, 3]}"#, #"{"id": 2, "v": [4, 5, 6]}"#, #"{"id": 3, "v": [1, 2]}"#])
        let error = #expect(throws: (any Error).self) { try importing(path, into: db) }
        #expect("\(error.map { "\($0)" } ?? "no error")" == "\(path):3: field \"v\": expected 3 dimensions, got 2")
        #expect(db.catalog.table(named: "docs") == nil)

        let summary = try importing(path, into: db) {
            $0.onError = .skip
            $0.rejectsPath = tmp.file("rejects.jsonl")
        }
        #expect(summary.written == 2 && summary.rejected == 1)
        #expect(db.catalog.table(named: "docs")?.column(named: "v")?.declaredType == "VECTOR(3)")

        let tie = write("tie.jsonl", [#"{"id": 1, "v": [1, 2, 3]}"#, #"{"id": 2, "v": [1, 2]}"#])
        let refused = #expect(throws: (any Error).self) { try importing(tie, into: db) { $0.table = "other" } }
        #expect("\(refused.map { "\($0)" } ?? "no error")".contains("--schema"))
    }

    @Test func inferredNumbersAreKeptExactlyOrRefused() throws {
        let db = try Database(path: tmp.file("db"))
        let mixed = write(
            "mixed.jsonl",
            [
                #"{"id": 1, "x": 2, "flag": true, "meta": {"a": [1]}}"#,
                #"{"id": 2, "x": 2.5, "flag": false, "meta": null}"#,
            ])
        _ = try importing(mixed, into: db)
        #expect(
            try db.rows("SELECT typeof(x), x, flag, meta FROM docs ORDER BY id")
                == [["real", 2.0, 1, #"{"a": [1]}"#], ["real", 2.5, 0, nil]])
        #expect(db.catalog.table(named: "docs")?.columns.map(\.declaredType) == ["INTEGER", "REAL", "INTEGER", "TEXT"])

        // 2^53 + 1 has no exact Double: a REAL column cannot take it, and the line says so.
        let big = write("big.jsonl", [#"{"id": 1, "x": 9007199254740993}"#, #"{"id": 2, "x": 0.5}"#])
        let error = #expect(throws: (any Error).self) { try importing(big, into: db) { $0.table = "big" } }
        #expect(
            "\(error.map { "\($0)" } ?? "no error")".hasPrefix("\(big):1: field \"x\" is the integer 9007199254740993"))
    }

    @Test func aRecordLongerThanTheLimitStopsTheImportNamingItsLine() throws {
        let db = try Database(path: tmp.file("db"))
        let long = String(repeating: "x", count: 5_000)
        let jsonl = write("long.jsonl", [#"{"id": 1, "t": "a"}"#, #"{"id": 2, "t": "\#(long)"}"#])
        let csv = write(
            "long.csv",
            ["id,t", "1,a", "2,\"" + String(repeating: "y", count: 600), String(repeating: "z", count: 600) + "\""])
        let gzip = jsonl + ".gz"
        let zipped = try ProcessRunner.run("/bin/sh", ["-c", "gzip -c '\(jsonl)' > '\(gzip)'"])
        #expect(zipped.succeeded, "\(zipped)")
        for (path, line) in [(jsonl, 2), (csv, 3), (gzip, 2)] {
            let error = #expect(throws: (any Error).self, "\(path)") {
                try importing(path, into: db) {
                    $0.maxRecordBytes = 1_000
                    $0.format = path == csv ? .csv : .jsonl
                }
            }
            #expect(
                "\(error.map { "\($0)" } ?? "no error")"
                    == "\(path): line \(line): the record is longer than 1000 bytes; raise --max-record-bytes to read it"
            )
            #expect(db.catalog.table(named: "docs") == nil)
        }
        // Within the limit the same files load.
        #expect(try importing(jsonl, into: db) { $0.maxRecordBytes = 6_000 }.written == 2)

        // The command line's flag.
        let binary = try #require(
            ImportCLIBinary.path, "the quiver executable was not found; build it with `swift build --build-tests`")
        let refused = try ProcessRunner.run(
            binary, ["import", "--db", tmp.file("cli"), "--table", "docs", "--max-record-bytes", "1000", gzip])
        #expect(
            !refused.succeeded && refused.stderr.contains("\(gzip): line 2: the record is longer than 1000 bytes"),
            "\(refused)")
    }

    @Test func aBadNumPyFileIsNamedOnce() throws {
        let db = try Database(path: tmp.file("db"))
        let records = write("r.jsonl", [#"{"id": 1}"#])
        let npy = tmp.file("bad.npy")
        FileManager.default.createFile(atPath: npy, contents: Data("not numpy at all".utf8))
        let error = #expect(throws: (any Error).self) { try importing(records, into: db) { $0.vectorsPath = npy } }
        #expect(error.map { "\($0)" } == "\(npy): not a .npy file (bad magic bytes)")
    }
}

/// The built `quiver` executable.
enum ImportCLIBinary {
    static let path = ProcessRunner.locateExecutable("quiver", repositoryRoot: repositoryRoot).path
}
