import QuiverIndex
import QuiverStorage

/// Chooses how a filtered nearest-neighbour query runs.
///
/// Selectivity is estimated by sampling: up to `sampleSize` live rows are drawn at random from
/// the index, and the query's own filter (joins included) is run restricted to those row ids;
/// the share that passes estimates the share of the table that passes. Sampling rather than
/// SQLite's statistics because the filter may be any SQL — joins, functions, subqueries — for
/// which `sqlite_stat1` has no answer; a sample of 1,000 rows costs about a millisecond (once
/// per filter while the data is unchanged) and estimates a 1% filter to within about ±0.6 points.
///
/// What the filter costs to run is not estimated but found out: it runs on a budget of SQLite
/// instructions (`Connection.withStepBudget`), so a filter that looks selective but makes SQLite
/// examine most of the table (an index on a skewed column, a residual condition) is stopped
/// early. The strategies, tried in rounds of growing effort (×4 each round):
/// - filter first (estimated selectivity below 5%): run the filter on its budget; if it finishes,
///   score its rows exactly from the index's float32 copies when they are few, or walk the graph
///   restricted to them (two-hop over rejected neighbours, ACORN-style) when they are many;
/// - post-filter: walk the unfiltered graph for k/s·1.5 candidates and keep those the filter
///   passes (one lookup per candidate, no pass over the table).
/// Permissive filters try the post-filter first. Whichever finishes first answers, so the total
/// stays within a small factor of the cheaper strategy even when skew or anti-correlation fools
/// the estimate. Every path ends in the exact scan rather than return fewer than k rows when k
/// rows pass. A filter seen before on unchanged data skips the rounds: its allow-set is kept
/// (see NearestNeighbourExecution).
enum NearestNeighbourPlanner {
    static let sampleSize = 1000
    /// Below this estimated selectivity the filter runs first; above, the graph is walked first.
    static let filterFirstBelow = 0.05
    /// SQLite instructions allowed for the filter per post-filter candidate of the same round
    /// (a candidate costs a walk of about 15 distances, a re-rank and a row lookup, ~2 µs; SQLite runs
    /// about 30 instructions per µs here).
    static let stepsPerCandidate = 80

    /// Whether scoring every allowed row exactly costs less than a walk restricted to them.
    static func prefersExact(allowed: Int, selectivity: Double, ef: Int, costs: Costs = Costs()) -> Bool {
        // A two-hop walk also reads the link lists of rejected neighbours: measured at about
        // 2.5 times the cost of its distance computations alone.
        let walk = walkDistances(ef: 2 * ef) * (1 + 0.05 / max(selectivity, 0.0001)) * costs.walkPerDistance * 2.5
        return Double(allowed) * costs.exactFromIndexPerRow <= walk
    }

    /// Microseconds per unit of work, measured on the benchmark machine (see BENCHMARKS.md).
    struct Costs {
        var walkPerDistance = 0.012      // one distance in a graph walk (8-bit codes)
        var exactFromIndexPerRow = 0.2   // gather an allowed row's float32 vector from the index, score it
    }

    struct Estimate {
        var selectivity: Double
        var method: String
    }

    static func estimateSelectivity(_ plan: NearestNeighbourPlan, index: HNSWIndex, connection: Connection,
                                    bindings: SQLBindings) throws -> Estimate {
        let sample = index.sampleLabels(sampleSize)
        guard !sample.isEmpty else { return Estimate(selectivity: 1, method: "empty index") }
        let sql = plan.filterSQL(selecting: "count(DISTINCT \(plan.rowid))", restricted: true)
        let passed = try connection.scalar(sql, plan.binding(sample, to: bindings))?.integerValue ?? 0
        let selectivity = Double(passed) / Double(sample.count)
        let method = sample.count >= index.count
            ? "counted: \(passed) of all \(sample.count) rows"
            : "sampled: \(passed) of \(sample.count) random rows"
        // A sample with no match still cannot rule out a few matching rows.
        return Estimate(selectivity: max(selectivity, passed == 0 ? 0.5 / Double(sample.count) : 0), method: method)
    }

    /// Walk distances an unfiltered search computes for a given ef (about 15 per slot of ef at
    /// m = 16 on the benchmark data).
    static func walkDistances(ef: Int) -> Double { 15 * Double(ef) + 100 }
}
