import CSQLite

/// What SQL written by a remote user may do on a connection, enforced by SQLite's authorizer
/// (`sqlite3_set_authorizer`) when each statement is prepared, so it holds for every statement
/// whatever its shape: triggers, subqueries, CTEs and views included.
public enum SQLAccess: Sendable, Equatable {
    /// Quiver's own work: no checks.
    case unrestricted
    /// Everything but what escapes the database or weakens it: ATTACH/DETACH (other files),
    /// `load_extension`, and PRAGMAs that change durability or integrity checks.
    case readWrite
    /// As `readWrite`, and no changes at all: reads, informational PRAGMAs, transactions.
    case readOnly

    /// PRAGMAs that must not be set through user SQL: they weaken durability (a crash could lose
    /// acknowledged writes) or let a writer corrupt the schema or skip checks.
    static let protectedPragmas: Set<String> = [
        "synchronous", "journal_mode", "locking_mode", "fullfsync", "checkpoint_fullfsync", "writable_schema",
        "ignore_check_constraints", "trusted_schema", "cell_size_check", "temp_store_directory",
        "data_store_directory", "query_only", "foreign_keys", "defer_foreign_keys", "recursive_triggers",
        "mmap_size", "secure_delete",
    ]

    /// PRAGMAs a read-only user may run: they only describe the database.
    static let informationalPragmas: Set<String> = [
        "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
        "foreign_key_list", "collation_list", "function_list", "module_list", "pragma_list", "compile_options",
        "database_list", "schema_version", "user_version", "data_version", "application_id", "page_size",
        "page_count", "freelist_count", "encoding", "integrity_check", "quick_check", "foreign_key_check",
    ]

    /// The verdict for one authorizer call; nil when allowed, else why not.
    func denial(action: Int32, first: String?, second: String?) -> String? {
        switch self {
        case .unrestricted:
            return nil
        case .readWrite, .readOnly:
            switch action {
            case SQLITE_ATTACH, SQLITE_DETACH:
                return "ATTACH and DETACH are not allowed here"
            case SQLITE_FUNCTION where second?.lowercased() == "load_extension":
                return "load_extension is not allowed"
            case SQLITE_PRAGMA:
                let name = (first ?? "").lowercased()
                if self == .readOnly {
                    if Self.informationalPragmas.contains(name) && (second == nil || Self.takesTableArgument(name)) { return nil }
                    return "PRAGMA \(name) is not allowed with read-only access"
                }
                if second != nil && Self.protectedPragmas.contains(name) {
                    return "PRAGMA \(name) cannot be changed here (it guards durability or integrity)"
                }
                return nil
            default:
                break
            }
            guard self == .readOnly else { return nil }
            switch action {
            case SQLITE_SELECT, SQLITE_READ, SQLITE_FUNCTION, SQLITE_RECURSIVE, SQLITE_TRANSACTION, SQLITE_SAVEPOINT:
                return nil
            case SQLITE_UPDATE where ["sqlite_master", "sqlite_schema"].contains(first?.lowercased() ?? ""):
                // SQLite asks this while connecting a table-valued function (json_each); user SQL
                // can never update the schema table itself without writable_schema, which is refused.
                return nil
            case SQLITE_INSERT, SQLITE_UPDATE, SQLITE_DELETE:
                return "read-only access cannot change rows\(first.map { " of \($0)" } ?? "")"
            default:
                return "read-only access cannot change the database (schema or settings)"
            }
        }
    }

    private static func takesTableArgument(_ name: String) -> Bool {
        ["table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list",
         "integrity_check", "quick_check", "foreign_key_check", "table_list"].contains(name)
    }
}

/// The state SQLite's authorizer callback reads: the access in force and the last refusal.
final class AccessState {
    var access: SQLAccess = .unrestricted
    var lastDenial: String?
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
        }
    }

    /// Why the authorizer refused the last statement it refused, if it did since `access` was set.
    public var lastAccessDenial: String? { accessState?.lastDenial }

    /// Installed once per connection: installing an authorizer expires every prepared
    /// statement, so flipping `access` per request only changes the state it reads.
    private func installAuthorizer() {
        let state = AccessState()
        accessState = state
        sqlite3_set_authorizer(handle, { context, action, first, second, _, _ in
            let state = Unmanaged<AccessState>.fromOpaque(context!).takeUnretainedValue()
            guard state.access != .unrestricted else { return SQLITE_OK }
            let verdict = state.access.denial(action: action, first: first.map { String(cString: $0) },
                                              second: second.map { String(cString: $0) })
            guard let verdict else { return SQLITE_OK }
            state.lastDenial = verdict
            return SQLITE_DENY
        }, Unmanaged.passUnretained(state).toOpaque())
    }
}
