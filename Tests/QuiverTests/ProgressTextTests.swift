import Foundation
import QuiverEngine
import QuiverProgress
import Testing

@testable import QuiverShell

/// What the progress line says: what really runs (an index build is no DEDUPE), how far it has
/// got and for how long, cut to the terminal's width.
@Suite struct ProgressTextTests {
    @Test func progressNamesTheWorkAndCountsInItsUnit() {
        let building = QuiverProgress.Progress(
            "building index docs_embedding", done: 4_608, total: 10_000, unit: .vectors)
        #expect(building.description == "building index docs_embedding: 46%, 4,608/10,000 vectors")
        #expect(building.fraction == 0.4608)
        let unknown = QuiverProgress.Progress("DEDUPE reading rows", done: 1_234_567, total: 0, unit: .rows)
        #expect(unknown.description == "DEDUPE reading rows: 1,234,567 rows" && unknown.fraction == 0)
        let over = QuiverProgress.Progress("DEDUPE deleting", done: 12, total: 10, unit: .rows)
        #expect(over.fraction == 1)
    }

    @Test func theLineShowsWhatRunsThenHowFarItHasGot() {
        let labelled = ProgressLine.text(
            label: "CREATE INDEX docs_embedding ON", detail: "building index docs_embedding: 46%, 4,608/10,000 vectors",
            seconds: 2.3, tick: 0, width: 200)
        #expect(
            labelled
                == "⠋ CREATE INDEX docs_embedding ON  2.3 s (Ctrl-C cancels) — building index docs_embedding: 46%, 4,608/10,000 vectors"
        )
        // Without a label the work's own report names it; with neither there is nothing to draw.
        let unlabelled = ProgressLine.text(
            label: nil, detail: "DEDUPE reading rows: 100%, 20/20 rows", seconds: 0.4, tick: 1, width: 200)
        #expect(unlabelled == "⠙ DEDUPE reading rows: 100%, 20/20 rows  0.4 s (Ctrl-C cancels)")
        #expect(ProgressLine.text(label: nil, detail: "", seconds: 3, tick: 2, width: 200) == nil)
        #expect(
            ProgressLine.text(label: "UPDATE docs SET", detail: "", seconds: 1, tick: 2, width: 200)
                == "⠹ UPDATE docs SET  1.0 s (Ctrl-C cancels)")
        // A wrapped line could not be redrawn in place: it is cut, the detail first.
        let narrow = ProgressLine.text(
            label: "CREATE INDEX docs_embedding ON", detail: "building index docs_embedding: 46%",
            seconds: 2, tick: 0, width: 40)
        #expect(narrow == "⠋ CREATE INDEX docs_embedding ON  2.0 s…")
    }

    @Test func createIndexOnATerminalSaysItBuildsTheIndex() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("db")
        do {
            let db = try Database(path: path)
            var random = SeededRandom(seed: 17)
            let values = (1...3_000).map { "(\($0), '\(vectorLiteral(random.vector(8)))')" }.joined(separator: ", ")
            _ = try db.execute(
                "CREATE TABLE docs (id INTEGER PRIMARY KEY, embedding VECTOR(8)); INSERT INTO docs VALUES \(values)")
        }
        let binary = try QuiverBinary.path()
        let environment = [
            "TERM": "xterm-256color", "LANG": "C.UTF-8", "HOME": directory.path,
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ]
        for (sql, said) in [
            (
                "CREATE INDEX docs_embedding ON docs USING hnsw (embedding vector_cosine_ops)",
                "building index docs_embedding: "
            ),
            ("REINDEX docs_embedding", "rebuilding index docs_embedding: "),
        ] {
            let terminal = try PseudoTerminal(binary, ["sql", "--db", path, sql], environment: environment)
            #expect(try terminal.waitForExit() == 0, "\(PseudoTerminal.readable(terminal.transcript))")
            let screen = terminal.transcript
            #expect(screen.contains(said) && screen.contains(" vectors"), "\(PseudoTerminal.readable(screen))")
            #expect(!screen.contains("DEDUPE"), "\(PseudoTerminal.readable(screen))")
            // Erased before the command ends, so nothing of it stays on the screen.
            #expect(screen.hasSuffix("\r\u{1B}[2K"), "\(PseudoTerminal.readable(screen))")
        }
    }
}
