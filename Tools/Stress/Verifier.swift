import Foundation
import QuiverClient
import QuiverJSON
import QuiverKernels

/// The full check, after a kill and restart and at the end, while the writer is parked: the
/// server answers `/health` on both listeners; in one snapshot the database holds exactly the
/// acknowledged state, or that plus the write that was in flight (whole, never part of it): every
/// acknowledged transfer and batch, at its version, nothing deleted back; and rows of the live
/// batches are found by an index search for their own vectors (after a restart: the checkpoint
/// plus the replayed change log).
struct Verifier {
    static let name = "verifier"
    let ledger: Ledger
    let token: String?
    let timeout: TimeInterval

    /// The state found: the acknowledged one, or with the write in flight applied.
    func verify(_ acknowledged: Model, inFlight: Operation?, when: String, random: inout SplitMix64) throws -> Model {
        let tcp = Session(who: Self.name, unix: false, ledger: ledger, token: token, timeout: timeout)
        let unix = Session(who: Self.name, unix: true, ledger: ledger, token: token, timeout: timeout)
        defer {
            tcp.close()
            unix.close()
        }
        for session in [tcp, unix]
        where try session.call("health", "health", "GET", "/health")["status"]?.stringValue != "ok" {
            ledger.problem("\(when): /health over \(session.transport) did not answer ok")
        }
        let found = try snapshot(tcp, when: when)
        let candidates = [acknowledged] + (inFlight.map { [$0.applied(to: acknowledged)] } ?? [])
        let matched = candidates.first {
            $0.balances == found.balances && $0.transfers == found.transfers && $0.batches == found.batches
        }
        if let matched, inFlight != nil {
            ledger.count(
                matched == candidates[0]
                    ? "writes in flight at a kill: not committed" : "writes in flight at a kill: committed")
        } else if matched == nil {
            report(found, against: acknowledged, inFlight: inFlight, when: when)
        }
        let state = matched ?? acknowledged
        try searchOwnVectors(tcp, state, random: &random)
        return state
    }

    struct Found {
        var balances: [Int64] = []
        var transfers: Int64 = 0
        var batches: [Int64: Model.Batch] = [:]
    }

    /// Everything, in one script (one snapshot); a torn batch or a count row that disagrees with
    /// its batch is a problem here already.
    private func snapshot(_ session: Session, when: String) throws -> Found {
        let sets = try session.sql(
            "sql read", "snapshot",
            """
            SELECT balance FROM \(Schema.accounts) ORDER BY id;
            SELECT count(*), coalesce(max(seq), 0) FROM \(Schema.transfers);
            SELECT id, batch, n, version, via_sql FROM \(Schema.items) ORDER BY id;
            SELECT batch, n FROM \(Schema.batches) ORDER BY batch
            """)
        guard sets.count == 4 else { throw StressError("snapshot: \(sets.count) result sets, expected 4") }
        var found = Found()
        found.balances = sets[0].rows.compactMap { $0.first?.integerValue }
        found.transfers = sets[1].integer(0, 1) ?? -1
        if sets[1].integer(0, 0) != found.transfers {
            ledger.problem(
                "\(when): transfers numbered up to \(found.transfers) but \(sets[1].integer(0, 0) ?? -1) of them are there"
            )
        }
        var rowsByBatch: [Int64: [[JSONValue]]] = [:]
        for row in sets[2].rows { rowsByBatch[row[1].integerValue ?? -1, default: []].append(row) }
        for (batch, rows) in rowsByBatch {
            let first = rows[0]
            let state = Model.Batch(
                n: Int(first[2].integerValue ?? -1), version: Int(first[3].integerValue ?? -1),
                viaSQL: first[4].integerValue == 1)
            let ids = rows.compactMap { $0[0].integerValue }
            let whole =
                ids == (0..<state.n).map { Model.id(batch: batch, row: $0) }
                && rows.allSatisfy { $0[2] == first[2] && $0[3] == first[3] && $0[4] == first[4] }
            if !whole {
                ledger.problem(
                    "\(when): torn batch \(batch): \(rows.map { $0.map(\.jsonText).joined(separator: " ") })")
            }
            found.batches[batch] = state
        }
        let counted = Dictionary(
            uniqueKeysWithValues: sets[3].rows.compactMap { row in
                row[0].integerValue.flatMap { batch in row[1].integerValue.map { (batch, Int($0)) } }
            })
        let scripted = found.batches.filter(\.value.viaSQL).mapValues(\.n)
        if counted != scripted {
            ledger.problem(
                "\(when): count rows disagree with the batches written by scripts: \(counted.count) count rows, \(scripted.count) batches"
            )
        }
        return found
    }

    /// Says what differs from the acknowledged state: lost, back from the dead, wrong version,
    /// wrong balances.
    private func report(_ found: Found, against model: Model, inFlight: Operation?, when: String) {
        var differences: [String] = []
        let lost = model.batches.keys.filter { found.batches[$0] == nil }.sorted()
        if !lost.isEmpty { differences.append("acknowledged batches missing: \(lost.prefix(10))") }
        let deleted = Set(model.deleted)
        let back = found.batches.keys.filter { deleted.contains($0) }.sorted()
        if !back.isEmpty { differences.append("deleted batches back: \(back.prefix(10))") }
        let changed = model.batches.filter { key, expected in found.batches[key].map { $0 != expected } ?? false }.keys
            .sorted()
        if !changed.isEmpty {
            differences.append(
                "batches not as acknowledged: "
                    + changed.prefix(5).map { "\($0): \(model.batches[$0]!) found \(found.batches[$0]!)" }.joined(
                        separator: "; "))
        }
        let unknown = found.batches.keys.filter { model.batches[$0] == nil && !deleted.contains($0) }.sorted()
        if !unknown.isEmpty { differences.append("batches never acknowledged: \(unknown.prefix(10))") }
        if found.balances != model.balances {
            differences.append("balances \(found.balances), acknowledged \(model.balances)")
        }
        if found.transfers != model.transfers {
            differences.append("\(found.transfers) transfers, acknowledged \(model.transfers)")
        }
        ledger.problem(
            "\(when): the database is neither the acknowledged state nor that plus the write in flight (\(inFlight.map(Writer.describe) ?? "none")): \(differences.joined(separator: "; "))"
        )
    }

    /// Rows of the newest batches, and of others drawn at random, found by an index search for
    /// their own vectors. A miss is checked against an exact search: the row must be there with
    /// that vector (else a problem); index misses count against the approximate search's budget.
    private func searchOwnVectors(_ session: Session, _ state: Model, random: inout SplitMix64) throws {
        let live = state.batches.keys.sorted()
        guard !live.isEmpty else { return }
        var rows = live.suffix(20).flatMap { batch in (0..<state.batches[batch]!.n).map { (batch, $0) } }
        for _ in 0..<100 {
            let batch = live[random.below(live.count)]
            rows.append((batch, random.below(state.batches[batch]!.n)))
        }
        for (batch, row) in rows {
            let id = Model.id(batch: batch, row: row)
            let vector = JSONValue.vector(Model.vector(batch: batch, row: row, version: state.batches[batch]!.version))
            let answer = try session.call(
                "query", "search for row \(id)", "POST", "/tables/\(Schema.items)/query",
                .object(["vector": vector, "k": .integer(3), "columns": .array([.string("id")])]))
            ledger.count("verifier index searches")
            if answer["results"]?.arrayValue?.contains(where: { $0["id"]?.integerValue == id }) == true { continue }
            ledger.count("verifier index searches that missed their row")
            let exact = try session.call(
                "query", "exact search for row \(id)", "POST", "/tables/\(Schema.items)/query",
                .object(["vector": vector, "k": .integer(1), "exact": .bool(true), "columns": .array([.string("id")])]))
            if exact["results"]?[0]?["id"]?.integerValue != id {
                ledger.problem(
                    "row \(id) (batch \(batch)) is not found even by an exact search for its vector: \(exact.jsonText)")
            }
        }
    }
}
