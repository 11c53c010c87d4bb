import QuiverQuery

/// Gathers input lines until they make whole statements: SQL runs once a line ends with a `;`
/// that ends a statement (not one inside a string, comment, parentheses or trigger body);
/// a line starting with "." on an empty buffer is a meta-command on its own.
struct StatementBuffer {
    /// One unit of work taken from the input.
    enum Unit: Equatable {
        case sql(String, firstLine: Int) // one or more statements; firstLine is 1-based
        case meta(String, line: Int)
    }

    private(set) var text = ""
    private var firstLine = 0
    private var lineNumber = 0

    var isEmpty: Bool { text.isEmpty }

    /// Adds one line; returns the unit it completes, if any.
    mutating func add(_ line: String) -> Unit? {
        lineNumber += 1
        // Comment lines do not hold back a meta-command that follows them (as in sqlite3).
        if !text.isEmpty, line.trimmingLeadingSpaces().hasPrefix("."), Self.isOnlyComments(text) { text = "" }
        if text.isEmpty {
            let trimmed = line.trimmingLeadingSpaces()
            if trimmed.hasPrefix(".") { return .meta(trimmed.trimmingTrailingSpaces(), line: lineNumber) }
            if trimmed.isEmpty { return nil }
            firstLine = lineNumber
            text = line
        } else {
            text += "\n" + line
        }
        guard StatementSplitter.isComplete(text) else { return nil }
        return take()
    }

    /// What is left at the end of input (a last statement without its `;`), if anything.
    mutating func finish() -> Unit? {
        guard !StatementSplitter.split(text).isEmpty else {
            text = ""
            return nil
        }
        return take()
    }

    mutating func clear() { text = "" }

    /// True when `text` is spaces and finished comments only.
    private static func isOnlyComments(_ text: String) -> Bool {
        let tokens = Tokenizer.tokenize(text)
        guard tokens.allSatisfy(\.isTrivia) else { return false }
        guard let tail = tokens.last, tail.text.hasPrefix("/*") else { return true }
        return tail.text.count >= 4 && tail.text.hasSuffix("*/")
    }

    private mutating func take() -> Unit {
        defer { text = "" }
        return .sql(text, firstLine: firstLine)
    }
}

extension String {
    func trimmingLeadingSpaces() -> String { String(drop { $0 == " " || $0 == "\t" }) }
    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while let last = s.last, last.isWhitespace { s.removeLast() }
        return String(s)
    }
}
