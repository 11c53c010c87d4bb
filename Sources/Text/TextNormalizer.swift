import Foundation

/// Text as full-text search compares it: NFKC, then case folding (`ＡＢＣ` and `abc` match,
/// `ß` matches `ss`, half-width katakana match full-width), each output scalar remembering the
/// bytes of the input it came from so that tokens can point back into the original text.
///
/// Han, kana, Hangul syllables and ASCII — nearly all of the text this store holds — are mapped
/// inline; other scalars go through Foundation's NFKC and folding once each and are cached, and
/// only a run with combining marks or conjoining jamo (which compose with the scalar before
/// them) is normalized as a whole.
package final class TextNormalizer {
    /// The normalized scalars of the last `normalize` call, with the input bytes each came from.
    package private(set) var scalars: [UInt32] = []
    package private(set) var sourceStart: [Int32] = []
    package private(set) var sourceEnd: [Int32] = []

    private var mapped: [UInt32: [UInt32]] = [:]

    package init() {}

    /// Normalizes UTF-8 `text` into `scalars` (an invalid byte becomes a space: it separates terms).
    package func normalize(_ text: UnsafeBufferPointer<UInt8>) {
        scalars.removeAll(keepingCapacity: true)
        sourceStart.removeAll(keepingCapacity: true)
        sourceEnd.removeAll(keepingCapacity: true)
        // Where the last starter (a scalar a following mark can compose with) begins, in the
        // output and in the input.
        var starterOutput = 0
        var starterSource = 0
        var i = 0
        while i < text.count {
            let (decoded, length) = Self.decode(text, at: i)
            guard let value = decoded else {
                // Not text: it separates what is around it.
                append(0x20, from: i, to: i + length)
                starterOutput = scalars.count
                starterSource = i + length
                i += length
                continue
            }
            if Self.composesWithPrevious(value) {
                // Normalize the starter and every mark after it together.
                var end = i + length
                while end < text.count {
                    let (next, nextLength) = Self.decode(text, at: end)
                    guard let next, Self.composesWithPrevious(next) else { break }
                    end += nextLength
                }
                let run = String(decoding: UnsafeBufferPointer(rebasing: text[starterSource..<end]), as: UTF8.self)
                scalars.removeSubrange(starterOutput...)
                sourceStart.removeSubrange(starterOutput...)
                sourceEnd.removeSubrange(starterOutput...)
                for scalar in Self.fold(run) { append(scalar, from: starterSource, to: end) }
                i = end
                continue
            }
            starterOutput = scalars.count
            starterSource = i
            if let inline = Self.inlineMapping(value) {
                append(inline, from: i, to: i + length)
            } else {
                for scalar in mapped[value] ?? cacheMapping(of: value) { append(scalar, from: i, to: i + length) }
            }
            i += length
        }
    }

    @inline(__always)
    private func append(_ scalar: UInt32, from start: Int, to end: Int) {
        scalars.append(scalar)
        sourceStart.append(Int32(truncatingIfNeeded: start))
        sourceEnd.append(Int32(truncatingIfNeeded: end))
    }

    private func cacheMapping(of value: UInt32) -> [UInt32] {
        let folded = Self.fold(String(Character(Unicode.Scalar(value)!)))
        mapped[value] = folded
        return folded
    }

    /// The scalars that need no table: ASCII (lower-cased) and the CJK blocks NFKC and case
    /// folding leave alone.
    @inline(__always)
    static func inlineMapping(_ value: UInt32) -> UInt32? {
        switch value {
        case 0x41...0x5A: return value + 0x20
        case 0..<0x80: return value
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x3041...0x3096, 0x30A1...0x30FA, 0xAC00...0xD7A3: return value
        default: return nil
        }
    }

    /// Scalars NFKC may compose with what precedes them.
    static func composesWithPrevious(_ value: UInt32) -> Bool {
        guard value >= 0x300 else { return false }
        // Vowel and final jamo; the half-width voiced sound marks, which NFKC turns into marks.
        if (0x1160...0x11FF).contains(value) || (0xFF9E...0xFF9F).contains(value) { return true }
        switch Unicode.Scalar(value)!.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// NFKC, case folding, NFKC again (folding may leave text decomposed), as Unicode's
    /// NFKC_Casefold does.
    static func fold(_ text: String) -> [UInt32] {
        text.precomposedStringWithCompatibilityMapping.folding(options: [.caseInsensitive], locale: nil)
            .precomposedStringWithCompatibilityMapping.unicodeScalars.map(\.value)
    }

    /// One scalar of UTF-8 at `i`: its value (nil for an invalid sequence) and its length.
    @inline(__always)
    static func decode(_ text: UnsafeBufferPointer<UInt8>, at i: Int) -> (UInt32?, Int) {
        let lead = UInt32(text[i])
        if lead < 0x80 { return (lead, 1) }
        let length: Int
        var value: UInt32
        switch lead {
        case 0xC2...0xDF: (length, value) = (2, lead & 0x1F)
        case 0xE0...0xEF: (length, value) = (3, lead & 0x0F)
        case 0xF0...0xF4: (length, value) = (4, lead & 0x07)
        default: return (nil, 1)
        }
        guard i + length <= text.count else { return (nil, 1) }
        for k in 1..<length {
            let byte = UInt32(text[i + k])
            guard byte & 0xC0 == 0x80 else { return (nil, 1) }
            value = value << 6 | (byte & 0x3F)
        }
        // Overlong forms, surrogates and values past U+10FFFF are not text.
        let smallest: UInt32 = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000
        guard value >= smallest, value <= 0x10FFFF, !(0xD800...0xDFFF).contains(value) else { return (nil, 1) }
        return (value, length)
    }
}
