/// A value read from or bound to SQLite, plus the one type Quiver adds: vectors.
public enum SQLValue: Sendable, Equatable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    /// A value of a `VECTOR(n)` column (stored as a float32 blob) as seen by readers.
    case vector([Float])

    public var isNull: Bool { self == .null }

    public var integerValue: Int64? {
        switch self {
        case .integer(let v): v
        case .real(let v) where v == v.rounded() && abs(v) < 9.2e18: Int64(v)
        default: nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .integer(let v): Double(v)
        case .real(let v): v
        default: nil
        }
    }

    public var textValue: String? {
        if case .text(let v) = self { return v }
        return nil
    }

    public var vectorValue: [Float]? {
        if case .vector(let v) = self { return v }
        return nil
    }
}

extension SQLValue: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral,
    ExpressibleByNilLiteral
{
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .real(value) }
    public init(stringLiteral value: String) { self = .text(value) }
    public init(nilLiteral: ()) { self = .null }
}

/// Values for the parameters of a statement: positional (`?`, `?NNN`) and named (`:name`, `@name`, `$name`).
public struct SQLBindings: Sendable, Equatable {
    public var positional: [SQLValue]
    /// Keyed by name without its prefix character.
    public var named: [String: SQLValue]

    public init(_ positional: [SQLValue] = [], named: [String: SQLValue] = [:]) {
        self.positional = positional
        self.named = named
    }

    public static let none = SQLBindings()

    /// The value for parameter `index` (1-based) whose SQL spelling is `name` (nil for `?`).
    public func value(index: Int, name: String?) -> SQLValue? {
        if let name, let first = name.first, first != "?" {
            return named[String(name.dropFirst())]
        }
        return index >= 1 && index <= positional.count ? positional[index - 1] : nil
    }
}
