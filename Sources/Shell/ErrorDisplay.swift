import QuiverFormats

/// A failed statement, shown as psql does: the message, then the line of the input where the
/// error was detected with a caret under the spot (columns counted in display width, so the
/// caret lands right under Chinese text too).
enum ErrorDisplay {
    /// `offset` is a byte offset into `text`; `firstLine` numbers `text`'s first line. With a
    /// terminal `width`, a longer line is shown as a window around the spot ("…" at cut ends),
    /// since a wrapped line would leave the caret under the wrong character.
    static func render(
        message: String, text: String, offset: Int?, firstLine: Int, styled: Bool,
        width: Int? = nil
    ) -> String {
        let label = styled ? "\u{1B}[1;31mError:\u{1B}[0m " : "Error: "
        var out = label + message + "\n"
        guard let offset else { return out }
        let bytes = Array(text.utf8)
        let at = min(max(0, offset), bytes.count)
        var lineStart = at
        while lineStart > 0 && bytes[lineStart - 1] != 0x0A { lineStart -= 1 }
        var lineEnd = at
        while lineEnd < bytes.count && bytes[lineEnd] != 0x0A { lineEnd += 1 }
        let lineNumber = firstLine + bytes[..<lineStart].filter { $0 == 0x0A }.count
        var before = visible(String(decoding: bytes[lineStart..<at], as: UTF8.self))
        var after = visible(String(decoding: bytes[at..<lineEnd], as: UTF8.self))
        let prefix = "LINE \(lineNumber): "
        if let width {
            let room = max(20, width - prefix.count - 1)
            if DisplayWidth.of(before) + DisplayWidth.of(after) > room {
                if DisplayWidth.of(before) > room * 2 / 3 {
                    before = "…" + keepingEnd(of: before, width: room * 2 / 3 - 1)
                }
                after = DisplayWidth.truncate(after, toWidth: max(1, room - DisplayWidth.of(before)))
            }
        }
        let line = before + after
        out += prefix + line + "\n"
        out += String(repeating: " ", count: prefix.count + DisplayWidth.of(before)) + "^\n"
        return out
    }

    /// The end of `text` that fits in `width` columns.
    private static func keepingEnd(of text: String, width: Int) -> String {
        var kept: [Character] = []
        var used = 0
        for c in text.reversed() {
            let w = DisplayWidth.of(c)
            if used + w > width { break }
            kept.append(c)
            used += w
        }
        return String(kept.reversed())
    }

    /// Tabs and carriage returns as single spaces, so text and caret count alike.
    private static func visible(_ text: String) -> String {
        String(text.map { $0 == "\t" || $0 == "\r" ? " " : $0 })
    }
}
