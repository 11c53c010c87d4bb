/// What Quiver makes of a column's declared type. SQLite keeps the declared type verbatim, so
/// `VECTOR(384)` and `TEXT COMPRESSED` need no catalog of their own: the schema is the catalog.
public enum ColumnKind: Sendable, Equatable {
    case plain
    /// `VECTOR(n)`: a float32 vector of n elements, stored as a 4·n-byte blob.
    case vector(dimension: Int)
    /// `TEXT COMPRESSED`: text stored as LZ4 blobs, read back as text.
    case compressedText

    public struct InvalidType: Error, CustomStringConvertible {
        public var description: String
    }

    /// Classifies a declared type; throws for a malformed `VECTOR` type.
    public init(declaredType: String) throws(InvalidType) {
        let words = declaredType.uppercased().split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        let joined = words.joined(separator: " ")
        if joined.hasPrefix("VECTOR") {
            let rest = joined.dropFirst("VECTOR".count).filter { $0 != " " }
            guard rest.hasPrefix("("), rest.hasSuffix(")"), let n = Int(rest.dropFirst().dropLast()) else {
                throw InvalidType(
                    description: "a VECTOR column needs its dimension, as in VECTOR(384); got '\(declaredType)'")
            }
            guard n >= 1, n <= VectorCodec.maximumDimension else {
                throw InvalidType(
                    description: "VECTOR dimension must be between 1 and \(VectorCodec.maximumDimension); got \(n)")
            }
            self = .vector(dimension: n)
        } else if words.count == 2, words[0] == "TEXT", words[1] == "COMPRESSED" {
            self = .compressedText
        } else {
            self = .plain
        }
    }

    public var vectorDimension: Int? {
        if case .vector(let n) = self { return n }
        return nil
    }
}
