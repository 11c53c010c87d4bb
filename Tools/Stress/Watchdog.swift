import Foundation

/// Turns a deadlock into a report: every request and every step of the run is announced in the
/// ledger with its start time, and anything still under way after `limit` seconds stops the run
/// with what each thread was doing. (Requests also time out on their own, in the client.)
final class Watchdog: @unchecked Sendable {
    private let ledger: Ledger
    private let limit: TimeInterval
    private let onStall: @Sendable (String) -> Never
    private let stopped = NSLock()
    private var isStopped = false

    init(ledger: Ledger, limit: TimeInterval, onStall: @escaping @Sendable (String) -> Never) {
        self.ledger = ledger
        self.limit = limit
        self.onStall = onStall
    }

    func start() {
        let thread = Thread { [self] in
            while !stopped.withLock({ isStopped }) {
                Thread.sleep(forTimeInterval: 0.5)
                let now = Date()
                let activities = ledger.activities
                guard let stuck = activities.first(where: { now.timeIntervalSince($0.value.since) > limit }) else {
                    continue
                }
                let report = activities.sorted { $0.key < $1.key }
                    .map { "  \($0.key): \($0.value.what), for \(Int(now.timeIntervalSince($0.value.since))) s" }
                    .joined(separator: "\n")
                onStall(
                    "\(stuck.key) made no progress for \(Int(limit)) s (a deadlock or a hung server); what each thread was doing:\n\(report)"
                )
            }
        }
        thread.name = "watchdog"
        thread.start()
    }

    func stop() { stopped.withLock { isStopped = true } }
}
