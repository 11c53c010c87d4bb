import Foundation
import QuiverIndex
import QuiverKernels
import Testing

/// Opening mutated index files: raw damage to the header page (which the checksum catches),
/// header fields set to awkward values with the checksum recomputed (which the field checks
/// must catch), and files cut short or grown. Every file either opens as a graph that the
/// structural check can walk, or is refused with an error naming the file.
@Suite struct IndexHeaderFuzzTests {
    /// Header fields as (offset, width in bytes): see IndexFileHeader.
    static let fields: [(Int, Int)] = [
        (8, 4), (12, 4), (16, 4), (20, 4), (24, 4), (28, 4), (32, 8), (40, 8), (48, 4), (52, 4),
        (56, 8), (64, 8), (72, 8), (80, 8), (88, 8), (96, 8), (104, 8), (112, 8), (120, 8),
        (128, 8), (136, 8),
    ]
    static let awkward: [UInt64] = [
        0, 1, 2, 3, 4095, 4096, 4097, 8192, 65_536, 1 << 31, (1 << 32) - 1, 1 << 32, 1 << 40,
        1 << 61, 1 << 62, (1 << 63) - 1, 1 << 63, UInt64.max, UInt64.max - 4095,
    ]

    static func fnv1a(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }

    static func store(_ value: UInt64, width: Int, at offset: Int, in bytes: inout [UInt8]) {
        for i in 0..<width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    static func resign(_ bytes: inout [UInt8]) {
        guard bytes.count >= 152 else { return }
        store(fnv1a(bytes[0..<144]), width: 8, at: 144, in: &bytes)
    }

    @Test func mutatedIndexFilesOpenOrAreRefusedByName() throws {
        let directory = TemporaryDirectory("quiver-fuzz-index")
        let vectors = clusteredVectors(count: 120, dimension: 8, seed: 17)
        let built = directory.file("seed.hnsw")
        _ = try HNSWIndex.build(
            path: built, parameters: HNSWParameters(dimension: 8, metric: .l2, m: 6, efConstruction: 24),
            labels: (1...120).map(Int64.init), vectors: vectors.flatMap { $0 }, sequence: 42, threads: 1)
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: built)))
        let regressions = FuzzCorpus.regressions("index")
        let generator = HeaderMutator(original: original, seed: FuzzLoop.seed(0x1D3))
        let path = directory.file("mutant.hnsw")
        let mutant = FuzzLoop.ReusedFile(path)
        let next: @Sendable (Int) -> [UInt8] = { i in
            i < regressions.count ? regressions[i] : generator.next()
        }
        let summary = FuzzLoop.run("index-header", inputs: FuzzLoop.count(10_000), next: next) { input in
            mutant.replace(with: input)
            do {
                let index = try HNSWIndex.open(path: path)
                let report = index.check()
                guard index.count <= index.slotCount, report.nodes == index.slotCount else {
                    return .problem("opened with \(index.count) live of \(index.slotCount) slots: \(report)")
                }
                return .accepted
            } catch {
                let message = "\(error)"
                return message.contains(path) ? .rejected : .problem("the error does not name the file: \(message)")
            }
        }
        #expect(summary.accepted > 10 && summary.rejected > 100, "\(summary)")
    }

    final class HeaderMutator: @unchecked Sendable {
        let original: [UInt8]
        private var random: SeededRandom
        private var bytes: FuzzMutator
        private let lock = NSLock()

        init(original: [UInt8], seed: UInt64) {
            self.original = original
            random = SeededRandom(seed: seed)
            bytes = FuzzMutator(
                seed: seed ^ 0xABCD, corpus: [Array(original.prefix(160))],
                dictionary: ["QVRHNSW1", "\u{0}\u{0}\u{0}\u{0}"])
        }

        func next() -> [UInt8] {
            lock.withLock {
                var file = original
                switch random.next() % 10 {
                case 0, 1, 2: // raw damage to the first bytes of the header
                    let head = bytes.next()
                    file.replaceSubrange(0..<min(160, file.count), with: head)
                case 3, 4, 5, 6: // one or two fields set to awkward values, checksum recomputed
                    for _ in 0...(random.next() % 2) {
                        let (offset, width) = IndexHeaderFuzzTests.fields[
                            Int(random.next() % UInt64(IndexHeaderFuzzTests.fields.count))]
                        let pick = IndexHeaderFuzzTests.awkward[
                            Int(random.next() % UInt64(IndexHeaderFuzzTests.awkward.count))]
                        let near = random.next() % 3 == 0 ? UInt64(truncatingIfNeeded: Int64(random.next() % 9) - 4) : 0
                        IndexHeaderFuzzTests.store(pick &+ near, width: width, at: offset, in: &file)
                    }
                    IndexHeaderFuzzTests.resign(&file)
                case 7: // cut short
                    file.removeSubrange(Int(random.next() % UInt64(file.count))...)
                case 8: // cut short or grown, the recorded length following, checksum recomputed
                    let length =
                        random.next() % 2 == 0
                        ? Int(random.next() % UInt64(file.count)) : file.count + Int(random.next() % 9000)
                    if length < file.count {
                        file.removeSubrange(length...)
                    } else {
                        file += [UInt8](repeating: 0, count: length - file.count)
                    }
                    if file.count >= 152 {
                        IndexHeaderFuzzTests.store(UInt64(file.count), width: 8, at: 136, in: &file)
                        IndexHeaderFuzzTests.resign(&file)
                    }
                default: // a region offset moved by a page, checksum recomputed
                    let (offset, _) = IndexHeaderFuzzTests.fields[14 + Int(random.next() % 6)]
                    let value = file[offset..<(offset + 8)].enumerated().reduce(UInt64(0)) {
                        $0 | UInt64($1.element) << (8 * UInt64($1.offset))
                    }
                    IndexHeaderFuzzTests.store(
                        random.next() % 2 == 0 ? value &+ 4096 : value &- 4096, width: 8, at: offset, in: &file)
                    IndexHeaderFuzzTests.resign(&file)
                }
                return file
            }
        }
    }
}
