import Dispatch
import Foundation
import QuiverClient

/// The load generator for the server benchmark (Tools/bench/run-serve): replays prepared JSON
/// request bodies against any HTTP server — Quiver's or a peer's — from N threads, each with
/// its own keep-alive connection, closed loop (a thread sends its next request when the last
/// answer has arrived). Compiled, with one OS thread per connection, so 64 connections are 64
/// truly concurrent clients, which a Python driver could not give.
///
///     quiver-bench http-load --url http://127.0.0.1:7070 --path /tables/t/query --bodies B.jsonl
///         --connections 1,8,64 [--seconds 10] [--warmup 2] [--token T] [--responses OUT.jsonl]
///
/// With --responses, first one pass over every body on one connection writes each answer as a
/// line (for recall checks). Then, per connection count, prints one JSON line: requests,
/// errors, qps, p50/p99/mean latency in milliseconds.
enum HTTPLoadBench {
    static func run(_ options: [String: String]) throws {
        guard let url = options["url"], let path = options["path"], let bodiesPath = options["bodies"] else {
            throw ClientError(
                message:
                    "usage: quiver-bench http-load --url URL --path PATH --bodies FILE.jsonl --connections 1,8,64 [--seconds 10] [--warmup 2] [--token T] [--responses OUT.jsonl]"
            )
        }
        let endpoint = try QuiverClient.endpoint(url)
        let token = options["token"]
        let text = try String(contentsOfFile: bodiesPath, encoding: .utf8)
        let bodies = text.split(separator: "\n").filter { !$0.isEmpty }.map { Data($0.utf8) }
        guard !bodies.isEmpty else { throw ClientError(message: "no bodies in \(bodiesPath)") }
        let seconds = Double(options["seconds"] ?? "10") ?? 10
        let warmup = Double(options["warmup"] ?? "2") ?? 2
        let connectionCounts = (options["connections"] ?? "1,8,64").split(separator: ",").compactMap { Int($0) }

        if let responsesPath = options["responses"] {
            let client = QuiverClient(endpoint: endpoint, token: token)
            var out = Data()
            for body in bodies {
                let response = try client.send("POST", path, body: body)
                guard (200..<300).contains(response.status) else {
                    throw ClientError(
                        status: response.status, message: "verification request failed: \(response.text.prefix(500))")
                }
                out.append(response.body.filter { $0 != 10 })
                out.append(10)
            }
            try out.write(to: URL(fileURLWithPath: responsesPath))
        }

        for connections in connectionCounts {
            let result = measure(
                endpoint: endpoint, token: token, path: path, bodies: bodies, connections: connections,
                warmup: warmup, seconds: seconds)
            let line = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            FileHandle.standardOutput.write(line + Data("\n".utf8))
        }
    }

    /// One run at a fixed number of connections: warm-up (not counted), then the measured window.
    static func measure(
        endpoint: QuiverClient.Endpoint, token: String?, path: String, bodies: [Data], connections: Int,
        warmup: Double, seconds: Double
    ) -> [String: Any] {
        let state = LoadState(connections: connections)
        let start = DispatchTime.now().uptimeNanoseconds
        let measureFrom = start + UInt64(warmup * 1e9)
        let stopAt = measureFrom + UInt64(seconds * 1e9)
        let group = DispatchGroup()
        for worker in 0..<connections {
            let thread = Thread {
                defer { group.leave() }
                let client = QuiverClient(endpoint: endpoint, token: token, timeout: 60)
                var latencies: [Double] = []
                latencies.reserveCapacity(Int(seconds * 2000))
                var errors = 0
                // Workers start at different bodies so concurrent requests differ.
                var next = (worker * 7919) % bodies.count
                while true {
                    let sent = DispatchTime.now().uptimeNanoseconds
                    if sent >= stopAt { break }
                    let ok: Bool
                    do {
                        ok = (200..<300).contains(try client.send("POST", path, body: bodies[next]).status)
                    } catch {
                        ok = false
                    }
                    let done = DispatchTime.now().uptimeNanoseconds
                    if sent >= measureFrom && done <= stopAt {
                        if ok { latencies.append(Double(done - sent) / 1e6) } else { errors += 1 }
                    }
                    next = (next + 1) % bodies.count
                }
                state.record(worker: worker, latencies: latencies, errors: errors)
            }
            thread.stackSize = 1 << 20
            group.enter()
            thread.start()
        }
        group.wait()
        var all = state.latencies.flatMap { $0 }
        all.sort()
        // JSON has no NaN (JSONSerialization traps on one): a run without a successful request
        // reports its latencies as null, and its errors say why.
        func percentile(_ p: Double) -> Any {
            all.isEmpty ? NSNull() : all[min(all.count - 1, Int((p / 100) * Double(all.count - 1) + 0.5))]
        }
        let mean: Any = all.isEmpty ? NSNull() : all.reduce(0, +) / Double(all.count)
        return [
            "connections": connections, "requests": all.count, "errors": state.errors.reduce(0, +),
            "seconds": seconds, "qps": Double(all.count) / seconds,
            "p50_ms": percentile(50), "p99_ms": percentile(99), "mean_ms": mean, "max_ms": all.last ?? NSNull(),
        ]
    }

    /// Per-worker results, written once by each worker at its end.
    final class LoadState: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var latencies: [[Double]]
        private(set) var errors: [Int]
        init(connections: Int) {
            latencies = Array(repeating: [], count: connections)
            errors = Array(repeating: 0, count: connections)
        }
        func record(worker: Int, latencies: [Double], errors: Int) {
            lock.withLock {
                self.latencies[worker] = latencies
                self.errors[worker] = errors
            }
        }
    }
}
