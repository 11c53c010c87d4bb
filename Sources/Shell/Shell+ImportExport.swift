import Foundation
import QuiverFormats
import QuiverStorage

/// `.import` and `.export` of CSV (with a header line) and JSON Lines, chosen by extension.
/// A load is one transaction: a bad row stops it, names its line and leaves the table as it was.
extension Shell {
    func importFile(_ path: String, into table: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StatementFailure(message: "cannot read \(path)")
        }
        let text = String(decoding: data, as: UTF8.self)
        let records: (columns: [String], rows: [[SQLValue]], lines: [Int])
        switch (path as NSString).pathExtension.lowercased() {
        case "csv": records = try CSVReader.records(text, source: path)
        case "jsonl", "ndjson": records = try JSONLinesReader.records(text, source: path, columns: existingColumns(of: table))
        default: throw StatementFailure(message: "\(path): .import reads .csv and .jsonl files")
        }
        guard !records.columns.isEmpty else { throw StatementFailure(message: "\(path): no columns") }

        let quotedTable = Self.identifier(table)
        _ = try backend.execute("BEGIN IMMEDIATE")
        do {
            if try existingColumns(of: table) == nil {
                _ = try backend.execute("CREATE TABLE \(quotedTable) (\(records.columns.map { Self.identifier($0) + " TEXT" }.joined(separator: ", ")))")
            }
            let insert = "INSERT INTO \(quotedTable) (\(records.columns.map(Self.identifier).joined(separator: ", "))) VALUES (\(records.columns.map { _ in "?" }.joined(separator: ", ")))"
            try withProgress("importing \(path) into \(table)") {
                var done = 0
                let batch = 5_000
                while done < records.rows.count {
                    let slice = Array(records.rows[done..<min(done + batch, records.rows.count)])
                    do {
                        _ = try backend.insert(insert, rows: slice)
                    } catch let failure as StatementFailure {
                        let line = records.lines[min(records.lines.count - 1, done + (failure.row ?? 1) - 1)]
                        throw StatementFailure(message: "\(path) line \(line): \(failure.message)")
                    }
                    done += slice.count
                    reportProgress("\(done) of \(records.rows.count) rows")
                }
            }
            _ = try backend.execute("COMMIT")
        } catch {
            _ = try? backend.execute("ROLLBACK")
            throw error
        }
        refreshCompletion()
        message("imported \(records.rows.count) rows into \(table)")
    }

    func export(_ table: String, to path: String) throws {
        let format: OutputFormat
        switch (path as NSString).pathExtension.lowercased() {
        case "csv": format = .csv
        case "jsonl", "ndjson": format = .jsonl
        default: throw StatementFailure(message: "\(path): .export writes .csv and .jsonl files")
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

/// RFC 4180 CSV: a header line of column names, quoted fields with doubled quotes and line
/// breaks inside. Every field is text (SQLite's column affinity converts numbers); an empty
/// unquoted field is NULL.
enum CSVReader {
    static func records(_ text: String, source: String) throws -> (columns: [String], rows: [[SQLValue]], lines: [Int]) {
        var rows: [[SQLValue]] = []
        var lines: [Int] = []
        var field = ""
        var fieldQuoted = false
        var record: [SQLValue] = []
        var inQuotes = false
        var line = 1
        var recordLine = 1
        var header: [String]?
        var scalars = Array(text.unicodeScalars)[...]
        if scalars.first == "\u{FEFF}" { scalars = scalars.dropFirst() }
        func endField() {
            record.append(field.isEmpty && !fieldQuoted ? .null : .text(field))
            field = ""
            fieldQuoted = false
        }
        func endRecord() throws {
            endField()
            defer { record = []; recordLine = line }
            if record == [.null] { return }   // a blank line
            if header == nil {
                header = record.map { $0.textValue ?? "" }
                return
            }
            guard record.count == header!.count else {
                throw StatementFailure(message: "\(source) line \(recordLine): \(record.count) fields, the header has \(header!.count)")
            }
            rows.append(record)
            lines.append(recordLine)
        }
        var i = scalars.startIndex
        while i < scalars.endIndex {
            let c = scalars[i]
            i += 1
            if inQuotes {
                if c == "\"" {
                    if i < scalars.endIndex && scalars[i] == "\"" { field.unicodeScalars.append("\""); i += 1 } else { inQuotes = false }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"" where field.isEmpty: inQuotes = true; fieldQuoted = true
            case ",": endField()
            case "\r" where i < scalars.endIndex && scalars[i] == "\n": break
            case "\n", "\r": line += 1; try endRecord()
            default: field.unicodeScalars.append(c)
            }
        }
        if inQuotes { throw StatementFailure(message: "\(source) line \(recordLine): unterminated quoted field") }
        if !field.isEmpty || fieldQuoted || !record.isEmpty { try endRecord() }
        return (header ?? [], rows, lines)
    }
}

/// JSON Lines: one object per line; keys are columns (the table's, when it exists, else the
/// first object's). Arrays are stored as their JSON text, which VECTOR columns accept.
enum JSONLinesReader {
    static func records(_ text: String, source: String, columns existing: [String]?) throws -> (columns: [String], rows: [[SQLValue]], lines: [Int]) {
        var columns = existing
        var rows: [[SQLValue]] = []
        var lines: [Int] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            let object: [String: Any]
            do {
                guard let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw StatementFailure(message: "\(source) line \(index + 1): not a JSON object")
                }
                object = parsed
            } catch let failure as StatementFailure {
                throw failure
            } catch {
                throw StatementFailure(message: "\(source) line \(index + 1): bad JSON")
            }
            if columns == nil { columns = object.keys.sorted() }
            let known = Set(columns!.map { $0.lowercased() })
            if let unknown = object.keys.first(where: { !known.contains($0.lowercased()) }) {
                throw StatementFailure(message: "\(source) line \(index + 1): no column \"\(unknown)\"")
            }
            let lowered = Dictionary(object.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
            rows.append(columns!.map { value(lowered[$0.lowercased()]) })
            lines.append(index + 1)
        }
        return (columns ?? [], rows, lines)
    }

    private static func value(_ any: Any?) -> SQLValue {
        switch any {
        case nil, is NSNull: return .null
        case let number as NSNumber:
            if let exact = Int64(exactly: number.doubleValue), !String(describing: number).contains(".") { return .integer(exact) }
            return .real(number.doubleValue)
        case let string as String: return .text(string)
        default:
            let data = (try? JSONSerialization.data(withJSONObject: any!, options: [.fragmentsAllowed])) ?? Data()
            return .text(String(decoding: data, as: UTF8.self))
        }
    }
}
