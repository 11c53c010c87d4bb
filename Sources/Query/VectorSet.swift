import QuiverKernels
import QuiverStorage

/// The vectors of the rows that pass a filter, loaded once into one contiguous matrix, for
/// running many queries against the same rows (batch search, evaluation).
public struct VectorSet: Sendable {
    public let dimension: Int
    public private(set) var keys: [Int64] = []
    public private(set) var vectors: [Float] = []
    public var count: Int { keys.count }

    static let chunkRows = 4096

    init(dimension: Int) { self.dimension = dimension }

    mutating func append(key: Int64, bytes: UnsafeRawBufferPointer) {
        keys.append(key)
        let start = vectors.count
        vectors.append(contentsOf: repeatElement(0, count: dimension))
        vectors.withUnsafeMutableBytes {
            ($0.baseAddress! + start * 4).copyMemory(from: bytes.baseAddress!, byteCount: dimension * 4)
        }
    }

    mutating func append(key: Int64, vector: [Float]) {
        keys.append(key)
        vectors.append(contentsOf: vector)
    }

    /// The exact top-k keys for one query, best first, ties by key.
    public func nearest(to query: [Float], k: Int, metric: DistanceMetric) -> [ScoredRow] {
        precondition(query.count == dimension)
        var topK = ExactTopK(metric: metric, query: query, k: k)
        vectors.withUnsafeBufferPointer { matrix in
            keys.withUnsafeBufferPointer { ids in
                var start = 0
                while start < count {
                    let n = min(Self.chunkRows, count - start)
                    topK.add(rows: matrix.baseAddress! + start * dimension, ids: ids.baseAddress! + start, count: n)
                    start += n
                }
            }
        }
        return Array(topK.finish().prefix(k))
    }
}

extension QueryExecutor {
    /// Loads `column` of the rows of `table` that pass `filter` (a SQL expression, may be nil),
    /// keyed by the table's integer primary key (or rowid when it has none).
    public func loadVectors(
        table tableName: String, column columnName: String, filter: String?,
        bindings: SQLBindings = .none
    ) throws -> VectorSet {
        try refreshCatalogIfStale()
        guard let table = catalog.table(named: tableName) else { throw SQLiteError(.noSuchTable(tableName)) }
        guard let column = table.column(named: columnName) else {
            throw SQLiteError(.noSuchColumn(table: tableName, column: columnName))
        }
        guard let dimension = column.kind.vectorDimension else {
            throw SQLiteError(
                .unsuitableSchema("\(table.name).\(column.name) is \(column.declaredType), not a VECTOR column"))
        }
        let key: String
        if let pk = table.primaryKeyColumn {
            guard pk.declaredType.uppercased().contains("INT") else {
                throw SQLiteError(
                    .unsuitableSchema(
                        "\(table.name) has a \(pk.declaredType) primary key; batch search reports integer keys and needs an INTEGER primary key"
                    ))
            }
            key = quoteIdentifier(pk.name)
        } else if let rowid = table.rowidName {
            key = rowid
        } else {
            throw SQLiteError(
                .unsuitableSchema(
                    "table \(table.name) has no rowid that SQL can name (columns named rowid, _rowid_ and oid hide it, or it is WITHOUT ROWID)"
                ))
        }
        var sql = "SELECT \(key), \(quoteIdentifier(column.name)) FROM \(quoteIdentifier(table.name))"
        if let filter, !filter.trimmingSpaces().isEmpty { sql += " WHERE (\(filter))" }
        let statement = try Rewriter(compressedColumns: catalog.compressedColumnNames, catalog: catalog)
            .rewrite(StatementSplitter.split(sql).first!)
        let prepared = try connection.prepare(statement.text)
        try prepared.bind(bindings)
        var set = VectorSet(dimension: dimension)
        while try prepared.step() {
            guard !prepared.isNull(at: 1) else { continue }
            let bytes = prepared.blobBytes(at: 1)
            if prepared.isBlob(at: 1), bytes.count == dimension * 4 {
                set.append(key: prepared.int64(at: 0), bytes: bytes)
            } else if case .text(let text) = prepared.value(at: 1), let vector = try? VectorCodec.parse(text),
                vector.count == dimension
            {
                set.append(key: prepared.int64(at: 0), vector: vector)
            } else {
                throw SQLiteError(
                    .invalidStoredValue(
                        "\(table.name).\(column.name) in row \(prepared.int64(at: 0)) holds an invalid vector"))
            }
        }
        return set
    }
}
