import Foundation
import QuiverClient
import QuiverJSON
import QuiverKernels

/// A reader: rounds of reads through every read path (`/sql`, `/rows/get`, `/query` with and
/// without filters), each checked against the state acknowledged before the read began:
/// no torn read (the accounts' total, whole batches, rows against counts), no lost acknowledged
/// write (the newest batch and transfer visible, a batch's rows at their acknowledged version,
/// found by a search for their own vectors), nothing deleted back.
struct Reader {
    let number: Int
    let unix: Bool
    let ledger: Ledger
    let seed: UInt64
    let token: String?
    let timeout: TimeInterval

    var name: String { "reader \(number)" }

    func run() {
        var random = SplitMix64(seed: seed &+ UInt64(number) &* 7_777)
        var session: Session?
        var epoch = -1
        var round = 0
        while let current = ledger.awaitRunning(name) {
            if current != epoch || session == nil {
                session = Session(who: name, unix: unix, ledger: ledger, token: token, timeout: timeout)
                epoch = current
            }
            round += 1
            do {
                try self.round(round, over: session!, random: &random)
                ledger.count("reader rounds")
            } catch {
                // Killed (or died) mid-request: the next round runs against the restarted server.
                if ledger.failureIsExplained(since: epoch) { continue }
                ledger.problem("\(name): \(error)")
            }
        }
        ledger.finished(name)
    }

    private func round(_ round: Int, over session: Session, random: inout SplitMix64) throws {
        let acknowledged = ledger.acknowledged
        try checkTotals(session, acknowledged)
        try checkBatchesWhole(session, acknowledged)
        try checkDeletedStayDeleted(session, acknowledged, random: &random)
        // A live batch nobody is changing: recent ones on odd rounds, any on even ones.
        guard acknowledged.newest > 0 else { return }
        let range = round % 2 == 1 ? max(1, acknowledged.newest - 20)...acknowledged.newest : 1...acknowledged.newest
        for _ in 0..<8 {
            let batch = range.lowerBound + Int64(random.below(Int(range.upperBound - range.lowerBound + 1)))
            guard let state = acknowledged.batches[batch], ledger.isStable(batch, version: state.version) else {
                continue
            }
            try checkBatch(session, batch, state)
            try checkSearches(session, batch, state, row: random.below(state.n), variant: round % 3)
            return
        }
    }

    /// The accounts' total never changes: in one statement (`/sql`) and in one `/rows/get`; and
    /// the acknowledged transfers are all there.
    private func checkTotals(_ session: Session, _ acknowledged: Model) throws {
        let sets = try session.sql(
            "sql read", "accounts total",
            """
            SELECT sum(balance), count(*) FROM \(Schema.accounts); SELECT coalesce(max(seq), 0) FROM \(Schema.transfers)
            """)
        if sets.first?.integer(0, 0) != Model.total || sets.first?.integer(0, 1) != Int64(Model.accounts) {
            ledger.problem(
                "\(name): torn read: accounts total and count \(sets.first?.rows.first.map { $0.map(\.jsonText).joined(separator: ", ") } ?? "none"), expected \(Model.total) over \(Model.accounts)"
            )
        }
        let newestTransfer = sets.last?.integer() ?? -1
        if newestTransfer < acknowledged.transfers {
            ledger.problem(
                "\(name): lost write: transfer \(acknowledged.transfers) was acknowledged but the newest visible is \(newestTransfer)"
            )
        }
        let ids: [JSONValue] = (1...Model.accounts).map { .integer(Int64($0)) }
        let answer = try session.call(
            "rows/get", "accounts by id", "POST", "/tables/\(Schema.accounts)/rows/get",
            .object(["ids": .array(ids), "columns": .array([.string("balance")])]))
        let balances = answer["rows"]?.arrayValue?.compactMap { $0["balance"]?.integerValue } ?? []
        if balances.count != Model.accounts || balances.reduce(0, +) != Model.total {
            ledger.problem(
                "\(name): torn read: rows/get of the accounts gave \(balances.count) balances summing to \(balances.reduce(0, +)), expected \(Model.total)"
            )
        }
    }

    /// Every recent batch whole at one version; rows written by scripts match their count rows
    /// (two statements of one script: one snapshot); the newest acknowledged batch visible.
    private func checkBatchesWhole(_ session: Session, _ acknowledged: Model) throws {
        let sets = try session.sql(
            "sql read", "batches whole",
            """
            SELECT batch, count(*), max(n), min(version), max(version) FROM \(Schema.items) WHERE batch >= ?1 GROUP BY batch
                HAVING count(*) != max(n) OR min(n) != max(n) OR min(version) != max(version) LIMIT 5;
            SELECT count(*) FROM \(Schema.items) WHERE via_sql = 1;
            SELECT coalesce(sum(n), 0) FROM \(Schema.batches);
            SELECT coalesce(max(batch), 0) FROM \(Schema.items)
            """, [.integer(acknowledged.newest - 300)])
        guard sets.count == 4 else { throw StressError("batches whole: \(sets.count) result sets, expected 4") }
        for torn in sets[0].rows {
            ledger.problem(
                "\(name): torn batch: (batch, rows, n, min version, max version) = \(torn.map(\.jsonText).joined(separator: ", "))"
            )
        }
        if sets[1].integer() != sets[2].integer() {
            ledger.problem(
                "\(name): torn read: \(sets[1].integer() ?? -1) rows written by scripts but their count rows say \(sets[2].integer() ?? -1)"
            )
        }
        if let newest = sets[3].integer(), newest < acknowledged.newest {
            ledger.problem(
                "\(name): lost write: batch \(acknowledged.newest) was acknowledged but the newest visible is \(newest)"
            )
        }
    }

    /// A batch whose delete was acknowledged stays gone.
    private func checkDeletedStayDeleted(_ session: Session, _ acknowledged: Model, random: inout SplitMix64) throws {
        guard !acknowledged.deleted.isEmpty else { return }
        let batch = acknowledged.deleted[random.below(acknowledged.deleted.count)]
        let ids: [JSONValue] = (0..<16).map { .integer(Model.id(batch: batch, row: $0)) }
        let answer = try session.call(
            "rows/get", "deleted batch \(batch)", "POST", "/tables/\(Schema.items)/rows/get",
            .object(["ids": .array(ids), "columns": .array([.string("batch")])]))
        if let rows = answer["rows"]?.arrayValue, !rows.isEmpty {
            ledger.problem("\(name): deleted batch \(batch) is back: \(rows.count) of its rows are visible")
        }
    }

    /// The batch's rows are all there at the acknowledged version (checked only if nothing
    /// changed the batch meanwhile).
    private func checkBatch(_ session: Session, _ batch: Int64, _ state: Model.Batch) throws {
        let ids: [JSONValue] = (0..<state.n).map { .integer(Model.id(batch: batch, row: $0)) }
        let answer = try session.call(
            "rows/get", "batch \(batch)", "POST", "/tables/\(Schema.items)/rows/get",
            .object(["ids": .array(ids), "columns": .array(["batch", "n", "version"].map(JSONValue.string))]))
        guard ledger.isStable(batch, version: state.version) else {
            return ledger.count("checks skipped: batch changed meanwhile")
        }
        let rows = answer["rows"]?.arrayValue ?? []
        let wrong = rows.filter {
            $0["batch"]?.integerValue != batch || $0["n"]?.integerValue != Int64(state.n)
                || $0["version"]?.integerValue != Int64(state.version)
        }
        if rows.count != state.n || !wrong.isEmpty {
            ledger.problem(
                "\(name): lost write: acknowledged batch \(batch) (\(state.n) rows, version \(state.version)) read as \(answer.jsonText)"
            )
        }
        ledger.count("batches read")
    }

    /// A search for a row's own vector finds it: filtered to its batch (at most 8 rows pass,
    /// which the planner scores exactly: a miss is a problem), and through the index, by
    /// `/query`, `/query` with a filter every row passes, or SQL (a miss counts against the
    /// approximate search's budget).
    private func checkSearches(_ session: Session, _ batch: Int64, _ state: Model.Batch, row: Int, variant: Int) throws
    {
        let id = Model.id(batch: batch, row: row)
        let vector = JSONValue.vector(Model.vector(batch: batch, row: row, version: state.version))
        let filtered = try session.call(
            "query", "filtered search in batch \(batch)", "POST", "/tables/\(Schema.items)/query",
            .object([
                "vector": vector, "k": .integer(3), "filter": .object(["batch": .integer(batch)]),
                "columns": .array([.string("id")]),
            ]))
        let filteredIDs = filtered["results"]?.arrayValue?.compactMap { $0["id"]?.integerValue } ?? []
        let found: [Int64]
        switch variant {
        case 0:
            let answer = try session.call(
                "query", "search for row \(id)", "POST", "/tables/\(Schema.items)/query",
                .object(["vector": vector, "k": .integer(3), "columns": .array([.string("id")])]))
            found = answer["results"]?.arrayValue?.compactMap { $0["id"]?.integerValue } ?? []
        case 1:
            let answer = try session.call(
                "query", "search for row \(id) (filter n >= 2)", "POST", "/tables/\(Schema.items)/query",
                .object([
                    "vector": vector, "k": .integer(3), "filter": .object(["n": .object(["$gte": .integer(2)])]),
                    "columns": .array([.string("id")]),
                ]))
            found = answer["results"]?.arrayValue?.compactMap { $0["id"]?.integerValue } ?? []
        default:
            let sets = try session.sql(
                "sql read", "SQL search for row \(id)", "SELECT id FROM \(Schema.items) ORDER BY emb <-> ?1 LIMIT 3",
                [vector])
            found = sets.first?.rows.compactMap { $0.first?.integerValue } ?? []
        }
        // Deleted or updated meanwhile: the row may rightly be gone or moved.
        guard ledger.isStable(batch, version: state.version) else {
            return ledger.count("checks skipped: batch changed meanwhile")
        }
        ledger.count("searches filtered to a batch")
        if !filteredIDs.contains(id) {
            ledger.problem(
                "\(name): a search filtered to batch \(batch) for row \(id)'s own vector (version \(state.version)) returned \(filteredIDs)"
            )
        }
        ledger.count("index searches")
        if !found.contains(id) { ledger.count("index searches that missed their row") }
    }
}

struct StressError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
