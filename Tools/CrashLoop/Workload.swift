import Foundation
import QuiverKernels

/// What the database must hold: the `items`/`groups` tables the shell workload writes, whether
/// the index on `items` exists, and the `imported` table the imports write.
struct Model: Equatable {
    struct Group: Equatable {
        var n: Int64
        var version: Int64
    }
    var groups: [Int64: Group] = [:]
    var nextGroup: Int64 = 1
    var itemsIndexed = true
    /// imported row id → the iteration whose import wrote it last.
    var imported: [Int64: Int64] = [:]

    static let dimension = 8

    static let schema = """
        CREATE TABLE items (id INTEGER PRIMARY KEY, grp INTEGER NOT NULL, ver INTEGER NOT NULL, emb VECTOR(8));
        CREATE TABLE groups (grp INTEGER PRIMARY KEY, n INTEGER NOT NULL, ver INTEGER NOT NULL);
        CREATE TABLE imported (id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, emb VECTOR(8));
        """
    static let createItemsIndex =
        "CREATE INDEX ix ON items USING hnsw (emb vector_l2_ops) WITH (m = 12, ef_construction = 48)"
    static let createImportedIndex =
        "CREATE INDEX imported_emb ON imported USING hnsw (emb vector_l2_ops) WITH (m = 12, ef_construction = 48)"

    /// Twelve cluster centres, so the graphs have structure to get wrong.
    static let centres: [[Float]] = {
        var random = SplitMix64(seed: 7)
        return (0..<12).map { _ in (0..<dimension).map { _ in Float.random(in: -1...1, using: &random) } }
    }()

    /// The one vector row `id` holds at `version` (items) or `batch` (imported): every row can
    /// be checked on its own.
    static func vector(id: Int64, version: Int64) -> [Float] {
        var random = SplitMix64(
            seed: UInt64(bitPattern: id) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: version) &* 0xBF58_476D_1CE4_E5B9
        )
        let centre = centres[random.below(centres.count)]
        return centre.map { $0 + Float.random(in: -0.35...0.35, using: &random) }
    }

    static func literal(_ v: [Float]) -> String {
        "'[" + v.map { "\($0)" }.joined(separator: ",") + "]'"
    }
}

/// A shell script of small transactions, each followed by `SELECT 'ack N'`, which the shell
/// prints once the transaction has committed; `states[k]` is the model after step k
/// (`states[0]` the model before the first).
struct ShellWorkload {
    var script: String
    var states: [Model]

    init(from start: Model, steps: Int, random: inout SplitMix64) {
        var model = start
        var lines = [".mode csv"]
        states = [model]
        func item(_ id: Int64, _ ver: Int64) -> String { Model.literal(Model.vector(id: id, version: ver)) }
        for step in 1...steps {
            let roll = random.below(100)
            let live = model.groups.keys.sorted()
            let crowded = model.groups.count > 350
            var sql: String
            if !model.itemsIndexed && roll < 30 {
                sql = Model.createItemsIndex + ";"
                model.itemsIndexed = true
            } else if model.itemsIndexed && roll == 99 {
                sql = "BEGIN; DROP INDEX ix; COMMIT;"
                model.itemsIndexed = false
            } else if model.itemsIndexed && roll == 98 {
                sql = "REINDEX ix;"
            } else if live.isEmpty || (roll < 45 && !crowded) {
                let g = model.nextGroup
                model.nextGroup += 1
                let n = Int64(1 + random.below(6))
                let values = (0..<n).map { j in "(\(g * 8 + j), \(g), 0, \(item(g * 8 + j, 0)))" }.joined(
                    separator: ", ")
                sql = "BEGIN; INSERT INTO items VALUES \(values); INSERT INTO groups VALUES (\(g), \(n), 0); COMMIT;"
                model.groups[g] = .init(n: n, version: 0)
            } else if roll < 70 || crowded && roll < 88 {
                let g = live[random.below(live.count)]
                sql = "BEGIN; DELETE FROM items WHERE grp = \(g); DELETE FROM groups WHERE grp = \(g); COMMIT;"
                model.groups[g] = nil
            } else if roll < 88 {
                let g = live[random.below(live.count)]
                let group = model.groups[g]!
                let next = group.version + 1
                let updates = (0..<group.n).map { j in
                    "UPDATE items SET ver = \(next), emb = \(item(g * 8 + j, next)) WHERE id = \(g * 8 + j);"
                }
                sql =
                    "BEGIN; " + updates.joined(separator: " ")
                    + " UPDATE groups SET ver = \(next) WHERE grp = \(g); COMMIT;"
                model.groups[g] = .init(n: group.n, version: next)
            } else if roll < 93 {
                // Rolled back: must leave no trace, in the rows or the index.
                let g = model.nextGroup + 1_000_000
                sql =
                    "BEGIN; INSERT INTO items VALUES (\(g * 8), \(g), 0, \(item(g * 8, 0))); INSERT INTO groups VALUES (\(g), 1, 0); ROLLBACK;"
            } else {
                // A search makes the child replay the log into its graph.
                sql =
                    "SELECT id FROM items ORDER BY emb <-> \(Model.literal(Model.vector(id: Int64(random.below(100_000)), version: 99))) LIMIT 3;"
            }
            lines.append(sql + " SELECT 'ack \(step)';")
            states.append(model)
        }
        script = lines.joined(separator: "\n") + "\n"
    }

    /// The last step the shell acknowledged, from its output.
    static func lastAcknowledged(in output: String) -> Int {
        var last = 0
        for line in output.split(whereSeparator: \.isNewline) where line.hasPrefix("ack ") {
            if let n = Int(line.dropFirst(4)) { last = max(last, n) }
        }
        return last
    }
}

/// A JSON Lines file for `quiver import` into `imported`: distinct ids, every row tagged with
/// the iteration (`batch`) and its vector a function of (id, batch).
struct ImportWorkload {
    var ids: [Int64]
    var batch: Int64
    var text: String

    init(batch: Int64, random: inout SplitMix64) {
        self.batch = batch
        var pool = Array(Int64(1)...2_500)
        pool.shuffle(using: &random)
        ids = Array(pool.prefix(100 + random.below(1_500)))
        text = ids.map { id in
            "{\"id\": \(id), \"batch\": \(batch), \"emb\": ["
                + Model.vector(id: id, version: batch).map { "\($0)" }.joined(separator: ", ") + "]}\n"
        }.joined()
    }

    /// The model with the first `count` records applied.
    func applied(_ count: Int, to model: Model) -> Model {
        var result = model
        for id in ids.prefix(count) { result.imported[id] = batch }
        return result
    }
}
