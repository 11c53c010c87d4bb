import QuiverStorage
import QuiverText

/// The full-text indexes of one database, seen from one connection: creating, dropping and
/// rebuilding them, and applying the rows their triggers noted (see FullTextIndexDefinition).
///
/// Unlike a file-backed kind (`IndexLifecycle`), a full-text index is tables in the row store,
/// so it takes SQLite's transactions: whatever a transaction wrote reaches the index before it
/// commits (`applyPending`, run by the statement runner and before every commit through
/// `Connection.transaction`), a rollback takes both back, and after a kill -9 the index agrees
/// with the committed rows with nothing to replay. A row a writer outside Quiver changed (the
/// sqlite3 shell has no `quiver` tokenizer to apply it) stays noted until Quiver's next write
/// on the table applies it.
package final class FullTextIndexes {
    let connection: Connection
    /// `connection.totalChanges` when the notes were last applied: unchanged means this
    /// connection wrote nothing since, so there is nothing of its own to apply.
    private var appliedAtChanges = -1
    /// The catalog the statement runner works with, kept in step by it: the before-commit work
    /// reads this copy, since it may run while the runner's own catalog is being changed (an
    /// index catching up commits its read transaction).
    package var catalog = Catalog.empty

    package init(connection: Connection) {
        self.connection = connection
    }

    // MARK: statements

    /// Creates, fills and records a new index (with this build's tokenizer version); the
    /// triggers come with the catalog's next `MaintenanceTriggers.synchronize`, in the same
    /// transaction.
    package func create(_ definition: FullTextIndexDefinition, ifNotExists: Bool, catalog: Catalog) throws {
        let sqliteIndexes =
            try connection.scalar(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = ? COLLATE NOCASE",
                SQLBindings([.text(definition.name)]))?.integerValue ?? 0
        if catalog.hasIndex(named: definition.name) || sqliteIndexes > 0 {
            if ifNotExists { return }
            throw SQLiteError(.indexExists(definition.name))
        }
        guard let table = catalog.table(named: definition.table) else {
            throw SQLiteError(.noSuchTable(definition.table))
        }
        guard table.rowidName != nil else {
            throw SQLiteError(
                .unsuitableSchema(
                    "table \(table.name): a full-text index needs the rowid (no WITHOUT ROWID, no columns hiding rowid, _rowid_ and oid)"
                ))
        }
        var definition = definition
        definition.table = table.name
        definition.columns = try Self.checkedColumns(definition.columns, of: table)
        definition.tokenizerVersion = FullTextTokenizer.version
        try createPostingsTable(definition)
        try connection.execute(
            """
            CREATE TABLE \(quoteIdentifier(definition.pendingTable)) (seq INTEGER PRIMARY KEY, \
            row_id INTEGER NOT NULL, indexed INTEGER NOT NULL, \(definition.ftsColumns.joined(separator: ", ")))
            """)
        try definition.insert(into: connection)
        try fill(definition, from: table)
    }

    /// The contentless FTS5 table that holds the index's postings, read with the `quiver` tokenizer.
    private func createPostingsTable(_ definition: FullTextIndexDefinition) throws {
        try connection.execute(
            """
            CREATE VIRTUAL TABLE \(quoteIdentifier(definition.ftsTable)) USING fts5(\
            \(definition.ftsColumns.joined(separator: ", ")), content='', tokenize='quiver', detail=full)
            """)
    }

    /// The columns as the table spells them: each must exist, hold text (TEXT affinity or TEXT
    /// COMPRESSED) and be named once.
    private static func checkedColumns(_ requested: [String], of table: TableInfo) throws -> [String] {
        var columns: [String] = []
        for name in requested {
            guard let column = table.column(named: name) else {
                throw SQLiteError(.noSuchColumn(table: table.name, column: name))
            }
            let declared = column.declaredType.uppercased()
            let holdsText =
                column.kind == .compressedText
                || column.kind == .plain && ["CHAR", "CLOB", "TEXT"].contains { declared.contains($0) }
            guard holdsText else {
                throw SQLiteError(
                    .unsuitableSchema(
                        "\(table.name).\(column.name) is \(column.declaredType.isEmpty ? "untyped" : column.declaredType); a full-text index takes TEXT or TEXT COMPRESSED columns"
                    ))
            }
            guard !columns.contains(where: { $0.caseInsensitiveEquals(column.name) }) else {
                throw SQLiteError(.unsuitableSchema("column \(column.name) is named twice in the index"))
            }
            columns.append(column.name)
        }
        return columns
    }

    package func drop(_ definition: FullTextIndexDefinition) throws {
        try definition.delete(from: connection)
        try connection.execute(
            """
            DROP TABLE IF EXISTS \(quoteIdentifier(definition.ftsTable));
            DROP TABLE IF EXISTS \(quoteIdentifier(definition.pendingTable));
            """)
        // Its triggers go with the catalog's next `MaintenanceTriggers.synchronize`.
    }

    /// Makes the index again from the rows, with the tokenizer of this build. The FTS5 table is
    /// dropped and created anew, so the schema changes and every connection re-reads the record.
    package func reindex(_ definition: FullTextIndexDefinition, catalog: Catalog) throws {
        guard let table = catalog.table(named: definition.table),
            definition.columns.allSatisfy({ table.column(named: $0) != nil })
        else {
            throw SQLiteError(
                .unsuitableSchema(
                    "index \(definition.name) is on \(definition.table) (\(definition.columns.joined(separator: ", "))), which no longer exists"
                ))
        }
        try connection.execute(
            """
            DROP TABLE \(quoteIdentifier(definition.ftsTable));
            DELETE FROM \(quoteIdentifier(definition.pendingTable))
            """)
        try createPostingsTable(definition)
        var current = definition
        current.tokenizerVersion = FullTextTokenizer.version
        try current.update(in: connection)
        try fill(current, from: table)
    }

    /// Indexes every row with a value in an indexed column.
    private func fill(_ definition: FullTextIndexDefinition, from table: TableInfo) throws {
        let fts = quoteIdentifier(definition.ftsTable)
        let rowid = table.rowidName ?? "rowid"
        let values = definition.columns.map { "quiver_text(\(quoteIdentifier($0)))" }.joined(separator: ", ")
        let anyValue = definition.columns.map { "\(quoteIdentifier($0)) IS NOT NULL" }.joined(separator: " OR ")
        try connection.execute(
            """
            INSERT INTO \(fts) (rowid, \(definition.ftsColumns.joined(separator: ", "))) \
            SELECT \(rowid), \(values) FROM \(quoteIdentifier(table.name)) WHERE \(anyValue)
            """)
    }

    // MARK: keeping in step

    /// Applies what this connection's writes noted since the last time, in its open transaction:
    /// for each noted row, the values its first note says the index holds are deleted, then the
    /// row as it is now is indexed (when it exists with a value). Does nothing, and runs no SQL,
    /// when the catalog has no full-text index or the connection wrote nothing since. Runs with
    /// the connection's full access (it is Quiver's work, not the caller's) and keeps
    /// `last_insert_rowid()` as the caller's statements left it.
    package func applyPending() throws {
        guard !catalog.fullTextIndexes.isEmpty, connection.totalChanges != appliedAtChanges else { return }
        let access = connection.access
        let lastInsertRowID = connection.lastInsertRowID
        connection.access = .unrestricted
        defer {
            connection.access = access
            connection.lastInsertRowID = lastInsertRowID
        }
        for definition in catalog.fullTextIndexes {
            guard let table = catalog.table(named: definition.table), let rowid = table.rowidName else { continue }
            try apply(definition, table: table, rowid: rowid)
        }
        appliedAtChanges = connection.totalChanges
    }

    private func apply(_ definition: FullTextIndexDefinition, table: TableInfo, rowid: String) throws {
        let pending = quoteIdentifier(definition.pendingTable)
        guard try connection.scalar("SELECT EXISTS (SELECT 1 FROM \(pending))")?.integerValue == 1 else { return }
        let fts = quoteIdentifier(definition.ftsTable)
        let ftsColumns = definition.ftsColumns
        let held = ftsColumns.map { "quiver_text(\($0))" }.joined(separator: ", ")
        let heldAny = ftsColumns.map { "\($0) IS NOT NULL" }.joined(separator: " OR ")
        let current = definition.columns.map { "quiver_text(\(quoteIdentifier($0)))" }.joined(separator: ", ")
        let currentAny = definition.columns.map { "\(quoteIdentifier($0)) IS NOT NULL" }.joined(separator: " OR ")
        try connection.cachedStatement(
            """
            INSERT INTO \(fts) (\(fts), rowid, \(ftsColumns.joined(separator: ", "))) \
            SELECT 'delete', row_id, \(held) FROM \(pending) \
            WHERE seq IN (SELECT min(seq) FROM \(pending) GROUP BY row_id) AND indexed = 1 AND (\(heldAny))
            """
        ).runToEnd()
        try connection.cachedStatement(
            """
            INSERT INTO \(fts) (rowid, \(ftsColumns.joined(separator: ", "))) \
            SELECT \(rowid), \(current) FROM \(quoteIdentifier(table.name)) \
            WHERE \(rowid) IN (SELECT row_id FROM \(pending)) AND (\(currentAny))
            """
        ).runToEnd()
        try connection.cachedStatement("DELETE FROM \(pending)").runToEnd()
    }
}

extension Statement {
    fileprivate func runToEnd() throws {
        while try step() {}
    }
}
