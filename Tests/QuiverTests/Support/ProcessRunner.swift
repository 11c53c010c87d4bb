import Dispatch
import Foundation

/// What a child process did: its exit status and everything it wrote.
struct ProcessOutcome: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String
    var timedOut = false

    var succeeded: Bool { status == 0 && !timedOut }

    var description: String {
        "exit \(status)\(timedOut ? " (timed out)" : "")\n--- stdout ---\n\(stdout)\n--- stderr ---\n\(stderr)"
    }
}

struct ProcessRunnerError: Error, CustomStringConvertible {
    var description: String
}

/// Runs an executable to completion. Output goes to temporary files rather than pipes, so a
/// child that writes a lot can never block on a full pipe while we wait for it to exit.
enum ProcessRunner {
    static func run(
        _ executable: String, _ arguments: [String], stdin: String? = nil,
        currentDirectory: String? = nil, environment: [String: String]? = nil,
        timeout: TimeInterval = 120
    ) throws -> ProcessOutcome {
        let files = FileManager.default
        let scratch = (NSTemporaryDirectory() as NSString).appendingPathComponent("quiver-proc-\(UUID().uuidString)")
        try files.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? files.removeItem(atPath: scratch) }
        let outPath = (scratch as NSString).appendingPathComponent("stdout")
        let errPath = (scratch as NSString).appendingPathComponent("stderr")
        let inPath = (scratch as NSString).appendingPathComponent("stdin")
        guard files.createFile(atPath: outPath, contents: nil), files.createFile(atPath: errPath, contents: nil),
            files.createFile(atPath: inPath, contents: Data((stdin ?? "").utf8)),
            let outHandle = FileHandle(forWritingAtPath: outPath),
            let errHandle = FileHandle(forWritingAtPath: errPath),
            let inHandle = FileHandle(forReadingAtPath: inPath)
        else {
            throw ProcessRunnerError(description: "cannot create the output files in \(scratch)")
        }
        defer {
            try? outHandle.close()
            try? errHandle.close()
            try? inHandle.close()
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        // Without stdin the child reads an empty file, never the test runner's own input.
        process.standardInput = inHandle
        process.standardOutput = outHandle
        process.standardError = errHandle
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        if let environment { process.environment = environment }

        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        do {
            try process.run()
        } catch {
            throw ProcessRunnerError(description: "cannot run \(executable): \(error)")
        }
        var timedOut = false
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            process.terminate()
            _ = finished.wait(timeout: .now() + 5)
        }
        process.waitUntilExit()
        let stdout = String(decoding: files.contents(atPath: outPath) ?? Data(), as: UTF8.self)
        let stderr = String(decoding: files.contents(atPath: errPath) ?? Data(), as: UTF8.self)
        return ProcessOutcome(status: process.terminationStatus, stdout: stdout, stderr: stderr, timedOut: timedOut)
    }

    /// The directory holding the test bundle's build products (where `swift build` puts the
    /// executables too), found from this process and the loaded bundles.
    static func buildProductDirectories() -> [URL] {
        var directories: [URL] = []
        func add(_ url: URL) {
            let standardized = url.resolvingSymlinksInPath().standardizedFileURL
            if !directories.contains(standardized) { directories.append(standardized) }
        }
        if let first = ProcessInfo.processInfo.arguments.first, first.contains("/") {
            let executable = URL(fileURLWithPath: first)
            add(executable.deletingLastPathComponent())
            // macOS: …/debug/QuiverPackageTests.xctest/Contents/MacOS/QuiverPackageTests
            for ancestor in ancestors(of: executable) where ancestor.pathExtension == "xctest" {
                add(ancestor.deletingLastPathComponent())
            }
        }
        for bundle in [Bundle.main] + Bundle.allBundles {
            let url = bundle.bundleURL
            if url.pathExtension == "xctest" { add(url.deletingLastPathComponent()) } else { add(url) }
        }
        return directories
    }

    private static func ancestors(of url: URL) -> [URL] {
        var result: [URL] = []
        var current = url
        while current.path != "/" && !current.path.isEmpty {
            current.deleteLastPathComponent()
            result.append(current)
        }
        return result
    }

    /// The built executable `name`: beside the test bundle, else the newest
    /// `<repositoryRoot>/.build*/debug/<name>`; `QUIVER_BINARY` overrides both.
    static func locateExecutable(_ name: String, repositoryRoot: String) -> (path: String?, searched: [String]) {
        let files = FileManager.default
        var searched: [String] = []
        if let override = ProcessInfo.processInfo.environment["QUIVER_BINARY"], !override.isEmpty {
            searched.append(override)
            if files.isExecutableFile(atPath: override) { return (override, searched) }
        }
        for directory in buildProductDirectories() {
            let candidate = directory.appendingPathComponent(name).path
            searched.append(candidate)
            if files.isExecutableFile(atPath: candidate) { return (candidate, searched) }
        }
        let root = URL(fileURLWithPath: repositoryRoot)
        let buildFolders = ((try? files.contentsOfDirectory(atPath: root.path)) ?? []).filter { $0.hasPrefix(".build") }
        var found: [(path: String, modified: Date)] = []
        for folder in buildFolders {
            let candidate = root.appendingPathComponent(folder).appendingPathComponent("debug").appendingPathComponent(
                name
            ).path
            searched.append(candidate)
            guard files.isExecutableFile(atPath: candidate) else { continue }
            let modified = (try? files.attributesOfItem(atPath: candidate)[.modificationDate] as? Date) ?? .distantPast
            found.append((candidate, modified))
        }
        return (found.max { $0.modified < $1.modified }?.path, searched)
    }
}
