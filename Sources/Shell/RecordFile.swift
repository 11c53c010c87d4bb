import Foundation
import QuiverStorage

/// The records of a `.csv` or `.jsonl` file, read whole for `.import`: column names, one row of
/// values per record, and the line each record started on (for errors).
struct RecordFile {
    var columns: [String]
    var rows: [[SQLValue]]
    var lines: [Int]

    /// Reads `path` by its extension; `existingColumns` are the target table's, when it exists.
    static func read(_ path: String, existingColumns: [String]?) throws -> RecordFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StatementFailure(message: "cannot read \(path)")
        }
        let text = String(decoding: data, as: UTF8.self)
        let records: (columns: [String], rows: [[SQLValue]], lines: [Int])
        switch (path as NSString).pathExtension.lowercased() {
        case "csv": records = try CSVReader.records(text, source: path)
        case "jsonl", "ndjson": records = try JSONLinesReader.records(text, source: path, columns: existingColumns)
        default: throw StatementFailure(message: "\(path): .import reads .csv and .jsonl files")
        }
        guard !records.columns.isEmpty else { throw StatementFailure(message: "\(path): no columns") }
        return RecordFile(columns: records.columns, rows: records.rows, lines: records.lines)
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
