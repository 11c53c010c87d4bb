import QuiverIndex
import QuiverStorage

/// HNSW graphs over a VECTOR column (`CREATE INDEX … USING hnsw`), as an index kind.
package struct HNSWIndexKind: IndexKind {
    package static let fileExtension = "hnsw"

    /// Watches CREATE INDEX and REINDEX builds (progress, interruption); set by the executor.
    package var buildMonitor = HNSWIndex.BuildMonitor.none

    package init() {}

    package func validate(_ definition: IndexDefinition, on table: TableInfo) throws {
        _ = try parameters(of: definition, on: table)
    }

    package func build(
        _ definition: IndexDefinition, on table: TableInfo, rows: Statement, path: String, sequence: Int64,
        threads: Int
    ) throws -> HNSWIndex {
        let parameters = try parameters(of: definition, on: table)
        let dimension = parameters.dimension
        var labels: [Int64] = []
        var vectors: [Float] = []
        while try rows.step() {
            let bytes = rows.blobBytes(at: 1)
            guard rows.isBlob(at: 1), bytes.count == dimension * 4 else {
                throw SQLiteError(
                    .invalidStoredValue(
                        "\(definition.table).\(definition.column) in row \(rows.int64(at: 0)) is not a VECTOR(\(dimension)) value"
                    ))
            }
            labels.append(rows.int64(at: 0))
            vectors.append(
                contentsOf: UnsafeBufferPointer(
                    start: bytes.baseAddress!.assumingMemoryBound(to: Float.self), count: dimension))
        }
        do {
            return try HNSWIndex.build(
                path: path, parameters: parameters, labels: labels, vectors: vectors, sequence: sequence,
                threads: threads, monitor: buildMonitor)
        } catch is HNSWIndex.BuildCancelled {
            throw SQLiteError.interrupted
        }
    }

    package func open(path: String) throws -> HNSWIndex { try HNSWIndex.open(path: path) }

    /// The graph's shape for `definition`, checked against HNSWParameters' limits.
    private func parameters(of definition: IndexDefinition, on table: TableInfo) throws -> HNSWParameters {
        let column = table.column(named: definition.column)
        guard let column, let dimension = column.kind.vectorDimension else {
            throw SQLiteError(
                .unsuitableSchema(
                    "USING hnsw needs a VECTOR column; \(table.name).\(definition.column) is \(column?.declaredType ?? "gone")"
                ))
        }
        let parameters = HNSWParameters(
            dimension: dimension, metric: definition.metric, m: definition.m, efConstruction: definition.efConstruction)
        do { try parameters.validate() } catch {
            throw SQLiteError(.unsupported("CREATE INDEX \(definition.name): \(error)"))
        }
        return parameters
    }
}

extension HNSWIndex: MaintainedIndex {
    /// The row's vector; nil when it is NULL or not a VECTOR value of this dimension.
    package func entry(from row: Statement) -> [Float]? {
        let bytes = row.blobBytes(at: 1)
        guard row.isBlob(at: 1), bytes.count == parameters.dimension * 4 else { return nil }
        return Array(
            UnsafeBufferPointer(
                start: bytes.baseAddress!.assumingMemoryBound(to: Float.self), count: parameters.dimension))
    }

    package func apply(changes: [(label: Int64, entry: [Float]?)], through sequence: Int64, threads: Int) throws {
        try apply(changes.map { (label: $0.label, vector: $0.entry) }, through: sequence, threads: threads)
    }
}

/// The vector indexes of a database: the lifecycle of HNSW indexes.
package typealias VectorIndexes = IndexLifecycle<HNSWIndexKind>
