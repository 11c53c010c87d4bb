/// Hands progress to an observer and checks for interruption between units of work, so that
/// long loops below the engine (deduplication's searches) report and stop without knowing who
/// watches.
public struct ProgressReporter {
    /// The work was asked to stop (`Database.interrupt()`) and changed nothing.
    public struct Interrupted: Error, CustomStringConvertible {
        public init() {}
        public var description: String { "interrupted" }
    }

    /// Named before each stage: "DEDUPE" makes "DEDUPE reading rows".
    let activity: String
    let handler: ((Progress) -> Void)?
    let isInterrupted: () -> Bool

    public init(_ activity: String, handler: ((Progress) -> Void)?, isInterrupted: @escaping () -> Bool = { false }) {
        self.activity = activity
        self.handler = handler
        self.isInterrupted = isInterrupted
    }

    public static var silent: ProgressReporter { ProgressReporter("", handler: nil) }

    /// Reports `done` of `total` in `stage`; throws `Interrupted` when asked to stop.
    public func report(_ stage: String, _ done: Int, of total: Int, _ unit: Progress.Unit) throws {
        if isInterrupted() { throw Interrupted() }
        guard let handler else { return }
        handler(Progress(activity.isEmpty ? stage : "\(activity) \(stage)", done: done, total: total, unit: unit))
    }
}
