import ArgumentParser
import Foundation
import QuiverEngine
import QuiverKernels
import QuiverStorage

/// kill -9, again and again: each iteration starts a child `quiver` on one database — a shell
/// running a script of small transactions (inserts, updates, deletes, rollbacks, searches,
/// REINDEX, DROP and CREATE INDEX), or `quiver import` of a JSON Lines file (one transaction, or
/// committed batches) whose index rebuild may be under way — kills it with SIGKILL at a random
/// moment (a few runs are left to finish), reopens the database and checks it (`Verifier`).
/// The next iteration starts from what the last one left.
@main
struct CrashLoop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiver-crashloop",
        abstract: "Kill quiver with SIGKILL at random moments and check what it leaves.")

    @Option(help: "How many child processes to start (and mostly kill).")
    var iterations = 20

    @Option(help: "The seed of the run: the same seed replays the same workloads and kill times.")
    var seed: UInt64 = 1

    @Option(help: "The longest a child runs before the kill, in milliseconds.")
    var maxKillMilliseconds = 1_200

    @Option(help: "The quiver executable (default: the one beside this tool).")
    var quiver: String?

    @Option(help: "Work directory (default: a new temporary one, removed at the end unless a check fails).")
    var directory: String?

    @Flag(help: "One line per iteration.")
    var verbose = false

    func run() throws {
        let binary =
            quiver
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("quiver").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw CrashLoopError("no quiver executable at \(binary); pass --quiver")
        }
        let work =
            directory
            ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("quiver-crashloop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let path = (work as NSString).appendingPathComponent("db")
        var random = SplitMix64(seed: seed)
        var model = try Self.seedDatabase(path, random: &random)
        let started = Date()
        var tally = Tally()
        var lastCheckpoints: [String: Int64] = [:]
        var failures: [String] = []

        for iteration in 1...iterations {
            let delay = Double(20 + random.below(maxKillMilliseconds)) / 1000
            let letFinish = random.below(10) == 0
            let importing = random.below(4) == 0
            var candidates: [Model]
            let outcome: Child.Outcome
            var what: String
            if importing {
                let workload = ImportWorkload(batch: Int64(iteration), random: &random)
                let file = (work as NSString).appendingPathComponent("import.jsonl")
                try workload.text.write(toFile: file, atomically: true, encoding: .utf8)
                let skip = random.below(2) == 0
                var arguments = [
                    "import", "--db", path, "--table", "imported", file, "--quiet", "--on-error",
                    skip ? "skip" : "abort",
                ]
                if skip {
                    arguments += [
                        "--batch-size", "100", "--rejects",
                        (work as NSString).appendingPathComponent("import.rejects.jsonl"),
                    ]
                }
                outcome = try Child.run(
                    binary, arguments, stdinPath: nil, killAfter: letFinish ? 120 : delay, scratch: work)
                what = "import of \(workload.ids.count) rows (\(skip ? "batches of 100" : "one transaction"))"
                // Under abort all or nothing; under skip any prefix of the file, in record order.
                if !outcome.killed && outcome.status == 0 {
                    candidates = [workload.applied(workload.ids.count, to: model)]
                } else if skip {
                    candidates = (0...workload.ids.count).map { workload.applied($0, to: model) }
                } else {
                    candidates = [model, workload.applied(workload.ids.count, to: model)]
                }
                tally.imports += 1
            } else {
                let workload = ShellWorkload(from: model, steps: 120 + random.below(400), random: &random)
                let script = (work as NSString).appendingPathComponent("script.sql")
                try workload.script.write(toFile: script, atomically: true, encoding: .utf8)
                outcome = try Child.run(
                    binary, ["shell", "--db", path], stdinPath: script, killAfter: letFinish ? 120 : delay,
                    scratch: work)
                // The acknowledged step committed; the one after it may have too.
                let acknowledged = ShellWorkload.lastAcknowledged(in: outcome.stdout)
                candidates = Array(workload.states[acknowledged...min(acknowledged + 1, workload.states.count - 1)])
                if !outcome.killed { candidates = [workload.states.last!] }
                what = "shell script, \(acknowledged) of \(workload.states.count - 1) transactions acknowledged"
                tally.shells += 1
            }
            if outcome.killed {
                tally.kills += 1
            } else {
                tally.finished += 1
                if outcome.status != 0 {
                    failures.append(
                        "iteration \(iteration): the \(importing ? "import" : "script") failed: \(outcome.stderr.prefix(400))"
                    )
                }
            }
            var verifier = Verifier(path: path)
            let (found, checkpoints) = try verifier.verify(candidates: candidates, random: &random)
            for (name, sequence) in checkpoints where lastCheckpoints[name].map({ $0 != sequence }) ?? false {
                tally.checkpoints += 1
            }
            lastCheckpoints = checkpoints
            let line =
                "iteration \(iteration): \(what), \(outcome.killed ? "killed" : "finished") after \(Int(outcome.elapsed * 1000)) ms"
            if verbose || !verifier.problems.isEmpty {
                print(line + (verifier.notes.isEmpty ? "" : "; " + verifier.notes.joined(separator: "; ")))
            }
            failures += verifier.problems.map { "iteration \(iteration) (\(what)): \($0)" }
            guard let found, verifier.problems.isEmpty else { break }
            model = found
        }
        let seconds = Date().timeIntervalSince(started)
        print(
            String(
                format:
                    "crashloop: %d iterations (%d shell scripts, %d imports), %d killed, %d finished, %d index files written (checkpoints, rebuilds), %d failures, %.1f s, seed %llu",
                tally.shells + tally.imports, tally.shells, tally.imports, tally.kills, tally.finished,
                tally.checkpoints, failures.count, seconds, seed))
        if failures.isEmpty {
            if directory == nil { try? FileManager.default.removeItem(atPath: work) }
        } else {
            for failure in failures.prefix(20) { print("FAILURE: \(failure)") }
            print("the database is kept at \(path)")
            throw ExitCode(1)
        }
    }

    struct Tally { var shells = 0, imports = 0, kills = 0, finished = 0, checkpoints = 0 }

    /// The starting database: 150 groups of items and 300 imported rows, both indexed.
    static func seedDatabase(_ path: String, random: inout SplitMix64) throws -> Model {
        var model = Model()
        let db = try Database(path: path)
        _ = try db.execute(Model.schema)
        var items: [SQLBindings] = []
        var groups: [SQLBindings] = []
        var imported: [SQLBindings] = []
        for g in Int64(1)...150 {
            let n = Int64(1 + random.below(6))
            for j in 0..<n {
                items.append(
                    SQLBindings([
                        .integer(g * 8 + j), .integer(g), .integer(0), .vector(Model.vector(id: g * 8 + j, version: 0)),
                    ]))
            }
            groups.append(SQLBindings([.integer(g), .integer(n), .integer(0)]))
            model.groups[g] = .init(n: n, version: 0)
        }
        model.nextGroup = 151
        for id in Int64(1)...300 {
            imported.append(SQLBindings([.integer(id), .integer(0), .vector(Model.vector(id: id, version: 0))]))
            model.imported[id] = 0
        }
        try db.executeMany("INSERT INTO items VALUES (?, ?, ?, ?)", items)
        try db.executeMany("INSERT INTO groups VALUES (?, ?, ?)", groups)
        try db.executeMany("INSERT INTO imported VALUES (?, ?, ?)", imported)
        _ = try db.execute(Model.createItemsIndex)
        _ = try db.execute(Model.createImportedIndex)
        return model
    }
}
