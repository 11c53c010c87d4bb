/// How a transaction takes SQLite's locks. In WAL mode readers never wait; writers take turns.
public enum TransactionKind: Sendable {
    /// `BEGIN`: reads from one snapshot; the write lock is taken at the first write, which fails
    /// (busy) if another connection committed since the snapshot. For transactions that only read.
    case deferred
    /// `BEGIN IMMEDIATE`: the write lock now, waiting up to the busy timeout for another writer,
    /// so that no write inside can fail for one.
    case immediate
}

/// Every transaction and savepoint Quiver opens goes through these (GRDB's `inTransaction` and
/// `inSavepoint` are the model), so that each one ends the same way: committed when its body
/// returns, rolled back when it throws, and the work waiting for its outcome run right after
/// (`TransactionHooks`: files to remove, the executor's per-transaction state).
///
/// Transactions do not nest: `transaction` while one is open fails as SQLite's BEGIN does
/// ("cannot start a transaction within a transaction") and leaves the open one alone. Work that
/// must succeed or fail as a part of an open transaction takes a `savepoint`.
extension Connection {
    /// Runs `body` in a new transaction: commits when it returns (after the work that must join
    /// the transaction, `TransactionHooks.beforeEveryCommit`), rolls back when it (or the
    /// COMMIT) throws. An interrupt or a full disk may have rolled the transaction back inside
    /// SQLite already; the rollback here is then skipped, and the error still thrown.
    public func transaction<T>(_ kind: TransactionKind = .deferred, _ body: () throws -> T) throws -> T {
        try execute(kind == .immediate ? "BEGIN IMMEDIATE" : "BEGIN")
        let result: T
        do {
            result = try body()
            if isInTransaction {
                try transactionHooks.runBeforeCommit()
                try execute("COMMIT")
            }
        } catch {
            if isInTransaction { try? execute("ROLLBACK") }
            transactionHooks.settle()
            throw error
        }
        transactionHooks.settle()
        return result
    }

    /// Runs `body` in a savepoint of the open transaction: released when it returns; when it
    /// throws, its changes are rolled back and the transaction goes on with what came before.
    /// Outside a transaction it is one (`transaction(.deferred)`), as SQLite's SAVEPOINT is.
    public func savepoint<T>(_ name: String, _ body: () throws -> T) throws -> T {
        guard isInTransaction else { return try transaction(.deferred, body) }
        let quoted = quoteIdentifier(name)
        try execute("SAVEPOINT \(quoted)")
        do {
            let result = try body()
            try execute("RELEASE \(quoted)")
            return result
        } catch {
            // Fails only when SQLite rolled the whole transaction back already.
            try? execute("ROLLBACK TO \(quoted)")
            try? execute("RELEASE \(quoted)")
            throw error
        }
    }

    /// Rolls back a transaction that a caller's script opened and left open (BEGIN without
    /// COMMIT); false when none was open.
    @discardableResult
    public func rollBackOpenTransaction() -> Bool {
        guard isInTransaction else { return false }
        try? execute("ROLLBACK")
        transactionHooks.settle()
        return true
    }

    /// Runs the work waiting for the outcome of a transaction that a caller's own statement
    /// ended (COMMIT or ROLLBACK in a script); nothing while a transaction is open. The statement
    /// runner calls it after each statement: those transactions do not go through `transaction`.
    public func settleEndedTransaction() {
        transactionHooks.settle()
    }
}
