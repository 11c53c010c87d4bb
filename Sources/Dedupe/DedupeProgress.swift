/// How far a long deduplication has got, for a progress line on a terminal.
public struct DedupeProgress: Sendable, Equatable {
    /// What is running: "reading rows", "clustering", "comparing blocks", "verifying pairs" …
    public var phase: String
    /// Units done of `total` in this phase (blocks, rows, pairs); `total` is 0 when unknown.
    public var done: Int
    public var total: Int

    public init(phase: String, done: Int, total: Int) {
        self.phase = phase
        self.done = done
        self.total = total
    }

    /// Share done, 0…1 (0 when the total is unknown).
    public var fraction: Double { total > 0 ? min(1, Double(done) / Double(total)) : 0 }
}

/// Thrown when a deduplication is interrupted (`Database.interrupt()`); nothing is changed.
public struct DedupeInterrupted: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "interrupted" }
}

/// Hands progress to an observer and checks for interruption between units of work.
public struct ProgressReporter {
    let handler: ((DedupeProgress) -> Void)?
    let isInterrupted: () -> Bool

    public init(handler: ((DedupeProgress) -> Void)?, isInterrupted: @escaping () -> Bool = { false }) {
        self.handler = handler
        self.isInterrupted = isInterrupted
    }

    public static var silent: ProgressReporter { ProgressReporter(handler: nil) }

    /// Reports `done` of `total` in `phase`; throws `DedupeInterrupted` when asked to stop.
    public func report(_ phase: String, _ done: Int, of total: Int) throws {
        if isInterrupted() { throw DedupeInterrupted() }
        handler?(DedupeProgress(phase: phase, done: done, total: total))
    }
}
