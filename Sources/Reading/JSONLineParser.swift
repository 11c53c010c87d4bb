import Foundation

/// A JSON syntax error at a 1-based column (counted in bytes) of one line.
struct JSONSyntaxError: Error, CustomStringConvertible {
    var column: Int
    var problem: String
    var description: String { "bad JSON at column \(column): \(problem)" }
}

/// Parses one JSON object per line into fields.
///
/// Hand-written rather than Foundation's JSONSerialization because import needs what that does
/// not give: the column of a syntax error, arrays of numbers parsed straight to Float (with
/// strtof, so a Float written in its shortest form reads back bit for bit), and keys in file
/// order; and because it runs once per input line, several times faster than going through
/// NSDictionary and NSNumber.
struct JSONLineParser {
    private let bytes: UnsafeRawBufferPointer // followed in memory by a NUL byte
    private var position = 0

    /// `line` must be followed in memory by a NUL byte (LineReader guarantees it).
    static func parseObject(_ line: UnsafeRawBufferPointer) throws(JSONSyntaxError) -> [(
        name: String, value: FieldValue
    )] {
        var parser = JSONLineParser(bytes: line)
        return try parser.topLevelObject()
    }

    private init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    private var current: UInt8 { position < bytes.count ? bytes[position] : 0 }

    private func fail(_ problem: String) -> JSONSyntaxError {
        JSONSyntaxError(column: position + 1, problem: problem)
    }

    private mutating func skipSpace() {
        while position < bytes.count,
            bytes[position] == 0x20 || bytes[position] == 0x09 || bytes[position] == 0x0D || bytes[position] == 0x0A
        {
            position += 1
        }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(JSONSyntaxError) {
        skipSpace()
        guard current == byte else { throw fail("expected \(what), found \(found())") }
        position += 1
    }

    private func found() -> String {
        guard position < bytes.count else { return "end of line" }
        let byte = bytes[position]
        return byte >= 0x20 && byte < 0x7F
            ? "'\(Character(Unicode.Scalar(byte)))'" : String(format: "byte 0x%02X", byte)
    }

    private mutating func topLevelObject() throws(JSONSyntaxError) -> [(name: String, value: FieldValue)] {
        // A UTF-8 byte-order mark, as some editors write at the start of a file.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { position = 3 }
        skipSpace()
        guard current == UInt8(ascii: "{") else {
            throw fail(position < bytes.count ? "expected an object ('{') per line, found \(found())" : "empty line")
        }
        position += 1
        var fields: [(name: String, value: FieldValue)] = []
        skipSpace()
        if current == UInt8(ascii: "}") {
            position += 1
        } else {
            while true {
                skipSpace()
                guard current == UInt8(ascii: "\"") else {
                    throw fail("expected a field name in quotes, found \(found())")
                }
                let keyStart = position
                let name = try string()
                if fields.contains(where: { $0.name == name }) {
                    position = keyStart
                    throw fail("field \"\(name)\" appears twice")
                }
                try expect(UInt8(ascii: ":"), "':' after the field name")
                skipSpace()
                fields.append((name, try value()))
                skipSpace()
                if current == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                if current == UInt8(ascii: "}") {
                    position += 1
                    break
                }
                throw fail("expected ',' or '}', found \(found())")
            }
        }
        skipSpace()
        guard position == bytes.count else { throw fail("unexpected \(found()) after the object") }
        return fields
    }

    private mutating func value() throws(JSONSyntaxError) -> FieldValue {
        switch current {
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let start = position
            if current == UInt8(ascii: "["), let numbers = try numberArray() {
                return .numbers(numbers, raw: text(from: start))
            }
            position = start
            try skipValue()
            return .json(text(from: start))
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "N"), UInt8(ascii: "I"):
            if let special = nonFinite() { return .real(Double(special)) }
            return try number()
        default: throw fail("expected a value, found \(found())")
        }
    }

    /// Python's json module writes NaN, Infinity and -Infinity; read them so that the
    /// error names the value ("NaN at element 3") instead of calling the line malformed.
    private mutating func nonFinite() -> Float? {
        for (word, value) in [("NaN", Float.nan), ("Infinity", Float.infinity), ("-Infinity", -Float.infinity)] {
            let count = word.utf8.count
            if position + count <= bytes.count,
                word.utf8.elementsEqual(UnsafeRawBufferPointer(rebasing: bytes[position..<position + count]))
            {
                position += count
                return value
            }
        }
        return nil
    }

    private func text(from start: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    }

    private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count,
            memcmp(bytes.baseAddress! + position, word.utf8Start, count) == 0
        else {
            throw fail("expected a value, found \(found())")
        }
        position += count
    }

    /// Checks the JSON number grammar from `position`; returns its end and whether it is integral.
    private func scanNumber() throws(JSONSyntaxError) -> (end: Int, integral: Bool) {
        var i = position
        func digit(_ at: Int) -> Bool { at < bytes.count && bytes[at] >= 0x30 && bytes[at] <= 0x39 }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard digit(i) else { throw JSONSyntaxError(column: i + 1, problem: "malformed number") }
        if bytes[i] == UInt8(ascii: "0") { i += 1 } else { while digit(i) { i += 1 } }
        var integral = true
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            integral = false
            i += 1
            guard digit(i) else {
                throw JSONSyntaxError(column: i + 1, problem: "malformed number: digits must follow '.'")
            }
            while digit(i) { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            integral = false
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digit(i) else {
                throw JSONSyntaxError(column: i + 1, problem: "malformed number: digits must follow the exponent")
            }
            while digit(i) { i += 1 }
        }
        return (i, integral)
    }

    private mutating func number() throws(JSONSyntaxError) -> FieldValue {
        let (end, integral) = try scanNumber()
        let start = bytes.baseAddress!.assumingMemoryBound(to: CChar.self) + position
        defer { position = end }
        if integral {
            errno = 0
            let value = strtoll(start, nil, 10)
            if errno != ERANGE { return .integer(Int64(value)) }
        }
        return .real(strtod(start, nil))
    }

    /// An array of numbers only, as Floats; nil (position unspecified) when it holds anything else.
    private mutating func numberArray() throws(JSONSyntaxError) -> [Float]? {
        position += 1
        var values: [Float] = []
        values.reserveCapacity(512)
        skipSpace()
        if current == UInt8(ascii: "]") {
            position += 1
            return values
        }
        while true {
            skipSpace()
            if let special = nonFinite() {
                values.append(special)
            } else {
                guard current == UInt8(ascii: "-") || (current >= 0x30 && current <= 0x39) else { return nil }
                let (end, _) = try scanNumber()
                let value = strtof(bytes.baseAddress!.assumingMemoryBound(to: CChar.self) + position, nil)
                // A non-zero number that float32 turns into 0 (1e-50) would be data lost, not
                // rounded: the array is left to the vector check, which says which element.
                if value == 0 && significandHasNonZeroDigit(position..<end) { return nil }
                values.append(value)
                position = end
            }
            skipSpace()
            if current == UInt8(ascii: ",") {
                position += 1
                continue
            }
            if current == UInt8(ascii: "]") {
                position += 1
                return values
            }
            throw fail("expected ',' or ']', found \(found())")
        }
    }

    /// Whether the digits before any exponent include one other than 0 (`1e-50` does, `0.0e5` not).
    private func significandHasNonZeroDigit(_ range: Range<Int>) -> Bool {
        for index in range {
            let byte = bytes[index]
            if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") { return false }
            if byte >= UInt8(ascii: "1") && byte <= UInt8(ascii: "9") { return true }
        }
        return false
    }

    /// Skips any value (validating it), for arrays and objects kept as text.
    private mutating func skipValue(depth: Int = 0) throws(JSONSyntaxError) {
        guard depth < 512 else { throw fail("nested more than 512 levels deep") }
        skipSpace()
        switch current {
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "{"):
            position += 1
            skipSpace()
            if current == UInt8(ascii: "}") {
                position += 1
                return
            }
            while true {
                skipSpace()
                guard current == UInt8(ascii: "\"") else {
                    throw fail("expected a field name in quotes, found \(found())")
                }
                _ = try string()
                try expect(UInt8(ascii: ":"), "':'")
                try skipValue(depth: depth + 1)
                skipSpace()
                if current == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                if current == UInt8(ascii: "}") {
                    position += 1
                    return
                }
                throw fail("expected ',' or '}', found \(found())")
            }
        case UInt8(ascii: "["):
            position += 1
            skipSpace()
            if current == UInt8(ascii: "]") {
                position += 1
                return
            }
            while true {
                try skipValue(depth: depth + 1)
                skipSpace()
                if current == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                if current == UInt8(ascii: "]") {
                    position += 1
                    return
                }
                throw fail("expected ',' or ']', found \(found())")
            }
        default: _ = try value()
        }
    }

    private mutating func string() throws(JSONSyntaxError) -> String {
        let open = position
        position += 1
        let start = position
        // Fast path: no escapes.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<position])
                position += 1
                guard let text = String(validating: raw, as: UTF8.self) else {
                    position = open
                    throw fail("string is not valid UTF-8")
                }
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 {
                throw fail("control character \(String(format: "0x%02X", byte)) inside a string (must be escaped)")
            }
            position += 1
        }
        // Slow path: unescape into a byte buffer.
        var out = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[start..<position]))
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                guard let text = String(validating: out, as: UTF8.self) else {
                    position = open
                    throw fail("string is not valid UTF-8")
                }
                return text
            case UInt8(ascii: "\\"):
                position += 1
                guard position < bytes.count else { break }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                            bytes[position + 1] == UInt8(ascii: "u")
                        else {
                            throw fail("unpaired UTF-16 surrogate in \\u escape")
                        }
                        position += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else {
                            throw fail("unpaired UTF-16 surrogate in \\u escape")
                        }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw fail("unpaired UTF-16 surrogate in \\u escape")
                    }
                    out.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
                default:
                    position -= 1
                    throw fail("unknown escape '\\\(Character(Unicode.Scalar(escape)))'")
                }
            default:
                if byte < 0x20 {
                    throw fail("control character \(String(format: "0x%02X", byte)) inside a string (must be escaped)")
                }
                out.append(byte)
                position += 1
            }
        }
        position = open
        throw fail("string is not closed")
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw fail("\\u needs four hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw fail("\\u needs four hex digits")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }
}
