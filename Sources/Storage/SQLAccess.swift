import CSQLite

/// What SQL written by a remote user may do on a connection, enforced by SQLite's authorizer
/// (`sqlite3_set_authorizer`) when each statement is prepared, so it holds for every statement
/// whatever its shape: triggers, subqueries, CTEs and views included.
public enum SQLAccess: Sendable, Equatable {
    /// Quiver's own work: no checks.
    case unrestricted
    /// Everything but what escapes the database, weakens it or outlives the request on a
    /// pooled connection: ATTACH/DETACH (other files), functions that pass pointers or load
    /// code (`SQLFunctionPolicy`), setting PRAGMAs (`PragmaPolicy`), TEMP objects, and
    /// BEGIN/COMMIT/ROLLBACK (the caller's script is one transaction; savepoints nest in it).
    case readWrite
    /// As `readWrite`, and no changes at all: reads, informational PRAGMAs.
    case readOnly

    /// Virtual table modules a writer may create tables with: they keep their data in the
    /// database. The others read connection internals (`sqlite_stmt`: the SQL of statements
    /// prepared on a pooled connection) or exist only as table-valued functions.
    static let creatableModules: Set<String> = [
        "fts3", "fts4", "fts5", "rtree", "rtree_i32", "fts3tokenize", "fts4aux",
        "fts5vocab",
    ]
    /// Eponymous virtual tables callers may not read, with the reason.
    static let unreadableTables: [String: String] = [
        "sqlite_stmt": "it shows the SQL of statements prepared on the server's pooled connection"
    ]

    /// The verdict for one authorizer call; nil when allowed, else why not. `database` is the
    /// schema the action applies to (`main`, `temp`).
    func denial(action: Int32, first: String?, second: String?, database: String? = nil) -> String? {
        guard self != .unrestricted else { return nil }
        switch action {
        case SQLITE_ATTACH where first?.isEmpty == true:
            return "VACUUM (or ATTACH of a temporary database) is not allowed here"
        case SQLITE_ATTACH, SQLITE_DETACH:
            return "ATTACH and DETACH are not allowed here"
        case SQLITE_FUNCTION:
            let name = (second ?? "").lowercased()
            switch SQLFunctionPolicy.verdict(for: name) {
            case .allowed: break
            case .denied(let reason): return "\(name) is not allowed: \(reason)"
            case nil: return "function \(name) is not allowed here (not on the list of functions Quiver has classified)"
            }
        case SQLITE_PRAGMA:
            return pragmaDenial((first ?? "").lowercased(), argument: second)
        case SQLITE_TRANSACTION:
            return "\(first ?? "BEGIN") is not allowed here: the script already runs as one transaction, all or nothing"
        case SQLITE_CREATE_TEMP_INDEX, SQLITE_CREATE_TEMP_TABLE, SQLITE_CREATE_TEMP_TRIGGER, SQLITE_CREATE_TEMP_VIEW:
            return Self.temporaryObjects
        case SQLITE_CREATE_VTABLE where !Self.creatableModules.contains((second ?? "").lowercased()):
            return "virtual tables USING \(second ?? "?") are not allowed here"
        case SQLITE_READ where Self.unreadableTables[(first ?? "").lowercased()] != nil:
            return "\(first!) is not readable here: \(Self.unreadableTables[first!.lowercased()]!)"
        default:
            break
        }
        // Anything that creates, changes or drops something in the temp schema (`temp.t`,
        // triggers and indexes put there) would outlive the request on a pooled connection.
        if database?.lowercased() == "temp", ![SQLITE_READ, SQLITE_SELECT, SQLITE_FUNCTION].contains(action) {
            return Self.temporaryObjects
        }
        guard self == .readOnly else { return nil }
        switch action {
        case SQLITE_SELECT, SQLITE_READ, SQLITE_FUNCTION, SQLITE_RECURSIVE, SQLITE_SAVEPOINT, SQLITE_PRAGMA:
            return nil
        case SQLITE_UPDATE where ["sqlite_master", "sqlite_schema"].contains(first?.lowercased() ?? ""):
            // SQLite asks this while connecting a table-valued function (json_each); user SQL
            // can never update the schema table itself (defensive mode, writable_schema refused).
            return nil
        case SQLITE_INSERT, SQLITE_UPDATE, SQLITE_DELETE:
            return "read-only access cannot change rows\(first.map { " of \($0)" } ?? "")"
        default:
            return "read-only access cannot change the database (schema or settings)"
        }
    }

    static let temporaryObjects =
        "TEMP tables, views, triggers and indexes are not allowed here: they would outlive the request on the server's pooled connection"

    private func pragmaDenial(_ name: String, argument: String?) -> String? {
        switch PragmaPolicy.rule(for: name) {
        case nil:
            return "PRAGMA \(name) is not allowed here (not on the list of PRAGMAs Quiver has classified)"
        case .readable(let why):
            return argument == nil ? nil : "PRAGMA \(name) cannot be set here: \(why)"
        case .describes:
            return nil
        case .writerMaySet:
            return argument != nil && self == .readOnly ? "PRAGMA \(name) cannot be set with read-only access" : nil
        case .writerMayRun:
            return self == .readOnly ? "PRAGMA \(name) is not allowed with read-only access" : nil
        }
    }
}

/// The state SQLite's authorizer callback reads: the access in force and the last refusal.
final class AccessState {
    var access: SQLAccess = .unrestricted
    var lastDenial: String?
    /// Where a denial waits for the statement's error.
    let refusal: PendingRefusal
    init(refusal: PendingRefusal) { self.refusal = refusal }
    /// SQLite's length limit while restricted SQL runs (nil: unchanged), and the connection's own.
    var restrictedValueLimit: Int32?
    var ownValueLimit: Int32 = 0
}

extension Connection {
    /// What user SQL on this connection may do from now on. Statements already prepared keep
    /// the verdict they got when they were prepared; SQLite re-prepares after schema changes.
    public var access: SQLAccess {
        get { accessState?.access ?? .unrestricted }
        set {
            if accessState == nil {
                guard newValue != .unrestricted else { return }
                installAuthorizer()
            }
            accessState?.access = newValue
            // Kept when access returns to unrestricted, so the caller can still say what was refused.
            if newValue != .unrestricted { accessState?.lastDenial = nil }
            if let state = accessState, let limit = state.restrictedValueLimit {
                sqlite3_limit(handle, SQLITE_LIMIT_LENGTH, newValue == .unrestricted ? state.ownValueLimit : limit)
            }
        }
    }

    /// The longest string or blob, in bytes, that restricted SQL may make or read (SQLite's
    /// SQLITE_LIMIT_LENGTH while it runs): past it SQLite stops with SQLITE_TOOBIG before the
    /// value is built. nil: SQLite's own limit.
    public var restrictedValueLimit: Int? {
        get { accessState?.restrictedValueLimit.map(Int.init) }
        set {
            if accessState == nil { installAuthorizer() }
            accessState?.restrictedValueLimit = newValue.map { Int32(clamping: $0) }
        }
    }

    /// Why the authorizer refused the last statement it refused, if it did since `access` was set.
    public var lastAccessDenial: String? { accessState?.lastDenial }

    /// Refuses what the authorizer cannot see, such as the shape of a whole script, as the
    /// authorizer refuses: recorded as the last denial and returned as an SQLITE_AUTH error.
    public func accessDenied(_ reason: String) -> SQLiteError {
        if accessState == nil { installAuthorizer() }
        accessState?.lastDenial = reason
        var error = SQLiteError(.accessDenied(reason))
        error.code = .SQLITE_AUTH
        return error
    }

    /// Installed once per connection: installing an authorizer expires every prepared
    /// statement, so flipping `access` per request only changes the state it reads.
    private func installAuthorizer() {
        let state = AccessState(refusal: pendingRefusal)
        state.ownValueLimit = sqlite3_limit(handle, SQLITE_LIMIT_LENGTH, -1)
        accessState = state
        sqlite3_set_authorizer(
            handle,
            { context, action, first, second, database, _ in
                let state = Unmanaged<AccessState>.fromOpaque(context!).takeUnretainedValue()
                guard state.access != .unrestricted else { return SQLITE_OK }
                let verdict = state.access.denial(
                    action: action, first: first.map { String(cString: $0) },
                    second: second.map { String(cString: $0) },
                    database: database.map { String(cString: $0) })
                guard let verdict else { return SQLITE_OK }
                state.lastDenial = verdict
                // SQLite words some denials itself ("not authorized to use function"), with no
                // code of their own: the statement's error takes the refusal instead.
                state.refusal.record(QuiverError.accessDenied(verdict))
                return SQLITE_DENY
            }, Unmanaged.passUnretained(state).toOpaque())
    }
}
