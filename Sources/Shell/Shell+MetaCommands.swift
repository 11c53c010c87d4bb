import Foundation
import QuiverStorage

/// What each meta-command does. Catalog views go through SQL on the backend, so they work the
/// same embedded and over a connection.
extension Shell {
    func runMetaCommand(_ line: String) throws {
        switch try MetaCommand.parse(line) {
        case .help:
            output.write(MetaCommand.helpText)
        case .tables:
            let rows = try query(
                """
                SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') \(Self.userObjects) ORDER BY name
                """)
            let names = rows.compactMap { $0.first?.textValue }
            output.write(names.isEmpty ? "" : names.joined(separator: "\n") + "\n")
        case .schema(let table):
            try showSchema(of: table)
        case .indexes:
            try showIndexes()
        case .mode(let mode):
            if let mode { display.mode = mode } else { output.write("mode \(display.mode.rawValue)\n") }
        case .timer(let on):
            if let on { timer = on } else { output.write("timer \(timer ? "on" : "off")\n") }
        case .explain(let on):
            if let on { explain = on } else { output.write("explain \(explain ? "on" : "off")\n") }
        case .importFile(let path, let table):
            try importFile(path, into: table)
        case .export(let table, let path):
            try export(table, to: path)
        case .read(let path):
            try read(path)
        case .output(let path):
            try output.redirect(to: path)
        case .quit:
            quitRequested = true
        }
    }

    /// Leaves out SQLite's and Quiver's own bookkeeping (sqlite_*, _quiver_*, quiver:* triggers).
    static let userObjects = """
        AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_quiver%' ESCAPE '\\' AND name NOT LIKE 'quiver:%'
        """

    func query(_ sql: String) throws -> [[SQLValue]] {
        try backend.execute(sql).first?.rows ?? []
    }

    private func hnswIndexes(on table: String?) throws -> [[SQLValue]] {
        guard
            try query("SELECT count(*) FROM sqlite_schema WHERE name = '_quiver_indexes'").first?.first?.integerValue
                == 1
        else {
            return []
        }
        let filter = table.map { "WHERE table_name = \(Self.literal($0)) COLLATE NOCASE" } ?? ""
        return try query(
            "SELECT name, table_name, column_name, metric, m, ef_construction FROM _quiver_indexes \(filter) ORDER BY table_name, name"
        )
    }

    /// Full-text indexes (name, table, indexed columns), from their catalog table.
    private func fullTextIndexes(on table: String?) throws -> [(name: String, table: String, columns: [String])] {
        guard
            try query("SELECT count(*) FROM sqlite_schema WHERE name = '_quiver_fulltext_indexes'").first?.first?
                .integerValue == 1
        else {
            return []
        }
        let filter = table.map { "WHERE table_name = \(Self.literal($0)) COLLATE NOCASE" } ?? ""
        return try query(
            "SELECT name, table_name, columns FROM _quiver_fulltext_indexes \(filter) ORDER BY table_name, name"
        ).map { row in
            let json = Data((row[2].textValue ?? "[]").utf8)
            let columns = (try? JSONDecoder().decode([String].self, from: json)) ?? []
            return (row[0].textValue ?? "", row[1].textValue ?? "", columns)
        }
    }

    private func showSchema(of table: String?) throws {
        let filter = table.map { "AND tbl_name = \(Self.literal($0)) COLLATE NOCASE" } ?? ""
        let rows = try query(
            """
            SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL \(Self.userObjects) \(filter)
            ORDER BY tbl_name, CASE type WHEN 'table' THEN 0 WHEN 'view' THEN 1 WHEN 'index' THEN 2 ELSE 3 END, name
            """)
        var text = rows.compactMap { $0.first?.textValue.map { $0 + ";\n" } }.joined()
        for index in try hnswIndexes(on: table) {
            let t = index.map { $0.textValue ?? $0.integerValue.map(String.init) ?? "" }
            let ops = ["cosine": "vector_cosine_ops", "l2": "vector_l2_ops", "ip": "vector_ip_ops"][t[3]] ?? t[3]
            text +=
                "CREATE INDEX \(t[0]) ON \(t[1]) USING hnsw (\(t[2]) \(ops)) WITH (m = \(t[4]), ef_construction = \(t[5]));\n"
        }
        for index in try fullTextIndexes(on: table) {
            text +=
                "CREATE INDEX \(index.name) ON \(index.table) USING fts (\(index.columns.joined(separator: ", ")));\n"
        }
        if let table, text.isEmpty { throw StatementFailure(message: "no such table: \(table)") }
        output.write(text)
    }

    private func showIndexes() throws {
        var rows: [[SQLValue]] = try query(
            """
            SELECT name, tbl_name, 'sqlite', '' FROM sqlite_schema WHERE type = 'index' \(Self.userObjects) ORDER BY tbl_name, name
            """)
        for index in try hnswIndexes(on: nil) {
            let detail =
                "\(index[2].textValue ?? "") \(index[3].textValue ?? ""), m=\(index[4].integerValue ?? 0), ef_construction=\(index[5].integerValue ?? 0)"
            rows.append([index[0], index[1], .text("hnsw"), .text(detail)])
        }
        for index in try fullTextIndexes(on: nil) {
            rows.append([
                .text(index.name), .text(index.table), .text("fts"), .text(index.columns.joined(separator: ", ")),
            ])
        }
        show(ResultSet(columns: ["index", "table", "kind", "detail"], rows: rows))
    }

    private func read(_ path: String) throws {
        // A file that reads itself would recurse until the stack overflows.
        guard scripts.count <= Self.maximumScriptNesting else {
            throw StatementFailure(
                message:
                    ".read \(path): scripts nest more than \(Self.maximumScriptNesting) deep; does a file read itself?")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StatementFailure(message: "cannot read \(path)")
        }
        var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)[...]
        if lines.last == "" { lines = lines.dropLast() }
        let succeeded = runLines(named: path) { lines.popFirst().map(String.init) }
        if !succeeded { throw StatementFailure(message: "\(path) stopped with errors") }
    }

    /// An SQL string literal.
    static func literal(_ text: String) -> String {
        quoteLiteral(text)
    }

    /// An SQL quoted identifier.
    static func identifier(_ name: String) -> String {
        quoteIdentifier(name)
    }
}
