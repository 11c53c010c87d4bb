import CQuiverICU

/// Splits a run of Chinese or Japanese characters into words with ICU's word break and its CJK
/// dictionary, for queries: `钢铁价格走势` is searched as `钢铁`, `价格` and `走势`, as a reader
/// would split it. Characters the dictionary leaves on their own next to each other are kept
/// together (`语料库`, which it splits into three), since a run of unknown characters is most
/// likely one word it lacks. Documents are never segmented: their bigrams find any word.
package enum WordSegmenter {
    /// The words of `run`, in order; the whole run when ICU cannot segment it.
    package static func words(of run: String) -> [String] {
        let units = Array(run.utf16)
        guard units.count > 2 else { return [run] }
        let pieces = units.withUnsafeBufferPointer { buffer -> [String] in
            guard let iterator = quiver_word_breaks_open(buffer.baseAddress, Int32(buffer.count)) else { return [run] }
            defer { quiver_word_breaks_close(iterator) }
            var pieces: [String] = []
            var start = 0
            while true {
                let end = Int(quiver_word_breaks_next(iterator))
                guard end > start, end <= units.count else { break }
                pieces.append(String(decoding: units[start..<end], as: UTF16.self))
                start = end
            }
            return pieces
        }
        var words: [String] = []
        var single = ""
        for piece in pieces {
            if piece.count == 1 {
                single += piece
                continue
            }
            if !single.isEmpty { words.append(single) }
            single = ""
            words.append(piece)
        }
        if !single.isEmpty { words.append(single) }
        return words.isEmpty ? [run] : words
    }
}
