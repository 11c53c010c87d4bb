import CSQLite

/// The arguments of one call of a Swift-implemented SQL function.
public struct FunctionArguments {
    let context: OpaquePointer
    let argv: UnsafeMutablePointer<OpaquePointer?>
    public let count: Int

    public func isNull(_ i: Int) -> Bool { sqlite3_value_type(argv[i]) == SQLITE_NULL }
    public func isText(_ i: Int) -> Bool { sqlite3_value_type(argv[i]) == SQLITE_TEXT }
    public func isBlob(_ i: Int) -> Bool { sqlite3_value_type(argv[i]) == SQLITE_BLOB }
    public func int64(_ i: Int) -> Int64 { sqlite3_value_int64(argv[i]) }
    public func double(_ i: Int) -> Double { sqlite3_value_double(argv[i]) }

    public func text(_ i: Int) -> String {
        let pointer = sqlite3_value_text(argv[i])
        return sqliteText(pointer, count: Int(sqlite3_value_bytes(argv[i])))
    }

    /// Bytes of a blob or text argument, valid for the duration of the call.
    public func bytes(_ i: Int) -> UnsafeRawBufferPointer {
        let pointer = sqlite3_value_blob(argv[i])
        let count = Int(sqlite3_value_bytes(argv[i]))
        return UnsafeRawBufferPointer(start: count > 0 ? pointer : nil, count: count)
    }

    public func value(_ i: Int) -> SQLValue {
        switch sqlite3_value_type(argv[i]) {
        case SQLITE_INTEGER: .integer(int64(i))
        case SQLITE_FLOAT: .real(double(i))
        case SQLITE_TEXT: .text(text(i))
        case SQLITE_BLOB: .blob(Array(bytes(i)))
        default: .null
        }
    }

    /// A value derived from a constant argument, computed once per statement rather than per row
    /// (SQLite's auxiliary data), e.g. a query vector parsed from its literal.
    public func cached<T>(_ i: Int, _ compute: () throws -> T) rethrows -> T {
        if let raw = sqlite3_get_auxdata(context, Int32(i)) {
            return Unmanaged<Box<T>>.fromOpaque(raw).takeUnretainedValue().value
        }
        let value = try compute()
        let box = Unmanaged.passRetained(Box(value)).toOpaque()
        sqlite3_set_auxdata(context, Int32(i), box) { Unmanaged<AnyObject>.fromOpaque($0!).release() }
        return value
    }
}

final class Box<T> {
    let value: T
    init(_ value: T) { self.value = value }
}

/// An error raised inside a SQL function; SQLite reports its message as the statement's error.
public struct SQLFunctionError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

final class FunctionBody {
    let body: (FunctionArguments) throws -> SQLValue
    let refusal: PendingRefusal
    init(_ body: @escaping (FunctionArguments) throws -> SQLValue, refusal: PendingRefusal) {
        self.body = body
        self.refusal = refusal
    }
}

extension Connection {
    /// Registers a scalar SQL function. `deterministic` (pure, no side effects) lets SQLite use it
    /// in indexes, CHECK constraints and triggers even with `trusted_schema = OFF`, and factor it
    /// out of loops.
    public func createFunction(
        _ name: String, argumentCount: Int, deterministic: Bool = true,
        _ body: @escaping (FunctionArguments) throws -> SQLValue
    ) throws {
        let box = FunctionBody(body, refusal: pendingRefusal)
        retainedFunctions.append(box)
        var flags = SQLITE_UTF8
        if deterministic { flags |= SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS }
        let rc = sqlite3_create_function_v2(
            handle, name, Int32(argumentCount), flags, Unmanaged.passUnretained(box).toOpaque(),
            { context, argc, argv in
                guard let context else { return }
                let box = Unmanaged<FunctionBody>.fromOpaque(sqlite3_user_data(context)).takeUnretainedValue()
                let arguments = FunctionArguments(context: context, argv: argv!, count: Int(argc))
                do {
                    setResult(context, try box.body(arguments))
                } catch {
                    box.refusal.record(error)
                    withSQLiteText("\(error)") { text, count in sqlite3_result_error(context, text, Int32(count)) }
                }
            }, nil, nil, nil)
        guard rc == SQLITE_OK else { throw error(code: rc, sql: nil) }
    }
}

private func setResult(_ context: OpaquePointer, _ value: SQLValue) {
    switch value {
    case .null: sqlite3_result_null(context)
    case .integer(let v): sqlite3_result_int64(context, v)
    case .real(let v): sqlite3_result_double(context, v)
    case .text(let v):
        withSQLiteText(v) { text, count in
            sqlite3_result_text64(context, text, sqlite3_uint64(count), sqliteTransient, UInt8(SQLITE_UTF8))
        }
    case .blob(let bytes):
        bytes.withUnsafeBytes {
            sqlite3_result_blob64(
                context, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), sqlite3_uint64($0.count), sqliteTransient)
        }
    case .vector(let floats):
        floats.withUnsafeBytes {
            sqlite3_result_blob64(
                context, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), sqlite3_uint64($0.count), sqliteTransient)
        }
    }
}
