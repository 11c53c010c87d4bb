import Foundation
import QuiverClient
import QuiverJSON
import QuiverKernels

/// The one writer: an endless stream of transfers, new batches, updates and deletes, each one
/// transaction, alternating between TCP and the Unix socket. A write joins the acknowledged
/// state (`Ledger.acknowledge`) only once the server has answered 2xx; the one in flight when
/// the server is killed is settled by the verifier after the restart.
struct Writer {
    static let name = "writer"
    let ledger: Ledger
    let seed: UInt64
    let token: String?
    let timeout: TimeInterval

    func run() {
        var random = SplitMix64(seed: seed)
        var nextBatch: Int64 = 1
        var sessions: [Session] = []
        var epoch = -1
        var step = 0
        while let current = ledger.awaitRunning(Self.name) {
            if current != epoch {
                sessions = [false, true].map {
                    Session(who: Self.name, unix: $0, ledger: ledger, token: token, timeout: timeout)
                }
                epoch = current
            }
            step += 1
            let session = sessions[step % sessions.count]
            let operation = ledger.begin { Self.plan(from: $0, nextBatch: &nextBatch, random: &random) }
            do {
                try send(operation, over: session)
                ledger.acknowledge(operation)
                tally(operation)
            } catch {
                // Killed (or died) mid-request: the verifier settles whether it committed.
                if ledger.failureIsExplained(since: epoch) { continue }
                ledger.problem("writer: \(Self.describe(operation)) failed: \(error)")
                break // its outcome is unknown, so the writer's model can no longer be trusted
            }
        }
        ledger.finished(Self.name)
    }

    /// The next write: mostly new batches (by script or upsert) and transfers, some updates and
    /// deletes of older batches.
    static func plan(from model: Model, nextBatch: inout Int64, random: inout SplitMix64) -> Operation {
        func transfer() -> Operation.Transfer {
            .init(
                seq: model.transfers + 1, source: 1 + random.below(Model.accounts),
                target: 1 + random.below(Model.accounts),
                amount: Int64(random.below(50)))
        }
        func newBatch() -> (Int64, Int) {
            defer { nextBatch += 1 }
            return (nextBatch, 2 + random.below(7))
        }
        /// A live batch among `range`, found by probing a few numbers (the model has no list of them).
        func liveBatch(_ range: ClosedRange<Int64>) -> (Int64, Model.Batch)? {
            guard !range.isEmpty else { return nil }
            for _ in 0..<8 {
                let candidate = range.lowerBound + Int64(random.below(Int(range.upperBound - range.lowerBound + 1)))
                if let batch = model.batches[candidate] { return (candidate, batch) }
            }
            return nil
        }
        let roll = random.below(100)
        switch roll {
        case ..<35:
            let (batch, n) = newBatch()
            return .scriptBatch(transfer(), batch: batch, n: n, explicit: random.below(2) == 0)
        case ..<65:
            let (batch, n) = newBatch()
            return .upsertBatch(batch: batch, n: n)
        case ..<75:
            return .transfer(transfer(), explicit: random.below(2) == 0)
        case ..<88:
            // Mostly recent batches, which the readers look at most.
            let recent = random.below(2) == 0
            if let (batch, state) = liveBatch(
                recent ? max(1, model.newest - 50)...max(1, model.newest) : 1...max(1, model.newest))
            {
                return .update(batch: batch, n: state.n, version: state.version + 1)
            }
            let (batch, n) = newBatch()
            return .upsertBatch(batch: batch, n: n)
        default:
            // Never the newest ten, so the newest acknowledged batch is always live.
            if model.newest > 10, let (batch, state) = liveBatch(1...(model.newest - 10)) {
                return .delete(batch: batch, n: state.n, viaSQL: state.viaSQL)
            }
            return .transfer(transfer(), explicit: false)
        }
    }

    private func send(_ operation: Operation, over session: Session) throws {
        let what = Self.describe(operation)
        switch operation {
        case .scriptBatch(let t, let batch, let n, let explicit):
            var parameters: [JSONValue] = [
                .integer(t.amount), .integer(Int64(t.source)), .integer(Int64(t.target)), .integer(t.seq),
                .integer(batch), .integer(Int64(n)),
            ]
            var rows: [String] = []
            for row in 0..<n {
                rows.append("(?\(7 + 2 * row), ?5, ?6, 0, 1, ?\(8 + 2 * row))")
                parameters += [
                    .integer(Model.id(batch: batch, row: row)),
                    .vector(Model.vector(batch: batch, row: row, version: 0)),
                ]
            }
            let script =
                Self.transferSQL + """
                    INSERT INTO \(Schema.items) (id, batch, n, version, via_sql, emb) VALUES \(rows.joined(separator: ", "));
                    INSERT INTO \(Schema.batches) VALUES (?5, ?6);
                    """
            try session.sql("sql write", what, explicit ? "SAVEPOINT w; \(script) RELEASE w" : script, parameters)
        case .transfer(let t, let explicit):
            let parameters: [JSONValue] = [
                .integer(t.amount), .integer(Int64(t.source)), .integer(Int64(t.target)), .integer(t.seq),
            ]
            try session.sql(
                "sql write", what, explicit ? "SAVEPOINT w; \(Self.transferSQL) RELEASE w" : Self.transferSQL,
                parameters)
        case .upsertBatch(let batch, let n):
            let rows: [JSONValue] = (0..<n).map { row in
                .object([
                    "id": .integer(Model.id(batch: batch, row: row)), "batch": .integer(batch), "n": .integer(Int64(n)),
                    "version": .integer(0), "via_sql": .integer(0),
                    "emb": .vector(Model.vector(batch: batch, row: row, version: 0)),
                ])
            }
            try expect(
                session.call("upsert", what, "POST", "/tables/\(Schema.items)/rows", .object(["rows": .array(rows)]))[
                    "upserted"],
                n, what)
        case .update(let batch, let n, let version):
            // A partial upsert: the key and the columns that change (the NOT NULL batch, n and
            // via_sql are left as they are).
            let rows: [JSONValue] = (0..<n).map { row in
                .object([
                    "id": .integer(Model.id(batch: batch, row: row)), "version": .integer(Int64(version)),
                    "emb": .vector(Model.vector(batch: batch, row: row, version: version)),
                ])
            }
            try expect(
                session.call("upsert", what, "POST", "/tables/\(Schema.items)/rows", .object(["rows": .array(rows)]))[
                    "upserted"],
                n, what)
        case .delete(let batch, let n, let viaSQL):
            if viaSQL {
                let results = try session.sql(
                    "sql write", what,
                    """
                    DELETE FROM \(Schema.items) WHERE batch = ?1 RETURNING id; DELETE FROM \(Schema.batches) WHERE batch = ?1 RETURNING batch
                    """, [.integer(batch)])
                expect(.integer(Int64(results.first?.rows.count ?? -1)), n, what)
                expect(.integer(Int64(results.last?.rows.count ?? -1)), 1, what + " (its count row)")
            } else {
                let ids: [JSONValue] = (0..<n).map { .integer(Model.id(batch: batch, row: $0)) }
                try expect(
                    session.call(
                        "delete", what, "POST", "/tables/\(Schema.items)/rows/delete", .object(["ids": .array(ids)]))[
                            "deleted"],
                    n, what)
            }
        }
    }

    /// The server says how many rows it wrote or deleted; anything but all of them is wrong.
    private func expect(_ answered: JSONValue?, _ n: Int, _ what: String) {
        if answered?.integerValue != Int64(n) {
            ledger.problem("writer: \(what) was answered with \(answered?.jsonText ?? "nothing") rows, expected \(n)")
        }
    }

    private func tally(_ operation: Operation) {
        switch operation {
        case .scriptBatch:
            ledger.count("batches by script")
            ledger.count("transfers")
        case .transfer: ledger.count("transfers")
        case .upsertBatch: ledger.count("batches by upsert")
        case .update: ledger.count("batch updates")
        case .delete: ledger.count("batch deletes")
        }
    }

    /// The transfer's statements: ?1 amount, ?2 from, ?3 to, ?4 its number.
    static let transferSQL = """
        UPDATE \(Schema.accounts) SET balance = balance - ?1 WHERE id = ?2;
        UPDATE \(Schema.accounts) SET balance = balance + ?1 WHERE id = ?3;
        INSERT INTO \(Schema.transfers) VALUES (?4, ?2, ?3, ?1);
        """

    static func describe(_ operation: Operation) -> String {
        switch operation {
        case .scriptBatch(let t, let batch, let n, let explicit):
            "script\(explicit ? " (SAVEPOINT … RELEASE)" : ""): transfer \(t.seq) and batch \(batch) of \(n) rows"
        case .transfer(let t, let explicit): "script\(explicit ? " (SAVEPOINT … RELEASE)" : ""): transfer \(t.seq)"
        case .upsertBatch(let batch, let n): "upsert of batch \(batch) (\(n) rows)"
        case .update(let batch, _, let version): "update of batch \(batch) to version \(version)"
        case .delete(let batch, _, let viaSQL): "delete of batch \(batch) (\(viaSQL ? "script" : "rows/delete"))"
        }
    }
}
