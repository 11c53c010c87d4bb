import QuiverIndex
import QuiverKernels
import QuiverStorage

/// Statements about Quiver's indexes that SQLite does not know, in pgvector's syntax:
///
///     CREATE INDEX [IF NOT EXISTS] name ON table USING hnsw (column [vector_cosine_ops])
///         [WITH (m = 16, ef_construction = 64)]
///     CREATE INDEX [IF NOT EXISTS] name ON table USING fts (column [, column …])
///     DROP INDEX [IF EXISTS] name          -- when name is a vector or full-text index
///     REINDEX name                         -- rebuilds it from the rows
///     SET [LOCAL] hnsw.ef_search = 100     -- or TO 100; RESET hnsw.ef_search; SHOW hnsw.ef_search
///
/// and the per-query hints `/*+ hnsw.ef_search = 100 */` and `/*+ exact */` anywhere in a SELECT.
public enum IndexStatement: Equatable {
    case create(
        name: String, table: String, column: String, metric: DistanceMetric, m: Int, efConstruction: Int,
        ifNotExists: Bool)
    case createFullText(name: String, table: String, columns: [String], ifNotExists: Bool)
    case drop(name: String, ifExists: Bool)
    case reindex(name: String)
    case setEfSearch(Int?, local: Bool) // nil: reset
    case showEfSearch

    public struct SyntaxError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The index statement this is, nil for anything else (left to SQLite). `isQuiverIndex`
    /// tells whether a name belongs to one of Quiver's indexes, of any kind (DROP and REINDEX).
    public static func parse(_ statement: SQLStatement, isQuiverIndex: (String) -> Bool) throws -> IndexStatement? {
        let t = statement.significant
        let words = t.map { $0.kind == .identifier ? $0.text.uppercased() : $0.text }
        guard let first = words.first else { return nil }
        switch first {
        case "CREATE" where words.contains("USING"):
            return try parseCreate(t, words)
        case "DROP" where words.count >= 3 && words[1] == "INDEX":
            let ifExists = words.count >= 5 && words[2] == "IF" && words[3] == "EXISTS"
            let name = t[ifExists ? 4 : 2].identifierName
            return isQuiverIndex(name) && t.count == (ifExists ? 5 : 3) ? .drop(name: name, ifExists: ifExists) : nil
        case "REINDEX" where t.count == 2 && isQuiverIndex(t[1].identifierName):
            return .reindex(name: t[1].identifierName)
        case "SET", "RESET", "SHOW":
            return try parseSetting(t, words)
        default:
            return nil
        }
    }

    private static func parseCreate(_ t: [Token], _ words: [String]) throws -> IndexStatement? {
        // CREATE INDEX [IF NOT EXISTS] name ON table USING method ( column [opclass] ) [WITH ( k = v, … )]
        var i = 1
        guard words.count > i, words[i] == "INDEX" else { return nil }
        i += 1
        var ifNotExists = false
        if words.count > i + 2, words[i] == "IF", words[i + 1] == "NOT", words[i + 2] == "EXISTS" {
            ifNotExists = true
            i += 3
        }
        guard words.count > i + 4, t[i].kind == .identifier, words[i + 1] == "ON", t[i + 2].kind == .identifier,
            words[i + 3] == "USING"
        else {
            throw SyntaxError(description: "expected CREATE INDEX name ON table USING hnsw (column [opclass])")
        }
        let name = t[i].identifierName
        let table = t[i + 2].identifierName
        let method = t[i + 4].identifierName.lowercased()
        if method == "fts" {
            return .createFullText(
                name: name, table: table, columns: try parseColumnList(t, words, from: i + 5),
                ifNotExists: ifNotExists)
        }
        guard method == "hnsw" else {
            throw SyntaxError(description: "unknown index method '\(method)'; Quiver builds USING hnsw or USING fts")
        }
        i += 5
        guard words.count > i + 2, words[i] == "(", t[i + 1].kind == .identifier else {
            throw SyntaxError(
                description: "expected (column [vector_cosine_ops | vector_l2_ops | vector_ip_ops]) after USING hnsw")
        }
        let column = t[i + 1].identifierName
        i += 2
        var metric = DistanceMetric.cosine
        if words[i] != ")" {
            guard let named = DistanceMetric(name: t[i].identifierName), t[i].identifierName.hasSuffix("_ops") else {
                throw SyntaxError(
                    description:
                        "unknown operator class '\(t[i].text)'; use vector_cosine_ops, vector_l2_ops or vector_ip_ops")
            }
            metric = named
            i += 1
        }
        guard i < words.count, words[i] == ")" else {
            throw SyntaxError(description: "expected ')' after the column of USING hnsw")
        }
        i += 1
        var m = HNSWParameters.defaultM
        var efConstruction = HNSWParameters.defaultEfConstruction
        if i < words.count {
            guard words[i] == "WITH", i + 1 < words.count, words[i + 1] == "(" else {
                throw SyntaxError(
                    description:
                        "unexpected '\(t[i].text)' after the index column; options go in WITH (m = 16, ef_construction = 64)"
                )
            }
            i += 2
            while i < words.count, words[i] != ")" {
                guard i + 2 < words.count, words[i + 1] == "=", let value = Int(t[i + 2].text) else {
                    throw SyntaxError(description: "index options are written name = integer, as in WITH (m = 16)")
                }
                switch t[i].identifierName.lowercased() {
                case "m": m = value
                case "ef_construction": efConstruction = value
                case let other:
                    throw SyntaxError(description: "unknown hnsw option '\(other)'; known: m, ef_construction")
                }
                i += 3
                if i < words.count, words[i] == "," { i += 1 }
            }
            guard i == words.count - 1 else { throw SyntaxError(description: "expected ')' to close WITH (…)") }
        }
        return .create(
            name: name, table: table, column: column, metric: metric, m: m, efConstruction: efConstruction,
            ifNotExists: ifNotExists)
    }

    /// `( column [, column …] )` ending the statement, for USING fts.
    private static func parseColumnList(_ t: [Token], _ words: [String], from start: Int) throws -> [String] {
        let expected = "expected (column [, column …]) after USING fts"
        guard start < words.count, words[start] == "(" else { throw SyntaxError(description: expected) }
        var columns: [String] = []
        var i = start + 1
        while true {
            guard i + 1 < words.count, t[i].kind == .identifier, words[i + 1] == "," || words[i + 1] == ")" else {
                throw SyntaxError(description: expected)
            }
            columns.append(t[i].identifierName)
            i += 2
            if words[i - 1] == ")" { break }
        }
        guard i == words.count else {
            throw SyntaxError(description: "unexpected '\(t[i].text)' after the columns of USING fts")
        }
        return columns
    }

    private static func parseSetting(_ t: [Token], _ words: [String]) throws -> IndexStatement? {
        var i = 1
        var local = false
        if words.first == "SET", words.count > 1, words[1] == "LOCAL" {
            local = true
            i = 2
        }
        guard words.count >= i + 3, words[i] == "HNSW", words[i + 1] == ".", words[i + 2] == "EF_SEARCH" else {
            return nil
        }
        switch words[0] {
        case "RESET": return .setEfSearch(nil, local: false)
        case "SHOW": return .showEfSearch
        default:
            guard words.count == i + 5, words[i + 3] == "=" || words[i + 3] == "TO", let value = Int(t[i + 4].text),
                HNSWParameters.efSearchRange.contains(value)
            else {
                let range = HNSWParameters.efSearchRange
                throw SyntaxError(
                    description:
                        "expected SET hnsw.ef_search = N with N between \(range.lowerBound) and \(range.upperBound)")
            }
            return .setEfSearch(value, local: local)
        }
    }

    /// True when the statement carries the `/*+ exact */` hint: answer by the exact scan even
    /// where an index could (the oracle for recall, in SQL).
    public static func exactHint(in statement: SQLStatement) -> Bool {
        statement.tokens.contains { token in
            token.kind == .whitespace && token.text.hasPrefix("/*+")
                && token.text.dropFirst(3).dropLast(2).lowercased().filter { !$0.isWhitespace } == "exact"
        }
    }

    /// The `/*+ hnsw.ef_search = N */` hint of a statement, if any.
    public static func efSearchHint(in statement: SQLStatement) -> Int? {
        for token in statement.tokens where token.kind == .whitespace && token.text.hasPrefix("/*+") {
            let body = token.text.dropFirst(3).dropLast(2).lowercased().filter { !$0.isWhitespace }
            if body.hasPrefix("hnsw.ef_search="), let value = Int(body.dropFirst("hnsw.ef_search=".count)), value >= 1 {
                return value
            }
        }
        return nil
    }
}
