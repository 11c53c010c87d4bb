import Foundation
import QuiverFormats
import QuiverReading
import QuiverStorage

/// How `quiver export` writes values so that `quiver import` reads back the same value of the
/// same type into the same column, and the check that it will.
///
/// JSON Lines: numbers as numbers (infinities as `Infinity`/`-Infinity`, which import reads),
/// text as strings, blobs as `{"base64": "…"}`, vectors as arrays. CSV: NULL is an empty field,
/// the empty string `""`, blobs base64 (`""` when empty), text in an untyped column always
/// quoted (unquoted, a number there is a number); line breaks inside fields are kept as written.
/// A value whose type its column's import would change (text in an INTEGER column, a blob in a
/// TEXT column, text or a blob in a BLOB column in CSV…) is refused, naming row and column.
enum ExportEncoding {
    /// A value `format` cannot carry back into its column unchanged.
    struct Unexportable: Error, CustomStringConvertible {
        var description: String
    }

    /// One record: a JSON object or a CSV line (with its CRLF).
    static func record(_ values: [SQLValue], columns: [ColumnTarget], format: ExportOptions.Format) -> String {
        switch format {
        case .jsonl:
            var out = "{"
            for (index, (value, column)) in zip(values, columns).enumerated() {
                if index > 0 { out += "," }
                out += ValueText.jsonString(column.name) + ":" + json(value)
            }
            return out + "}\n"
        case .csv:
            return zip(values, columns).map { csv($0, untypedColumn: $1.type == .untyped) }.joined(separator: ",")
                + "\r\n"
        }
    }

    static func csvHeader(_ columns: [ColumnTarget]) -> String {
        columns.map { quotedIfNeeded($0.name) }.joined(separator: ",") + "\r\n"
    }

    /// Throws unless importing `value`, written in `format`, into `column` gives it back exactly.
    static func check(_ value: SQLValue, column: ColumnTarget, format: ExportOptions.Format) throws(Unexportable) {
        let read = fieldAsRead(value, format: format, untypedColumn: column.type == .untyped)
        let back: SQLValue
        do {
            back = try column.convert(read)
        } catch {
            throw Unexportable(description: "\(error)")
        }
        guard same(back, value) else {
            throw Unexportable(description: "import would read it back as \(describe(back))")
        }
    }

    /// What the reader of `format` makes of the text written for `value`.
    private static func fieldAsRead(_ value: SQLValue, format: ExportOptions.Format, untypedColumn: Bool) -> FieldValue
    {
        switch (format, value) {
        case (_, .null): .null
        case (.jsonl, .integer(let v)): .integer(v)
        case (.jsonl, .real(let v)): .real(v)
        case (.jsonl, .text(let s)): .string(s)
        case (.jsonl, .blob): .json(json(value))
        case (_, .vector(let v)): .numbers(v, raw: "") // (raw is only read by text columns)
        case (.csv, .integer(let v)): .untyped(String(v))
        case (.csv, .real(let v)): .untyped(ValueText.number(v))
        case (.csv, .text(let s)): untypedColumn || s.isEmpty ? .quoted(s) : .untyped(s)
        case (.csv, .blob(let bytes)): bytes.isEmpty ? .quoted("") : .untyped(ValueText.base64(bytes))
        }
    }

    /// Equal, and of the same SQLite type; reals bit for bit (-0.0 is not 0.0).
    private static func same(_ a: SQLValue, _ b: SQLValue) -> Bool {
        switch (a, b) {
        case (.real(let x), .real(let y)): x.bitPattern == y.bitPattern
        case (.vector(let x), .vector(let y)): x.map(\.bitPattern) == y.map(\.bitPattern)
        default: a == b
        }
    }

    private static func describe(_ value: SQLValue) -> String {
        switch value {
        case .null: "NULL"
        case .integer(let v): "the integer \(v)"
        case .real(let v): "the real \(v)"
        case .text: "text"
        case .blob: "a blob"
        case .vector: "a vector"
        }
    }

    private static func json(_ value: SQLValue) -> String {
        switch value {
        case .null: "null"
        case .integer(let n): "\(n)"
        case .real(let x): x.isFinite ? "\(x)" : x.isNaN ? "null" : x < 0 ? "-Infinity" : "Infinity"
        case .text(let s): ValueText.jsonString(s)
        case .blob(let bytes): "{\"base64\":\"" + ValueText.base64(bytes) + "\"}"
        case .vector(let v): ValueText.vectorJSON(v)
        }
    }

    private static func csv(_ value: SQLValue, untypedColumn: Bool) -> String {
        switch value {
        case .null: ""
        case .integer(let n): "\(n)"
        case .real(let x): ValueText.number(x)
        case .text(let s): untypedColumn || s.isEmpty ? quoted(s) : quotedIfNeeded(s)
        case .blob(let bytes): bytes.isEmpty ? "\"\"" : ValueText.base64(bytes)
        case .vector(let v): quoted(ValueText.vectorJSON(v))
        }
    }

    private static func quotedIfNeeded(_ text: String) -> String {
        let needsQuotes =
            text.utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0D || $0 == 0x0A }
            || text.hasPrefix(" ") || text.hasSuffix(" ")
        return needsQuotes ? quoted(text) : text
    }

    private static func quoted(_ text: String) -> String {
        "\"" + text.doubling("\"") + "\""
    }
}
