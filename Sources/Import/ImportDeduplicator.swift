import Foundation
import QuiverDedupe
import QuiverEngine
import QuiverIndex
import QuiverKernels
import QuiverStorage

/// Leaves out records that duplicate an existing row or an earlier record of the same import
/// (`--dedupe`). Runs on the parsing thread, one batch at a time.
final class ImportDeduplicator {
    private enum State {
        /// 64-bit fingerprints of normalized texts: two different texts collide with
        /// probability about 2⁻⁶⁴ per pair (one in ~10⁵ imports of 10 million rows).
        case exact(column: Int, seen: Set<TextFingerprint>)
        case vectors(column: Int, threshold: Float, seen: NearDuplicateIndex)
    }

    private var state: State

    init(mode: ImportOptions.Dedupe, plan: ImportPlan, options: ImportOptions, database: Database) throws {
        let table = plan.table
        switch mode {
        case .exact:
            let column = try Self.column(plan: plan, named: options.dedupeColumn, what: "text") {
                if case .text = $0 { true } else if case .compressedText = $0 { true } else { false }
            }
            var seen = Set<TextFingerprint>()
            if plan.createStatements.isEmpty {
                let name = quoteIdentifier(plan.targets[column].name)
                for row in try database.execute(
                    "SELECT \(name) FROM \(quoteIdentifier(table)) WHERE \(name) IS NOT NULL"
                ).first?.rows ?? [] {
                    if let text = row.first?.textValue { seen.insert(TextFingerprint(text)) }
                }
            }
            state = .exact(column: column, seen: seen)
        case .similarity(let threshold):
            guard threshold > 0, threshold <= 1 else {
                throw ImportError.plan("--dedupe takes `exact` or a cosine similarity in (0, 1]; got \(threshold)")
            }
            let column = try Self.column(plan: plan, named: options.dedupeColumn, what: "VECTOR") {
                if case .vector = $0 { true } else { false }
            }
            guard case .vector(let dimension) = plan.targets[column].type else { fatalError("checked above") }
            let seen = try NearDuplicateIndex(dimension: dimension)
            if plan.createStatements.isEmpty {
                let name = quoteIdentifier(plan.targets[column].name)
                var vectors: [Float] = []
                for row in try database.execute(
                    "SELECT \(name) FROM \(quoteIdentifier(table)) WHERE \(name) IS NOT NULL"
                ).first?.rows ?? [] {
                    if let vector = row.first?.vectorValue, vector.count == dimension { vectors += vector }
                }
                try seen.add(vectors)
            }
            state = .vectors(column: column, threshold: Float(threshold), seen: seen)
        }
    }

    /// The column that `--dedupe` compares: named by `--dedupe-column`, else the only one of its kind.
    private static func column(plan: ImportPlan, named: String?, what: String, accepts: (ColumnType) -> Bool) throws
        -> Int
    {
        if let named {
            guard let index = plan.targets.firstIndex(where: { $0.name.caseInsensitiveEquals(named) }) else {
                throw ImportError.plan("--dedupe-column \(named) is not a column the import writes")
            }
            guard accepts(plan.targets[index].type) else {
                throw ImportError.plan(
                    "--dedupe-column \(named) is \(plan.targets[index].type.name); this dedupe compares a \(what) column"
                )
            }
            return index
        }
        let candidates = plan.targets.indices.filter { accepts(plan.targets[$0].type) && $0 != plan.keyTarget }
        guard candidates.count == 1 else {
            throw ImportError.plan(
                candidates.isEmpty
                    ? "--dedupe needs a \(what) column among the imported fields"
                    : "several \(what) columns could be compared (\(candidates.map { plan.targets[$0].name }.joined(separator: ", "))); name one with --dedupe-column"
            )
        }
        return candidates[0]
    }

    /// Drops the duplicate rows of a batch (keeping the first of each group, in input order)
    /// and remembers the rest; returns how many it dropped.
    func removeDuplicates(from rows: inout [RowBatch.Row]) throws -> Int {
        let before = rows.count
        switch state {
        case .exact(let column, var seen):
            state = .exact(column: column, seen: []) // keeps `seen` uniquely referenced while it changes
            rows.removeAll { row in
                guard let text = row.values[column].textValue else { return false }
                return !seen.insert(TextFingerprint(text)).inserted
            }
            state = .exact(column: column, seen: seen)
        case .vectors(let column, let threshold, let seen):
            let vectors = rows.map { $0.values[column].vectorValue }
            let keep = try seen.keepNovel(vectors, threshold: threshold)
            var i = 0
            rows.removeAll { _ in
                defer { i += 1 }
                return !keep[i]
            }
        }
        return before - rows.count
    }
}
