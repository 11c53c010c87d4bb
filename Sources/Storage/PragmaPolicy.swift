/// Every PRAGMA of the linked SQLite, classified once for SQL from callers (the server's users).
///
/// A server's connections are pooled: a setting one request changes would stay for every later
/// request on that connection, and some (the heap limits) hold for the whole process. So a
/// caller may read settings but set only what is stored in the database as its users' own data
/// or ends with the request's transaction. A name not listed here is refused, and a test reads
/// `pragma_pragma_list` of the linked SQLite, so a newer SQLite that adds a PRAGMA fails until
/// someone classifies it. Quiver's own work is not restricted (`SQLAccess.unrestricted`).
public enum PragmaPolicy {
    public enum Rule: Sendable, Equatable {
        /// Its value may be read (`PRAGMA name`, no argument); setting it is refused, for this reason.
        case readable(whyNotSet: String)
        /// Its argument names what to describe or check (a table, an index, a row limit): it changes nothing.
        case describes
        /// With write access it may be set: stored in the database as its users' data
        /// (`user_version`), or it ends with the request's transaction (`defer_foreign_keys`).
        case writerMaySet
        /// With write access it may run: maintenance of the file that changes no row or setting.
        case writerMayRun
    }

    /// The rule for callers' SQL; nil for a PRAGMA nobody classified (refused).
    public static func rule(for name: String) -> Rule? { rules[name.lowercased()] }

    private static let guardsTheFile = "it guards durability or the integrity of the database file"
    private static let wholeProcess = "it is a setting of the whole server process"
    private static let connectionSetting =
        "it is a setting of the server's pooled connection and would outlive the request"
    private static let fileLayout = "it changes how the database file is laid out or limited"

    static let rules: [String: Rule] = {
        var rules: [String: Rule] = [:]
        for name in [
            "synchronous", "journal_mode", "locking_mode", "fullfsync", "checkpoint_fullfsync", "writable_schema",
            "ignore_check_constraints", "trusted_schema", "cell_size_check", "query_only", "foreign_keys",
            "recursive_triggers", "secure_delete", "schema_version", "read_uncommitted", "legacy_alter_table",
            "wal_autocheckpoint", "journal_size_limit", "mmap_size",
        ] {
            rules[name] = .readable(whyNotSet: guardsTheFile)
        }
        for name in ["hard_heap_limit", "soft_heap_limit", "temp_store_directory", "data_store_directory"] {
            rules[name] = .readable(whyNotSet: wholeProcess)
        }
        for name in [
            "busy_timeout", "cache_size", "cache_spill", "case_sensitive_like", "reverse_unordered_selects",
            "automatic_index", "analysis_limit", "threads", "temp_store", "count_changes",
            "empty_result_callbacks", "full_column_names", "short_column_names",
        ] {
            rules[name] = .readable(whyNotSet: connectionSetting)
        }
        for name in ["page_size", "auto_vacuum", "default_cache_size", "max_page_count", "encoding"] {
            rules[name] = .readable(whyNotSet: fileLayout)
        }
        for name in [
            "data_version", "freelist_count", "page_count", "collation_list", "compile_options", "database_list",
            "function_list", "module_list", "pragma_list", "shrink_memory",
        ] {
            rules[name] = .readable(whyNotSet: "it takes no value")
        }
        for name in [
            "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
            "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check",
        ] {
            rules[name] = .describes
        }
        for name in ["user_version", "application_id", "defer_foreign_keys"] { rules[name] = .writerMaySet }
        for name in ["optimize", "wal_checkpoint", "incremental_vacuum"] { rules[name] = .writerMayRun }
        return rules
    }()
}
