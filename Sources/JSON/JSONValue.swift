import Foundation

/// A JSON value as Quiver's HTTP API sends and takes it: rows and filters have no fixed shape.
/// The server and its client share this one type.
///
/// Numbers keep whether they were written as integers, so `7` binds as SQLite INTEGER and
/// `7.5` as REAL, and vectors read back as float32 print in their shortest form.
public indirect enum JSONValue: Sendable, Equatable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
    /// A vector read from a VECTOR column, written as a JSON array of numbers: the server's
    /// answers carry vectors this way instead of one `.number` per element. Decoding never
    /// makes it (an array of numbers decodes as `.array`).
    case floats([Float])

    public subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    public subscript(index: Int) -> JSONValue? {
        if case .array(let items) = self, items.indices.contains(index) { return items[index] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var integerValue: Int64? {
        switch self {
        case .integer(let value): value
        case .number(let value) where value == value.rounded() && abs(value) < 9e18: Int64(value)
        default: nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .number(let value): value
        default: nil
        }
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The JSON type name, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array, .floats: "an array"
        case .object: "an object"
        }
    }

    /// Numbers of a vector.
    public static func vector(_ values: [Float]) -> JSONValue { .array(values.map { .number(Double($0)) }) }

    /// Compact JSON text.
    public var jsonText: String {
        (try? JSONEncoder().encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Numbers first, as a Double: vectors are arrays of hundreds of them, and each failed
        // attempt costs a thrown error. Integral values are then re-read exactly as Int64.
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Double.self) {
            if value == value.rounded(), abs(value) < 9.3e18, let integer = try? container.decode(Int64.self) {
                self = .integer(integer)
            } else {
                self = .number(value)
            }
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value):
            // JSON has no infinity, and clients' parsers refuse a bare Infinity, so an infinite
            // REAL (1e999) is the string "Infinity" or "-Infinity", not null (which reads as
            // NULL). SQLite stores no NaN (0.0/0.0 is NULL).
            if value.isFinite {
                try container.encode(value)
            } else if value.isNaN {
                try container.encodeNil()
            } else {
                try container.encode(value < 0 ? "-Infinity" : "Infinity")
            }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .floats(let value): try container.encode(value)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByNilLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
