/// Where each significant token of a statement sits: its parenthesis depth and the clause of
/// the query block it belongs to. Enough structure for the rewriter and the planner to tell a
/// column in a WHERE clause from a column in an INSERT column list, without a full SQL grammar.
public struct SyntaxOutline {
    public enum Clause: Sendable, Equatable {
        case leading // before any clause keyword (statement head: INSERT INTO t, UPDATE t, …)
        case with // WITH name(cols) AS (…), …
        case selectList
        case from // table names and aliases
        case joinCondition // ON …
        case `where`, groupBy, having, window, orderBy, limit
        case set // UPDATE … SET / DO UPDATE SET
        case values
        case returning
        case columnList // INSERT INTO t (cols), USING (cols), ON CONFLICT (cols), cte(cols)
        case compound // after UNION / INTERSECT / EXCEPT, before the next SELECT
        case parenthesized // any other parentheses (function arguments, expressions)
    }

    public struct Entry: Sendable {
        public var tokenIndex: Int // into the statement's full token list
        public var depth: Int
        public var clause: Clause
    }

    /// Significant tokens only, in order.
    public private(set) var entries: [Entry] = []
    public let tokens: [Token]

    public init(tokens: [Token]) {
        self.tokens = tokens
        var stack: [Clause] = [.leading]
        var previous: [Token] = [] // significant tokens seen so far
        for (index, token) in tokens.enumerated() where !token.isTrivia {
            let depth = stack.count - 1
            if token.isPunctuation("(") {
                entries.append(Entry(tokenIndex: index, depth: depth, clause: stack[depth]))
                stack.append(Self.clauseOpened(after: previous, in: stack[depth]))
                previous.append(token)
                continue
            }
            if token.isPunctuation(")") {
                if stack.count > 1 { stack.removeLast() }
                entries.append(Entry(tokenIndex: index, depth: stack.count - 1, clause: stack[stack.count - 1]))
                previous.append(token)
                continue
            }
            if let clause = Self.clauseStarted(by: token, previous: previous.last, current: stack[depth]) {
                stack[depth] = clause
            }
            entries.append(Entry(tokenIndex: index, depth: depth, clause: stack[depth]))
            previous.append(token)
        }
    }

    private static func clauseOpened(after previous: [Token], in clause: Clause) -> Clause {
        guard let last = previous.last else { return .parenthesized }
        if last.isKeyword("USING") || last.isKeyword("CONFLICT") { return .columnList }
        if last.kind == .identifier, !last.isReservedWord, previous.count >= 2 {
            let before = previous[previous.count - 2]
            if before.isKeyword("INTO") { return .columnList } // INSERT INTO t (
            if clause == .with
                && (before.isKeyword("WITH") || before.isKeyword("RECURSIVE")
                    || before.isPunctuation(","))
            {
                return .columnList
            } // WITH t(
            if previous.count >= 4, previous[previous.count - 2].isKeyword("AS"),
                previous[previous.count - 4].isKeyword("INTO")
            {
                return .columnList
            } // INTO t AS a (
        }
        return .parenthesized
    }

    private static func clauseStarted(by token: Token, previous: Token?, current: Clause) -> Clause? {
        guard token.kind == .identifier, token.isReservedWord || token.isKeyword("REPLACE") else { return nil }
        switch token.text.uppercased() {
        case "WITH" where current == .leading || current == .parenthesized: return .with
        case "SELECT": return .selectList
        case "FROM" where current != .with: return .from
        case "JOIN" where current == .joinCondition: return .from
        case "ON" where current == .from: return .joinCondition
        case "WHERE": return .where
        case "GROUP": return .groupBy
        case "HAVING": return .having
        case "WINDOW": return .window
        case "ORDER": return .orderBy
        case "LIMIT": return .limit
        case "SET": return .set
        case "VALUES": return .values
        case "RETURNING": return .returning
        case "UNION", "INTERSECT", "EXCEPT": return .compound
        case "DO" where current == .leading || current == .values || current == .selectList || current == .where:
            return .leading
        default: return nil
        }
    }

    /// Position in `entries` of the significant token at `tokenIndex`.
    public func entryIndex(ofToken tokenIndex: Int) -> Int? {
        entries.firstIndex { $0.tokenIndex == tokenIndex }
    }

    public func token(_ entry: Int) -> Token? {
        entry >= 0 && entry < entries.count ? tokens[entries[entry].tokenIndex] : nil
    }

    /// The entry of the parenthesis matching the one at `entry` (either direction).
    public func matchingParenthesis(_ entry: Int) -> Int? {
        guard let token = token(entry) else { return nil }
        let depth = entries[entry].depth
        if token.isPunctuation("(") {
            var i = entry + 1
            while i < entries.count {
                if self.token(i)!.isPunctuation(")") && entries[i].depth == depth { return i }
                i += 1
            }
        } else if token.isPunctuation(")") {
            var i = entry - 1
            while i >= 0 {
                if self.token(i)!.isPunctuation("(") && entries[i].depth == depth { return i }
                i -= 1
            }
        }
        return nil
    }
}
