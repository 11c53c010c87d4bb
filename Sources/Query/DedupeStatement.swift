import QuiverDedupe

/// `DEDUPE`, Quiver's statement for removing duplicate rows:
///
///     DEDUPE table ON column
///         { EXACT | THRESHOLD s | MINHASH THRESHOLD j [NGRAM n] }
///         [WHERE condition]
///         [KEEP FIRST | LAST | LONGEST | BY expression]
///         [MARK COLUMN name]
///         [DRY RUN]
///     EXPLAIN [ANALYZE] DEDUPE …
///
/// The clauses after the method may come in any order. `THRESHOLD s` compares the VECTOR column
/// by cosine similarity; `EXACT` and `MINHASH` compare text (see DedupeExecution).
public struct DedupeStatement: Equatable, Sendable {
    public enum Method: Equatable, Sendable {
        /// Same normalized text (TextFingerprint).
        case exact
        /// Cosine similarity of vectors at least `threshold`.
        case vector(threshold: Double)
        /// Jaccard similarity of character n-gram sets at least `threshold`.
        case minHash(threshold: Double, ngram: Int)
    }

    public enum Keep: Equatable, Sendable {
        case first, last, longest
        /// `KEEP BY expression`: the SQL text of the expression.
        case by(String)
    }

    public var table: String
    public var column: String
    public var method: Method
    /// The WHERE condition's SQL text, when given.
    public var filter: String?
    public var keep: Keep = .first
    /// `MARK COLUMN name`: set this column of each duplicate to the kept row's key instead of deleting it.
    public var markColumn: String?
    public var dryRun = false
    /// `/*+ exact */`: compare every pair even where blocking would be faster.
    public var exactHint = false

    public struct SyntaxError: Error, CustomStringConvertible {
        public var description: String
    }

    static let usage =
        "DEDUPE table ON column { EXACT | THRESHOLD s | MINHASH THRESHOLD j [NGRAM n] } [WHERE …] [KEEP FIRST | LAST | LONGEST | BY expr] [MARK COLUMN name] [DRY RUN]"

    /// True when `statement` is a DEDUPE (after an optional EXPLAIN [ANALYZE]).
    public static func isDedupe(_ statement: SQLStatement) -> Bool {
        let words = statement.leadingKeywords(3)
        return words.first == "DEDUPE"
            || (words.first == "EXPLAIN"
                && (words.dropFirst().first == "DEDUPE"
                    || (words.dropFirst().first == "ANALYZE" && words.last == "DEDUPE")))
    }

    /// True when the statement cannot change rows: a DRY RUN, or EXPLAIN without ANALYZE.
    public static func isReadOnly(_ statement: SQLStatement) -> Bool {
        let words = statement.significant.map { $0.text.uppercased() }
        if words.first == "EXPLAIN", words.dropFirst().first == "DEDUPE" { return true }
        return words.suffix(2) == ["DRY", "RUN"]
    }

    /// Parses a DEDUPE statement (without EXPLAIN); the statement's parameters should already be
    /// numbered (Rewriter), since its expressions are moved into other statements.
    public static func parse(_ statement: SQLStatement) throws -> DedupeStatement {
        let tokens = statement.tokens
        // Positions in `tokens` of the significant tokens.
        let positions = tokens.indices.filter { !tokens[$0].isTrivia && !tokens[$0].isPunctuation(";") }
        func token(_ i: Int) -> Token? { i < positions.count ? tokens[positions[i]] : nil }
        func word(_ i: Int) -> String { token(i).map { $0.kind == .identifier ? $0.text.uppercased() : $0.text } ?? "" }
        func fail(_ message: String) -> SyntaxError { SyntaxError(description: message) }

        guard word(0) == "DEDUPE" else { throw fail("expected \(usage)") }
        guard let table = token(1), table.kind == .identifier, word(2) == "ON", let column = token(3),
            column.kind == .identifier
        else {
            throw fail("expected DEDUPE table ON column …; the full form is \(usage)")
        }
        var i = 4
        func number(_ what: String) throws -> Double {
            guard let t = token(i), t.kind == .number, let value = Double(t.text) else {
                throw fail("expected a number after \(what), as in \(what) 0.95")
            }
            i += 1
            return value
        }
        func threshold(_ what: String, _ measure: String) throws -> Double {
            let value = try number(what)
            guard value > 0, value <= 1 else {
                throw fail("\(what) must be greater than 0 and at most 1 (\(measure)); got \(token(i - 1)!.text)")
            }
            return value
        }
        let method: Method
        switch word(i) {
        case "EXACT":
            i += 1
            method = .exact
        case "THRESHOLD":
            i += 1
            method = .vector(threshold: try threshold("THRESHOLD", "cosine similarity"))
        case "MINHASH":
            i += 1
            guard word(i) == "THRESHOLD" else {
                throw fail("expected MINHASH THRESHOLD j, with j the Jaccard similarity (0 < j ≤ 1)")
            }
            i += 1
            let j = try threshold("MINHASH THRESHOLD", "Jaccard similarity")
            var ngram = MinHashParameters.defaultNgram
            if word(i) == "NGRAM" {
                i += 1
                let n = try number("NGRAM") // a Double: compared as one, since Int(n) traps beyond Int.max
                guard n == n.rounded(), (1.0...16.0).contains(n) else {
                    throw fail("NGRAM must be a whole number from 1 to 16; got \(token(i - 1)!.text)")
                }
                ngram = Int(n)
            }
            method = .minHash(threshold: j, ngram: ngram)
        default:
            throw fail(
                "expected EXACT, THRESHOLD s or MINHASH THRESHOLD j after DEDUPE \(table.text) ON \(column.text)")
        }

        var result = DedupeStatement(table: table.identifierName, column: column.identifierName, method: method)
        result.exactHint = IndexStatement.exactHint(in: statement)
        var seen: Set<String> = []
        // A clause starts at one of these words at the top level, followed by what it needs.
        func startsClause(_ k: Int) -> Bool {
            switch word(k) {
            case "WHERE": return true
            case "KEEP": return ["FIRST", "LAST", "LONGEST", "BY"].contains(word(k + 1))
            case "MARK": return word(k + 1) == "COLUMN"
            case "DRY": return word(k + 1) == "RUN"
            default: return false
            }
        }
        /// The SQL text from significant token `from` up to the next clause (or the end).
        func expression(from: Int, clause: String) throws -> String {
            var depth = 0
            var k = from
            while k < positions.count {
                if depth == 0, startsClause(k) { break }
                if token(k)!.isPunctuation("(") { depth += 1 }
                if token(k)!.isPunctuation(")") { depth -= 1 }
                k += 1
            }
            guard k > from else { throw fail("\(clause) needs an expression") }
            i = k
            return tokens[positions[from]...positions[k - 1]].map(\.text).joined()
        }
        while i < positions.count {
            let clause = word(i)
            guard startsClause(i) else {
                throw fail("unexpected '\(token(i)!.text)' in DEDUPE; expected \(usage)")
            }
            guard seen.insert(clause).inserted else { throw fail("\(clause) appears twice in DEDUPE") }
            switch clause {
            case "WHERE":
                result.filter = try expression(from: i + 1, clause: "WHERE")
            case "KEEP":
                let how = word(i + 1)
                i += 2
                switch how {
                case "FIRST": result.keep = .first
                case "LAST": result.keep = .last
                case "LONGEST": result.keep = .longest
                default: result.keep = .by(try expression(from: i, clause: "KEEP BY"))
                }
            case "MARK":
                guard let name = token(i + 2), name.kind == .identifier, !startsClause(i + 2) else {
                    throw fail("expected MARK COLUMN name")
                }
                result.markColumn = name.identifierName
                i += 3
            default: // DRY RUN
                result.dryRun = true
                i += 2
            }
        }
        return result
    }
}
