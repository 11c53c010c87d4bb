import QuiverQuery
import QuiverStorage

/// What a script from a caller (restricted `SQLAccess`: a server's user) must be, beyond what
/// the authorizer checks in each statement, checked before any statement runs: the script is
/// one transaction, all or nothing, so it holds no BEGIN, COMMIT, END or ROLLBACK (savepoints
/// nest inside it) and no VACUUM (which cannot run in a transaction); every parameter value
/// given is used by some statement, rather than silently ignored; and no statement names more
/// than `maxNamedParameters` parameters.
enum CallerScript {
    /// Named and numbered parameters (`:a`, `@a`, `$a`, `?7`) one statement may hold: SQLite
    /// looks each one up among those before it while preparing, so their cost grows with the
    /// square of their number (16,000 held a connection for seconds, and the watchdog's interrupt
    /// does not reach a prepare). Plain `?` are numbered without a look-up and are not counted;
    /// a server's query `where` has the same bound.
    static let maxNamedParameters = 1_000

    /// Refusals are access denials on `connection` (as the authorizer's are), so a server
    /// answers them as it answers the authorizer's.
    static func check(_ statements: [SQLStatement], _ bindings: SQLBindings, on connection: Connection) throws {
        for (index, statement) in statements.enumerated() {
            guard let reason = refusal(of: statement) else { continue }
            throw Database.StatementError(
                underlying: connection.accessDenied(reason), statementIndex: index + 1,
                statementCount: statements.count)
        }
        for (index, statement) in statements.enumerated() {
            let named = statement.tokens.count { $0.kind == .parameter && $0.text != "?" }
            guard named > maxNamedParameters else { continue }
            throw Database.StatementError(
                underlying: SQLiteError(
                    .limitExceeded(
                        "\(named) named or numbered parameters in one statement; the limit is \(maxNamedParameters) (plain ? parameters have none, and a list of values can be one JSON array read with json_each)"
                    )),
                statementIndex: index + 1, statementCount: statements.count)
        }
        try checkEveryParameterUsed(statements, bindings)
    }

    private static func refusal(of statement: SQLStatement) -> String? {
        let words = statement.leadingKeywords(3)
        switch words.first {
        case "BEGIN", "COMMIT", "END":
            return
                "\(words[0]) is not allowed here: the script already runs as one transaction, all or nothing (send its statements without BEGIN and COMMIT)"
        case "ROLLBACK" where !words.contains("TO"):
            return
                "ROLLBACK is not allowed here: the script runs as one transaction, and any error rolls all of it back (ROLLBACK TO a savepoint is fine)"
        case "VACUUM":
            return
                "VACUUM is not allowed here: it cannot run inside the transaction each request is; run it on the server's machine with quiver sql --db DIR \"VACUUM\""
        default:
            return nil
        }
    }

    /// Positional values are numbered as SQLite numbers parameters: `?N` is N, a plain `?` and a
    /// new name take one more than the highest so far. Named values are matched by name.
    private static func checkEveryParameterUsed(_ statements: [SQLStatement], _ bindings: SQLBindings) throws {
        var usedIndexes = Set<Int>()
        var usedNames = Set<String>()
        var plainCount = 0
        for statement in statements {
            var highest = 0
            var names: [String: Int] = [:]
            for token in statement.tokens where token.kind == .parameter {
                if token.text == "?" {
                    highest += 1
                    plainCount += 1
                    usedIndexes.insert(highest)
                } else if token.text.hasPrefix("?"), let number = Int(token.text.dropFirst()) {
                    highest = max(highest, number)
                    usedIndexes.insert(number)
                } else if names[token.text] == nil {
                    highest += 1
                    names[token.text] = highest
                    usedNames.insert(String(token.text.dropFirst()))
                }
            }
        }
        // Plain ? across several statements take the values in order (Database.bindings).
        let numbered =
            usedIndexes.count > 0
            && statements.contains {
                $0.tokens.contains { $0.kind == .parameter && $0.text.count > 1 && $0.text.hasPrefix("?") }
            }
        let used = statements.count > 1 && plainCount > 0 && !numbered ? Set(1...plainCount) : usedIndexes
        let unused = bindings.positional.indices.map { $0 + 1 }.filter { !used.contains($0) }
        if !unused.isEmpty {
            throw SQLiteError(
                .parameterMismatch(
                    "parameter value\(unused.count == 1 ? "" : "s") \(unused.map { "?\($0)" }.joined(separator: ", ")) given but used by no statement"
                ))
        }
        let unusedNames = bindings.named.keys.filter { !usedNames.contains($0) }.sorted()
        if !unusedNames.isEmpty {
            throw SQLiteError(
                .parameterMismatch(
                    "parameter\(unusedNames.count == 1 ? "" : "s") \(unusedNames.map { ":\($0)" }.joined(separator: ", ")) given but used by no statement"
                ))
        }
    }
}
