import Foundation
import Testing

/// The short run of `quiver-crashloop` (Tools/CrashLoop): twenty child processes on one
/// database, most killed with SIGKILL part way, each followed by the full check of rows,
/// acknowledged commits, index files and searches. The long run is in RELIABILITY.md.
@Suite struct CrashLoopTests {
    @Test func twentyKillsLeaveEveryCommittedRowAndAConsistentIndex() throws {
        let located = ProcessRunner.locateExecutable("quiver-crashloop", repositoryRoot: repositoryRoot)
        let tool = try #require(located.path, "quiver-crashloop was not built (searched \(located.searched))")
        // A generous timeout: a loaded machine is slow, and the test asserts what survives, not speed.
        let outcome = try ProcessRunner.run(
            tool, ["--iterations", "20", "--seed", "2026", "--quiver", try QuiverBinary.path()], timeout: 900)
        print(outcome.stdout.split(separator: "\n").last.map(String.init) ?? "")
        #expect(outcome.succeeded, "\(outcome)")
        // The summary: enough of the children were killed, not just run to the end.
        let summary = try #require(outcome.stdout.split(separator: "\n").last { $0.hasPrefix("crashloop:") })
        let killed =
            summary.split(separator: ",").first { $0.hasSuffix(" killed") }.flatMap {
                Int($0.split(separator: " ").first ?? "")
            } ?? 0
        // Half at least: how many finish before their kill depends on the machine's speed.
        #expect(killed >= 10, "only \(killed) of 20 children were killed: \(summary)")
        #expect(summary.contains(" 0 failures"))
    }
}
