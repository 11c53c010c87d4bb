import Foundation
import QuiverJSON
import QuiverStorage

/// Converts between JSON values in requests and responses and SQLite values.
///
/// Into SQLite: numbers, strings, booleans (1/0) and null as themselves; `{"base64": "…"}` as a
/// blob; other arrays and objects as JSON text; a VECTOR column takes an array of numbers,
/// checked here for its dimension and float32 range so the error names the row and column.
/// Out of SQLite: vectors as arrays of numbers, blobs as `{"base64": "…"}`.
enum ValueMapping {
    static func json(_ value: SQLValue) -> JSONValue {
        switch value {
        case .null: .null
        case .integer(let v): .integer(v)
        case .real(let v): .number(v)
        case .text(let v): .string(v)
        case .blob(let bytes): .object(["base64": .string(Data(bytes).base64EncodedString())])
        case .vector(let floats): .floats(floats)
        }
    }

    /// A value to bind for `column`; `place` says where it came from, for errors ("rows[3]").
    static func sqlValue(_ value: JSONValue, for column: ColumnInfo, table: String, place: String) throws -> SQLValue {
        if let dimension = column.kind.vectorDimension {
            switch value {
            case .null: return .null
            case .array(let elements):
                return .vector(
                    try vector(
                        elements, dimension: dimension,
                        what: "\(place).\(column.name) (\(table).\(column.name), VECTOR(\(dimension)))"))
            case .floats(let floats):
                guard floats.count == dimension else {
                    throw APIError.badRequest(
                        "\(place).\(column.name): expected \(dimension) dimensions, got \(floats.count)")
                }
                return .vector(floats)
            default:
                throw APIError.badRequest(
                    "\(place).\(column.name): a VECTOR(\(dimension)) value must be an array of \(dimension) numbers, not \(value.typeName)"
                )
            }
        }
        return try plain(value, place: "\(place).\(column.name)")
    }

    /// A value for a parameter or a plain column.
    static func plain(_ value: JSONValue, place: String) throws -> SQLValue {
        switch value {
        case .null: return .null
        case .bool(let v): return .integer(v ? 1 : 0)
        case .integer(let v): return .integer(v)
        case .number(let v): return .real(v)
        case .string(let v): return .text(v)
        case .floats(let v): return .vector(v)
        case .object(let fields) where fields.count == 1 && fields["base64"] != nil:
            guard let text = fields["base64"]?.stringValue, let data = Data(base64Encoded: text) else {
                throw APIError.badRequest("\(place): {\"base64\": …} must hold base64 text")
            }
            return .blob(Array(data))
        case .array, .object:
            let data = try JSONEncoder().encode(value)
            return .text(String(decoding: data, as: UTF8.self))
        }
    }

    /// Checks a JSON array as a vector: the dimension, numbers only, finite in float32.
    static func vector(_ elements: [JSONValue], dimension: Int, what: String) throws -> [Float] {
        guard elements.count == dimension else {
            throw APIError.badRequest("\(what): expected \(dimension) dimensions, got \(elements.count)")
        }
        var floats = [Float](repeating: 0, count: dimension)
        for (i, element) in elements.enumerated() {
            let number: Double
            switch element {
            case .number(let v): number = v
            case .integer(let v): number = Double(v)
            default: throw APIError.badRequest("\(what): element \(i) is \(element.typeName), not a number")
            }
            floats[i] = try float32(number, at: i, what: what)
        }
        return floats
    }

    /// One vector element as float32: refused when out of its range, or when it is not zero but
    /// float32 would make it zero (1e-50): that is data lost, not rounded.
    private static func float32(_ number: Double, at i: Int, what: String) throws -> Float {
        let float = Float(number)
        guard float.isFinite else {
            throw APIError.badRequest("\(what): element \(i) (\(number)) is out of float32 range")
        }
        guard float != 0 || number == 0 else {
            throw APIError.badRequest(
                "\(what): element \(i) (\(number)) is too small for float32 and would become 0 (the smallest float32 magnitude is about 1.4e-45); send 0 if 0 is meant"
            )
        }
        return float
    }

    /// A query vector given as numbers: the same checks.
    static func vector(_ numbers: [Double], dimension: Int, what: String) throws -> [Float] {
        guard numbers.count == dimension else {
            throw APIError.badRequest("\(what): expected \(dimension) dimensions, got \(numbers.count)")
        }
        return try numbers.enumerated().map { i, number in try float32(number, at: i, what: what) }
    }

    /// Parameters of a SQL text: a JSON array (positional) or object (named, without the prefix).
    static func bindings(_ params: JSONValue?) throws -> SQLBindings {
        switch params {
        case nil, .null?:
            return .none
        case .array(let values)?:
            return SQLBindings(try values.enumerated().map { try plain($1, place: "params[\($0)]") })
        case .object(let fields)?:
            var named: [String: SQLValue] = [:]
            for (name, value) in fields {
                let bare = name.first.map { ":@$".contains($0) } == true ? String(name.dropFirst()) : name
                named[bare] = try plain(value, place: "params.\(name)")
            }
            return SQLBindings(named: named)
        case let other?:
            throw APIError.badRequest("params must be an array or an object, not \(other.typeName)")
        }
    }
}
