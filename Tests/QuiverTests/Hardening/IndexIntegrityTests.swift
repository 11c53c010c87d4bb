import Foundation
import QuiverEngine
import QuiverIndex
import QuiverKernels
import QuiverStorage
import Testing

/// Damage inside an index file — past the header page its own checksum covers — is refused
/// with the REINDEX error instead of answering with ids no row has; and a search never reports
/// a row id that is not a row, whatever the index holds.
@Suite struct IndexIntegrityTests {
    /// Where the regions of an index file lie, read from its header (see IndexFileHeader).
    struct Regions {
        var nodes: Range<Int>, vectors: Range<Int>, upper: Range<Int>, labels: Range<Int>, free: Range<Int>,
            quantizer: Range<Int>
        /// Every byte that holds data (the padding between regions holds none).
        var all: [Range<Int>] { [nodes, vectors, upper, labels, free, quantizer].filter { !$0.isEmpty } }

        init(file bytes: Data) {
            func u64(_ offset: Int) -> Int {
                Int(
                    bytes[offset..<(offset + 8)].enumerated().reduce(UInt64(0)) {
                        $0 | UInt64($1.element) << (8 * UInt64($1.offset))
                    })
            }
            let dimension = Int(bytes[16]) | Int(bytes[17]) << 8
            let stride = Int(bytes[28]) | Int(bytes[29]) << 8 | Int(bytes[30]) << 16
            let nodeCount = u64(32)
            let labelCount = u64(64)
            nodes = u64(88)..<(u64(88) + nodeCount * stride)
            vectors = u64(96)..<(u64(96) + nodeCount * dimension * 4)
            upper = u64(104)..<(u64(104) + u64(56) * 4)
            labels = u64(112)..<(u64(112) + labelCount * 16)
            free = u64(120)..<(u64(120) + u64(72) * 4)
            quantizer = u64(128)..<(u64(128) + dimension * 8)
        }
    }

    enum Damage: String, CaseIterable, Sendable {
        case randomBytesOverNodes, zerosOverNodes, randomBytesOverVectors, zerosOverLabels, oneByteOfQuantizer,
            randomBytesAfterHeader

        func apply(to path: String) throws {
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            let regions = Regions(file: bytes)
            var random = SeededRandom(seed: 0xDA4A6E)
            func scribble(_ range: Range<Int>, zeros: Bool) {
                for i in range { bytes[i] = zeros ? 0 : UInt8(truncatingIfNeeded: random.next()) }
            }
            switch self {
            case .randomBytesOverNodes:
                scribble(regions.nodes.lowerBound..<(regions.nodes.lowerBound + regions.nodes.count / 2), zeros: false)
            case .zerosOverNodes: scribble(regions.nodes, zeros: true)
            case .randomBytesOverVectors:
                scribble(regions.vectors.lowerBound..<(regions.vectors.lowerBound + 4096), zeros: false)
            case .zerosOverLabels: scribble(regions.labels, zeros: true)
            case .oneByteOfQuantizer: bytes[regions.quantizer.lowerBound + 5] ^= 0x40
            // The finding: everything after the header.
            case .randomBytesAfterHeader: scribble(4096..<bytes.count, zeros: false)
            }
            // In place, as a disk or a careless tool would.
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.truncate(atOffset: 0)
            try handle.write(contentsOf: bytes)
            try handle.close()
        }
    }

    static func makeDatabase(_ directory: TemporaryDirectory, count: Int = 1200) throws -> (
        path: String, vectors: [[Float]], file: String
    ) {
        let path = directory.file("db")
        let vectors = clusteredVectors(count: count, dimension: 8, seed: 0x1D7)
        var script = "CREATE TABLE items (id INTEGER PRIMARY KEY, tag TEXT, emb VECTOR(8));\n"
        for (i, v) in vectors.enumerated() {
            script += "INSERT INTO items VALUES (\(i + 1), '\(i % 3 == 0 ? "a" : "b")', '\(vectorLiteral(v))');\n"
        }
        script += "CREATE INDEX ix ON items USING hnsw (emb vector_l2_ops);\n"
        // Built by the binary, so this process never maps the file before it is damaged.
        let setup = try QuiverBinary.run(["sql", "--db", path], stdin: script)
        try #require(setup.succeeded, "\(setup)")
        let files = filesInIndexFolder(path)
        try #require(files.count == 1)
        return (path, vectors, (indexFolder(path) as NSString).appendingPathComponent(files[0]))
    }

    @Test(arguments: Damage.allCases)
    func damageInsideAnIndexFileIsRefusedWithTheReindexError(damage: Damage) throws {
        let directory = TemporaryDirectory("quiver-integrity")
        let (path, vectors, file) = try Self.makeDatabase(directory)
        try damage.apply(to: file)

        // `quiver search`: exit 1 with the REINDEX error, never exit 0 with made-up ids.
        let search = try QuiverBinary.search(
            db: path, queries: Array(vectors.prefix(5)), k: 5, metric: .l2, scratch: directory.path)
        #expect(search.outcome.status == 1 && !search.outcome.timedOut, "\(search.outcome)")
        #expect(
            search.outcome.stderr.contains("REINDEX") && search.outcome.stderr.contains("damaged"), "\(search.outcome)")

        // SQL, filtered or not: the same error, naming the index.
        for sql in [
            "SELECT id FROM items ORDER BY emb <-> '\(vectorLiteral(vectors[3]))' LIMIT 5",
            "SELECT id FROM items WHERE tag = 'a' ORDER BY emb <-> '\(vectorLiteral(vectors[3]))' LIMIT 5",
        ] {
            let failed = try QuiverBinary.run(["sql", "--db", path, sql])
            #expect(
                failed.status == 1 && failed.stderr.contains("REINDEX") && failed.stderr.contains("ix"), "\(failed)")
        }

        // REINDEX repairs it: afterwards the index answers as the exact scan does.
        let db = try Database(path: path)
        try db.execute("REINDEX ix")
        let query = vectors[7]
        let viaIndex = try db.nearest(query, metric: .l2, k: 5, hint: "/*+ hnsw.ef_search = 400 */ ").map(\.id)
        let exact = try db.nearest(query, metric: .l2, k: 5, hint: "/*+ exact */ ").map(\.id)
        #expect(viaIndex == exact)
    }

    /// The rule, not one example: a byte flipped anywhere in any region is refused on open.
    @Test func aFlippedByteAnywhereInAnyRegionIsRefusedOnOpen() throws {
        let directory = TemporaryDirectory("quiver-integrity")
        let path = directory.file("one.hnsw")
        let vectors = clusteredVectors(count: 700, dimension: 12, seed: 0x71)
        let index = try HNSWIndex.build(
            path: path, parameters: HNSWParameters(dimension: 12, metric: .cosine, m: 8, efConstruction: 32),
            labels: (1...700).map(Int64.init), vectors: vectors.flatMap { $0 }, sequence: 9, threads: 1)
        // Deletions give a free list, so that region is covered too.
        try index.apply([(label: 5, vector: nil), (label: 77, vector: nil)], through: 10)
        try index.checkpoint()
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        let regions = Regions(file: good)
        #expect(try HNSWIndex.open(path: path).count == 698)

        try #require(regions.all.count == 6, "every region holds data: \(regions.all)")
        var random = SeededRandom(seed: 0xF11B)
        // Both ends of every region, and random bytes in each.
        var positions = regions.all.flatMap { [$0.lowerBound, $0.upperBound - 1] }
        for region in regions.all {
            positions += (0..<8).map { _ in region.lowerBound + Int(random.next() % UInt64(region.count)) }
        }
        for position in positions {
            var bytes = good
            bytes[position] ^= UInt8(1 << (random.next() % 8))
            let damaged = directory.file("damaged-\(position).hnsw")
            try bytes.write(to: URL(fileURLWithPath: damaged))
            #expect(throws: (any Error).self, "a flipped byte at \(position) went unnoticed") {
                try HNSWIndex.open(path: damaged)
            }
            do { _ = try HNSWIndex.open(path: damaged) } catch {
                #expect(
                    "\(error)".contains("REINDEX") && "\(error)".contains(damaged) && "\(error)".contains("damaged"),
                    "\(error)")
            }
        }
    }

    /// Files written before region checksums existed are refused with the advice to REINDEX.
    @Test func aFormatVersion1FileIsRefusedWithTheAdviceToReindex() throws {
        let directory = TemporaryDirectory("quiver-integrity")
        let path = directory.file("old.hnsw")
        _ = try HNSWIndex.build(
            path: path, parameters: HNSWParameters(dimension: 4, metric: .l2),
            labels: [1, 2, 3], vectors: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], sequence: 0, threads: 1)
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[8] = 1 // the format version, then the header checksum again
        let hash = bytes[0..<144].reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
        for i in 0..<8 { bytes[144 + i] = UInt8(truncatingIfNeeded: hash >> (8 * UInt64(i))) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect { try HNSWIndex.open(path: path) } throws: { error in
            let text = "\(error)"
            return text.contains("version 1") && text.contains("REINDEX") && text.contains(path)
        }
    }

    /// Even an index whose file checks out but whose labels are not rows (written by another
    /// tool, or stale) never gets its labels reported as keys: batch search and SQL re-read
    /// the rows.
    @Test func aSearchNeverReportsARowIdThatIsNotARow() throws {
        let directory = TemporaryDirectory("quiver-integrity")
        let (path, vectors, file) = try Self.makeDatabase(directory, count: 300)
        let sequence = try Database(path: path).indexRecords().first?.checkpointSequence ?? 0
        // A valid file (checksums and all) whose labels are ids of no row.
        _ = try HNSWIndex.build(
            path: file, parameters: HNSWParameters(dimension: 8, metric: .l2),
            labels: (1...300).map { Int64($0) + 4_608_523_159_073_627_000 }, vectors: vectors.flatMap { $0 },
            sequence: sequence, threads: 1)
        let rows = Set((1...300).map(Int64.init))
        let search = try QuiverBinary.search(
            db: path, queries: Array(vectors.prefix(4)), k: 5, metric: .l2, scratch: directory.path)
        try #require(search.outcome.succeeded, "\(search.outcome)")
        for keys in search.keys {
            #expect(keys.allSatisfy { $0 == -1 || rows.contains($0) }, "\(keys)")
        }
        let sql = try QuiverBinary.run([
            "sql", "--db", path, "--format", "csv",
            "SELECT id FROM items ORDER BY emb <-> '\(vectorLiteral(vectors[0]))' LIMIT 5",
        ])
        try #require(sql.succeeded, "\(sql)")
        let ids = sql.stdout.split(whereSeparator: \.isNewline).dropFirst().compactMap {
            Int64($0.trimmingCharacters(in: .whitespaces))
        }
        #expect(ids.allSatisfy(rows.contains), "\(sql.stdout)")
    }
}
