/// A lexical token of SQL, with its byte range in the source text (SQLite reports error
/// offsets in bytes, so positions stay in bytes throughout).
public struct Token: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case whitespace // spaces and comments: kept so rewritten SQL reads like the original
        case identifier // bare word (including keywords) or "quoted", [bracketed], `backticked`
        case string // 'literal'
        case blob // X'00ff'
        case number
        case parameter // ?, ?NNN, :name, @name, $name
        case vectorOperator // <->, <=>, <#>
        case punctuation // ( ) , ; . and other operators
    }

    public var kind: Kind
    public var text: String
    public var offset: Int

    public var isTrivia: Bool { kind == .whitespace }

    /// True for a bare identifier equal to `keyword`, ignoring case (quoted names never match).
    public func isKeyword(_ keyword: String) -> Bool {
        kind == .identifier && text.count == keyword.count && text.uppercased() == keyword
    }

    public func isPunctuation(_ symbol: String) -> Bool { kind == .punctuation && text == symbol }

    /// The identifier's name with quoting removed.
    public var identifierName: String {
        guard kind == .identifier, let first = text.first else { return text }
        switch first {
        case "\"": return String(text.dropFirst().dropLast()).replacingDoubled("\"")
        case "`": return String(text.dropFirst().dropLast()).replacingDoubled("`")
        case "[": return String(text.dropFirst().dropLast())
        default: return text
        }
    }

    /// True when this bare word is one of SQLite's keywords that cannot start an operand.
    public var isReservedWord: Bool {
        kind == .identifier && text.first.map { $0 != "\"" && $0 != "`" && $0 != "[" } == true
            && Token.reserved.contains(text.uppercased())
    }

    static let reserved: Set<String> = [
        "SELECT", "FROM", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "UNION", "INTERSECT", "EXCEPT",
        "AND", "OR", "NOT", "AS", "ON", "USING", "JOIN", "LEFT", "RIGHT", "FULL", "INNER", "OUTER", "CROSS",
        "NATURAL", "WINDOW", "BY", "ASC", "DESC", "NULLS", "FIRST", "LAST", "IS", "IN", "LIKE", "GLOB", "MATCH",
        "REGEXP", "BETWEEN", "CASE", "WHEN", "THEN", "ELSE", "END", "VALUES", "SET", "INTO", "INSERT", "UPDATE",
        "DELETE", "RETURNING", "DISTINCT", "ALL", "WITH", "ESCAPE", "COLLATE", "DO", "CONFLICT", "FILTER", "OVER",
    ]
}

extension String {
    func replacingDoubled(_ quote: Character) -> String {
        var out = ""
        var previousWasQuote = false
        for c in self {
            if c == quote && previousWasQuote {
                previousWasQuote = false
                continue
            }
            previousWasQuote = c == quote
            out.append(c)
        }
        return out
    }
}
