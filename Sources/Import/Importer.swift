import Foundation
import QuiverEngine
import QuiverReading
import QuiverStorage

/// Loads a file of records into a table: parsing and converting on one thread while the
/// calling thread writes, upserting by primary key, and bringing vector indexes up to date
/// in bulk at the end.
///
/// Transactions: with `--on-error abort` the whole import is one transaction (the database
/// ends exactly as before or with every row); with `skip` every `batchSize` rows commit, so a
/// killed import keeps what it committed and a re-run upserts the rest without duplicates.
public final class Importer {
    /// Where an import stands, for a progress display.
    public struct Progress: Sendable {
        public var read: Int
        public var written: Int
        public var bytes: Int
        public var totalBytes: Int?
        public var seconds: Double
        /// What runs after the rows are in, e.g. "building index docs_embedding".
        public var phase: String?
    }

    private let database: Database
    private let options: ImportOptions

    public init(database: Database, options: ImportOptions) {
        self.database = database
        self.options = options
    }

    /// Rows sampled before anything is written, to infer or check the table.
    static let sampleSize = 1_000

    public func run(progress: ((Progress) -> Void)? = nil) throws -> ImportSummary {
        let started = Date()
        guard let format = options.effectiveFormat else {
            throw ImportError.plan(
                "cannot tell the format of \(options.inputPath) from its name; say --format jsonl, csv or tsv")
        }
        let schema = try options.schemaPath.map(TableSchema.read(path:))
        let side = try options.vectorsPath.map(SideVectors.init(path:))
        let source = try RecordSource(path: options.inputPath, format: format, maxRecordBytes: options.maxRecordBytes)

        // Read ahead to learn the fields, then plan; nothing is written before the plan holds.
        var sample: [SourceItem] = []
        while sample.count < Self.sampleSize, let item = try source.next() {
            if case .record(var record) = item {
                record.text = source.text(of: record)
                sample.append(.record(record))
            } else {
                sample.append(item)
            }
        }
        let records = sample.compactMap { if case .record(let r) = $0 { r } else { nil } }
        let plan = try ImportPlan.make(
            options: options, existing: try database.currentCatalog().table(named: options.table), schema: schema,
            header: source.header,
            sample: records, side: side)
        let deduplicator = try options.dedupe.map {
            try ImportDeduplicator(mode: $0, plan: plan, options: options, database: database)
        }

        var summary = ImportSummary()
        summary.table = plan.table
        summary.createdTable = !plan.createStatements.isEmpty
        let rejects =
            options.onError == .skip ? RejectLog(path: options.effectiveRejectsPath, inputPath: options.inputPath) : nil

        let queue = BatchQueue<Result<RowBatch, Error>>(capacity: 4)
        defer { queue.cancel() }
        let parser = ParserJob(
            source: source, sample: sample, plan: plan, side: side, deduplicator: deduplicator,
            batchSize: min(options.batchSize, 2_000), keepsText: options.onError == .skip)
        var writers: (update: BulkWriter?, insert: BulkWriter)?
        var lastReport = Date.distantPast
        var uncommitted = 0
        var finished = false
        // One transaction under abort; under skip one per `batchSize` rows, the last holding the
        // index rebuild too.
        while !finished {
            try BulkWriter.transaction(on: database) {
                let updater: BulkWriter?
                let writer: BulkWriter
                if let writers {
                    (updater, writer) = writers
                } else {
                    for statement in plan.createStatements { _ = try database.execute(statement) }
                    updater = try plan.upsert.update.map { try BulkWriter(database: database, sql: $0) }
                    writer = try BulkWriter(database: database, sql: plan.upsert.insert)
                    writers = (updater, writer)
                    let thread = Thread { parser.run(into: queue) }
                    thread.stackSize = 8 << 20
                    thread.start()
                }
                while let item = queue.take() {
                    let batch = try item.get()
                    summary.read = batch.readSoFar
                    summary.bytes = batch.bytesSoFar
                    summary.duplicates += batch.duplicates
                    for reject in batch.rejects {
                        guard let rejects else {
                            throw ImportError.rejected(
                                path: options.inputPath, line: reject.line, reason: reject.reason)
                        }
                        try rejects.add(line: reject.line, reason: reject.reason, text: reject.text)
                    }
                    for row in batch.rows {
                        do {
                            try updater?.write(row.values)
                            try writer.write(row.values)
                            summary.written += 1
                            uncommitted += 1
                        } catch let error as SQLiteError {
                            let reason = plan.reason(forWriteFailure: error)
                            guard let rejects else {
                                if error.isInterrupt {
                                    throw ImportError.interrupted(path: options.inputPath, line: row.line)
                                }
                                throw ImportError.rejected(path: options.inputPath, line: row.line, reason: reason)
                            }
                            try rejects.add(line: row.line, reason: reason, text: row.text)
                        }
                    }
                    if let progress, Date().timeIntervalSince(lastReport) >= 0.2 {
                        lastReport = Date()
                        progress(
                            Progress(
                                read: summary.read, written: summary.written, bytes: summary.bytes,
                                totalBytes: source.totalBytes,
                                seconds: Date().timeIntervalSince(started)))
                    }
                    if options.onError == .skip, uncommitted >= options.batchSize {
                        uncommitted = 0
                        return // commits these rows; the next transaction goes on
                    }
                }
                finished = true
                summary.rejected = rejects?.count ?? 0
                try rejects?.close()
                if let side, parser.recordCount != side.count {
                    let problem = ImportError.vectorCount(
                        path: side.path, vectors: side.count, records: parser.recordCount)
                    if options.onError == .abort { throw problem }
                    summary.warnings.append(problem.description)
                }

                // Indexes last, in the same transaction as the rows under abort.
                summary.indexes = try bringIndexesUpToDate(table: plan.table, written: summary.written) { name in
                    progress?(
                        Progress(
                            read: summary.read, written: summary.written, bytes: summary.bytes,
                            totalBytes: source.totalBytes,
                            seconds: Date().timeIntervalSince(started), phase: "building index \(name)"))
                }
            }
        }
        if summary.indexes.isEmpty, !database.catalog.indexes(on: plan.table).isEmpty {
            // Not rebuilt: replay the rows into the indexes now (in parallel for large imports)
            // if enough changes are pending, so the first query afterwards does not wait.
            let start = Date()
            progress?(
                Progress(
                    read: summary.read, written: summary.written, bytes: summary.bytes, totalBytes: source.totalBytes,
                    seconds: Date().timeIntervalSince(started), phase: "updating indexes"))
            try database.checkpointIndexesIfDue()
            let seconds = Date().timeIntervalSince(start)
            if seconds >= 0.05 {
                summary.indexes = database.catalog.indexes(on: plan.table).map { ($0.name, seconds, false) }
            }
        }
        summary.seconds = Date().timeIntervalSince(started)
        summary.rejectsPath = rejects?.path
        return summary
    }

    /// Rebuilds an index (REINDEX, both cores) when the import wrote at least half of the
    /// table's rows; a smaller import leaves its rows in the change log, which the index
    /// replays when it is next used.
    private func bringIndexesUpToDate(
        table: String, written: Int,
        announce: (String) -> Void
    ) throws -> [(name: String, seconds: Double, rebuilt: Bool)] {
        let indexes = database.catalog.indexes(on: table)
        guard !indexes.isEmpty, written > 0 else { return [] }
        let rows =
            try database.execute("SELECT count(*) FROM \(quoteIdentifier(table))").first?.rows.first?.first?
            .integerValue ?? 0
        guard Int64(written) * 2 >= rows else { return [] }
        var done: [(String, Double, Bool)] = []
        for index in indexes {
            announce(index.name)
            let start = Date()
            _ = try database.execute("REINDEX \(quoteIdentifier(index.name))")
            done.append((index.name, Date().timeIntervalSince(start), true))
        }
        return done
    }
}

/// Rows ready to write, with what the parser decided about the records around them.
struct RowBatch: Sendable {
    struct Row: Sendable {
        var line: Int
        var values: [SQLValue]
        /// The record as written; kept only when rejects are listed (`--on-error skip`).
        var text: String
    }
    var rows: [Row] = []
    var rejects: [(line: Int, reason: String, text: String)] = []
    var duplicates = 0
    var readSoFar = 0
    var bytesSoFar = 0
}
