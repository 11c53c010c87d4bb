import Foundation

/// A request to stop long work, raised from another thread (Ctrl-C, `Database.interrupt`) and
/// checked by the work between steps: DEDUPE between blocks, a remote statement while waiting.
public final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = false

    public init() {}

    public func raise() {
        lock.lock()
        raised = true
        lock.unlock()
    }

    public func clear() {
        lock.lock()
        raised = false
        lock.unlock()
    }

    public var isRaised: Bool {
        lock.lock()
        defer { lock.unlock() }
        return raised
    }
}
