import Foundation
import QuiverEngine
import QuiverFormats
import QuiverImport
import QuiverStorage
import Testing

/// The importer's readers on mutated files, through the public `Importer`: JSON Lines, CSV and
/// TSV records, and `.npy` / `.fvecs` side vectors. Every input imports or is refused with an
/// error naming the file (and the line, for a bad record); a refused `--on-error abort` import
/// changes nothing; and the table's index still agrees with its rows at the end.
@Suite struct ImportFuzzTests {
    static let recordDictionary = [
        "{", "}", "[", "]", "\"", ",", ":", "\\", "\\u", "\\ud800", "\\u0000", "null", "true", "1e39", "-0",
        "NaN", "\"emb\": ", "\"id\": ", "\"title\": ", "\"n\": ", "[1,2,3]", "[1,2]", "\"\"", "\n", "\r\n",
        "\u{FEFF}", "\t", "\"\"\"", ",,,", "\"[0.1,0.2,0.3]\"", "99999999999999999999", "é世",
    ]

    /// One database for the run, with a fixed table (and its index) that imports upsert into.
    final class Target: @unchecked Sendable {
        let directory = TemporaryDirectory("quiver-fuzz-import")
        let db: Database
        var count = 0

        init() throws {
            db = try Database(path: directory.file("db"))
            _ = try db.execute("PRAGMA synchronous = OFF") // scratch data: no fsync per commit
            _ = try db.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, n REAL, emb VECTOR(3))")
            _ = try db.execute(
                "INSERT INTO docs VALUES (1, 'one', 1, '[1,0,0]'), (2, 'two', 2, '[0,1,0]'), (3, 'three', 3, '[0,0,1]')"
            )
            _ = try db.execute(
                "CREATE INDEX docs_emb ON docs USING hnsw (emb vector_l2_ops) WITH (m = 8, ef_construction = 32)")
        }

        func fingerprint() -> String {
            let rows =
                (try? db.execute(
                    "SELECT count(*), total(id), total(n), total(length(title)), total(vector_norm(emb)) FROM docs"))
                ?? []
            return rows.first?.rows.first.map { $0.map { "\($0)" }.joined(separator: ",") } ?? "?"
        }

        /// Imports `input` (written as a file named `name`) one of three ways, chosen by its hash:
        /// into the fixed table under abort or skip, or into a new table inferred from it.
        func importOnce(_ input: [UInt8], name: String, configure: (inout ImportOptions) -> Void = { _ in })
            -> FuzzLoop.Outcome
        {
            count += 1
            let path = directory.file("\(count)-\(name)")
            FuzzLoop.writeFile(path, input)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let way = input.reduce(count) { $0 &* 31 &+ Int($1) } & 3
            var options = ImportOptions(table: way == 0 ? "fresh" : "docs", inputPath: path)
            options.onError = way == 1 ? .skip : .abort
            options.rejectsPath = path + ".rejects"
            options.batchSize = 2
            configure(&options)
            let before = fingerprint()
            defer {
                try? FileManager.default.removeItem(atPath: path + ".rejects")
                if options.table == "fresh" { _ = try? db.execute("DROP TABLE IF EXISTS fresh") }
            }
            do {
                let summary = try Importer(database: db, options: options).run()
                guard summary.written <= summary.read else {
                    return .problem("wrote \(summary.written) of \(summary.read) records")
                }
                if options.onError == .skip, summary.rejected > 0 {
                    let lines =
                        (try? String(contentsOfFile: path + ".rejects", encoding: .utf8))?.split(separator: "\n").count
                        ?? 0
                    guard lines == summary.rejected else {
                        return .problem("\(summary.rejected) rejects but \(lines) listed")
                    }
                }
                return .accepted
            } catch {
                let message = "\(error)"
                guard
                    message.contains(path) || message.contains((path as NSString).lastPathComponent)
                        || options.vectorsPath.map(message.contains) == true
                        || error is ImportError
                else {
                    return .problem("the error does not name the file: \(message)")
                }
                if case .rejected(_, let line, let reason) = error as? ImportError, line < 1 || reason.isEmpty {
                    return .problem("a rejected record without line or reason: \(message)")
                }
                if message.isEmpty || message.contains("Swift.") {
                    return .problem("unclear error: \(message.debugDescription)")
                }
                if options.onError == .abort, options.table == "docs", fingerprint() != before {
                    return .problem("a refused import changed the table (\(message))")
                }
                return .rejected
            }
        }

        /// The index answers with rows only and agrees with the exact scan.
        func expectIndexAgrees() throws {
            let ids = Set(try db.integers("SELECT id FROM docs WHERE emb IS NOT NULL"))
            var random = SeededRandom(seed: 3)
            for _ in 0..<5 {
                let q = random.vector(3)
                let viaIndex = try db.nearest(q, metric: .l2, k: 3, table: "docs")
                let exact = try db.nearest(q, metric: .l2, k: 3, table: "docs", hint: "/*+ exact */ ")
                #expect(viaIndex.allSatisfy { ids.contains($0.id) })
                #expect(recallOf(found: [viaIndex.map(\.id)], truth: [exact.map(\.id)]) >= 0.66)
            }
        }
    }

    @Test func jsonLinesRecords() throws {
        let target = try Target()
        let corpus = FuzzCorpus.entries("jsonl")
        #expect(!corpus.isEmpty)
        let next = FuzzCorpus.inputs(
            "jsonl", seed: FuzzLoop.seed(0x150E), corpus: corpus, dictionary: Self.recordDictionary)
        let summary = FuzzLoop.run("jsonl", inputs: FuzzLoop.count(300), next: next) {
            target.importOnce($0, name: "in.jsonl")
        }
        #expect(summary.accepted > 10 && summary.rejected > 10, "\(summary)")
        try target.expectIndexAgrees()
    }

    @Test func delimitedRecords() throws {
        let target = try Target()
        let corpus = FuzzCorpus.entries("csv")
        #expect(!corpus.isEmpty)
        let next = FuzzCorpus.inputs(
            "csv", seed: FuzzLoop.seed(0xC5F), corpus: corpus, dictionary: Self.recordDictionary)
        let summary = FuzzLoop.run("csv", inputs: FuzzLoop.count(300), next: next) { input in
            // TSV when the input has a tab in its first line, as the TSV seed does.
            let firstLine = input.prefix { $0 != 0x0A }
            return target.importOnce(input, name: firstLine.contains(0x09) ? "in.tsv" : "in.csv")
        }
        #expect(summary.accepted > 10 && summary.rejected > 10, "\(summary)")
        try target.expectIndexAgrees()
    }

    /// Valid side files to mutate: float32 and float16 .npy (two header versions), .fvecs.
    static func vectorSeeds(in directory: TemporaryDirectory) throws -> [[UInt8]] {
        let path = directory.file("seed.npy")
        try NumPy.writeFloatMatrix(path: path, rows: 3, columns: 3, values: [1, 0, 0, 0, 1, 0, 0, 0, 1])
        let float32 = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        func npy(_ header: String, _ data: [UInt8], version: UInt8 = 1) -> [UInt8] {
            var dict = Array(header.utf8)
            let preamble = version == 1 ? 10 : 12
            dict += Array(repeating: 0x20, count: (64 - (preamble + dict.count + 1) % 64) % 64) + [0x0A]
            let length =
                version == 1
                ? [UInt8(dict.count & 0xFF), UInt8(dict.count >> 8)]
                : [UInt8(dict.count & 0xFF), UInt8(dict.count >> 8), 0, 0]
            return NumPyHeaderBytes.magic + [version, 0] + length + dict + data
        }
        let half: [UInt8] = [
            0x00, 0x3C, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3C, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3C,
        ]
        let float16 = npy("{'descr': '<f2', 'fortran_order': False, 'shape': (3, 3), }", half)
        let version2 = npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 3), }", Array(float32.suffix(36)), version: 2)
        var fvecs: [UInt8] = []
        for row in 0..<3 {
            fvecs += [3, 0, 0, 0]
            for column in 0..<3 {
                withUnsafeBytes(of: Float(row == column ? 1 : 0).bitPattern.littleEndian) { fvecs += $0 }
            }
        }
        return [float32, float16, version2, fvecs]
    }

    static let vectorDictionary = [
        "{'descr': ", "'<f4'", "'<f2'", "'>f4'", "'|u1'", "'<i8'", "'fortran_order': True", "'shape': (",
        "), }", "(3, 3)", "(-1, 3)", "(99999999999, 99999999999)", "()", "(1, 2, 3)", "(0, 3)", "{", "}",
        "'", "\u{93}NUMPY", "\u{0}\u{0}\u{0}\u{0}", "\u{FF}\u{FF}\u{FF}\u{7F}",
    ]

    @Test func sideVectorFiles() throws {
        let target = try Target()
        let seeds = try Self.vectorSeeds(in: target.directory)
        let records = target.directory.file("records.jsonl")
        try "{\"id\": 1}\n{\"id\": 2}\n{\"id\": 3}\n".write(toFile: records, atomically: true, encoding: .utf8)
        let next = FuzzCorpus.inputs(
            "npy", seed: FuzzLoop.seed(0x4E9), corpus: seeds, dictionary: Self.vectorDictionary)
        let reader = FuzzLoop.ReusedFile(target.directory.file("direct.npy"))
        let summary = FuzzLoop.run("side-vectors", inputs: FuzzLoop.count(3_000), next: next) { input in
            let isFvecs = input.prefix(6) != ArraySlice(NumPyHeaderBytes.magic)
            // Most inputs go straight to the .npy reader (fast); every eighth, and every .fvecs
            // file, through a whole import of three records.
            if !isFvecs && input.count % 8 != 0 {
                reader.replace(with: input)
                do {
                    let matrix = try NumPy.readFloatMatrix(path: reader.path)
                    return matrix.values.count == matrix.rows * matrix.columns
                        ? .accepted : .problem("\(matrix.rows)×\(matrix.columns) with \(matrix.values.count) values")
                } catch {
                    return "\(error)".contains(reader.path)
                        ? .rejected : .problem("the error does not name the file: \(error)")
                }
            }
            let side = target.directory.file("side-\(target.count)." + (isFvecs ? "fvecs" : "npy"))
            FuzzLoop.writeFile(side, input)
            defer { try? FileManager.default.removeItem(atPath: side) }
            return target.importOnce(Array(try! Data(contentsOf: URL(fileURLWithPath: records))), name: "records.jsonl")
            {
                $0.vectorsPath = side
                $0.vectorColumn = "emb"
            }
        }
        #expect(summary.accepted > 10 && summary.rejected > 10, "\(summary)")
        try target.expectIndexAgrees()
    }
}

/// The .npy magic (the reader's own constant is internal to QuiverFormats).
enum NumPyHeaderBytes {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
}
