import Foundation
import QuiverEngine
import QuiverQuery
import QuiverStorage
import Testing

extension PlannerTests {
    /// A filter with bound values (as the server sends them) is the same filter whatever the
    /// query vector: its selectivity estimate and allow-set are kept across queries; a different
    /// bound value is a different filter.
    @Test func boundFilterValuesKeepTheirAllowSetAcrossQueryVectors() throws {
        var random = SeededRandom(seed: 4242)
        let sql = "SELECT id FROM chunks WHERE bucket < :limit ORDER BY emb <=> :q LIMIT 5"
        func run(_ limit: Int64) throws -> (ids: [Int64], decision: ExecutionTrace.Decision) {
            let query = random.vector(Self.dimension)
            let ids = try db.integers(sql, SQLBindings(named: ["q": .vector(query), "limit": .integer(limit)]))
            #expect(ids.count == 5)
            #expect(ids.allSatisfy { $0 % 1000 < limit })
            return (ids, db.lastReport.decision)
        }
        _ = try run(100)
        _ = try run(100)
        let third = try run(100)
        #expect(third.decision == .filterSeenBefore, "\(third.decision)")
        let other = try run(300)
        #expect(other.decision != .filterSeenBefore, "a new bound value is a new filter: \(other.decision)")
    }
}
