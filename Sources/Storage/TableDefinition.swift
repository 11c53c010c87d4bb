import QuiverKernels

/// A table to create with its vector indexes, as the importer's `--schema` (or what it infers
/// from the records) and `POST /tables` describe it: the one place such a description becomes
/// DDL. Each caller checks its own input first and says where a problem lies in its own terms.
public struct TableDefinition: Sendable, Equatable {
    public struct Column: Sendable, Equatable {
        public var name: String
        /// The declared type, kept verbatim by SQLite ("" for a column without a type).
        public var type: String
        public var primaryKey: Bool
        public var notNull: Bool
        public var unique: Bool

        public init(name: String, type: String, primaryKey: Bool = false, notNull: Bool = false, unique: Bool = false) {
            self.name = name
            self.type = type
            self.primaryKey = primaryKey
            self.notNull = notNull
            self.unique = unique
        }
    }

    /// An HNSW index; nil parameters take the engine's defaults.
    public struct VectorIndex: Sendable, Equatable {
        public var name: String
        public var column: String
        public var metric: DistanceMetric
        public var m: Int?
        public var efConstruction: Int?

        public init(name: String, column: String, metric: DistanceMetric, m: Int? = nil, efConstruction: Int? = nil) {
            self.name = name
            self.column = column
            self.metric = metric
            self.m = m
            self.efConstruction = efConstruction
        }
    }

    public var name: String
    public var columns: [Column]
    public var indexes: [VectorIndex]

    public init(name: String, columns: [Column], indexes: [VectorIndex] = []) {
        self.name = name
        self.columns = columns
        self.indexes = indexes
    }

    /// CREATE TABLE, then one CREATE INDEX … USING hnsw per index, each without its semicolon.
    public var statements: [String] {
        let definitions = columns.map { column in
            var text = quoteIdentifier(column.name)
            if !column.type.isEmpty { text += " \(column.type)" }
            if column.primaryKey { text += " PRIMARY KEY" }
            if column.notNull { text += " NOT NULL" }
            if column.unique { text += " UNIQUE" }
            return text
        }
        var statements = ["CREATE TABLE \(quoteIdentifier(name)) (\(definitions.joined(separator: ", ")))"]
        for index in indexes {
            var options: [String] = []
            if let m = index.m { options.append("m = \(m)") }
            if let ef = index.efConstruction { options.append("ef_construction = \(ef)") }
            statements.append(
                "CREATE INDEX \(quoteIdentifier(index.name)) ON \(quoteIdentifier(name)) USING hnsw "
                    + "(\(quoteIdentifier(index.column)) \(index.metric.operatorClass))"
                    + (options.isEmpty ? "" : " WITH (\(options.joined(separator: ", ")))"))
        }
        return statements
    }
}
