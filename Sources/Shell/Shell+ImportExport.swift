import Foundation
import QuiverFormats
import QuiverImport

/// `.import` and `.export` of JSON Lines, CSV and TSV files, chosen by extension, through the
/// backend: QuiverImport's reading, plan and encoding in both, so a table loaded over a server
/// has the types and values it gets in process. A load is all or nothing: a bad record stops
/// it, names its file and line and leaves the table as it was.
extension Shell {
    func importFile(_ path: String, into table: String) throws {
        let summary = try withProgress("importing \((path as NSString).lastPathComponent) into \(table)") {
            try backend.importFile(path, into: table) {
                // Narrower than the terminal: the line names the import and its time first.
                self.reportProgress(ImportProgressText.render($0, width: 60))
            }
        }
        refreshCompletion()
        message(summary)
    }

    func export(_ table: String, to path: String) throws {
        let format: ExportOptions.Format
        switch (path as NSString).pathExtension.lowercased() {
        case "csv": format = .csv
        case "jsonl", "ndjson": format = .jsonl
        default: throw StatementFailure(message: "\(path): .export writes .csv and .jsonl files")
        }
        message(try backend.exportTable(table, to: path, format: format))
    }
}
