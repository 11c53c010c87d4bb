import Dispatch
import Foundation

/// Near-duplicate text by Jaccard similarity of character n-gram sets, estimated with MinHash
/// signatures and found with locality-sensitive hashing (see MinHashLSH); every candidate
/// pair is then confirmed with the exact Jaccard similarity of its n-gram sets.
///
/// Character n-grams (of Unicode scalars, after TextFingerprint's normalization) need no word
/// segmentation, so Chinese and English work alike; the default n of 3 suits both.
public struct MinHashParameters: Sendable, Equatable {
    public static let defaultNgram = 3
    /// Hash functions per signature.
    public static let permutations = 128
    /// The chance that LSH makes a pair exactly at the threshold a candidate; higher above it.
    public static let targetRecall = 0.995

    public var threshold: Double
    public var ngram: Int
    /// Bands × rows per band ≤ permutations, chosen for `threshold` (see `init`).
    public let bands: Int
    public let rowsPerBand: Int

    /// Picks the most rows per band (fewest chance candidates) whose banding still makes a
    /// pair at the threshold a candidate with probability `targetRecall`: 1 − (1 − tʳ)ᵇ.
    public init(threshold: Double, ngram: Int = defaultNgram) {
        precondition(threshold > 0 && threshold <= 1 && ngram >= 1)
        self.threshold = threshold
        self.ngram = ngram
        var rows = 1
        for r in stride(from: 32, through: 1, by: -1) {
            let b = Self.permutations / r
            let recall = 1 - pow1(1 - pow1(threshold, r), b)
            if recall >= Self.targetRecall {
                rows = r
                break
            }
        }
        rowsPerBand = rows
        bands = Self.permutations / rows
    }

    /// The probability that a pair of Jaccard similarity `j` becomes a candidate.
    public func candidateProbability(_ j: Double) -> Double { 1 - pow1(1 - pow1(j, rowsPerBand), bands) }
}

private func pow1(_ x: Double, _ n: Int) -> Double {
    var result = 1.0
    for _ in 0..<n { result *= x }
    return result
}

/// The set of character n-grams of a normalized text, as sorted distinct 64-bit hashes.
public enum CharacterShingles {
    public static func of(normalized text: String, n: Int) -> [UInt64] {
        let scalars = Array(text.unicodeScalars)
        guard !scalars.isEmpty else { return [] }
        let width = min(n, scalars.count)
        var hashes: [UInt64] = []
        hashes.reserveCapacity(scalars.count - width + 1)
        for start in 0...(scalars.count - width) {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for k in start..<(start + width) {
                h ^= UInt64(scalars[k].value)
                h &*= 0x0000_0100_0000_01b3
            }
            hashes.append(mix(h))
        }
        hashes.sort()
        var distinct = 0
        for h in hashes where distinct == 0 || hashes[distinct - 1] != h {
            hashes[distinct] = h
            distinct += 1
        }
        hashes.removeLast(hashes.count - distinct)
        return hashes
    }

    /// |a ∩ b| / |a ∪ b| of two sorted sets; 1 for two empty sets (both texts empty).
    public static func jaccard(_ a: [UInt64], _ b: [UInt64]) -> Double {
        if a.isEmpty && b.isEmpty { return 1 }
        var i = 0
        var j = 0
        var common = 0
        while i < a.count && j < b.count {
            if a[i] == b[j] {
                common += 1
                i += 1
                j += 1
            } else if a[i] < b[j] {
                i += 1
            } else {
                j += 1
            }
        }
        return Double(common) / Double(a.count + b.count - common)
    }
}

/// SplitMix64's finalizer: spreads FNV's weak low bits before the hashes are permuted.
@inline(__always) func mix(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// MinHash signatures: for each of `permutations` hash functions h(x) = (a·x + b) >> 32 (a odd;
/// multiply-shift hashing), the minimum over a text's n-grams. Two signatures agree in each
/// position with probability equal to the texts' Jaccard similarity. Fixed seeds, so signatures
/// are comparable across runs.
public struct MinHasher: Sendable {
    private let multipliers: [UInt64]
    private let offsets: [UInt64]

    public init() {
        var state: UInt64 = 0x5155_4956_4552_4d48 // fixed: signatures must not change between runs
        var a: [UInt64] = []
        var b: [UInt64] = []
        for _ in 0..<MinHashParameters.permutations {
            state &+= 0x9E37_79B9_7F4A_7C15
            a.append(mix(state) | 1)
            state &+= 0x9E37_79B9_7F4A_7C15
            b.append(mix(state))
        }
        multipliers = a
        offsets = b
    }

    public func signature(of shingles: [UInt64]) -> [UInt32] {
        var minimum = [UInt32](repeating: .max, count: MinHashParameters.permutations)
        multipliers.withUnsafeBufferPointer { a in
            offsets.withUnsafeBufferPointer { b in
                minimum.withUnsafeMutableBufferPointer { m in
                    for x in shingles {
                        for i in 0..<m.count {
                            let h = UInt32(truncatingIfNeeded: (a[i] &* x &+ b[i]) >> 32)
                            if h < m[i] { m[i] = h }
                        }
                    }
                }
            }
        }
        return minimum
    }
}

extension MinHasher {
    /// Signatures of many raw texts (normalized here), on all cores: normalizing, cutting
    /// n-grams and hashing cost the same per text and need nothing shared.
    public func signatures(ofTexts texts: [String], ngram: Int) -> [[UInt32]] {
        var result = [[UInt32]](repeating: [], count: texts.count)
        let workers = min(ProcessInfo.processInfo.activeProcessorCount, max(1, texts.count / 64))
        result.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let out = out
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                var i = worker
                while i < texts.count {
                    out[i] = signature(
                        of: CharacterShingles.of(normalized: TextFingerprint.normalize(texts[i]), n: ngram))
                    i += workers
                }
            }
        }
        return result
    }
}
