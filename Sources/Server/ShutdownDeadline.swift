import Dispatch
import Foundation

/// On SIGTERM or SIGINT, waits `grace` seconds and then runs `expire` once: the graceful
/// shutdown (swift-service-lifecycle's, which watches the same signals) waits for requests in
/// flight, and this bounds that wait.
final class ShutdownDeadline {
    private let sources: [any DispatchSourceSignal]

    init(grace: Double, expire: @escaping @Sendable () -> Void) {
        let queue = DispatchQueue(label: "quiver-shutdown-deadline")
        let fired = Fired()
        sources = [SIGTERM, SIGINT].map { signal in
            let source = DispatchSource.makeSignalSource(signal: signal, queue: queue)
            source.setEventHandler {
                guard fired.first() else { return }
                queue.asyncAfter(deadline: .now() + grace, execute: expire)
            }
            source.resume()
            return source
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
    }

    private final class Fired: @unchecked Sendable {
        private var done = false
        private let lock = NSLock()
        func first() -> Bool {
            lock.withLock {
                defer { done = true }
                return !done
            }
        }
    }
}
