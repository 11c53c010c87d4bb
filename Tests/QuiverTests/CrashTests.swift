import Foundation
import QuiverEngine
import QuiverIndex
import QuiverKernels
import QuiverStorage
import Testing

/// kill -9 in the middle of work: the real `quiver` binary runs a long script of small
/// transactions on a table with an HNSW index (or builds the index) and is killed with SIGKILL
/// at a random moment; after each kill the database must hold whole transactions only, and the
/// index (its checkpoint file plus the replayed change log) must agree with the rows without
/// having been rebuilt.
@Suite(.serialized) struct CrashTests {
    static let dimension = 8
    /// Every item row `id` at version `ver` holds exactly this vector, so a row can be checked
    /// on its own. Ids are `group * 8 + j`.
    static let centres: [[Float]] = {
        var random = SeededRandom(seed: 7)
        return (0..<12).map { _ in random.vector(dimension) }
    }()

    /// Rows that may be missed by a search for their own vector: 0.5% (at least 2).
    static func tolerableMisses(_ rows: Int) -> Int { max(2, rows / 200) }

    static func vector(id: Int64, version: Int64) -> [Float] {
        var random = SeededRandom(
            seed: UInt64(bitPattern: id) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: version) &* 0xBF58_476D_1CE4_E5B9
        )
        let centre = centres[Int(random.next() % UInt64(centres.count))]
        return centre.map { $0 + Float.random(in: -0.35...0.35, using: &random) }
    }

    /// What the database holds, as read back after a kill: group → (row count, version).
    struct Model {
        var groups: [Int64: (n: Int64, ver: Int64)] = [:]
        var nextGroup: Int64 = 1
    }

    static let schema = """
        CREATE TABLE items (id INTEGER PRIMARY KEY, grp INTEGER NOT NULL, ver INTEGER NOT NULL, emb VECTOR(8));
        CREATE TABLE groups (grp INTEGER PRIMARY KEY, n INTEGER NOT NULL, ver INTEGER NOT NULL);
        """

    /// A script of `count` small transactions (plus the odd rolled-back one and the odd index
    /// search, which makes the child replay the log), starting from `model`.
    static func script(from start: Model, count: Int, searches: Bool = true, random: inout SeededRandom) -> String {
        var model = start
        var lines: [String] = []
        lines.reserveCapacity(count)
        func literal(_ id: Int64, _ ver: Int64) -> String { "'\(vectorLiteral(vector(id: id, version: ver)))'" }
        for _ in 0..<count {
            let roll = Int(random.next() % 100)
            let live = model.groups.keys.sorted()
            let favourDelete = model.groups.count > 400
            if live.isEmpty || (roll < 45 && !favourDelete) || (roll >= 90 && roll < 95) {
                let g = model.nextGroup
                model.nextGroup += 1
                let n = Int64(1 + random.next() % 6)
                let values = (0..<n).map { j in "(\(g * 8 + j), \(g), 0, \(literal(g * 8 + j, 0)))" }.joined(
                    separator: ", ")
                if roll >= 90 {
                    lines.append(
                        "BEGIN; INSERT INTO items VALUES \(values); INSERT INTO groups VALUES (\(g), \(n), 0); ROLLBACK;"
                    )
                } else {
                    lines.append(
                        "BEGIN; INSERT INTO items VALUES \(values); INSERT INTO groups VALUES (\(g), \(n), 0); COMMIT;")
                    model.groups[g] = (n, 0)
                }
            } else if roll < 70 || favourDelete && roll < 90 {
                let g = live[Int(random.next() % UInt64(live.count))]
                lines.append("BEGIN; DELETE FROM items WHERE grp = \(g); DELETE FROM groups WHERE grp = \(g); COMMIT;")
                model.groups[g] = nil
            } else if roll < 90 {
                let g = live[Int(random.next() % UInt64(live.count))]
                let (n, ver) = model.groups[g]!
                let next = ver + 1
                let updates = (0..<n).map { j in
                    "UPDATE items SET ver = \(next), emb = \(literal(g * 8 + j, next)) WHERE id = \(g * 8 + j);"
                }
                lines.append(
                    "BEGIN; " + updates.joined(separator: " ")
                        + " UPDATE groups SET ver = \(next) WHERE grp = \(g); COMMIT;")
                model.groups[g] = (n, next)
            } else if searches {
                let probe = vector(id: Int64(random.next() % 10_000), version: 99)
                lines.append("SELECT id FROM items ORDER BY emb <-> '\(vectorLiteral(probe))' LIMIT 3;")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    struct Verified {
        var model: Model
        var checkpointSequence: Int64
        /// The sequence the index file holds (ahead of the record when a kill fell between
        /// writing the file and committing its record).
        var fileSequence: Int64
        var latestSequence: Int64
        var rows: Int
    }

    /// ef_search for the own-vector checks (the graph has at most about 1,500 nodes). A row that
    /// is missed is then examined (`diagnose`): a row that the graph holds with its current
    /// vector but cannot reach is the graph-maintenance problem that
    /// IndexSQLTests.updateChurnKeepsEveryLiveNodeReachable isolates; a row that the graph does
    /// not hold, or holds with another vector, is a crash-safety failure.
    static let ownVectorEf = 256

    /// For rows an index search missed: replays the log onto the checkpoint file as a new process
    /// does, then looks for each row with a search that accepts only that row (and so visits
    /// every node reachable from the entry point). Returns the crash-safety problems: rows held
    /// with another vector, more rows not found than the graph has unreachable nodes, or a live
    /// count that differs from the table's.
    static func diagnose(_ missed: [Int64], live: [Int64: [Float]], db: Database, file: String) throws -> (
        problems: [String], notes: [String]
    ) {
        let index = try HNSWIndex.open(path: file)
        var seen = Set<Int64>()
        let changed = try db.integers(
            "SELECT row_id FROM _quiver_changes WHERE seq > ? ORDER BY seq",
            SQLBindings([.integer(index.appliedSequence)])
        )
        .filter { seen.insert($0).inserted }
        try index.apply(changed.map { ($0, live[$0]) }, through: try db.latestChangeSequence())
        let report = index.check()
        var problems: [String] = []
        var notes: [String] = []
        var notFound: [Int64] = []
        for id in missed.prefix(50) {
            let v = live[id]!
            let own = index.search(v, k: 1, ef: 100_000, accept: { $0 == id }).hits.first
            let plain = index.search(v, k: 3, ef: ownVectorEf).hits.map(\.label)
            if let own, own.distance > 1e-5 {
                problems.append("row \(id) is held with another vector (distance \(own.distance))")
            }
            if own == nil { notFound.append(id) }
            notes.append(
                "row \(id): " + (own.map { "reachable, at distance \($0.distance)" } ?? "not reachable")
                    + ", plain search \(plain)")
        }
        if index.count != live.count {
            problems.append("the replayed graph has \(index.count) live nodes for \(live.count) rows")
        }
        if notFound.count > report.unreachable {
            problems.append("rows \(notFound) not in the graph (only \(report.unreachable) unreachable nodes)")
        }
        notes.append("graph after replay: \(report)")
        return (problems, notes)
    }

    /// Everything that must hold after a kill; returns the state read back.
    static func verify(
        path: String, indexFile: String, scratch: String, random: inout SeededRandom,
        context: String
    ) throws -> Verified {
        let db = try Database(path: path)
        // Everything below reads one snapshot, in a transaction: `execute` outside one would
        // write a due checkpoint at its end, and this must look at what the killed process left.
        _ = try db.execute("BEGIN")
        defer { _ = try? db.execute("COMMIT") }
        // 1. Whole transactions only: every group complete, every row at its group's version.
        var model = Model()
        for row in try db.rows("SELECT grp, n, ver FROM groups") {
            model.groups[row[0].integerValue!] = (row[1].integerValue!, row[2].integerValue!)
        }
        var live: [Int64: [Float]] = [:]
        var counts: [Int64: Int64] = [:]
        for row in try db.rows("SELECT id, grp, ver, emb FROM items") {
            let id = row[0].integerValue!
            let grp = row[1].integerValue!
            let ver = row[2].integerValue!
            counts[grp, default: 0] += 1
            let group = model.groups[grp]
            #expect(group != nil, "\(context): row \(id) of group \(grp), which has no group row (a torn transaction)")
            #expect(group?.ver == ver, "\(context): row \(id) at version \(ver), its group at \(group?.ver ?? -1)")
            #expect(id / 8 == grp)
            let vector = row[3].vectorValue
            #expect(
                vector == Self.vector(id: id, version: ver), "\(context): row \(id) holds a vector of neither version")
            live[id] = vector
        }
        for (g, group) in model.groups {
            #expect(
                counts[g, default: 0] == group.n,
                "\(context): group \(g) has \(counts[g, default: 0]) of its \(group.n) rows")
        }
        model.nextGroup = (model.groups.keys.max() ?? 0) + 1

        // 2. The index is the one created at the start (a checkpoint keeps its name; a rebuild would not).
        let records = try db.indexRecords()
        try #require(records.count == 1, "\(context): index records \(records)")
        let record = records[0]
        #expect(
            record.file == indexFile, "\(context): the index file changed from \(indexFile) to \(record.file): rebuilt?"
        )
        let filePath = (indexFolder(path) as NSString).appendingPathComponent(record.file)
        let opened = try HNSWIndex.open(path: filePath)
        let report = opened.check()
        #expect(report.danglingLinks == 0 && report.unreachable == 0, "\(context): \(report)")
        let latest = try db.latestChangeSequence()
        #expect(
            opened.appliedSequence >= record.checkpointSequence && opened.appliedSequence <= latest,
            "\(context): file at sequence \(opened.appliedSequence), record \(record.checkpointSequence), log \(latest)"
        )
        // The log still holds everything after the file's sequence.
        let after =
            try db.integers(
                "SELECT count(*) FROM _quiver_changes WHERE seq > ?", SQLBindings([.integer(opened.appliedSequence)])
            ).first ?? -1
        #expect(
            after == latest - opened.appliedSequence,
            "\(context): the log lacks entries after the file's sequence \(opened.appliedSequence) (has \(after), latest \(latest))"
        )

        // 3. This process (its index caught up through the log): every row found by its own
        // vector, no hit that is not a live row, and agreement with the exact scan.
        let ids = live.keys.sorted()
        let vectors = ids.map { live[$0]! }
        if !ids.isEmpty {
            let outcome = try BatchSearch(table: "items", column: "emb", k: 3, metric: .l2, ef: ownVectorEf)
                .run(on: db, queries: vectors.flatMap { $0 }, queryCount: vectors.count)
            #expect(outcome.strategy == "hnsw index")
            var missing: [Int64] = []
            for (i, id) in ids.enumerated() {
                let keys = outcome.keys[(i * 3)..<(i * 3 + 3)]
                if !keys.contains(id) { missing.append(id) }
                #expect(
                    keys.allSatisfy { $0 == -1 || live[$0] != nil },
                    "\(context): a hit that is no live row: \(Array(keys))")
            }
            // Crash safety is absolute: every row missed must still be in the index with its
            // current vector (diagnose). Finding a row by its own vector is search quality, which
            // an approximate graph gives up to recall: at most 0.5% of the rows may be missed.
            if !missing.isEmpty {
                let (problems, notes) = try diagnose(missing, live: live, db: db, file: filePath)
                #expect(problems.isEmpty, "\(context): CRASH SAFETY: \(problems); \(notes)")
                if missing.count > Self.tolerableMisses(ids.count) {
                    Issue.record(
                        "\(context): SEARCH QUALITY: \(missing.count) rows not found by their own vector at ef \(ownVectorEf) in this process: \(notes)"
                    )
                }
            }
            let queries = (0..<20).map { _ in vector(id: Int64(random.next() % 100_000), version: 7) }
            let exact = try BatchSearch(table: "items", column: "emb", k: 10, metric: .l2, exact: true)
                .run(on: db, queries: queries.flatMap { $0 }, queryCount: queries.count)
            let approximate = try BatchSearch(table: "items", column: "emb", k: 10, metric: .l2, ef: 64)
                .run(on: db, queries: queries.flatMap { $0 }, queryCount: queries.count)
            let split: ([Int64]) -> [[Int64]] = { keys in (0..<20).map { Array(keys[($0 * 10)..<($0 * 10 + 10)]) } }
            let recall = recallOf(found: split(approximate.keys), truth: split(exact.keys))
            #expect(recall >= 0.9, "\(context): recall@10 \(recall) against the exact scan")
            _ = try db.nearest(queries[0], metric: .l2, k: 5)
            #expect(db.lastReport.strategy == .hnsw)

            // 4. A new process: maps the checkpoint file and replays the log itself.
            let child = try QuiverBinary.search(
                db: path, queries: vectors, k: 3, metric: .l2, ef: ownVectorEf, scratch: scratch)
            #expect(child.outcome.succeeded, "\(context): \(child.outcome)")
            var childMissing: [Int64] = []
            for (id, keys) in zip(ids, child.keys) {
                if !keys.contains(id) { childMissing.append(id) }
                #expect(
                    keys.allSatisfy { $0 == -1 || live[$0] != nil },
                    "\(context): a new process returned a hit that is no live row: \(keys)")
            }
            if !childMissing.isEmpty {
                let (problems, notes) = try diagnose(childMissing, live: live, db: db, file: filePath)
                #expect(problems.isEmpty, "\(context): CRASH SAFETY: \(problems); \(notes)")
                if childMissing.count > Self.tolerableMisses(ids.count) {
                    Issue.record(
                        "\(context): SEARCH QUALITY: \(childMissing.count) rows not found by their own vector at ef \(ownVectorEf) in a new process: \(notes)"
                    )
                }
            }
        }
        return Verified(
            model: model, checkpointSequence: record.checkpointSequence, fileSequence: opened.appliedSequence,
            latestSequence: latest, rows: live.count)
    }

    @Test func killedMidScriptKeepsRowsAndIndexConsistent() throws {
        let binary = try QuiverBinary.path()
        let directory = TemporaryDirectory("quiver-crash")
        let path = directory.file("db")
        var random = SeededRandom(seed: 2024)
        // 250 groups to start with, then the index.
        var model = Model()
        do {
            let db = try Database(path: path)
            _ = try db.execute(Self.schema)
            var itemBindings: [SQLBindings] = []
            var groupBindings: [SQLBindings] = []
            for g in Int64(1)...250 {
                let n = Int64(1 + random.next() % 6)
                for j in 0..<n {
                    itemBindings.append(
                        SQLBindings([
                            .integer(g * 8 + j), .integer(g), .integer(0),
                            .vector(Self.vector(id: g * 8 + j, version: 0)),
                        ]))
                }
                groupBindings.append(SQLBindings([.integer(g), .integer(n), .integer(0)]))
                model.groups[g] = (n, 0)
            }
            model.nextGroup = 251
            try db.executeMany("INSERT INTO items VALUES (?, ?, ?, ?)", itemBindings)
            try db.executeMany("INSERT INTO groups VALUES (?, ?, ?)", groupBindings)
            _ = try db.execute(
                "CREATE INDEX ix ON items USING hnsw (emb vector_l2_ops) WITH (m = 12, ef_construction = 48)")
        }
        let indexFile = try #require(filesInIndexFolder(path).first)
        let scriptPath = directory.file("script.sql")
        var kills = 0
        var completions = 0
        var checkpoints = 0
        var lastCheckpoint: Int64 = 0
        var pendingBefore: Int64 = 0
        var forcedCheckpoints = 0
        for iteration in 0..<12 {
            // Mostly scripts far longer than the kill delay; every fourth one short enough to
            // finish sometimes. Two runs are never killed: once 10,000 changes are pending, the
            // end of such a run writes a checkpoint, and later kills then start from it.
            let short = iteration % 4 == 3
            let complete = iteration == 6 || iteration == 10
            let script = Self.script(
                from: model, count: complete ? 1200 : short ? 20 : 2500, searches: !complete, random: &random)
            try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
            let delay = complete ? 120 : 0.02 + Double(random.next() % 980) / 1000
            let outcome = try KillableChild.run(binary, ["sql", "--db", path], stdinPath: scriptPath, killAfter: delay)
            if outcome.killed {
                kills += 1
            } else {
                completions += 1
                #expect(outcome.status == 0, "iteration \(iteration): the script failed: \(outcome.stderr.prefix(500))")
            }
            let context =
                "iteration \(iteration) (\(outcome.killed ? "killed" : "finished") after \(String(format: "%.0f", outcome.elapsed * 1000)) ms)"
            let verified = try Self.verify(
                path: path, indexFile: indexFile, scratch: directory.path, random: &random, context: context)
            model = verified.model
            if verified.checkpointSequence != lastCheckpoint {
                checkpoints += 1
                lastCheckpoint = verified.checkpointSequence
                if complete { forcedCheckpoints += 1 }
            } else if complete {
                #expect(
                    pendingBefore < 10_000,
                    "\(context): \(pendingBefore) changes were pending, yet a completed run wrote no checkpoint")
            }
            pendingBefore = verified.latestSequence - verified.checkpointSequence
        }
        #expect(kills >= 6, "only \(kills) of 12 runs were killed")
        // On a fast machine the killed runs get far enough to write the checkpoints themselves,
        // so count every checkpoint seen; completed runs are held to it by the check above.
        #expect(
            checkpoints >= 1,
            "no checkpoint was written during the test (\(forcedCheckpoints) at the end of a completed run)")
        print(
            "CrashTests: \(kills) kills, \(completions) completed runs, \(checkpoints) checkpoints seen, \(pendingBefore) changes pending at the end"
        )
    }

    /// A checkpoint is due (more than 10,000 changes pending, written with executeMany, which
    /// never checkpoints); `quiver sql "SELECT 1"` writes it at its end, after replaying the log.
    /// Copies of that database are killed at several points of such a run, measured on one
    /// uninterrupted run: while replaying, writing the file, recording it.
    @Test func killedDuringACheckpointKeepsRowsAndIndexConsistent() throws {
        let binary = try QuiverBinary.path()
        let directory = TemporaryDirectory("quiver-crash-checkpoint")
        let original = directory.file("original")
        var random = SeededRandom(seed: 4242)
        var groups: [Int64: Int64] = [:]
        do {
            let db = try Database(path: original)
            _ = try db.execute(Self.schema)
            var itemBindings: [SQLBindings] = []
            var groupBindings: [SQLBindings] = []
            for g in Int64(1)...200 {
                let n = Int64(1 + random.next() % 6)
                groups[g] = n
                for j in 0..<n {
                    itemBindings.append(
                        SQLBindings([
                            .integer(g * 8 + j), .integer(g), .integer(0),
                            .vector(Self.vector(id: g * 8 + j, version: 0)),
                        ]))
                }
                groupBindings.append(SQLBindings([.integer(g), .integer(n), .integer(0)]))
            }
            try db.executeMany("INSERT INTO items VALUES (?, ?, ?, ?)", itemBindings)
            try db.executeMany("INSERT INTO groups VALUES (?, ?, ?)", groupBindings)
            _ = try db.execute(
                "CREATE INDEX ix ON items USING hnsw (emb vector_l2_ops) WITH (m = 12, ef_construction = 48)")
            // Every row moves to a new version, round after round: one logged change per row.
            // Only executeMany from here on: `execute` would checkpoint at its end.
            var version: Int64 = 0
            var logged = 0
            while logged < 10_500 {
                version += 1
                var bindings: [SQLBindings] = []
                for (g, n) in groups.sorted(by: { $0.key < $1.key }) {
                    for j in 0..<n {
                        bindings.append(
                            SQLBindings([
                                .integer(version), .vector(Self.vector(id: g * 8 + j, version: version)),
                                .integer(g * 8 + j),
                            ]))
                    }
                }
                try db.executeMany("UPDATE items SET ver = ?, emb = ? WHERE id = ?", bindings)
                try db.executeMany("UPDATE groups SET ver = ?", [SQLBindings([.integer(version)])])
                logged += bindings.count
            }
        }
        let indexFile = try #require(filesInIndexFolder(original).first)
        #expect(
            try HNSWIndex.open(path: (indexFolder(original) as NSString).appendingPathComponent(indexFile))
                .appliedSequence == 0,
            "set-up: no checkpoint yet")
        func copy(_ name: String) throws -> String {
            let path = directory.file(name)
            try FileManager.default.copyItem(atPath: original, toPath: path)
            return path
        }
        // One run to the end: how long it takes, and that it does checkpoint.
        let measured = try copy("measured")
        let scriptPath = directory.file("select.sql")
        try "SELECT 1;\n".write(toFile: scriptPath, atomically: true, encoding: .utf8)
        let full = try KillableChild.run(binary, ["sql", "--db", measured], stdinPath: scriptPath, killAfter: 120)
        #expect(full.status == 0, "\(full.stderr)")
        let afterFull = try Database(path: measured)
        let record = try #require(try afterFull.indexRecords().first)
        #expect(record.checkpointSequence == (try afterFull.latestChangeSequence()), "the run did not checkpoint")
        #expect(record.file == indexFile)
        var outcomes: [String] = []
        for (attempt, fraction) in [0.85, 0.92, 0.96, 0.98, 0.99, 1.0].enumerated() {
            let path = try copy("attempt\(attempt)")
            let outcome = try KillableChild.run(
                binary, ["sql", "--db", path], stdinPath: scriptPath, killAfter: full.elapsed * fraction)
            let context =
                "checkpoint attempt \(attempt) (\(outcome.killed ? "killed" : "finished") after \(String(format: "%.0f", outcome.elapsed * 1000)) of \(String(format: "%.0f", full.elapsed * 1000)) ms)"
            if !outcome.killed { #expect(outcome.status == 0, "\(context): \(outcome.stderr)") }
            let checked = try Self.verify(
                path: path, indexFile: indexFile, scratch: directory.path, random: &random, context: context)
            outcomes.append("\(context): record at \(checked.checkpointSequence), file at \(checked.fileSequence)")
        }
        print("CrashTests checkpoint: " + outcomes.joined(separator: "; "))
    }

    /// Index files no record names (a killed build's, a killed checkpoint's temporary file) are
    /// removed on open; the live index file and files that are not index files stay.
    @Test func openingRemovesIndexFilesNoIndexNames() throws {
        let directory = TemporaryDirectory("quiver-orphans")
        let path = directory.file("db")
        let vectors = clusteredVectors(count: 300, dimension: 8, seed: 5)
        do {
            let db = try Database(path: path)
            _ = try db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, emb VECTOR(8))")
            try db.executeMany(
                "INSERT INTO items VALUES (?, ?)",
                vectors.enumerated().map {
                    SQLBindings([.integer(Int64($0.offset + 1)), .vector($0.element)])
                })
            _ = try db.execute("CREATE INDEX ix ON items USING hnsw (emb vector_l2_ops)")
        }
        let folder = indexFolder(path)
        let live = try #require(filesInIndexFolder(path).first)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: (folder as NSString).appendingPathComponent(live)))
        for stray in ["ix-0badf00d.hnsw", "\(live).tmp"] {
            try bytes.write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent(stray)))
        }
        try Data("keep".utf8).write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent("README.txt")))
        let db = try Database(path: path)
        #expect(Set(filesInIndexFolder(path)) == [live, "README.txt"])
        let top = try db.nearest(vectors[7], metric: .l2, k: 1)
        #expect(db.lastReport.strategy == .hnsw && top.first?.id == 8)
    }

    @Test func killedDuringCreateIndexLeavesNoIndexOrAWholeOne() throws {
        let binary = try QuiverBinary.path()
        let directory = TemporaryDirectory("quiver-crash-create")
        let path = directory.file("db")
        var random = SeededRandom(seed: 77)
        let count = 3000
        let vectors = clusteredVectors(count: count, dimension: 16, seed: 78)
        do {
            let db = try Database(path: path)
            _ = try db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, tag TEXT, emb VECTOR(16))")
            try db.executeMany(
                "INSERT INTO items VALUES (?, 'x', ?)",
                vectors.enumerated().map {
                    SQLBindings([.integer(Int64($0.offset + 1)), .vector($0.element)])
                })
        }
        let rows = vectors.enumerated().map { (id: Int64($0.offset + 1), vector: $0.element) }
        var environment = ProcessInfo.processInfo.environment
        environment["QUIVER_BUILD_THREADS"] = "1" // a slower build: a wider window to land in
        var outcomes: [String] = []
        let scriptPath = directory.file("create.sql")
        try "CREATE INDEX ix ON items USING hnsw (emb vector_l2_ops);\n".write(
            toFile: scriptPath, atomically: true, encoding: .utf8)
        // Attempt 0 runs to the end and times the build; the others are killed at points spread
        // over that time (with a little seeded jitter), from start-up to the commit.
        var buildTime = 1.0
        for (attempt, fraction) in [2.0, 0.2, 0.5, 0.8, 0.95, 1.0].enumerated() {
            let jitter = 0.9 + Double(random.next() % 200) / 1000
            let delay = attempt == 0 ? 120 : buildTime * fraction * jitter
            let outcome = try KillableChild.run(
                binary, ["sql", "--db", path], stdinPath: scriptPath, killAfter: delay, environment: environment)
            if attempt == 0 { buildTime = outcome.elapsed }
            let context =
                "attempt \(attempt) (\(outcome.killed ? "killed" : "finished") after \(String(format: "%.0f", outcome.elapsed * 1000)) ms)"
            if !outcome.killed { #expect(outcome.status == 0, "\(context): \(outcome.stderr)") }
            let db = try Database(path: path)
            let records = try db.indexRecords()
            #expect(records.count <= 1)
            let query = vectors[attempt * 100]
            if attempt == 0 { #expect(records.count == 1, "\(context): the uninterrupted CREATE INDEX left no index") }
            if let record = records.first {
                // A whole index: its file opens, holds every row and answers.
                let opened = try HNSWIndex.open(
                    path: (indexFolder(path) as NSString).appendingPathComponent(record.file))
                #expect(opened.count == count, "\(context)")
                let report = opened.check()
                #expect(report.danglingLinks == 0 && report.unreachable == 0, "\(context): \(report)")
                let top = try db.nearest(query, metric: .l2, k: 10)
                #expect(db.lastReport.strategy == .hnsw)
                #expect(top.first?.id == Int64(attempt * 100 + 1))
                #expect(
                    recallOf(
                        found: [top.map(\.id)], truth: [bruteForce(rows, query: query, metric: .l2, k: 10).map(\.id)])
                        >= 0.9)
                outcomes.append("\(context): index")
                _ = try db.execute("DROP INDEX ix") // for the next attempt
            } else {
                // No index: nothing half-made is used; the exact scan answers.
                #expect(try db.logTriggerNames().isEmpty, "\(context): log triggers without an index")
                let top = try db.nearest(query, metric: .l2, k: 10)
                #expect(db.lastReport.strategy == .exactScan)
                #expect(top.map(\.id) == bruteForce(rows, query: query, metric: .l2, k: 10).map(\.id))
                outcomes.append("\(context): no index")
            }
            // A killed build's file is removed when the database is next opened.
            let referenced = Set(records.map(\.file))
            let leftovers = filesInIndexFolder(path).filter { !referenced.contains($0) }
            #expect(leftovers.isEmpty, "\(context): unreferenced files left: \(leftovers)")
            #expect(try db.integers("SELECT count(*) FROM items") == [Int64(count)])
        }
        print("CrashTests CREATE INDEX: " + outcomes.joined(separator: "; "))
    }
}
