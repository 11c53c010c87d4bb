import Logging
import Synchronization

/// Whether the index checkpoint after the writer's last commit failed (a full disk, an I/O
/// error). The commit itself held and the index stays correct from its previous file plus the
/// change log, so the server keeps answering; but the log grows until a checkpoint succeeds,
/// and an operator must hear of it: a warning in the log when it starts failing (with the
/// error, which names the file), a notice when it recovers, `degraded` in `GET /health` and a
/// gauge in `/metrics` meanwhile. /health is open to all, so it carries no error text.
final class IndexCheckpointHealth: Sendable {
    private let failure = Mutex<String?>(nil)
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    var isFailing: Bool { failure.withLock { $0 != nil } }

    /// Called after every write job with the writer's `checkpointError`.
    func record(_ error: (any Error)?) {
        let message = error.map { "\($0)" }
        let previous = failure.withLock { current in
            defer { current = message }
            return current
        }
        guard message != previous else { return }
        if let message {
            logger.warning(
                "index checkpoint failed (the commit held; the change log keeps the index correct and the next commit retries): \(message)"
            )
        } else {
            logger.notice("index checkpoints succeed again")
        }
    }
}
