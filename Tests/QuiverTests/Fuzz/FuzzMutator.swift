/// Seeded mutations of valid inputs: the byte-level changes (flips, deletions, repeats, splices,
/// truncation) that random-input fuzzers find bugs with, plus tokens of the input's own
/// language, so that mutants stay close enough to valid to reach deep into a parser.
struct FuzzMutator {
    var random: SeededRandom
    /// Fragments of the target language (keywords, operators, troublesome numbers).
    let dictionary: [[UInt8]]
    let corpus: [[UInt8]]

    init(seed: UInt64, corpus: [[UInt8]], dictionary: [String]) {
        random = SeededRandom(seed: seed)
        self.corpus = corpus
        self.dictionary = dictionary.map { Array($0.utf8) }
    }

    static let interestingBytes: [UInt8] = [
        0x00, 0xFF, 0x7F, 0x80, 0xC3, 0xE4, 0xEF, 0xBB, 0xBF, 0x22, 0x27, 0x5B, 0x5D, 0x2C,
        0x7B, 0x7D, 0x3B, 0x0A, 0x0D, 0x09, 0x5C, 0x2D, 0x2B, 0x65, 0x2E, 0x30, 0x39, 0x20,
    ]

    mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(random.next() % UInt64(n)) }

    /// The next input: a corpus entry with one to four mutations.
    mutating func next() -> [UInt8] {
        var bytes = corpus[below(corpus.count)]
        for _ in 0...below(4) { mutate(&bytes) }
        return bytes
    }

    mutating func mutate(_ bytes: inout [UInt8]) {
        let at = below(bytes.count + 1)
        switch below(10) {
        case 0 where !bytes.isEmpty: // flip one bit
            let i = below(bytes.count)
            bytes[i] ^= 1 << UInt8(below(8))
        case 1 where !bytes.isEmpty: // an awkward byte
            bytes[below(bytes.count)] = Self.interestingBytes[below(Self.interestingBytes.count)]
        case 2: // delete a run
            let n = min(1 + below(8), bytes.count - at)
            bytes.removeSubrange(at..<(at + n))
        case 3: // insert random bytes
            bytes.insert(contentsOf: (0...below(6)).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: at)
        case 4 where !bytes.isEmpty: // repeat a run (nesting, long lists)
            let start = below(bytes.count)
            let n = min(1 + below(32), bytes.count - start)
            let run = Array(bytes[start..<(start + n)])
            for _ in 0...below(3) { bytes.insert(contentsOf: run, at: min(at, bytes.count)) }
        case 5, 6: // a token of the language (the dictionary is never empty)
            bytes.insert(contentsOf: dictionary[below(dictionary.count)], at: at)
        case 7: // cut short
            bytes.removeSubrange(at...)
        case 8: // splice with another entry
            let other = corpus[below(corpus.count)]
            bytes = Array(bytes[..<at]) + Array(other[below(other.count + 1)...])
        default: // replace a digit run by an extreme number
            if let i = bytes.indices.dropFirst(at).first(where: { (0x30...0x39).contains(bytes[$0]) }) {
                var end = i
                while end < bytes.count, (0x30...0x39).contains(bytes[end]) || bytes[end] == 0x2E { end += 1 }
                let extremes = [
                    "99999999999999999999999", "1e39", "-1e39", "1e-50", "-0", "0x1p3", "nan", "inf",
                    "340282350000000000000000000000000000000", "",
                ]
                bytes.replaceSubrange(i..<end, with: Array(extremes[below(extremes.count)].utf8))
            }
        }
    }
}
