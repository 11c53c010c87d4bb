import Dispatch
import Foundation

/// A child process killed with SIGKILL after a delay, unless it finishes first. Its output
/// goes to files (what it wrote before the kill is there: the kernel has it), its input comes
/// from a file.
struct Child {
    struct Outcome {
        var killed: Bool
        var status: Int32
        var stdout: String
        var stderr: String
        var elapsed: TimeInterval
    }

    static func run(
        _ executable: String, _ arguments: [String], stdinPath: String?, killAfter: TimeInterval,
        scratch: String
    ) throws -> Outcome {
        let outPath = (scratch as NSString).appendingPathComponent("child.out")
        let errPath = (scratch as NSString).appendingPathComponent("child.err")
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        guard let out = FileHandle(forWritingAtPath: outPath), let err = FileHandle(forWritingAtPath: errPath) else {
            throw CrashLoopError("cannot create the child's output files in \(scratch)")
        }
        let input = stdinPath.flatMap { FileHandle(forReadingAtPath: $0) } ?? FileHandle.nullDevice
        defer {
            try? out.close()
            try? err.close()
            try? input.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = out
        process.standardError = err
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        let start = Date()
        try process.run()
        var killed = false
        if finished.wait(timeout: .now() + killAfter) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            killed = true
            _ = finished.wait(timeout: .now() + 30)
        }
        process.waitUntilExit()
        let read = { (path: String) in
            String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        }
        return Outcome(
            killed: killed && process.terminationReason == .uncaughtSignal, status: process.terminationStatus,
            stdout: read(outPath), stderr: read(errPath), elapsed: Date().timeIntervalSince(start))
    }
}

struct CrashLoopError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
