import QuiverStorage

/// Finds where in a statement a vector error lies. Vector literals are checked while the
/// statement runs (in SQL functions and triggers), where SQLite knows no source position, so the
/// position is recovered from the text: the first vector literal that does not parse, at the
/// byte where parsing stopped; else, for a wrong dimension, the first literal of the dimension
/// the message names.
public enum VectorLiteralLocator {
    /// A byte offset in the statement's script (as `Token.offset`), or nil when the error is not
    /// about a literal in the text.
    public static func offset(of message: String, in statement: SQLStatement) -> Int? {
        guard message.contains("vector") || message.contains("dimensions") || message.contains("element") else { return nil }
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
        if let got = dimensionsGot(in: message), let literal = parsed.first(where: { $0.count == got }) {
            return literal.offset
        }
        return nil
    }

    /// M in "… expected N dimensions, got M".
    private static func dimensionsGot(in message: String) -> Int? {
        guard message.contains("dimensions") else { return nil }
        let words = message.split(separator: " ")
        guard let got = words.lastIndex(of: "got"), got + 1 < words.count else { return nil }
        return Int(words[got + 1].prefix { $0.isNumber })
    }
}
