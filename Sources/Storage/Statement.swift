import CSQLite

/// A prepared statement. Finalized on deinit.
public final class Statement {
    let handle: OpaquePointer
    public let connection: Connection
    public let sql: String

    init(connection: Connection, sql: String) throws {
        // SQLite stops reading SQL at a NUL even when given the length, so the statement would
        // silently lose its end (a WHERE clause, say): refuse it instead.
        if let nul = sql.utf8.firstIndex(of: 0) {
            let offset = sql.utf8.distance(from: sql.utf8.startIndex, to: nul)
            throw SQLiteError(
                .syntax(
                    "the SQL text holds a NUL character at byte \(offset); pass such text as a parameter",
                    offset: offset), sql: sql)
        }
        var stmt: OpaquePointer?
        let rc = withSQLiteText(sql) { text, count in
            sqlite3_prepare_v3(connection.handle, text, Int32(count), 0, &stmt, nil)
        }
        guard rc == SQLITE_OK else {
            var error = connection.error(code: rc, sql: sql)
            if error.offset == nil, error.refusal == nil { error.offset = Self.end(ofCutShort: sql, on: connection) }
            throw error
        }
        guard let stmt else {
            throw SQLiteError(.syntax("empty statement"), sql: sql)
        }
        self.handle = stmt
        self.connection = connection
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
    }

    /// `sql`'s end when it stops in the middle of a statement: SQLite reports that ("incomplete
    /// input") without a position, but the same text with a `;` on a line after it fails right at
    /// that `;`. Only on the error path.
    private static func end(ofCutShort sql: String, on connection: Connection) -> Int? {
        var stmt: OpaquePointer?
        let rc = withSQLiteText(sql + "\n;") { text, count in
            sqlite3_prepare_v3(connection.handle, text, Int32(count), 0, &stmt, nil)
        }
        sqlite3_finalize(stmt)
        _ = connection.pendingRefusal.take() // the probe's, not a statement's
        let end = sql.utf8.count
        return rc != SQLITE_OK && sqlite3_error_offset(connection.handle) == end + 1 ? end : nil
    }

    public var columnCount: Int { Int(sqlite3_column_count(handle)) }
    public var parameterCount: Int { Int(sqlite3_bind_parameter_count(handle)) }
    public var isReadOnly: Bool { sqlite3_stmt_readonly(handle) != 0 }

    public lazy var columnNames: [String] = (0..<columnCount).map {
        String(cString: sqlite3_column_name(handle, Int32($0)))
    }

    /// The table and column a result column reads directly, when it does (SQLite's column metadata).
    public func columnOrigin(_ index: Int) -> (table: String, column: String)? {
        guard let table = sqlite3_column_table_name(handle, Int32(index)),
            let column = sqlite3_column_origin_name(handle, Int32(index))
        else { return nil }
        return (String(cString: table), String(cString: column))
    }

    public func parameterName(_ index: Int) -> String? {
        sqlite3_bind_parameter_name(handle, Int32(index)).map { String(cString: $0) }
    }

    /// Binds every parameter; a parameter without a value is an error, not a silent NULL.
    /// (Anonymous `?` slots that the text never uses are left NULL.)
    public func bind(_ bindings: SQLBindings) throws {
        for index in 1...max(1, parameterCount) where index <= parameterCount {
            let name = parameterName(index)
            guard let value = bindings.value(index: index, name: name) else {
                if name == nil { continue }
                throw SQLiteError(.parameterMismatch("no value bound for parameter \(name ?? "?\(index)")"), sql: sql)
            }
            try bind(value, at: index)
        }
    }

    public func bind(_ value: SQLValue, at index: Int) throws {
        let i = Int32(index)
        let rc: Int32
        switch value {
        case .null: rc = sqlite3_bind_null(handle, i)
        case .integer(let v): rc = sqlite3_bind_int64(handle, i, v)
        case .real(let v): rc = sqlite3_bind_double(handle, i, v)
        case .text(let v):
            rc = withSQLiteText(v) { text, count in
                sqlite3_bind_text64(handle, i, text, sqlite3_uint64(count), sqliteTransient, UInt8(SQLITE_UTF8))
            }
        case .blob(let bytes):
            rc = bytes.withUnsafeBytes {
                sqlite3_bind_blob64(
                    handle, i, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), sqlite3_uint64($0.count),
                    sqliteTransient)
            }
        case .vector(let floats):
            rc = floats.withUnsafeBytes {
                sqlite3_bind_blob64(
                    handle, i, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), sqlite3_uint64($0.count),
                    sqliteTransient)
            }
        }
        guard rc == SQLITE_OK else { throw connection.error(code: rc, sql: sql) }
    }

    /// Advances to the next row; false when the statement is done.
    @discardableResult
    public func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = connection.error(code: rc, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    public func value(at index: Int) -> SQLValue {
        let i = Int32(index)
        switch sqlite3_column_type(handle, i) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, i))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, i))
        case SQLITE_TEXT:
            // Text pointer first, then its length (SQLite's order); the length keeps NULs.
            let text = sqlite3_column_text(handle, i)
            return .text(sqliteText(text, count: Int(sqlite3_column_bytes(handle, i))))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, i))
            guard count > 0, let bytes = sqlite3_column_blob(handle, i) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default: return .null
        }
    }

    public func int64(at index: Int) -> Int64 { sqlite3_column_int64(handle, Int32(index)) }
    public func isNull(at index: Int) -> Bool { sqlite3_column_type(handle, Int32(index)) == SQLITE_NULL }

    /// The raw bytes of a blob column, valid until the next step; empty for NULL.
    public func blobBytes(at index: Int) -> UnsafeRawBufferPointer {
        let i = Int32(index)
        let count = Int(sqlite3_column_bytes(handle, i))
        guard count > 0, let bytes = sqlite3_column_blob(handle, i) else {
            return UnsafeRawBufferPointer(start: nil, count: 0)
        }
        return UnsafeRawBufferPointer(start: bytes, count: count)
    }

    public func isBlob(at index: Int) -> Bool { sqlite3_column_type(handle, Int32(index)) == SQLITE_BLOB }

    public func row() -> [SQLValue] { (0..<columnCount).map(value(at:)) }
}

/// SQLite's SQLITE_TRANSIENT ("copy the value now"), which Swift does not import.
let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// Calls `body` with the UTF-8 bytes of `text` and their count. Text goes to SQLite with its
/// length, never NUL-terminated, so a NUL inside it is kept rather than ending it; the pointer
/// is never nil (SQLite takes a nil text pointer for NULL).
func withSQLiteText<R>(_ text: String, _ body: (UnsafePointer<CChar>, Int) -> R) -> R {
    var text = text
    return text.withUTF8 { bytes in
        guard let base = bytes.baseAddress, bytes.count > 0 else { return "".withCString { body($0, 0) } }
        return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) { body($0, bytes.count) }
    }
}

/// Text SQLite hands out, read by its length (NULs included) rather than up to its first NUL.
func sqliteText(_ pointer: UnsafePointer<UInt8>?, count: Int) -> String {
    guard let pointer, count > 0 else { return "" }
    return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
}
