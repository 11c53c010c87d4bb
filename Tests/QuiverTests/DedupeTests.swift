import Foundation
import QuiverDedupe
import QuiverEngine
import QuiverFormats
import QuiverKernels
import QuiverProgress
import QuiverStorage
import Testing

/// DEDUPE through SQL: planted exact, near and semantic duplicates in English and Chinese; keep
/// rules; DRY RUN; deletion that leaves the HNSW index consistent; WHERE scoping; MARK COLUMN;
/// and bad input that changes nothing.
@Suite struct DedupeTests {
    let directory = TemporaryDirectory("quiver-dedupe")
    let corpus = DedupeCorpus()
    let db: Database

    init() throws {
        db = try corpus.load(into: directory.file("db"))
    }

    /// Everything in the table, for "nothing changed" checks.
    func snapshot() throws -> [[SQLValue]] {
        try db.rows("SELECT * FROM docs ORDER BY id")
    }

    /// The oracle for vector dedupe: all pairs at or above `threshold` in double precision,
    /// joined into connected components.
    func vectorGroups(threshold: Double, where keep: (DedupeCorpus.Row) -> Bool = { _ in true }) -> [[Int64]] {
        let rows = corpus.rows.filter(keep)
        var sets = UnionFind(count: rows.count)
        for i in rows.indices {
            for j in (i + 1)..<rows.count
            where 1 - PairDistance.precise(.cosine, rows[i].vector, rows[j].vector) >= threshold {
                sets.union(i, j)
            }
        }
        return sets.groups().map { $0.map { rows[$0].id } }
    }

    @Test func exactFindsCopiesUnderCaseSpaceAndWidthFolding() throws {
        let result = try db.execute("DEDUPE docs ON body EXACT DRY RUN")[0]
        #expect(result.columns == ["cluster_id", "kept_id", "duplicate_id", "similarity"])
        #expect(DedupeOutcome(result) == DedupeOutcome(groups: corpus.exactGroups))
        #expect(result.rows.allSatisfy { $0[3] == .real(1) })
        #expect(result.rows.map { $0[0].integerValue! } == [1, 1, 2, 2])
    }

    @Test func minHashFindsRepostedNoticesInEnglishAndChinese() throws {
        let result = try db.execute("DEDUPE docs ON body MINHASH THRESHOLD 0.8 DRY RUN")[0]
        #expect(DedupeOutcome(result) == DedupeOutcome(groups: corpus.exactGroups + corpus.nearGroups))
        for row in result.rows { #expect(row[3].doubleValue! >= 0.8) }
        // Exact Jaccard, not an estimate: a re-posted notice is similar but not identical.
        let notice = result.rows.first { $0[1].integerValue == corpus.nearGroups[0][0] }!
        #expect(notice[3].doubleValue! < 1 && notice[3].doubleValue! > 0.85)
        // Character n-grams of another length work too (bigrams suit Chinese).
        let bigrams = try db.execute("DEDUPE docs ON body MINHASH THRESHOLD 0.8 NGRAM 2 WHERE lang = 'zh' DRY RUN")[0]
        #expect(DedupeOutcome(bigrams) == DedupeOutcome(groups: [corpus.exactGroups[1], corpus.nearGroups[1]]))
    }

    @Test func vectorThresholdFindsSemanticCopiesAndNotRelatedRows() throws {
        let truth = vectorGroups(threshold: 0.95)
        #expect(Set(truth.map { Set($0) }) == Set(corpus.vectorGroups.map { Set($0) })) // the corpus is what it says
        let result = try db.execute("DEDUPE docs ON embedding THRESHOLD 0.95 DRY RUN")[0]
        #expect(DedupeOutcome(result) == DedupeOutcome(groups: truth))
        for row in result.rows { #expect(row[3].doubleValue! >= 0.95) }
        // At 0.8 the related rows (≈ 0.85) join their groups.
        let wider = try db.execute("DEDUPE docs ON embedding THRESHOLD 0.8 DRY RUN")[0]
        #expect(DedupeOutcome(wider) == DedupeOutcome(groups: vectorGroups(threshold: 0.8)))
        #expect(wider.rows.count > result.rows.count)
        #expect(db.lastDedupeReport?.strategy.contains("exact") == true)
    }

    @Test func thresholdIsInclusive() throws {
        // Identical vectors have similarity exactly 1, so THRESHOLD 1 finds them and nothing else.
        let copy = corpus.row(50)
        _ = try db.execute(
            "INSERT INTO docs (id, lang, body, embedding) VALUES (1000, 'en', 'copy', ?)",
            SQLBindings([.vector(copy.vector)]))
        let result = try db.execute("DEDUPE docs ON embedding THRESHOLD 1 DRY RUN")[0]
        #expect(result.rows == [[.integer(1), .integer(50), .integer(1000), .real(1)]])
    }

    @Test func keepRules() throws {
        let group = corpus.vectorGroups.first { $0.count == 3 }! // three rows
        let scoped = "WHERE id IN (\(group.map(String.init).joined(separator: ",")))"
        func kept(_ keep: String) throws -> Int64 {
            let rows = try db.execute("DEDUPE docs ON embedding THRESHOLD 0.95 \(scoped) KEEP \(keep) DRY RUN")[0].rows
            #expect(rows.count == 2)
            #expect(Set(rows.map { $0[1] }).count == 1)
            return rows[0][1].integerValue!
        }
        #expect(try kept("FIRST") == group.min()!)
        #expect(try kept("LAST") == group.max()!)
        let longest = group.max { corpus.row($0).body.count < corpus.row($1).body.count }!
        #expect(try kept("LONGEST") == longest)
        let best = group.max { corpus.row($0).score < corpus.row($1).score }!
        #expect(try kept("BY score") == best)
        #expect(try kept("BY -score") == group.min { corpus.row($0).score < corpus.row($1).score }!)
        // Ties go to the smallest key.
        #expect(try kept("BY 1") == group.min()!)
        // LONGEST on text: the longest spelling of an exact copy (the padded, spaced-out one).
        let copies = corpus.exactGroups[0]
        let rows = try db.execute("DEDUPE docs ON body EXACT KEEP LONGEST DRY RUN")[0].rows
        #expect(
            rows.first { copies.contains($0[2].integerValue!) }?[1].integerValue
                == copies.max { corpus.row($0).body.count < corpus.row($1).body.count })
        // Clusters are numbered in the order of their kept rows, whatever the rule.
        let last = try db.execute("DEDUPE docs ON embedding THRESHOLD 0.95 KEEP LAST DRY RUN")[0].rows
        let firstKeptOfCluster = Dictionary(
            last.map { ($0[0].integerValue!, $0[1].integerValue!) }, uniquingKeysWith: { a, _ in a })
        #expect(firstKeptOfCluster.sorted { $0.key < $1.key }.map(\.value) == firstKeptOfCluster.values.sorted())
    }

    @Test func dryRunChangesNothing() throws {
        let before = try snapshot()
        for statement in [
            "DEDUPE docs ON body EXACT DRY RUN", "DEDUPE docs ON body MINHASH THRESHOLD 0.8 DRY RUN",
            "DEDUPE docs ON embedding THRESHOLD 0.9 KEEP LAST MARK COLUMN dup_of DRY RUN",
            "EXPLAIN DEDUPE docs ON embedding THRESHOLD 0.9",
        ] {
            #expect(try !db.execute(statement)[0].rows.isEmpty)
        }
        #expect(try snapshot() == before)
        #expect(try db.rows("SELECT name FROM pragma_table_info('docs') WHERE name = 'dup_of'").isEmpty)
    }

    @Test func deletingKeepsTheIndexConsistent() throws {
        _ = try db.execute(
            "CREATE INDEX docs_embedding ON docs USING hnsw (embedding) WITH (m = 8, ef_construction = 64)")
        let result = try db.execute("DEDUPE docs ON embedding THRESHOLD 0.95")[0]
        let deleted = Set(result.rows.map { $0[2].integerValue! })
        #expect(deleted.count == corpus.vectorGroups.reduce(0) { $0 + $1.count - 1 })
        #expect(try db.integers("SELECT count(*) FROM docs") == [Int64(corpus.rows.count - deleted.count)])
        // Through this handle and a freshly opened one (which maps the file and replays the log).
        for handle in [db, try Database(path: directory.file("db"))] {
            for row in corpus.rows {
                let hits = try handle.nearest(
                    row.vector, metric: .cosine, k: 3, table: "docs", column: "embedding",
                    hint: "/*+ hnsw.ef_search = 64 */ ")
                #expect(
                    hits.allSatisfy { !deleted.contains($0.id) }, "row \(row.id) found deleted rows \(hits.map(\.id))")
                if !deleted.contains(row.id) {
                    #expect(hits.first?.id == row.id, "row \(row.id) is not found by its own vector")
                }
            }
            #expect(handle.lastReport.strategy == .hnsw)
        }
        // Running it again finds nothing more.
        #expect(try db.execute("DEDUPE docs ON embedding THRESHOLD 0.95")[0].rows.isEmpty)
    }

    @Test func whereScopesTheRowsConsidered() throws {
        let english = vectorGroups(threshold: 0.95) { $0.lang == "en" }
        let result = try db.execute(
            "DEDUPE docs ON embedding THRESHOLD 0.95 WHERE lang = ?", SQLBindings([.text("en")]))[0]
        #expect(DedupeOutcome(result) == DedupeOutcome(groups: english))
        let ids = Set(result.rows.flatMap { [$0[1].integerValue!, $0[2].integerValue!] })
        #expect(ids.allSatisfy { corpus.row($0).lang == "en" })
        // Chinese rows were not considered, so their duplicates are all still there.
        let chineseIDs = corpus.rows.filter { $0.lang == "zh" }.map(\.id)
        #expect(try db.integers("SELECT count(*) FROM docs WHERE lang = 'zh'") == [Int64(chineseIDs.count)])
        #expect(
            try db.integers("SELECT count(*) FROM docs WHERE lang = 'en'") == [
                Int64(corpus.rows.count - chineseIDs.count - result.rows.count)
            ])
    }

    @Test func markColumnRecordsTheKeptRowInsteadOfDeleting() throws {
        let before = try db.integers("SELECT count(*) FROM docs")
        let result = try db.execute("DEDUPE docs ON body EXACT MARK COLUMN dup_of")[0]
        #expect(try db.integers("SELECT count(*) FROM docs") == before)
        let marked = try db.rows("SELECT id, dup_of FROM docs WHERE dup_of IS NOT NULL ORDER BY id")
        #expect(marked == result.rows.map { [$0[2], $0[1]] }.sorted { $0[0].integerValue! < $1[0].integerValue! })
        // An existing column is reused; a later run scoped to unmarked rows finds nothing new.
        #expect(try db.execute("DEDUPE docs ON body EXACT WHERE dup_of IS NULL MARK COLUMN dup_of")[0].rows.isEmpty)
    }

    @Test(arguments: [
        ("DEDUPE nowhere ON body EXACT", "no such table: nowhere"),
        ("DEDUPE docs ON nothing EXACT", "no such column: docs.nothing"),
        ("DEDUPE docs ON embedding EXACT", "EXACT compares text"),
        ("DEDUPE docs ON embedding MINHASH THRESHOLD 0.8", "MINHASH compares text"),
        ("DEDUPE docs ON body THRESHOLD 0.9", "THRESHOLD compares vectors"),
        ("DEDUPE docs ON embedding THRESHOLD 1.5", "THRESHOLD must be greater than 0 and at most 1"),
        ("DEDUPE docs ON embedding THRESHOLD 0", "THRESHOLD must be greater than 0 and at most 1"),
        ("DEDUPE docs ON embedding THRESHOLD -0.5", "expected a number after THRESHOLD"),
        ("DEDUPE docs ON body MINHASH THRESHOLD 2", "MINHASH THRESHOLD must be greater than 0 and at most 1"),
        ("DEDUPE docs ON body MINHASH THRESHOLD 0.8 NGRAM 0", "NGRAM must be a whole number from 1 to 16"),
        ("DEDUPE docs ON embedding", "expected EXACT, THRESHOLD s or MINHASH THRESHOLD j"),
        ("DEDUPE docs ON embedding THRESHOLD 0.9 KEEP BIGGEST", "unexpected 'KEEP'"),
        ("DEDUPE docs ON embedding THRESHOLD 0.9 WHERE", "WHERE needs an expression"),
        ("DEDUPE docs ON embedding THRESHOLD 0.9 DRY RUN DRY RUN", "DRY appears twice"),
        ("DEDUPE docs ON embedding THRESHOLD 0.9 MARK COLUMN id", "mark column must be an ordinary column"),
        ("DEDUPE docs ON embedding THRESHOLD 0.9 WHERE no_such_column = 1", "no such column: no_such_column"),
        ("DEDUPE docs ON embedding THRESHOLD 0.9 KEEP BY no_such_column", "no such column: no_such_column"),
    ])
    func badInputIsAClearErrorAndChangesNothing(statement: String, message: String) throws {
        let before = try snapshot()
        // After an INSERT in the same script, to show that the whole script rolls back.
        #expect {
            _ = try db.execute("INSERT INTO docs (id, body) VALUES (5000, 'x'); \(statement)")
        } throws: { error in
            "\(error)".contains(message)
        }
        #expect(try snapshot() == before)
    }

    @Test func longestOnVectorsNeedsTextColumns() throws {
        _ = try db.execute(
            "CREATE TABLE bare (id INTEGER PRIMARY KEY, v VECTOR(2)); INSERT INTO bare VALUES (1, '[1,0]'), (2, '[1,0]')"
        )
        #expect { _ = try db.execute("DEDUPE bare ON v THRESHOLD 0.9 KEEP LONGEST") } throws: {
            "\($0)".contains("has none; use KEEP BY")
        }
        #expect(try db.integers("SELECT count(*) FROM bare") == [2])
    }

    @Test func progressIsReportedAndInterruptStopsWithoutChanges() throws {
        var phases: [String: QuiverProgress.Progress] = [:]
        db.progressHandler = { phases[$0.activity] = $0 }
        _ = try db.execute("DEDUPE docs ON embedding THRESHOLD 0.95 DRY RUN")
        #expect(
            phases["DEDUPE reading rows"]
                == QuiverProgress.Progress(
                    "DEDUPE reading rows", done: corpus.rows.count, total: corpus.rows.count, unit: .rows))
        #expect(phases["DEDUPE comparing blocks"].map { $0.done == $0.total } == true)
        let before = try snapshot()
        let handle = db
        db.progressHandler = { _ in handle.interrupt() }
        #expect { _ = try db.execute("DEDUPE docs ON embedding THRESHOLD 0.95") } throws: {
            "\($0)".contains("interrupted")
        }
        #expect(try snapshot() == before)
    }

    @Test func explainShowsStrategyAndWhy() throws {
        let plan = try db.execute("EXPLAIN DEDUPE docs ON embedding THRESHOLD 0.95 WHERE lang = 'en'")[0]
        let items = Dictionary(plan.rows.map { ($0[0].textValue!, $0[1].textValue!) }, uniquingKeysWith: { a, _ in a })
        #expect(items["strategy"] == "all pairs, blocked sgemm (exact)")
        #expect(items["reason"]?.contains("under 20000") == true)
        #expect(items["rows considered"] == String(corpus.rows.filter { $0.lang == "en" }.count))
        let analyzed = try db.execute("EXPLAIN ANALYZE DEDUPE docs ON body MINHASH THRESHOLD 0.8 DRY RUN")[0]
        let analyzedItems = Dictionary(
            analyzed.rows.map { ($0[0].textValue!, $0[1].textValue!) }, uniquingKeysWith: { a, _ in a })
        #expect(analyzedItems["clusters"] == "4")
        #expect(analyzedItems["strategy"]?.contains("LSH") == true)
    }

    @Test func textPrimaryKeysAreReported() throws {
        _ = try db.execute(
            """
            CREATE TABLE pages (url TEXT PRIMARY KEY, body TEXT);
            INSERT INTO pages VALUES ('b.example', 'Hello World'), ('a.example', 'hello   world'), ('c.example', 'other');
            """)
        let result = try db.execute("DEDUPE pages ON body EXACT")[0]
        #expect(result.rows == [[.integer(1), .text("a.example"), .text("b.example"), .real(1)]])
        #expect(try db.rows("SELECT url FROM pages ORDER BY url") == [[.text("a.example")], [.text("c.example")]])
    }
}

/// Past the planner's exact limit: k-means blocking through SQL, and on the real set.
@Suite struct DedupeAtScaleTests {
    @Test func largeTablesUseBlockingAndFindThePlantedGroups() throws {
        let directory = TemporaryDirectory("quiver-dedupe-scale")
        let db = try Database(path: directory.file("db"))
        let dimension = 32
        let count = PairSearchPlanner.exactBelowRows + 1000
        _ = try db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, v VECTOR(\(dimension)))")
        var random = SeededRandom(seed: 31)
        var bindings: [SQLBindings] = []
        var groups: [[Int64]] = []
        var previous: [Float] = []
        // Random directions in 32 dimensions are never within cosine 0.95 of each other by chance
        // (the chance per pair is below 1e-15); every 40th row copies the one before, nearly.
        for id in 1...Int64(count) {
            var v = random.vector(dimension)
            if id % 40 == 0 {
                v = zip(previous, v).map { $0 + 0.05 * $1 }
                groups.append([id - 1, id])
            }
            bindings.append(SQLBindings([.integer(id), .vector(v)]))
            previous = v
        }
        try db.executeMany("INSERT INTO items VALUES (?, ?)", bindings)
        let plan = try db.execute("EXPLAIN DEDUPE items ON v THRESHOLD 0.95")[0].rows
        #expect(plan.contains { $0[0] == .text("strategy") && $0[1].textValue!.hasPrefix("k-means blocking") })
        let result = try db.execute("DEDUPE items ON v THRESHOLD 0.95 DRY RUN")[0]
        #expect(db.lastDedupeReport?.strategy.hasPrefix("k-means blocking") == true)
        #expect(DedupeOutcome(result) == DedupeOutcome(groups: groups))
        #expect(db.lastDedupeReport!.comparisons < count * (count - 1) / 20) // a small share of all pairs
    }

    @Test func blockingRecallOnTheRealSet() throws {
        guard let data = sharedDataDirectory else {
            print("skipped: the real embedding set (../shared/data) is absent")
            return
        }
        let matrix = try NumPy.readFloatMatrix(path: (data as NSString).appendingPathComponent("base_f16.npy"))
        var rows = VectorRows(dimension: matrix.columns)
        for i in 0..<12_000 { rows.append(Array(matrix[row: i])) }
        for threshold in [0.95, 0.9] {
            let truth = Set(try ExactPairSearch.pairs(in: rows, threshold: threshold).map { [$0.first, $0.second] })
            let outcome = try KMeansBlocking.pairs(
                in: rows, threshold: threshold, clusters: KMeansBlocking.clusterCount(forRows: rows.count))
            let found = Set(outcome.pairs.map { [$0.first, $0.second] })
            #expect(truth.count > 1000) // the real set has many duplicates
            #expect(found.isSubset(of: truth))
            #expect(
                Double(found.count) >= 0.99 * Double(truth.count),
                "recall at \(threshold): \(found.count)/\(truth.count)")
            #expect(!outcome.fellBackToExact && outcome.comparedPairs < outcome.allPairs / 5)
        }
    }
}

/// `quiver sql` with DEDUPE: a progress line on a terminal (driven through a pseudo-terminal),
/// none when standard error is redirected.
@Suite struct DedupeCLITests {
    @Test func progressLineOnATerminalOnly() throws {
        let directory = TemporaryDirectory("quiver-dedupe-cli")
        let db = directory.file("db")
        _ = try DedupeCorpus().load(into: db)
        let binary = try QuiverBinary.path()
        let environment = [
            "TERM": "xterm-256color", "LANG": "C.UTF-8", "HOME": directory.path,
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ]
        let terminal = try PseudoTerminal(
            binary, ["sql", "--db", db, "DEDUPE docs ON embedding THRESHOLD 0.95 DRY RUN"],
            environment: environment)
        let screen = try terminal.expect("rows)")
        #expect(try terminal.waitForExit() == 0)
        #expect(screen.contains("DEDUPE reading rows: 100%"), "\(PseudoTerminal.readable(screen))")
        #expect(screen.contains("\r\u{1B}[2K")) // the line is erased before the results
        #expect(PseudoTerminal.stripEscapes(screen).contains("| cluster_id | kept_id | duplicate_id | similarity"))

        let redirected = try ProcessRunner.run(
            binary, ["sql", "--db", db, "--format", "csv", "DEDUPE docs ON embedding THRESHOLD 0.95 DRY RUN"])
        #expect(redirected.succeeded, "\(redirected)")
        #expect(redirected.stderr.isEmpty, "\(redirected.stderr)")
        #expect(redirected.stdout.hasPrefix("cluster_id,kept_id,duplicate_id,similarity"))
    }
}

/// kill -9 in the middle of a DEDUPE that deletes: every duplicate is gone or none is, and the
/// HNSW index agrees with the rows either way (it replays the committed log on the next open).
@Suite struct DedupeCrashTests {
    @Test func killedDuringDedupeLeavesAllOrNothingAndAConsistentIndex() throws {
        let binary = try QuiverBinary.path()
        let directory = TemporaryDirectory("quiver-dedupe-crash")
        let original = directory.file("original")
        let dimension = 32
        let count = 4000
        var random = SeededRandom(seed: 404)
        var vectors: [[Float]] = []
        var duplicates = 0
        for i in 0..<count {
            if i % 10 == 9 {
                vectors.append(zip(vectors[i - 1], random.vector(dimension)).map { $0 + 0.04 * $1 })
                duplicates += 1
            } else {
                vectors.append(random.vector(dimension))
            }
        }
        do {
            let db = try Database(path: original)
            _ = try db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, v VECTOR(\(dimension)))")
            try db.executeMany(
                "INSERT INTO items VALUES (?, ?)",
                vectors.enumerated().map { SQLBindings([.integer(Int64($0.offset + 1)), .vector($0.element)]) })
            _ = try db.execute("CREATE INDEX items_v ON items USING hnsw (v) WITH (m = 8, ef_construction = 32)")
        }
        let scriptPath = directory.file("dedupe.sql")
        try "DEDUPE items ON v THRESHOLD 0.95;\n".write(toFile: scriptPath, atomically: true, encoding: .utf8)
        // One run to the end, to know how long a run takes and what it deletes.
        let measuredPath = directory.file("measured")
        try FileManager.default.copyItem(atPath: original, toPath: measuredPath)
        let full = try KillableChild.run(binary, ["sql", "--db", measuredPath], stdinPath: scriptPath, killAfter: 120)
        #expect(full.status == 0, "\(full.stderr)")
        #expect(try Database(path: measuredPath).integers("SELECT count(*) FROM items") == [Int64(count - duplicates)])

        var killedRuns = 0
        // Kill points as shares of the measured run; on a busy machine a run may finish sooner or
        // later than measured, so several are tried and at least one must land part way.
        for (attempt, fraction) in [0.2, 0.4, 0.6, 0.8, 0.95].enumerated() {
            let path = directory.file("attempt\(attempt)")
            try FileManager.default.copyItem(atPath: original, toPath: path)
            let outcome = try KillableChild.run(
                binary, ["sql", "--db", path], stdinPath: scriptPath, killAfter: full.elapsed * fraction)
            if outcome.killed { killedRuns += 1 } else { #expect(outcome.status == 0, "\(outcome.stderr)") }
            let db = try Database(path: path)
            let remaining = Set(try db.integers("SELECT id FROM items"))
            #expect(
                remaining.count == count || remaining.count == count - duplicates,
                "attempt \(attempt): \(remaining.count) rows left of \(count): a DEDUPE must delete all its duplicates or none"
            )
            // The duplicates and the rows they copy: where a stale index would show. A deleted
            // row returned is always wrong; a live row not found by its own vector is what an
            // approximate graph allows at its recall (as in CrashTests), not a stale index.
            var misses: [Int64] = []
            var checked = 0
            for (offset, vector) in vectors.enumerated() where offset % 10 >= 8 {
                let id = Int64(offset + 1)
                let hits = try db.nearest(
                    vector, metric: .cosine, k: 2, table: "items", column: "v", hint: "/*+ hnsw.ef_search = 64 */ ")
                #expect(
                    hits.allSatisfy { remaining.contains($0.id) },
                    "attempt \(attempt): the index returned deleted rows \(hits.map(\.id))")
                if remaining.contains(id) {
                    checked += 1
                    if hits.first?.id != id { misses.append(id) }
                }
            }
            #expect(
                misses.count <= CrashTests.tolerableMisses(checked),
                "attempt \(attempt): rows not found by their own vector: \(misses)")
            #expect(db.lastReport.strategy == .hnsw)
        }
        #expect(killedRuns >= 1, "no run was killed part way")
    }
}
