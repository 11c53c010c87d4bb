/// One field of an input record, before it is converted to the type of its column.
package enum FieldValue: Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case real(Double)
    case string(String)
    /// A JSON array holding only numbers: a vector candidate. `raw` is its text as written.
    case numbers([Float], raw: String)
    /// Any other JSON array or object, as written.
    case json(String)
    /// A CSV/TSV field: text whose type the column decides.
    case untyped(String)
    /// A CSV/TSV field in quotes: like `untyped`, except that a column without a type takes it
    /// as text (unquoted, a number there is a number).
    case quoted(String)

    /// How the value is described in an error message.
    package var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer: "an integer"
        case .real: "a number"
        case .string: "a string"
        case .numbers: "an array of numbers"
        case .json(let raw): raw.hasPrefix("[") ? "an array" : "an object"
        case .untyped, .quoted: "text"
        }
    }

    /// The text of a CSV/TSV field.
    package var text: String? {
        switch self {
        case .untyped(let text), .quoted(let text): text
        default: nil
        }
    }

    /// A quoted field as an unquoted one, for every column but an untyped one.
    package var unquoted: FieldValue {
        if case .quoted(let text) = self { return .untyped(text) }
        return self
    }
}

/// A record read from the input: its fields by name, in file order, and where it starts.
package struct InputRecord {
    package var line: Int
    /// 1-based position among the records, malformed ones included (each takes its row of a
    /// side vector file); blank lines are not records.
    package var ordinal = 0
    package var fields: [(name: String, value: FieldValue)]
    /// The record as written, for the reject file.
    package var text: String

    package func value(of name: String) -> FieldValue? {
        fields.first { $0.name == name }?.value
    }
}
