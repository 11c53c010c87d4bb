import Foundation

/// A full-text index as recorded in the row store (`_quiver_fulltext_indexes`), apart from the
/// vector indexes' `_quiver_indexes`, whose record is about files and checkpoints:
///
///     _quiver_fulltext_indexes(name PRIMARY KEY, table_name, columns /* JSON array */, fts_table,
///                              tokenizer_version)
///
/// The index lives inside the row store, so it takes SQLite's transactions: a contentless FTS5
/// table `_quiver_fts_<name>` (postings only, the rows are the content; columns `c0`, `c1`, …
/// stand for the indexed columns in order, so renaming a column leaves it alone) and a plain
/// table `_quiver_fts_<name>_pending` where MaintenanceTriggers note, in the writing
/// transaction, the rows the FTS5 table must forget (with the values it holds for them) and
/// re-read. Triggers cannot write the FTS5 table themselves (`trusted_schema = OFF`), so the
/// writing connection applies the pending rows (QuiverIndexing's `FullTextIndexes`).
public struct FullTextIndexDefinition: Sendable, Equatable {
    public var name: String
    public var table: String
    /// The indexed columns, as the table spells them.
    public var columns: [String]
    /// The FTS5 table holding the postings.
    public var ftsTable: String
    /// `FullTextTokenizer.version` when the index was built; another version must be rebuilt.
    public var tokenizerVersion: Int

    public init(name: String, table: String, columns: [String], tokenizerVersion: Int) {
        self.name = name
        self.table = table
        self.columns = columns
        self.ftsTable = "_quiver_fts_\(name)"
        self.tokenizerVersion = tokenizerVersion
    }

    /// The table where triggers note changed rows until they are applied.
    public var pendingTable: String { ftsTable + "_pending" }

    /// The FTS5 column standing for the indexed column at `position`.
    public static func ftsColumn(_ position: Int) -> String { "c\(position)" }

    /// The FTS5 columns, in the order of `columns`.
    public var ftsColumns: [String] { columns.indices.map(Self.ftsColumn) }

    /// The FTS5 column standing for `column` of the table, if it is indexed.
    public func ftsColumn(for column: String) -> String? {
        columns.firstIndex { $0.caseInsensitiveEquals(column) }.map(Self.ftsColumn)
    }

    static let createTable = """
        CREATE TABLE IF NOT EXISTS _quiver_fulltext_indexes (
            name TEXT PRIMARY KEY COLLATE NOCASE, table_name TEXT NOT NULL, columns TEXT NOT NULL,
            fts_table TEXT NOT NULL, tokenizer_version INTEGER NOT NULL)
        """

    static func load(from connection: Connection) throws -> [FullTextIndexDefinition] {
        guard
            try connection.scalar("SELECT count(*) FROM sqlite_schema WHERE name = '_quiver_fulltext_indexes'")?
                .integerValue == 1
        else { return [] }
        return try connection.query(
            "SELECT name, table_name, columns, fts_table, tokenizer_version FROM _quiver_fulltext_indexes ORDER BY name"
        ).compactMap { row in
            guard case .text(let name) = row[0], case .text(let table) = row[1], case .text(let json) = row[2],
                let columns = try? JSONDecoder().decode([String].self, from: Data(json.utf8)),
                case .text(let ftsTable) = row[3], let version = row[4].integerValue
            else { return nil }
            var definition = FullTextIndexDefinition(
                name: name, table: table, columns: columns, tokenizerVersion: Int(version))
            definition.ftsTable = ftsTable
            return definition
        }
    }

    /// Records the index (creating the catalog table on first use).
    public func insert(into connection: Connection) throws {
        try connection.execute(Self.createTable)
        _ = try connection.query(
            "INSERT INTO _quiver_fulltext_indexes VALUES (?, ?, ?, ?, ?)",
            SQLBindings([
                .text(name), .text(table), .text(Self.encode(columns)), .text(ftsTable),
                .integer(Int64(tokenizerVersion)),
            ]))
    }

    /// Rewrites the record as this definition has it (a renamed table or column, a new version).
    public func update(in connection: Connection) throws {
        _ = try connection.query(
            "UPDATE _quiver_fulltext_indexes SET table_name = ?, columns = ?, tokenizer_version = ? WHERE name = ?",
            SQLBindings([.text(table), .text(Self.encode(columns)), .integer(Int64(tokenizerVersion)), .text(name)]))
    }

    public func delete(from connection: Connection) throws {
        _ = try connection.query("DELETE FROM _quiver_fulltext_indexes WHERE name = ?", SQLBindings([.text(name)]))
    }

    private static func encode(_ columns: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(columns)) ?? Data("[]".utf8), as: UTF8.self)
    }
}
