/// One SQL statement of a script, as tokens (without its terminating `;`).
public struct SQLStatement: Sendable {
    public var tokens: [Token]
    /// The statement's text as written.
    public var text: String { tokens.map(\.text).joined() }
    /// Byte offset of the statement within the script, for error positions.
    public var offset: Int { tokens.first?.offset ?? 0 }

    public var significant: [Token] { tokens.filter { !$0.isTrivia } }

    /// The first keyword, uppercased (`SELECT`, `INSERT`, `CREATE`, …).
    public var leadingKeyword: String { significant.first.map { $0.text.uppercased() } ?? "" }

    /// The first `n` keywords, uppercased, e.g. `["CREATE", "TEMP", "TRIGGER"]`.
    public func leadingKeywords(_ n: Int) -> [String] { significant.prefix(n).map { $0.text.uppercased() } }
}

/// Splits a script into statements at top-level semicolons. A `CREATE TRIGGER` body holds
/// semicolons of its own, so inside one the split waits for the `END` that closes `BEGIN`.
public enum StatementSplitter {
    public static func split(_ sql: String) -> [SQLStatement] {
        split(Tokenizer.tokenize(sql))
    }

    /// True when `sql` ends with a statement's terminating `;` (ignoring trailing spaces and
    /// comments): a `;` inside a string, a quoted name, a comment, parentheses or a trigger body
    /// does not end it, nor does an unterminated string or comment. Interactive input runs
    /// when this says so.
    public static func isComplete(_ sql: String) -> Bool {
        let tokens = Tokenizer.tokenize(sql)
        guard let last = tokens.last(where: { !$0.isTrivia }), last.isPunctuation(";") else { return false }
        if let tail = tokens.last, tail.kind == .whitespace, tail.text.hasPrefix("/*"),
            !(tail.text.count >= 4 && tail.text.hasSuffix("*/"))
        {
            return false // an unterminated block comment swallows what follows
        }
        var terminated = false
        _ = split(tokens) { token in terminated = token.offset == last.offset }
        return terminated
    }

    public static func split(_ tokens: [Token]) -> [SQLStatement] {
        split(tokens) { _ in }
    }

    /// Splits `tokens`, telling `onTerminator` about each `;` that ends a statement.
    private static func split(_ tokens: [Token], onTerminator: (Token) -> Void) -> [SQLStatement] {
        var statements: [SQLStatement] = []
        var current: [Token] = []
        var depth = 0
        var inTrigger = false
        var triggerBlock = 0 // BEGIN … END nesting (CASE … END counts too)
        func finish() {
            if current.contains(where: { !$0.isTrivia }) { statements.append(SQLStatement(tokens: current)) }
            current = []
            inTrigger = false
            triggerBlock = 0
        }
        for token in tokens {
            if token.isPunctuation(";") && depth == 0 && triggerBlock == 0 {
                onTerminator(token)
                finish()
                continue
            }
            current.append(token)
            if token.isPunctuation("(") { depth += 1 }
            if token.isPunctuation(")") { depth = max(0, depth - 1) }
            guard token.kind == .identifier else { continue }
            if !inTrigger, token.isKeyword("TRIGGER") {
                let words = SQLStatement(tokens: current).leadingKeywords(3)
                inTrigger = words.first == "CREATE" && (words.dropFirst().first == "TRIGGER" || words.last == "TRIGGER")
            }
            if inTrigger {
                if token.isKeyword("BEGIN") || (triggerBlock > 0 && token.isKeyword("CASE")) { triggerBlock += 1 }
                if token.isKeyword("END") && triggerBlock > 0 { triggerBlock -= 1 }
            }
        }
        finish()
        return statements
    }
}
