import Foundation
import QuiverReading
import QuiverStorage

/// A whole input file read, planned and converted for a table in memory, with nothing written:
/// what the shell's `.import` sends to a server as one script (each request there is one
/// transaction, so the load is all or nothing). The reading, plan and conversion are the
/// importer's — types inferred for a new table, rows upserted by key — so a table loaded
/// through a server has the same columns and values as one loaded in process. The first bad
/// record stops it, naming file and line.
package struct RecordLoad {
    /// CREATE statements for a new table, then each row's upsert with its values written in.
    package let statements: [String]
    package var summary: ImportSummary

    /// `existing` is the table when it exists, as the server describes it.
    package init(options: ImportOptions, existing: TableInfo?) throws {
        let started = Date()
        guard let format = options.effectiveFormat else {
            throw ImportError.plan(
                "cannot tell the format of \(options.inputPath) from its name (.jsonl, .csv or .tsv, each also .gz)")
        }
        let source = try RecordSource(path: options.inputPath, format: format, maxRecordBytes: options.maxRecordBytes)
        var records: [InputRecord] = []
        while let item = try source.next() {
            switch item {
            case .record(let record): records.append(record)
            case .malformed(let line, _, let reason):
                throw ImportError.rejected(path: options.inputPath, line: line, reason: reason)
            }
        }
        let plan = try ImportPlan.make(
            options: options, existing: existing, schema: nil, header: source.header,
            sample: Array(records.prefix(Importer.sampleSize)), side: nil)
        var statements = plan.createStatements
        for record in records {
            let values: [SQLValue]
            do {
                values = try plan.row(for: record, sideVector: nil)
            } catch {
                throw ImportError.rejected(path: options.inputPath, line: record.line, reason: error.description)
            }
            statements += plan.upsert.statements(values: values.map(\.sqlLiteral))
        }
        self.statements = statements
        var summary = ImportSummary()
        summary.table = plan.table
        summary.createdTable = !plan.createStatements.isEmpty
        summary.read = records.count
        summary.written = records.count
        summary.bytes = source.consumedBytes
        summary.seconds = Date().timeIntervalSince(started)
        self.summary = summary
    }
}
