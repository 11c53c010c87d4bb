import Foundation
import QuiverEngine
import QuiverFormats
import QuiverStorage
import Testing

/// `quiver import` and `quiver export` as a user runs them: output when it is not a terminal,
/// exit codes, and an import killed with SIGKILL then run again.
@Suite struct ImportCLITests {
    static let located = ProcessRunner.locateExecutable("quiver", repositoryRoot: repositoryRoot)
    let tmp = TemporaryDirectory("quiver-import-cli")

    func binary() throws -> String {
        try #require(
            Self.located.path, "the quiver executable was not found; build it with `swift build --build-tests`")
    }

    func quiver(_ arguments: [String]) throws -> ProcessOutcome {
        try ProcessRunner.run(try binary(), arguments)
    }

    /// The content of record `id`, so that any row read back can be checked on its own.
    static func vector(_ id: Int) -> [Float] {
        var random = SeededRandom(seed: UInt64(id))
        return random.vector(16)
    }
    static func record(_ id: Int) -> String {
        "{\"id\": \(id), \"title\": \"passage \(id) 段落\", \"n\": \(id * 3), \"embedding\": \(ValueText.vectorJSON(vector(id)))}"
    }

    func corpus(_ count: Int) -> String {
        let path = tmp.file("corpus.jsonl")
        FileManager.default.createFile(
            atPath: path, contents: Data((1...count).map(Self.record).joined(separator: "\n").utf8))
        return path
    }

    @Test func withoutATerminalThereIsNoProgressBarOnlyTheSummary() throws {
        let input = corpus(3_000)
        let outcome = try quiver(["import", "--db", tmp.file("db"), "--table", "docs", input])
        #expect(outcome.succeeded, "\(outcome)")
        let lines = outcome.stdout.split(separator: "\n")
        #expect(
            lines.count == 1
                && lines[0].hasPrefix(
                    "imported 3,000 rows into docs (new table): read 3,000, wrote 3,000, skipped 0 (0 rejected, 0 duplicates) in "
                ), "\(outcome)")
        #expect(lines[0].contains("rows/s") && lines[0].contains("MB/s"))
        #expect(
            outcome.stderr.isEmpty,
            "no progress display when standard error is not a terminal: \(outcome.stderr.debugDescription)")
        #expect(!outcome.stdout.contains("\r") && !outcome.stdout.contains("\u{1B}"))

        let exported = try quiver(["export", "--db", tmp.file("db"), "--table", "docs", "--where", "id <= 2"])
        #expect(
            exported.succeeded
                && exported.stdout == Self.record(1).replacingOccurrences(of: ": ", with: ":").replacingOccurrences(
                    of: ", ", with: ",") + "\n"
                    + Self.record(2).replacingOccurrences(of: ": ", with: ":").replacingOccurrences(of: ", ", with: ",")
                    + "\n",
            "\(exported)")
    }

    @Test func aBadRecordExitsNonZeroNamingFileAndLine() throws {
        let input = tmp.file("bad.jsonl")
        FileManager.default.createFile(
            atPath: input,
            contents: Data("\(Self.record(1))\n{\"id\": 2, \"title\": \"x\", \"n\": 1, \"embedding\": [1, 2]}\n".utf8))
        _ = try quiver([
            "sql", "--db", tmp.file("db"),
            "CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, n INTEGER, embedding VECTOR(16))",
        ])
        let outcome = try quiver(["import", "--db", tmp.file("db"), "--table", "docs", input])
        #expect(outcome.status == 1 && outcome.stdout.isEmpty, "\(outcome)")
        #expect(outcome.stderr.contains("\(input):2: field \"embedding\": expected 16 dimensions, got 2"), "\(outcome)")
        let count = try quiver(["sql", "--db", tmp.file("db"), "--format", "csv", "SELECT count(*) AS n FROM docs"])
        #expect(count.stdout == "n\r\n0\r\n", "nothing was written")

        let skipped = try quiver([
            "import", "--db", tmp.file("db"), "--table", "docs", "--on-error", "skip", "--rejects", tmp.file("r.jsonl"),
            input,
        ])
        #expect(
            skipped.succeeded && skipped.stdout.contains("wrote 1, skipped 1 (1 rejected, 0 duplicates)")
                && skipped.stdout.contains("rejected records and reasons: \(tmp.file("r.jsonl"))"), "\(skipped)")
    }

    /// Kills a batched import (skip mode) at several moments, re-running it each time into the
    /// same database, then lets it finish: every row read back at any point is whole and right,
    /// and the end holds every record exactly once, findable through the table's index.
    @Test func anImportKilledMidwayCompletesWhenRunAgain() throws {
        let count = 8_000
        let input = corpus(count)
        let db = tmp.file("db")
        let create = try quiver([
            "sql", "--db", db,
            """
            CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT NOT NULL, n INTEGER, embedding VECTOR(16));
            CREATE INDEX docs_embedding ON docs USING hnsw (embedding) WITH (m = 8, ef_construction = 32);
            """,
        ])
        #expect(create.succeeded, "\(create)")
        let arguments = ["import", "--db", db, "--table", "docs", "--on-error", "skip", "--batch-size", "500", input]
        let devNull = "/dev/null"
        // Time one full run on a scratch copy to place the kills.
        let measured = try KillableChild.run(
            try binary(), ["import", "--db", tmp.file("measure"), "--table", "docs", input], stdinPath: devNull,
            killAfter: 300)
        #expect(!measured.killed && measured.status == 0, "\(measured.stderr)")

        var kills = 0
        var previous = 0
        for fraction in [0.15, 0.35, 0.55, 0.8] {
            let outcome = try KillableChild.run(
                try binary(), arguments, stdinPath: devNull, killAfter: measured.elapsed * fraction)
            if outcome.killed { kills += 1 } else { #expect(outcome.status == 0, "\(outcome.stderr)") }
            let present = try checkRows(db)
            #expect(present >= previous, "a re-run never loses committed rows (\(present) after \(previous))")
            previous = present
        }
        #expect(kills >= 2, "only \(kills) of 4 runs were killed")
        let final = try ProcessRunner.run(try binary(), arguments)
        #expect(final.succeeded, "\(final)")
        #expect(try checkRows(db) == count, "every record exactly once after the re-run")

        let database = try Database(path: db)
        var misses = 0
        for id in stride(from: 1, through: count, by: 29) {
            let hit = try database.execute(
                "SELECT id FROM docs ORDER BY embedding <=> ?1 LIMIT 1", SQLBindings([.vector(Self.vector(id))])
            ).first?.rows.first?.first
            if hit != .integer(Int64(id)) { misses += 1 }
        }
        #expect(misses <= 3, "\(misses) rows not found through the index after the resumed import")
    }

    /// Every row's values equal its record's; returns the row count (distinct by key).
    func checkRows(_ db: String) throws -> Int {
        let database = try Database(path: db)
        let rows = try database.execute("SELECT id, title, n, embedding FROM docs ORDER BY id").first?.rows ?? []
        var bad = 0
        for row in rows {
            let id = Int(row[0].integerValue ?? -1)
            if row != [
                .integer(Int64(id)), .text("passage \(id) 段落"), .integer(Int64(id * 3)), .vector(Self.vector(id)),
            ] {
                bad += 1
            }
        }
        #expect(bad == 0, "\(bad) rows differ from their records")
        return rows.count
    }

    @Test func anAbortModeImportKilledMidwayLeavesAllOrNothing() throws {
        let count = 20_000
        let input = corpus(count)
        let measured = try KillableChild.run(
            try binary(), ["import", "--db", tmp.file("measure"), "--table", "docs", input], stdinPath: "/dev/null",
            killAfter: 300)
        #expect(!measured.killed && measured.status == 0)
        let db = tmp.file("db")
        let outcome = try KillableChild.run(
            try binary(), ["import", "--db", db, "--table", "docs", input], stdinPath: "/dev/null",
            killAfter: measured.elapsed * 0.5)
        let database = try Database(path: db)
        let rows =
            try database.currentCatalog().table(named: "docs") == nil
            ? 0
            : Int(try database.execute("SELECT count(*) FROM docs").first?.rows.first?.first?.integerValue ?? -1)
        #expect(rows == 0 || rows == count, "\(outcome.killed ? "killed" : "finished"): \(rows) rows")
        let rerun = try ProcessRunner.run(try binary(), ["import", "--db", db, "--table", "docs", input])
        #expect(rerun.succeeded, "\(rerun)")
        #expect(try checkRows(db) == count)
    }
}
