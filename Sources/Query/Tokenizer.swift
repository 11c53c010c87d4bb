/// Splits SQL into tokens the way SQLite's own tokenizer does, plus pgvector's three distance
/// operators. Never fails: an unterminated string or quoted name runs to the end of the text and
/// SQLite reports it when the statement is prepared.
public enum Tokenizer {
    public static func tokenize(_ sql: String) -> [Token] {
        let bytes = Array(sql.utf8)
        var tokens: [Token] = []
        var i = 0
        func emit(_ kind: Token.Kind, _ start: Int) {
            tokens.append(Token(kind: kind, text: String(decoding: bytes[start..<i], as: UTF8.self), offset: start))
        }
        func at(_ j: Int) -> UInt8 { j < bytes.count ? bytes[j] : 0 }

        while i < bytes.count {
            let start = i
            let c = bytes[i]
            switch c {
            case 0x20, 0x09, 0x0A, 0x0D, 0x0C:
                while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D, 0x0C].contains(bytes[i]) { i += 1 }
                emit(.whitespace, start)
            case UInt8(ascii: "-") where at(i + 1) == UInt8(ascii: "-"):
                while i < bytes.count, bytes[i] != 0x0A { i += 1 }
                emit(.whitespace, start)
            case UInt8(ascii: "/") where at(i + 1) == UInt8(ascii: "*"):
                i += 2
                while i < bytes.count, !(bytes[i] == UInt8(ascii: "*") && at(i + 1) == UInt8(ascii: "/")) { i += 1 }
                i = min(i + 2, bytes.count)
                emit(.whitespace, start)
            case UInt8(ascii: "'"):
                i = endOfQuoted(bytes, from: i, quote: c)
                emit(.string, start)
            case UInt8(ascii: "\""), UInt8(ascii: "`"):
                i = endOfQuoted(bytes, from: i, quote: c)
                emit(.identifier, start)
            case UInt8(ascii: "["):
                while i < bytes.count, bytes[i] != UInt8(ascii: "]") { i += 1 }
                i = min(i + 1, bytes.count)
                emit(.identifier, start)
            case _ where c | 0x20 == UInt8(ascii: "x") && at(i + 1) == UInt8(ascii: "'"):
                i = endOfQuoted(bytes, from: i + 1, quote: UInt8(ascii: "'"))
                emit(.blob, start)
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                i = endOfNumber(bytes, from: i)
                emit(.number, start)
            case UInt8(ascii: ".") where isDigit(at(i + 1)):
                i = endOfNumber(bytes, from: i)
                emit(.number, start)
            case UInt8(ascii: "?"):
                i += 1
                while isDigit(at(i)) { i += 1 }
                emit(.parameter, start)
            case _
            where (c == UInt8(ascii: ":") || c == UInt8(ascii: "@") || c == UInt8(ascii: "$"))
                && isWordByte(at(i + 1)):
                i += 1
                while isWordByte(at(i)) { i += 1 }
                emit(.parameter, start)
            case UInt8(ascii: "<")
            where [UInt8(ascii: "-"), UInt8(ascii: "="), UInt8(ascii: "#")].contains(at(i + 1))
                && at(i + 2) == UInt8(ascii: ">"):
                i += 3
                emit(.vectorOperator, start)
            default:
                if isWordStart(c) {
                    while isWordByte(at(i)) { i += 1 }
                    emit(.identifier, start)
                } else {
                    i += operatorLength(bytes, at: i)
                    emit(.punctuation, start)
                }
            }
        }
        return tokens
    }

    private static func endOfQuoted(_ bytes: [UInt8], from start: Int, quote: UInt8) -> Int {
        var i = start + 1
        while i < bytes.count {
            if bytes[i] == quote {
                if i + 1 < bytes.count, bytes[i + 1] == quote {
                    i += 2
                    continue
                }
                return i + 1
            }
            i += 1
        }
        return bytes.count
    }

    private static func endOfNumber(_ bytes: [UInt8], from start: Int) -> Int {
        var i = start
        if bytes[i] == UInt8(ascii: "0"), i + 1 < bytes.count, bytes[i + 1] | 0x20 == UInt8(ascii: "x") {
            i += 2
            while i < bytes.count, isHexDigit(bytes[i]) { i += 1 }
            return i
        }
        while i < bytes.count, isDigit(bytes[i]) || bytes[i] == UInt8(ascii: ".") { i += 1 }
        if i < bytes.count, bytes[i] | 0x20 == UInt8(ascii: "e") {
            var j = i + 1
            if j < bytes.count, bytes[j] == UInt8(ascii: "+") || bytes[j] == UInt8(ascii: "-") { j += 1 }
            if j < bytes.count, isDigit(bytes[j]) {
                i = j
                while i < bytes.count, isDigit(bytes[i]) { i += 1 }
            }
        }
        return i
    }

    private static func operatorLength(_ bytes: [UInt8], at i: Int) -> Int {
        guard i + 1 < bytes.count else { return 1 }
        let pair = (bytes[i], bytes[i + 1])
        switch pair {
        case (UInt8(ascii: "-"), UInt8(ascii: ">")):
            return i + 2 < bytes.count && bytes[i + 2] == UInt8(ascii: ">") ? 3 : 2
        case (UInt8(ascii: "<"), UInt8(ascii: "=")), (UInt8(ascii: ">"), UInt8(ascii: "=")),
            (UInt8(ascii: "<"), UInt8(ascii: ">")), (UInt8(ascii: "!"), UInt8(ascii: "=")),
            (UInt8(ascii: "="), UInt8(ascii: "=")), (UInt8(ascii: "|"), UInt8(ascii: "|")),
            (UInt8(ascii: "<"), UInt8(ascii: "<")), (UInt8(ascii: ">"), UInt8(ascii: ">")),
            (UInt8(ascii: ":"), UInt8(ascii: ":")):
            return 2
        default:
            // A multi-byte UTF-8 character outside a word is one token.
            var n = 1
            while i + n < bytes.count, bytes[i + n] & 0xC0 == 0x80 { n += 1 }
            return n
        }
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    private static func isHexDigit(_ b: UInt8) -> Bool { isDigit(b) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x66) }
    private static func isWordStart(_ b: UInt8) -> Bool {
        (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b == UInt8(ascii: "_") || b >= 0x80
    }
    private static func isWordByte(_ b: UInt8) -> Bool { isWordStart(b) || isDigit(b) || b == UInt8(ascii: "$") }
}
