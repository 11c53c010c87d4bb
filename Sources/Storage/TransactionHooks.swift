import CSQLite

/// Work that must wait for the fate of the current transaction: files to delete only if it
/// commits (an index that was dropped), files to delete only if it rolls back (an index that
/// was built), and state that lasts one transaction. SQLite's commit and rollback hooks record
/// the outcome; `settle` runs the work once the connection is back in autocommit mode, which
/// `Connection.transaction` and the statement runner see to (Transaction.swift).
public final class TransactionHooks {
    private final class State {
        var committed = false
        var rolledBack = false
    }
    private let state = State()
    private let handle: OpaquePointer
    private var onCommit: [() -> Void] = []
    private var onRollback: [() -> Void] = []
    private var onEveryEnd: [() -> Void] = []
    private var beforeEveryCommit: [() throws -> Void] = []

    init(handle: OpaquePointer) {
        self.handle = handle
        let raw = Unmanaged.passUnretained(state).toOpaque()
        sqlite3_commit_hook(
            handle,
            { context in
                Unmanaged<State>.fromOpaque(context!).takeUnretainedValue().committed = true
                return 0
            }, raw)
        sqlite3_rollback_hook(
            handle,
            { context in
                Unmanaged<State>.fromOpaque(context!).takeUnretainedValue().rolledBack = true
            }, raw)
    }

    public func afterCommit(_ work: @escaping () -> Void) { onCommit.append(work) }
    public func afterRollback(_ work: @escaping () -> Void) { onRollback.append(work) }
    /// Runs `work` whenever a transaction of this connection has ended, however it ended, for
    /// as long as the connection lives: it resets what lasts one transaction.
    public func afterEveryTransaction(_ work: @escaping () -> Void) { onEveryEnd.append(work) }

    /// Runs `work` before every commit through `Connection.transaction`, for as long as the
    /// connection lives: work that must be part of the transaction (full-text indexes take the
    /// rows it wrote). A throw rolls the transaction back.
    public func beforeEveryCommit(_ work: @escaping () throws -> Void) { beforeEveryCommit.append(work) }

    func runBeforeCommit() throws {
        for work in beforeEveryCommit { try work() }
    }

    /// Runs the pending work when the transaction has ended; nothing while one is open.
    func settle() {
        guard sqlite3_get_autocommit(handle) != 0 else { return }
        if !onCommit.isEmpty || !onRollback.isEmpty {
            let commit = onCommit
            let rollback = onRollback
            onCommit = []
            onRollback = []
            // Nothing committed (a failed statement in autocommit mode) counts as a rollback.
            for work in state.committed && !state.rolledBack ? commit : rollback { work() }
        }
        state.committed = false
        state.rolledBack = false
        for work in onEveryEnd { work() }
    }
}
