import Foundation
import QuiverFormats
import QuiverStorage

/// `.import` and `.export` of CSV (with a header line) and JSON Lines, chosen by extension:
/// through the backend's own file transfer when it has one (QuiverImport on a database), else
/// read here and loaded through `ShellBackend.load`. Either way a load is all or nothing: a bad
/// record stops it, names its line and leaves the table as it was.
extension Shell {
    func importFile(_ path: String, into table: String) throws {
        if let transfer = backend as? FileTransfer {
            let summary = try withProgress("importing \((path as NSString).lastPathComponent) into \(table)") {
                try transfer.importFile(path, into: table) { self.reportProgress($0) }
            }
            refreshCompletion()
            message(summary)
            return
        }
        let existing = try existingColumns(of: table)
        let records = try RecordFile.read(path, existingColumns: existing)
        let created = existing == nil
        // A new table takes the file's column names; SQLite's affinity keeps numbers as text.
        let create = created ? "CREATE TABLE \(Self.identifier(table)) (\(records.columns.map { Self.identifier($0) + " TEXT" }.joined(separator: ", ")))" : nil
        do {
            try withProgress("importing \((path as NSString).lastPathComponent) into \(table)") {
                _ = try backend.load(into: table, columns: records.columns, rows: records.rows, create: create) { done in
                    self.reportProgress("\(done) of \(records.rows.count) rows")
                }
            }
        } catch let failure as StatementFailure {
            guard let row = failure.row else { throw failure }
            throw StatementFailure(message: "\(path) line \(records.lines[min(records.lines.count - 1, row - 1)]): \(failure.message)")
        }
        refreshCompletion()
        message("imported \(records.rows.count) rows into \(table)\(created ? " (new table)" : "")")
    }

    func export(_ table: String, to path: String) throws {
        let format: OutputFormat
        switch (path as NSString).pathExtension.lowercased() {
        case "csv": format = .csv
        case "jsonl", "ndjson": format = .jsonl
        default: throw StatementFailure(message: "\(path): .export writes .csv and .jsonl files")
        }
        if let transfer = backend as? FileTransfer {
            message(try transfer.exportTable(table, to: path, format: format == .csv ? .csv : .jsonl))
            return
        }
        guard let result = try backend.execute("SELECT * FROM \(Self.identifier(table))").first else { return }
        var text = ResultRenderer.render([result], as: format)
        if text.isEmpty && format == .csv { text = result.columns.joined(separator: ",") + "\r\n" }
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
            throw StatementFailure(message: "cannot write \(path)")
        }
        message("exported \(result.rows.count) rows of \(table) to \(path)")
    }

    /// The table's columns, or nil when there is no such table.
    private func existingColumns(of table: String) throws -> [String]? {
        let rows = try query("SELECT name FROM pragma_table_info(\(Self.literal(table)))")
        return rows.isEmpty ? nil : rows.compactMap { $0.first?.textValue }
    }
}

