import QuiverStorage

/// Finds where in a statement a vector error lies. Vector literals are checked while the
/// statement runs (in SQL functions and triggers), where SQLite knows no source position, so the
/// position is recovered from the text: the first vector literal that does not parse, at the
/// byte where parsing stopped; else, for a wrong dimension, the first literal of the dimension
/// the refusal names.
public enum VectorLiteralLocator {
    /// A byte offset in the statement's script (as `Token.offset`), or nil when the refusal is not
    /// about a literal in the text.
    public static func offset(of refusal: QuiverError?, in statement: SQLStatement) -> Int? {
        guard let refusal, refusal.isAboutAVector else { return nil }
        let literals = statement.tokens.compactMap { token -> (offset: Int, text: String)? in
            guard token.kind == .string, token.text.count >= 2 else { return nil }
            let body = String(token.text.dropFirst().dropLast())
            guard body.trimmingSpaces().hasPrefix("[") else { return nil }
            return (token.offset + 1, body)
        }
        var parsed: [(offset: Int, count: Int)] = []
        for literal in literals {
            do {
                parsed.append((literal.offset, try VectorCodec.parse(literal.text).count))
            } catch {
                return literal.offset + (error.position ?? 0)
            }
        }
        if case .dimensionMismatch(_, _, let got) = refusal, let literal = parsed.first(where: { $0.count == got }) {
            return literal.offset
        }
        return nil
    }
}
