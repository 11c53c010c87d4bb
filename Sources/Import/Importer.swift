import Foundation
import QuiverEngine
import QuiverProgress
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
    private let database: Database
    private let options: ImportOptions

    public init(database: Database, options: ImportOptions) {
        self.database = database
        self.options = options
    }

    /// Rows sampled before anything is written, to infer or check the table.
    static let sampleSize = 1_000

    /// Imports the file. `progress` hears how far it has got, one call at a time: while the file
    /// is read, at most every 0.2 s and at its end, "importing FILE" with the bytes read of the
    /// file's size (0 when unknown), the rows read alongside and the time since the start; then
    /// each later stage with the rows read alongside — an index rebuild in its own vectors, from
    /// the build's threads.
    public func run(progress: ((QuiverProgress.Progress) -> Void)? = nil) throws -> ImportSummary {
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
        // Under abort a bad record stops the import wherever it lies; one in the sample stops it
        // before the plan, which cannot name the problem (a sample of bad records has no fields).
        if options.onError == .abort,
            case .malformed(let line, _, let reason)? = sample.first(where: {
                if case .malformed = $0 { true } else { false }
            })
        {
            throw ImportError.rejected(path: options.inputPath, line: line, reason: reason)
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
        let reading = "importing \((options.inputPath as NSString).lastPathComponent)"
        func reportReading() {
            progress?(
                QuiverProgress.Progress(
                    reading, done: summary.bytes, total: source.totalBytes ?? 0, unit: .bytes,
                    alongside: .init(summary.read, .rows), elapsed: Date().timeIntervalSince(started)))
        }
        func reportStage(_ stage: QuiverProgress.Progress) {
            var stage = stage
            stage.alongside = .init(summary.read, .rows)
            stage.elapsed = Date().timeIntervalSince(started)
            progress?(stage)
        }
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
                    if progress != nil, Date().timeIntervalSince(lastReport) >= 0.2 {
                        lastReport = Date()
                        reportReading()
                    }
                    if options.onError == .skip, uncommitted >= options.batchSize {
                        uncommitted = 0
                        return // commits these rows; the next transaction goes on
                    }
                }
                finished = true
                reportReading() // the whole file, so the bar ends full
                summary.rejected = rejects?.count ?? 0
                try rejects?.close()
                if let side, parser.recordCount != side.count {
                    let problem = ImportError.vectorCount(
                        path: side.path, vectors: side.count, records: parser.recordCount)
                    if options.onError == .abort { throw problem }
                    summary.warnings.append(problem.description)
                }

                // Indexes last, in the same transaction as the rows under abort.
                summary.indexes = try bringIndexesUpToDate(
                    table: plan.table, written: summary.written, report: progress == nil ? nil : reportStage)
            }
        }
        if summary.indexes.isEmpty, !database.catalog.indexes(on: plan.table).isEmpty {
            // Not rebuilt: replay the rows into the indexes now (in parallel for large imports)
            // if enough changes are pending, so the first query afterwards does not wait.
            let start = Date()
            reportStage(QuiverProgress.Progress("updating indexes", done: 0, total: 0, unit: .vectors))
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
    /// replays when it is next used. `report` hears each build's own progress, from the
    /// threads of the build, one call at a time.
    private func bringIndexesUpToDate(
        table: String, written: Int,
        report: ((QuiverProgress.Progress) -> Void)?
    ) throws -> [(name: String, seconds: Double, rebuilt: Bool)] {
        let indexes = database.catalog.indexes(on: table)
        guard !indexes.isEmpty, written > 0 else { return [] }
        let rows =
            try database.execute("SELECT count(*) FROM \(quoteIdentifier(table))").first?.rows.first?.first?
            .integerValue ?? 0
        guard Int64(written) * 2 >= rows else { return [] }
        var done: [(String, Double, Bool)] = []
        let caller = database.progressHandler
        defer { database.progressHandler = caller }
        if let report { database.progressHandler = report }
        for index in indexes {
            // Named before the build reads its rows; its own reports follow.
            report?(QuiverProgress.Progress("rebuilding index \(index.name)", done: 0, total: 0, unit: .vectors))
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
