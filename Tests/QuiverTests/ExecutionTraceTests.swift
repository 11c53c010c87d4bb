import Foundation
import QuiverEngine
import QuiverKernels
import QuiverQuery
import QuiverStorage
import Testing

/// The execution trace a nearest-neighbour query leaves: its strategy, decision, counts and
/// steps for each way a query can run, its times on one clock, and EXPLAIN's words made from it.
@Suite struct ExecutionTraceTests {
    let directory = TemporaryDirectory("quiver-trace")
    let db: Database
    static let count = 3000
    static let rare = 20
    let query: [Float]

    init() throws {
        db = try Database(path: directory.file("db"))
        _ = try db.execute(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, tag TEXT, emb VECTOR(8)); CREATE INDEX items_tag ON items (tag)"
        )
        var random = SeededRandom(seed: 2024)
        let bindings = (1...Self.count).map { id in
            SQLBindings([
                .integer(Int64(id)), .text(id % (Self.count / Self.rare) == 0 ? "rare" : "common"),
                .vector(random.vector(8)),
            ])
        }
        try db.executeMany("INSERT INTO items VALUES (?, ?, ?)", bindings)
        _ = try db.execute("CREATE INDEX items_emb ON items USING hnsw (emb vector_cosine_ops)")
        query = random.vector(8)
    }

    private func nearest(_ condition: String = "", hint: String = "") throws -> [Int64] {
        try db.integers(
            "SELECT \(hint)id FROM items \(condition) ORDER BY emb <=> ? LIMIT 5", SQLBindings([.vector(query)]))
    }

    private var stepKinds: [ExecutionTrace.Step] { db.lastReport.steps.map(\.step) }

    @Test func unfilteredQueryIsOneIndexSearch() throws {
        #expect(try nearest().count == 5)
        let trace = db.lastReport
        #expect(trace.strategy == .hnsw)
        #expect(trace.decision == .noFilter)
        #expect(stepKinds == [.prepare, .indexSearch, .finalSelect])
        #expect(trace.candidates == 5)
        #expect(trace.efSearch == 40)
        #expect(trace.distanceComputations > 0)
        #expect(trace.estimatedSelectivity == 1)
    }

    @Test func exactHintScansEveryRow() throws {
        #expect(try nearest(hint: "/*+ exact */ ").count == 5)
        let trace = db.lastReport
        #expect(trace.strategy == .exactScan)
        #expect(trace.decision == .none)
        #expect(stepKinds == [.prepare, .exactScan, .finalSelect])
        #expect(trace.rowsScanned == Self.count)
        #expect(trace.candidates == 5)
    }

    @Test func selectiveFilterRunsFirstThenIsRemembered() throws {
        #expect(try nearest("WHERE tag = 'rare'").count == 5)
        var trace = db.lastReport
        #expect(trace.strategy == .exactAllowSet)
        guard case .filterFirst(let budget?) = trace.decision else {
            Issue.record("decision \(trace.decision)")
            return
        }
        #expect(budget >= 20_000)
        #expect(
            stepKinds == [
                .prepare, .estimateSelectivity, .filter(passed: Self.rare, kept: false),
                .exactOverAllowSet(rows: Self.rare), .finalSelect,
            ])
        #expect(trace.rowsScanned == Self.rare)
        #expect(trace.distanceComputations == Self.rare)
        #expect(trace.actualSelectivity == Double(Self.rare) / Double(Self.count))
        guard case .sampled(let passed, let rows)? = trace.estimation else {
            Issue.record("estimation \(String(describing: trace.estimation))")
            return
        }
        #expect(rows == 1000 && passed <= Self.rare) // 1,000 of the 3,000 rows drawn

        // The same filter on unchanged data: its allow-set is kept, no filter step.
        #expect(try nearest("WHERE tag = 'rare'").count == 5)
        trace = db.lastReport
        #expect(trace.decision == .filterSeenBefore)
        #expect(stepKinds == [.prepare, .estimateSelectivity, .exactOverAllowSet(rows: Self.rare), .finalSelect])
    }

    @Test func permissiveFilterWalksFirstAndChecksCandidates() throws {
        #expect(try nearest("WHERE tag <> 'rare'").count == 5)
        let trace = db.lastReport
        #expect(trace.strategy == .postFilter)
        #expect(trace.decision == .walkFirst(candidates: 40))
        guard trace.steps.count == 4, case .walkAndCheck(let candidates, let passed) = trace.steps[2].step else {
            Issue.record("steps \(stepKinds)")
            return
        }
        #expect(stepKinds[0] == .prepare && stepKinds[1] == .estimateSelectivity && stepKinds[3] == .finalSelect)
        #expect(candidates == 40 && passed >= 5 && passed <= candidates)
        #expect(trace.rowsScanned == candidates)
        #expect(trace.candidates == passed)
    }

    @Test func stepTimesAddUpToTheTotalOnOneClock() throws {
        _ = try nearest("WHERE tag = 'rare'")
        let trace = db.lastReport
        #expect(!trace.steps.isEmpty)
        #expect(trace.steps.map(\.nanoseconds).reduce(0, +) == trace.totalNanoseconds)
    }

    @Test func plainSQLLeavesAnEmptyTrace() throws {
        _ = try db.execute("SELECT count(*) FROM items")
        #expect(db.lastReport == ExecutionTrace())
    }

    @Test func explainAnalyzeSaysWhatTheTraceHolds() throws {
        let rows = try db.rows(
            "EXPLAIN ANALYZE SELECT id FROM items WHERE tag = 'rare' ORDER BY emb <=> ? LIMIT 5",
            SQLBindings([.vector(query)]))
        let trace = db.lastReport
        let items = rows.map { $0[0].textValue ?? "" }
        let value = { (item: String) in rows.first { $0[0].textValue == item }?[1].textValue }
        #expect(value("strategy") == "filter, then exact")
        guard case .filterFirst(let budget?) = trace.decision else {
            Issue.record("decision \(trace.decision)")
            return
        }
        #expect(
            value("reason")
                == "selective filter: run it first (on a budget of \(budget) SQLite steps), then search the rows it passes"
        )
        #expect(value("rows scored or filtered") == "\(Self.rare)")
        #expect(value("distance computations") == "\(Self.rare)")
        #expect(value("rows returned") == "5")
        #expect(
            items.filter { $0.hasPrefix("time: ") } == [
                "time: prepare", "time: estimate selectivity", "time: filter → \(Self.rare) rows",
                "time: exact over \(Self.rare) rows", "time: final select", "time: total",
            ])
        if case .sampled(let passed, let sampled)? = trace.estimation {
            #expect(value("estimated selectivity")?.hasSuffix("(sampled: \(passed) of \(sampled) random rows)") == true)
        } else {
            Issue.record("estimation \(String(describing: trace.estimation))")
        }
    }

    @Test func explainWithoutAnalyzeSaysWhatWouldRun() throws {
        var rows = try db.rows(
            "EXPLAIN SELECT id FROM items WHERE tag <> 'rare' ORDER BY emb <=> ? LIMIT 5", SQLBindings([.vector(query)])
        )
        #expect(db.lastReport.decision == .walkFirst(candidates: nil))
        #expect(db.lastReport.steps.isEmpty)
        let value = { (rows: [[SQLValue]], item: String) in rows.first { $0[0].textValue == item }?[1].textValue }
        #expect(value(rows, "strategy") == "hnsw index, post-filter")
        #expect(
            value(rows, "reason")
                == "permissive filter: walk the index and check candidates, widening as needed; the filter runs first if that stalls"
        )
        #expect(value(rows, "ef_search") == "40")
        #expect(!rows.contains { ($0[0].textValue ?? "").hasPrefix("time: ") })

        _ = try db.execute("BEGIN; INSERT INTO items (id, tag) VALUES (\(Self.count + 1), 'new')")
        rows = try db.rows("EXPLAIN SELECT id FROM items ORDER BY emb <=> ? LIMIT 5", SQLBindings([.vector(query)]))
        #expect(db.lastReport.decision == .noUsableIndex)
        #expect(value(rows, "strategy") == "exact scan")
        #expect(
            value(rows, "reason")
                == "no usable hnsw index for this column and operator (or uncommitted writes in this transaction)")
        _ = try db.execute("ROLLBACK")
    }
}
