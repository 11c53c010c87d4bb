import QuiverKernels
import Testing

@Suite struct KernelTests {
    @Test func simdKernelsMatchDoublePrecision() {
        var random = SeededRandom(seed: 1)
        for dimension in [1, 3, 15, 16, 17, 63, 64, 65, 384, 1000] {
            let a = random.vector(dimension)
            let b = random.vector(dimension)
            let dot = a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { PairDistance.dot(pa.baseAddress!, $0.baseAddress!, count: dimension) }
            }
            let l2 = a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { PairDistance.l2Squared(pa.baseAddress!, $0.baseAddress!, count: dimension) }
            }
            let exactDot = -PairDistance.precise(.innerProduct, a, b)
            let exactL2 = PairDistance.precise(.l2, a, b)
            #expect(abs(Double(dot) - exactDot) < 1e-4 * Double(dimension), "dot at \(dimension)")
            #expect(abs(Double(l2) - exactL2 * exactL2) < 1e-4 * Double(dimension), "l2 at \(dimension)")
        }
    }

    @Test func preciseDistancesFollowTheirDefinitions() {
        #expect(PairDistance.precise(.l2, [0, 0], [3, 4]) == 5)
        #expect(PairDistance.precise(.innerProduct, [1, 2], [3, 4]) == -11)
        #expect(abs(PairDistance.precise(.cosine, [1, 0], [0, 1]) - 1) < 1e-15)
        #expect(PairDistance.precise(.cosine, [2, 0], [5, 0]) == 0)
        #expect(PairDistance.precise(.cosine, [0, 0], [1, 0]).isNaN, "cosine with a zero vector is undefined")
    }

    @Test(arguments: DistanceMetric.allCases)
    func exactTopKEqualsBruteForce(metric: DistanceMetric) {
        var random = SeededRandom(seed: 7)
        let dimension = 24
        var rows: [(id: Int64, vector: [Float])] = []
        for id in 0..<3000 {
            // Every tenth row repeats an earlier vector, so ties must be broken by id.
            let vector = id % 10 == 9 ? rows[Int(random.next() % UInt64(rows.count))].vector : random.vector(dimension)
            rows.append((Int64(id), vector))
        }
        rows.shuffle(using: &random)
        for _ in 0..<5 {
            let query = random.vector(dimension)
            for k in [1, 10, 100] {
                var topK = ExactTopK(metric: metric, query: query, k: k)
                // Uneven blocks: the answer must not depend on how rows are grouped.
                var start = 0
                while start < rows.count {
                    let n = min(rows.count - start, Int(random.next() % 700) + 1)
                    let block = rows[start..<(start + n)].flatMap(\.vector)
                    let ids = rows[start..<(start + n)].map(\.id)
                    topK.add(rows: block, ids: ids, count: n)
                    start += n
                }
                let expected = bruteForce(rows, query: query, metric: metric, k: k)
                #expect(Array(topK.finish().prefix(k)) == expected)
            }
        }
    }

    @Test func exactTopKKeepsExactTiesAtTheBoundary() {
        let rows: [[Float]] = [[1, 0], [0, 1], [0, 1], [0, 1], [-1, 0]]
        var topK = ExactTopK(metric: .l2, query: [1, 0], k: 2)
        topK.add(rows: rows.flatMap { $0 }, ids: [10, 11, 12, 13, 14], count: rows.count)
        #expect(topK.finish().map(\.id) == [10, 11, 12, 13], "all rows tied with the k-th are kept, in id order")
    }

    @Test func batchedBLASAgreesWithSingleQueryBLAS() {
        var random = SeededRandom(seed: 3)
        let dimension = 33
        let rowCount = 50
        let queryCount = 4
        let rows = (0..<rowCount).flatMap { _ in random.vector(dimension) }
        let queries = (0..<queryCount).flatMap { _ in random.vector(dimension) }
        var batched = [Float](repeating: 0, count: rowCount * queryCount)
        BLASScoring.dots(
            rows: rows, rowCount: rowCount, dimension: dimension, queries: queries, queryCount: queryCount,
            into: &batched)
        for q in 0..<queryCount {
            var single = [Float](repeating: 0, count: rowCount)
            let query = Array(queries[(q * dimension)..<((q + 1) * dimension)])
            BLASScoring.dots(rows: rows, rowCount: rowCount, dimension: dimension, query: query, into: &single)
            for r in 0..<rowCount { #expect(abs(single[r] - batched[q * rowCount + r]) < 1e-4) }
        }
    }

    @Test func metricNamesAndOperators() {
        #expect(DistanceMetric(sqlOperator: "<=>") == .cosine)
        #expect(DistanceMetric(sqlOperator: "<->") == .l2)
        #expect(DistanceMetric(sqlOperator: "<#>") == .innerProduct)
        #expect(DistanceMetric(name: "vector_ip_ops") == .innerProduct)
        #expect(DistanceMetric(name: "manhattan") == nil)
    }
}
