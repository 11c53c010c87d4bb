import Foundation
import QuiverEngine
import QuiverIndexing
import QuiverStorage
import Testing

/// The index-kind protocol is all a kind needs: a second, tiny kind (a copy of a TEXT column by
/// rowid, checkpointed as JSON) plugged into `IndexLifecycle` stays in step with the rows through
/// inserts, updates, deletes, a changed rowid and a rollback, checkpoints, and an opening from its
/// file plus the change log — beside an HNSW index of the same table, which it leaves alone.
@Suite struct IndexKindTests {
    let directory = TemporaryDirectory("quiver-index-kind")
    let db: Database
    let connection: Connection
    let lifecycle: IndexLifecycle<TextCopyKind>
    let definition = IndexDefinition(
        name: "notes_body", table: "NOTES", column: "Body", metric: .cosine, m: 0, efConstruction: 0, file: "",
        checkpointSequence: 0)

    init() throws {
        db = try Database(path: directory.file("db"))
        _ = try db.execute(
            """
            CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, emb VECTOR(2));
            INSERT INTO notes VALUES (1, 'one', '[1,0]'), (2, 'two', '[0,1]'), (3, NULL, '[1,1]');
            CREATE INDEX notes_emb ON notes USING hnsw (emb vector_cosine_ops);
            """)
        connection = try RowStore.open(path: db.directory.rowsPath)
        lifecycle = IndexLifecycle(connection: connection, directory: db.directory.indexesPath, kind: TextCopyKind())
        try connection.transaction(.immediate) { [lifecycle, connection, definition] in
            try lifecycle.create(definition, ifNotExists: false, catalog: try Catalog.load(from: connection))
            try MaintenanceTriggers.synchronize(connection, catalog: try Catalog.load(from: connection))
        }
    }

    private var recorded: IndexDefinition {
        get throws { try #require(try Catalog.load(from: connection).indexes.first { $0.name == definition.name }) }
    }

    /// What the index must hold: every non-NULL body by rowid.
    private func rows() throws -> [Int64: String] {
        var rows: [Int64: String] = [:]
        for row in try db.rows("SELECT id, body FROM notes WHERE body IS NOT NULL") {
            rows[try #require(row[0].integerValue)] = try #require(row[1].textValue)
        }
        return rows
    }

    private func caughtUp(_ lifecycle: IndexLifecycle<TextCopyKind>) throws -> TextCopyIndex {
        try lifecycle.current(try recorded, rowid: "rowid")
    }

    @Test func buildsFromTheRowsAndFollowsEveryKindOfWrite() throws {
        let record = try recorded
        #expect(record.file.hasSuffix(".textcopy"))
        #expect((record.table, record.column) == ("notes", "body"), "names as the catalog spells them")
        #expect(try caughtUp(lifecycle).texts == [1: "one", 2: "two"])

        _ = try db.execute("INSERT INTO notes VALUES (4, 'four', NULL), (5, 'five', '[2,1]')")
        _ = try db.execute("UPDATE notes SET body = 'TWO' WHERE id = 2; UPDATE notes SET body = 'three' WHERE id = 3")
        _ = try db.execute("DELETE FROM notes WHERE id = 1; UPDATE notes SET id = 10 WHERE id = 5")
        #expect(try caughtUp(lifecycle).texts == rows())
        #expect(try rows() == [2: "TWO", 3: "three", 4: "four", 10: "five"])

        // A rolled-back write never reaches the index.
        _ = try db.execute("BEGIN; DELETE FROM notes; ROLLBACK")
        #expect(try caughtUp(lifecycle).texts == rows())

        // The HNSW index of the same table keeps working beside it.
        #expect(try db.integers("SELECT id FROM notes ORDER BY emb <=> '[1,0]' LIMIT 1") == [10])
        #expect(db.lastReport.strategy == .hnsw)
    }

    @Test func aDefinitionTheKindRefusesLeavesNoTrace() throws {
        var wrong = definition
        wrong.name = "notes_emb_text"
        wrong.column = "emb"
        #expect(throws: SQLiteError.self) {
            try connection.transaction(.immediate) {
                try lifecycle.create(wrong, ifNotExists: false, catalog: try Catalog.load(from: connection))
            }
        }
        #expect(try Catalog.load(from: connection).indexes.map(\.name).sorted() == ["notes_body", "notes_emb"])
        let files = try FileManager.default.contentsOfDirectory(atPath: db.directory.indexesPath)
        #expect(files.filter { $0.hasSuffix(".textcopy") }.count == 1)
    }

    @Test func checkpointsWriteTheFileAndAnOpeningReplaysTheLogAfterIt() throws {
        _ = try db.execute("INSERT INTO notes VALUES (4, 'four', NULL); UPDATE notes SET body = 'uno' WHERE id = 1")
        lifecycle.checkpointInterval = 1
        _ = try caughtUp(lifecycle)
        try lifecycle.checkpointIfDue(try Catalog.load(from: connection))
        let checkpointed = try recorded
        let file = try TextCopyFile.read(lifecycle.path(of: checkpointed))
        #expect(file.texts == (try rows()))
        #expect(checkpointed.checkpointSequence == file.sequence && file.sequence > 0)

        // Changes after the checkpoint live only in the log. Let go of the index in memory, as a
        // new process starts, and open it again from its file.
        _ = try db.execute("DELETE FROM notes WHERE id = 2; INSERT INTO notes VALUES (6, 'six', NULL)")
        IndexRegistry.shared.forget(lifecycle.path(of: checkpointed))
        let reopened = IndexLifecycle(
            connection: try RowStore.open(path: db.directory.rowsPath), directory: db.directory.indexesPath,
            kind: TextCopyKind())
        let index = try reopened.current(checkpointed, rowid: "rowid")
        #expect(index.openedAt == file.sequence)
        #expect(index.texts == (try rows()))
    }

    @Test func dropRemovesTheFileAndLeftoversOfTheKindAreCleanedUp() throws {
        let record = try recorded
        let path = lifecycle.path(of: record)
        #expect(FileManager.default.fileExists(atPath: path))
        let stray = (db.directory.indexesPath as NSString).appendingPathComponent("killed-1.textcopy")
        #expect(FileManager.default.createFile(atPath: stray, contents: Data("{}".utf8)))
        #expect(try lifecycle.removeOrphanFiles(try Catalog.load(from: connection)) == ["killed-1.textcopy"])
        #expect(FileManager.default.fileExists(atPath: path))

        try connection.transaction(.immediate) { try lifecycle.drop(record) }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try Catalog.load(from: connection).indexes.map(\.name) == ["notes_emb"])
        // The HNSW index's file is not this kind's to remove.
        #expect(try db.integers("SELECT id FROM notes ORDER BY emb <=> '[0,1]' LIMIT 1") == [2])
        #expect(db.lastReport.strategy == .hnsw)
    }
}

/// A test-only index kind: a copy of a TEXT column by rowid, checkpointed as JSON.
struct TextCopyKind: IndexKind {
    static let fileExtension = "textcopy"

    func validate(_ definition: IndexDefinition, on table: TableInfo) throws {
        guard table.column(named: definition.column)?.declaredType.uppercased() == "TEXT" else {
            throw SQLiteError(.unsuitableSchema("textcopy needs a TEXT column"))
        }
    }

    func build(
        _ definition: IndexDefinition, on table: TableInfo, rows: Statement, path: String, sequence: Int64,
        threads: Int
    ) throws -> TextCopyIndex {
        let index = TextCopyIndex(path: path, file: TextCopyFile(sequence: sequence, texts: [:]))
        while try rows.step() {
            if let text = index.entry(from: rows) { index.texts[rows.int64(at: 0)] = text }
        }
        try index.checkpoint()
        return index
    }

    func open(path: String) throws -> TextCopyIndex { TextCopyIndex(path: path, file: try TextCopyFile.read(path)) }
}

struct TextCopyFile: Codable {
    var sequence: Int64
    var texts: [Int64: String]

    static func read(_ path: String) throws -> TextCopyFile {
        try JSONDecoder().decode(TextCopyFile.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

final class TextCopyIndex: MaintainedIndex, @unchecked Sendable {
    let path: String
    var texts: [Int64: String]
    private(set) var appliedSequence: Int64
    private(set) var checkpointSequence: Int64
    /// The sequence of the file it was opened or built from.
    let openedAt: Int64

    init(path: String, file: TextCopyFile) {
        self.path = path
        texts = file.texts
        appliedSequence = file.sequence
        checkpointSequence = file.sequence
        openedAt = file.sequence
    }

    var count: Int { texts.count }

    func entry(from row: Statement) -> String? { row.value(at: 1).textValue }

    func apply(changes: [(label: Int64, entry: String?)], through sequence: Int64, threads: Int) throws {
        for (label, text) in changes { texts[label] = text }
        appliedSequence = max(appliedSequence, sequence)
    }

    func checkpoint() throws {
        let data = try JSONEncoder().encode(TextCopyFile(sequence: appliedSequence, texts: texts))
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        checkpointSequence = appliedSequence
    }
}
