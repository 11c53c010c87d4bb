import Foundation
import QuiverEngine
import QuiverKernels
import QuiverStorage

/// A fresh directory under the system temporary folder, removed when the value is released.
final class TemporaryDirectory {
    let path: String

    init(_ label: String = "quiver-test") {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("\(label)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Reproducible randomness, so a failing case can be replayed from its seed.
typealias SeededRandom = SplitMix64

extension SplitMix64 {
    mutating func vector(_ dimension: Int) -> [Float] {
        (0..<dimension).map { _ in Float.random(in: -1...1, using: &self) }
    }
}

/// The oracle for exact search: every distance in double precision, sorted, ties by id.
func bruteForce(_ rows: [(id: Int64, vector: [Float])], query: [Float], metric: DistanceMetric, k: Int) -> [ScoredRow] {
    let scored = rows.map { ScoredRow(id: $0.id, distance: PairDistance.precise(metric, $0.vector, query)) }
    return Array(scored.sorted(by: ScoredRow.ranksBefore).prefix(k))
}

func vectorLiteral(_ v: [Float]) -> String { VectorCodec.format(v) }

extension Database {
    /// The rows of the single result of `sql`.
    func rows(_ sql: String, _ bindings: SQLBindings = .none) throws -> [[SQLValue]] {
        try execute(sql, bindings).last?.rows ?? []
    }

    func integers(_ sql: String, _ bindings: SQLBindings = .none) throws -> [Int64] {
        try rows(sql, bindings).map { $0[0].integerValue ?? -999 }
    }
}

/// The repository root (two levels above this file's folder).
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }
    return url.path
}()

/// The shared real embedding set, when present beside the repository.
let sharedDataDirectory: String? = {
    let candidates = [
        ProcessInfo.processInfo.environment["QUIVER_SHARED_DATA"],
        (repositoryRoot as NSString).appendingPathComponent("../shared/data"),
    ].compactMap { $0 }
    return candidates.first {
        FileManager.default.fileExists(atPath: ($0 as NSString).appendingPathComponent("base_f16.npy"))
    }
}()
