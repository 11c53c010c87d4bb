import Foundation
import QuiverClient
import QuiverEngine
import QuiverImport
import QuiverStorage
import Testing

/// One upsert (Storage's `Upsert`) for the importer and `POST /tables/{table}/rows`: a row
/// inserts, or updates the columns it gives where its key exists. A row that leaves out a
/// NOT NULL column updates an existing row and is refused for a new key, on both paths.
@Suite struct UpsertRuleTests {
    let tmp = TemporaryDirectory("quiver-upsert")

    static let table = TableInfo(
        name: "docs",
        columns: [
            ColumnInfo(name: "id", declaredType: "INTEGER", kind: .plain, notNull: false, primaryKeyPosition: 1),
            ColumnInfo(name: "title", declaredType: "TEXT", kind: .plain, notNull: true, primaryKeyPosition: 0),
            ColumnInfo(name: "score", declaredType: "REAL", kind: .plain, notNull: false, primaryKeyPosition: 0),
        ], withoutRowID: false)

    static let schema =
        "CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT NOT NULL, score REAL); INSERT INTO docs VALUES (1, 'kept', 0.5)"

    @Test func theStatementsFollowTheGivenColumns() {
        let full = Upsert(table: Self.table, columns: ["id", "title", "score"])
        #expect(
            full.insert
                == #"INSERT INTO "docs" ("id", "title", "score") VALUES (?1, ?2, ?3) ON CONFLICT ("id") DO UPDATE SET "title" = excluded."title", "score" = excluded."score""#
        )
        #expect(full.update == nil, "every NOT NULL column given: the upsert alone")

        let partial = Upsert(table: Self.table, columns: ["score", "id"])
        #expect(partial.update == #"UPDATE "docs" SET "score" = ?1 WHERE "id" = ?2"#)
        #expect(
            partial.insert
                == #"INSERT INTO "docs" ("score", "id") SELECT ?1, ?2 WHERE NOT EXISTS (SELECT 1 FROM "docs" WHERE "id" = ?2)"#
        )

        let keyOnly = Upsert(table: Self.table, columns: ["id"])
        #expect(keyOnly.update == nil)
        #expect(
            keyOnly.insert
                == #"INSERT INTO "docs" ("id") SELECT ?1 WHERE NOT EXISTS (SELECT 1 FROM "docs" WHERE "id" = ?1)"#)

        let noKey = Upsert(table: Self.table, columns: ["title"])
        #expect(noKey.insert == #"INSERT INTO "docs" ("title") VALUES (?1)"# && noKey.update == nil)
    }

    func database(_ name: String) throws -> Database {
        let db = try Database(path: tmp.file(name))
        _ = try db.execute(Self.schema)
        return db
    }

    func rows(_ db: Database) throws -> [[SQLValue]] {
        try db.execute("SELECT id, title, score FROM docs ORDER BY id").first?.rows ?? []
    }

    func importCSV(_ db: Database, _ text: String, onError: ImportOptions.OnError = .abort) throws -> ImportSummary {
        let path = tmp.file("in-\(UUID().uuidString).csv")
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        var options = ImportOptions(table: "docs", inputPath: path)
        options.onError = onError
        options.rejectsPath = tmp.file("rejects-\(UUID().uuidString).jsonl")
        return try Importer(database: db, options: options).run()
    }

    @Test func theImporterUpdatesExistingRowsWithoutANotNullColumnAndRefusesNewKeys() throws {
        let db = try database("import")
        let summary = try importCSV(db, "id,score\n1,0.9\n")
        #expect(summary.written == 1)
        #expect(try rows(db) == [[.integer(1), .text("kept"), .real(0.9)]], "the title the file leaves out is kept")

        #expect {
            _ = try importCSV(db, "id,score\n1,0.1\n2,0.2\n")
        } throws: { error in
            "\(error)".contains(":3: column docs.title is required (NOT NULL)")
                && "\(error)".contains("NOT NULL constraint failed: docs.title")
        }
        #expect(try rows(db) == [[.integer(1), .text("kept"), .real(0.9)]], "the aborted import changed nothing")

        let skipped = try importCSV(db, "id,score\n2,0.2\n1,0.3\n", onError: .skip)
        #expect(skipped.written == 1 && skipped.rejected == 1)
        #expect(try rows(db) == [[.integer(1), .text("kept"), .real(0.3)]])
    }

    @Test func theServerUpdatesExistingRowsWithoutANotNullColumnAndRefusesNewKeys() throws {
        let path = tmp.file("server")
        _ = try database("server")
        let server = try ServerProcess(database: path)
        let client = server.client()
        let answer = try client.call("POST", "/tables/docs/rows", ["rows": [["id": 1, "score": 0.9]]])
        #expect(answer["upserted"] == 1)
        let error = expectStatus(409) {
            _ = try client.call(
                "POST", "/tables/docs/rows", ["rows": [["id": 1, "score": 0.1], ["id": 2, "score": 0.2]]])
        }
        #expect(
            error?.message.contains("rows[1]") == true
                && error?.message.contains("NOT NULL constraint failed: docs.title") == true,
            "\(String(describing: error))")
        let result = try client.sql("SELECT id, title, score FROM docs ORDER BY id")
        #expect(
            result.first?.rows == [[.integer(1), .string("kept"), .number(0.9)]], "the refused batch changed nothing")
    }
}
