import Foundation
import Testing

/// The short run of `quiver-stress` (Tools/Stress): one writer and four readers through a real
/// `quiver serve`, half over TCP and half over its Unix socket, with the server killed by
/// SIGKILL twice while the writer is mid-stream and restarted on the same database. The tool
/// checks every read against what was acknowledged before it began, and after each restart the
/// whole database against the acknowledged writes; it exits 1 on any problem. The long run is
/// in RELIABILITY.md.
@Suite struct ServerStressTests {
    @Test func readersAndAWriterThroughTheServerSurviveKills() throws {
        let located = ProcessRunner.locateExecutable("quiver-stress", repositoryRoot: repositoryRoot)
        let tool = try #require(located.path, "quiver-stress was not built (searched \(located.searched))")
        // Generous timeout: a loaded machine is slow, and the test asserts what was seen, not speed.
        let outcome = try ProcessRunner.run(
            tool,
            [
                "--seconds", "8", "--readers", "4", "--kills", "2", "--seed", "2026",
                "--quiver", try QuiverBinary.path(),
            ], timeout: 600)
        print(outcome.stdout.split(separator: "\n").first.map(String.init) ?? "")
        #expect(outcome.succeeded, "\(outcome)")
        #expect(outcome.stdout.contains("\nstress: 0 problems"), "\(outcome)")

        // The tallies ("  name: count"): every kind of work happened, on both transports.
        var tallies: [String: Int] = [:]
        for line in outcome.stdout.split(separator: "\n") where line.hasPrefix("  ") {
            guard let colon = line.lastIndex(of: ":"),
                let value = Int(line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            else { continue }
            tallies[line[..<colon].trimmingCharacters(in: .whitespaces)] = value
        }
        #expect(tallies["kills"] == 2 && tallies["restarts"] == 2, "\(tallies)")
        for kind in [
            "requests: sql write", "requests: sql read", "requests: upsert", "requests: delete", "requests: rows/get",
            "requests: query", "requests: health", "requests over tcp", "requests over unix",
            "transfers", "batches by script", "batches by upsert", "batch updates", "batch deletes",
            "reader rounds", "batches read", "searches filtered to a batch", "index searches",
            "verifier index searches",
        ] {
            #expect((tallies[kind] ?? 0) > 0, "no \(kind): \(tallies)")
        }
    }
}
