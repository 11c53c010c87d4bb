import Foundation
import QuiverJSON

// Request bodies are decoded strictly: an object field that the model's `Decodable`
// conformance did not read, at any depth, is an error naming it. A misspelt field ("filters"
// for "filter", "topk" for "k") would otherwise be ignored and change the answer silently; the
// OpenAPI document says `additionalProperties: false` for every request object.
//
// The check wraps the decoder and records which keys the models read, rather than listing each
// model's fields a second time, so it cannot drift from the models.

/// Values decoded as they come, without looking inside them for unknown fields: the free-form
/// parts of a request (row values, filters, parameters) and arrays of numbers or strings.
protocol FreeFormJSON {}
extension JSONValue: FreeFormJSON {}
extension String: FreeFormJSON {}
extension Bool: FreeFormJSON {}
extension Int: FreeFormJSON {}
extension Int64: FreeFormJSON {}
extension Double: FreeFormJSON {}
extension Float: FreeFormJSON {}
extension Array: FreeFormJSON where Element: FreeFormJSON {}
extension Dictionary: FreeFormJSON where Key == String, Value: FreeFormJSON {}
extension Optional: FreeFormJSON where Wrapped: FreeFormJSON {}

/// A field in a request object that the API does not take.
struct UnknownFieldError: Error {
    let codingPath: [any CodingKey]
    let field: String
    /// The fields this object takes.
    let known: [String]
}

/// `JSONDecoder().decode(StrictlyDecoded<T>.self, from:)` decodes a `T` strictly.
struct StrictlyDecoded<Value: Decodable>: Decodable {
    let value: Value

    init(from decoder: any Decoder) throws {
        value = try StrictDecoder.decode(Value.self, from: decoder)
    }
}

/// The keys of one JSON object, and those the model read (or asked about).
private final class KeyAudit {
    let codingPath: [any CodingKey]
    let present: [String]
    var read = Set<String>()

    init(_ container: KeyedDecodingContainer<AnyCodingKey>) {
        codingPath = container.codingPath
        present = container.allKeys.map(\.stringValue)
    }

    func check() throws {
        guard let unknown = present.first(where: { !read.contains($0) }) else { return }
        throw UnknownFieldError(codingPath: codingPath, field: unknown, known: read.sorted())
    }
}

/// The audits of one strictly decoded value, checked once the value's initializer has run
/// (only then is every field it reads known).
private final class AuditLog {
    var audits: [KeyAudit] = []
}

private struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

private struct StrictDecoder: Decoder {
    let base: any Decoder
    let log: AuditLog

    var codingPath: [any CodingKey] { base.codingPath }
    var userInfo: [CodingUserInfoKey: Any] { base.userInfo }

    static func decode<T: Decodable>(_ type: T.Type, from base: any Decoder) throws -> T {
        if T.self is any FreeFormJSON.Type { return try T(from: base) }
        let log = AuditLog()
        let value = try T(from: StrictDecoder(base: base, log: log))
        for audit in log.audits { try audit.check() }
        return value
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        let audit = KeyAudit(try base.container(keyedBy: AnyCodingKey.self))
        log.audits.append(audit)
        return KeyedDecodingContainer(
            StrictKeyedContainer(base: try base.container(keyedBy: Key.self), audit: audit, log: log))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        StrictUnkeyedContainer(base: try base.unkeyedContainer(), log: log)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        StrictSingleValueContainer(base: try base.singleValueContainer(), decoder: base)
    }
}

private struct StrictKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let base: KeyedDecodingContainer<Key>
    let audit: KeyAudit
    let log: AuditLog

    var codingPath: [any CodingKey] { base.codingPath }
    var allKeys: [Key] { base.allKeys }

    private func reading<T>(_ key: Key, _ body: () throws -> T) rethrows -> T {
        audit.read.insert(key.stringValue)
        return try body()
    }

    /// JSONDecoder reports a number that is no whole number (`"k": 1.5`) or does not fit as
    /// invalid JSON, without saying where; this says what and where.
    private func integer<T: FixedWidthInteger>(_ key: Key, _ body: () throws -> T) throws -> T {
        try reading(key) {
            do {
                return try body()
            } catch let error as DecodingError {
                guard case .dataCorrupted = error else { throw error }
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: codingPath + [key],
                        debugDescription: "expected a whole number from \(T.min) to \(T.max)"))
            } catch {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: codingPath + [key],
                        debugDescription: "expected a whole number from \(T.min) to \(T.max)"))
            }
        }
    }

    func contains(_ key: Key) -> Bool { reading(key) { base.contains(key) } }
    func decodeNil(forKey key: Key) throws -> Bool { try reading(key) { try base.decodeNil(forKey: key) } }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try reading(key) { try base.decode(type, forKey: key) }
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try reading(key) { try base.decode(type, forKey: key) }
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try reading(key) { try base.decode(type, forKey: key) }
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        try reading(key) { try base.decode(type, forKey: key) }
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        try integer(key) { try base.decode(type, forKey: key) }
    }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 {
        try integer(key) { try base.decode(type, forKey: key) }
    }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
        try integer(key) { try base.decode(type, forKey: key) }
    }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
        try integer(key) { try base.decode(type, forKey: key) }
    }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
        try integer(key) { try base.decode(type, forKey: key) }
    }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt {
        try integer(key) { try base.decode(type, forKey: key) }
    }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
        try integer(key) { try base.decode(type, forKey: key) }
    }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
        try integer(key) { try base.decode(type, forKey: key) }
    }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
        try integer(key) { try base.decode(type, forKey: key) }
    }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
        try integer(key) { try base.decode(type, forKey: key) }
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try reading(key) {
            if T.self is any FreeFormJSON.Type { return try base.decode(type, forKey: key) }
            // Through superDecoder a missing key would read as null; keep JSONDecoder's error.
            guard base.contains(key) else {
                throw DecodingError.keyNotFound(
                    key, .init(codingPath: codingPath, debugDescription: "no value for \(key.stringValue)"))
            }
            return try StrictDecoder.decode(type, from: base.superDecoder(forKey: key))
        }
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try reading(key) { try StrictDecoder(base: base.superDecoder(forKey: key), log: log).container(keyedBy: type) }
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try reading(key) { StrictUnkeyedContainer(base: try base.nestedUnkeyedContainer(forKey: key), log: log) }
    }

    func superDecoder() throws -> any Decoder { StrictDecoder(base: try base.superDecoder(), log: log) }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        try reading(key) { StrictDecoder(base: try base.superDecoder(forKey: key), log: log) }
    }
}

private struct StrictUnkeyedContainer: UnkeyedDecodingContainer {
    var base: any UnkeyedDecodingContainer
    let log: AuditLog

    var codingPath: [any CodingKey] { base.codingPath }
    var count: Int? { base.count }
    var isAtEnd: Bool { base.isAtEnd }
    var currentIndex: Int { base.currentIndex }

    mutating func decodeNil() throws -> Bool { try base.decodeNil() }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try base.decode(type) }
    mutating func decode(_ type: String.Type) throws -> String { try base.decode(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try base.decode(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try base.decode(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try base.decode(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try base.decode(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try base.decode(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try base.decode(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try base.decode(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try base.decode(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try base.decode(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try base.decode(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try base.decode(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try base.decode(type) }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self is any FreeFormJSON.Type { return try base.decode(type) }
        return try StrictDecoder.decode(type, from: base.superDecoder())
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<
        NestedKey
    > {
        try StrictDecoder(base: base.superDecoder(), log: log).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        StrictUnkeyedContainer(base: try base.nestedUnkeyedContainer(), log: log)
    }

    mutating func superDecoder() throws -> any Decoder { StrictDecoder(base: try base.superDecoder(), log: log) }
}

private struct StrictSingleValueContainer: SingleValueDecodingContainer {
    let base: any SingleValueDecodingContainer
    /// The decoder the container came from, to decode a model it holds strictly.
    let decoder: any Decoder

    var codingPath: [any CodingKey] { base.codingPath }

    func decodeNil() -> Bool { base.decodeNil() }
    func decode(_ type: Bool.Type) throws -> Bool { try base.decode(type) }
    func decode(_ type: String.Type) throws -> String { try base.decode(type) }
    func decode(_ type: Double.Type) throws -> Double { try base.decode(type) }
    func decode(_ type: Float.Type) throws -> Float { try base.decode(type) }
    func decode(_ type: Int.Type) throws -> Int { try base.decode(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try base.decode(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try base.decode(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try base.decode(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try base.decode(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try base.decode(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try base.decode(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try base.decode(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try base.decode(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try base.decode(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self is any FreeFormJSON.Type { return try base.decode(type) }
        return try StrictDecoder.decode(type, from: decoder)
    }
}
