/// How vectors are written and read: stored as little-endian float32 blobs of 4 × dim bytes,
/// accepted as such blobs or as text literals `'[0.1, 0.2, …]'` (a JSON array of numbers).
public enum VectorCodec {
    /// A stored value that is not in canonical form (written by a tool that bypassed Quiver):
    /// parsed as a literal or raw blob and checked against `dimension`. Errors name `place`
    /// (e.g. `docs.embedding`) and the row.
    public static func parseStored(_ value: SQLValue, dimension: Int, place: String, rowid: Int64) throws -> [Float] {
        let parsed: [Float]
        do {
            switch value {
            case .text(let text): parsed = try parse(text)
            case .blob(let raw): parsed = try raw.withUnsafeBytes { (b) throws(Problem) in try decode(b) }
            default: throw Problem("a \(value) is not a vector")
            }
        } catch {
            throw SQLiteError(
                .invalidStoredValue("\(place) in row with rowid \(rowid) holds an invalid vector: \(error)"))
        }
        guard parsed.count == dimension else {
            throw SQLiteError(
                .invalidStoredValue(
                    "\(place) in row with rowid \(rowid) has \(parsed.count) dimensions, expected \(dimension)"))
        }
        return parsed
    }

    /// What is wrong with a vector value, phrased to follow "invalid vector …: ".
    public struct Problem: Error, CustomStringConvertible, Equatable {
        public var message: String
        /// Byte offset in the parsed text where parsing stopped, when the problem is the text's.
        public var position: Int?
        public init(_ message: String, at position: Int? = nil) {
            self.message = message
            self.position = position
        }
        public var description: String { message }
    }

    public static let maximumDimension = 16_000

    /// Parses `[1, 2.5, -3e-2]`. Elements must be finite and fit in float32.
    public static func parse(_ text: String) throws(Problem) -> [Float] {
        var utf8 = Array(text.utf8)
        // The parser stops at a NUL sentinel, so a NUL inside would hide what follows it.
        if let nul = utf8.firstIndex(of: 0) {
            throw Problem("a vector literal cannot hold a NUL character (byte \(nul))", at: nul)
        }
        utf8.append(0)
        var values: [Float] = []
        var i = 0
        func skipSpace() { while utf8[i] == 0x20 || utf8[i] == 0x09 || utf8[i] == 0x0A || utf8[i] == 0x0D { i += 1 } }
        skipSpace()
        guard utf8[i] == UInt8(ascii: "[") else {
            throw Problem("expected a vector literal like '[1, 2, 3]' but found \(preview(text))", at: i)
        }
        i += 1
        skipSpace()
        if utf8[i] == UInt8(ascii: "]") {
            throw Problem("a vector needs at least one element", at: i)
        }
        while true {
            skipSpace()
            let start = i
            while utf8[i] != 0, !isDelimiter(utf8[i]) { i += 1 }
            let token = String(decoding: utf8[start..<i], as: UTF8.self)
            let element = values.count + 1
            guard isJSONNumber(token), let value = Float(token) else {
                let bad = token
                if bad.lowercased().contains("nan") { throw Problem("element \(element) is NaN", at: start) }
                if bad.lowercased().contains("inf") { throw Problem("element \(element) is infinite", at: start) }
                throw Problem(
                    "element \(element) is not a number: \(preview(bad.isEmpty ? "(nothing)" : bad))", at: start)
            }
            guard value.isFinite else {
                throw Problem("element \(element) (\(token)) is out of float32 range", at: start)
            }
            // Rounding to float32 is what storing a vector means, but a number that vanishes
            // altogether (1e-50) is data lost, not rounded: refused rather than stored as 0.
            guard value != 0 || !hasNonZeroDigit(token) else {
                throw Problem(
                    "element \(element) (\(token)) is too small for float32 and would become 0 (the smallest float32 magnitude is about 1.4e-45); write 0 if 0 is meant",
                    at: start)
            }
            values.append(value)
            skipSpace()
            if utf8[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            if utf8[i] == UInt8(ascii: "]") {
                i += 1
                break
            }
            throw Problem(
                utf8[i] == 0
                    ? "missing ']' at the end of the vector"
                    : "expected ',' or ']' after element \(element)", at: i)
        }
        skipSpace()
        guard utf8[i] == 0 else { throw Problem("unexpected text after ']'", at: i) }
        guard values.count <= maximumDimension else {
            throw Problem("\(values.count) elements exceed the maximum of \(maximumDimension)")
        }
        return values
    }

    /// Reads a stored or bound blob of float32 values, checking length and finiteness.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(Problem) -> [Float] {
        guard bytes.count % 4 == 0, bytes.count > 0 else {
            throw Problem(
                "a blob of \(bytes.count) bytes is not a float32 vector (length must be a positive multiple of 4)")
        }
        let count = bytes.count / 4
        guard count <= maximumDimension else {
            throw Problem(
                "a blob of \(bytes.count) bytes holds \(count) float32 elements, more than the maximum of \(maximumDimension)"
            )
        }
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBytes { $0.copyMemory(from: bytes) }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw Problem("element \(bad + 1) is \(values[bad].isNaN ? "NaN" : "infinite")")
        }
        return values
    }

    /// True when `bytes` is already a valid stored vector of `dimension` elements.
    public static func isCanonical(_ bytes: UnsafeRawBufferPointer, dimension: Int) -> Bool {
        guard bytes.count == dimension * 4 else { return false }
        for i in 0..<dimension where !bytes.loadUnaligned(fromByteOffset: i * 4, as: Float.self).isFinite {
            return false
        }
        return true
    }

    /// `[0.1, 0.2]`, each element printed so that it parses back to the same float32.
    public static func format(_ values: [Float]) -> String {
        "[" + values.map { formatElement($0) }.joined(separator: ",") + "]"
    }

    static func formatElement(_ value: Float) -> String {
        let text = "\(value)"
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }

    private static func isDelimiter(_ b: UInt8) -> Bool {
        b == UInt8(ascii: ",") || b == UInt8(ascii: "]") || b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D
    }

    /// Float() also accepts hex floats, "nan" and "inf"; vector literals take decimal numbers only.
    private static func isJSONNumber(_ token: String) -> Bool {
        token.utf8.contains { $0 >= 0x30 && $0 <= 0x39 }
            && token.utf8.allSatisfy {
                ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+")
                    || $0 == UInt8(ascii: ".")
                    || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E")
            }
    }

    /// Whether the significand of a decimal number has a digit other than 0 (`1e-50` does).
    private static func hasNonZeroDigit(_ token: String) -> Bool {
        token.utf8.prefix { $0 != UInt8(ascii: "e") && $0 != UInt8(ascii: "E") }.contains { $0 >= 0x31 && $0 <= 0x39 }
    }

    private static func preview(_ text: String) -> String {
        let short = text.count > 40 ? String(text.prefix(40)) + "…" : text
        return "'\(short)'"
    }
}

extension String {
    /// Without leading and trailing whitespace (Foundation-free).
    public func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s = s.dropFirst() }
        while s.last?.isWhitespace == true { s = s.dropLast() }
        return String(s)
    }
}
