import Foundation
import Testing

/// Runs a fuzz target over generated inputs with a watchdog: each input gets `limit` seconds,
/// then `onStall` (e.g. interrupting a database), then a grace period before the input is
/// reported as a hang and the loop abandoned. Before each input runs, it is saved to
/// `$TMPDIR/quiver-fuzz-<name>.last`, so a crash leaves its reproducer behind.
enum FuzzLoop {
    /// How many inputs a short run tries, scaled by `QUIVER_FUZZ_SCALE` for long runs.
    static func count(_ base: Int) -> Int {
        let scale = Double(ProcessInfo.processInfo.environment["QUIVER_FUZZ_SCALE"] ?? "") ?? 1
        return max(1, Int(Double(base) * scale))
    }

    /// The seed of a run: fixed, so a failure replays; `QUIVER_FUZZ_SEED` picks another.
    static func seed(_ base: UInt64) -> UInt64 {
        UInt64(ProcessInfo.processInfo.environment["QUIVER_FUZZ_SEED"] ?? "").map { base ^ $0 } ?? base
    }

    static func lastInputPath(_ name: String) -> String {
        (NSTemporaryDirectory() as NSString).appendingPathComponent("quiver-fuzz-\(name).last")
    }

    struct Summary: CustomStringConvertible {
        var name: String
        var inputs = 0
        var accepted = 0
        var rejected = 0
        var slowest = 0.0
        var seconds = 0.0
        var description: String {
            String(
                format: "fuzz %@: %d inputs (%d accepted, %d rejected with an error) in %.1f s, slowest %.0f ms",
                name, inputs, accepted, rejected, seconds, slowest * 1000)
        }
    }

    private final class State: @unchecked Sendable {
        let lock = NSLock()
        var index = -1
        var startedAt = Date()
        var input: [UInt8] = []
        var done = false
        var problems: [String] = []
        var summary: Summary
        init(_ name: String) { summary = Summary(name: name) }
    }

    /// What a target made of one input.
    enum Outcome {
        case accepted
        /// Refused with an error the target judged clear.
        case rejected
        /// Anything else: an unclear error, a broken invariant.
        case problem(String)
    }

    /// Runs `body` on a worker thread (its problems are recorded from the test's thread, where
    /// Swift Testing knows which test they belong to).
    @discardableResult
    static func run(
        _ name: String, inputs: Int, limit: TimeInterval = 2, grace: TimeInterval = 10,
        next: @escaping @Sendable (Int) -> [UInt8], onStall: @escaping @Sendable () -> Void = {},
        body: @escaping @Sendable ([UInt8]) -> Outcome
    ) -> Summary {
        let state = State(name)
        let started = Date()
        let lastPath = lastInputPath(name)
        let last = ReusedFile(lastPath)
        let worker = Thread {
            for i in 0..<inputs {
                let input = next(i)
                last.replace(with: input)
                state.lock.withLock {
                    state.index = i
                    state.input = input
                    state.startedAt = Date()
                }
                let outcome = body(input)
                let elapsed = Date().timeIntervalSince(state.lock.withLock { state.startedAt })
                state.lock.withLock {
                    state.summary.inputs += 1
                    switch outcome {
                    case .accepted: state.summary.accepted += 1
                    case .rejected: state.summary.rejected += 1
                    case .problem(let what):
                        if state.problems.count < 10 {
                            state.problems.append("input \(i): \(what); input: \(preview(input))")
                        }
                    }
                    state.summary.slowest = max(state.summary.slowest, elapsed)
                }
            }
            state.lock.withLock { state.done = true }
        }
        worker.stackSize = 16 << 20
        worker.start()
        var stalledOn = -1
        while true {
            Thread.sleep(forTimeInterval: 0.02)
            let (done, index, since, input) = state.lock.withLock {
                (state.done, state.index, state.startedAt, state.input)
            }
            if done { break }
            let waited = Date().timeIntervalSince(since)
            if waited > limit, stalledOn != index {
                stalledOn = index
                onStall()
            }
            if waited > limit + grace {
                Issue.record(
                    "fuzz \(name): input \(index) still running after \(Int(waited)) s (a hang); input: \(preview(input))"
                )
                break
            }
        }
        try? FileManager.default.removeItem(atPath: lastPath)
        for problem in state.lock.withLock({ state.problems }) {
            Issue.record("fuzz \(name) (seed replayable): \(problem)")
        }
        var summary = state.lock.withLock { state.summary }
        summary.seconds = Date().timeIntervalSince(started)
        print(summary)
        return summary
    }

    /// Writes `bytes` to `path`, kept open: rewritten in place with pwrite and ftruncate,
    /// because truncating a file to zero makes ext4 flush it (a millisecond per input).
    final class ReusedFile: @unchecked Sendable {
        let path: String
        private let fd: Int32
        init(_ path: String) {
            self.path = path
            fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        }
        deinit { close(fd) }
        func replace(with bytes: [UInt8]) {
            bytes.withUnsafeBytes {
                var done = 0
                while done < $0.count {
                    let n = pwrite(fd, $0.baseAddress! + done, $0.count - done, off_t(done))
                    if n <= 0 { break }
                    done += n
                }
            }
            ftruncate(fd, off_t(bytes.count))
        }
    }

    /// Writes a new file (FileManager's createFile writes a temporary file and renames it).
    static func writeFile(_ path: String, _ bytes: [UInt8]) {
        let file = ReusedFile(path)
        file.replace(with: bytes)
    }

    /// An input for a failure message: text when it is text, else hex; long ones shortened.
    static func preview(_ input: [UInt8]) -> String {
        let cut = Array(input.prefix(300))
        let more = input.count > 300 ? "… (\(input.count) bytes)" : ""
        if let text = String(validating: cut, as: UTF8.self) { return text.debugDescription + more }
        return cut.map { String(format: "%02x", $0) }.joined() + more
    }
}
