import Foundation
import QuiverIndex
import QuiverKernels
import QuiverStorage

/// The vector indexes of one database, seen from one connection: creating, dropping and
/// rebuilding them, keeping them in step with the rows, and checkpointing their files.
///
/// States of an index (per process):
///
///     file at checkpoint S ──open──▶ in memory at S ──catch up──▶ in memory at S' (log S..S')
///           ▲                                                          │
///           └──────────────── checkpoint (new file, log trimmed) ◀─────┘
///
/// The in-memory graph only ever takes committed changes: a connection that has written in
/// its open transaction does not catch up (its searches use the exact scan), so a rollback can
/// never leave a change in the graph.
final class VectorIndexes {
    let connection: Connection
    let directory: String
    /// Changes after which a checkpoint writes a new file (at least; 10% of the index if larger).
    var checkpointInterval = 10_000
    /// Watches CREATE INDEX and REINDEX builds (progress, interruption); set by the executor.
    var buildMonitor = HNSWIndex.BuildMonitor.none

    /// The database's state when each index was last caught up: (data_version, total changes).
    /// Unchanged means nothing was committed since, by anyone, so there is nothing to replay.
    private var caughtUpAt: [String: (Int64, Int)] = [:]
    /// `connection.totalChanges` when checkpoints were last considered.
    private var changesAtLastCheck = -1

    init(connection: Connection, directory: String) {
        self.connection = connection
        self.directory = directory
    }

    /// A token that changes whenever any connection commits (SQLite's data_version covers other
    /// connections, total_changes this one).
    func databaseState() throws -> (Int64, Int) {
        (try connection.scalar("PRAGMA data_version")?.integerValue ?? 0, connection.totalChanges)
    }

    func path(of definition: IndexDefinition) -> String {
        (directory as NSString).appendingPathComponent(definition.file)
    }

    // MARK: statements

    func create(
        name: String, table tableName: String, column columnName: String, metric: DistanceMetric, m: Int,
        efConstruction: Int, ifNotExists: Bool, catalog: Catalog
    ) throws {
        let sqliteIndexes =
            try connection.scalar(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = ? COLLATE NOCASE",
                SQLBindings([.text(name)]))?.integerValue ?? 0
        if catalog.indexes.contains(where: { $0.name.caseInsensitiveEquals(name) }) || sqliteIndexes > 0 {
            if ifNotExists { return }
            throw SQLiteError(.indexExists(name))
        }
        guard let table = catalog.table(named: tableName) else { throw SQLiteError(.noSuchTable(tableName)) }
        guard let column = table.column(named: columnName) else {
            throw SQLiteError(.noSuchColumn(table: table.name, column: columnName))
        }
        guard let dimension = column.kind.vectorDimension else {
            throw SQLiteError(
                .unsuitableSchema(
                    "USING hnsw needs a VECTOR column; \(table.name).\(column.name) is \(column.declaredType)"))
        }
        let rowid = try Self.rowid(of: table)
        let parameters = HNSWParameters(dimension: dimension, metric: metric, m: m, efConstruction: efConstruction)
        do { try parameters.validate() } catch { throw SQLiteError(.unsupported("CREATE INDEX \(name): \(error)")) }
        try connection.execute(IndexDefinition.createTables)
        var definition = IndexDefinition(
            name: name, table: table.name, column: column.name, metric: metric, m: m,
            efConstruction: efConstruction, file: Self.newFileName(for: name), checkpointSequence: 0)
        try build(&definition, dimension: dimension, rowid: rowid)
        try definition.insert(into: connection)
    }

    func drop(_ definition: IndexDefinition) throws {
        try definition.delete(from: connection)
        let path = self.path(of: definition)
        connection.transactionHooks.afterCommit {
            IndexRegistry.shared.forget(path)
            unlink(path)
        }
    }

    func reindex(_ old: IndexDefinition, catalog: Catalog) throws {
        guard let table = catalog.table(named: old.table),
            let dimension = table.column(named: old.column)?.kind.vectorDimension
        else {
            throw SQLiteError(
                .unsuitableSchema(
                    "index \(old.name) is on \(old.table).\(old.column), which is no longer a VECTOR column"))
        }
        var definition = old
        definition.file = Self.newFileName(for: old.name)
        try build(&definition, dimension: dimension, rowid: try Self.rowid(of: table))
        try old.recordCheckpoint(file: definition.file, sequence: definition.checkpointSequence, in: connection)
        let oldPath = path(of: old)
        connection.transactionHooks.afterCommit {
            IndexRegistry.shared.forget(oldPath)
            unlink(oldPath)
        }
    }

    /// Reads the indexed column of every row and builds a new file (both cores).
    private func build(_ definition: inout IndexDefinition, dimension: Int, rowid: String) throws {
        // Take the write lock before the file exists (a statement that writes nothing still
        // takes it), so that a file no committed record names is never one being written by a
        // live connection: `removeOrphanFiles` relies on that.
        try connection.execute("UPDATE _quiver_indexes SET name = name WHERE 0")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        definition.checkpointSequence = try IndexDefinition.latestSequence(connection)
        var labels: [Int64] = []
        var vectors: [Float] = []
        let statement = try connection.prepare(
            "SELECT \(rowid), \(quoteIdentifier(definition.column)) FROM \(quoteIdentifier(definition.table)) WHERE \(quoteIdentifier(definition.column)) IS NOT NULL"
        )
        while try statement.step() {
            let bytes = statement.blobBytes(at: 1)
            guard statement.isBlob(at: 1), bytes.count == dimension * 4 else {
                throw SQLiteError(
                    .invalidStoredValue(
                        "\(definition.table).\(definition.column) in row \(statement.int64(at: 0)) is not a VECTOR(\(dimension)) value"
                    ))
            }
            labels.append(statement.int64(at: 0))
            vectors.append(
                contentsOf: UnsafeBufferPointer(
                    start: bytes.baseAddress!.assumingMemoryBound(to: Float.self), count: dimension))
        }
        let path = self.path(of: definition)
        let index: HNSWIndex
        do {
            index = try HNSWIndex.build(
                path: path,
                parameters: HNSWParameters(
                    dimension: dimension, metric: definition.metric,
                    m: definition.m, efConstruction: definition.efConstruction),
                labels: labels, vectors: vectors, sequence: definition.checkpointSequence,
                threads: Self.buildThreads,
                monitor: buildMonitor)
        } catch is HNSWIndex.BuildCancelled {
            throw SQLiteError.interrupted
        } catch let failure as IndexFileWriteError {
            // A statement error, so the transaction rolls back and the catalog keeps no trace.
            throw SQLiteError(.indexFailure("index \(definition.name): \(failure)"))
        }
        IndexRegistry.shared.register(index)
        connection.transactionHooks.afterRollback {
            IndexRegistry.shared.forget(path)
            unlink(path)
        }
    }

    /// Removes index files that no index record names — left by a process killed during CREATE
    /// INDEX or REINDEX after writing the file and before committing, or between a DROP's commit
    /// and its unlink — and the temporary files of interrupted checkpoints. Files are only ever
    /// written by a connection holding the write lock, so under that lock none of these is in
    /// use; the usual case, nothing to remove, takes no lock. Returns the names removed.
    @discardableResult
    func removeOrphanFiles(_ catalog: Catalog) throws -> [String] {
        func orphans(_ catalog: Catalog) -> [String] {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
            let named = Set(catalog.indexes.map(\.file))
            return names.filter { ($0.hasSuffix(".hnsw") || $0.hasSuffix(".hnsw.tmp")) && !named.contains($0) }.sorted()
        }
        guard !connection.isInTransaction, !orphans(catalog).isEmpty else { return [] }
        return try connection.transaction(.immediate) {
            let removed = orphans(try Catalog.load(from: connection))
            for name in removed { unlink((directory as NSString).appendingPathComponent(name)) }
            return removed
        }
    }

    /// Threads for bulk graph work (builds, large catch-ups): all cores unless
    /// QUIVER_BUILD_THREADS says otherwise.
    static let buildThreads =
        Int(ProcessInfo.processInfo.environment["QUIVER_BUILD_THREADS"] ?? "")
        ?? ProcessInfo.processInfo.activeProcessorCount

    /// The name that reaches `table`'s rowid, which index labels are (see TableInfo.rowidName).
    static func rowid(of table: TableInfo) throws -> String {
        guard let name = table.rowidName else {
            throw SQLiteError(
                .unsuitableSchema(
                    "table \(table.name) has no rowid that SQL can name (columns named rowid, _rowid_ and oid hide it, or it is WITHOUT ROWID); an hnsw index needs one"
                ))
        }
        return name
    }

    static func newFileName(for name: String) -> String {
        let safe = String(
            name.unicodeScalars.map { $0.properties.isAlphabetic || ("0"..."9").contains($0) ? Character($0) : "_" }
                .prefix(40))
        return "\(safe)-\(String(UInt32.random(in: .min ... .max), radix: 16)).hnsw"
    }

    // MARK: keeping up with the rows

    /// The index, caught up with every committed change this connection can see.
    func current(_ definition: IndexDefinition, dimension: Int, rowid: String) throws -> HNSWIndex {
        let path = self.path(of: definition)
        var index: HNSWIndex
        do {
            index = try IndexRegistry.shared.index(at: path)
        } catch {
            throw SQLiteError(.indexFailure("index \(definition.name): \(error)"))
        }
        let state = try databaseState()
        if let last = caughtUpAt[path], last == state { return index }
        defer { caughtUpAt[path] = state }
        // Another process checkpointed past us (and may have trimmed the log): remap its file.
        let recorded =
            try connection.scalar(
                "SELECT checkpoint_sequence FROM _quiver_indexes WHERE name = ?",
                SQLBindings([.text(definition.name)]))?.integerValue ?? 0
        if recorded > index.appliedSequence { index = try IndexRegistry.shared.reload(path) }
        try catchUp(index, definition, dimension: dimension, rowid: rowid)
        return index
    }

    private func catchUp(_ index: HNSWIndex, _ definition: IndexDefinition, dimension: Int, rowid: String) throws {
        // One snapshot for the log, its high-water mark and the rows it points at.
        guard connection.isInTransaction else {
            return try connection.transaction(.deferred) {
                try catchUp(index, definition, dimension: dimension, rowid: rowid)
            }
        }
        let after = index.appliedSequence
        let rows = try connection.query(
            "SELECT seq, row_id FROM _quiver_changes WHERE seq > ? AND table_name = ? COLLATE NOCASE ORDER BY seq",
            SQLBindings([.integer(after), .text(definition.table)]))
        let latest = try IndexDefinition.latestSequence(connection)
        guard !rows.isEmpty else {
            if latest > after { try index.apply([], through: latest) }
            return
        }
        var seen = Set<Int64>()
        let ids = rows.compactMap { $0[1].integerValue }.filter { seen.insert($0).inserted }
        var current: [Int64: [Float]] = [:]
        let column = quoteIdentifier(definition.column)
        let table = quoteIdentifier(definition.table)
        for chunk in stride(from: 0, to: ids.count, by: 500) {
            let list = ids[chunk..<min(chunk + 500, ids.count)].map(String.init).joined(separator: ",")
            let statement = try connection.prepare(
                "SELECT \(rowid), \(column) FROM \(table) WHERE \(rowid) IN (\(list))")
            while try statement.step() {
                let bytes = statement.blobBytes(at: 1)
                guard statement.isBlob(at: 1), bytes.count == dimension * 4 else { continue }
                current[statement.int64(at: 0)] = Array(
                    UnsafeBufferPointer(start: bytes.baseAddress!.assumingMemoryBound(to: Float.self), count: dimension)
                )
            }
        }
        try index.apply(
            ids.map { ($0, current[$0]) }, through: max(latest, rows.last?[0].integerValue ?? after),
            threads: Self.buildThreads)
    }

    /// Writes new files for indexes that have taken many changes since their last checkpoint,
    /// and trims the change log. Runs in its own write transaction, outside any other.
    func checkpointIfDue(_ catalog: Catalog) throws {
        // Only a connection that has written since it last looked can have made a checkpoint
        // due, so readers skip the look (a query per index) after each of their statements. A
        // failed checkpoint leaves the mark where it was: the next statement tries again.
        guard !connection.isInTransaction, connection.totalChanges != changesAtLastCheck else { return }
        let latest = try IndexDefinition.latestSequence(connection)
        for definition in catalog.indexes {
            guard let table = catalog.table(named: definition.table), let rowid = table.rowidName,
                let dimension = table.column(named: definition.column)?.kind.vectorDimension,
                let index = try? IndexRegistry.shared.index(at: path(of: definition))
            else { continue }
            let pending = latest - index.checkpointSequence
            guard pending >= Int64(max(checkpointInterval, index.count / 10)) else { continue }
            try checkpoint(definition, dimension: dimension, rowid: rowid)
        }
        // After the checkpoints' own writes, so they do not count as new ones.
        changesAtLastCheck = connection.totalChanges
    }

    func checkpoint(_ definition: IndexDefinition, dimension: Int, rowid: String) throws {
        do {
            try connection.transaction(.immediate) {
                let index = try current(definition, dimension: dimension, rowid: rowid)
                try index.checkpoint()
                try definition.recordCheckpoint(
                    file: definition.file, sequence: index.checkpointSequence, in: connection)
                try IndexDefinition.trimChangeLog(connection)
            }
        } catch let failure as IndexFileWriteError {
            throw SQLiteError(
                .indexFailure(
                    "index \(definition.name): checkpoint not written, \(failure); the index stays correct from that file and the change log, and the checkpoint is retried after the next commit"
                ))
        }
    }
}
