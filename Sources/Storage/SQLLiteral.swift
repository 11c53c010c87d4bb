extension SQLValue {
    /// SQL text that SQLite reads back as this value, with its type: for a script that carries
    /// its values written in (the shell's `.import` over a server, where each request is one
    /// script). Infinities are 9e999 (SQLite's overflowing literal), NaN is NULL as SQLite would
    /// store it, text holding a NUL is a blob cast to text (a text literal cannot hold one), and
    /// a vector is its float32 blob, as a VECTOR column stores it.
    public var sqlLiteral: String {
        switch self {
        case .null: "NULL"
        case .integer(let v): String(v)
        case .real(let v) where v.isNaN: "NULL"
        case .real(let v) where v.isInfinite: v < 0 ? "-9e999" : "9e999"
        case .real(let v): "\(v)" // shortest text that reads back as v, always with "." or "e"
        case .text(let s) where s.utf8.contains(0): "CAST(\(Self.blobLiteral(Array(s.utf8))) AS TEXT)"
        case .text(let s): quoteLiteral(s)
        case .blob(let bytes): Self.blobLiteral(bytes)
        case .vector(let floats): floats.withUnsafeBytes { Self.blobLiteral(Array($0)) }
        }
    }

    private static func blobLiteral(_ bytes: [UInt8]) -> String {
        let digits: [UInt8] = Array("0123456789ABCDEF".utf8)
        var text = [UInt8]("X'".utf8)
        text.reserveCapacity(bytes.count * 2 + 3)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        text.append(UInt8(ascii: "'"))
        return String(decoding: text, as: UTF8.self)
    }
}
