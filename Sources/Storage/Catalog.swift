/// A column as Quiver sees it.
public struct ColumnInfo: Sendable, Equatable {
    public var name: String
    public var declaredType: String
    public var kind: ColumnKind
    public var notNull: Bool
    /// 1-based position in the primary key, 0 when not part of it.
    public var primaryKeyPosition: Int

    public init(name: String, declaredType: String, kind: ColumnKind, notNull: Bool, primaryKeyPosition: Int) {
        self.name = name
        self.declaredType = declaredType
        self.kind = kind
        self.notNull = notNull
        self.primaryKeyPosition = primaryKeyPosition
    }
}

/// A table as Quiver sees it.
public struct TableInfo: Sendable, Equatable {
    public var name: String
    public var columns: [ColumnInfo]
    public var withoutRowID: Bool

    public init(name: String, columns: [ColumnInfo], withoutRowID: Bool) {
        self.name = name
        self.columns = columns
        self.withoutRowID = withoutRowID
    }

    public func column(named name: String) -> ColumnInfo? {
        columns.first { $0.name.caseInsensitiveEquals(name) }
    }

    /// The single primary-key column, when the key has exactly one column.
    public var primaryKeyColumn: ColumnInfo? {
        let key = columns.filter { $0.primaryKeyPosition > 0 }
        return key.count == 1 ? key[0] : nil
    }

    /// What orders rows for tie-breaking and names a row in messages: the key column, else rowid.
    public var rowKeyExpression: String {
        primaryKeyColumn.map { quoteIdentifier($0.name) } ?? rowidName ?? "rowid"
    }

    /// The name under which SQL reaches this table's rowid: `rowid`, unless a column of that
    /// name hides it, then `_rowid_`, then `oid` (as SQLite resolves them); nil when columns
    /// hide all three or the table has no rowid.
    public var rowidName: String? {
        guard !withoutRowID else { return nil }
        return ["rowid", "_rowid_", "oid"].first { name in
            guard let column = column(named: name) else { return true }
            // An INTEGER PRIMARY KEY column is the rowid itself, whatever its name.
            return column == primaryKeyColumn && column.declaredType.uppercased() == "INTEGER"
        }
    }

    public var vectorColumns: [ColumnInfo] { columns.filter { $0.kind.vectorDimension != nil } }
    public var compressedColumns: [ColumnInfo] { columns.filter { $0.kind == .compressedText } }
    public var hasQuiverColumns: Bool { columns.contains { $0.kind != .plain } }
}

/// The tables of a database and the Quiver column kinds in them, read from SQLite's own schema.
public struct Catalog: Sendable {
    public private(set) var tables: [TableInfo]
    /// Vector indexes, as recorded when the catalog was read (see IndexDefinition).
    public private(set) var indexes: [IndexDefinition]
    /// Full-text indexes, as recorded when the catalog was read (see FullTextIndexDefinition).
    public private(set) var fullTextIndexes: [FullTextIndexDefinition]
    /// SQLite's schema cookie when this catalog was read; a different value means reload.
    public private(set) var schemaVersion: Int64

    public static let empty = Catalog(tables: [], indexes: [], fullTextIndexes: [], schemaVersion: -1)

    /// Re-reads the vector index records, which other connections change without touching the
    /// schema (DROP INDEX, REINDEX, a second index on an indexed column). Full-text index
    /// records change only with the schema (their tables are made, dropped and, by REINDEX,
    /// made again), so a catalog read at the current schema version has them right.
    public mutating func reloadIndexes(from connection: Connection) throws {
        indexes = try IndexDefinition.load(from: connection)
    }

    public func indexes(on table: String) -> [IndexDefinition] {
        indexes.filter { $0.table.caseInsensitiveEquals(table) }
    }

    public func fullTextIndexes(on table: String) -> [FullTextIndexDefinition] {
        fullTextIndexes.filter { $0.table.caseInsensitiveEquals(table) }
    }

    /// Whether an index of either kind has this name (index names are unique across kinds).
    public func hasIndex(named name: String) -> Bool {
        indexes.contains { $0.name.caseInsensitiveEquals(name) }
            || fullTextIndexes.contains { $0.name.caseInsensitiveEquals(name) }
    }

    public func table(named name: String) -> TableInfo? {
        tables.first { $0.name.caseInsensitiveEquals(name) }
    }

    /// Names of all `TEXT COMPRESSED` columns, lowercased, across tables.
    public var compressedColumnNames: Set<String> {
        Set(tables.flatMap { $0.compressedColumns.map { $0.name.lowercased() } })
    }

    /// Reads the schema. Throws when a declared type is a malformed VECTOR type, or when a vector
    /// or compressed column sits in a table Quiver cannot maintain.
    public static func load(from connection: Connection) throws -> Catalog {
        let version = try connection.scalar("PRAGMA schema_version")?.integerValue ?? 0
        let names = try connection.query(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        )
        var tables: [TableInfo] = []
        for row in names {
            guard case .text(let name) = row[0] else { continue }
            let sql = row[1].textValue ?? ""
            if sql.uppercased().hasPrefix("CREATE VIRTUAL") || name.hasPrefix("_quiver_") { continue }
            var columns: [ColumnInfo] = []
            for info in try connection.query(
                "SELECT name, type, \"notnull\", pk, hidden FROM pragma_table_xinfo(?)", SQLBindings([.text(name)]))
            {
                let columnName = info[0].textValue ?? ""
                let declared = info[1].textValue ?? ""
                let kind: ColumnKind
                do {
                    kind = try ColumnKind(declaredType: declared)
                } catch {
                    throw SQLiteError(.unsuitableSchema("\(name).\(columnName): \(error.description)"))
                }
                columns.append(
                    ColumnInfo(
                        name: columnName, declaredType: declared, kind: kind,
                        notNull: info[2].integerValue == 1,
                        primaryKeyPosition: Int(info[3].integerValue ?? 0)))
            }
            let table = TableInfo(name: name, columns: columns, withoutRowID: isWithoutRowID(sql))
            if table.hasQuiverColumns && table.withoutRowID {
                throw SQLiteError(
                    .unsuitableSchema(
                        "table \(name): VECTOR and TEXT COMPRESSED columns need a rowid table; remove WITHOUT ROWID"))
            }
            if table.hasQuiverColumns && table.rowidName == nil {
                throw SQLiteError(
                    .unsuitableSchema(
                        "table \(name): VECTOR and TEXT COMPRESSED columns need the rowid, and columns named rowid, _rowid_ and oid hide it; rename one of them"
                    ))
            }
            tables.append(table)
        }
        return Catalog(
            tables: tables, indexes: try IndexDefinition.load(from: connection),
            fullTextIndexes: try FullTextIndexDefinition.load(from: connection), schemaVersion: version)
    }

    private static func isWithoutRowID(_ sql: String) -> Bool {
        let words = sql.uppercased().split(whereSeparator: { !$0.isLetter })
        return words.count >= 2 && words.suffix(3).contains("WITHOUT") && words.last == "ROWID"
    }
}

extension String {
    public func caseInsensitiveEquals(_ other: String) -> Bool {
        count == other.count && lowercased() == other.lowercased()
    }
}
