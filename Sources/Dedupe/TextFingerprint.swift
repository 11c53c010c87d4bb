import Foundation

/// The normalized form of a text and its 64-bit fingerprint: what "the same text" means for
/// exact deduplication (`DEDUPE … EXACT`, `quiver import --dedupe exact`).
///
/// Normalization, in order:
/// 1. Unicode NFKC, so compatibility forms compare equal to their plain forms: full-width and
///    half-width letters, digits and punctuation (`，` and `,`, `ｈｅｌｌｏ` and `hello`, `｡` and
///    `。`), ligatures, the ideographic space.
/// 2. Case folding (Unicode lowercase mapping, locale-independent).
/// 3. Whitespace folding: every run of Unicode white space (line breaks included) becomes one
///    space, and leading and trailing white space is dropped.
///
/// The fingerprint is 64-bit FNV-1a over the UTF-8 of the normalized text: stable across
/// processes, machines and releases (store it freely). Two different normalized texts share a
/// fingerprint with probability about 2⁻⁶⁴ per pair; callers that must be exact compare the
/// normalized texts of rows whose fingerprints match, as `DEDUPE … EXACT` does.
public struct TextFingerprint: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64

    /// The fingerprint of `text` after normalization.
    public init(_ text: String) { self.init(normalized: TextFingerprint.normalize(text)) }

    /// The fingerprint of a text that is already normalized (see `normalize`).
    public init(normalized: String) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in normalized.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        value = hash
    }

    /// Sixteen lowercase hexadecimal digits.
    public var description: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// NFKC, case-folded, whitespace-folded `text`.
    public static func normalize(_ text: String) -> String {
        var contiguous = text
        if let ascii = contiguous.withUTF8({ normalizeASCII($0) }) { return ascii }
        // Lowercasing can produce characters that NFKC would compose differently, so it sits
        // between two normalizations.
        let folded = text.precomposedStringWithCompatibilityMapping.lowercased()
            .precomposedStringWithCompatibilityMapping
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in folded.unicodeScalars {
            let isSpace = scalar.value < 0x80 ? isASCIISpace(UInt8(scalar.value)) : scalar.properties.isWhitespace
            if isSpace {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace {
                out.append(" ")
                pendingSpace = false
            }
            out.append(scalar)
        }
        return String(out)
    }

    /// The ASCII characters with Unicode's White_Space property: tab, line feed, vertical tab,
    /// form feed, carriage return and space.
    @inline(__always) static func isASCIISpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }

    /// The same normalization for pure ASCII text (most English text), where NFKC changes
    /// nothing: byte operations, no Unicode tables. Nil when the text is not ASCII.
    static func normalizeASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var pendingSpace = false
        for b in bytes {
            if b >= 0x80 { return nil }
            if isASCIISpace(b) {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace {
                out.append(0x20)
                pendingSpace = false
            }
            out.append(b >= 0x41 && b <= 0x5A ? b | 0x20 : b)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
