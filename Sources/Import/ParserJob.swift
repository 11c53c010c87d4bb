import Foundation
import QuiverReading
import QuiverStorage

/// The parsing side of an import, run on its own thread: reads records, converts them to
/// rows, drops duplicates and hands batches to the writer.
///
/// @unchecked Sendable: the importer hands every object here to this job before starting its
/// thread and does not touch them again until the thread has closed the queue.
final class ParserJob: @unchecked Sendable {
    private let source: RecordSource
    private var sample: [SourceItem]
    private let plan: ImportPlan
    private let side: SideVectors?
    private let deduplicator: ImportDeduplicator?
    private let batchSize: Int
    private let keepsText: Bool
    /// Records seen (malformed ones included); read by the importer after the queue closes.
    private(set) var recordCount = 0

    init(
        source: RecordSource, sample: [SourceItem], plan: ImportPlan, side: SideVectors?,
        deduplicator: ImportDeduplicator?, batchSize: Int, keepsText: Bool
    ) {
        self.source = source
        self.sample = sample
        self.plan = plan
        self.side = side
        self.deduplicator = deduplicator
        self.batchSize = batchSize
        self.keepsText = keepsText
    }

    func run(into queue: BatchQueue<Result<RowBatch, Error>>) {
        defer { queue.close() }
        do {
            var batch = RowBatch()
            var sampled = sample.makeIterator()
            sample = []
            while let item = try sampled.next() ?? source.next() {
                recordCount += 1
                switch item {
                case .malformed(let line, let text, let reason):
                    batch.rejects.append((line, reason, text))
                case .record(var record):
                    record.ordinal = recordCount
                    handle(record, into: &batch)
                }
                if batch.rows.count + batch.rejects.count >= batchSize {
                    if let deduplicator { batch.duplicates += try deduplicator.removeDuplicates(from: &batch.rows) }
                    batch.readSoFar = recordCount
                    batch.bytesSoFar = source.consumedBytes
                    guard queue.put(.success(batch)) else { return }
                    batch = RowBatch()
                }
            }
            if let deduplicator { batch.duplicates += try deduplicator.removeDuplicates(from: &batch.rows) }
            batch.readSoFar = recordCount
            batch.bytesSoFar = source.consumedBytes
            queue.put(.success(batch))
        } catch {
            queue.put(.failure(error))
        }
    }

    private func handle(_ record: InputRecord, into batch: inout RowBatch) {
        var sideVector: ArraySlice<Float>?
        if let side {
            guard record.ordinal <= side.count else {
                batch.rejects.append(
                    (
                        record.line, "no vector for record \(record.ordinal): \(side.path) has only \(side.count)",
                        source.text(of: record)
                    ))
                return
            }
            sideVector = side[record.ordinal - 1]
        }
        do {
            let values = try plan.row(for: record, sideVector: sideVector)
            batch.rows.append(
                RowBatch.Row(line: record.line, values: values, text: keepsText ? source.text(of: record) : ""))
        } catch {
            batch.rejects.append((record.line, error.description, source.text(of: record)))
        }
    }
}
