/// The subset of Python literal syntax that numpy writes in a `.npy` header
/// (`{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`), parsed without
/// evaluating anything. Input is untrusted bytes, so every read is bounds-checked and
/// nesting depth is limited.
indirect enum PythonLiteral: Equatable {
    case string(String)
    case integer(Int)
    case bool(Bool)
    case none
    /// Tuples and lists; the header does not need to tell them apart.
    case sequence([PythonLiteral])
    case dict([String: PythonLiteral])

    struct ParseError: Error {
        let message: String
    }

    /// Parses `bytes` as exactly one literal followed by optional whitespace.
    /// `utf8` selects how string bytes are decoded: UTF-8 (format 3.0) or Latin-1 (1.0, 2.0).
    static func parse(_ bytes: [UInt8], utf8: Bool) throws(ParseError) -> PythonLiteral {
        var parser = Parser(bytes: bytes, utf8: utf8)
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.index == bytes.count else { throw parser.error("unexpected text after the dictionary") }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        let utf8: Bool
        var index = 0
        static let maxDepth = 16

        init(bytes: [UInt8], utf8: Bool) {
            self.bytes = bytes
            self.utf8 = utf8
        }

        func error(_ message: String) -> ParseError {
            ParseError(message: "\(message) at offset \(index)")
        }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while let b = current, b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { index += 1 }
        }

        mutating func value(depth: Int) throws(ParseError) -> PythonLiteral {
            guard depth < Self.maxDepth else { throw error("nesting too deep") }
            skipSpace()
            guard let b = current else { throw error("unexpected end of header") }
            switch b {
            case UInt8(ascii: "{"): return try dict(depth: depth)
            case UInt8(ascii: "("): return .sequence(try sequence(closing: UInt8(ascii: ")"), depth: depth))
            case UInt8(ascii: "["): return .sequence(try sequence(closing: UInt8(ascii: "]"), depth: depth))
            case UInt8(ascii: "'"), UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return .integer(try integer())
            default: return try word()
            }
        }

        mutating func dict(depth: Int) throws(ParseError) -> PythonLiteral {
            index += 1 // "{"
            var entries: [String: PythonLiteral] = [:]
            while true {
                skipSpace()
                if current == UInt8(ascii: "}") {
                    index += 1
                    return .dict(entries)
                }
                guard case .string(let key) = try value(depth: depth + 1) else {
                    throw error("dictionary key is not a string")
                }
                skipSpace()
                guard current == UInt8(ascii: ":") else { throw error("expected ':'") }
                index += 1
                entries[key] = try value(depth: depth + 1)
                skipSpace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard current == UInt8(ascii: "}") else { throw error("expected ',' or '}'") }
            }
        }

        mutating func sequence(closing: UInt8, depth: Int) throws(ParseError) -> [PythonLiteral] {
            index += 1 // "(" or "["
            var items: [PythonLiteral] = []
            while true {
                skipSpace()
                if current == closing {
                    index += 1
                    return items
                }
                items.append(try value(depth: depth + 1))
                skipSpace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard current == closing else { throw error("expected ',' or '\(Character(Unicode.Scalar(closing)))'") }
            }
        }

        mutating func string() throws(ParseError) -> String {
            let quote = bytes[index]
            index += 1
            var content: [UInt8] = []
            while let b = current {
                index += 1
                if b == quote {
                    return utf8
                        ? String(decoding: content, as: UTF8.self)
                        : String(String.UnicodeScalarView(content.map { Unicode.Scalar($0) }))
                }
                if b == UInt8(ascii: "\\") {
                    // Only `\\` and quote escapes occur in dtype names; keep the next byte as is.
                    guard let escaped = current else { break }
                    content.append(escaped)
                    index += 1
                } else {
                    content.append(b)
                }
            }
            throw error("unterminated string")
        }

        mutating func integer() throws(ParseError) -> Int {
            var negative = false
            if let b = current, b == UInt8(ascii: "-") || b == UInt8(ascii: "+") {
                negative = b == UInt8(ascii: "-")
                index += 1
            }
            var result = 0
            var digits = 0
            while let b = current, b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") {
                let (times10, o1) = result.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(Int(b - UInt8(ascii: "0")))
                guard !o1, !o2 else { throw error("integer too large") }
                result = sum
                digits += 1
                index += 1
            }
            guard digits > 0 else { throw error("expected a digit") }
            // Headers written by Python 2 spell longs as `3L`.
            if current == UInt8(ascii: "L") || current == UInt8(ascii: "l") { index += 1 }
            return negative ? -result : result
        }

        mutating func word() throws(ParseError) -> PythonLiteral {
            let start = index
            while let b = current,
                (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z")) || (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z"))
            {
                index += 1
            }
            switch String(decoding: bytes[start..<index], as: UTF8.self) {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            default:
                index = start
                throw error("unexpected character")
            }
        }
    }
}
