import QuiverStorage

/// Result columns keep the names the user wrote.
///
/// SQLite names an unaliased result column by the text of its expression. The rewriter changes
/// that text (`e <=> q` becomes `cosine_distance(e, q)`, `length(body)` of a compressed column
/// becomes `length(quiver_text(body))`, `?` becomes `?1`), so before any rewriting each
/// select-list or RETURNING item that a rewrite will touch, and that has no alias, gets one:
/// its own text as written. A bare column keeps SQLite's name (the column's, unqualified) and
/// is named where it is wrapped (see `wrapCompressedColumns`).
extension Rewriter {
    func namingRewrittenItems(_ tokens: [Token]) -> [Token] {
        let outline = SyntaxOutline(tokens: tokens)
        var aliases: [(after: Int, name: String)] = []
        for item in Self.resultItems(outline)
        where !Self.hasAlias(outline, item) && !Self.isBareColumn(outline, item)
            && item.contains(where: { willRewrite(outline, $0) })
        {
            let first = outline.entries[item.first!].tokenIndex
            let last = outline.entries[item.last!].tokenIndex
            aliases.append((last, Array(tokens[first...last]).sql))
        }
        var out = tokens
        for (after, name) in aliases.reversed() {
            let offset = tokens[after].offset
            out.insert(
                contentsOf: [
                    Token(kind: .whitespace, text: " ", offset: offset),
                    Token(kind: .identifier, text: "AS", offset: offset),
                    Token(kind: .whitespace, text: " ", offset: offset),
                    Token(kind: .identifier, text: quoteIdentifier(name), offset: offset),
                ], at: after + 1)
        }
        return out
    }

    /// The items of every select list and RETURNING clause, as entry indices (significant
    /// tokens, nested parentheses included), without a leading DISTINCT or ALL.
    static func resultItems(_ outline: SyntaxOutline) -> [[Int]] {
        var items: [[Int]] = []
        var open: [Int: [Int]] = [:] // depth → the item being collected there
        func close(_ depth: Int) { if let item = open.removeValue(forKey: depth), !item.isEmpty { items.append(item) } }
        for (e, entry) in outline.entries.enumerated() {
            let token = outline.token(e)!
            for deeper in open.keys where deeper > entry.depth { close(deeper) }
            for outer in open.keys where outer < entry.depth { open[outer]!.append(e) } // inside an item's parentheses
            if token.isKeyword("SELECT") || token.isKeyword("RETURNING") {
                close(entry.depth)
                open[entry.depth] = []
                continue
            }
            if var item = open[entry.depth] {
                let inList = entry.clause == .selectList || entry.clause == .returning
                // A subquery's closing parenthesis sits one level out and closes its items above.
                if !inList {
                    close(entry.depth)
                    continue
                }
                if token.isPunctuation(",") {
                    close(entry.depth)
                    open[entry.depth] = []
                    continue
                }
                if item.isEmpty, token.isKeyword("DISTINCT") || token.isKeyword("ALL") { continue }
                item.append(e)
                open[entry.depth] = item
            }
        }
        for depth in open.keys.sorted(by: >) { close(depth) }
        return items
    }

    /// `expr AS name`, or `expr name` where the name follows a complete operand.
    static func hasAlias(_ outline: SyntaxOutline, _ item: [Int]) -> Bool {
        let depth = outline.entries[item[0]].depth
        let top = item.filter { outline.entries[$0].depth == depth }
        guard top.count >= 2, let last = outline.token(top[top.count - 1]),
            let previous = outline.token(top[top.count - 2])
        else { return false }
        guard (last.kind == .identifier && !last.isReservedWord) || last.kind == .string else { return false }
        if previous.isKeyword("AS") { return true }
        return previous.isPunctuation(")") || [.number, .string, .blob, .parameter].contains(previous.kind)
            || (previous.kind == .identifier && !previous.isReservedWord)
    }

    /// `col`, `t.col` or `*`-like items, which SQLite names by the column, not by the text.
    static func isBareColumn(_ outline: SyntaxOutline, _ item: [Int]) -> Bool {
        item.enumerated().allSatisfy { i, e in
            let token = outline.token(e)!
            return i % 2 == 0
                ? (token.kind == .identifier && !token.isReservedWord) || token.isPunctuation("*")
                : token.isPunctuation(".")
        }
    }

    private func willRewrite(_ outline: SyntaxOutline, _ e: Int) -> Bool {
        let token = outline.token(e)!
        switch token.kind {
        case .vectorOperator: return true
        case .parameter: return token.text == "?"
        case .punctuation: return token.isPunctuation("::") && outline.token(e + 1)?.isKeyword("VECTOR") == true
        case .identifier:
            // As `wrapCompressedColumns` decides: not a function or qualifier, an alias, or the
            // argument of compressed_size.
            return compressedColumns.contains(token.identifierName.lowercased())
                && outline.token(e + 1)?.isPunctuation("(") != true && outline.token(e + 1)?.isPunctuation(".") != true
                && outline.token(e - 1)?.isKeyword("AS") != true
                && !(outline.token(e - 1)?.isPunctuation("(") == true
                    && outline.token(e - 2)?.isKeyword("COMPRESSED_SIZE") == true)
        default: return false
        }
    }
}
