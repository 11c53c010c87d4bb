import QuiverFormats

/// A failed statement, shown as psql does: the message, then the line of the input where the
/// error was detected with a caret under the spot (columns counted in display width, so the
/// caret lands right under Chinese text too).
enum ErrorDisplay {
    /// `offset` is a byte offset into `text`; `firstLine` numbers `text`'s first line.
    static func render(message: String, text: String, offset: Int?, firstLine: Int, styled: Bool) -> String {
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
        let line = visible(String(decoding: bytes[lineStart..<lineEnd], as: UTF8.self))
        let before = visible(String(decoding: bytes[lineStart..<at], as: UTF8.self))
        let prefix = "LINE \(lineNumber): "
        out += prefix + line + "\n"
        out += String(repeating: " ", count: prefix.count + DisplayWidth.of(before)) + "^\n"
        return out
    }

    /// Tabs and carriage returns as single spaces, so text and caret count alike.
    private static func visible(_ text: String) -> String {
        String(text.map { $0 == "\t" || $0 == "\r" ? " " : $0 })
    }
}
