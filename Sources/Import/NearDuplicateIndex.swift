import Foundation
import QuiverIndex
import QuiverKernels

/// The vectors an import has kept so far (and the table's existing ones), in a private HNSW
/// index, answering "is this vector within the threshold of one already kept?".
final class NearDuplicateIndex {
    private let index: HNSWIndex
    private let path: String
    private let dimension: Int
    private var nextLabel: Int64 = 0

    init(dimension: Int) throws {
        self.dimension = dimension
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent(
            ".import-dedupe-\(getpid())-\(UInt32.random(in: .min ... .max)).hnsw")
        index = try HNSWIndex.build(
            path: path, parameters: HNSWParameters(dimension: dimension, metric: .cosine, m: 16, efConstruction: 64),
            labels: [], vectors: [], sequence: 0)
    }

    deinit { unlink(path) }

    /// Adds vectors (row-major) unconditionally.
    func add(_ vectors: [Float]) throws {
        let count = vectors.count / dimension
        guard count > 0 else { return }
        let labels = (0..<count).map { nextLabel + Int64($0) }
        nextLabel += Int64(count)
        try index.insertBatch(labels: labels, vectors: vectors, threads: ProcessInfo.processInfo.activeProcessorCount)
    }

    /// For each vector (nil = no vector, always kept): whether it is novel, i.e. its cosine
    /// similarity to every vector kept so far, and to every earlier novel vector of this call,
    /// is below `threshold`. The novel ones are then added.
    func keepNovel(_ vectors: [[Float]?], threshold: Float) throws -> [Bool] {
        var keep = [Bool](repeating: true, count: vectors.count)
        var kept: [Int] = []
        var block: [Float] = []
        for (i, vector) in vectors.enumerated() {
            guard let vector else { continue }
            let unit = Self.normalized(vector)
            if let nearest = index.search(vector, k: 1, ef: 48).hits.first, 1 - nearest.distance >= threshold {
                keep[i] = false
                continue
            }
            // Against the earlier novel vectors of this batch, which are not in the index yet.
            var duplicate = false
            unit.withUnsafeBufferPointer { u in
                block.withUnsafeBufferPointer { b in
                    for k in 0..<kept.count
                    where PairDistance.dot(u.baseAddress!, b.baseAddress! + k * dimension, count: dimension)
                        >= threshold
                    {
                        duplicate = true
                        break
                    }
                }
            }
            if duplicate {
                keep[i] = false
                continue
            }
            kept.append(i)
            block += unit
        }
        try add(block)
        return keep
    }

    private static func normalized(_ v: [Float]) -> [Float] {
        var norm: Float = 0
        for x in v { norm += x * x }
        norm = norm.squareRoot()
        return norm > 0 ? v.map { $0 / norm } : v
    }
}
