import Foundation
import QuiverClient
import QuiverJSON
import Testing

/// `.import` and `.export` in `quiver shell --connect` read and write local files and send SQL
/// over `/sql` with the caller's token. Taken as an attacker would: a read token cannot write
/// through them, a hostile file reaches nothing but the rows it holds, a hostile name is only a
/// name, and an export writes the one file it names and changes nothing on the server.
@Suite struct RemoteImportAttackTests {
    let shellTests = ShellTests()
    static let writer = "attack-writer-token"
    static let reader = "attack-reader-token"

    /// Values that look like SQL, or like the parameters, comments, operators and quotes the
    /// server's splitter and rewriter read, or are simply awkward.
    static let values = [
        "'); DROP TABLE canary; --",
        "?", ":x", "$y @z ?1 ?999",
        "it's \"quoted\" `back` [bracket]",
        "nul\u{0}inside",
        // A quote followed by a combining mark is one Character that is not a quote.
        "'\u{301}); DROP TABLE canary; --",
        "\"\u{301}; DROP TABLE canary; --",
        "\\'; ATTACH DATABASE 'x' AS y; --",
        "a <-> b <=> c <#> d",
        "BEGIN; COMMIT; END; ROLLBACK;",
        "/* open comment -- d\n; SELECT 1",
        "[1,2,3]",
        "\u{FEFF}bom \u{200B} zero width é \u{1F600}\r\n\t",
        String(repeating: "x'", count: 50_000),
    ]

    /// Field names that would break out of a quoted identifier, or read as Quiver's syntax.
    static func columns(_ tmp: TemporaryDirectory) -> [String] {
        [
            "\"; ATTACH DATABASE '\(tmp.file("evil.db"))' AS evil; --",
            "x\u{301}\"y",
            "e <-> '[1,0]'",
            "[t]; DROP TABLE canary; DEDUPE canary ON note",
        ]
    }

    /// A server with a write and a read token, and a canary table with a vector index.
    func startServer(_ tmp: TemporaryDirectory, _ arguments: [String] = []) throws -> ServerProcess {
        let server = try ServerProcess(
            database: tmp.file("db"), ["--token", Self.writer, "--read-token", Self.reader] + arguments)
        _ = try server.client(token: Self.writer).sql(
            """
            CREATE TABLE canary (id INTEGER PRIMARY KEY, note TEXT, v VECTOR(2));
            CREATE INDEX canary_v ON canary USING hnsw (v vector_l2_ops);
            INSERT INTO canary VALUES (1, 'alive', '[1, 0]'), (2, 'well', '[0, 1]');
            """)
        return server
    }

    func shell(_ server: ServerProcess, _ token: String, _ commands: String) throws -> ProcessOutcome {
        try shellTests.script(["--connect", server.url, "--token", token], stdin: commands)
    }

    /// Everything the server holds: each schema object with its SQL, the attached databases,
    /// and every table's rows.
    func snapshot(_ server: ServerProcess) throws -> [[JSONValue]] {
        let client = server.client(token: Self.writer)
        let objects =
            try client.sql("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name").first?.rows ?? []
        var state = objects + (try client.sql("SELECT name, file FROM pragma_database_list").first?.rows ?? [])
        for object in objects where object[0] == .string("table") {
            guard case .string(let name) = object[1] else { continue }
            state += try client.sql("SELECT * FROM \(Self.quoted(name)) ORDER BY rowid").first?.rows ?? []
        }
        return state
    }

    /// The server's index files, name by name, byte for byte.
    func indexFiles(_ server: ServerProcess) throws -> [String: Data] {
        let directory = (server.database as NSString).appendingPathComponent("indexes")
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            files[name] = try Data(
                contentsOf: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(name)))
        }
        return files
    }

    /// The UTF-8 bytes of `text` as SQLite's hex() writes them.
    static func hex(_ text: String) -> String {
        text.utf8.map { String(format: "%02X", $0) }.joined()
    }

    /// `text` as a JSON string, every control character escaped.
    static func json(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// `text` between double quotes, each one inside doubled: a CSV field or an SQL name. Scalar
    /// by scalar: a quote and a combining mark after it are one Character, and still a quote.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            if scalar == "\"" { out += "\"" }
            out.unicodeScalars.append(scalar)
        }
        return out + "\""
    }

    // MARK: - A read token

    @Test func aReadTokenCannotImportAndChangesNothing() throws {
        let tmp = TemporaryDirectory("quiver-remote-import-attack")
        let server = try startServer(tmp)
        let fresh = tmp.file("fresh.csv")
        try "id,title\n1,new table\n".write(toFile: fresh, atomically: true, encoding: .utf8)
        let existing = tmp.file("existing.jsonl")
        try """
        {"id": 1, "note": "overwritten", "v": [5, 5]}
        {"id": 3, "note": "added", "v": [1, 1]}

        """.write(toFile: existing, atomically: true, encoding: .utf8)
        let before = try snapshot(server)
        let indexesBefore = try indexFiles(server)
        #expect(!indexesBefore.isEmpty)

        for (file, table) in [(fresh, "fresh"), (existing, "canary")] {
            let refused = try shell(server, Self.reader, ".import \(file) \(table)\n")
            #expect(
                refused.status == 1 && refused.stderr.contains("read-only access cannot change rows of"),
                "the server refuses the write and says why: \(refused)")
            #expect(!refused.stderr.contains("imported"), "\(refused)")
            #expect(try snapshot(server) == before, "no table or row is created or changed by .import into \(table)")
            #expect(try indexFiles(server) == indexesBefore, "no index file is touched")
        }

        // The same files load with the write token: the token alone was refused.
        for (file, table) in [(fresh, "fresh"), (existing, "canary")] {
            let loaded = try shell(server, Self.writer, ".import \(file) \(table)\n")
            #expect(loaded.succeeded && loaded.stderr.contains("imported"), "\(loaded)")
        }
        let canary = try server.client(token: Self.writer).sql("SELECT id, note FROM canary ORDER BY id").first?.rows
        #expect(
            canary == [
                [.integer(1), .string("overwritten")], [.integer(2), .string("well")], [.integer(3), .string("added")],
            ])
    }

    // MARK: - A hostile file

    @Test func aHostileFileArrivesAsDataByteForByte() throws {
        let tmp = TemporaryDirectory("quiver-remote-import-attack")
        let server = try startServer(tmp)
        let columns = Self.columns(tmp)
        let jsonl = tmp.file("hostile.jsonl")
        let csv = tmp.file("hostile.csv")
        var jsonText = ""
        var csvText = (["id"] + columns).map(Self.quoted).joined(separator: ",") + "\n"
        for (i, value) in Self.values.enumerated() {
            let fields = columns.map { "\(Self.json($0)): \(Self.json(value))" }
            jsonText += "{\"id\": \(i + 1), \(fields.joined(separator: ", "))}\n"
            csvText += "\(i + 1)," + columns.map { _ in Self.quoted(value) }.joined(separator: ",") + "\n"
        }
        try jsonText.write(toFile: jsonl, atomically: true, encoding: .utf8)
        try csvText.write(toFile: csv, atomically: true, encoding: .utf8)
        let canaryBefore = try server.client(token: Self.writer).sql("SELECT * FROM canary ORDER BY id").first?.rows
        let objectsBefore =
            try server.client(token: Self.writer).sql("SELECT name FROM sqlite_schema").first?.rows ?? []

        // Twice each: the first creates the table, the second upserts into it.
        let out = try shell(
            server, Self.writer,
            ".import \(jsonl) hostile\n.import \(jsonl) hostile\n.import \(csv) hostile_csv\n.import \(csv) hostile_csv\n"
        )
        #expect(out.succeeded, "\(out)")
        #expect(out.stderr.contains("imported \(Self.values.count) rows into hostile (new table)"), "\(out.stderr)")

        let client = server.client(token: Self.writer)
        let selected = columns.map { "hex(\(Self.quoted($0)))" }
        for table in ["hostile", "hostile_csv"] {
            let names = try client.sql("SELECT hex(name), type FROM pragma_table_info('\(table)') ORDER BY cid")
                .first?.rows
            #expect(
                names
                    == (["id"] + columns).enumerated().map {
                        [.string(Self.hex($0.element)), .string($0.offset == 0 ? "INTEGER" : "TEXT")]
                    },
                "the field names are the column names, byte for byte, in \(table)")
            let rows = try client.sql(
                "SELECT id, \(selected.joined(separator: ", ")) FROM \(table) ORDER BY id"
            ).first?.rows
            let expected = Self.values.enumerated().map { i, value in
                [JSONValue.integer(Int64(i + 1))] + columns.map { _ in JSONValue.string(Self.hex(value)) }
            }
            #expect(rows == expected, "every value arrives as written, byte for byte, in \(table)")
        }

        // Nothing but the import ran: the canary is as it was, no database was attached, and
        // the only new objects are the two tables.
        #expect(try client.sql("SELECT * FROM canary ORDER BY id").first?.rows == canaryBefore)
        #expect(
            try client.sql("SELECT name FROM pragma_database_list").first?.rows == [[.string("main")]])
        #expect(!FileManager.default.fileExists(atPath: tmp.file("evil.db")))
        let objects = try client.sql("SELECT name FROM sqlite_schema").first?.rows ?? []
        #expect(
            Set(objects) == Set(objectsBefore + [[.string("hostile")], [.string("hostile_csv")]])
                && objects.count == objectsBefore.count + 2, "\(objects)")
    }

    /// A field name with a NUL could not be a column name (SQLite's text ends there): the load
    /// stops before anything is sent.
    @Test func aFieldNameWithANulIsRefusedBeforeAnythingIsSent() throws {
        let tmp = TemporaryDirectory("quiver-remote-import-attack")
        let server = try startServer(tmp)
        let jsonl = tmp.file("nul.jsonl")
        try "{\"id\": 1, \"a\\u0000\\\"); DROP TABLE canary; --\": \"v\"}\n".write(
            toFile: jsonl, atomically: true, encoding: .utf8)
        let csv = tmp.file("nul.csv")
        try Data("id,\"b\u{0}\"\"); DROP TABLE canary; --\"\n1,v\n".utf8).write(to: URL(fileURLWithPath: csv))
        let before = try snapshot(server)
        for file in [jsonl, csv] {
            let out = try shell(server, Self.writer, ".import \(file) nul\n")
            #expect(out.status == 1 && out.stderr.contains("holds a NUL character"), "\(out)")
            #expect(try snapshot(server) == before)
        }
    }

    /// A file of nothing but bad records (here unpaired surrogates) is stopped at its first bad
    /// line, over a server and in process alike, rather than by a plan that finds no fields.
    @Test func aFileOfBadRecordsIsStoppedAtItsFirstBadLineInBothShells() throws {
        let tmp = TemporaryDirectory("quiver-remote-import-attack")
        let server = try startServer(tmp)
        let jsonl = tmp.file("bad.jsonl")
        try "{\"id\": 1, \"t\": \"a\\ud800b\"}\n{\"id\": 2, \"t\": \"\\udc00\"}\n".write(
            toFile: jsonl, atomically: true, encoding: .utf8)
        let before = try snapshot(server)
        let remote = try shell(server, Self.writer, ".import \(jsonl) bad\n")
        let local = try shellTests.script(["--db", tmp.file("local")], stdin: ".import \(jsonl) bad\n")
        for out in [remote, local] {
            #expect(
                out.status == 1 && out.stderr.contains("bad.jsonl:1: ")
                    && out.stderr.contains("unpaired UTF-16 surrogate"),
                "\(out)")
        }
        #expect(try snapshot(server) == before)
    }

    /// A table name given to `.import` or `.export` is quoted as a name wherever it is used.
    @Test func aHostileTableNameIsOnlyAName() throws {
        let tmp = TemporaryDirectory("quiver-remote-import-attack")
        let server = try startServer(tmp)
        let file = tmp.file("rows.csv")
        try "id,note\n1,one\n".write(toFile: file, atomically: true, encoding: .utf8)
        let name = "c\"; DROP TABLE canary; --"
        let tablesBefore =
            try server.client(token: Self.writer).sql(
                "SELECT name FROM sqlite_schema WHERE type = 'table'"
            ).first?.rows ?? []
        let out = try shell(
            server, Self.writer,
            """
            .import \(file) 'c"; DROP TABLE canary; --'
            .export 'c"; DROP TABLE canary; --' \(tmp.file("back.csv"))
            .export "nope'); DROP TABLE canary; --" \(tmp.file("nope.csv"))

            """)
        #expect(out.stderr.contains("no such table: nope'); DROP TABLE canary; --"), "\(out)")
        #expect(!FileManager.default.fileExists(atPath: tmp.file("nope.csv")))
        #expect(try String(contentsOfFile: tmp.file("back.csv"), encoding: .utf8) == "id,note\r\n1,one\r\n")
        let client = server.client(token: Self.writer)
        #expect(
            try client.sql("SELECT name FROM sqlite_schema WHERE type = 'table'").first?.rows
                == tablesBefore + [[.string(name)]])
        #expect(
            try client.sql("SELECT * FROM \(Self.quoted(name))").first?.rows
                == [[.integer(1), .string("one")]])
    }

    // MARK: - All or nothing

    /// A file the server cannot take whole, for its size or for a row it refuses, changes nothing.
    @Test func aFileTheServerRefusesInPartChangesNothing() throws {
        let tmp = TemporaryDirectory("quiver-remote-import-attack")
        let server = try startServer(tmp, ["--max-body-bytes", "4096"])
        _ = try server.client(token: Self.writer).sql(
            "CREATE TABLE checked (id INTEGER PRIMARY KEY, n INTEGER CHECK (n < 10)); INSERT INTO checked VALUES (1, 1)"
        )
        let large = tmp.file("large.csv")
        try ("id,note\n" + (1...300).map { "\($0),row \($0) of a file too large for one request\n" }.joined())
            .write(toFile: large, atomically: true, encoding: .utf8)
        let lastRefused = tmp.file("checked.csv")
        try "id,n\n2,2\n3,3\n4,40\n".write(toFile: lastRefused, atomically: true, encoding: .utf8)
        let before = try snapshot(server)

        let tooLarge = try shell(server, Self.writer, ".import \(large) large\n")
        #expect(tooLarge.status == 1 && tooLarge.stderr.contains("larger than the limit of 4096 bytes"), "\(tooLarge)")
        #expect(try snapshot(server) == before)
        let refused = try shell(server, Self.writer, ".import \(lastRefused) checked\n")
        #expect(refused.status == 1 && refused.stderr.contains("CHECK constraint failed"), "\(refused)")
        #expect(try snapshot(server) == before, "the rows before the refused one are not kept")
    }

    // MARK: - Export

    /// A read token exports; the export writes the one file it names, changes nothing on the
    /// server, and holds the values as stored: loaded again they are the same bytes.
    @Test func aReadTokenExportsOnlyTheNamedFileAndChangesNothing() throws {
        let tmp = TemporaryDirectory("quiver-remote-import-attack")
        let server = try startServer(tmp)
        let columns = Self.columns(tmp)
        let jsonl = tmp.file("hostile.jsonl")
        try Self.values.enumerated().map { i, value in
            "{\"id\": \(i + 1), " + columns.map { "\(Self.json($0)): \(Self.json(value))" }.joined(separator: ", ")
                + "}\n"
        }.joined().write(toFile: jsonl, atomically: true, encoding: .utf8)
        let loaded = try shell(server, Self.writer, ".import \(jsonl) hostile\n")
        #expect(loaded.succeeded, "\(loaded)")

        let exports = tmp.file("exports")
        try FileManager.default.createDirectory(atPath: exports, withIntermediateDirectories: true)
        let before = try snapshot(server)
        let out = try shell(
            server, Self.reader,
            """
            .export hostile \(exports)/hostile.jsonl
            .export hostile \(exports)/hostile.csv
            .export canary \(exports)/canary.jsonl

            """)
        #expect(out.succeeded && out.stderr.contains("exported \(Self.values.count) rows of hostile"), "\(out)")
        #expect(try snapshot(server) == before, "an export changes nothing on the server")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: exports).sorted()
                == ["canary.jsonl", "hostile.csv", "hostile.jsonl"],
            "only the files named")

        let again = try shell(
            server, Self.writer,
            ".import \(exports)/hostile.jsonl from_jsonl\n.import \(exports)/hostile.csv from_csv\n")
        #expect(again.succeeded, "\(again)")
        let client = server.client(token: Self.writer)
        let every = columns.map { "hex(\(Self.quoted($0)))" }.joined(
            separator: ", ")
        let original = try client.sql("SELECT id, \(every) FROM hostile ORDER BY id").first?.rows
        for table in ["from_jsonl", "from_csv"] {
            #expect(
                try client.sql("SELECT id, \(every) FROM \(table) ORDER BY id").first?.rows == original,
                "the export of hostile, loaded again as \(table), holds the same bytes")
        }
    }

    /// An export the server cannot answer whole (past --max-response-bytes) writes nothing: a
    /// file already at the path stays as it was.
    @Test func anExportThatFailsLeavesTheFileAsItWas() throws {
        let tmp = TemporaryDirectory("quiver-remote-import-attack")
        let server = try startServer(tmp, ["--max-response-bytes", "1024"])
        let rows = (3...100).map { "(\($0), 'row \($0) with some words in it', '[1, \($0)]')" }
        _ = try server.client(token: Self.writer).sql("INSERT INTO canary VALUES \(rows.joined(separator: ", "))")
        let target = tmp.file("canary.csv")
        try "kept\n".write(toFile: target, atomically: true, encoding: .utf8)
        let out = try shell(server, Self.reader, ".export canary \(target)\n")
        #expect(out.status == 1 && out.stderr.contains("--max-response-bytes"), "\(out)")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "kept\n")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: tmp.path).filter { $0.hasPrefix("canary") } == [
                "canary.csv"
            ])
    }
}
