import QuiverDedupe
import QuiverIndex
import QuiverIndexing
import QuiverKernels
import QuiverProgress
import QuiverStorage

/// Runs single statements of Quiver SQL on one connection: dispatches each to its path
/// (DEDUPE, index statements, EXPLAIN, nearest-neighbour plans, plain SQLite), rewrites and
/// plans it once per text (the plan cache), keeps the catalog and the maintenance triggers in
/// step with DDL, and decodes results. Finding nearest rows is `search`'s part.
public final class QueryExecutor {
    public let connection: Connection
    public internal(set) var catalog: Catalog

    /// What the last statement's nearest-neighbour search did.
    public var lastReport: ExecutionTrace { search.trace }
    /// What the last DEDUPE did.
    public internal(set) var lastDedupe: DedupeReport?
    /// Told how far a long statement (DEDUPE, an index build) has got, on the thread running it.
    public var progressHandler: ((Progress) -> Void)?
    /// Raised by `interrupt()` from any thread; long loops outside SQLite check it.
    let interruptFlag = CancellationFlag()

    /// Bounds what the results of the statements run from now on may hold; nil: no bound.
    public var resultBudget: ResultBudget?
    /// Rewritten statements and plans by statement text (see `prepared`).
    private var preparedStatements:
        [String: (
            schemaVersion: Int64, indexes: Int, rewritten: SQLStatement,
            plan: NearestNeighbourPlan?, readsFullText: Bool
        )] = [:]
    let indexes: VectorIndexes
    /// Full-text indexes: created, dropped and kept in step with this connection's writes.
    let fullText: FullTextIndexes
    /// Nearest-neighbour search: its `ef_search` settings and what it remembers between queries.
    package let search: NearestNeighbourSearch

    public init(connection: Connection, indexDirectory: String) throws {
        self.connection = connection
        self.catalog = try Catalog.load(from: connection)
        self.indexes = VectorIndexes(connection: connection, directory: indexDirectory, kind: HNSWIndexKind())
        self.search = NearestNeighbourSearch(connection: connection, indexes: indexes)
        self.fullText = FullTextIndexes(connection: connection)
        fullText.catalog = catalog
        connection.transactionHooks.afterEveryTransaction { [weak self] in self?.search.transactionEnded() }
        // What the transaction wrote reaches its full-text indexes before it commits (a bulk
        // writer's batches, executeMany, scripts).
        connection.transactionHooks.beforeEveryCommit { [weak self] in
            guard let self else { return }
            try fullText.applyPending()
        }
    }

    /// Reloads the catalog when another connection changed the schema.
    public func refreshCatalogIfStale() throws {
        let version = try connection.scalar("PRAGMA schema_version")?.integerValue ?? 0
        if version != catalog.schemaVersion { try reloadCatalog() }
    }

    /// Reads the catalog from the schema, for this runner and its full-text indexes.
    private func reloadCatalog() throws {
        catalog = try Catalog.load(from: connection)
        fullText.catalog = catalog
    }

    /// Reloads the catalog and brings the maintenance triggers in line with it. Call inside
    /// the transaction that changed the schema, so a failure undoes the change too.
    public func schemaDidChange() throws {
        try reloadCatalog()
        // An index whose table or column is gone (DROP TABLE, DROP COLUMN) goes with it.
        for definition in catalog.indexes
        where catalog.table(named: definition.table)?.column(named: definition.column) == nil {
            try indexes.drop(definition)
        }
        for definition in catalog.fullTextIndexes {
            let table = catalog.table(named: definition.table)
            if table == nil || definition.columns.contains(where: { table?.column(named: $0) == nil }) {
                try fullText.drop(definition)
            }
        }
        try MaintenanceTriggers.synchronize(connection, catalog: catalog)
        try reloadCatalog()
    }

    /// `ALTER TABLE t RENAME TO u` and `… RENAME [COLUMN] a TO b` carry indexes along.
    private func followRenames(_ statement: SQLStatement) throws {
        let t = statement.significant
        let words = t.map { $0.text.uppercased() }
        guard words.count >= 6, words[0] == "ALTER", words[1] == "TABLE", words[3] == "RENAME" else { return }
        let table = t[2].identifierName
        for var definition in catalog.fullTextIndexes(on: table) {
            if words[4] == "TO", words.count == 6 {
                definition.table = t[5].identifierName
            } else if let to = words.lastIndex(of: "TO"), to == words.count - 2, to >= 5 {
                let old = t[to - 1].identifierName
                definition.columns = definition.columns.map {
                    $0.caseInsensitiveEquals(old) ? t[to + 1].identifierName : $0
                }
            }
            try definition.update(in: connection)
        }
        guard !catalog.indexes(on: table).isEmpty else { return }
        try connection.execute(IndexDefinition.createTables)
        if words[4] == "TO", words.count == 6 {
            let renamed = SQLBindings([.text(t[5].identifierName), .text(table)])
            _ = try connection.query(
                "UPDATE _quiver_indexes SET table_name = ?1 WHERE table_name = ?2 COLLATE NOCASE", renamed)
            _ = try connection.query(
                "UPDATE _quiver_changes SET table_name = ?1 WHERE table_name = ?2 COLLATE NOCASE", renamed)
        } else if let to = words.lastIndex(of: "TO"), to == words.count - 2, to >= 5 {
            _ = try connection.query(
                "UPDATE _quiver_indexes SET column_name = ?1 WHERE table_name = ?2 COLLATE NOCASE AND column_name = ?3 COLLATE NOCASE",
                SQLBindings([.text(t[to + 1].identifierName), .text(table), .text(t[to - 1].identifierName)]))
        }
    }

    public func run(_ statement: SQLStatement, _ bindings: SQLBindings = .none) throws -> ResultSet {
        if !catalog.fullTextIndexes.isEmpty, !connection.isInTransaction, Self.mayWrite(statement) {
            // On its own the statement would commit before its full-text indexes took its rows.
            return try connection.transaction(.immediate) { try runStatement(statement, bindings) }
        }
        return try runStatement(statement, bindings)
    }

    /// Whether a statement may change rows or the schema (by its first word; WITH may).
    private static func mayWrite(_ statement: SQLStatement) -> Bool {
        let writing: Set<String> = [
            "INSERT", "UPDATE", "DELETE", "REPLACE", "WITH", "DEDUPE", "CREATE", "DROP", "ALTER", "REINDEX",
        ]
        return statement.leadingKeywords(1).first.map(writing.contains) ?? false
    }

    private func runStatement(_ statement: SQLStatement, _ bindings: SQLBindings) throws -> ResultSet {
        search.trace = ExecutionTrace()
        // The statement may be the caller's own COMMIT or ROLLBACK.
        defer { connection.settleEndedTransaction() }
        let changesBefore = connection.totalChanges
        defer {
            if connection.isInTransaction && connection.totalChanges != changesBefore {
                search.hasUncommittedWrites = true
            }
        }
        if DedupeStatement.isDedupe(statement) {
            return try runDedupe(statement, bindings)
        }
        if let indexStatement = try parseIndexStatement(statement) {
            return try run(indexStatement)
        }
        if let (inner, analyze) = explained(statement),
            let explanation = try explain(inner, analyze: analyze, bindings: bindings)
        {
            return explanation
        }
        let (rewritten, plan, readsFullText) = try prepared(statement)
        let words = statement.leadingKeywords(5)
        // A full-text search sees this transaction's own writes, and a caller's COMMIT commits
        // its full-text indexes with its rows.
        if !catalog.fullTextIndexes.isEmpty, readsFullText || ["COMMIT", "END", "RELEASE"].contains(words.first ?? "") {
            try fullText.applyPending()
        }
        let changesSchema = ["CREATE", "ALTER", "DROP"].contains(words.first ?? "")
        if words.starts(with: ["ALTER", "TABLE"]), words.contains("DROP"), let table = alteredTable(statement) {
            try MaintenanceTriggers.dropAll(on: table, connection)
        }
        if words.starts(with: ["ALTER", "TABLE"]) { try followRenames(statement) }
        let result: ResultSet
        if let plan, let planned = try runNearestReportingAsWritten(plan, rewritten, bindings, statement) {
            result = planned
        } else if let nested = try answeringNestedNearest(
            rewritten, bindings, efHint: IndexStatement.efSearchHint(in: statement),
            exact: IndexStatement.exactHint(in: statement))
        {
            result = try runPlain(nested, bindings)
        } else {
            result = try runPlain(rewritten, bindings)
        }
        if changesSchema { try schemaDidChange() }
        return result
    }

    /// `runNearest`, except that SQL the plan generated which SQLite cannot prepare (a syntax
    /// error in the LIMIT, say) is reported as the statement as written reports it, at its own
    /// position: SQLite's offset into the generated text would point anywhere.
    private func runNearestReportingAsWritten(
        _ plan: NearestNeighbourPlan, _ rewritten: SQLStatement, _ bindings: SQLBindings,
        _ statement: SQLStatement
    ) throws -> ResultSet? {
        do {
            return try runNearest(
                plan, bindings, efHint: IndexStatement.efSearchHint(in: statement),
                exact: IndexStatement.exactHint(in: statement))
        } catch let error as SQLiteError where error.offset != nil {
            return try runPlain(rewritten, bindings)
        }
    }

    /// The rewritten statement and its nearest-neighbour plan, reused while the schema is
    /// unchanged: applications run the same query text over and over with new bindings, and
    /// rewriting and planning cost more than a fast index search.
    private func prepared(_ statement: SQLStatement) throws -> (SQLStatement, NearestNeighbourPlan?, Bool) {
        let key = statement.text
        if let cached = preparedStatements[key], cached.schemaVersion == catalog.schemaVersion,
            cached.indexes == catalog.indexes.count
        {
            return (cached.rewritten, cached.plan, cached.readsFullText)
        }
        let rewriter = Rewriter(compressedColumns: catalog.compressedColumnNames, catalog: catalog)
        let rewritten: SQLStatement
        do {
            rewritten = try rewriter.rewrite(statement)
        } catch let error as Rewriter.SyntaxError {
            throw SQLiteError(.syntax(error.message, offset: error.offset), sql: statement.text)
        }
        let plan = NearestNeighbourPlan.make(for: rewritten, catalog: catalog)
        let readsFullText = Rewriter.searchesFullText(rewritten)
        if preparedStatements.count >= 256 { preparedStatements.removeAll() }
        preparedStatements[key] = (catalog.schemaVersion, catalog.indexes.count, rewritten, plan, readsFullText)
        return (rewritten, plan, readsFullText)
    }

    /// Prepares a statement that returns no rows (INSERT, UPDATE, DELETE) for repeated execution.
    public func prepareWrite(_ statement: SQLStatement) throws -> Statement {
        let rewritten = try Rewriter(compressedColumns: catalog.compressedColumnNames).rewrite(statement)
        let prepared = try connection.prepare(rewritten.text)
        guard prepared.columnCount == 0 else {
            throw SQLiteError(.unsupported("executeMany runs statements that return no rows"), sql: statement.text)
        }
        return prepared
    }

    private func runPlain(_ statement: SQLStatement, _ bindings: SQLBindings) throws -> ResultSet {
        let prepared: Statement
        do {
            prepared = try connection.prepare(statement.text)
        } catch var error as SQLiteError {
            error.offset = error.offset.map { originalOffset(of: $0, in: statement) }
            throw error
        }
        try prepared.bind(bindings)
        return try ResultReader.readAll(prepared, catalog: catalog, budget: resultBudget)
    }

    /// An index that can answer nearest-neighbour queries on this column and metric, caught
    /// up with the rows; nil when there is none or this connection has uncommitted writes.
    public func usableIndex(table: TableInfo, column: ColumnInfo, metric: DistanceMetric?) throws -> HNSWIndex? {
        return try search.usableIndex(table: table, column: column, metric: metric, catalog: &catalog)
    }

    /// Removes index files no index record names (see `IndexLifecycle.removeOrphanFiles`).
    @discardableResult
    public func removeOrphanIndexFiles() throws -> [String] {
        try indexes.removeOrphanFiles(catalog)
    }

    /// Writes index checkpoints that are due; call after a transaction commits.
    public func checkpointIndexesIfDue() throws {
        guard !catalog.indexes.isEmpty else { return }
        try indexes.checkpointIfDue(catalog)
    }

    /// Asks the running statement to stop, from any thread: SQLite's interrupt, and the flag
    /// that DEDUPE's loops check between blocks.
    public func interrupt() {
        interruptFlag.raise()
        connection.interrupt()
    }

    private func parseIndexStatement(_ statement: SQLStatement) throws -> IndexStatement? {
        do {
            return try IndexStatement.parse(statement) { name in catalog.hasIndex(named: name) }
        } catch let error as IndexStatement.SyntaxError {
            throw SQLiteError(.syntax(error.description, offset: statement.offset), sql: statement.text)
        }
    }

    private func run(_ statement: IndexStatement) throws -> ResultSet {
        interruptFlag.clear()
        let flag = interruptFlag
        // Builds run on several threads; the handler is called from them one at a time.
        nonisolated(unsafe) let handler = progressHandler
        let activity =
            switch statement {
            case .create(let name, _, _, _, _, _, _): "building index \(name)"
            case .reindex(let name): "rebuilding index \(name)"
            default: ""
            }
        indexes.kind.buildMonitor = HNSWIndex.BuildMonitor(
            progress: { done, total in handler?(Progress(activity, done: done, total: total, unit: .vectors)) },
            isCancelled: { flag.isRaised })
        defer { indexes.kind.buildMonitor = .none }
        let none = ResultSet(columns: [], rows: [])
        switch statement {
        case .create(let name, let table, let column, let metric, let m, let ef, let ifNotExists):
            if catalog.fullTextIndexes.contains(where: { $0.name.caseInsensitiveEquals(name) }) {
                if ifNotExists { return none }
                throw SQLiteError(.indexExists(name))
            }
            let definition = IndexDefinition(
                name: name, table: table, column: column, metric: metric, m: m, efConstruction: ef, file: "",
                checkpointSequence: 0)
            try indexes.create(definition, ifNotExists: ifNotExists, catalog: catalog)
            try schemaDidChange()
        case .createFullText(let name, let table, let columns, let ifNotExists):
            let definition = FullTextIndexDefinition(name: name, table: table, columns: columns, tokenizerVersion: 0)
            try inOneTransaction {
                try fullText.create(definition, ifNotExists: ifNotExists, catalog: catalog)
                try schemaDidChange()
            }
        case .drop(let name, _):
            if let definition = catalog.indexes.first(where: { $0.name.caseInsensitiveEquals(name) }) {
                try indexes.drop(definition)
                try schemaDidChange()
            } else if let definition = catalog.fullTextIndexes.first(where: { $0.name.caseInsensitiveEquals(name) }) {
                try inOneTransaction {
                    try fullText.drop(definition)
                    try schemaDidChange()
                }
            }
        case .reindex(let name):
            if let definition = catalog.indexes.first(where: { $0.name.caseInsensitiveEquals(name) }) {
                try indexes.reindex(definition, catalog: catalog)
                try reloadCatalog()
            } else if let definition = catalog.fullTextIndexes.first(where: { $0.name.caseInsensitiveEquals(name) }) {
                try inOneTransaction { try fullText.reindex(definition, catalog: catalog) }
                try reloadCatalog()
            }
        case .setEfSearch(let value, let local):
            search.setEfSearch(value, local: local)
        case .showEfSearch:
            return ResultSet(columns: ["hnsw.ef_search"], rows: [[.integer(Int64(search.effectiveEfSearch))]])
        }
        return none
    }

    /// Runs `body` in the open transaction, or in one of its own: a full-text index's tables,
    /// record and triggers are created or dropped together or not at all.
    private func inOneTransaction(_ body: () throws -> Void) throws {
        if connection.isInTransaction { try body() } else { try connection.transaction(.immediate, body) }
    }

    private func alteredTable(_ statement: SQLStatement) -> String? {
        let significant = statement.significant
        return significant.count > 2 ? significant[2].identifierName : nil
    }

    /// Maps a byte offset in rewritten SQL back to the statement as the user wrote it.
    private func originalOffset(of offset: Int, in statement: SQLStatement) -> Int {
        var position = 0
        for token in statement.tokens {
            let length = token.text.utf8.count
            if offset < position + length { return token.offset + min(offset - position, length - 1) }
            position += length
        }
        return statement.tokens.last.map { $0.offset + $0.text.utf8.count } ?? offset
    }
}
