import Foundation
import QuiverStorage

/// What a column accepts, from its declared type (SQLite's affinity rules plus Quiver's kinds).
enum ColumnType: Equatable {
    case integer, real, numeric, text, blob
    case vector(dimension: Int)
    case compressedText

    init(_ column: ColumnInfo) {
        switch column.kind {
        case .vector(let n): self = .vector(dimension: n)
        case .compressedText: self = .compressedText
        case .plain:
            // SQLite's rules (datatype3.html §3.1), in its order.
            let type = column.declaredType.uppercased()
            if type.contains("INT") { self = .integer }
            else if type.contains("CHAR") || type.contains("CLOB") || type.contains("TEXT") { self = .text }
            else if type.contains("BLOB") || type.isEmpty { self = .blob }
            else if type.contains("REAL") || type.contains("FLOA") || type.contains("DOUB") { self = .real }
            else { self = .numeric }
        }
    }

    var name: String {
        switch self {
        case .integer: "INTEGER"
        case .real: "REAL"
        case .numeric: "NUMERIC"
        case .text: "TEXT"
        case .blob: "BLOB"
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
        switch (type, value) {
        case (_, .null):
            if required { throw ConversionProblem(description: "field \"\(name)\" is null but the column is required (NOT NULL)") }
            return .null
        case (.vector(let n), _): return .vector(try vector(value, dimension: n))
        case (.integer, .integer(let v)): return .integer(v)
        case (.integer, .bool(let v)): return .integer(v ? 1 : 0)
        case (.integer, .real(let v)) where v.isFinite && v == v.rounded() && abs(v) < 9.2e18: return .integer(Int64(v))
        case (.integer, .untyped(let text)):
            if let v = Int64(text.trimmingCharacters(in: .whitespaces)) { return .integer(v) }
            if let v = Double(text.trimmingCharacters(in: .whitespaces)), v.isFinite, v == v.rounded(), abs(v) < 9.2e18 { return .integer(Int64(v)) }
        case (.real, .integer(let v)): return .real(Double(v))
        case (.real, .real(let v)), (.numeric, .real(let v)):
            guard v.isFinite else { throw ConversionProblem(description: "field \"\(name)\" is \(v.isNaN ? "NaN" : "infinite"); \(type.name) columns take finite numbers") }
            return .real(v)
        case (.real, .untyped(let text)):
            if let v = Double(text.trimmingCharacters(in: .whitespaces)), v.isFinite { return .real(v) }
        case (.numeric, .integer(let v)): return .integer(v)
        case (.numeric, .bool(let v)): return .integer(v ? 1 : 0)
        case (.numeric, .untyped(let text)):
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if let v = Int64(trimmed) { return .integer(v) }
            if let v = Double(trimmed), v.isFinite { return .real(v) }
            return .text(text)
        case (.text, _), (.compressedText, _):
            switch value {
            case .string(let s), .untyped(let s), .json(let s): return .text(s)
            case .numbers(_, let raw): return .text(raw)
            case .integer(let v): return .text(String(v))
            case .real(let v) where v.isFinite: return .text(String(v))
            case .bool(let v): return .text(v ? "true" : "false")
            default: break
            }
        case (.blob, .string(let s)), (.blob, .untyped(let s)):
            // Blobs travel as base64 text (what `quiver export` writes).
            if let data = Data(base64Encoded: s) { return .blob([UInt8](data)) }
            throw ConversionProblem(description: "field \"\(name)\" is not base64 text; BLOB columns take base64")
        case (.blob, .integer(let v)): return .integer(v)
        case (.blob, .real(let v)) where v.isFinite: return .real(v)
        default: break
        }
        throw ConversionProblem(description: "field \"\(name)\" is \(value.kindDescription)\(preview(value)); column \(name) is \(type.name)")
    }

    private func preview(_ value: FieldValue) -> String {
        switch value {
        case .string(let s), .untyped(let s): " (\"\(s.count > 40 ? s.prefix(40) + "…" : Substring(s))\")"
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
            throw ConversionProblem(description: "field \"\(name)\" is \(value.kindDescription); column \(name) is VECTOR(\(dimension)) and takes an array of numbers")
        }
        try Self.check(elements, dimension: dimension, what: "field \"\(name)\"")
        return elements
    }

    /// Dimension and finiteness, with the element that fails.
    static func check<C: Collection<Float>>(_ elements: C, dimension: Int, what: String) throws(ConversionProblem) where C.Index == Int {
        guard elements.count == dimension else {
            throw ConversionProblem(description: "\(what): expected \(dimension) dimensions, got \(elements.count)")
        }
        var position = 0
        for element in elements {
            position += 1
            if !element.isFinite {
                throw ConversionProblem(description: "\(what): element \(position) is \(element.isNaN ? "NaN" : "infinite or out of float32 range")")
            }
        }
    }
}
