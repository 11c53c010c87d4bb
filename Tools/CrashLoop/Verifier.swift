import Foundation
import QuiverEngine
import QuiverIndex
import QuiverKernels
import QuiverStorage

/// Everything that must hold after a kill, checked on one snapshot of the database:
/// - the rows are one of the states the workload may have reached (every acknowledged
///   transaction in, no deleted row back, no half transaction), each row with its exact vector;
/// - each index file, mapped afresh and brought up to date from the change log as a new process
///   does, holds every row with its vector (an own-vector search finds it) and nothing else;
/// - the engine's index searches return rows only and agree with the exact scan up to recall;
/// - opening did not rebuild anything: each index file is the same file, untouched.
struct Verifier {
    let path: String
    var problems: [String] = []
    var notes: [String] = []

    init(path: String) { self.path = path }

    /// The state found, which must equal one of `candidates` (nil and a problem when none).
    mutating func verify(candidates: [Model], random: inout SplitMix64) throws -> (Model?, checkpoints: [String: Int64])
    {
        let db = try Database(path: path)
        // One snapshot, in a transaction: `execute` outside one would write a due checkpoint at
        // its end, and this must look at what the killed process left.
        return try db.transaction(.deferred) { try verify(db, candidates: candidates, random: &random) }
    }

    private mutating func verify(
        _ db: Database, candidates: [Model],
        random: inout SplitMix64
    ) throws -> (Model?, checkpoints: [String: Int64]) {
        func rows(_ sql: String, _ bindings: SQLBindings = .none) throws -> [[SQLValue]] {
            try db.execute(sql, bindings).last?.rows ?? []
        }

        // 1. The rows.
        var found = Model()
        for row in try rows("SELECT grp, n, ver FROM groups") {
            found.groups[row[0].integerValue!] = .init(n: row[1].integerValue!, version: row[2].integerValue!)
        }
        var items: [Int64: [Float]] = [:]
        var counts: [Int64: Int64] = [:]
        for row in try rows("SELECT id, grp, ver, emb FROM items") {
            let id = row[0].integerValue!
            let grp = row[1].integerValue!
            let ver = row[2].integerValue!
            counts[grp, default: 0] += 1
            if found.groups[grp]?.version != ver {
                problems.append(
                    "items row \(id) at version \(ver) but its group \(grp) is at \(found.groups[grp].map { "\($0.version)" } ?? "nothing") (a torn transaction)"
                )
            }
            if row[3].vectorValue != Model.vector(id: id, version: ver) {
                problems.append("items row \(id) holds a vector of no version")
            }
            items[id] = row[3].vectorValue
        }
        for (g, group) in found.groups where counts[g, default: 0] != group.n {
            problems.append("group \(g) has \(counts[g, default: 0]) of its \(group.n) rows (a torn transaction)")
        }
        var imported: [Int64: [Float]] = [:]
        for row in try rows("SELECT id, batch, emb FROM imported") {
            let id = row[0].integerValue!
            let batch = row[1].integerValue!
            found.imported[id] = batch
            if row[2].vectorValue != Model.vector(id: id, version: batch) {
                problems.append("imported row \(id) holds a vector not its batch's")
            }
            imported[id] = row[2].vectorValue
        }
        let records = try rows("SELECT name, table_name, file, checkpoint_sequence FROM _quiver_indexes ORDER BY name")
        found.itemsIndexed = records.contains { $0[0].textValue == "ix" }
        let matched = candidates.first {
            $0.groups == found.groups && $0.itemsIndexed == found.itemsIndexed && $0.imported == found.imported
        }
        if let matched {
            found.nextGroup = matched.nextGroup
        } else if let expected = candidates.first {
            let lost = expected.groups.keys.filter { found.groups[$0] == nil }.sorted()
            let back = found.groups.keys.filter { expected.groups[$0] == nil }.sorted()
            problems.append(
                "the rows match none of the \(candidates.count) states the workload may have reached: groups missing \(lost.prefix(8)), unexpected \(back.prefix(8)); index on items: \(found.itemsIndexed) (expected \(expected.itemsIndexed)); imported rows \(found.imported.count) (expected \(expected.imported.count))"
            )
        }

        // 2. The index files, as they are before anything maps them.
        let indexFolder = (path as NSString).appendingPathComponent("indexes")
        let latest =
            try rows("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = '_quiver_changes'), 0)").first?[0]
            .integerValue ?? 0
        var checkpoints: [String: Int64] = [:]
        var before: [String: FileStamp] = [:]
        for record in records {
            let file = (indexFolder as NSString).appendingPathComponent(record[2].textValue!)
            before[file] = FileStamp(file)
            if before[file] == nil { problems.append("index \(record[0].textValue!): its file \(file) is missing") }
        }
        for record in records {
            let name = record[0].textValue!
            let table = record[1].textValue!
            let file = (indexFolder as NSString).appendingPathComponent(record[2].textValue!)
            checkpoints[name] = record[3].integerValue!
            let live = table.lowercased() == "items" ? items : imported
            try checkFreshMapping(name: name, table: table, file: file, live: live, latest: latest, db: db)
            try checkEngineSearch(name: name, table: table, live: live, db: db, random: &random)
        }

        // 3. Nothing was rebuilt: the same files, untouched by opening and searching.
        for (file, stamp) in before where FileStamp(file) != stamp {
            problems.append("index file \(file) was rewritten while the database was opened and searched")
        }
        let referenced = Set(records.map { $0[2].textValue! })
        let strays = ((try? FileManager.default.contentsOfDirectory(atPath: indexFolder)) ?? []).filter {
            !referenced.contains($0) && !$0.hasSuffix(".tmp")
        }
        if !strays.isEmpty { notes.append("unreferenced index files: \(strays)") }
        return (problems.isEmpty ? found : matched, checkpoints)
    }

    /// Maps the file as a new process would and replays the log onto it: it must hold exactly
    /// the live rows, each found by a search for its own vector.
    private mutating func checkFreshMapping(
        name: String, table: String, file: String, live: [Int64: [Float]], latest: Int64,
        db: Database
    ) throws {
        let index: HNSWIndex
        do { index = try HNSWIndex.open(path: file) } catch {
            problems.append("index \(name): \(error)")
            return
        }
        var seen = Set<Int64>()
        let changed =
            try db.execute(
                "SELECT row_id FROM _quiver_changes WHERE seq > ? AND table_name = ? COLLATE NOCASE ORDER BY seq",
                SQLBindings([.integer(index.appliedSequence), .text(table)])
            ).last?.rows
            .compactMap { $0[0].integerValue }.filter { seen.insert($0).inserted } ?? []
        try index.apply(changed.map { ($0, live[$0]) }, through: latest)
        if index.count != live.count {
            problems.append("index \(name): \(index.count) live nodes for \(live.count) rows")
        }
        let report = index.check()
        if report.danglingLinks > 0 { problems.append("index \(name): \(report)") }
        var misses: [Int64] = []
        for (id, vector) in live {
            let hits = index.search(vector, k: 3, ef: 64).hits.map(\.label)
            if let stray = hits.first(where: { live[$0] == nil }) {
                problems.append("index \(name): a search returned \(stray), which is no row")
            }
            if !hits.contains(id) { misses.append(id) }
        }
        // A miss is allowed (recall), but the row must be in the graph with its vector.
        for id in misses.prefix(100) {
            let own = index.search(live[id]!, k: 1, ef: 100_000, accept: { $0 == id }).hits.first
            if own == nil || own!.distance > 1e-4 {
                if report.unreachable == 0 || own != nil {
                    problems.append(
                        "index \(name): row \(id) is not in the graph with its vector (\(own.map { "distance \($0.distance)" } ?? "not reachable"))"
                    )
                }
            }
        }
        if misses.count > max(2, live.count / 200) {
            problems.append(
                "index \(name): \(misses.count) of \(live.count) rows not found by their own vector at ef 64")
        }
    }

    /// The engine's own path: searches through the index return rows only and agree with the
    /// exact scan.
    private mutating func checkEngineSearch(
        name: String, table: String, live: [Int64: [Float]], db: Database,
        random: inout SplitMix64
    ) throws {
        guard live.count >= 10 else { return }
        var hits = 0
        var total = 0
        for _ in 0..<10 {
            let query = Model.vector(id: Int64(random.below(1_000_000)), version: 7)
            let sql = "SELECT id FROM \(table) ORDER BY emb <-> ? LIMIT 10"
            let viaIndex =
                try db.execute(sql, SQLBindings([.vector(query)])).last?.rows.compactMap { $0[0].integerValue } ?? []
            if db.lastReport.strategy != .hnsw {
                problems.append("index \(name): the query ran as \("\(db.lastReport.strategy)")")
            }
            let exact =
                try db.execute(
                    "SELECT /*+ exact */ id FROM \(table) ORDER BY emb <-> ? LIMIT 10", SQLBindings([.vector(query)])
                ).last?.rows.compactMap { $0[0].integerValue } ?? []
            if viaIndex.contains(where: { live[$0] == nil }) {
                problems.append("index \(name): a search returned a row that does not exist")
            }
            hits += Set(viaIndex).intersection(exact).count
            total += exact.count
        }
        if total > 0, Double(hits) / Double(total) < 0.9 {
            problems.append("index \(name): recall@10 \(Double(hits) / Double(total)) against the exact scan")
        }
    }
}

/// What tells a rewritten file from an untouched one.
struct FileStamp: Equatable {
    var inode: UInt64
    var size: Int64
    var modified: Int

    init?(_ path: String) {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        inode = UInt64(status.st_ino)
        size = Int64(status.st_size)
        modified = Int(status.st_mtim.tv_sec) * 1_000_000_000 + Int(status.st_mtim.tv_nsec)
    }
}
