/// Keeps Quiver's maintenance triggers in step with the schema.
///
/// Values reach VECTOR and TEXT COMPRESSED columns through any SQL (INSERT, UPSERT, UPDATE,
/// INSERT … SELECT), so conversion cannot live in a statement rewriter. Instead each such column
/// gets AFTER INSERT / AFTER UPDATE OF triggers that:
/// - vectors: validate the value (dimension, finite elements) and store it as a float32 blob; a
///   bad value raises an error naming table, column and row, and the statement is rolled back;
/// - compressed text: replace a text value by its LZ4 form; refuse a blob that is not valid
///   compressed text (naming table, column and row).
/// A value that is already canonical (a valid blob) fails the WHEN clause, so bulk writers that
/// bind blobs pay for one check and no second write.
///
/// Trigger names start with `quiver:`; `synchronize` drops those that no longer match the
/// schema (a dropped column, a renamed table) and creates the missing ones, so it is idempotent.
public enum MaintenanceTriggers {
    public static let prefix = "quiver:"

    /// The triggers the catalog calls for, by name.
    public static func desired(for catalog: Catalog) -> [String: String] {
        var result: [String: String] = [:]
        for table in catalog.tables {
            let t = quoteIdentifier(table.name)
            // Catalog.load refuses Quiver columns in a table whose rowid is hidden.
            guard let rowid = table.rowidName else { continue }
            let keyName = table.primaryKeyColumn?.name ?? rowid
            let rowKey =
                "\(quoteLiteral(keyName)), NEW.\(table.primaryKeyColumn.map { quoteIdentifier($0.name) } ?? rowid)"
            for column in table.columns {
                let c = quoteIdentifier(column.name)
                switch column.kind {
                case .plain:
                    continue
                case .vector(let dimension):
                    let store =
                        "UPDATE \(t) SET \(c) = quiver_vector_store(NEW.\(c), \(dimension), "
                        + "\(quoteLiteral(table.name)), \(quoteLiteral(column.name)), \(rowKey)) WHERE \(rowid) = NEW.\(rowid);"
                    let when = "WHEN NOT quiver_vector_ok(NEW.\(c), \(dimension))"
                    for (event, on) in [("insert", "INSERT"), ("update", "UPDATE OF \(c)")] {
                        let name = "\(prefix)vector_\(event):\(table.name).\(column.name)"
                        result[name] =
                            "CREATE TRIGGER \(quoteIdentifier(name)) AFTER \(on) ON \(t) \(when) BEGIN \(store) END"
                    }
                case .compressedText:
                    // A blob is checked in WHEN: quiver_compress gives a valid one back unchanged (so
                    // the trigger does not fire and bulk writers pay no second write) and fails on
                    // any other, naming the row.
                    let compress =
                        "quiver_compress(NEW.\(c), \(quoteLiteral(table.name)), \(quoteLiteral(column.name)), \(rowKey))"
                    let store = "UPDATE \(t) SET \(c) = \(compress) WHERE \(rowid) = NEW.\(rowid);"
                    let when =
                        "WHEN typeof(NEW.\(c)) = 'text' AND length(CAST(NEW.\(c) AS BLOB)) >= \(TextCompression.minimumLength)"
                        + " OR typeof(NEW.\(c)) = 'blob' AND \(compress) IS NOT NEW.\(c)"
                    for (event, on) in [("insert", "INSERT"), ("update", "UPDATE OF \(c)")] {
                        let name = "\(prefix)compress_\(event):\(table.name).\(column.name)"
                        result[name] =
                            "CREATE TRIGGER \(quoteIdentifier(name)) AFTER \(on) ON \(t) \(when) BEGIN \(store) END"
                    }
                }
            }
        }
        // Change capture for vector indexes: the row's id goes to the log in the writing
        // transaction; replay reads the row's current state, so one entry covers any change.
        var logged: Set<String> = []
        for index in catalog.indexes {
            guard let table = catalog.table(named: index.table), table.column(named: index.column) != nil,
                let rowid = table.rowidName,
                logged.insert("\(table.name.lowercased()).\(index.column.lowercased())").inserted
            else { continue }
            let t = quoteIdentifier(table.name)
            let c = quoteIdentifier(index.column)
            let literal = quoteLiteral(table.name)
            let log = "INSERT INTO _quiver_changes (table_name, row_id) VALUES (\(literal), "
            let events = [
                ("log_insert", "AFTER INSERT", "\(log)NEW.\(rowid));"),
                ("log_update", "AFTER UPDATE OF \(c)", "\(log)NEW.\(rowid));"),
                ("log_rowid", "AFTER UPDATE", "\(log)OLD.\(rowid)); \(log)NEW.\(rowid));"),
                ("log_delete", "AFTER DELETE", "\(log)OLD.\(rowid));"),
            ]
            for (event, on, body) in events {
                let name = "\(prefix)\(event):\(table.name).\(index.column)"
                let when = event == "log_rowid" ? " WHEN OLD.\(rowid) IS NOT NEW.\(rowid)" : ""
                result[name] = "CREATE TRIGGER \(quoteIdentifier(name)) \(on) ON \(t)\(when) BEGIN \(body) END"
            }
        }
        for index in catalog.fullTextIndexes {
            for (name, sql) in fullTextTriggers(for: index, catalog: catalog) { result[name] = sql }
        }
        return result
    }

    /// Change capture for a full-text index: each change to an indexed column notes the row in
    /// the index's pending table, in the writing transaction — `indexed` 1 with the values the
    /// index holds for it (to be deleted from a contentless FTS5 table, which needs them), 0 for a
    /// row the index does not hold yet. The writer then applies the notes (QuiverIndexing's
    /// `FullTextIndexes`): per row, the first note says what the index holds, the row itself what
    /// it must hold. A REPLACE deletes the row it displaces without DELETE triggers, so rows with
    /// the new row's rowid or key are noted before an insert (noting a row that then stays as it
    /// was is harmless: it is deleted and indexed again). An update that changes no indexed text
    /// — compression storing a text as its LZ4 blob — notes nothing, so the one update that did
    /// change it holds the right old values.
    static func fullTextTriggers(for index: FullTextIndexDefinition, catalog: Catalog) -> [String: String] {
        guard let table = catalog.table(named: index.table), let rowid = table.rowidName else { return [:] }
        let columns = index.columns.compactMap { table.column(named: $0) }
        guard columns.count == index.columns.count else { return [:] }
        let t = quoteIdentifier(table.name)
        let pending = quoteIdentifier(index.pendingTable)
        let into = "INSERT INTO \(pending) (row_id, indexed, \(index.ftsColumns.joined(separator: ", ")))"
        let values = columns.map { quoteIdentifier($0.name) }
        let held = "\(into) VALUES (OLD.\(rowid), 1, \(values.map { "OLD.\($0)" }.joined(separator: ", ")));"
        let added = "INSERT INTO \(pending) (row_id, indexed) VALUES (NEW.\(rowid), 0);"
        var displaced = "\(rowid) = NEW.\(rowid)"
        // An INTEGER PRIMARY KEY is the rowid itself.
        if let key = table.primaryKeyColumn, key.declaredType.uppercased() != "INTEGER" {
            displaced += " OR \(quoteIdentifier(key.name)) = NEW.\(quoteIdentifier(key.name))"
        }
        let noted =
            "\(into) SELECT \(rowid), 1, \(values.joined(separator: ", ")) FROM \(t) WHERE \(displaced);"
        let unchanged = columns.map { column in
            let c = quoteIdentifier(column.name)
            guard column.kind == .compressedText else { return "OLD.\(c) IS NEW.\(c)" }
            return
                "(OLD.\(c) IS NEW.\(c) OR typeof(OLD.\(c)) = 'text' AND typeof(NEW.\(c)) = 'blob' AND quiver_text(NEW.\(c)) IS OLD.\(c))"
        }.joined(separator: " AND ")
        let events = [
            ("fts_displaced", "BEFORE INSERT", "", noted),
            ("fts_insert", "AFTER INSERT", "", added),
            (
                "fts_update", "AFTER UPDATE OF \(values.joined(separator: ", "))",
                " WHEN OLD.\(rowid) IS NEW.\(rowid) AND NOT (\(unchanged))", held
            ),
            ("fts_rowid", "AFTER UPDATE", " WHEN OLD.\(rowid) IS NOT NEW.\(rowid)", held + " " + added),
            ("fts_delete", "AFTER DELETE", "", held),
        ]
        var result: [String: String] = [:]
        for (event, on, when, body) in events {
            let name = "\(prefix)\(event):\(index.name)"
            result[name] = "CREATE TRIGGER \(quoteIdentifier(name)) \(on) ON \(t)\(when) BEGIN \(body) END"
        }
        return result
    }

    static func existing(_ connection: Connection) throws -> [String: String] {
        var existing: [String: String] = [:]
        for row in try connection.query(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND substr(name, 1, \(prefix.count)) = ?",
            SQLBindings([.text(prefix)]))
        {
            if case .text(let name) = row[0] { existing[name] = row[1].textValue ?? "" }
        }
        return existing
    }

    /// True when the triggers already match the catalog (checked without a write lock).
    public static func isSynchronized(_ connection: Connection, catalog: Catalog) throws -> Bool {
        try existing(connection) == desired(for: catalog)
    }

    /// Drops stale and creates missing triggers. Run inside the transaction that changed the schema.
    public static func synchronize(_ connection: Connection, catalog: Catalog) throws {
        let wanted = desired(for: catalog)
        let existing = try existing(connection)
        for (name, sql) in existing where wanted[name] != sql {
            try connection.execute("DROP TRIGGER IF EXISTS \(quoteIdentifier(name))")
        }
        for (name, sql) in wanted.sorted(by: { $0.key < $1.key }) where existing[name] != sql {
            try connection.execute(sql)
        }
    }

    /// Drops the triggers of one table, e.g. before `ALTER TABLE … DROP COLUMN`, which SQLite
    /// refuses while a trigger mentions the column. `synchronize` recreates what is still needed.
    public static func dropAll(on table: String, _ connection: Connection) throws {
        for row in try connection.query(
            "SELECT name FROM sqlite_schema WHERE type = 'trigger' AND substr(name, 1, \(prefix.count)) = ? AND tbl_name = ? COLLATE NOCASE",
            SQLBindings([.text(prefix), .text(table)]))
        {
            if case .text(let name) = row[0] {
                try connection.execute("DROP TRIGGER IF EXISTS \(quoteIdentifier(name))")
            }
        }
    }
}
