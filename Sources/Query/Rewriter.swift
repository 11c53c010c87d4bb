import QuiverKernels
import QuiverStorage

/// Turns Quiver's SQL into SQLite's: the one place where the dialects differ.
///
/// 1. `a <-> b`, `a <=> b`, `a <#> b` become `l2_distance(a, b)`, `cosine_distance(a, b)`,
///    `negative_inner_product(a, b)`. Operands are primary expressions (a column, literal,
///    parameter, function call or parenthesised expression); as an ORDER BY term the call gets
///    `NULLS LAST`, as in PostgreSQL, so rows without a vector never come first.
/// 2. `'[1,2]'::vector` casts (pgvector habit) are dropped: vector functions accept literals.
/// 3. References to `TEXT COMPRESSED` columns in expressions become `quiver_text(col)`, so that
///    filters, sorting and grouping see text; a bare select-list item keeps its name with `AS`.
/// 4. `column MATCH query` on a column of a full-text index becomes a rowid filter through the
///    index (`Rewriter+FullTextMatch`).
/// 5. Anonymous `?` parameters are numbered (`?1`, `?2`, …) so that derived statements that drop
///    or reorder parts of the SQL still bind the caller's values to the right places.
/// Result columns that these rewrites touch keep the names SQLite gives the text as written
/// (see ResultColumnNames).
public struct Rewriter {
    public var compressedColumns: Set<String> // lowercased names
    /// The tables and full-text indexes `MATCH` is resolved against.
    public var catalog: Catalog

    public init(compressedColumns: Set<String> = [], catalog: Catalog = .empty) {
        self.compressedColumns = compressedColumns
        self.catalog = catalog
    }

    public struct SyntaxError: Error, CustomStringConvertible {
        public var message: String
        public var offset: Int
        public var description: String { message }
    }

    public func rewrite(_ statement: SQLStatement) throws -> SQLStatement {
        var tokens = numberParameters(namingRewrittenItems(statement.tokens))
        tokens = dropVectorCasts(tokens)
        tokens = try rewriteOperators(tokens)
        tokens = try rewriteFullTextMatches(tokens)
        if !compressedColumns.isEmpty, wrapsColumns(statement) {
            tokens = wrapCompressedColumns(tokens)
        }
        return SQLStatement(tokens: tokens)
    }

    // MARK: parameters

    private func numberParameters(_ tokens: [Token]) -> [Token] {
        var highest = 0
        var named: Set<String> = []
        return tokens.map { token in
            guard token.kind == .parameter else { return token }
            var token = token
            if token.text == "?" {
                highest += 1
                token.text = "?\(highest)"
            } else if token.text.hasPrefix("?") {
                highest = max(highest, Int(token.text.dropFirst()) ?? highest)
            } else if named.insert(token.text).inserted {
                highest += 1
            }
            return token
        }
    }

    // MARK: ::vector

    private func dropVectorCasts(_ tokens: [Token]) -> [Token] {
        var out: [Token] = []
        var i = 0
        while i < tokens.count {
            if tokens[i].isPunctuation("::"), let next = nextSignificant(tokens, after: i),
                tokens[next].isKeyword("VECTOR")
            {
                i = next + 1
                // an optional (n)
                if let open = nextSignificant(tokens, after: next), tokens[open].isPunctuation("("),
                    let close = tokens[open...].firstIndex(where: { $0.isPunctuation(")") })
                {
                    i = close + 1
                }
                continue
            }
            out.append(tokens[i])
            i += 1
        }
        return out
    }

    // MARK: operators

    private func rewriteOperators(_ input: [Token]) throws -> [Token] {
        var tokens = input
        while let op = tokens.firstIndex(where: { $0.kind == .vectorOperator }) {
            let metric = DistanceMetric(sqlOperator: tokens[op].text)!
            guard let leftStart = operandStart(tokens, endingBefore: op),
                let rightEnd = operandEnd(tokens, startingAfter: op)
            else {
                throw SyntaxError(
                    message:
                        "operator \(tokens[op].text) needs an operand on each side, e.g. embedding \(tokens[op].text) '[1, 2, 3]'",
                    offset: tokens[op].offset)
            }
            let left = Array(tokens[leftStart..<op]).trimmed()
            let right = Array(tokens[(op + 1)...rightEnd]).trimmed()
            var call = [
                Token(kind: .identifier, text: metric.sqlFunction, offset: tokens[op].offset),
                Token(kind: .punctuation, text: "(", offset: tokens[op].offset),
            ]
            call += left
            call.append(Token(kind: .punctuation, text: ",", offset: tokens[op].offset))
            call.append(Token(kind: .whitespace, text: " ", offset: tokens[op].offset))
            call += right
            call.append(Token(kind: .punctuation, text: ")", offset: tokens[op].offset))
            if isSelectItem(tokens, from: leftStart, to: rightEnd) {
                // Name the column as written (`embedding <=> '[…]'`), as SQLite names any expression.
                let written = Array(tokens[leftStart...rightEnd]).trimmed().sql
                call.append(Token(kind: .whitespace, text: " ", offset: tokens[op].offset))
                call.append(Token(kind: .identifier, text: "AS", offset: tokens[op].offset))
                call.append(Token(kind: .whitespace, text: " ", offset: tokens[op].offset))
                call.append(Token(kind: .identifier, text: quoteIdentifier(written), offset: tokens[op].offset))
            }
            if isOrderingTerm(tokens, from: leftStart, to: rightEnd) {
                call.append(Token(kind: .whitespace, text: " ", offset: tokens[op].offset))
                call.append(Token(kind: .identifier, text: "NULLS", offset: tokens[op].offset))
                call.append(Token(kind: .whitespace, text: " ", offset: tokens[op].offset))
                call.append(Token(kind: .identifier, text: "LAST", offset: tokens[op].offset))
            }
            tokens.replaceSubrange(leftStart...rightEnd, with: call)
        }
        return tokens
    }

    /// True when tokens[from...to] is a whole item of a SELECT list, without an alias.
    private func isSelectItem(_ tokens: [Token], from: Int, to: Int) -> Bool {
        guard let before = previousSignificant(tokens, before: from) else { return false }
        let next = nextSignificant(tokens, after: to).map { tokens[$0] }
        guard next == nil || next!.isPunctuation(",") || next!.isKeyword("FROM") || next!.isPunctuation(")") else {
            return false
        }
        if tokens[before].isKeyword("SELECT") || tokens[before].isKeyword("DISTINCT") || tokens[before].isKeyword("ALL")
        {
            return true
        }
        guard tokens[before].isPunctuation(",") else { return false }
        // A comma: in a select list when, at this depth, SELECT comes before any other clause.
        var depth = 0
        var i = before - 1
        while i >= 0 {
            let t = tokens[i]
            if t.isPunctuation(")") { depth += 1 }
            if t.isPunctuation("(") {
                if depth == 0 { return false }
                depth -= 1
            }
            if depth == 0, t.kind == .identifier {
                if t.isKeyword("SELECT") { return true }
                if ["FROM", "WHERE", "BY", "HAVING", "VALUES", "SET", "LIMIT", "RETURNING", "USING", "ON"].contains(
                    where: { t.isKeyword($0) })
                {
                    return false
                }
            }
            i -= 1
        }
        return false
    }

    /// True when tokens[from...to] is a whole ORDER BY term with no explicit direction or NULLS.
    private func isOrderingTerm(_ tokens: [Token], from: Int, to: Int) -> Bool {
        guard let before = previousSignificant(tokens, before: from) else { return false }
        let startsTerm = tokens[before].isKeyword("BY") || tokens[before].isPunctuation(",")
        guard startsTerm else { return false }
        if tokens[before].isPunctuation(",") || tokens[before].isKeyword("BY") {
            // Confirm we are in ORDER BY: look back at this depth for ORDER BY.
            var depth = 0
            var i = before
            while i >= 0 {
                let t = tokens[i]
                if t.isPunctuation(")") { depth += 1 }
                if t.isPunctuation("(") {
                    if depth == 0 { return false }
                    depth -= 1
                }
                if depth == 0, t.isKeyword("BY"), let p = previousSignificant(tokens, before: i) {
                    if !tokens[p].isKeyword("ORDER") { return false }
                    break
                }
                if depth == 0, t.isKeyword("SELECT") || t.isKeyword("WHERE") || t.isKeyword("FROM") { return false }
                i -= 1
            }
            if i < 0 { return false }
        }
        guard let after = nextSignificant(tokens, after: to) else { return true }
        let next = tokens[after]
        if next.isKeyword("DESC") || next.isKeyword("NULLS") || next.isKeyword("COLLATE") { return false }
        if next.isKeyword("ASC") {
            if let further = nextSignificant(tokens, after: after), tokens[further].isKeyword("NULLS") { return false }
            return false // `ASC` keeps its place; the term is rewritten without NULLS LAST
        }
        return next.isPunctuation(",") || next.isPunctuation(")") || next.isKeyword("LIMIT")
    }

    /// Start index of the primary expression that ends just before `index`.
    private func operandStart(_ tokens: [Token], endingBefore index: Int) -> Int? {
        guard var i = previousSignificant(tokens, before: index) else { return nil }
        let t = tokens[i]
        if t.isPunctuation(")") {
            guard let open = matchingOpen(tokens, close: i) else { return nil }
            i = open
            if let name = previousSignificant(tokens, before: open), tokens[name].kind == .identifier,
                !tokens[name].isReservedWord
            {
                i = name
            }
            return i
        }
        guard [.identifier, .string, .number, .parameter, .blob].contains(t.kind), !t.isReservedWord else { return nil }
        // qualified names: schema.table.column
        while let dot = previousSignificant(tokens, before: i), tokens[dot].isPunctuation("."),
            let qualifier = previousSignificant(tokens, before: dot), tokens[qualifier].kind == .identifier
        {
            i = qualifier
        }
        return i
    }

    /// End index of the primary expression that starts just after `index`.
    func operandEnd(_ tokens: [Token], startingAfter index: Int) -> Int? {
        guard var i = nextSignificant(tokens, after: index) else { return nil }
        let t = tokens[i]
        if t.isPunctuation("(") { return matchingClose(tokens, open: i) }
        guard [.identifier, .string, .number, .parameter, .blob].contains(t.kind), !t.isReservedWord else { return nil }
        if t.kind == .identifier, let open = nextSignificant(tokens, after: i), tokens[open].isPunctuation("(") {
            return matchingClose(tokens, open: open)
        }
        while let dot = nextSignificant(tokens, after: i), tokens[dot].isPunctuation("."),
            let name = nextSignificant(tokens, after: dot), tokens[name].kind == .identifier
        {
            i = name
        }
        return i
    }

    // MARK: compressed columns

    private func wrapsColumns(_ statement: SQLStatement) -> Bool {
        let words = statement.leadingKeywords(4)
        switch words.first {
        case "SELECT", "WITH", "VALUES", "INSERT", "REPLACE", "UPDATE", "DELETE", "EXPLAIN": return true
        case "CREATE":
            return words.contains("VIEW")
                || (words.contains("TABLE") && statement.significant.contains { $0.isKeyword("AS") })
        default: return false
        }
    }

    private func wrapCompressedColumns(_ tokens: [Token]) -> [Token] {
        let outline = SyntaxOutline(tokens: tokens)
        var replacements: [(range: ClosedRange<Int>, tokens: [Token])] = []
        let entries = outline.entries
        var e = 0
        while e < entries.count {
            let token = outline.token(e)!
            defer { e += 1 }
            guard token.kind == .identifier, compressedColumns.contains(token.identifierName.lowercased()) else {
                continue
            }
            let clause = entries[e].clause
            let previous = outline.token(e - 1)
            let next = outline.token(e + 1)
            // A function call or a qualifier, not a column.
            if next?.isPunctuation("(") == true || next?.isPunctuation(".") == true { continue }
            if previous?.isKeyword("AS") == true { continue }
            if previous?.isPunctuation("(") == true, outline.token(e - 2)?.isKeyword("COMPRESSED_SIZE") == true {
                continue
            }
            if [.columnList, .from, .leading, .with, .window].contains(clause) { continue }
            if clause == .set, next?.isPunctuation("=") == true,
                previous?.isKeyword("SET") == true || previous?.isPunctuation(",") == true
            {
                continue
            }
            // Include a qualifier chain: d.body → quiver_text(d.body)
            var first = e
            while first >= 2, outline.token(first - 1)!.isPunctuation("."),
                outline.token(first - 2)!.kind == .identifier
            { first -= 2 }
            let startToken = entries[first].tokenIndex
            let endToken = entries[e].tokenIndex
            var wrapped = [
                Token(kind: .identifier, text: "quiver_text", offset: token.offset),
                Token(kind: .punctuation, text: "(", offset: token.offset),
            ]
            wrapped += tokens[startToken...endToken]
            wrapped.append(Token(kind: .punctuation, text: ")", offset: token.offset))
            let before = first > 0 ? outline.token(first - 1) : nil
            let isBareItem =
                (clause == .selectList || clause == .returning)
                && (before == nil || before!.isKeyword("SELECT") || before!.isKeyword("DISTINCT")
                    || before!.isKeyword("ALL") || before!.isKeyword("RETURNING") || before!.isPunctuation(","))
                && (next == nil || next!.isPunctuation(",") || next!.isKeyword("FROM") || next!.isPunctuation(")"))
            if isBareItem {
                wrapped.append(Token(kind: .whitespace, text: " ", offset: token.offset))
                wrapped.append(Token(kind: .identifier, text: "AS", offset: token.offset))
                wrapped.append(Token(kind: .whitespace, text: " ", offset: token.offset))
                wrapped.append(
                    Token(kind: .identifier, text: quoteIdentifier(token.identifierName), offset: token.offset))
            }
            replacements.append((startToken...endToken, wrapped))
        }
        var out = tokens
        for replacement in replacements.reversed() {
            out.replaceSubrange(replacement.range, with: replacement.tokens)
        }
        return out
    }

    // MARK: token navigation

    func previousSignificant(_ tokens: [Token], before index: Int) -> Int? {
        var i = index - 1
        while i >= 0 {
            if !tokens[i].isTrivia { return i }
            i -= 1
        }
        return nil
    }

    func nextSignificant(_ tokens: [Token], after index: Int) -> Int? {
        var i = index + 1
        while i < tokens.count {
            if !tokens[i].isTrivia { return i }
            i += 1
        }
        return nil
    }

    private func matchingClose(_ tokens: [Token], open: Int) -> Int? {
        var depth = 0
        for i in open..<tokens.count {
            if tokens[i].isPunctuation("(") { depth += 1 }
            if tokens[i].isPunctuation(")") {
                depth -= 1
                if depth == 0 { return i }
            }
        }
        return nil
    }

    private func matchingOpen(_ tokens: [Token], close: Int) -> Int? {
        var depth = 0
        var i = close
        while i >= 0 {
            if tokens[i].isPunctuation(")") { depth += 1 }
            if tokens[i].isPunctuation("(") {
                depth -= 1
                if depth == 0 { return i }
            }
            i -= 1
        }
        return nil
    }
}

extension Array where Element == Token {
    /// Without leading and trailing whitespace tokens.
    func trimmed() -> [Token] {
        var slice = self[...]
        while slice.first?.isTrivia == true { slice = slice.dropFirst() }
        while slice.last?.isTrivia == true { slice = slice.dropLast() }
        return Array(slice)
    }

    public var sql: String { map(\.text).joined() }
}
