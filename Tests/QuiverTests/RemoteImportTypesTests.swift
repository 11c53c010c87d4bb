import Foundation
import QuiverEngine
import QuiverStorage
import Testing

/// `.import` and `.export` in `quiver shell --connect` do what they do in the embedded shell:
/// the same reading, type inference and conversion (QuiverImport), so the table a server gets
/// has the same column types and values, and an export writes the same file.
@Suite struct RemoteImportTypesTests {
    let shellTests = ShellTests()

    static let csv = """
        id,n,x,name,v
        1,10,1.5,one,"[1,0,0]"
        2,-3,2,"two, quoted","[0,1,0.5]"
        3,,1e300,,"[0,0,1]"

        """

    static let jsonl = """
        {"id": 1, "n": 10, "x": 1.5, "name": "one", "v": [1, 0, 0]}
        {"id": 2, "n": -9007199254740993, "x": -Infinity, "name": "nul\\u0000inside", "v": [0.1, 0.2, 0.3]}
        {"id": 3, "n": null, "x": 0.1, "name": "三", "v": [1e-3, -2, 3.5]}

        """

    /// Column names and declared types, then every row with each value's SQLite type.
    func contents(_ path: String) throws -> [[[SQLValue]]] {
        let db = try Database(path: path)
        return try ["nums", "more"].flatMap { table in
            [
                try db.execute("SELECT name, type, pk FROM pragma_table_info('\(table)')").first?.rows ?? [],
                try db.execute("SELECT id, n, typeof(n), x, typeof(x), name, typeof(name), v FROM \(table) ORDER BY id")
                    .first?.rows ?? [],
            ]
        }
    }

    @Test func importInfersTheEmbeddedTypesAndExportWritesTheSameFile() throws {
        let tmp = TemporaryDirectory("quiver-remote-import")
        let csv = tmp.file("nums.csv")
        let jsonl = tmp.file("nums.jsonl")
        try Self.csv.write(toFile: csv, atomically: true, encoding: .utf8)
        try Self.jsonl.write(toFile: jsonl, atomically: true, encoding: .utf8)
        let commands = """
            .import \(csv) nums
            .import \(jsonl) more
            .export nums %@
            .export more %@

            """

        let embedded = tmp.file("embedded")
        let local = try shellTests.script(
            ["--db", embedded],
            stdin: String(format: commands, tmp.file("local.csv"), tmp.file("local.jsonl")))
        #expect(local.succeeded, "\(local)")

        let served = tmp.file("served")
        let server = try ServerProcess(database: served)
        let remote = try shellTests.script(
            ["--connect", server.url],
            stdin: String(format: commands, tmp.file("remote.csv"), tmp.file("remote.jsonl")))
        #expect(remote.succeeded, "\(remote)")
        #expect(remote.stderr.contains("imported 3 rows into nums (new table)"), "\(remote.stderr)")
        server.stop()

        let expected = try contents(embedded)
        #expect(
            expected[0].map { $0[1] } == [
                .text("INTEGER"), .text("INTEGER"), .text("REAL"), .text("TEXT"), .text("VECTOR(3)"),
            ],
            "the embedded shell infers the types")
        #expect(expected[3][1][3] == .real(-.infinity) && expected[3][1][5] == .text("nul\u{0}inside"))
        #expect(try contents(served) == expected, "the same tables and values through the server")
        for name in ["csv", "jsonl"] {
            let local = try String(contentsOfFile: tmp.file("local.\(name)"), encoding: .utf8)
            #expect(
                try String(contentsOfFile: tmp.file("remote.\(name)"), encoding: .utf8) == local,
                "the same .\(name) export")
        }
    }

    /// A bad record stops a remote import before anything is sent, naming its file and line.
    @Test func aBadRecordStopsTheRemoteImportNamingItsLine() throws {
        let tmp = TemporaryDirectory("quiver-remote-import")
        let csv = tmp.file("bad.csv")
        try "id,v\n1,\"[1,0]\"\n2,\"[1,0,0]\"\n3,\"[0,1]\"\n".write(toFile: csv, atomically: true, encoding: .utf8)
        let server = try ServerProcess(database: tmp.file("db"))
        let out = try shellTests.script(["--connect", server.url], stdin: ".import \(csv) t\n")
        #expect(
            out.status == 1 && out.stderr.contains("bad.csv:3: ") && out.stderr.contains("expected 2 dimensions"),
            "\(out)")
        let tables = try server.client().sql("SELECT count(*) FROM sqlite_schema WHERE name = 't'")
        #expect(tables.first?.rows == [[.integer(0)]], "nothing was created")
    }
}
