import Foundation
import QuiverEngine
import QuiverImport
import QuiverProgress
import Testing

/// An import reports the one `Progress` every long piece of work reports: the bytes read of the
/// file's size with the rows alongside, then the index build's own progress; and its line says
/// so. An export reports the rows it has written.
@Suite struct ImportProgressTests {
    /// What a closure heard, from whichever thread called it.
    final class Heard: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [QuiverProgress.Progress] = []
        func add(_ progress: QuiverProgress.Progress) { lock.withLock { values.append(progress) } }
        var all: [QuiverProgress.Progress] { lock.withLock { values } }
    }

    @Test func theImporterReportsTheFileReadThenTheIndexBuild() throws {
        let tmp = TemporaryDirectory("quiver-import-progress")
        let rows = 3_000
        var random = SeededRandom(seed: 18)
        let text = (1...rows).map { "{\"id\": \($0), \"embedding\": \(vectorLiteral(random.vector(8)))}\n" }.joined()
        let file = tmp.file("docs.jsonl")
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        let db = try Database(path: tmp.file("db"))
        _ = try db.execute(
            """
            CREATE TABLE docs (id INTEGER PRIMARY KEY, embedding VECTOR(8));
            CREATE INDEX docs_embedding ON docs USING hnsw (embedding vector_cosine_ops)
            """)
        var handlerCalls = 0
        db.progressHandler = { _ in handlerCalls += 1 }

        let heard = Heard()
        let summary = try Importer(database: db, options: ImportOptions(table: "docs", inputPath: file)).run {
            heard.add($0)
        }
        #expect(summary.written == rows && summary.indexes.map(\.rebuilt) == [true])

        let all = heard.all
        let reading = all.prefix { $0.unit == .bytes }
        try #require(reading.count >= 2, "the first batch and the end of the file: \(all)")
        for step in reading {
            #expect(step.activity == "importing docs.jsonl" && step.total == size, "\(step)")
            #expect(step.alongside?.unit == .rows && step.elapsed != nil, "\(step)")
        }
        for (before, after) in zip(reading, reading.dropFirst()) {
            #expect(after.done >= before.done, "bytes read never go back: \(before) then \(after)")
            #expect((after.alongside?.value ?? 0) >= (before.alongside?.value ?? 0), "\(before) then \(after)")
            #expect((after.elapsed ?? 0) >= (before.elapsed ?? 0), "\(before) then \(after)")
        }
        #expect(reading.last?.done == size && reading.last?.alongside == .init(rows, .rows), "the whole file")

        // After the file: the rebuild, named before it reads its rows, then in its own vectors.
        let stages = all.dropFirst(reading.count)
        #expect(!stages.isEmpty && stages.allSatisfy { $0.activity == "rebuilding index docs_embedding" }, "\(all)")
        #expect(stages.allSatisfy { $0.unit == .vectors && $0.alongside == .init(rows, .rows) }, "\(all)")
        #expect(stages.first?.total == 0, "announced before the build counts")
        let counted = stages.filter { $0.total > 0 }
        #expect(!counted.isEmpty && counted.allSatisfy { $0.total == rows && $0.done <= rows }, "\(all)")

        // The caller's own handler is back, and heard nothing of the import's build.
        #expect(handlerCalls == 0)
        _ = try db.execute("REINDEX docs_embedding")
        #expect(handlerCalls > 0)
    }

    @Test func theLineShowsTheReadingThenTheStage() {
        let reading = QuiverProgress.Progress(
            "importing docs.jsonl", done: 5_242_880, total: 10_485_760, unit: .bytes, alongside: .init(12_000, .rows),
            elapsed: 2)
        #expect(reading.description == "importing docs.jsonl: 50%, 5,242,880/10,485,760 bytes, 12,000 rows")
        #expect(
            ImportProgressText.render(reading)
                == " 50% █████████░░░░░░░░░  12,000 rows  6,000 rows/s  2.5 MB/s  ETA 0:02")

        // A file of unknown size (standard input): no bar and no time left.
        var unsized = reading
        unsized.total = 0
        #expect(ImportProgressText.render(unsized) == "12,000 rows  6,000 rows/s  2.5 MB/s")

        // The index build's own progress, then the rows read before it.
        let building = QuiverProgress.Progress(
            "rebuilding index docs_embedding", done: 4_608, total: 10_000, unit: .vectors,
            alongside: .init(12_000, .rows), elapsed: 5)
        #expect(
            ImportProgressText.render(building)
                == "rebuilding index docs_embedding: 46%, 4,608/10,000 vectors  12,000 rows read"
        )
        // A stage that counts nothing yet is named alone.
        let updating = QuiverProgress.Progress(
            "updating indexes", done: 0, total: 0, unit: .vectors, alongside: .init(12_000, .rows))
        #expect(ImportProgressText.render(updating) == "updating indexes  12,000 rows read")
        #expect(
            QuiverProgress.Progress("updating indexes", done: 0, total: 0, unit: .vectors).description
                == "updating indexes")
    }

    @Test func theExporterReportsTheRowsWritten() throws {
        let tmp = TemporaryDirectory("quiver-import-progress")
        let db = try Database(path: tmp.file("db"))
        _ = try db.execute(
            """
            CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT);
            WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 4500)
            INSERT INTO docs SELECT i, 'row ' || i FROM r
            """)
        var options = ExportOptions(table: "docs")
        options.outputPath = tmp.file("docs.jsonl")
        let heard = Heard()
        let rows = try Exporter(database: db, options: options).run { heard.add($0) }
        #expect(rows == 4_500)
        #expect(
            heard.all.map(\.done) == [2_000, 4_000, 4_500]
                && heard.all.allSatisfy { $0.activity == "exporting docs" && $0.unit == .rows && $0.total == 0 },
            "one report a page: \(heard.all)")
    }
}
