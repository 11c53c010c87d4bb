import QuiverKernels

/// A vector index as recorded in the row store (`_quiver_indexes`), which is what makes the
/// index part of the database: created, dropped and rebuilt in transactions with the rows.
///
///     _quiver_indexes(name PRIMARY KEY, table_name, column_name, metric, m, ef_construction,
///                     file, checkpoint_sequence)
///     _quiver_changes(seq INTEGER PRIMARY KEY AUTOINCREMENT, table_name, row_id)
///
/// Every write to an indexed column appends the row's id to `_quiver_changes` in the writing
/// transaction (see MaintenanceTriggers); an index file records the last `seq` it holds, so
/// whatever a crash kept out of the file is replayed from the log. `checkpoint_sequence` is the
/// last change the current file holds; the log is trimmed up to the smallest of them.
public struct IndexDefinition: Sendable, Equatable {
    public var name: String
    public var table: String
    public var column: String
    public var metric: DistanceMetric
    public var m: Int
    public var efConstruction: Int
    /// The file's name within the database's `indexes/` folder.
    public var file: String
    public var checkpointSequence: Int64

    public init(
        name: String, table: String, column: String, metric: DistanceMetric, m: Int, efConstruction: Int,
        file: String, checkpointSequence: Int64
    ) {
        self.name = name
        self.table = table
        self.column = column
        self.metric = metric
        self.m = m
        self.efConstruction = efConstruction
        self.file = file
        self.checkpointSequence = checkpointSequence
    }

    public static let createTables = """
        CREATE TABLE IF NOT EXISTS _quiver_indexes (
            name TEXT PRIMARY KEY COLLATE NOCASE, table_name TEXT NOT NULL, column_name TEXT NOT NULL,
            metric TEXT NOT NULL, m INTEGER NOT NULL, ef_construction INTEGER NOT NULL,
            file TEXT NOT NULL, checkpoint_sequence INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS _quiver_changes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, table_name TEXT NOT NULL, row_id INTEGER NOT NULL);
        """

    static func load(from connection: Connection) throws -> [IndexDefinition] {
        guard
            try connection.scalar("SELECT count(*) FROM sqlite_schema WHERE name = '_quiver_indexes'")?.integerValue
                == 1
        else {
            return []
        }
        return try connection.query(
            """
            SELECT name, table_name, column_name, metric, m, ef_construction, file, checkpoint_sequence
            FROM _quiver_indexes ORDER BY name
            """
        ).compactMap { row in
            guard case .text(let name) = row[0], case .text(let table) = row[1], case .text(let column) = row[2],
                case .text(let metricName) = row[3], let metric = DistanceMetric(name: metricName),
                let m = row[4].integerValue, let ef = row[5].integerValue, case .text(let file) = row[6],
                let sequence = row[7].integerValue
            else { return nil }
            return IndexDefinition(
                name: name, table: table, column: column, metric: metric, m: Int(m),
                efConstruction: Int(ef), file: file, checkpointSequence: sequence)
        }
    }

    /// Records a new index (creating the bookkeeping tables on first use).
    public func insert(into connection: Connection) throws {
        try connection.execute(Self.createTables)
        let statement = try connection.prepare("INSERT INTO _quiver_indexes VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        try statement.bind(
            SQLBindings([
                .text(name), .text(table), .text(column), .text(metric.rawValue),
                .integer(Int64(m)), .integer(Int64(efConstruction)), .text(file),
                .integer(checkpointSequence),
            ]))
        try statement.step()
    }

    public func delete(from connection: Connection) throws {
        _ = try connection.query("DELETE FROM _quiver_indexes WHERE name = ?", SQLBindings([.text(name)]))
    }

    /// Points the record at a new file holding changes up to `sequence`.
    public func recordCheckpoint(file: String, sequence: Int64, in connection: Connection) throws {
        _ = try connection.query(
            "UPDATE _quiver_indexes SET file = ?, checkpoint_sequence = ? WHERE name = ?",
            SQLBindings([.text(file), .integer(sequence), .text(name)]))
    }

    /// The newest change-log sequence number visible to this connection (0 before any).
    public static func latestSequence(_ connection: Connection) throws -> Int64 {
        guard
            try connection.scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_sequence'")?.integerValue
                == 1
        else {
            return 0
        }
        return try connection.scalar("SELECT seq FROM sqlite_sequence WHERE name = '_quiver_changes'")?.integerValue
            ?? 0
    }

    /// Drops log entries every index has checkpointed.
    public static func trimChangeLog(_ connection: Connection) throws {
        _ = try connection.query(
            """
            DELETE FROM _quiver_changes WHERE seq <= (SELECT coalesce(min(checkpoint_sequence), 9223372036854775807) FROM _quiver_indexes)
            """)
    }
}
