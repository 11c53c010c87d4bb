import Foundation
import QuiverDedupe
import QuiverKernels
import Testing

/// The algorithms behind DEDUPE, on their own: text normalization and fingerprints, MinHash
/// banding, exact all-pairs search against a double-precision oracle, and k-means blocking
/// against exact search.
@Suite struct DedupeAlgorithmTests {
    @Test func normalizationFoldsWidthCaseAndSpace() {
        #expect(TextFingerprint.normalize("  Ｈｅｌｌｏ，\u{3000}World！\n\n Again\t") == "hello, world! again")
        #expect(TextFingerprint.normalize("你好，世界。") == TextFingerprint.normalize("你好,世界｡"))
        #expect(TextFingerprint.normalize("ﬁne") == "fine") // ligature
        #expect(TextFingerprint.normalize("") == "")
        #expect(TextFingerprint("A  b") == TextFingerprint("a b"))
        #expect(TextFingerprint("a b") != TextFingerprint("ab"))
    }

    @Test func fingerprintsAreStableFNV1a() {
        // Stored fingerprints must mean the same thing in every release.
        #expect(TextFingerprint("").description == "cbf29ce484222325")
        #expect(TextFingerprint("a").value == 0xaf63_dc4c_8601_ec8c)
        #expect(TextFingerprint(" A ").description == "af63dc4c8601ec8c")
    }

    @Test(arguments: [0.5, 0.7, 0.8, 0.9, 0.95])
    func bandingMeetsItsRecallAtTheThreshold(threshold: Double) {
        let parameters = MinHashParameters(threshold: threshold)
        #expect(parameters.bands * parameters.rowsPerBand <= MinHashParameters.permutations)
        #expect(parameters.candidateProbability(threshold) >= MinHashParameters.targetRecall)
        #expect(parameters.candidateProbability(threshold / 3) < 0.5)
    }

    @Test func jaccardOfShingleSets() {
        let a = CharacterShingles.of(normalized: "abcd", n: 2) // ab bc cd
        let b = CharacterShingles.of(normalized: "abce", n: 2) // ab bc ce
        #expect(a.count == 3)
        #expect(CharacterShingles.jaccard(a, b) == 0.5)
        #expect(CharacterShingles.jaccard(a, a) == 1)
        #expect(CharacterShingles.of(normalized: "ab", n: 5).count == 1) // shorter than n: the whole text
        // Signatures agree in about J of their positions.
        let x = CharacterShingles.of(normalized: String(repeating: "the quick brown fox ", count: 20) + "jumps", n: 3)
        let y = CharacterShingles.of(normalized: String(repeating: "the quick brown fox ", count: 20) + "sleeps", n: 3)
        let hasher = MinHasher()
        let agree = zip(hasher.signature(of: x), hasher.signature(of: y)).filter { $0 == $1 }.count
        #expect(abs(Double(agree) / 128 - CharacterShingles.jaccard(x, y)) < 0.2)
    }

    /// Clustered unit vectors with planted near-duplicates at cosine 0.93–0.99.
    static func plantedVectors(count: Int, dimension: Int, seed: UInt64) -> VectorRows {
        var random = SeededRandom(seed: seed)
        let centres = (0..<12).map { _ in random.vector(dimension) }
        var rows = VectorRows(dimension: dimension)
        var previous: [Float] = []
        for i in 0..<count {
            var v: [Float]
            if i % 7 == 3 {
                let noise = random.vector(dimension)
                v = zip(previous, noise).map { $0 + Float(0.02 + 0.02 * Double(i % 3)) * $1 }
            } else {
                v = centres[Int(random.next() % 12)].map { $0 + Float.random(in: -0.5...0.5, using: &random) }
            }
            rows.append(v)
            previous = v
        }
        rows.append([Float](repeating: 0, count: dimension)) // a zero vector: never a duplicate
        return rows
    }

    static func oracle(_ rows: VectorRows, threshold: Double) -> Set<[Int32]> {
        var pairs = Set<[Int32]>()
        for i in 0..<rows.count {
            for j in (i + 1)..<rows.count where rows.norms[i] > 0 && rows.norms[j] > 0 {
                let s = rows.values.withUnsafeBufferPointer { v in
                    1
                        - PairDistance.precise(
                            .cosine, v.baseAddress! + i * rows.dimension, v.baseAddress! + j * rows.dimension,
                            count: rows.dimension)
                }
                if s >= threshold { pairs.insert([Int32(i), Int32(j)]) }
            }
        }
        return pairs
    }

    @Test func exactSearchMatchesTheDoublePrecisionOracle() throws {
        // Blocks smaller than the data, so block edges and the diagonal are crossed.
        let rows = Self.plantedVectors(count: 1500, dimension: 24, seed: 5)
        for threshold in [0.9, 0.97] {
            let found = try ExactPairSearch.pairs(in: rows, threshold: threshold)
            #expect(Set(found.map { [$0.first, $0.second] }) == Self.oracle(rows, threshold: threshold))
            #expect(found.count == Set(found.map { [$0.first, $0.second] }).count)
            #expect(!found.isEmpty)
            for pair in found {
                #expect(abs(pair.similarity - rows.similarity(Int(pair.first), Int(pair.second))) < 1e-12)
            }
        }
    }

    @Test func kMeansBlockingFindsThePairsAndOnlyTrueOnes() throws {
        let rows = Self.plantedVectors(count: 3000, dimension: 24, seed: 9)
        let truth = try ExactPairSearch.pairs(in: rows, threshold: 0.95)
        let outcome = try KMeansBlocking.pairs(in: rows, threshold: 0.95, clusters: 24)
        #expect(!outcome.fellBackToExact)
        #expect(outcome.comparedPairs < outcome.allPairs)
        let found = Set(outcome.pairs.map { [$0.first, $0.second] })
        let expected = Set(truth.map { [$0.first, $0.second] })
        #expect(found.isSubset(of: expected))
        #expect(Double(found.count) >= 0.99 * Double(expected.count), "recall \(found.count)/\(expected.count)")
        #expect(outcome.pairs.count == found.count)
    }

    @Test func clustersAndKeepRules() {
        // 0–1–2 chained, 3–4, 5 alone.
        let pairs = [
            SimilarPair(1, 0, similarity: 0.97), SimilarPair(1, 2, similarity: 0.96),
            SimilarPair(3, 4, similarity: 0.99),
        ]
        let scores: [KeepScore] = [.number(1), .text("b"), .null, .number(5), .number(5), .number(9)]
        let first = DuplicateClusters(rowCount: 6, pairs: pairs, keep: .first, scores: scores)
        #expect(first.clusterCount == 2)
        #expect(
            first.entries.map { [Double($0.cluster), Double($0.kept), Double($0.duplicate), $0.similarity] }
                == [[1, 0, 1, 0.97], [1, 0, 2, 0.96], [2, 3, 4, 0.99]]) // 2 via 1: never below the threshold
        let largest = DuplicateClusters(rowCount: 6, pairs: pairs, keep: .largest, scores: scores)
        #expect(largest.entries.map(\.kept) == [1, 1, 3]) // text sorts above numbers; tie 5 = 5 to the smaller row
        #expect(
            DuplicateClusters(rowCount: 6, pairs: pairs, keep: .last, scores: scores).entries.map(\.kept) == [2, 2, 4])
    }
}

extension DedupeAlgorithmTests {
    /// ASCII text takes a byte-level path; it must agree with the Unicode path character for
    /// character (checked by appending a non-ASCII letter that normalization leaves alone).
    @Test func asciiFastPathAgreesWithTheUnicodePath() {
        var random = SeededRandom(seed: 3)
        let alphabet = Array("aZ 09\t\n\r\u{0B}\u{0C}.,;:!?'\"-_()[]{}<>/\\|@#$%^&*+=~`\u{1C}\u{1F}\u{7F}")
        for _ in 0..<300 {
            let text = String(
                (0..<Int(random.next() % 40)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
            var expected = String(TextFingerprint.normalize(text + "é").dropLast())
            if expected.hasSuffix(" ") { expected.removeLast() } // text's trailing space, kept before "é"
            #expect(TextFingerprint.normalize(text) == expected, "\(text.debugDescription)")
        }
    }
}
