import Foundation
import Testing

/// Runs the Python client's own tests (clients/python/tests) against the built server: they
/// start `quiver serve` themselves (TCP and Unix socket) and run the RAG example on the sample.
@Suite struct PythonClientTests {
    static let python: String? =
        ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
        ?? ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":")
        .map { "\($0)/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: python != nil, "python3 is not installed: the Python client's tests are skipped"))
    func pythonClientTestsPassAgainstALiveServer() throws {
        let binary = try #require(ServerProcess.located.path, "the quiver executable was not found; build it first")
        var environment = ProcessInfo.processInfo.environment
        environment["QUIVER_BINARY"] = binary
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        environment.removeValue(forKey: "QUIVER_TOKEN")
        let outcome = try ProcessRunner.run(
            Self.python!, ["-m", "unittest", "discover", "-s", "tests", "-t", ".", "-v"],
            currentDirectory: (repositoryRoot as NSString).appendingPathComponent("clients/python"),
            environment: environment, timeout: 300)
        #expect(outcome.succeeded, "\(outcome)")
        // unittest reports on standard error; every test must have run, none skipped.
        #expect(outcome.stderr.contains("Ran 5 tests"), "\(outcome.stderr)")
        #expect(!outcome.stderr.contains("skipped"), "\(outcome.stderr)")
    }
}
