/// Quotes an identifier for SQL: `docs` → `"docs"`, `a"b` → `"a""b"`. The one place an
/// identifier is quoted, so every layer names tables and columns alike.
public func quoteIdentifier(_ name: String) -> String {
    "\"" + name.doubling("\"") + "\""
}

/// Quotes a string literal for SQL: `it's` → `'it''s'`.
public func quoteLiteral(_ text: String) -> String {
    "'" + text.doubling("'") + "'"
}

extension String {
    /// The text with every `quote` doubled, scalar by scalar, for quoting it in SQL or CSV.
    /// (`replacingOccurrences` compares characters, and a quote followed by a combining mark —
    /// `"` then U+0301 — is one character that is not a quote: it would stay single and end
    /// the quoted text early, letting the rest be read as SQL.)
    public func doubling(_ quote: Unicode.Scalar) -> String {
        var out = String.UnicodeScalarView()
        for scalar in unicodeScalars {
            if scalar == quote { out.append(quote) }
            out.append(scalar)
        }
        return String(out)
    }
}
