import QuiverWordBreak

/// A full-text query as users write it, checked and turned into an FTS5 expression over the
/// terms of `FullTextTokenizer`:
///
///     steel price          both words (AND is implied; `AND` may be written)
///     "price of steel"     the words in this order
///     steel OR iron        either
///     steel NOT iron       the first without the second
///     (steel OR iron) price
///
/// Operators are upper case, as in FTS5; a term is anything else up to a space, a quote or a
/// parenthesis. A run of Chinese characters in a bare term is split into words, each required
/// (`钢铁价格` finds rows with `钢铁` and `价格`); quoted, it is found as written. A word that
/// holds several index terms (a Chinese word, `e-mail`) matches them in order, as a phrase; one
/// Chinese character matches wherever it occurs.
package struct FullTextQuery: Sendable, Equatable {
    /// The FTS5 expression, every term quoted so that FTS5 reads no syntax of its own in it.
    package let expression: String

    package struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        package var message: String
        /// Characters from the start of the query.
        package var position: Int
        package var description: String { "\(message) (at character \(position + 1) of the query)" }
    }

    /// Parses `text`; a query that is empty, unbalanced or has an operator without an operand is
    /// an error naming where.
    package init(_ text: String) throws {
        var parser = Parser(text)
        let expression = try parser.parseQuery()
        self.expression = expression
    }

    private init(expression: String) { self.expression = expression }

    /// A natural-language question (`钢铁价格走势如何`, `how did steel prices move`) as a query
    /// any of whose words may match, for ranking by relevance: its words (Chinese runs split by
    /// WordSegmenter), each a phrase, ORed. Nil when the text holds no word at all.
    package static func anyTerm(of question: String) -> FullTextQuery? {
        let tokenizer = FullTextTokenizer()
        var seen = Set<String>()
        let parts = words(of: question).compactMap { phrase(of: $0, tokenizer) }.filter { seen.insert($0).inserted }
        return parts.isEmpty ? nil : FullTextQuery(expression: parts.joined(separator: " OR "))
    }

    /// `text` cut into the pieces a bare term stands for: every run of three or more CJK
    /// characters split into words, the text between runs kept whole.
    static func words(of text: String) -> [String] {
        var pieces: [String] = []
        var other = ""
        var run = ""
        func flushRun() {
            guard !run.isEmpty else { return }
            pieces += run.count >= 3 ? WordSegmenter.words(of: run) : [run]
            run = ""
        }
        for scalar in text.unicodeScalars {
            if FullTextTokenizer.characterClass(scalar.value) == .cjk {
                if !other.isEmpty { pieces.append(other) }
                other = ""
                run.unicodeScalars.append(scalar)
            } else {
                flushRun()
                other.unicodeScalars.append(scalar)
            }
        }
        flushRun()
        if !other.isEmpty { pieces.append(other) }
        return pieces
    }

    /// The text as one FTS5 phrase of its index terms, the last a prefix when it is a lone CJK
    /// character (see FullTextTokenizer); nil when it has no terms.
    static func phrase(of text: String, _ tokenizer: FullTextTokenizer) -> String? {
        let terms = tokenizer.terms(of: text, mode: .query)
        guard let last = terms.last else { return nil }
        return quoted(terms.map(\.term).joined(separator: " ")) + (last.kind == .character ? " *" : "")
    }

    static func quoted(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    /// A recursive-descent parser over the characters of the query.
    private struct Parser {
        let characters: [Character]
        var position = 0
        let tokenizer = FullTextTokenizer()

        init(_ text: String) { characters = Array(text) }

        mutating func parseQuery() throws -> String {
            skipSpaces()
            guard position < characters.count else { throw SyntaxError(message: "the query is empty", position: 0) }
            guard let expression = try parseOr() else {
                throw SyntaxError(message: "the query has no word to search for", position: 0)
            }
            skipSpaces()
            if position < characters.count {
                throw SyntaxError(message: ") without a matching (", position: position)
            }
            return expression
        }

        /// `and (OR and)*`; nil when it holds no term.
        mutating func parseOr() throws -> String? {
            var parts: [String] = []
            if let first = try parseAnd() { parts.append(first) }
            while peekKeyword("OR") {
                parts.append(try operand(after: "OR", hasLeft: !parts.isEmpty) { try $0.parseAnd() })
            }
            guard !parts.isEmpty else { return nil }
            return parts.count == 1 ? parts[0] : "(" + parts.joined(separator: " OR ") + ")"
        }

        /// `not (AND? not)*`: terms side by side must all match.
        mutating func parseAnd() throws -> String? {
            var parts: [String] = []
            while true {
                skipSpaces()
                if peekKeyword("AND") {
                    parts.append(try operand(after: "AND", hasLeft: !parts.isEmpty) { try $0.parseNot() })
                    continue
                }
                guard position < characters.count, characters[position] != ")", !peekKeyword("OR") else { break }
                if let next = try parseNot() { parts.append(next) }
            }
            guard !parts.isEmpty else { return nil }
            return parts.count == 1 ? parts[0] : "(" + parts.joined(separator: " AND ") + ")"
        }

        /// `primary (NOT primary)*`: NOT excludes what follows it from what precedes it.
        mutating func parseNot() throws -> String? {
            skipSpaces()
            if peekKeyword("NOT") {
                throw SyntaxError(
                    message: "NOT needs a term before it (write: wanted NOT unwanted)", position: position)
            }
            var result = try parsePrimary()
            while true {
                skipSpaces()
                guard peekKeyword("NOT") else { break }
                let right = try operand(after: "NOT", hasLeft: result != nil) { try $0.parsePrimary() }
                result = "(" + result! + " NOT " + right + ")"
            }
            return result
        }

        /// Steps over the operator `keyword` standing here and parses its right-hand term; an
        /// operator without a term on either side is an error at the operator.
        mutating func operand(
            after keyword: String, hasLeft: Bool, _ parse: (inout Parser) throws -> String?
        ) throws -> String {
            let at = position
            position += keyword.count
            guard hasLeft else { throw SyntaxError(message: "\(keyword) needs a term before it", position: at) }
            skipSpaces()
            guard let right = try parse(&self) else {
                throw SyntaxError(message: "\(keyword) needs a term after it", position: at)
            }
            return right
        }

        /// A parenthesized query, a quoted phrase or a bare term; nil for one without index
        /// terms (punctuation).
        mutating func parsePrimary() throws -> String? {
            skipSpaces()
            guard position < characters.count else { return nil }
            switch characters[position] {
            case "(":
                let open = position
                position += 1
                let inner = try parseOr()
                skipSpaces()
                guard position < characters.count, characters[position] == ")" else {
                    throw SyntaxError(message: "( is not closed", position: open)
                }
                position += 1
                return inner
            case ")":
                throw SyntaxError(message: ") without a matching (", position: position)
            case "\"":
                let open = position
                position += 1
                var text = ""
                while position < characters.count, characters[position] != "\"" {
                    text.append(characters[position])
                    position += 1
                }
                guard position < characters.count else {
                    throw SyntaxError(message: "the quote is not closed", position: open)
                }
                position += 1
                return phrase(text)
            default:
                var text = ""
                while position < characters.count, !characters[position].isWhitespace,
                    !"\"()".contains(characters[position])
                {
                    text.append(characters[position])
                    position += 1
                }
                return bareTerm(text)
            }
        }

        /// A quoted phrase: its terms in order, nil when it has none.
        func phrase(_ text: String) -> String? { FullTextQuery.phrase(of: text, tokenizer) }

        /// A bare term: its pieces (Chinese runs split into words), all required.
        func bareTerm(_ text: String) -> String? {
            let parts = FullTextQuery.words(of: text).compactMap { FullTextQuery.phrase(of: $0, tokenizer) }
            guard !parts.isEmpty else { return nil }
            return parts.count == 1 ? parts[0] : "(" + parts.joined(separator: " AND ") + ")"
        }

        /// Whether an operator keyword stands here as a word of its own.
        func peekKeyword(_ keyword: String) -> Bool {
            let word = Array(keyword)
            guard position + word.count <= characters.count, Array(characters[position..<position + word.count]) == word
            else { return false }
            let after = position + word.count
            return after == characters.count || characters[after].isWhitespace || "\"()".contains(characters[after])
        }

        mutating func skipSpaces() {
            while position < characters.count, characters[position].isWhitespace { position += 1 }
        }
    }
}
