import CSQLite

/// Every SQL function a Quiver connection knows, each classified once: SQL from a caller may
/// reach none that takes or returns a pointer, reads or writes files, loads code or writes
/// outside the database. A name not listed here is refused to callers, and a test reads
/// `pragma_function_list` of the linked SQLite, so a newer SQLite that adds a function fails
/// until someone classifies it.
public enum SQLFunctionPolicy {
    public enum Verdict: Sendable, Equatable {
        case allowed
        case denied(String)
    }

    /// The verdict for callers' SQL; nil for a function nobody classified (refused too).
    public static func verdict(for name: String) -> Verdict? {
        let name = name.lowercased()
        if let reason = denied[name] { return .denied(reason) }
        return allowed.contains(name) ? .allowed : nil
    }

    /// Refused to callers, with the reason.
    static let denied: [String: String] = [
        "fts3_tokenizer": "it hands out and takes raw memory addresses of tokenizer modules",
        "fts5": "it exchanges a raw pointer to the FTS5 extension interface",
        "load_extension": "it loads native code",
        "sqlite_log": "it writes to the process's SQLite error log",
        "total_changes": "it counts the changes of every request on the server's pooled connection",
    ]

    /// Pure computations on their arguments, the database or the connection's counters.
    static let allowed: Set<String> = [
        // Core scalar and aggregate functions.
        "abs", "changes", "char", "coalesce", "format", "glob", "hex", "ifnull", "iif", "instr", "last_insert_rowid",
        "length", "like", "likelihood", "likely", "lower", "ltrim", "max", "min", "nullif", "printf", "quote",
        "random", "randomblob", "replace", "round", "rtrim", "sign", "soundex", "sqlite_compileoption_get",
        "sqlite_compileoption_used", "sqlite_source_id", "sqlite_version", "substr", "substring", "subtype", "trim",
        "typeof", "unicode", "unlikely", "upper", "zeroblob",
        "avg", "count", "group_concat", "sum", "total",
        // Dates and times.
        "current_date", "current_time", "current_timestamp", "date", "datetime", "julianday", "strftime", "time",
        "unixepoch",
        // Mathematics (SQLITE_ENABLE_MATH_FUNCTIONS).
        "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "ceiling", "cos", "cosh", "degrees", "exp",
        "floor", "ln", "log", "log10", "log2", "mod", "pi", "pow", "power", "radians", "sin", "sinh", "sqrt", "tan",
        "tanh", "trunc",
        // Window functions.
        "cume_dist", "dense_rank", "first_value", "lag", "last_value", "lead", "nth_value", "ntile", "percent_rank",
        "rank", "row_number",
        // JSON.
        "->", "->>", "json", "json_array", "json_array_length", "json_extract", "json_group_array", "json_group_object",
        "json_insert", "json_object", "json_patch", "json_quote", "json_remove", "json_replace", "json_set",
        "json_type", "json_valid",
        // Full-text search (FTS3/4/5) auxiliary functions and R*Tree diagnostics: read their own tables.
        "bm25", "fts5_source_id", "highlight", "match", "matchinfo", "offsets", "optimize", "snippet",
        "rtreecheck", "rtreedepth", "rtreenode",
        // SQLite's own, used by ALTER TABLE on the schema; not callable directly.
        "sqlite_drop_column", "sqlite_rename_column", "sqlite_rename_quotefix", "sqlite_rename_table",
        "sqlite_rename_test",
        // Quiver's (VectorFunctions, CompressionFunctions, FullTextQueryFunction): values in, values out;
        // FullTextScoreFunction reads a full-text index, under the caller's access.
        "cosine_distance", "l2_distance", "negative_inner_product", "inner_product", "vector", "vector_dims",
        "vector_norm", "vector_to_json", "quiver_vector_ok", "quiver_vector_store", "quiver_compress",
        "compressed_size", "quiver_text", "quiver_fts_query", "quiver_fts_score",
    ]

    /// Makes the denied functions unreachable on `connection` whatever its access, embedded use
    /// included: FTS3's two-argument `fts3_tokenizer` is switched off in SQLite, and the name is
    /// replaced by a function that only refuses (the one-argument form still returns an address).
    /// SQLite's defensive mode goes on too: no SQL can then corrupt the file on purpose
    /// (`writable_schema`, `schema_version = N`, `journal_mode = OFF`, writes to shadow tables).
    static func disarm(_ connection: Connection) throws {
        for option in [SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, SQLITE_DBCONFIG_DEFENSIVE] {
            var now: Int32 = -1
            let value: Int32 = option == SQLITE_DBCONFIG_DEFENSIVE ? 1 : 0
            let rc = quiver_sqlite3_db_config_int(connection.handle, option, value, &now)
            guard rc == SQLITE_OK, now == value else { throw connection.error(code: rc, sql: nil) }
        }
        for arguments in [1, 2] {
            try connection.createFunction("fts3_tokenizer", argumentCount: arguments, deterministic: false) { _ in
                throw SQLFunctionError("fts3_tokenizer is not available: \(denied["fts3_tokenizer"]!)")
            }
        }
    }
}
