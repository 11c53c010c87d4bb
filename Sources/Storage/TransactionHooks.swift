import CSQLite

/// Work that must wait for the fate of the current transaction: files to delete only if it
/// commits (an index that was dropped), files to delete only if it rolls back (an index that
/// was built). SQLite's commit and rollback hooks record the outcome; `settle` runs the work
/// once the connection is back in autocommit mode.
public final class TransactionHooks {
    private final class State {
        var committed = false
        var rolledBack = false
    }
    private let state = State()
    private var onCommit: [() -> Void] = []
    private var onRollback: [() -> Void] = []

    init(connection: Connection) {
        let raw = Unmanaged.passUnretained(state).toOpaque()
        sqlite3_commit_hook(connection.handle, { context in
            Unmanaged<State>.fromOpaque(context!).takeUnretainedValue().committed = true
            return 0
        }, raw)
        sqlite3_rollback_hook(connection.handle, { context in
            Unmanaged<State>.fromOpaque(context!).takeUnretainedValue().rolledBack = true
        }, raw)
    }

    public func afterCommit(_ work: @escaping () -> Void) { onCommit.append(work) }
    public func afterRollback(_ work: @escaping () -> Void) { onRollback.append(work) }

    /// Runs the pending work when the transaction has ended; call between statements.
    public func settle(_ connection: Connection) {
        guard !connection.isInTransaction else { return }
        let commit = onCommit, rollback = onRollback
        onCommit = []
        onRollback = []
        // Nothing committed (a failed statement in autocommit mode) counts as a rollback.
        if state.committed && !state.rolledBack { commit.forEach { $0() } } else { rollback.forEach { $0() } }
        state.committed = false
        state.rolledBack = false
    }
}

extension Connection {
    /// Hooks are per connection; the connection keeps them alive.
    public var transactionHooks: TransactionHooks {
        if let hooks = retainedFunctions.lazy.compactMap({ $0 as? TransactionHooks }).first { return hooks }
        let hooks = TransactionHooks(connection: self)
        retainedFunctions.append(hooks)
        return hooks
    }
}
