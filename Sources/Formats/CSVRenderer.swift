import Foundation
import QuiverStorage

/// RFC 4180 CSV: CRLF line ends, fields quoted only when they must be.
enum CSVRenderer {
    /// A header line then one line per row; a blank line between result sets.
    static func render(_ results: [ResultSet]) -> String {
        results.map { table($0) }.joined(separator: "\r\n")
    }

    static func table(_ result: ResultSet, header: Bool = true) -> String {
        var out = header ? line(result.columns.map(quoted)) : ""
        for row in result.rows {
            out += line(result.columns.indices.map { field(result.value(row, $0)) })
        }
        return out
    }

    private static func line(_ fields: [String]) -> String {
        fields.joined(separator: ",") + "\r\n"
    }

    /// NULL is an empty field and the empty string a quoted one (`""`), so the two
    /// stay distinguishable, as in PostgreSQL's CSV.
    private static func field(_ value: SQLValue) -> String {
        switch value {
        case .null: ""
        case .integer(let n): "\(n)"
        case .real(let x): ValueText.number(x)
        case .text(let s): s.isEmpty ? "\"\"" : quoted(s)
        case .blob(let bytes): ValueText.base64(bytes)
        case .vector(let v): quoted(ValueText.vectorJSON(v))
        }
    }

    private static func quoted(_ text: String) -> String {
        let needsQuotes = text.utf8.contains {
            $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0D || $0 == 0x0A
        }
        guard needsQuotes else { return text }
        return "\"" + text.doubling("\"") + "\""
    }
}
