/// Quiver's own refusals of a statement or request: the cases callers decide on (the server's
/// HTTP status in `APIError`, where the shell puts its caret), with the message users see as
/// `description`. SQLite's failures are `SQLiteError`s; when a statement fails because of one of
/// these (thrown by Quiver's code or raised inside its SQL functions), the statement's
/// `SQLiteError` carries it as `refusal`.
public enum QuiverError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A table the statement names does not exist; `statement` ("DEDUPE") says whose name it was.
    case noSuchTable(String, statement: String? = nil)
    /// A column the statement names does not exist in `table`.
    case noSuchColumn(table: String, column: String, statement: String? = nil)
    /// A table or column the statement cannot work with as it is: not a VECTOR column, no rowid
    /// SQL can name, a key of the wrong type, a mark column that is the key …
    case unsuitableSchema(String)
    /// An index of that name exists already.
    case indexExists(String)
    /// An index could not be built, checkpointed or used; the message names it.
    case indexFailure(String)
    /// A vector value written or compared that is not a vector: not a literal or float32 blob,
    /// a non-finite or vanishing element.
    case invalidVector(String)
    /// A vector of the wrong length for its column or for the vector it is compared with.
    case dimensionMismatch(String, expected: Int, got: Int)
    /// A nearest-neighbour query vector that cannot rank the rows (wrong length; all zeros
    /// under cosine, where no distance is defined).
    case unrankableQueryVector(String)
    /// A stored value that is damaged or not in the form its column promises.
    case invalidStoredValue(String)
    /// Refused by the access the SQL runs with (a read-only caller's write, a function or PRAGMA
    /// callers may not use, a transaction they may not control); the message says what and why.
    case accessDenied(String)
    /// Past one of Quiver's bounds (parameters per statement …).
    case limitExceeded(String)
    /// A use of an API or statement that Quiver does not support (several statements where one
    /// runs, rows from executeMany …).
    case unsupported(String)
    /// Parameters and values that do not match: a value missing, or given and never used.
    case parameterMismatch(String)
    /// SQL text Quiver cannot run as written (its own statements' syntax, a NUL in the text);
    /// `offset` is the byte in the statement's script where the problem lies, when known.
    case syntax(String, offset: Int? = nil)

    public var description: String {
        switch self {
        case .noSuchTable(let table, let statement):
            return (statement.map { "\($0): " } ?? "") + "no such table: \(table)"
        case .noSuchColumn(let table, let column, let statement):
            return (statement.map { "\($0): " } ?? "") + "no such column: \(table).\(column)"
        case .indexExists(let name):
            return "index \(name) already exists"
        case .accessDenied(let message), .unsuitableSchema(let message), .indexFailure(let message),
            .invalidVector(let message),
            .dimensionMismatch(let message, _, _), .unrankableQueryVector(let message),
            .invalidStoredValue(let message),
            .limitExceeded(let message), .unsupported(let message), .parameterMismatch(let message),
            .syntax(let message, _):
            return message
        }
    }

    /// Where in the statement's script the problem lies, when the refusal knows.
    public var offset: Int? {
        if case .syntax(_, let offset) = self { return offset }
        return nil
    }

    /// Whether the refusal is about a vector value, which may be a literal in the statement's text.
    public var isAboutAVector: Bool {
        switch self {
        case .invalidVector, .dimensionMismatch, .unrankableQueryVector: true
        default: false
        }
    }
}
