import Foundation

/// Counters and latency histograms of the server, rendered in Prometheus' text format.
final class ServerMetrics: @unchecked Sendable {
    /// Upper bounds of the latency buckets, in seconds.
    static let buckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private struct RouteKey: Hashable {
        var method: String
        var route: String
        var status: Int
    }

    private struct Histogram {
        var counts = [Int](repeating: 0, count: ServerMetrics.buckets.count)
        var sum = 0.0
        var count = 0
    }

    // Guarded by `lock`.
    private let lock = NSLock()
    private var requests: [RouteKey: Int] = [:]
    private var latency: [String: Histogram] = [:]
    private var inFlight = 0
    private var counters: [String: Int] = [:]
    let started = Date()

    func requestStarted() {
        lock.withLock { inFlight += 1 }
    }

    func requestFinished(method: String, route: String, status: Int, seconds: Double) {
        lock.withLock {
            inFlight -= 1
            requests[RouteKey(method: method, route: route, status: status), default: 0] += 1
            var histogram = latency[route] ?? Histogram()
            if let bucket = Self.buckets.firstIndex(where: { seconds <= $0 }) { histogram.counts[bucket] += 1 }
            histogram.sum += seconds
            histogram.count += 1
            latency[route] = histogram
        }
    }

    /// Adds to a named counter (rows_upserted, rows_deleted, queries …).
    func add(_ name: String, _ amount: Int = 1) {
        lock.withLock { counters[name, default: 0] += amount }
    }

    func render(queued: (readers: Int, writer: Int), readers: Int, checkpointFailing: Bool) -> String {
        lock.lock()
        defer { lock.unlock() }
        var out = ""
        out += "# HELP quiver_http_requests_total HTTP requests answered, by method, route and status.\n"
        out += "# TYPE quiver_http_requests_total counter\n"
        for (key, count) in requests.sorted(by: {
            ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status)
        }) {
            out +=
                "quiver_http_requests_total{method=\"\(key.method)\",route=\"\(escape(key.route))\",status=\"\(key.status)\"} \(count)\n"
        }
        out += "# HELP quiver_http_request_duration_seconds Time from request to response, by route.\n"
        out += "# TYPE quiver_http_request_duration_seconds histogram\n"
        for (route, histogram) in latency.sorted(by: { $0.key < $1.key }) {
            var cumulative = 0
            for (bound, count) in zip(Self.buckets, histogram.counts) {
                cumulative += count
                out +=
                    "quiver_http_request_duration_seconds_bucket{route=\"\(escape(route))\",le=\"\(bound)\"} \(cumulative)\n"
            }
            out +=
                "quiver_http_request_duration_seconds_bucket{route=\"\(escape(route))\",le=\"+Inf\"} \(histogram.count)\n"
            out += "quiver_http_request_duration_seconds_sum{route=\"\(escape(route))\"} \(histogram.sum)\n"
            out += "quiver_http_request_duration_seconds_count{route=\"\(escape(route))\"} \(histogram.count)\n"
        }
        out += "# HELP quiver_http_requests_in_flight Requests being handled now.\n"
        out += "# TYPE quiver_http_requests_in_flight gauge\n"
        out += "quiver_http_requests_in_flight \(inFlight)\n"
        out += "# HELP quiver_pool_queued_jobs Database jobs waiting for a connection.\n"
        out += "# TYPE quiver_pool_queued_jobs gauge\n"
        out += "quiver_pool_queued_jobs{pool=\"readers\"} \(queued.readers)\n"
        out += "quiver_pool_queued_jobs{pool=\"writer\"} \(queued.writer)\n"
        out += "# HELP quiver_pool_connections Connections in each pool.\n"
        out += "# TYPE quiver_pool_connections gauge\n"
        out += "quiver_pool_connections{pool=\"readers\"} \(readers)\n"
        out += "quiver_pool_connections{pool=\"writer\"} 1\n"
        for name in ["rows_upserted", "rows_deleted", "rows_read", "queries", "sql_statements"] {
            out += "# HELP quiver_\(name)_total \(Self.help[name] ?? name).\n"
            out += "# TYPE quiver_\(name)_total counter\n"
            out += "quiver_\(name)_total \(counters[name] ?? 0)\n"
        }
        out +=
            "# HELP quiver_index_checkpoint_failing 1 while the index checkpoint after the last commit failed (see the server log).\n"
        out += "# TYPE quiver_index_checkpoint_failing gauge\n"
        out += "quiver_index_checkpoint_failing \(checkpointFailing ? 1 : 0)\n"
        out += "# HELP quiver_uptime_seconds Seconds since the server started.\n"
        out += "# TYPE quiver_uptime_seconds gauge\n"
        out += "quiver_uptime_seconds \(Date().timeIntervalSince(started))\n"
        return out
    }

    private static let help = [
        "rows_upserted": "Rows inserted or updated through the rows endpoint",
        "rows_deleted": "Rows deleted through the rows endpoint",
        "rows_read": "Rows returned by the get endpoint",
        "queries": "Nearest-neighbour and hybrid queries answered",
        "sql_statements": "SQL scripts run through the sql endpoint",
    ]

    private func escape(_ label: String) -> String {
        label.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
