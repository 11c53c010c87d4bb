import QuiverIndex
import QuiverKernels
import QuiverStorage

/// Running a nearest-neighbour plan: the k row ids from `NearestNeighbourSearch`, then the final
/// SELECT over them, for the statement itself or for the nearest-neighbour blocks nested in it.
extension QueryExecutor {
    /// Runs a nearest-neighbour plan; nil when the query turns out not to fit it at run time
    /// (a NULL query vector, a non-integer LIMIT), in which case plain SQLite answers.
    func runNearest(_ plan: NearestNeighbourPlan, _ bindings: SQLBindings, efHint: Int?, exact: Bool = false) throws
        -> ResultSet?
    {
        search.trace.begin()
        guard let ids = try search.nearestIDs(plan, bindings, efHint: efHint, exact: exact, catalog: &catalog) else {
            return nil
        }
        let final = try connection.cachedStatement(plan.finalStatementWithBoundIDs)
        defer { final.reset() }
        try final.bind(plan.binding(ids, to: bindings))
        let result = try ResultReader.readAll(final, catalog: catalog, budget: resultBudget)
        search.trace.record(.finalSelect)
        return result
    }

    /// A nearest-neighbour SELECT nested in a statement — a CTE body, a subquery in FROM or IN —
    /// is answered the same way and replaced by its final form (restricted to the rows found),
    /// so a vector top-k inside ordinary SQL (GROUP BY, joins, rank fusion) costs what it costs
    /// on its own. Blocks that depend on the outer query (correlated) are left to SQLite.
    func answeringNestedNearest(_ statement: SQLStatement, _ bindings: SQLBindings, efHint: Int?, exact: Bool) throws
        -> SQLStatement?
    {
        // Only statements that run now: a view or trigger must keep its query, not today's rows.
        guard ["SELECT", "WITH", "VALUES", "INSERT", "REPLACE", "UPDATE", "DELETE"].contains(statement.leadingKeyword)
        else { return nil }
        let tokens = statement.tokens
        let outline = SyntaxOutline(tokens: tokens)
        var replacements: [(range: Range<Int>, text: String)] = []
        var e = 0
        while e < outline.entries.count {
            defer { e += 1 }
            guard outline.token(e)!.isPunctuation("("), let next = outline.token(e + 1),
                next.isKeyword("SELECT") || next.isKeyword("WITH"),
                let close = outline.matchingParenthesis(e)
            else { continue }
            let range = (outline.entries[e].tokenIndex + 1)..<outline.entries[close].tokenIndex
            let inner = SQLStatement(tokens: Array(tokens[range]))
            guard let plan = NearestNeighbourPlan.make(for: inner, catalog: catalog) else { continue }
            search.trace.begin()
            let found: [Int64]?
            do {
                found = try search.nearestIDs(plan, bindings, efHint: efHint, exact: exact, catalog: &catalog)
            } catch  where QueryVectorCheck.isRefusal(error) {
                throw error // SQLite would rank such a query arbitrarily, not refuse it
            } catch let error as SQLiteError where error.isInterrupt {
                throw error // cancelled or out of time: running it again in SQLite would undo that
            } catch {
                continue
            }
            guard let ids = found else { continue }
            replacements.append((range, plan.finalStatement(ids)))
            e = close // blocks inside this one are part of its answer
        }
        guard !replacements.isEmpty else { return nil }
        var out = tokens
        for replacement in replacements.reversed() {
            let offset = tokens[replacement.range.lowerBound].offset
            out.replaceSubrange(
                replacement.range, with: [Token(kind: .identifier, text: replacement.text, offset: offset)])
        }
        return SQLStatement(tokens: out)
    }
}
