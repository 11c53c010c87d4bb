import Foundation
import QuiverReading
import QuiverStorage

/// What a column accepts, from its declared type (SQLite's affinity rules plus Quiver's kinds).
enum ColumnType: Equatable {
    case integer, real, numeric, text, blob
    /// No declared type: holds any value as it was given (SQLite's BLOB affinity, "none").
    case untyped
    case vector(dimension: Int)
    case compressedText

    init(_ column: ColumnInfo) {
        switch column.kind {
        case .vector(let n): self = .vector(dimension: n)
        case .compressedText: self = .compressedText
        case .plain:
            // SQLite's rules (datatype3.html §3.1), in its order.
            let type = column.declaredType.uppercased()
            if type.contains("INT") {
                self = .integer
            } else if type.contains("CHAR") || type.contains("CLOB") || type.contains("TEXT") {
                self = .text
            } else if type.isEmpty {
                self = .untyped
            } else if type.contains("BLOB") {
                self = .blob
            } else if type.contains("REAL") || type.contains("FLOA") || type.contains("DOUB") {
                self = .real
            } else {
                self = .numeric
            }
        }
    }

    var name: String {
        switch self {
        case .integer: "INTEGER"
        case .real: "REAL"
        case .numeric: "NUMERIC"
        case .text: "TEXT"
        case .blob: "BLOB"
        case .untyped: "untyped"
        case .vector(let n): "VECTOR(\(n))"
        case .compressedText: "TEXT COMPRESSED"
        }
    }
}

/// Why a field cannot go into its column; the message follows "FILE:LINE: ".
struct ConversionProblem: Error, CustomStringConvertible {
    var description: String
}

/// One column the import writes, and how a field becomes its value.
struct ColumnTarget {
    var name: String
    var type: ColumnType
    var required: Bool

    func convert(_ value: FieldValue) throws(ConversionProblem) -> SQLValue {
        if type == .untyped { return try untyped(value) }
        let value = value.unquoted
        switch (type, value) {
        case (_, .null):
            if required {
                throw ConversionProblem(description: "field \"\(name)\" is null but the column is required (NOT NULL)")
            }
            return .null
        case (.vector(let n), _): return .vector(try vector(value, dimension: n))
        case (.integer, .integer(let v)): return .integer(v)
        case (.integer, .bool(let v)): return .integer(v ? 1 : 0)
        case (.integer, .real(let v)), (.real, .real(let v)), (.numeric, .real(let v)):
            // SQLite keeps a number an INTEGER column cannot hold exactly (1.5, 1e300, infinity)
            // as REAL; NaN it would store as NULL.
            guard !v.isNaN else {
                throw ConversionProblem(description: "field \"\(name)\" is NaN; \(type.name) columns take numbers")
            }
            if type == .integer, v == v.rounded(), abs(v) < 9.2e18 { return .integer(Int64(v)) }
            return .real(v)
        case (.integer, .untyped(let text)):
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if let v = Int64(trimmed) { return .integer(v) }
            if let v = Self.decimal(trimmed) {
                return v == v.rounded() && abs(v) < 9.2e18 ? .integer(Int64(v)) : .real(v)
            }
        case (.real, .integer(let v)):
            // Above 2^53 a Double cannot hold every integer: refuse rather than round.
            guard Int64(exactly: Double(v)) == v else {
                throw ConversionProblem(
                    description: "field \"\(name)\" is the integer \(v), which a REAL column cannot hold exactly")
            }
            return .real(Double(v))
        case (.real, .untyped(let text)):
            if let v = Self.decimal(text.trimmingCharacters(in: .whitespaces)) { return .real(v) }
        case (.numeric, .integer(let v)): return .integer(v)
        case (.numeric, .bool(let v)): return .integer(v ? 1 : 0)
        case (.numeric, .string(let text)): return .text(text) // (SQLite makes "12" the integer 12)
        case (.numeric, .untyped(let text)):
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if let v = Int64(trimmed) { return .integer(v) }
            if let v = Self.decimal(trimmed) { return .real(v) }
            return .text(text)
        case (.text, _), (.compressedText, _):
            switch value {
            case .string(let s), .untyped(let s), .json(let s): return .text(s)
            case .numbers(_, let raw): return .text(raw)
            case .integer(let v): return .text(String(v))
            case .real(let v) where v.isFinite: return .text(String(v))
            case .quoted(let s): return .text(s)
            case .bool(let v): return .text(v ? "true" : "false")
            default: break
            }
        case (.blob, .string(let s)), (.blob, .untyped(let s)):
            // Blobs travel as base64 text (what `quiver export` writes to CSV).
            if let data = Data(base64Encoded: s) { return .blob([UInt8](data)) }
            throw ConversionProblem(description: "field \"\(name)\" is not base64 text; BLOB columns take base64")
        case (.blob, .json(let raw)):
            if let bytes = Self.base64Object(raw) { return .blob(bytes) }
        case (.blob, .integer(let v)): return .integer(v)
        case (.blob, .real(let v)) where !v.isNaN: return .real(v)
        default: break
        }
        throw ConversionProblem(
            description:
                "field \"\(name)\" is \(value.kindDescription)\(preview(value)); column \(name) is \(type.name)")
    }

    /// A column without a type takes each value as it comes: JSON numbers as numbers, strings
    /// as text, `{"base64": "…"}` as a blob (as `quiver export` writes blobs); in CSV an unquoted
    /// decimal number as a number, anything else as text.
    private func untyped(_ value: FieldValue) throws(ConversionProblem) -> SQLValue {
        switch value {
        case .null:
            if required {
                throw ConversionProblem(description: "field \"\(name)\" is null but the column is required (NOT NULL)")
            }
            return .null
        case .bool(let v): return .integer(v ? 1 : 0)
        case .integer(let v): return .integer(v)
        case .real(let v):
            guard !v.isNaN else {
                throw ConversionProblem(description: "field \"\(name)\" is NaN, which SQLite cannot store")
            }
            return .real(v)
        case .string(let s), .quoted(let s): return .text(s)
        case .numbers(_, let raw): return .text(raw)
        case .json(let raw): return Self.base64Object(raw).map(SQLValue.blob) ?? .text(raw)
        case .untyped(let s):
            if let v = Int64(s) { return .integer(v) }
            if let v = Self.decimal(s) { return .real(v) }
            return .text(s)
        }
    }

    /// A number written in decimal (as `quiver export` writes REAL values: `1.5`, `-0.0`,
    /// `5e-324`, `inf`), not hexadecimal or NaN, which Double(_:) would also read.
    static func decimal(_ text: String) -> Double? {
        switch text {
        case "inf", "+inf", "Infinity", "+Infinity": return .infinity
        case "-inf", "-Infinity": return -.infinity
        default: break
        }
        guard let first = text.utf8.first,
            first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".")
                || (first >= 0x30 && first <= 0x39),
            text.utf8.allSatisfy({
                ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+")
                    || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E")
            }),
            let value = Double(text), !value.isNaN
        else { return nil }
        return value
    }

    /// The bytes of `{"base64": "…"}` (the API's and the export's form of a blob), nil for any
    /// other JSON text.
    static func base64Object(_ raw: String) -> [UInt8]? {
        guard raw.hasPrefix("{"),
            let object = try? JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any],
            object.count == 1, let text = object["base64"] as? String, let data = Data(base64Encoded: text)
        else { return nil }
        return [UInt8](data)
    }

    private func preview(_ value: FieldValue) -> String {
        switch value {
        case .string(let s), .untyped(let s), .quoted(let s):
            " (\"\(s.count > 40 ? s.prefix(40) + "…" : Substring(s))\")"
        case .integer(let v): " (\(v))"
        case .real(let v): " (\(v))"
        default: ""
        }
    }

    /// A vector from a JSON array of numbers, or (CSV, JSON string) its text.
    func vector(_ value: FieldValue, dimension: Int) throws(ConversionProblem) -> [Float] {
        let elements: [Float]
        switch value {
        case .numbers(let values, _): elements = values
        case .string(let text), .untyped(let text), .json(let text):
            do { elements = try VectorCodec.parse(text) } catch {
                throw ConversionProblem(description: "field \"\(name)\": invalid vector: \(error)")
            }
        default:
            throw ConversionProblem(
                description:
                    "field \"\(name)\" is \(value.kindDescription); column \(name) is VECTOR(\(dimension)) and takes an array of numbers"
            )
        }
        try Self.check(elements, dimension: dimension, what: "field \"\(name)\"")
        return elements
    }

    /// Dimension and finiteness, with the element that fails.
    static func check<C: Collection<Float>>(_ elements: C, dimension: Int, what: String) throws(ConversionProblem)
    where C.Index == Int {
        guard elements.count == dimension else {
            throw ConversionProblem(description: "\(what): expected \(dimension) dimensions, got \(elements.count)")
        }
        var position = 0
        for element in elements {
            position += 1
            if !element.isFinite {
                throw ConversionProblem(
                    description:
                        "\(what): element \(position) is \(element.isNaN ? "NaN" : "infinite or out of float32 range")")
            }
        }
    }
}
