import CLZ4

/// LZ4 compression for `TEXT COMPRESSED` columns.
///
/// A compressed value is a blob: the 4-byte magic `QLZ1`, the text's UTF-8 length as a little-endian
/// UInt32, then one LZ4 block. Short or incompressible texts stay plain text, so readers must accept
/// both; `decompress` returns nil for anything that is not a compressed value.
public enum TextCompression {
    static let magic: [UInt8] = [0x51, 0x4C, 0x5A, 0x31] // "QLZ1"
    static let headerSize = 8
    /// Below this, the header and LZ4's framing cost more than they save.
    public static let minimumLength = 64

    public struct CorruptValue: Error, CustomStringConvertible {
        public var description: String
    }

    /// The compressed form, or nil when compression would not make the value smaller.
    public static func compress(_ text: String) -> [UInt8]? {
        var utf8 = Array(text.utf8)
        let length = utf8.count
        guard length >= minimumLength, length < Int(Int32.max) else { return nil }
        let bound = Int(LZ4_compressBound(Int32(length)))
        var out = [UInt8](repeating: 0, count: headerSize + bound)
        let written = utf8.withUnsafeMutableBytes { src in
            out.withUnsafeMutableBytes { dst in
                LZ4_compress_default(
                    src.baseAddress!.assumingMemoryBound(to: CChar.self),
                    (dst.baseAddress! + headerSize).assumingMemoryBound(to: CChar.self),
                    Int32(length), Int32(bound))
            }
        }
        guard written > 0, Int(written) + headerSize < length else { return nil }
        out.replaceSubrange(0..<4, with: magic)
        withUnsafeBytes(of: UInt32(length).littleEndian) { out.replaceSubrange(4..<8, with: $0) }
        out.removeLast(out.count - headerSize - Int(written))
        return out
    }

    public static func isCompressed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= headerSize && bytes[0] == magic[0] && bytes[1] == magic[1] && bytes[2] == magic[2]
            && bytes[3] == magic[3]
    }

    /// The original text, nil when `bytes` is not a compressed value; throws when it is but is damaged.
    public static func decompress(_ bytes: UnsafeRawBufferPointer) throws(CorruptValue) -> String? {
        guard isCompressed(bytes) else { return nil }
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        guard length <= 1 << 30 else { throw CorruptValue(description: "compressed text claims \(length) bytes") }
        var decoded = [UInt8](repeating: 0, count: length)
        let n = decoded.withUnsafeMutableBytes { out in
            LZ4_decompress_safe(
                (bytes.baseAddress! + headerSize).assumingMemoryBound(to: CChar.self),
                out.baseAddress?.assumingMemoryBound(to: CChar.self),
                Int32(bytes.count - headerSize), Int32(length))
        }
        guard n == Int32(length) else {
            throw CorruptValue(
                description:
                    "compressed text is damaged (its LZ4 block does not decode to the \(length) bytes its header states)"
            )
        }
        // Repairing bad UTF-8 would hand out different text without a word.
        guard let text = String(validating: decoded, as: UTF8.self) else {
            throw CorruptValue(description: "compressed text is damaged (it decodes to bytes that are not UTF-8)")
        }
        return text
    }

    /// Why `bytes` is not a value a `TEXT COMPRESSED` column may hold as a blob, or nil when it
    /// is one: a QLZ1 frame whose block decodes to valid UTF-8 of the stated length.
    public static func problem(with bytes: UnsafeRawBufferPointer) -> String? {
        guard isCompressed(bytes) else { return "a blob that is not compressed text (no QLZ1 header)" }
        do {
            _ = try decompress(bytes)
            return nil
        } catch {
            return error.description
        }
    }

    public static func decompress(_ bytes: [UInt8]) throws(CorruptValue) -> String? {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(CorruptValue) in try decompress(raw) } }
        return try result.get()
    }
}
