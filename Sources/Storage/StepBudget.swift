import CSQLite

extension Connection {
    /// Runs `body`, stopping SQLite once it has executed about `steps` virtual-machine
    /// instructions; nil when it had to stop. Lets the planner find out whether a filter is cheap
    /// by running it on a budget, instead of trusting average statistics that skewed data defeats.
    public func withStepBudget<T>(_ steps: Int, _ body: () throws -> T) throws -> T? {
        let period: Int32 = 1000
        let counter = StepCounter(steps / Int(period) + 1)
        let context = Unmanaged.passRetained(counter)
        sqlite3_progress_handler(
            handle, period,
            { raw in
                let counter = Unmanaged<StepCounter>.fromOpaque(raw!).takeUnretainedValue()
                counter.remaining -= 1
                if counter.remaining <= 0 {
                    counter.exhausted = true
                    return 1
                }
                return 0
            }, context.toOpaque())
        defer {
            sqlite3_progress_handler(handle, 0, nil, nil)
            context.release()
        }
        do {
            return try body()
        } catch let error as SQLiteError where counter.exhausted && error.isInterrupt {
            return nil
        }
    }
}

private final class StepCounter {
    var remaining: Int
    var exhausted = false
    init(_ n: Int) { remaining = n }
}
