/// Splits text into the terms of the full-text index, after `TextNormalizer`:
///
/// - Words: runs of letters, digits and marks (any script but the CJK ones), case-folded; no
///   stemming, so `running` does not find `run`.
/// - Chinese, Japanese and Korean: runs of Han, kana and Hangul become overlapping bigrams
///   (`钢铁价格` → `钢铁 铁价 价格`), as Lucene's CJK analyzer does, and a run's last character
///   is also a term of its own at the same position. So a word of any length is found wherever
///   it occurs: two characters are one term, longer words a phrase of bigrams, and one character
///   the prefix `月*`, which matches every bigram it starts and the run it ends.
/// - Everything else separates terms.
///
/// A query is tokenized the same way without the extra one-character terms (`Mode.query`), so
/// a phrase's positions line up with the document's.
package final class FullTextTokenizer {
    package enum Mode: Sendable { case document, query }

    /// What a term is made of; the query side needs to know a lone CJK character.
    package enum TermKind: Sendable, Equatable { case word, bigram, character }

    /// Which terms this tokenizer makes. Any change to the terms of some text (normalization,
    /// word rules, bigrams) must bump it: an index built with another version is refused until
    /// REINDEX, since its postings and the queries' terms would no longer agree.
    package static let version = 1

    /// The longest word kept whole, in bytes; longer runs (encoded data, hashes) are cut there.
    package static let maximumWordBytes = 200

    private let normalizer = TextNormalizer()
    private var term: [UInt8] = []

    package init() {}

    /// Calls `emit` with each term of UTF-8 `text` in order: its UTF-8 bytes, its kind, the
    /// input bytes it came from, and whether it shares the position of the term before it.
    package func tokenize(
        _ text: UnsafeBufferPointer<UInt8>, mode: Mode,
        _ emit: (_ term: UnsafeBufferPointer<UInt8>, _ kind: TermKind, _ source: Range<Int>, _ colocated: Bool)
            throws -> Void
    ) rethrows {
        normalizer.normalize(text)
        let scalars = normalizer.scalars
        let count = scalars.count
        var i = 0
        while i < count {
            switch Self.characterClass(scalars[i]) {
            case .separator:
                i += 1
            case .word:
                let start = i
                term.removeAll(keepingCapacity: true)
                while i < count, Self.characterClass(scalars[i]) == .word {
                    if term.count < Self.maximumWordBytes { appendUTF8(scalars[i]) }
                    i += 1
                }
                try emitTerm(.word, from: start, through: i - 1, colocated: false, emit)
            case .cjk:
                let start = i
                while i < count, Self.characterClass(scalars[i]) == .cjk { i += 1 }
                let end = i
                if end - start == 1 {
                    term.removeAll(keepingCapacity: true)
                    appendUTF8(scalars[start])
                    try emitTerm(.character, from: start, through: start, colocated: false, emit)
                    continue
                }
                for first in start..<(end - 1) {
                    term.removeAll(keepingCapacity: true)
                    appendUTF8(scalars[first])
                    appendUTF8(scalars[first + 1])
                    try emitTerm(.bigram, from: first, through: first + 1, colocated: false, emit)
                }
                if mode == .document {
                    term.removeAll(keepingCapacity: true)
                    appendUTF8(scalars[end - 1])
                    try emitTerm(.character, from: end - 1, through: end - 1, colocated: true, emit)
                }
            }
        }
    }

    /// The terms of `text` as strings, for tests and for building queries.
    package func terms(of text: String, mode: Mode) -> [(term: String, kind: TermKind, colocated: Bool)] {
        var result: [(String, TermKind, Bool)] = []
        var copy = text
        copy.withUTF8 { bytes in
            tokenize(bytes, mode: mode) { term, kind, _, colocated in
                result.append((String(decoding: term, as: UTF8.self), kind, colocated))
            }
        }
        return result.map { (term: $0.0, kind: $0.1, colocated: $0.2) }
    }

    private func emitTerm(
        _ kind: TermKind, from first: Int, through last: Int, colocated: Bool,
        _ emit: (UnsafeBufferPointer<UInt8>, TermKind, Range<Int>, Bool) throws -> Void
    ) rethrows {
        let source = Int(normalizer.sourceStart[first])..<Int(normalizer.sourceEnd[last])
        try term.withUnsafeBufferPointer { try emit($0, kind, source, colocated) }
    }

    @inline(__always)
    private func appendUTF8(_ value: UInt32) {
        switch value {
        case 0..<0x80:
            term.append(UInt8(value))
        case 0x80..<0x800:
            term.append(UInt8(0xC0 | value >> 6))
            term.append(UInt8(0x80 | value & 0x3F))
        case 0x800..<0x10000:
            term.append(UInt8(0xE0 | value >> 12))
            term.append(UInt8(0x80 | value >> 6 & 0x3F))
            term.append(UInt8(0x80 | value & 0x3F))
        default:
            term.append(UInt8(0xF0 | value >> 18))
            term.append(UInt8(0x80 | value >> 12 & 0x3F))
            term.append(UInt8(0x80 | value >> 6 & 0x3F))
            term.append(UInt8(0x80 | value & 0x3F))
        }
    }

    enum CharacterClass { case word, cjk, separator }

    @inline(__always)
    static func characterClass(_ value: UInt32) -> CharacterClass {
        switch value {
        case 0x30...0x39, 0x61...0x7A: return .word
        case 0..<0x80: return .separator
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x3041...0x3096, 0x30A1...0x30FA, 0x30FC...0x30FF, 0xAC00...0xD7A3,
            0x3005...0x3007, 0x3021...0x3029, 0x309D...0x309F, 0x3100...0x312F, 0x31A0...0x31BF, 0x31F0...0x31FF,
            0x1100...0x11FF, 0x3130...0x318F, 0xA960...0xA97F, 0xD7B0...0xD7FF, 0xF900...0xFAFF, 0x20000...0x3134F:
            return .cjk
        default:
            let properties = Unicode.Scalar(value)!.properties
            if properties.isAlphabetic || properties.numericType != nil { return .word }
            switch properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber: return .word
            default: return .separator
            }
        }
    }
}
