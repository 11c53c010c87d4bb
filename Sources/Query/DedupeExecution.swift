import Dispatch
import Foundation
import QuiverDedupe
import QuiverProgress
import QuiverStorage

/// What the last DEDUPE did: EXPLAIN ANALYZE shows it, tests read it.
public struct DedupeReport: Sendable, Equatable {
    public var method = ""
    public var strategy = ""
    public var reason = ""
    public var rowsConsidered = 0
    /// Vector pairs scored, or candidate pairs checked (MinHash), or rows grouped (EXACT).
    public var comparisons = 0
    public var pairsFound = 0
    public var clusters = 0
    public var duplicates = 0
    public var action = ""
    public var steps: [Step] = []
    /// The phases of the pair search itself (k-means blocking), inside the step "find pairs".
    public var searchPhases: [Step] = []

    /// Milliseconds a stage took.
    public struct Step: Sendable, Equatable {
        public var name: String
        public var milliseconds: Double
    }
}

/// Running DEDUPE (see DedupeStatement): read the rows in scope, find the pairs at or above
/// the threshold, group them into clusters, keep one row per cluster, and delete (or mark) the
/// others in one savepoint, through ordinary DELETE/UPDATE statements so that the triggers —
/// the vector indexes' change log among them — see every change.
///
/// Definitions users rely on (README, "Deduplication"):
/// - Rows are numbered in primary-key order (rowid order without a single-column key); KEEP
///   FIRST and LAST refer to that order; ties of LONGEST and BY go to the smaller key.
/// - Rows whose column is NULL (or a zero vector) are never duplicates.
/// - `similarity` is the duplicate's similarity to the kept row when that pair reaches the
///   threshold, else its strongest link into the cluster: always ≥ the threshold.
extension QueryExecutor {
    public static let dedupeColumns = ["cluster_id", "kept_id", "duplicate_id", "similarity"]

    func runDedupe(_ statement: SQLStatement, _ bindings: SQLBindings) throws -> ResultSet {
        interruptFlag.clear()
        var tokens = statement.tokens
        let significant = statement.significant
        var explain = false
        var analyze = false
        if significant.first?.isKeyword("EXPLAIN") == true {
            explain = true
            analyze = significant[1].isKeyword("ANALYZE")
            let start = significant[analyze ? 2 : 1].offset
            tokens = tokens.filter { $0.offset >= start }
        }
        let parsed: DedupeStatement
        do {
            parsed = try DedupeStatement.parse(try Rewriter().rewrite(SQLStatement(tokens: tokens)))
        } catch let error as DedupeStatement.SyntaxError {
            throw SQLiteError(.syntax(error.description), sql: statement.text)
        } catch let error as Rewriter.SyntaxError {
            throw SQLiteError(.syntax(error.message, offset: error.offset), sql: statement.text)
        }
        var run = try DedupeRun(parsed, executor: self, bindings: bindings)
        if explain && !analyze { return try run.explain() }
        var clock = DispatchTime.now().uptimeNanoseconds
        var steps: [DedupeReport.Step] = []
        func lap(_ name: String) {
            let now = DispatchTime.now().uptimeNanoseconds
            steps.append(.init(name: name, milliseconds: Double(now - clock) / 1e6))
            clock = now
        }
        let result: ResultSet
        do {
            result = try run.execute(lap: lap)
        } catch is ProgressReporter.Interrupted {
            throw SQLiteError(code: .SQLITE_INTERRUPT, message: "DEDUPE interrupted; nothing was changed")
        }
        run.report.steps = steps
        lastDedupe = run.report
        guard analyze else { return result }
        var explanation = try run.explain()
        func add(_ item: String, _ value: String) { explanation.rows.append([.text(item), .text(value)]) }
        add("comparisons", "\(run.report.comparisons)")
        add("pairs found", "\(run.report.pairsFound)")
        add("clusters", "\(run.report.clusters)")
        add("duplicates", "\(run.report.duplicates) (\(run.report.action))")
        var total = 0.0
        for step in run.report.steps {
            add("time: \(step.name)", format3(step.milliseconds) + " ms")
            total += step.milliseconds
            if step.name == "find pairs" {
                for phase in run.report.searchPhases {
                    add("time: find pairs: \(phase.name)", format3(phase.milliseconds) + " ms")
                }
            }
        }
        add("time: total", format3(total) + " ms")
        return explanation
    }
}

/// One DEDUPE, resolved against the catalog.
struct DedupeRun {
    let statement: DedupeStatement
    let executor: QueryExecutor
    let bindings: SQLBindings
    let table: TableInfo
    let column: ColumnInfo
    /// The name that reaches the table's rowid (a column may be called rowid).
    let rowid: String
    var report = DedupeReport()
    var progress: ProgressReporter
    var connection: Connection { executor.connection }

    init(_ statement: DedupeStatement, executor: QueryExecutor, bindings: SQLBindings) throws {
        self.statement = statement
        self.executor = executor
        self.bindings = bindings
        let catalog = executor.catalog
        guard let table = catalog.table(named: statement.table) else {
            throw SQLiteError(.noSuchTable(statement.table, statement: "DEDUPE"))
        }
        guard let column = table.column(named: statement.column) else {
            throw SQLiteError(.noSuchColumn(table: table.name, column: statement.column, statement: "DEDUPE"))
        }
        guard let rowid = table.rowidName else {
            throw SQLiteError(
                .unsuitableSchema(
                    "DEDUPE: table \(table.name) has no rowid that SQL can name (columns named rowid, _rowid_ and oid hide it, or it is WITHOUT ROWID)"
                ))
        }
        self.table = table
        self.column = column
        self.rowid = rowid
        let flag = executor.interruptFlag
        progress = ProgressReporter("DEDUPE", handler: executor.progressHandler, isInterrupted: { flag.isRaised })
        let place = "\(table.name).\(column.name)"
        switch statement.method {
        case .vector:
            guard column.kind.vectorDimension != nil else {
                throw SQLiteError(
                    .unsuitableSchema(
                        "DEDUPE … THRESHOLD compares vectors by cosine similarity, and \(place) is \(column.declaredType.isEmpty ? "not a VECTOR column" : column.declaredType); for text use EXACT or MINHASH THRESHOLD j"
                    ))
            }
        case .exact, .minHash:
            if let dimension = column.kind.vectorDimension {
                throw SQLiteError(
                    .unsuitableSchema(
                        "DEDUPE … \(statement.method == .exact ? "EXACT" : "MINHASH") compares text, and \(place) is a VECTOR(\(dimension)) column; for vectors use THRESHOLD s (cosine similarity)"
                    ))
            }
        }
        if let mark = statement.markColumn, let existing = table.column(named: mark) {
            if existing.primaryKeyPosition > 0 || existing.name.caseInsensitiveEquals(column.name)
                || existing.kind != .plain
            {
                throw SQLiteError(
                    .unsuitableSchema(
                        "DEDUPE … MARK COLUMN \(existing.name): the mark column must be an ordinary column, not the primary key, the deduplicated column, a VECTOR or a TEXT COMPRESSED column"
                    ))
            }
        }
        if statement.keep == .longest, column.kind.vectorDimension != nil, textColumns.isEmpty {
            throw SQLiteError(
                .unsuitableSchema(
                    "DEDUPE … KEEP LONGEST on vectors compares the rows' text columns, and \(table.name) has none; use KEEP BY expression"
                ))
        }
    }

    /// The columns whose text KEEP LONGEST measures for a vector deduplication.
    var textColumns: [ColumnInfo] {
        table.columns.filter { c in
            let type = c.declaredType.uppercased()
            return c.kind == .compressedText
                || (c.kind == .plain && (type.contains("CHAR") || type.contains("CLOB") || type.contains("TEXT")))
        }
    }

    var keyExpression: String { table.rowKeyExpression }

    var scope: String {
        var condition = "\(quoteIdentifier(column.name)) IS NOT NULL"
        if let filter = statement.filter { condition = "(\(filter)) AND \(condition)" }
        return "FROM \(quoteIdentifier(table.name)) WHERE \(condition)"
    }

    var scoreExpression: String {
        switch statement.keep {
        case .first, .last: return "NULL"
        case .by(let expression): return "(\(expression))"
        case .longest:
            if column.kind.vectorDimension == nil { return "length(\(quoteIdentifier(column.name)))" }
            return textColumns.map { "coalesce(length(\(quoteIdentifier($0.name))), 0)" }.joined(separator: " + ")
        }
    }

    var keepRule: KeepRule {
        switch statement.keep {
        case .first: .first
        case .last: .last
        case .longest: .longest
        case .by: .largest
        }
    }

    /// Prepares Quiver SQL built here (compressed columns read as text, vector operators).
    func prepare(_ sql: String) throws -> Statement {
        let rewritten = try Rewriter(
            compressedColumns: executor.catalog.compressedColumnNames, catalog: executor.catalog
        )
        .rewrite(
            StatementSplitter.split(sql)[0])
        let prepared = try connection.prepare(rewritten.text)
        try prepared.bind(bindings)
        return prepared
    }

    func rowsInScope() throws -> Int {
        let counting = try prepare("SELECT count(*) \(scope)")
        return try counting.step() ? Int(counting.int64(at: 0)) : 0
    }

    // MARK: EXPLAIN

    mutating func explain() throws -> ResultSet {
        var rows: [[SQLValue]] = []
        func add(_ item: String, _ value: String) { rows.append([.text(item), .text(value)]) }
        let n = report.rowsConsidered > 0 ? report.rowsConsidered : try rowsInScope()
        let place = "\(table.name).\(column.name)"
        add("query", "DEDUPE \(place)\(statement.filter.map { " WHERE \($0)" } ?? "")")
        add("rows considered", "\(n)")
        switch statement.method {
        case .exact:
            add("method", "exact: same text after NFKC, case folding and white-space folding")
            add(
                "strategy",
                "group rows by 64-bit fingerprint of the normalized text, then compare the normalized texts within each group"
            )
        case .minHash(let threshold, let ngram):
            let parameters = MinHashParameters(threshold: threshold, ngram: ngram)
            add("method", "near-duplicate text: Jaccard similarity of character \(ngram)-grams ≥ \(threshold)")
            add(
                "strategy",
                "MinHash (\(MinHashParameters.permutations) hashes), LSH with \(parameters.bands) bands of \(parameters.rowsPerBand), candidates whose signatures agree on at least \(format3(max(0, threshold - MinHashLSH.estimateSlack))) of their hashes confirmed by exact Jaccard"
            )
            add(
                "reason",
                "a pair at the threshold becomes a candidate with probability \(format3(parameters.candidateProbability(threshold))); at \(format3(min(1, threshold + 0.05))) with \(format3(parameters.candidateProbability(min(1, threshold + 0.05))))"
            )
        case .vector(let threshold):
            let plan =
                report.strategy.isEmpty
                ? PairSearchPlanner.plan(rowCount: n, threshold: threshold, exactRequested: statement.exactHint) : nil
            add("method", "semantic: cosine similarity of \(place) ≥ \(threshold)")
            add("strategy", plan.map { Self.describe($0.strategy) } ?? report.strategy)
            add("reason", plan?.reason ?? report.reason)
        }
        add("keep", Self.describe(statement.keep))
        add(
            "action",
            statement.dryRun
                ? "dry run: report only"
                : statement.markColumn.map { "set \($0) to the kept row's key" } ?? "delete duplicates")
        return ResultSet(columns: ["item", "value"], rows: rows)
    }

    static func describe(_ strategy: PairSearchStrategy) -> String {
        switch strategy {
        case .exactBlocks: "all pairs, blocked sgemm (exact)"
        case .kMeansBlocks(let clusters): "k-means blocking, \(clusters) cells (approximate)"
        }
    }

    static func describe(_ keep: DedupeStatement.Keep) -> String {
        switch keep {
        case .first: "FIRST: smallest primary key"
        case .last: "LAST: largest primary key"
        case .longest: "LONGEST: most text, ties to the smallest key"
        case .by(let expression): "BY \(expression.trimmingSpaces()): largest value, ties to the smallest key"
        }
    }

    // MARK: running

    mutating func execute(lap: (String) -> Void) throws -> ResultSet {
        let total = try rowsInScope()
        report.rowsConsidered = total
        let reader = try prepare(
            "SELECT \(rowid), \(keyExpression), \(quoteIdentifier(column.name)), \(scoreExpression) \(scope) ORDER BY \(keyExpression), \(rowid)"
        )
        var rowids: [Int64] = []
        var keys: [SQLValue] = []
        var scores: [KeepScore] = []
        let pairs: [SimilarPair]
        switch statement.method {
        case .vector(let threshold):
            var vectors = VectorRows(dimension: column.kind.vectorDimension!)
            try read(reader, total: total, rowids: &rowids, keys: &keys, scores: &scores) { statement in
                try appendVector(statement, to: &vectors, rowid: statement.int64(at: 0))
            }
            lap("read rows")
            pairs = try vectorPairs(vectors, threshold: threshold)
            lap("find pairs")
        case .exact:
            var fingerprints: [UInt64] = []
            try read(reader, total: total, rowids: &rowids, keys: &keys, scores: &scores) { statement in
                fingerprints.append(TextFingerprint(Self.text(statement, at: 2)).value)
            }
            lap("read rows")
            pairs = try exactPairs(fingerprints, rowids: rowids)
            lap("group texts")
        case .minHash(let threshold, let ngram):
            let parameters = MinHashParameters(threshold: threshold, ngram: ngram)
            var lsh = MinHashLSH(parameters: parameters)
            let hasher = MinHasher()
            var pending: [String] = []
            func sign() {
                for signature in hasher.signatures(ofTexts: pending, ngram: ngram) { lsh.add(signature) }
                pending.removeAll(keepingCapacity: true)
            }
            try read(reader, total: total, rowids: &rowids, keys: &keys, scores: &scores) { statement in
                pending.append(Self.text(statement, at: 2))
                if pending.count == 4096 { sign() }
            }
            sign()
            lap("read rows and sign")
            pairs = try minHashPairs(lsh, rowids: rowids)
            lap("find pairs")
        }
        report.pairsFound = pairs.count
        let clusters = DuplicateClusters(rowCount: rowids.count, pairs: pairs, keep: keepRule, scores: scores)
        report.clusters = clusters.clusterCount
        report.duplicates = clusters.entries.count
        lap("cluster")
        if statement.dryRun {
            report.action = "dry run"
        } else {
            try apply(clusters.entries, rowids: rowids, keys: keys)
            report.action = statement.markColumn == nil ? "deleted" : "marked"
            lap(statement.markColumn == nil ? "delete" : "mark")
        }
        return ResultSet(
            columns: QueryExecutor.dedupeColumns,
            rows: clusters.entries.map {
                [.integer(Int64($0.cluster)), keys[$0.kept], keys[$0.duplicate], .real($0.similarity)]
            })
    }

    private func read(
        _ reader: Statement, total: Int, rowids: inout [Int64], keys: inout [SQLValue], scores: inout [KeepScore],
        _ each: (Statement) throws -> Void
    ) throws {
        while try reader.step() {
            if rowids.count % 4096 == 0 { try progress.report("reading rows", rowids.count, of: total, .rows) }
            try each(reader)
            rowids.append(reader.int64(at: 0))
            keys.append(reader.value(at: 1))
            scores.append(Self.score(reader.value(at: 3)))
        }
        try progress.report("reading rows", rowids.count, of: total, .rows)
    }

    static func score(_ value: SQLValue) -> KeepScore {
        switch value {
        case .null: .null
        case .integer(let v): .number(Double(v))
        case .real(let v): .number(v)
        case .text(let v): .text(v)
        case .blob(let v): .blob(v)
        case .vector(let v): .blob(v.withUnsafeBytes { Array($0) })
        }
    }

    /// The value as text, as SQLite converts it (numbers print as SQLite prints them).
    static func text(_ statement: Statement, at index: Int) -> String {
        switch statement.value(at: index) {
        case .text(let s): s
        case .integer(let v): String(v)
        case .real(let v): String(v)
        case .blob(let bytes): String(decoding: bytes, as: UTF8.self)
        case .null, .vector: ""
        }
    }

    private func appendVector(_ statement: Statement, to vectors: inout VectorRows, rowid: Int64) throws {
        let dimension = vectors.dimension
        let bytes = statement.blobBytes(at: 2)
        if statement.isBlob(at: 2), bytes.count == dimension * 4 {
            vectors.append(
                UnsafeBufferPointer(start: bytes.baseAddress!.assumingMemoryBound(to: Float.self), count: dimension))
            return
        }
        // Not in canonical form (written by a tool that bypassed Quiver): parse it.
        let parsed = try VectorCodec.parseStored(
            statement.value(at: 2), dimension: dimension,
            place: "\(table.name).\(column.name)", rowid: rowid)
        vectors.append(parsed)
    }

    // MARK: finding pairs

    private mutating func vectorPairs(_ vectors: VectorRows, threshold: Double) throws -> [SimilarPair] {
        let plan = PairSearchPlanner.plan(
            rowCount: vectors.count, threshold: threshold, exactRequested: statement.exactHint)
        report.method = "cosine"
        report.strategy = Self.describe(plan.strategy)
        report.reason = plan.reason
        switch plan.strategy {
        case .exactBlocks:
            report.comparisons = vectors.count * (vectors.count - 1) / 2
            return try ExactPairSearch.pairs(in: vectors, threshold: threshold, progress: progress)
        case .kMeansBlocks(let clusters):
            let outcome = try KMeansBlocking.pairs(
                in: vectors, threshold: threshold, clusters: clusters, progress: progress)
            report.comparisons = outcome.comparedPairs
            report.searchPhases = outcome.phases.map { .init(name: $0.name, milliseconds: $0.seconds * 1000) }
            if outcome.fellBackToExact {
                report.strategy = Self.describe(.exactBlocks)
                report.reason =
                    "k-means cells would have covered \(format3(Double(outcome.comparedPairs) / Double(max(1, 2 * outcome.allPairs)) * 100))% of all pairs (\(format3(outcome.probesPerRow)) cells per row): all pairs compared instead"
            } else {
                report.reason +=
                    "; \(format3(outcome.probesPerRow)) cells probed per row, \(format3(Double(outcome.comparedPairs) / Double(max(1, outcome.allPairs)) * 100))% of the work of all pairs"
            }
            return outcome.pairs
        }
    }

    /// Rows with the same normalized text. Rows are grouped by fingerprint first; within a group
    /// the normalized texts are compared, so a fingerprint collision never merges different texts.
    private mutating func exactPairs(_ fingerprints: [UInt64], rowids: [Int64]) throws -> [SimilarPair] {
        report.method = "exact"
        report.strategy = "fingerprint groups, confirmed by normalized text"
        report.comparisons = fingerprints.count
        var groups: [UInt64: [Int]] = [:]
        for (row, fingerprint) in fingerprints.enumerated() { groups[fingerprint, default: []].append(row) }
        let shared = groups.values.filter { $0.count > 1 }
        let texts = try normalizedTexts(of: shared.flatMap { $0 }, rowids: rowids)
        var pairs: [SimilarPair] = []
        for group in shared {
            var first: [String: Int] = [:]
            for row in group {
                let text = texts[row]!
                if let kept = first[text] {
                    pairs.append(SimilarPair(kept, row, similarity: 1))
                } else {
                    first[text] = row
                }
            }
        }
        return pairs
    }

    private mutating func minHashPairs(_ lsh: MinHashLSH, rowids: [Int64]) throws -> [SimilarPair] {
        report.method = "minhash"
        report.strategy = "MinHash LSH, \(lsh.parameters.bands) bands of \(lsh.parameters.rowsPerBand)"
        let floor = lsh.parameters.threshold - MinHashLSH.estimateSlack
        let candidates = try lsh.candidatePairs(progress: progress).filter {
            lsh.estimatedSimilarity($0.0, $0.1) >= floor
        }
        report.comparisons = candidates.count
        var involved = Set<Int>()
        for (a, b) in candidates {
            involved.insert(a)
            involved.insert(b)
        }
        let texts = try normalizedTexts(of: Array(involved), rowids: rowids)
        var shingles: [Int: [UInt64]] = [:]
        for (row, text) in texts { shingles[row] = CharacterShingles.of(normalized: text, n: lsh.parameters.ngram) }
        var pairs: [SimilarPair] = []
        for (done, (a, b)) in candidates.enumerated() {
            if done % 65_536 == 0 { try progress.report("verifying pairs", done, of: candidates.count, .pairs) }
            // Copies (the bulk of candidates in real corpora) need no set comparison.
            let j = texts[a]! == texts[b]! ? 1 : CharacterShingles.jaccard(shingles[a]!, shingles[b]!)
            if j >= lsh.parameters.threshold { pairs.append(SimilarPair(a, b, similarity: j)) }
        }
        return pairs
    }

    /// Normalized texts of some rows (by row number), read again from the rows: holding every
    /// text in memory for the few rows that need a second look would cost far more.
    private func normalizedTexts(of rows: [Int], rowids: [Int64]) throws -> [Int: String] {
        var rowByID: [Int64: Int] = [:]
        for row in rows { rowByID[rowids[row]] = row }
        var texts: [Int: String] = [:]
        let ids = Array(rowByID.keys)
        for start in stride(from: 0, to: ids.count, by: 10_000) {
            let json = "[" + ids[start..<min(ids.count, start + 10_000)].map(String.init).joined(separator: ",") + "]"
            let rewritten = try Rewriter(compressedColumns: executor.catalog.compressedColumnNames).rewrite(
                StatementSplitter.split(
                    "SELECT \(rowid), \(quoteIdentifier(column.name)) FROM \(quoteIdentifier(table.name)) WHERE \(rowid) IN (SELECT value FROM json_each(?1))"
                )[0])
            let statement = try connection.prepare(rewritten.text)
            try statement.bind(.text(json), at: 1)
            while try statement.step() {
                if let row = rowByID[statement.int64(at: 0)] {
                    texts[row] = TextFingerprint.normalize(Self.text(statement, at: 1))
                }
            }
        }
        return texts
    }

    // MARK: applying

    /// Deletes (or marks) the duplicates in one savepoint: all or nothing, inside the caller's
    /// transaction when there is one.
    private mutating func apply(_ entries: [DuplicateClusters.Entry], rowids: [Int64], keys: [SQLValue]) throws {
        guard !entries.isEmpty || statement.markColumn != nil else { return }
        try connection.savepoint("quiver_dedupe") {
            let t = quoteIdentifier(table.name)
            if let mark = statement.markColumn {
                if table.column(named: mark) == nil {
                    let type = table.primaryKeyColumn?.declaredType ?? "INTEGER"
                    try connection.execute(
                        "ALTER TABLE \(t) ADD COLUMN \(quoteIdentifier(mark)) \(type.isEmpty ? "" : type)")
                    try executor.schemaDidChange()
                }
                let name = table.column(named: mark)?.name ?? mark
                let update = try connection.prepare("UPDATE \(t) SET \(quoteIdentifier(name)) = ?1 WHERE \(rowid) = ?2")
                for (done, entry) in entries.enumerated() {
                    if done % 4096 == 0 { try progress.report("marking", done, of: entries.count, .rows) }
                    update.reset()
                    try update.bind(keys[entry.kept], at: 1)
                    try update.bind(.integer(rowids[entry.duplicate]), at: 2)
                    try update.step()
                }
            } else {
                let delete = try connection.prepare("DELETE FROM \(t) WHERE \(rowid) = ?1")
                for (done, entry) in entries.enumerated() {
                    if done % 4096 == 0 { try progress.report("deleting", done, of: entries.count, .rows) }
                    delete.reset()
                    try delete.bind(.integer(rowids[entry.duplicate]), at: 1)
                    try delete.step()
                }
            }
        }
    }
}
