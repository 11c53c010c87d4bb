import Foundation
import QuiverReading

/// What `quiver import` was asked to do.
public struct ImportOptions: Sendable {
    /// What to do with a record that cannot be imported.
    public enum OnError: String, Sendable, CaseIterable {
        /// Stop at the first bad record and leave the database exactly as it was.
        case abort
        /// Write the good records; list the bad ones, with reasons, in the reject file.
        case skip
    }

    /// Duplicate records an import leaves out.
    public enum Dedupe: Sendable, Equatable {
        /// Records whose normalized text equals that of an existing row or an earlier record.
        case exact
        /// Records whose vector is within this cosine similarity (inclusive) of an existing
        /// row's or an earlier record's.
        case similarity(Double)
    }

    public var table: String
    public var inputPath: String
    public var format: InputFormat?
    public var vectorsPath: String?
    /// The VECTOR column the side file fills (default: the table's only VECTOR column, or
    /// `embedding` for a new table).
    public var vectorColumn: String?
    public var schemaPath: String?
    /// The field that holds the primary key (default: the table's key, else `id`).
    public var key: String?
    public var onError: OnError = .abort
    /// Where `--on-error skip` lists rejects (default: `<input name>.rejects.jsonl` here).
    public var rejectsPath: String?
    public var dedupe: Dedupe?
    /// The text column `--dedupe exact` compares (default: the longest-looking text column).
    public var dedupeColumn: String?
    /// Rows per transaction with `--on-error skip` (with `abort` the import is one transaction).
    public var batchSize = 10_000
    /// The longest record read: a longer line (or CSV record) stops the import, naming it, before
    /// it is held in memory whole.
    public var maxRecordBytes = ImportOptions.defaultMaxRecordBytes
    public static let defaultMaxRecordBytes = RecordSource.defaultMaxRecordBytes

    public init(table: String, inputPath: String) {
        self.table = table
        self.inputPath = inputPath
    }

    var effectiveFormat: InputFormat? { format ?? InputFormat.guess(fromPath: inputPath) }

    var effectiveRejectsPath: String {
        if let rejectsPath { return rejectsPath }
        let base = inputPath == "-" ? "stdin" : (inputPath as NSString).lastPathComponent
        return base + ".rejects.jsonl"
    }
}
