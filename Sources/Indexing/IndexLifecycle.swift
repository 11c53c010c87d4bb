import Foundation
import QuiverIndex
import QuiverStorage

/// The indexes of one kind in one database, seen from one connection: creating, dropping and
/// rebuilding them, keeping them in step with the rows, and checkpointing their files. What is
/// particular to a kind is behind `IndexKind`; the rules here hold for every kind.
///
/// States of an index (per process):
///
///     file at checkpoint S ──open──▶ in memory at S ──catch up──▶ in memory at S' (log S..S')
///           ▲                                                          │
///           └──────────────── checkpoint (new file, log trimmed) ◀─────┘
///
/// An index only ever takes committed changes: a connection that has written in its open
/// transaction does not catch up (its searches take the exact scan), so a rollback can never
/// leave a change in an index.
package final class IndexLifecycle<Kind: IndexKind> {
    let connection: Connection
    let directory: String
    /// The kind, with what its builds need (HNSW: the monitor that reports progress and stops).
    package var kind: Kind
    /// Changes after which a checkpoint writes a new file (at least; 10% of the index if larger).
    package var checkpointInterval = 10_000

    /// The database's state when each index was last caught up: (data_version, total changes).
    /// Unchanged means nothing was committed since, by anyone, so there is nothing to replay.
    private var caughtUpAt: [String: (Int64, Int)] = [:]
    /// `connection.totalChanges` when checkpoints were last considered.
    private var changesAtLastCheck = -1

    package init(connection: Connection, directory: String, kind: Kind) {
        self.connection = connection
        self.directory = directory
        self.kind = kind
    }

    /// A token that changes whenever any connection commits (SQLite's data_version covers other
    /// connections, total_changes this one).
    package func databaseState() throws -> (Int64, Int) {
        (try connection.scalar("PRAGMA data_version")?.integerValue ?? 0, connection.totalChanges)
    }

    package func path(of definition: IndexDefinition) -> String {
        (directory as NSString).appendingPathComponent(definition.file)
    }

    /// Whether the record is an index of this kind (by its file's suffix).
    package func manages(_ definition: IndexDefinition) -> Bool {
        definition.file.hasSuffix("." + Kind.fileExtension)
    }

    // MARK: statements

    /// Builds and records a new index. `definition`'s file and checkpoint are chosen here; its
    /// table and column are taken as the catalog spells them.
    package func create(_ definition: IndexDefinition, ifNotExists: Bool, catalog: Catalog) throws {
        let name = definition.name
        let sqliteIndexes =
            try connection.scalar(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = ? COLLATE NOCASE",
                SQLBindings([.text(name)]))?.integerValue ?? 0
        if catalog.indexes.contains(where: { $0.name.caseInsensitiveEquals(name) }) || sqliteIndexes > 0 {
            if ifNotExists { return }
            throw SQLiteError(.indexExists(name))
        }
        guard let table = catalog.table(named: definition.table) else {
            throw SQLiteError(.noSuchTable(definition.table))
        }
        guard let column = table.column(named: definition.column) else {
            throw SQLiteError(.noSuchColumn(table: table.name, column: definition.column))
        }
        var definition = definition
        definition.table = table.name
        definition.column = column.name
        try kind.validate(definition, on: table)
        let rowid = try Self.rowid(of: table)
        try connection.execute(IndexDefinition.createTables)
        definition.file = Self.newFileName(for: name)
        try build(&definition, on: table, rowid: rowid)
        try definition.insert(into: connection)
    }

    package func drop(_ definition: IndexDefinition) throws {
        try definition.delete(from: connection)
        let path = self.path(of: definition)
        connection.transactionHooks.afterCommit {
            IndexRegistry.shared.forget(path)
            unlink(path)
        }
    }

    package func reindex(_ old: IndexDefinition, catalog: Catalog) throws {
        guard let table = catalog.table(named: old.table), table.column(named: old.column) != nil else {
            throw SQLiteError(
                .unsuitableSchema("index \(old.name) is on \(old.table).\(old.column), which no longer exists"))
        }
        try kind.validate(old, on: table)
        var definition = old
        definition.file = Self.newFileName(for: old.name)
        try build(&definition, on: table, rowid: try Self.rowid(of: table))
        try old.recordCheckpoint(file: definition.file, sequence: definition.checkpointSequence, in: connection)
        let oldPath = path(of: old)
        connection.transactionHooks.afterCommit {
            IndexRegistry.shared.forget(oldPath)
            unlink(oldPath)
        }
    }

    /// Reads the indexed column of every row and builds a new file.
    private func build(_ definition: inout IndexDefinition, on table: TableInfo, rowid: String) throws {
        // Take the write lock before the file exists (a statement that writes nothing still
        // takes it), so that a file no committed record names is never one being written by a
        // live connection: `removeOrphanFiles` relies on that.
        try connection.execute("UPDATE _quiver_indexes SET name = name WHERE 0")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        definition.checkpointSequence = try IndexDefinition.latestSequence(connection)
        let column = quoteIdentifier(definition.column)
        let rows = try connection.prepare(
            "SELECT \(rowid), \(column) FROM \(quoteIdentifier(definition.table)) WHERE \(column) IS NOT NULL")
        let path = self.path(of: definition)
        let index: Kind.Index
        do {
            index = try kind.build(
                definition, on: table, rows: rows, path: path, sequence: definition.checkpointSequence,
                threads: indexBuildThreads)
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

    /// Removes this kind's files that no index record names — left by a process killed during
    /// CREATE INDEX or REINDEX after writing the file and before committing, or between a DROP's
    /// commit and its unlink — and the temporary files of interrupted checkpoints. Files are only
    /// ever written by a connection holding the write lock, so under that lock none of these is
    /// in use; the usual case, nothing to remove, takes no lock. Returns the names removed.
    @discardableResult
    package func removeOrphanFiles(_ catalog: Catalog) throws -> [String] {
        let suffix = "." + Kind.fileExtension
        func orphans(_ catalog: Catalog) -> [String] {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
            let named = Set(catalog.indexes.map(\.file))
            return names.filter { ($0.hasSuffix(suffix) || $0.hasSuffix(suffix + ".tmp")) && !named.contains($0) }
                .sorted()
        }
        guard !connection.isInTransaction, !orphans(catalog).isEmpty else { return [] }
        return try connection.transaction(.immediate) {
            let removed = orphans(try Catalog.load(from: connection))
            for name in removed { unlink((directory as NSString).appendingPathComponent(name)) }
            return removed
        }
    }

    /// The name that reaches `table`'s rowid, which index labels are (see TableInfo.rowidName).
    package static func rowid(of table: TableInfo) throws -> String {
        guard let name = table.rowidName else {
            throw SQLiteError(
                .unsuitableSchema(
                    "table \(table.name) has no rowid that SQL can name (columns named rowid, _rowid_ and oid hide it, or it is WITHOUT ROWID); an \(Kind.fileExtension) index needs one"
                ))
        }
        return name
    }

    static func newFileName(for name: String) -> String {
        let safe = String(
            name.unicodeScalars.map { $0.properties.isAlphabetic || ("0"..."9").contains($0) ? Character($0) : "_" }
                .prefix(40))
        return "\(safe)-\(String(UInt32.random(in: .min ... .max), radix: 16)).\(Kind.fileExtension)"
    }

    // MARK: keeping up with the rows

    /// The index, caught up with every committed change this connection can see.
    package func current(_ definition: IndexDefinition, rowid: String) throws -> Kind.Index {
        let path = self.path(of: definition)
        var index: Kind.Index
        do {
            index = try IndexRegistry.shared.index(at: path, kind: kind)
        } catch {
            throw SQLiteError(.indexFailure("index \(definition.name): \(error)"))
        }
        let state = try databaseState()
        if let last = caughtUpAt[path], last == state { return index }
        defer { caughtUpAt[path] = state }
        // Another process checkpointed past us (and may have trimmed the log): reopen its file.
        let recorded =
            try connection.scalar(
                "SELECT checkpoint_sequence FROM _quiver_indexes WHERE name = ?",
                SQLBindings([.text(definition.name)]))?.integerValue ?? 0
        if recorded > index.appliedSequence { index = try IndexRegistry.shared.reload(path, kind: kind) }
        try catchUp(index, definition, rowid: rowid)
        return index
    }

    private func catchUp(_ index: Kind.Index, _ definition: IndexDefinition, rowid: String) throws {
        // One snapshot for the log, its high-water mark and the rows it points at.
        guard connection.isInTransaction else {
            return try connection.transaction(.deferred) { try catchUp(index, definition, rowid: rowid) }
        }
        let after = index.appliedSequence
        let rows = try connection.query(
            "SELECT seq, row_id FROM _quiver_changes WHERE seq > ? AND table_name = ? COLLATE NOCASE ORDER BY seq",
            SQLBindings([.integer(after), .text(definition.table)]))
        let latest = try IndexDefinition.latestSequence(connection)
        guard !rows.isEmpty else {
            if latest > after { try index.apply(changes: [], through: latest, threads: 1) }
            return
        }
        var seen = Set<Int64>()
        let ids = rows.compactMap { $0[1].integerValue }.filter { seen.insert($0).inserted }
        var current: [Int64: Kind.Index.Entry] = [:]
        let column = quoteIdentifier(definition.column)
        let table = quoteIdentifier(definition.table)
        for chunk in stride(from: 0, to: ids.count, by: 500) {
            let list = ids[chunk..<min(chunk + 500, ids.count)].map(String.init).joined(separator: ",")
            let statement = try connection.prepare(
                "SELECT \(rowid), \(column) FROM \(table) WHERE \(rowid) IN (\(list))")
            while try statement.step() {
                if let entry = index.entry(from: statement) { current[statement.int64(at: 0)] = entry }
            }
        }
        try index.apply(
            changes: ids.map { (label: $0, entry: current[$0]) },
            through: max(latest, rows.last?[0].integerValue ?? after),
            threads: indexBuildThreads)
    }

    /// Writes new files for indexes of this kind that have taken many changes since their last
    /// checkpoint, and trims the change log. Runs in its own write transaction, outside any other.
    package func checkpointIfDue(_ catalog: Catalog) throws {
        // Only a connection that has written since it last looked can have made a checkpoint
        // due, so readers skip the look (a query per index) after each of their statements. A
        // failed checkpoint leaves the mark where it was: the next statement tries again.
        guard !connection.isInTransaction, connection.totalChanges != changesAtLastCheck else { return }
        let latest = try IndexDefinition.latestSequence(connection)
        for definition in catalog.indexes where manages(definition) {
            guard let table = catalog.table(named: definition.table), let rowid = table.rowidName,
                (try? kind.validate(definition, on: table)) != nil,
                let index = try? IndexRegistry.shared.index(at: path(of: definition), kind: kind)
            else { continue }
            let pending = latest - index.checkpointSequence
            guard pending >= Int64(max(checkpointInterval, index.count / 10)) else { continue }
            try checkpoint(definition, rowid: rowid)
        }
        // After the checkpoints' own writes, so they do not count as new ones.
        changesAtLastCheck = connection.totalChanges
    }

    package func checkpoint(_ definition: IndexDefinition, rowid: String) throws {
        do {
            try connection.transaction(.immediate) {
                let index = try current(definition, rowid: rowid)
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

/// Threads for bulk index work (builds, large catch-ups): all cores unless QUIVER_BUILD_THREADS
/// says otherwise.
private let indexBuildThreads =
    Int(ProcessInfo.processInfo.environment["QUIVER_BUILD_THREADS"] ?? "")
    ?? ProcessInfo.processInfo.activeProcessorCount
